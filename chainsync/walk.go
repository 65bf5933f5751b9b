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

// walk reads an address's history — its mempool listing, then its
// confirmed history newest first — committing each page with the resume
// point. It asks only the endpoints Blockstream's and mempool.space's
// servers answer alike (/txs/mempool and /txs/chain[/:txid]), never the
// first page of /txs, whose shape differs between them.
type walk struct {
	s         *Syncer
	target    db.SyncTargetGetRow
	stopBelow int32 // an incremental walk stops below this height (-1: walk it all)

	pages, txs int
	// headRead says this walk read the mempool listing (and so walks from
	// the head), so the mempool view below is current.
	headRead bool
	// mempool holds the txids the mempool listing showed; capped says the
	// listing was full, so the mempool may hold more it did not show.
	mempool map[string]bool
	capped  bool
	// restarted says the walk lost its resume point once and began again
	// from the head.
	restarted bool
}

// run walks from the head, or from after resume when a previous walk
// stopped there.
func (w *walk) run(ctx context.Context, resume string) error {
	w.mempool = map[string]bool{}
	after := resume
	if after == "" {
		if err := w.readMempool(ctx); err != nil {
			return err
		}
	}
	for {
		txs, err := w.s.provider.AddressChainTxs(ctx, w.target.Address, after)
		if err != nil {
			return err
		}
		if len(txs) == 0 && after != "" && !w.restarted {
			ended, err := w.endedAt(ctx, after)
			if err != nil {
				return err
			}
			if !ended {
				// The resume point left the chain: begin again from the head.
				w.restarted, after = true, ""
				if !w.headRead {
					if err := w.readMempool(ctx); err != nil {
						return err
					}
				}
				continue
			}
		}
		// A page shorter than Esplora's 25 is the last (as BDK reads it);
		// the next page follows the page's last txid as the server sent it.
		more := len(txs) >= chainPage
		next := ""
		if more {
			next = txs[len(txs)-1].Txid
		}
		txs = confirmedOnly(txs)
		if more = more && lowestHeight(txs) >= w.stopBelow; !more {
			next = ""
		}
		if err := w.save(ctx, txs, next); err != nil {
			return err
		}
		if !more {
			return nil
		}
		if w.s.pagesPerRun > 0 && w.pages >= w.s.pagesPerRun {
			return ErrPageBudget // the page and its resume point are committed
		}
		after = next
	}
}

// readMempool reads and writes the address's mempool listing.
func (w *walk) readMempool(ctx context.Context) error {
	txs, err := w.s.provider.AddressMempoolTxs(ctx, w.target.Address)
	if err != nil {
		return err
	}
	txs = dedupe(txs)
	w.capped = len(txs) >= mempoolCap
	for _, t := range txs {
		w.mempool[t.Txid] = true
	}
	w.headRead = true
	return w.save(ctx, txs, "")
}

// endedAt tells an empty page after txid at the end of the history from
// one after a txid the provider no longer has in the chain: electrs
// answers both 200 []. The history ended there if txid is still confirmed.
func (w *walk) endedAt(ctx context.Context, txid string) (bool, error) {
	t, err := w.s.provider.Transaction(ctx, txid)
	if chain.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up the resume point: %w", err)
	}
	return t.Status.Confirmed, nil
}

// confirmedOnly keeps a chain page's confirmed transactions, once each.
func confirmedOnly(txs []chain.Tx) []chain.Tx {
	unique := dedupe(txs)
	out := unique[:0]
	for _, t := range unique {
		if t.Status.Confirmed {
			out = append(out, t)
		}
	}
	return out
}

// dedupe keeps one copy of each txid, the confirmed one when a page lists
// a transaction both unconfirmed and confirmed (electrs indexes a new
// block before its mempool forgets the block's transactions, and
// mempool.space's /txs lists the mempool twice); writing both copies in
// one upsert would fail on every retry.
func dedupe(txs []chain.Tx) []chain.Tx {
	at := make(map[string]int, len(txs))
	out := make([]chain.Tx, 0, len(txs))
	for _, t := range txs {
		i, ok := at[t.Txid]
		switch {
		case !ok:
			at[t.Txid] = len(out)
			out = append(out, t)
		case t.Status.Confirmed && !out[i].Status.Confirmed:
			out[i] = t
		}
	}
	return out
}

// lowestHeight is the lowest block height of a page of confirmed
// transactions.
func lowestHeight(txs []chain.Tx) int32 {
	lowest := int32(1<<31 - 1)
	for _, t := range txs {
		lowest = min(lowest, t.Status.BlockHeight)
	}
	return lowest
}

// save writes a page in one transaction: the transactions, the address's
// ledger entries, the outpoints they spend, the blocks they sit in, and
// the progress.
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
	err = w.s.writePage(ctx, page, func(q *db.Queries) error {
		return q.SyncStateProgress(ctx, db.SyncStateProgressParams{
			AddressID: w.target.ID, LastSeenTxid: nextTxid, Txs: int32(len(txs)),
		})
	})
	if err != nil {
		return err
	}
	w.pages++
	w.txs += len(txs)
	return nil
}

// writePage writes a page in one transaction, with extra (when not nil),
// then demotes the blocks the page contradicts: recorded at one of its
// heights under another hash.
func (s *Syncer) writePage(ctx context.Context, p page, extra func(*db.Queries) error) error {
	var stale []db.ChainBlocksAddRow
	err := s.writeRetrying(ctx, func(q *db.Queries) error {
		var err error
		if stale, err = p.write(ctx, q); err != nil || extra == nil {
			return err
		}
		return extra(q)
	})
	if err != nil {
		return err
	}
	for _, b := range stale {
		if err := s.demoteBlock(ctx, b.Height, b.Hash); err != nil {
			return err
		}
	}
	return nil
}

// write stores the page's transactions with the address's ledger entries,
// their inputs and their blocks, and returns the blocks recorded at the
// page's heights under other hashes.
func (p page) write(ctx context.Context, q *db.Queries) ([]db.ChainBlocksAddRow, error) {
	ids, err := p.upsert(ctx, q)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	if err := q.LedgerEntriesUpsert(ctx, p.ledger(ids)); err != nil {
		return nil, fmt.Errorf("write ledger entries: %w", err)
	}
	if spends := p.spends(ids); len(spends.TransactionIds) > 0 {
		if err := q.TransactionSpendsAdd(ctx, spends); err != nil {
			return nil, fmt.Errorf("write spent outpoints: %w", err)
		}
	}
	if len(p.blocks.Heights) == 0 {
		return nil, nil
	}
	stale, err := q.ChainBlocksAdd(ctx, p.blocks)
	if err != nil {
		return nil, fmt.Errorf("write block checkpoints: %w", err)
	}
	return stale, nil
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
	inputs  [][]chain.Outpoint
	blocks  db.ChainBlocksAddParams
}

// effect is what a transaction did to the address (see chain.Tx.Effect
// and chain.Tx.FeeShare).
type effect struct {
	received, sent, feeShare int64
}

func (s *Syncer) pageParams(target db.SyncTargetGetRow, txs []chain.Tx) (page, error) {
	p := page{address: target.ID, blocks: db.ChainBlocksAddParams{Network: target.Network}}
	blockSeen := map[int32]bool{}
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
			if !blockSeen[height] {
				blockSeen[height] = true
				p.blocks.Heights = append(p.blocks.Heights, height)
				p.blocks.Hashes = append(p.blocks.Hashes, hash)
			}
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
		p.inputs = append(p.inputs, t.Spends())
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
		for _, o := range p.inputs[i] {
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
