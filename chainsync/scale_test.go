package chainsync_test

import (
	"context"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
)

// TestSync100kTransactions syncs an address with 100,000 transactions
// (4,000 pages) and checks the totals agree with the provider's. It logs
// the time taken and the heap's peak growth during the sync, which stays
// bounded because pages are written and dropped one at a time.
func TestSync100kTransactions(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	e := newEnv(t)
	const n = 100_000
	e.fake.History(alice, n, 40)
	id := e.track(t, alice)
	// Warm the fake's ordered index so the measurement is the sync's.
	if _, err := e.client.AddressTxs(context.Background(), alice, ""); err != nil {
		t.Fatal(err)
	}

	runtime.GC()
	base := liveHeap()
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
	start := time.Now()
	res, err := e.syncer.SyncAddress(context.Background(), id)
	elapsed := time.Since(start)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "done" || res.Txs != n {
		t.Fatalf("result = %+v, want done with %d transactions", res, n)
	}
	totals, err := e.store.LedgerTotals(context.Background(), id)
	if err != nil || totals.ChainTxCount != n {
		t.Fatalf("stored %d confirmed transactions (%v), want %d", totals.ChainTxCount, err, n)
	}
	growth := int64(peak.Load()) - int64(base)
	t.Logf("synced %d transactions in %d pages in %s (%.0f tx/s); live heap peaked %.1f MiB above the %.1f MiB before (the fake provider's ground truth)",
		n, res.Pages, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), float64(growth)/(1<<20), float64(base)/(1<<20))
	if growth > 32<<20 {
		t.Fatalf("the sync's live heap grew by %d MiB: it is holding the history", growth>>20)
	}
	e.matches(t, id, alice)
}

// liveHeap is the heap's live bytes as of the last garbage collection.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
