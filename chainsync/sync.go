// Package chainsync keeps tracked addresses in step with the blockchain:
// it walks each address's history at an Esplora-compatible provider page
// by page, writes what each transaction did to the address through the
// same generated upserts the fixtures use, follows transactions through
// their lifecycle (pending, confirmed, back to pending after a reorg,
// replaced, dropped), checks the stored totals against the provider's, and
// extends xpub derivation past the gap limit. Jobs on a river queue run
// it (jobs.go).
package chainsync

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/cointracker/cointracker/chain"
	"github.com/cointracker/cointracker/db"
)

// Provider is the blockchain API a sync reads; *chain.Client is one.
type Provider interface {
	TipHeight(ctx context.Context) (int32, error)
	AddressMempoolTxs(ctx context.Context, address string) ([]chain.Tx, error)
	AddressChainTxs(ctx context.Context, address, afterTxid string) ([]chain.Tx, error)
	AddressStats(ctx context.Context, address string) (chain.AddressStats, error)
	BlockHashAt(ctx context.Context, height int32) (string, error)
	Transaction(ctx context.Context, txid string) (chain.Tx, error)
	Outspend(ctx context.Context, txid string, vout uint32) (chain.Outspend, error)
}

const (
	// chainPage is how many confirmed transactions an Esplora chain page
	// holds; a shorter page is the last.
	chainPage = 25
	// mempoolCap is the most an Esplora mempool listing shows, with no
	// way to see the rest.
	mempoolCap = 50
	// Overlap is how many blocks below the last synced tip an incremental
	// sync re-reads: the last sync's newest page may have come from a
	// backend a block or two behind the one that gave its tip. Reorgs, of
	// any depth, are the tip check's to find (CheckTip), not the walk's.
	Overlap = 3
	// maxRounds bounds how often one sync re-reads the head of the
	// history when the totals disagree (a transaction arrived meanwhile).
	maxRounds = 3
)

// Syncer synchronises addresses of one network from one provider.
type Syncer struct {
	store    *db.Store
	provider Provider
	network  string
	log      *slog.Logger
	// queue gets the addresses a sync discovers: newly derived xpub
	// addresses (for the xpub's owner) and those touched by a reorged block
	// (user 0: the service's own).
	queue func(ctx context.Context, userID int64, addressIDs []int64) error
	// pagesPerRun bounds the history pages one SyncAddress walks (0: no
	// bound); past it the sync yields (ErrPageBudget).
	pagesPerRun int
	// maxDerived bounds the addresses one xpub derives, both chains
	// (MAX_DERIVED_PER_XPUB): a wallet whose history keeps the gap moving
	// cannot make one tenant's xpub grow without end.
	maxDerived int32
}

// DefaultMaxDerived is the default bound on one xpub's derived addresses.
const DefaultMaxDerived = 2000

// LimitPages sets how many history pages one sync walks before it
// yields its worker (SYNC_PAGES_PER_RUN); 0 walks them all.
func (s *Syncer) LimitPages(n int) {
	s.pagesPerRun = n
}

// LimitDerived sets the bound on one xpub's derived addresses.
func (s *Syncer) LimitDerived(n int32) {
	s.maxDerived = n
}

// NewSyncer returns a Syncer for the network's addresses. queue receives
// addresses that need a sync of their own; it may be nil.
func NewSyncer(store *db.Store, provider Provider, network string, log *slog.Logger,
	queue func(ctx context.Context, userID int64, addressIDs []int64) error) *Syncer {
	if queue == nil {
		queue = func(context.Context, int64, []int64) error { return nil }
	}
	return &Syncer{store: store, provider: provider, network: network, log: log, queue: queue, maxDerived: DefaultMaxDerived}
}

// ErrPermanent marks failures a retry cannot mend.
var ErrPermanent = errors.New("permanent sync failure")

// ErrPageBudget ends a sync that walked its pages per run: its state is
// queued again with its resume point, and the job continues later, so
// one huge address never holds a worker for long.
var ErrPageBudget = errors.New("the sync used its page budget; it continues in a later job")

// Result is what one sync did.
type Result struct {
	Status  string // done or partial
	Pages   int
	Txs     int
	Rounds  int
	Tip     int32
	Problem string // why partial
}

// SyncAddress brings one address up to date and records the outcome in
// its sync state: done when the stored totals equal the provider's,
// partial (with the difference) when they still disagree after re-reading
// the head of the history. Each page is committed as it arrives, so a
// sync that dies resumes from its last page.
func (s *Syncer) SyncAddress(ctx context.Context, addressID int64) (Result, error) {
	target, err := s.store.SyncTargetGet(ctx, addressID)
	if err != nil {
		return Result{}, fmt.Errorf("sync address %d: %w", addressID, err)
	}
	if target.Network != s.network {
		return Result{}, fmt.Errorf("%w: address %d is on %s and the chain provider serves %s",
			ErrPermanent, addressID, target.Network, s.network)
	}
	if err := s.store.SyncStateStart(ctx, addressID); err != nil {
		return Result{}, fmt.Errorf("sync address %d: start: %w", addressID, err)
	}
	var res Result
	resume := ""
	if target.LastSeenTxid != nil {
		resume = hex.EncodeToString(target.LastSeenTxid)
	}
	// Only a history known complete is walked incrementally: after a
	// partial sync, the whole history is read again.
	stopBelow := int32(-1)
	if target.HistoryComplete && target.LastSyncedHeight != nil {
		stopBelow = *target.LastSyncedHeight - Overlap
	}
	for res.Rounds < maxRounds {
		res.Rounds++
		tip, err := s.RefreshTip(ctx)
		if err != nil {
			return res, err
		}
		res.Tip = tip
		w := &walk{s: s, target: target, stopBelow: stopBelow}
		err = w.run(ctx, resume)
		if errors.Is(err, ErrPageBudget) {
			res.Pages += w.pages
			if yerr := s.store.SyncStateYield(ctx, addressID); yerr != nil {
				return res, fmt.Errorf("sync %s: yield: %w", target.Address, yerr)
			}
			return res, err
		}
		if err != nil {
			return res, fmt.Errorf("sync %s: %w", target.Address, err)
		}
		res.Pages += w.pages
		res.Txs += w.txs
		if err := w.reconcile(ctx); err != nil {
			return res, fmt.Errorf("sync %s: %w", target.Address, err)
		}
		var again bool
		res.Problem, again, err = s.verify(ctx, target, w.capped)
		if err != nil {
			return res, fmt.Errorf("sync %s: %w", target.Address, err)
		}
		if res.Problem == "" || !again {
			break
		}
		// Re-read the head: transactions may have arrived during the walk.
		resume, stopBelow = "", tip-Overlap
	}
	res.Status = "done"
	var problem *string
	if res.Problem != "" {
		res.Status, problem = "partial", &res.Problem
	}
	if err := s.store.SyncStateFinish(ctx, db.SyncStateFinishParams{
		AddressID: addressID, Status: res.Status, Height: &res.Tip, LastError: problem,
	}); err != nil {
		return res, fmt.Errorf("sync %s: finish: %w", target.Address, err)
	}
	if err := s.extendXpubs(ctx, addressID); err != nil {
		return res, fmt.Errorf("sync %s: extend xpub derivation: %w", target.Address, err)
	}
	return res, nil
}

// RefreshTip reads the provider's tip height and records it for the
// network: confirmations are computed from it.
func (s *Syncer) RefreshTip(ctx context.Context) (int32, error) {
	tip, err := s.provider.TipHeight(ctx)
	if err != nil {
		return 0, fmt.Errorf("read tip: %w", err)
	}
	if err := s.store.ChainTipUpsert(ctx, db.ChainTipUpsertParams{Network: s.network, Height: tip}); err != nil {
		return 0, fmt.Errorf("record tip: %w", err)
	}
	return tip, nil
}

// verify compares the stored totals with the provider's and describes the
// difference; "" means they agree. again says whether re-reading the head
// may mend it: not when the provider holds more unconfirmed transactions
// than its mempool listing, capped (at 50) when the walk read it, can show.
func (s *Syncer) verify(ctx context.Context, target db.SyncTargetGetRow, capped bool) (problem string, again bool, err error) {
	stats, err := s.provider.AddressStats(ctx, target.Address)
	if err != nil {
		return "", false, fmt.Errorf("read provider totals: %w", err)
	}
	got, err := s.store.LedgerTotals(ctx, target.ID)
	if err != nil {
		return "", false, fmt.Errorf("read stored totals: %w", err)
	}
	var problems []string
	check := func(what string, want chain.Totals, count, funded, spent int64) bool {
		if want.TxCount == count && want.FundedSum == funded && want.SpentSum == spent {
			return true
		}
		problems = append(problems, fmt.Sprintf("%s: provider has %d transactions, %d sats funded, %d sats spent; stored %d, %d, %d",
			what, want.TxCount, want.FundedSum, want.SpentSum, count, funded, spent))
		return false
	}
	again = !check("confirmed", stats.Chain, got.ChainTxCount, got.ChainFunded, got.ChainSpent)
	if capped && stats.Mempool.TxCount > got.MempoolTxCount {
		// No request shows the rest: re-reading the head cannot mend it.
		problems = append(problems, fmt.Sprintf("mempool: the provider holds %d unconfirmed transactions and lists only "+
			"the first %d; the unconfirmed balance is incomplete until some confirm", stats.Mempool.TxCount, mempoolCap))
	} else if !check("mempool", stats.Mempool, got.MempoolTxCount, got.MempoolFunded, got.MempoolSpent) {
		again = true
	}
	return strings.Join(problems, "; "), again, nil
}
