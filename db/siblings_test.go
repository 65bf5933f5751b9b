package db_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
)

// siblingFlags returns has_siblings by address for one transaction.
func siblingFlags(t *testing.T, s *db.Store, txID int64) map[int64]bool {
	t.Helper()
	rows, err := s.Pool().Query(ctx, "SELECT address_id, has_siblings FROM ledger_entries WHERE transaction_id = $1", txID)
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		AddressID   int64
		HasSiblings bool
	}
	entries, err := pgx.CollectRows(rows, pgx.RowToStructByPos[entry])
	if err != nil {
		t.Fatal(err)
	}
	flags := map[int64]bool{}
	for _, e := range entries {
		flags[e.AddressID] = e.HasSiblings
	}
	return flags
}

// TestLedgerSiblingsAreMarked checks has_siblings (migration 00012): set
// on every entry of a transaction with entries at two addresses, whether
// they arrive in one statement, in two, or from two sessions at once; and
// never on a transaction with one entry.
func TestLedgerSiblingsAreMarked(t *testing.T) {
	t.Parallel()
	s := dbtest.NewStore(t)
	a := mustAddress(t, s, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "p2wpkh")
	b := mustAddress(t, s, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "p2pkh")
	tx := func(name string) chainTx {
		return chainTx{name: name, height: 840_000, time: t0, status: "confirmed", received: 1_000}
	}
	want := func(txID int64, flags map[int64]bool) {
		t.Helper()
		if got := siblingFlags(t, s, txID); len(got) != len(flags) || got[a.ID] != flags[a.ID] || got[b.ID] != flags[b.ID] {
			t.Errorf("transaction %d: has_siblings by address %v, want %v", txID, got, flags)
		}
	}

	alone := writeTxs(t, s, a.ID, []chainTx{tx("alone")})[0]
	want(alone, map[int64]bool{a.ID: false})

	// One statement with both entries.
	both := writeTxs(t, s, a.ID, []chainTx{tx("both")})[0]
	if err := s.LedgerEntriesUpsert(ctx, db.LedgerEntriesUpsertParams{
		AddressIds: []int64{a.ID, b.ID}, TransactionIds: []int64{both, both},
		ReceivedSats: []int64{1_000, 2_000}, SentSats: []int64{0, 0}, FeeShareSats: []int64{0, 0},
	}); err != nil {
		t.Fatal(err)
	}
	want(both, map[int64]bool{a.ID: true, b.ID: true})

	// The second entry arrives later: the first one is marked too.
	later := writeTxs(t, s, a.ID, []chainTx{tx("later")})[0]
	want(later, map[int64]bool{a.ID: false})
	writeTxs(t, s, b.ID, []chainTx{tx("later")})
	want(later, map[int64]bool{a.ID: true, b.ID: true})

	// Two sessions insert the two entries at once, neither committed when
	// the other inserts. Without the trigger's lock each would look for
	// the other's uncommitted entry, find none, and leave both unmarked.
	racy := writeTxs(t, s, a.ID, []chainTx{tx("racy")})[0]
	if _, err := s.Pool().Exec(ctx, "DELETE FROM ledger_entries WHERE transaction_id = $1", racy); err != nil {
		t.Fatal(err)
	}
	first, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = first.Rollback(ctx) }()
	entry := func(addressID int64) db.LedgerEntriesUpsertParams {
		return db.LedgerEntriesUpsertParams{AddressIds: []int64{addressID}, TransactionIds: []int64{racy},
			ReceivedSats: []int64{1_000}, SentSats: []int64{0}, FeeShareSats: []int64{0}}
	}
	if err := s.WithTx(first).LedgerEntriesUpsert(ctx, entry(a.ID)); err != nil {
		t.Fatal(err)
	}
	second, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = second.Rollback(ctx) }()
	done := make(chan error, 1)
	go func() { done <- s.WithTx(second).LedgerEntriesUpsert(ctx, entry(b.ID)) }()
	select {
	case err := <-done:
		t.Fatalf("the second session's insert did not wait for the first session (err %v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := first.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := second.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	want(racy, map[int64]bool{a.ID: true, b.ID: true})
}
