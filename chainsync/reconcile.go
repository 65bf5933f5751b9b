package chainsync

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/cointracker/cointracker/db"
)

// reconcile settles the address's stored transactions that a walk from
// the head should have seen and did not: pending ones that left the
// mempool, and confirmed ones within the reorg window that left the
// chain. Each becomes replaced when the provider says a different
// transaction spends one of its inputs (RBF), dropped otherwise. A walk
// that did not read the head (a resumed one) settles nothing.
func (w *walk) reconcile(ctx context.Context) error {
	if !w.headRead {
		return nil
	}
	var gone []goneTx
	pending, err := w.s.store.LedgerPending(ctx, w.target.ID)
	if err != nil {
		return fmt.Errorf("list pending transactions: %w", err)
	}
	for _, p := range pending {
		if txid := hex.EncodeToString(p.Txid); !w.mempool[txid] {
			gone = append(gone, goneTx{p.TransactionID, txid})
		}
	}
	confirmed, err := w.s.store.LedgerConfirmedSince(ctx, db.LedgerConfirmedSinceParams{
		AddressID: w.target.ID, MinHeight: max(w.floor, w.tip-reorgWindow+1),
	})
	if err != nil {
		return fmt.Errorf("list recent confirmed transactions: %w", err)
	}
	for _, c := range confirmed {
		if txid := hex.EncodeToString(c.Txid); !w.recent[txid] {
			gone = append(gone, goneTx{c.TransactionID, txid})
		}
	}
	byStatus := map[string][]int64{}
	for _, g := range gone {
		status, err := w.s.fate(ctx, g)
		if err != nil {
			return err
		}
		byStatus[status] = append(byStatus[status], g.id)
	}
	for status, ids := range byStatus {
		if _, err := w.s.store.TransactionsUnconfirm(ctx, db.TransactionsUnconfirmParams{Status: status, Ids: ids}); err != nil {
			return fmt.Errorf("mark transactions %s: %w", status, err)
		}
		w.s.log.Info("transactions left the chain or mempool", "address_id", w.target.ID, "status", status, "count", len(ids))
	}
	return nil
}

type goneTx struct {
	id   int64
	txid string
}

// fate asks the provider who spends a vanished transaction's inputs:
// another transaction means it was replaced, nobody means it was dropped.
func (s *Syncer) fate(ctx context.Context, g goneTx) (string, error) {
	spends, err := s.store.TransactionSpendsGet(ctx, g.id)
	if err != nil {
		return "", fmt.Errorf("list spent outpoints of %s: %w", g.txid, err)
	}
	for _, sp := range spends {
		o, err := s.provider.Outspend(ctx, hex.EncodeToString(sp.PrevTxid), uint32(sp.PrevVout))
		if err != nil {
			return "", fmt.Errorf("ask who spends an input of %s: %w", g.txid, err)
		}
		if o.Spent && o.Txid != g.txid {
			return "replaced", nil
		}
	}
	return "dropped", nil
}
