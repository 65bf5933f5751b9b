package events

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
)

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestHubBoundsAndWakes checks the per-user bound holds under concurrent
// joins, that a wake reaches only the notified user's waiters, that a
// woken waiter re-arms in its place, and that a stopped hub wakes all for
// good.
func TestHubBoundsAndWakes(t *testing.T) {
	h := NewHub(nil, slog.New(slog.DiscardHandler))
	var joined atomic.Int32
	var wg sync.WaitGroup
	var mu sync.Mutex
	var mine []*Waiter
	for range 50 {
		wg.Go(func() {
			if w, ok := h.Join(1, 3); ok {
				joined.Add(1)
				mu.Lock()
				mine = append(mine, w)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if n := joined.Load(); n != 3 || h.WaitingTotal() != 3 {
		t.Fatalf("%d joined (%d waiting), want the bound, 3", n, h.WaitingTotal())
	}
	other, ok := h.Join(2, 3)
	if !ok {
		t.Fatal("another user refused")
	}
	a, b := mine[0].Arm(), other.Arm()
	h.wake(1)
	if !isClosed(a) || isClosed(b) {
		t.Fatal("a wake of user 1 must reach user 1's waiters only")
	}
	if again := mine[0].Arm(); isClosed(again) {
		t.Fatal("a woken waiter re-arms open")
	}
	mine[0].Leave()
	if _, ok := h.Join(1, 3); !ok {
		t.Fatal("a place left is free again")
	}
	h.wakeAll(true)
	if !isClosed(other.Arm()) || !h.Stopped() {
		t.Fatal("a stopped hub keeps every waiter woken")
	}
	if w, ok := h.Join(3, 1); !ok || !isClosed(w.Arm()) {
		t.Fatal("a waiter joining a stopped hub is woken at once")
	}
}
