package chainsync

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/cointracker/cointracker/chain"
	"github.com/cointracker/cointracker/db"
)

// reorgWindow is how many blocks below the tip a walk remembers the
// confirmed transactions it saw, to find stored ones a reorg removed.
const reorgWindow = 100

// walk reads an address's history from the newest transaction down, page
// by page, committing each page with the resume point.
type walk struct {
	s         *Syncer
	target    db.SyncTargetGetRow
	tip       int32
	stopBelow int32 // an incremental walk stops below this height

	pages, txs int
	// headRead says the first page (mempool included) was read, so the
	// mempool view below is current.
	headRead bool
	mempool  map[string]bool
	// recent holds confirmed txids seen within reorgWindow of the tip.
	recent map[string]bool
	// floor is the lowest height the walk covered completely.
	floor int32
}

// run walks from the head, or from after resume when a previous walk
// stopped there.
func (w *walk) run(ctx context.Context, resume string) error {
	w.mempool, w.recent = map[string]bool{}, map[string]bool{}
	after := resume
	for {
		txs, err := w.s.provider.AddressTxs(ctx, w.target.Address, after)
		var se *chain.StatusError
		if errors.As(err, &se) && after != "" && se.Status < 500 {
			// The resume point left the chain (a reorg): start again.
			after, w.stopBelow = "", -1
			continue
		}
		if err != nil {
			return err
		}
		if after == "" {
			w.headRead = true
		}
		next, lowest, confirmed := w.look(txs)
		more := confirmed == chainPage && lowest >= w.stopBelow
		if !more {
			next = ""
		}
		if err := w.save(ctx, txs, next); err != nil {
			return err
		}
		w.pages++
		w.txs += len(txs)
		if !more {
			w.floor = 0 // the history ended: the walk saw all of it
			if confirmed == chainPage {
				// Stopped early: the lowest height may continue below.
				w.floor = lowest + 1
			}
			return nil
		}
		after = next
	}
}

// look notes what a page shows and returns its last confirmed txid, the
// lowest confirmed height in it and how many confirmed transactions it has.
func (w *walk) look(txs []chain.Tx) (last string, lowest int32, confirmed int) {
	lowest = w.tip + 1
	for _, t := range txs {
		if !t.Status.Confirmed {
			w.mempool[t.Txid] = true
			continue
		}
		confirmed++
		last = t.Txid
		lowest = min(lowest, t.Status.BlockHeight)
		if t.Status.BlockHeight > w.tip-reorgWindow {
			w.recent[t.Txid] = true
		}
	}
	return last, lowest, confirmed
}

// save writes a page in one transaction: the transactions, the address's
// ledger entries, the outpoints pending ones spend, and the progress.
func (w *walk) save(ctx context.Context, txs []chain.Tx, next string) error {
	page, err := w.s.pageParams(w.target, txs)
	if err != nil {
		return err
	}
	var nextTxid []byte
	if next != "" {
		if nextTxid, err = hex.DecodeString(next); err != nil {
			return fmt.Errorf("provider txid %q: %w", next, err)
		}
	}
	return w.s.writeRetrying(ctx, func(q *db.Queries) error {
		ids, err := page.upsert(ctx, q)
		if err != nil {
			return err
		}
		if err := q.LedgerEntriesUpsert(ctx, page.ledger(ids)); err != nil {
			return fmt.Errorf("write ledger entries: %w", err)
		}
		if spends := page.spends(ids); len(spends.TransactionIds) > 0 {
			if err := q.TransactionSpendsAdd(ctx, spends); err != nil {
				return fmt.Errorf("write spent outpoints: %w", err)
			}
		}
		return q.SyncStateProgress(ctx, db.SyncStateProgressParams{
			AddressID: w.target.ID, LastSeenTxid: nextTxid, Txs: int32(len(txs)),
		})
	})
}

// errShort means an upsert returned fewer rows than it was given: a
// concurrent session inserted one of them; a fresh transaction sees it.
var errShort = errors.New("a concurrent sync wrote the same transactions")

// writeRetrying runs fn in a transaction, again when it reports errShort.
func (s *Syncer) writeRetrying(ctx context.Context, fn func(*db.Queries) error) error {
	var err error
	for range 5 {
		if err = s.store.ExecTx(ctx, fn); !errors.Is(err, errShort) {
			return err
		}
	}
	return err
}

// page is one provider page as the generated upserts take it.
type page struct {
	address int64
	txs     db.TransactionsUpsertParams
	effects []effect
	pending [][]chain.Outpoint
}

// effect is what a transaction did to the address (see chain.Tx.Effect
// and chain.Tx.FeeShare).
type effect struct {
	received, sent, feeShare int64
}

func (s *Syncer) pageParams(target db.SyncTargetGetRow, txs []chain.Tx) (page, error) {
	p := page{address: target.ID}
	seenAt := time.Now().UTC() // first seen, for transactions seen pending
	for _, t := range txs {
		txid, err := hex.DecodeString(t.Txid)
		if err != nil || len(txid) != 32 {
			return page{}, fmt.Errorf("provider txid %q is not 32 hex bytes", t.Txid)
		}
		received, sent := t.Effect(target.Address)
		if received == 0 && sent == 0 {
			continue // listed, but moves nothing of this address
		}
		status, height, hash, blockTime, firstSeen := "pending", int32(-1), []byte{}, seenAt, seenAt
		if t.Status.Confirmed {
			if hash, err = hex.DecodeString(t.Status.BlockHash); err != nil || len(hash) != 32 {
				return page{}, fmt.Errorf("provider block hash %q is not 32 hex bytes", t.Status.BlockHash)
			}
			status, height = "confirmed", t.Status.BlockHeight
			blockTime = time.Unix(t.Status.BlockTime, 0).UTC()
			firstSeen = blockTime
		}
		p.txs.Networks = append(p.txs.Networks, target.Network)
		p.txs.Txids = append(p.txs.Txids, txid)
		p.txs.Statuses = append(p.txs.Statuses, status)
		p.txs.BlockHeights = append(p.txs.BlockHeights, height)
		p.txs.BlockHashes = append(p.txs.BlockHashes, hash)
		p.txs.BlockTimes = append(p.txs.BlockTimes, blockTime)
		p.txs.FeesSats = append(p.txs.FeesSats, t.Fee)
		p.txs.Vsizes = append(p.txs.Vsizes, int32(max(t.VSize(), 1)))
		p.txs.FirstSeens = append(p.txs.FirstSeens, firstSeen)
		var feeShare int64
		if sent > 0 { // an address that spent nothing paid no fee
			feeShare = t.FeeShare(target.Address)
		}
		p.effects = append(p.effects, effect{received, sent, feeShare})
		var spends []chain.Outpoint
		if !t.Status.Confirmed {
			spends = t.Spends()
		}
		p.pending = append(p.pending, spends)
	}
	return p, nil
}

// upsert writes the page's transactions and returns their ids in page
// order.
func (p page) upsert(ctx context.Context, q *db.Queries) ([]int64, error) {
	if len(p.txs.Txids) == 0 {
		return nil, nil
	}
	rows, err := q.TransactionsUpsert(ctx, p.txs)
	if err != nil {
		return nil, fmt.Errorf("write transactions: %w", err)
	}
	if len(rows) < len(p.txs.Txids) {
		return nil, errShort
	}
	byTxid := make(map[string]int64, len(rows))
	for _, r := range rows {
		byTxid[string(r.Txid)] = r.ID
	}
	ids := make([]int64, len(p.txs.Txids))
	for i, txid := range p.txs.Txids {
		ids[i] = byTxid[string(txid)]
	}
	return ids, nil
}

func (p page) ledger(ids []int64) db.LedgerEntriesUpsertParams {
	l := db.LedgerEntriesUpsertParams{}
	for i, id := range ids {
		l.AddressIds = append(l.AddressIds, p.address)
		l.TransactionIds = append(l.TransactionIds, id)
		l.ReceivedSats = append(l.ReceivedSats, p.effects[i].received)
		l.SentSats = append(l.SentSats, p.effects[i].sent)
		l.FeeShareSats = append(l.FeeShareSats, p.effects[i].feeShare)
	}
	return l
}

func (p page) spends(ids []int64) db.TransactionSpendsAddParams {
	out := db.TransactionSpendsAddParams{}
	for i, id := range ids {
		for _, o := range p.pending[i] {
			txid, err := hex.DecodeString(o.Txid)
			if err != nil || len(txid) != 32 {
				continue // not an outpoint the provider can be asked about
			}
			out.TransactionIds = append(out.TransactionIds, id)
			out.PrevTxids = append(out.PrevTxids, txid)
			out.PrevVouts = append(out.PrevVouts, int32(o.Vout))
		}
	}
	return out
}
