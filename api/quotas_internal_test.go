package api

import "testing"

// TestExportGate takes export slots: past EXPORTS_PER_USER a user's next
// is refused until one ends, another user's slots are their own, and past
// EXPORTS_MAX every user's next is refused, each refusal naming its limit.
func TestExportGate(t *testing.T) {
	var g exportGate
	const perUser, max = 2, 3
	leave, limit := g.enter(1, perUser, max)
	if limit != "" {
		t.Fatalf("first export refused by %s", limit)
	}
	if _, limit := g.enter(1, perUser, max); limit != "" {
		t.Fatalf("second export refused by %s", limit)
	}
	if _, limit := g.enter(1, perUser, max); limit != "EXPORTS_PER_USER" {
		t.Fatalf("a third export of one user at once: limit %q, want EXPORTS_PER_USER", limit)
	}
	if _, limit := g.enter(2, perUser, max); limit != "" {
		t.Fatalf("another user's export refused by %s", limit)
	}
	if _, limit := g.enter(3, perUser, max); limit != "EXPORTS_MAX" {
		t.Fatalf("a fourth export in all: limit %q, want EXPORTS_MAX", limit)
	}
	leave()
	if _, limit := g.enter(3, perUser, max); limit != "" {
		t.Fatalf("a slot that ended was not given back: refused by %s", limit)
	}
	if _, limit := g.enter(4, perUser, 0); limit != "" {
		t.Fatalf("EXPORTS_MAX=0 bounds nothing, but refused by %s", limit)
	}
}
