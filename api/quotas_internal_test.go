package api

import "testing"

// TestExportGate takes a user's export slots: past EXPORTS_PER_USER the
// next is refused until one ends, and another user's slots are their own.
func TestExportGate(t *testing.T) {
	var g exportGate
	leave, ok := g.enter(1, 2)
	if !ok {
		t.Fatal("first export refused")
	}
	if _, ok := g.enter(1, 2); !ok {
		t.Fatal("second export refused")
	}
	if _, ok := g.enter(1, 2); ok {
		t.Fatal("a third export at once was let in")
	}
	if _, ok := g.enter(2, 2); !ok {
		t.Fatal("another user's export refused")
	}
	leave()
	if _, ok := g.enter(1, 2); !ok {
		t.Fatal("a slot that ended was not given back")
	}
}
