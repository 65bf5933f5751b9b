package chainsync

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/cointracker/cointracker/chain"
	"github.com/cointracker/cointracker/db"
)

// reconcile settles the address's pending transactions. One that spends
// an outpoint a stored, confirmed transaction also spends was replaced:
// its conflict confirmed. One the walk's mempool listing did not show is
// looked up by txid, because absence from a listing capped at 50 (or
// served by a backend that has not seen it yet) proves nothing: confirmed
// meanwhile, it is written as confirmed; still unconfirmed, it stays
// pending; unknown to the provider (404), it was replaced if a confirmed
// transaction spends one of its inputs and dropped otherwise. A walk that
// did not read the mempool (a resumed one) only applies stored conflicts.
//
// A 404 for a transaction first seen less than dropGrace ago is not taken
// for a drop: behind a load balancer, a backend that lags may not have
// received it yet. Real drops (mempool expiry after two weeks, eviction, a
// conflict that has not confirmed) take far longer; a replacement whose
// conflict confirmed is settled at once.
func (w *walk) reconcile(ctx context.Context) error {
	if err := w.replaceConflicted(ctx); err != nil {
		return err
	}
	if !w.headRead {
		return nil
	}
	pending, err := w.s.store.LedgerPending(ctx, w.target.ID)
	if err != nil {
		return fmt.Errorf("list pending transactions: %w", err)
	}
	byStatus := map[string][]int64{}
	var confirmed []chain.Tx
	for _, p := range pending {
		txid := hex.EncodeToString(p.Txid)
		if w.mempool[txid] {
			continue
		}
		t, err := w.s.provider.Transaction(ctx, txid)
		switch {
		case chain.IsNotFound(err):
			status, err := w.s.fate(ctx, p.TransactionID, txid)
			if err != nil {
				return err
			}
			if status == "dropped" && time.Since(p.FirstSeen) < dropGrace {
				continue // maybe a backend that has not seen it yet: ask again next time
			}
			byStatus[status] = append(byStatus[status], p.TransactionID)
		case err != nil:
			return fmt.Errorf("look up pending transaction %s: %w", txid, err)
		case t.Status.Confirmed:
			confirmed = append(confirmed, t)
		}
	}
	if len(confirmed) > 0 {
		page, err := w.s.pageParams(w.target, confirmed)
		if err != nil {
			return err
		}
		if err := w.s.writePage(ctx, page, nil); err != nil {
			return err
		}
	}
	for status, ids := range byStatus {
		if _, err := w.s.store.TransactionsUnconfirm(ctx, db.TransactionsUnconfirmParams{Status: status, Ids: ids}); err != nil {
			return fmt.Errorf("mark transactions %s: %w", status, err)
		}
		w.s.log.Info("transactions left the mempool", "address_id", w.target.ID, "status", status, "count", len(ids))
	}
	if len(confirmed) > 0 {
		return w.replaceConflicted(ctx)
	}
	return nil
}

// dropGrace is how long after it was first seen a transaction the
// provider answers 404 for stays pending.
const dropGrace = 10 * time.Minute

// replaceConflicted marks replaced the address's pending and dropped
// transactions whose conflict is stored confirmed.
func (w *walk) replaceConflicted(ctx context.Context) error {
	ids, err := w.s.store.TransactionsReplaceConflicted(ctx, w.target.ID)
	if err != nil {
		return fmt.Errorf("mark replaced transactions: %w", err)
	}
	if len(ids) > 0 {
		w.s.log.Info("transactions replaced by a confirmed conflict", "address_id", w.target.ID, "count", len(ids))
	}
	return nil
}

// fate asks the provider who spends the inputs of a transaction it no
// longer knows: a different, confirmed transaction means it was replaced;
// otherwise it was dropped (a conflict still unconfirmed may yet lose).
func (s *Syncer) fate(ctx context.Context, id int64, txid string) (string, error) {
	spends, err := s.store.TransactionSpendsGet(ctx, id)
	if err != nil {
		return "", fmt.Errorf("list spent outpoints of %s: %w", txid, err)
	}
	for _, sp := range spends {
		o, err := s.provider.Outspend(ctx, hex.EncodeToString(sp.PrevTxid), uint32(sp.PrevVout))
		if err != nil {
			return "", fmt.Errorf("ask who spends an input of %s: %w", txid, err)
		}
		if o.Spent && o.Txid != txid && o.Status.Confirmed {
			return "replaced", nil
		}
	}
	return "dropped", nil
}
