package chainsync_test

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cointracker/cointracker/chain"
	"github.com/cointracker/cointracker/chain/chaintest"
	"github.com/cointracker/cointracker/db"
)

// The tests in this file hold the sync to what the real Esplora servers
// do and the friendly fake once did not: each names the fake's mode that
// reproduces the servers' behaviour (see package chaintest for sources).

// TestSyncRewalksFromTheHeadWhenTheResumePointVanished: a walk cut off
// mid-history resumes after its last txid; a reorg has dropped that
// transaction meanwhile, and electrs answers 200 [] for it, exactly as at
// the end of a history. The sync must not take that for the end.
func TestSyncRewalksFromTheHeadWhenTheResumePointVanished(t *testing.T) {
	t.Parallel()
	eachShape(t, func(t *testing.T, e *env) {
		e.fake.History(alice, 200, 10)
		id := e.track(t, alice)
		e.crashAt(t, id, 4)
		resume := e.state(t, id).LastSeenTxid
		if resume == nil {
			t.Fatal("no resume point recorded")
		}
		// The resume point's block and the two above it leave the chain;
		// the resume point vanishes, the rest confirm again.
		height, _ := e.block(t, hex.EncodeToString(resume))
		e.fake.Reorg(int(e.fake.Tip()-height)+1, hex.EncodeToString(resume))
		for range 4 {
			e.fake.Mine()
		}
		res := e.sync(t, id)
		if _, err := e.syncer.CheckTip(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.sync(t, id)
		e.matches(t, id, alice)
		if res.Txs < 199 {
			t.Fatalf("the resumed sync read %d transactions: it stopped at the lost resume point", res.Txs)
		}
	})
}

// block is the block (height and hash) the test's database stores a
// txid in.
func (e *env) block(t *testing.T, txid string) (int32, []byte) {
	t.Helper()
	var h int32
	var hash []byte
	if err := e.store.Pool().QueryRow(context.Background(),
		`SELECT block_height, block_hash FROM transactions WHERE txid = decode($1, 'hex')`, txid).Scan(&h, &hash); err != nil {
		t.Fatal(err)
	}
	return h, hash
}

// TestPartialHeals: a hole below the incremental floor (history a
// previous walk never read) makes a sync partial; the next sync walks the
// whole history again and ends done.
func TestPartialHeals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.History(alice, 300, 3)
	id := e.track(t, alice)
	e.sync(t, id)
	e.matches(t, id, alice)
	// Ten transactions far below the tip vanish from the store.
	if _, err := e.store.Pool().Exec(context.Background(), `DELETE FROM ledger_entries WHERE address_id = $1
		AND transaction_id IN (SELECT transaction_id FROM ledger_entries WHERE address_id = $1 ORDER BY sort_height LIMIT 10)`, id); err != nil {
		t.Fatal(err)
	}
	res := e.sync(t, id)
	if st := e.state(t, id); res.Status != "partial" || st.HistoryComplete {
		t.Fatalf("after an incremental walk over a hole: %+v, complete %v; want partial", res, st.HistoryComplete)
	}
	before := e.fake.Requests("/address/:a/txs/chain/:txid")
	res = e.sync(t, id)
	e.matches(t, id, alice)
	if walked := e.fake.Requests("/address/:a/txs/chain/:txid") - before; res.Status != "done" || walked < 11 {
		t.Fatalf("the sync after partial read %d resumed chain pages and ended %s; want the whole history (11+) and done",
			walked, res.Status)
	}
}

// TestSweepTakesPartialBeforeDone: the periodic re-sync queues addresses
// without a complete history first.
func TestSweepTakesPartialBeforeDone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	done, partial := e.track(t, alice), e.track(t, bob)
	for id, status := range map[int64]string{done: "done", partial: "partial"} {
		if _, err := e.store.Pool().Exec(ctx, `UPDATE sync_states SET status = $2, history_complete = ($2 = 'done'),
			finished_at = now() - CASE WHEN $2 = 'done' THEN interval '2 days' ELSE interval '1 day' END
			WHERE address_id = $1`, id, status); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := e.store.SyncSweepCandidates(ctx, db.SyncSweepCandidatesParams{Before: time.Now(), MaxRows: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] != partial || ids[1] != done {
		t.Fatalf("sweep order %v, want the partial address %d before the staler done one %d", ids, partial, done)
	}
}

// TestSyncMempoolCap: Esplora lists at most 50 unconfirmed transactions,
// the first 50 to arrive. With 60 in the mempool the sync is honestly
// partial, drops nothing it cannot see, and is done once the listing
// shows them all.
func TestSyncMempoolCap(t *testing.T) {
	t.Parallel()
	eachShape(t, func(t *testing.T, e *env) {
		// 31 confirmed and, below, 20 more: no page ends the history exactly.
		e.fake.History(alice, 31, 3)
		var pool []string
		for i := range 60 {
			pool = append(pool, e.fake.Send([]chaintest.In{{Address: "bc1qsomeone", Value: 10_000}},
				[]chaintest.Out{{Address: alice, Value: 5_000 + int64(i)}}))
		}
		id := e.track(t, alice)
		res := e.sync(t, id)
		st := e.state(t, id)
		if res.Status != "partial" || !strings.Contains(deref(st.LastError), "lists only the first 50") || res.Rounds != 1 {
			t.Fatalf("with 60 in the mempool: %+v, %q; want partial in one round, naming the cap", res, deref(st.LastError))
		}
		for i, txid := range pool {
			if got, want := e.status(t, txid), map[bool]string{true: "pending", false: ""}[i < 50]; got != want {
				t.Fatalf("mempool transaction %d is %q, want %q (the first 50 by arrival are listed)", i, got, want)
			}
		}
		// The oldest 20 confirm: the other 40 fit in a listing.
		e.fake.Mine(pool[:20]...)
		lookups := e.fake.Requests("/tx/:txid")
		e.sync(t, id)
		e.matches(t, id, alice)
		if got := e.fake.Requests("/tx/:txid") - lookups; got != 0 {
			t.Fatalf("%d transactions looked up one by one, want none: the listing and the chain showed them all", got)
		}
	})
}

// TestSyncDuringABlockUpdate: for a moment after a block, electrs lists
// its transactions both confirmed and in the mempool. The confirmed copy
// wins, the page writes, and the sync is done once the mempool catches up.
func TestSyncDuringABlockUpdate(t *testing.T) {
	t.Parallel()
	eachShape(t, func(t *testing.T, e *env) {
		e.fake.History(alice, 30, 3)
		id := e.track(t, alice)
		e.sync(t, id)
		e.fake.BlockUpdateWindow(true)
		paid := e.fake.Send([]chaintest.In{{Address: "bc1qsomeone", Value: 9_000}}, []chaintest.Out{{Address: alice, Value: 8_000}})
		e.fake.Mine()
		res := e.sync(t, id)
		if s := e.status(t, paid); s != "confirmed" {
			t.Fatalf("a transaction listed confirmed and unconfirmed is stored %s, want confirmed", s)
		}
		if res.Status != "partial" {
			t.Fatalf("during the update the provider's mempool totals count it: %+v, want partial", res)
		}
		e.fake.BlockUpdateWindow(false)
		e.sync(t, id)
		e.matches(t, id, alice)
	})
}

// TestLaggingBackendDemotesNothing: behind a round-robin, one backend is a
// block behind. The tip check must not take the block it lacks for a
// reorg, nor may a sync send its transactions back to pending.
func TestLaggingBackendDemotesNothing(t *testing.T) {
	t.Parallel()
	eachShape(t, func(t *testing.T, e *env) {
		e.fake.History(alice, 20, 2)
		id := e.track(t, alice)
		e.sync(t, id)
		e.fake.Lagging(true)
		paid := e.fake.Send([]chaintest.In{{Address: "bc1qsomeone", Value: 9_000}}, []chaintest.Out{{Address: alice, Value: 8_000}})
		e.fake.Mine()
		for range 4 {
			e.sync(t, id)
			if stale, err := e.syncer.CheckTip(context.Background()); err != nil || stale != 0 {
				t.Fatalf("CheckTip behind a lagging backend = %d, %v; want no stale block", stale, err)
			}
		}
		if s := e.status(t, paid); s != "confirmed" {
			t.Fatalf("the newest block's transaction is %s, want confirmed", s)
		}
		e.fake.Lagging(false)
		e.sync(t, id)
		e.matches(t, id, alice)
	})
}

// TestLaggingBackendDropsNothing: the backend that lags has not seen a
// transaction sent since the newest block: its listing lacks it and it
// answers 404 for it. A transaction first seen a moment ago is not taken
// for dropped on that word; it stays pending.
func TestLaggingBackendDropsNothing(t *testing.T) {
	t.Parallel()
	eachShape(t, func(t *testing.T, e *env) {
		e.fake.History(alice, 20, 2)
		paid := e.fake.Send([]chaintest.In{{Address: "bc1qsomeone", Value: 9_000}}, []chaintest.Out{{Address: alice, Value: 8_000}})
		id := e.track(t, alice)
		e.sync(t, id)
		e.fake.Lagging(true)
		for range 4 {
			e.sync(t, id)
			if s := e.status(t, paid); s != "pending" {
				t.Fatalf("a transaction one backend has not seen is %s, want pending", s)
			}
		}
		if e.fake.Requests("/tx/:txid") == 0 {
			t.Fatal("no sync looked the transaction up: this test proves nothing")
		}
		e.fake.Lagging(false)
		e.sync(t, id)
		e.matches(t, id, alice)
	})
}

// TestSyncFindsADeepReorg: fifteen blocks leave the chain, deeper than an
// incremental walk re-reads and deeper than block status answers stay
// fresh (CacheBlockStatus: electrs marks them cacheable for years at ten
// deep). The tip check compares recorded blocks with the provider's
// hashes by height and finds every one.
func TestSyncFindsADeepReorg(t *testing.T) {
	t.Parallel()
	eachShape(t, func(t *testing.T, e *env) {
		ids := e.fake.History(alice, 60, 2) // 30 blocks
		id := e.track(t, alice)
		e.sync(t, id)
		e.fake.CacheBlockStatus()
		_, hash := e.block(t, ids[len(ids)-29])
		oldTop := hex.EncodeToString(hash)
		e.getStatus(t, oldTop) // 15 deep now: cached
		gone := ids[len(ids)-1]
		e.fake.Reorg(15, gone)
		for range 16 {
			e.fake.Mine()
		}
		if !e.getStatus(t, oldTop) {
			t.Fatal("the cached block status should still claim the orphaned block (the trap this test avoids)")
		}
		stale, err := e.syncer.CheckTip(context.Background())
		if err != nil || stale != 15 {
			t.Fatalf("CheckTip = %d, %v; want 15 stale blocks", stale, err)
		}
		e.sync(t, id)
		e.matches(t, id, alice)
		if s := e.status(t, gone); s != "dropped" {
			t.Fatalf("the vanished transaction is %s, want dropped", s)
		}
		if stale, err := e.syncer.CheckTip(context.Background()); err != nil || stale != 0 {
			t.Fatalf("a second CheckTip = %d, %v; want nothing left to demote", stale, err)
		}
	})
}

// getStatus asks the fake for a block's status, as a client would.
func (e *env) getStatus(t *testing.T, hash string) bool {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, e.fake.URL+"/block/"+hash+"/status", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	body, _ := io.ReadAll(res.Body)
	return strings.Contains(string(body), `"in_best_chain":true`)
}

// TestSyncUnderNginxRateLimit: Esplora's nginx refuses past its rate with
// a bare 429 (no Retry-After, an HTML body). With CHAIN_RATE_LIMIT set at
// twice what the provider allows, and a larger burst than the
// provider's (so the first requests meet the limit however slowly the
// database lets the sync run on a loaded machine), the shared budget falls
// to what it allows, the sync completes, and the refusals are few.
func TestSyncUnderNginxRateLimit(t *testing.T) {
	t.Parallel()
	e := newShapedEnv(t, chaintest.Blockstream, func(o *chain.Options) { o.RatePerSecond, o.Burst = 40, 5 })
	e.fake.History(alice, 1000, 10)
	id := e.track(t, alice)
	e.fake.RateLimit(20, 2)
	start := time.Now()
	e.sync(t, id)
	e.matches(t, id, alice)
	requests := e.fake.RequestsTotal()
	limited := e.fake.Limited()
	rate := e.client.Rate()
	t.Logf("%d requests, %d refused with 429, in %s; the budget ended at %.0f/s (ceiling 40/s, the provider's 20/s)",
		requests, limited, time.Since(start).Round(time.Millisecond), rate)
	if limited == 0 {
		t.Fatalf("%d 429s, rate %v: the limit was never met, so this test proves nothing", limited, rate)
	}
	if limited > requests/5 {
		t.Fatalf("%d of %d requests refused: the budget did not slow down", limited, requests)
	}
}

// TestSyncBigTransactions: twenty pool payouts of 4,000 outputs (about a
// megabyte each) make a chain page of ~18 MB, over the 16 MiB any other
// answer may take. It is read whole, and the balance is right. (The
// fake's encoding of such a page takes seconds under the race detector,
// hence the long page timeout.)
func TestSyncBigTransactions(t *testing.T) {
	t.Parallel()
	e := newShapedEnv(t, chaintest.Blockstream, func(o *chain.Options) { o.PageTimeout = time.Minute })
	for i := range 20 {
		e.fake.Payout(alice, 625_000+int64(i), 4_000)
	}
	e.fake.Mine()
	id := e.track(t, alice)
	e.sync(t, id)
	e.matches(t, id, alice)
}

// TestSyncDeepPagesGetSlower: electrs scans from the newest entry to find
// a resume point, so each page is slower than the one above it; the
// deepest ones here take longer than the 300 ms any other request gets,
// and within the page timeout.
func TestSyncDeepPagesGetSlower(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.History(alice, 500, 10)
	e.fake.DeepPageDelay(25 * time.Millisecond) // the 20th page: 500 ms
	id := e.track(t, alice)
	e.sync(t, id)
	e.matches(t, id, alice)
	if _, cutOff := e.fake.Faults(); cutOff != 0 {
		t.Fatalf("%d deep pages were cut off", cutOff)
	}
}

// TestReorgBelowANewerBlock: a reorg takes two blocks and their
// transactions, and before the tip check runs a sync records a newer
// block above them. That newer block agrees with the provider but was
// recorded after the last check, so it proves nothing about the stale
// ones beneath it: the check looks past it and demotes them.
func TestReorgBelowANewerBlock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.fake.History(alice, 20, 2) // blocks 1..10
	id := e.track(t, alice)
	e.sync(t, id)
	if stale, err := e.syncer.CheckTip(context.Background()); err != nil || stale != 0 {
		t.Fatalf("CheckTip = %d, %v before any reorg", stale, err)
	}
	e.fake.Reorg(2, ids[16:]...) // blocks 9 and 10 go, with their four transactions
	e.fake.Mine()                // 9': empty
	e.fake.Mine()                // 10': empty
	e.fake.Send([]chaintest.In{{Address: "bc1qsomeone", Value: 9_000}}, []chaintest.Out{{Address: alice, Value: 8_000}})
	e.fake.Mine() // 11', paying alice
	if res := e.sync(t, id); res.Status != "partial" {
		t.Fatalf("a sync before the tip check: %+v, want partial (four stale confirmed transactions stored)", res)
	}
	stale, err := e.syncer.CheckTip(context.Background())
	if err != nil || stale != 2 {
		t.Fatalf("CheckTip = %d, %v; want the 2 stale blocks below the newer one", stale, err)
	}
	e.sync(t, id)
	e.matches(t, id, alice)
	for _, txid := range ids[16:] {
		if s := e.status(t, txid); s != "dropped" {
			t.Fatalf("a transaction of a stale block is %s, want dropped", s)
		}
	}
}
