package db_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
	"github.com/cointracker/cointracker/fixtures"
)

// TestHistoryEachMatchesPages reads histories in one pass, in batches of a
// row or two so that every cursor ends many batches, and as a watch-list
// too wide for the cursors (which pages), and expects exactly the rows, in
// the order, that paging through db.History gives.
func TestHistoryEachMatchesPages(t *testing.T) {
	s := dbtest.NewStore(t)
	if _, err := fixtures.Seed(ctx, s, fixtures.Options{Seed: 5, Users: 3, Addresses: 12, Transactions: 700}, nil); err != nil {
		t.Fatal(err)
	}
	var userID, entryID int64
	var txid []byte
	if err := s.Pool().QueryRow(ctx, `
		SELECT ua.user_id, min(ua.id), (array_agg(le.txid))[1]
		FROM user_addresses ua JOIN ledger_entries le ON le.address_id = ua.address_id
		GROUP BY ua.user_id ORDER BY count(*) DESC LIMIT 1`).Scan(&userID, &entryID, &txid); err != nil {
		t.Fatal(err)
	}
	all := []string{"confirmed", "pending", "replaced", "dropped"}
	base := db.HistoryFilter{UserID: userID, From: db.MinTime, To: db.MaxTime, MaxAmount: math.MaxInt64, Statuses: all[:2]}
	filters := map[string]func(*db.HistoryFilter){
		"newest":           func(*db.HistoryFilter) {},
		"oldest":           func(f *db.HistoryFilter) { f.Oldest = true },
		"every status":     func(f *db.HistoryFilter) { f.Statuses = all },
		"self, oldest":     func(f *db.HistoryFilter) { f.Direction, f.Oldest = "self", true },
		"one entry":        func(f *db.HistoryFilter) { f.EntryID = entryID },
		"one transaction":  func(f *db.HistoryFilter) { f.Txid = txid },
		"amounts and time": func(f *db.HistoryFilter) { f.MinAmount, f.From = 50_000, db.MinTime.AddDate(2019, 0, 0) },
	}
	for name, set := range filters {
		f := base
		set(&f)
		var paged []db.HistoryRow
		for after := f.Start(); ; {
			rows, more, err := s.History(ctx, f, after, 7)
			if err != nil {
				t.Fatal(err)
			}
			paged = append(paged, rows...)
			if !more {
				break
			}
			after = rows[len(rows)-1].Position()
		}
		if len(paged) == 0 && name != "one transaction" {
			t.Fatalf("%s: no rows, so the comparison shows nothing", name)
		}
		// Merged cursors, a row or two a fetch; then a watch-list too wide
		// for the cursors, which pages.
		for _, way := range []struct {
			name                           string
			buffered, minFetch, maxCursors int
		}{{"merged", 24, 1, 256}, {"paged", 24, 1, 2}} {
			restore := db.SetExportBatchForTest(way.buffered, way.minFetch, way.maxCursors)
			var streamed []db.HistoryRow
			err := s.HistoryEach(ctx, f, 0, func(r *db.HistoryRow) error {
				streamed = append(streamed, *r)
				return nil
			})
			restore()
			if err != nil {
				t.Fatal(err)
			}
			if len(streamed) != len(paged) {
				t.Fatalf("%s, %s: %d rows streamed, %d paged", name, way.name, len(streamed), len(paged))
			}
			for i := range paged {
				if !reflect.DeepEqual(paged[i], streamed[i]) {
					t.Fatalf("%s, %s: row %d streamed %+v, paged %+v", name, way.name, i, streamed[i], paged[i])
				}
			}
		}
		t.Logf("%s: %d rows", name, len(paged))
	}
}
