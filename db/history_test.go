package db_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
)

// TestHistoryFunctionsAreInlined checks that PostgreSQL inlines the SQL
// functions the history queries share (migration 00015) in every form
// db.History sends, as a prepared statement's generic plan: a call left
// in the plan would run as a function per row, and the plan would no
// longer be the one the literal text gave.
func TestHistoryFunctionsAreInlined(t *testing.T) {
	t.Parallel()
	s := dbtest.NewStore(t)
	base := db.HistoryFilter{UserID: 1, Statuses: []string{"confirmed", "pending"}, From: db.MinTime, To: db.MaxTime,
		MaxAmount: math.MaxInt64, Direction: "self"}
	newest, oldest, byTxid := base, base, base
	oldest.Oldest = true
	byTxid.Txid = make([]byte, 32)
	for name, f := range map[string]db.HistoryFilter{"newest": newest, "oldest": oldest, "by txid": byTxid} {
		c := &db.Capture{}
		if _, _, err := db.New(c).History(ctx, f, f.Start(), 50); !errors.Is(err, db.ErrCaptured) {
			t.Fatal(err)
		}
		tx, err := s.Pool().Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_generic_plan"); err != nil {
			t.Fatal(err)
		}
		rows, err := tx.Query(ctx, "EXPLAIN (VERBOSE, COSTS OFF) "+c.SQL, c.Args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(line + "\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		_ = tx.Rollback(ctx)
		for _, fn := range []string{"history_row_matches", "ledger_other_tracked"} {
			if strings.Contains(plan.String(), fn) {
				t.Errorf("%s: %s is not inlined:\n%s", name, fn, plan.String())
			}
		}
		if !strings.Contains(plan.String(), "SubPlan") {
			t.Errorf("%s: the self-transfer probe is missing from the plan:\n%s", name, plan.String())
		}
	}
}
