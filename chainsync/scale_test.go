package chainsync_test

import (
	"context"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cointracker/cointracker/chain"
	"github.com/cointracker/cointracker/chain/chaintest"
	"github.com/cointracker/cointracker/chainsync"
)

// TestSync100kTransactions syncs an address with 100,000 transactions
// (4,000 pages) from a fake of each real server's shape, checks the
// result against the fake's ground truth, then re-syncs it unchanged. It
// logs the time taken, the requests made, the heap's peak growth during
// the sync (bounded because pages are written and dropped one at a time)
// and the process's peak RSS (which includes the fake's ground truth).
// The shapes run one after the other, so their times compare.
func TestSync100kTransactions(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	for _, shape := range []chaintest.Shape{chaintest.Blockstream, chaintest.MempoolSpace} {
		t.Run(shape.String(), func(t *testing.T) { sync100k(t, shape) })
	}
}

func sync100k(t *testing.T, shape chaintest.Shape) {
	// The fake sums the totals of 100,000 transactions per request, which
	// under the race detector on a loaded machine can take longer than the
	// 300 ms the other tests allow.
	e := newShapedEnv(t, shape, func(o *chain.Options) { o.RequestTimeout = 10 * time.Second })
	const n, perBlock = 100_000, 40
	e.fake.History(alice, n, perBlock)
	id := e.track(t, alice)
	// Warm the fake's ordered index so the measurement is the sync's.
	if _, err := e.client.AddressChainTxs(context.Background(), alice, ""); err != nil {
		t.Fatal(err)
	}

	runtime.GC()
	base, rssBefore := liveHeap(), peakRSS()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
				if h := liveHeap(); h > peak.Load() {
					peak.Store(h)
				}
			}
		}
	}()
	before := e.fake.RequestsTotal()
	start := time.Now()
	res, err := e.syncer.SyncAddress(context.Background(), id)
	elapsed := time.Since(start)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	requests := e.fake.RequestsTotal() - before
	if res.Status != "done" || res.Txs != n {
		t.Fatalf("result = %+v, want done with %d transactions", res, n)
	}
	totals, err := e.store.LedgerTotals(context.Background(), id)
	if err != nil || totals.ChainTxCount != n {
		t.Fatalf("stored %d confirmed transactions (%v), want %d", totals.ChainTxCount, err, n)
	}
	growth := int64(peak.Load()) - int64(base)
	t.Logf("%s: synced %d transactions in %d pages and %d requests in %s (%.0f tx/s); live heap peaked %.1f MiB above the %.1f MiB before (the fake provider's ground truth); the process's peak RSS %s before the sync, %s after",
		shape, n, res.Pages, requests, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(),
		float64(growth)/(1<<20), float64(base)/(1<<20), rssBefore, peakRSS())
	if growth > 32<<20 {
		t.Fatalf("the sync's live heap grew by %d MiB: it is holding the history", growth>>20)
	}
	e.matches(t, id, alice)

	// Re-syncing it unchanged costs the tip, the mempool, the totals and
	// the chain pages down past the overlap: at 40 transactions a block,
	// (3 + 1) × 40 / 25, so 7 pages.
	before = e.fake.RequestsTotal()
	if res := e.sync(t, id); res.Status != "done" {
		t.Fatalf("re-sync: %+v", res)
	}
	resync := e.fake.RequestsTotal() - before
	pages := ((chainsync.Overlap+1)*perBlock + chaintest.ChainPage - 1) / chaintest.ChainPage
	t.Logf("%s: re-syncing the unchanged address made %d requests", shape, resync)
	if resync > 3+pages {
		t.Fatalf("re-syncing an unchanged address made %d requests, want at most %d", resync, 3+pages)
	}
}

// liveHeap is the heap's live bytes as of the last garbage collection.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// peakRSS is the test process's peak resident set (VmHWM), as Linux
// reports it.
func peakRSS() string {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return strconv.Itoa(kb/1024) + " MiB"
		}
	}
	return "unknown"
}
