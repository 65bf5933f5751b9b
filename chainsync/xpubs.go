package chainsync

import (
	"context"
	"fmt"

	"github.com/cointracker/cointracker/btc"
	"github.com/cointracker/cointracker/db"
)

// XpubKey names a tracked xpub and its owner.
type XpubKey struct {
	ID, UserID int64
	Network    string
}

// DeriveXpubAddresses derives the addresses at indexes from..to (inclusive)
// of one chain of an account, records them as the xpub's, puts them on
// the owner's watch-list and gives each a sync state. It returns the
// shared address ids. Run it inside a transaction.
func DeriveXpubAddresses(ctx context.Context, q *db.Queries, x XpubKey, account *btc.Account,
	chain btc.Chain, from, to uint32) ([]int64, error) {
	xa := db.XpubAddressesUpsertParams{XpubID: x.ID}
	wl := db.UserAddressesAddParams{}
	var ids []int64
	for i := from; i <= to; i++ {
		addr, err := account.Address(chain, i)
		if err != nil {
			return nil, fmt.Errorf("derive %s address %d: %w", chain, i, err)
		}
		a, err := q.AddressUpsert(ctx, db.AddressUpsertParams{Network: x.Network, Address: addr,
			ScriptType: string(account.Purpose().ScriptType())})
		if err != nil {
			return nil, fmt.Errorf("record derived address: %w", err)
		}
		if err := q.SyncStateEnsure(ctx, a.ID); err != nil {
			return nil, fmt.Errorf("record derived address: %w", err)
		}
		ids = append(ids, a.ID)
		xa.Chains = append(xa.Chains, chain.String())
		xa.Indexes = append(xa.Indexes, int32(i))
		xa.AddressIds = append(xa.AddressIds, a.ID)
		wl.UserIds = append(wl.UserIds, x.UserID)
		wl.AddressIds = append(wl.AddressIds, a.ID)
		wl.Labels = append(wl.Labels, "")
		wl.XpubIds = append(wl.XpubIds, x.ID)
	}
	if err := q.XpubAddressesUpsert(ctx, xa); err != nil {
		return nil, fmt.Errorf("record derived addresses: %w", err)
	}
	if err := q.UserAddressesAdd(ctx, wl); err != nil {
		return nil, fmt.Errorf("track derived addresses: %w", err)
	}
	return ids, nil
}

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
		var ids []int64
		err = s.store.ExecTx(ctx, func(q *db.Queries) error {
			ids, err = DeriveXpubAddresses(ctx, q, XpubKey{c.XpubID, c.UserID, c.Network}, account,
				chain, uint32(c.LastIndex+1), uint32(want))
			return err
		})
		if err != nil {
			return fmt.Errorf("xpub %d: %w", c.XpubID, err)
		}
		s.log.Info("extended xpub derivation", "xpub_id", c.XpubID, "chain", c.Chain,
			"from", c.LastIndex+1, "to", want)
		if err := s.queue(ctx, ids); err != nil {
			return fmt.Errorf("queue syncs of derived addresses: %w", err)
		}
	}
	return nil
}
