package chainsync

import (
	"slices"
	"testing"

	"github.com/cointracker/cointracker/chain"
)

// TestDedupeKeepsTheConfirmedCopy: a page listing a transaction twice
// (unconfirmed and confirmed while electrs updates its mempool after a
// block, or twice unconfirmed as mempool.space's /txs does) becomes one
// copy each, in first-seen order, the confirmed copy winning; a chain
// page keeps only confirmed transactions.
func TestDedupeKeepsTheConfirmedCopy(t *testing.T) {
	t.Parallel()
	tx := func(id string, confirmed bool) chain.Tx {
		return chain.Tx{Txid: id, Status: chain.Status{Confirmed: confirmed, BlockHeight: 7}}
	}
	page := []chain.Tx{tx("a", false), tx("b", false), tx("a", true), tx("c", true), tx("b", false), tx("c", false)}
	type seen struct {
		id        string
		confirmed bool
	}
	got := func(txs []chain.Tx) []seen {
		var out []seen
		for _, t := range txs {
			out = append(out, seen{t.Txid, t.Status.Confirmed})
		}
		return out
	}
	if d, want := got(dedupe(page)), []seen{{"a", true}, {"b", false}, {"c", true}}; !slices.Equal(d, want) {
		t.Fatalf("dedupe = %v, want %v", d, want)
	}
	if c, want := got(confirmedOnly(page)), []seen{{"a", true}, {"c", true}}; !slices.Equal(c, want) {
		t.Fatalf("confirmedOnly = %v, want %v", c, want)
	}
}
