package db_test

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
	"github.com/cointracker/cointracker/fixtures/fixturestest"
)

// benchStore is the shared bench-scale fixture database (~1M ledger rows).
func benchStore(t *testing.T) *db.Store {
	t.Helper()
	return db.NewStore(dbtest.NewPool(t, fixturestest.BenchURL(t)))
}

// TestHistoryUsesIndexesAtScale EXPLAINs every filter combination of the
// history queries on the bench-scale database, as the real planner sees
// it (fresh statistics, no planner settings changed), for the heavy user
// on the first page and deep in the history.
func TestHistoryUsesIndexesAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds ~1M ledger rows on first use")
	}
	t.Parallel()
	s := benchStore(t)
	var userID, entryID int64
	if err := s.Pool().QueryRow(ctx, `SELECT u.id, min(ua.id) FROM users u JOIN user_addresses ua ON ua.user_id = u.id
		WHERE u.subject = 'user-1' GROUP BY u.id`).Scan(&userID, &entryID); err != nil {
		t.Fatal(err)
	}
	// A position 100,000 rows deep (page 2,000 of 50) in user-1's history.
	var deep db.HistoryPosition
	err := s.Pool().QueryRow(ctx, `SELECT le.sort_time, le.sort_height, le.txid, ua.id
		FROM user_addresses ua JOIN ledger_entries le ON le.address_id = ua.address_id
		WHERE ua.user_id = $1 AND NOT le.unconfirmed
		ORDER BY le.sort_time DESC, le.sort_height DESC, le.txid DESC, ua.id DESC
		OFFSET 100000 LIMIT 1`, userID).Scan(&deep.Time, &deep.Height, &deep.Txid, &deep.EntryID)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := db.MinTime, db.MaxTime
	from, to := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

	checked := 0
	for _, isDeep := range []bool{false, true} {
		for _, direction := range []string{"", "incoming", "outgoing", "self"} {
			for _, span := range [][2]time.Time{{lo, hi}, {from, hi}, {lo, to}, {from, to}} {
				for _, amount := range [][2]int64{{0, math.MaxInt64}, {100_000, math.MaxInt64}, {10_000, 5_000_000}} {
					for _, entry := range []int64{0, entryID} {
						for _, statuses := range [][]string{{"confirmed", "pending"}, {"replaced"}} {
							for _, oldest := range []bool{false, true} {
								f := db.HistoryFilter{UserID: userID, EntryID: entry, Direction: direction, Statuses: statuses,
									From: span[0], To: span[1], MinAmount: amount[0], MaxAmount: amount[1], Oldest: oldest}
								// The first page, or deep among confirmed rows.
								after := f.Start()
								if isDeep {
									after = deep
								}
								c := &db.Capture{}
								if _, _, err := db.New(c).History(ctx, f, after, 50); !errors.Is(err, db.ErrCaptured) {
									t.Fatal(err)
								}
								name := fmt.Sprintf("direction=%q span=%v amount=%v entry=%d statuses=%v deep=%t oldest=%t",
									direction, span, amount, entry, statuses, isDeep, oldest)
								assertIndexed(t, name, explainAsIs(t, s, c), "ledger_entries_history_idx")
								checked++
							}
						}
					}
				}
			}
		}
	}
	c := &db.Capture{}
	f := db.HistoryFilter{UserID: userID, Txid: deep.Txid, From: lo, To: hi,
		Statuses: []string{"confirmed", "pending"}, MaxAmount: math.MaxInt64}
	if _, _, err := db.New(c).History(ctx, f, f.Start(), 50); !errors.Is(err, db.ErrCaptured) {
		t.Fatal(err)
	}
	assertIndexed(t, "by txid", explainAsIs(t, s, c), "transactions_network_txid_key")
	checked++

	// The balance queries read each entry's stored aggregates (migration
	// 00018), and the transaction count only its rows at several of the
	// user's addresses.
	for name, q := range map[string]struct {
		call  func(q *db.Queries) error
		index string
	}{
		"UserAddressList": {func(q *db.Queries) error {
			_, err := q.UserAddressList(ctx, db.UserAddressListParams{UserID: userID, AfterID: 0, MaxRows: math.MaxInt32})
			return err
		}, "address_totals_pkey"},
		"BalanceTotals": {func(q *db.Queries) error {
			_, err := q.BalanceTotals(ctx, userID)
			return err
		}, "address_totals_pkey"},
		// The whole watch-list's series reads the user's days (migration
		// 00026); one entry's, its address's days or months.
		"BalanceHistory by month": {func(q *db.Queries) error {
			_, err := q.BalanceHistory(ctx, db.BalanceHistoryParams{Interval: "month", FromTime: lo, ToTime: hi,
				UserID: userID, MinEntryID: 1, MaxEntryID: math.MaxInt64, WholeWatchList: true})
			return err
		}, "user_days_pkey"},
		"BalanceHistory by day": {func(q *db.Queries) error {
			_, err := q.BalanceHistory(ctx, db.BalanceHistoryParams{Interval: "day", FromTime: lo, ToTime: hi,
				UserID: userID, MinEntryID: 1, MaxEntryID: math.MaxInt64, WholeWatchList: true})
			return err
		}, "user_days_pkey"},
		"BalanceHistory of an entry by month": {func(q *db.Queries) error {
			_, err := q.BalanceHistory(ctx, db.BalanceHistoryParams{Interval: "month", FromTime: lo, ToTime: hi,
				UserID: userID, MinEntryID: entryID, MaxEntryID: entryID})
			return err
		}, "address_months_pkey"},
		"BalanceHistory of an entry by day": {func(q *db.Queries) error {
			_, err := q.BalanceHistory(ctx, db.BalanceHistoryParams{Interval: "day", FromTime: lo, ToTime: hi,
				UserID: userID, MinEntryID: entryID, MaxEntryID: entryID})
			return err
		}, "address_days_pkey"},
	} {
		c := &db.Capture{}
		if err := q.call(db.New(c)); !errors.Is(err, db.ErrCaptured) {
			t.Fatal(err)
		}
		assertIndexed(t, name, explainAsIs(t, s, c), q.index)
		checked++
	}

	// The sync's reads of one address and one block.
	var addressID int64
	var height int32
	var hash []byte
	if err := s.Pool().QueryRow(ctx, `SELECT address_id FROM user_addresses WHERE user_id = $1 LIMIT 1`, userID).Scan(&addressID); err != nil {
		t.Fatal(err)
	}
	if err := s.Pool().QueryRow(ctx, `SELECT block_height, block_hash FROM transactions
		WHERE block_height IS NOT NULL ORDER BY block_height DESC LIMIT 1`).Scan(&height, &hash); err != nil {
		t.Fatal(err)
	}
	for name, q := range map[string]struct {
		call  func(q *db.Queries) error
		index string
	}{
		"LedgerTotals":  {func(q *db.Queries) error { _, err := q.LedgerTotals(ctx, addressID); return err }, "ledger_entries_history_idx"},
		"LedgerPending": {func(q *db.Queries) error { _, err := q.LedgerPending(ctx, addressID); return err }, "ledger_entries_history_idx"},
		"TransactionsReplaceConflicted": {func(q *db.Queries) error {
			_, err := q.TransactionsReplaceConflicted(ctx, addressID)
			return err
		}, "ledger_entries_history_idx"},
		"TransactionsInBlock": {func(q *db.Queries) error {
			_, err := q.TransactionsInBlock(ctx, db.TransactionsInBlockParams{Network: "mainnet", BlockHeight: height, BlockHash: hash})
			return err
		}, "transactions_block_height_idx"},
		"XpubChainsOfAddress": {func(q *db.Queries) error { _, err := q.XpubChainsOfAddress(ctx, addressID); return err }, "xpub_addresses_address_id_idx"},
	} {
		c := &db.Capture{}
		if err := q.call(db.New(c)); !errors.Is(err, db.ErrCaptured) {
			t.Fatal(err)
		}
		assertIndexed(t, name, explainAsIs(t, s, c), q.index)
		checked++
	}
	t.Logf("%d plans checked", checked)
}

// explainAsIs returns the plan the planner picks with default settings.
func explainAsIs(t *testing.T, s *db.Store, c *db.Capture) planNode {
	t.Helper()
	var out []byte
	if err := s.Pool().QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+c.SQL, c.Args...).Scan(&out); err != nil {
		t.Fatalf("explain: %v", err)
	}
	return parsePlan(t, out)
}

// historyTables are the tables that hold every user's history: at scale,
// no API query may read them sequentially (SPEC §3). Small tables such as
// the 2,000 bench addresses may be, when the planner finds that cheaper.
var historyTables = map[string]bool{"ledger_entries": true, "transactions": true, "address_days": true, "address_months": true}

func assertIndexed(t *testing.T, name string, plan planNode, index string) {
	t.Helper()
	used := false
	plan.walk(func(n planNode) {
		if n.NodeType == "Seq Scan" && historyTables[n.Relation] {
			t.Errorf("%s: sequential scan of %s", name, n.Relation)
		}
		used = used || n.IndexName == index
	})
	if !used {
		t.Errorf("%s: plan does not use %s", name, index)
	}
}

// TestExportCursorsDoNotSortAtScale EXPLAINs the export's cursors as
// db.HistoryEach declares them, for the heavy user's longest entry on the
// bench-scale database: each must read its index range in order, with no
// Sort (which would hold back the first row until the range was read).
func TestExportCursorsDoNotSortAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds ~1M ledger rows on first use")
	}
	t.Parallel()
	s := benchStore(t)
	p := exportParams
	if err := s.Pool().QueryRow(ctx, `SELECT ua.user_id, ua.id, ua.address_id
		FROM users u JOIN user_addresses ua ON ua.user_id = u.id JOIN address_totals at ON at.address_id = ua.address_id
		WHERE u.subject = 'user-1' ORDER BY at.tx_count DESC LIMIT 1`).Scan(&p.UserID, &p.EntryID, &p.AddressID); err != nil {
		t.Fatal(err)
	}
	for _, direction := range []string{"", "self"} {
		for _, oldest := range []bool{false, true} {
			p.Direction = direction
			c := &db.Capture{}
			if oldest {
				_, _ = db.New(c).HistoryExportOldest(ctx, db.HistoryExportOldestParams(p))
			} else {
				_, _ = db.New(c).HistoryExportNewest(ctx, p)
			}
			tx, err := s.Pool().Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var out []byte
			err = tx.QueryRow(ctx, "EXPLAIN (FORMAT JSON) DECLARE c NO SCROLL CURSOR FOR "+c.SQL, c.Args...).Scan(&out)
			_ = tx.Rollback(ctx)
			if err != nil {
				t.Fatal(err)
			}
			usesIndex := false
			parsePlan(t, out).walk(func(n planNode) {
				if n.NodeType == "Sort" {
					t.Errorf("direction %q, oldest %v: the cursor sorts", direction, oldest)
				}
				usesIndex = usesIndex || n.IndexName == "ledger_entries_history_idx"
			})
			if !usesIndex {
				t.Errorf("direction %q, oldest %v: the cursor does not read ledger_entries_history_idx", direction, oldest)
			}
		}
	}
}
