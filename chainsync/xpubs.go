package chainsync

import (
	"context"
	"fmt"

	"github.com/cointracker/cointracker/btc"
	"github.com/cointracker/cointracker/db"
)

// extendXpubs keeps gap_limit unused addresses ahead of the last used one
// on every xpub chain that derived the address, and queues syncs of the
// addresses it derives.
func (s *Syncer) extendXpubs(ctx context.Context, addressID int64) error {
	chains, err := s.store.XpubChainsOfAddress(ctx, addressID)
	if err != nil {
		return err
	}
	for _, c := range chains {
		want := c.LastUsed + int32(c.GapLimit)
		if c.LastIndex >= want {
			continue
		}
		derived, err := s.store.XpubDerivedCount(ctx, c.XpubID)
		if err != nil {
			return fmt.Errorf("xpub %d: %w", c.XpubID, err)
		}
		if room := s.maxDerived - derived; room < want-c.LastIndex {
			if room <= 0 {
				s.log.Warn("xpub derives no more: it reached MAX_DERIVED_PER_XPUB", "xpub_id", c.XpubID,
					"derived", derived, "limit", s.maxDerived)
				continue
			}
			want = c.LastIndex + room
		}
		params, ok := btc.Networks[c.Network]
		if !ok {
			return fmt.Errorf("xpub %d: unknown network %q", c.XpubID, c.Network)
		}
		account, err := btc.ParseAccount(c.Xpub, c.Purpose == 86, params)
		if err != nil {
			return fmt.Errorf("xpub %d: %w", c.XpubID, err)
		}
		chain := btc.Receive
		if c.Chain == btc.Change.String() {
			chain = btc.Change
		}
		addrs, err := account.Derive(chain, uint32(c.LastIndex+1), uint32(want))
		if err != nil {
			return fmt.Errorf("xpub %d: %w", c.XpubID, err)
		}
		var ids []int64
		err = s.store.ExecTx(ctx, func(q *db.Queries) error {
			ids, _, err = q.Track(ctx, db.XpubWatches(c.UserID, c.XpubID, c.Network, account, addrs))
			return err
		})
		if err != nil {
			return fmt.Errorf("xpub %d: %w", c.XpubID, err)
		}
		s.log.Info("extended xpub derivation", "xpub_id", c.XpubID, "chain", c.Chain,
			"from", c.LastIndex+1, "to", want)
		if err := s.queue(ctx, c.UserID, ids); err != nil {
			return fmt.Errorf("queue syncs of derived addresses: %w", err)
		}
	}
	return nil
}
