package db

import (
	"context"
	"fmt"

	"github.com/cointracker/cointracker/btc"
)

// Watch is one address to put on a user's watch-list.
type Watch struct {
	UserID     int64
	Network    string
	Address    string
	ScriptType string
	// Label is the user's name for the address; nil for none.
	Label *string
	// XpubID, when not 0, records the address as derived from that xpub
	// at Chain/Index.
	XpubID int64
	Chain  string
	Index  int32
}

// XpubWatches describes addresses derived from a user's xpub (of the
// account's script type) as watch-list entries.
func XpubWatches(userID, xpubID int64, network string, account *btc.Account, derived []btc.Derived) []Watch {
	scriptType := string(account.Purpose().ScriptType())
	ws := make([]Watch, len(derived))
	for i, d := range derived {
		ws[i] = Watch{UserID: userID, Network: network, Address: d.Address, ScriptType: scriptType,
			XpubID: xpubID, Chain: d.Chain.String(), Index: int32(d.Index)}
	}
	return ws
}

// Track puts addresses on users' watch-lists, in one batch of statements:
// for each, the shared address row (created when nobody tracked it
// before), its sync state ("new" unless it has one), the xpub's record of
// a derived address, and the user's watch-list entry. An address a user
// already tracks keeps its entry as it is, so re-tracking writes nothing
// and an xpub never takes over an address the user added by hand. It
// returns the shared address ids, in the order given, and the entries it
// created. Run it inside a transaction (Store.ExecTx); once that commits,
// the caller queues syncs of the addresses (a sync that cannot be queued
// is left to the periodic sweep, which finds the "new" state).
func (q *Queries) Track(ctx context.Context, ws []Watch) ([]int64, []UserAddressesAddRow, error) {
	ids, err := q.addressIDs(ctx, ws)
	if err != nil {
		return nil, nil, err
	}
	if err := q.SyncStatesEnsure(ctx, ids); err != nil {
		return nil, nil, fmt.Errorf("record sync states: %w", err)
	}
	var xa XpubAddressesUpsertParams
	var ua UserAddressesAddParams
	for i, w := range ws {
		if w.XpubID != 0 {
			xa.XpubIds = append(xa.XpubIds, w.XpubID)
			xa.Chains = append(xa.Chains, w.Chain)
			xa.Indexes = append(xa.Indexes, w.Index)
			xa.AddressIds = append(xa.AddressIds, ids[i])
		}
		ua.UserIds = append(ua.UserIds, w.UserID)
		ua.AddressIds = append(ua.AddressIds, ids[i])
		ua.Labels = append(ua.Labels, deref(w.Label))
		ua.Labelled = append(ua.Labelled, w.Label != nil)
		ua.XpubIds = append(ua.XpubIds, w.XpubID)
	}
	if len(xa.XpubIds) > 0 {
		if err := q.XpubAddressesUpsert(ctx, xa); err != nil {
			return nil, nil, fmt.Errorf("record derived addresses: %w", err)
		}
	}
	created, err := q.UserAddressesAdd(ctx, ua)
	if err != nil {
		return nil, nil, fmt.Errorf("add to watch-lists: %w", err)
	}
	return ids, created, nil
}

// addressKey names a shared address row.
type addressKey struct{ network, address string }

// addressIDs returns the shared row id of each watch's address, creating
// the rows that do not exist. An address another session creates at the
// same moment is missing from the first answer (AddressesUpsert's
// statement cannot see it); the second statement, with a fresh snapshot,
// does.
func (q *Queries) addressIDs(ctx context.Context, ws []Watch) ([]int64, error) {
	found := make(map[addressKey]int64, len(ws))
	for range 2 {
		var p AddressesUpsertParams
		asked := make(map[addressKey]bool)
		for _, w := range ws {
			k := addressKey{w.Network, w.Address}
			if _, ok := found[k]; ok || asked[k] {
				continue
			}
			asked[k] = true
			p.Networks = append(p.Networks, w.Network)
			p.Addresses = append(p.Addresses, w.Address)
			p.ScriptTypes = append(p.ScriptTypes, w.ScriptType)
		}
		if len(p.Addresses) == 0 {
			break
		}
		rows, err := q.AddressesUpsert(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("record addresses: %w", err)
		}
		for _, r := range rows {
			found[addressKey{r.Network, r.Address}] = r.ID
		}
	}
	ids := make([]int64, len(ws))
	for i, w := range ws {
		id, ok := found[addressKey{w.Network, w.Address}]
		if !ok {
			return nil, fmt.Errorf("record addresses: no row for %s %s", w.Network, w.Address)
		}
		ids[i] = id
	}
	return ids, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
