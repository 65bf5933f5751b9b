package db_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
)

// errCaptured stops a generated query method once its SQL is captured.
var errCaptured = errors.New("captured")

// capture is a db.DBTX that records the SQL and arguments a generated
// method sends instead of running it, so tests can EXPLAIN exactly that.
type capture struct {
	sql  string
	args []any
}

func (c *capture) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	c.sql, c.args = sql, args
	return pgconn.CommandTag{}, errCaptured
}

func (c *capture) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	c.sql, c.args = sql, args
	return nil, errCaptured
}

func (c *capture) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	c.sql, c.args = sql, args
	return errRow{}
}

type errRow struct{}

func (errRow) Scan(...any) error { return errCaptured }

// planNode is the part of EXPLAIN (FORMAT JSON) the test reads.
type planNode struct {
	NodeType  string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	IndexName string     `json:"Index Name"`
	Plans     []planNode `json:"Plans"`
}

func (n planNode) walk(fn func(planNode)) {
	fn(n)
	for _, c := range n.Plans {
		c.walk(fn)
	}
}

// bigTables must never be read by a sequential scan on an API path.
var bigTables = map[string]bool{
	"ledger_entries": true, "transactions": true, "user_addresses": true,
	"addresses": true, "xpub_addresses": true, "sync_states": true,
}

// TestListQueriesUseIndexes EXPLAINs every list query with the arguments
// its caller sends and fails on a sequential scan of a table that grows
// with users or history. Sequential scans are priced out (as on a large
// database, where they lose) so the plan shows whether an index *can*
// serve the query; without a usable index PostgreSQL still picks Seq Scan.
func TestListQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	s := dbtest.NewStore(t)
	cases := []struct {
		name      string
		call      func(q *db.Queries) error
		wantIndex []string
	}{
		{"UserAddressList", func(q *db.Queries) error {
			_, err := q.UserAddressList(ctx, db.UserAddressListParams{UserID: 1, AfterID: 0, MaxRows: 51})
			return err
		}, []string{"user_addresses_user_id_id_idx", "ledger_entries_history_idx"}},
		{"UserAddressGet", func(q *db.Queries) error {
			_, err := q.UserAddressGet(ctx, db.UserAddressGetParams{UserID: 1, ID: 1})
			return err
		}, []string{"user_addresses_user_id_id_idx", "ledger_entries_history_idx"}},
		{"XpubAddressList", func(q *db.Queries) error {
			_, err := q.XpubAddressList(ctx, db.XpubAddressListParams{XpubIds: []int64{1}, UserID: 1})
			return err
		}, []string{"xpub_addresses_pkey"}},
		{"XpubList", func(q *db.Queries) error {
			_, err := q.XpubList(ctx, db.XpubListParams{UserID: 1, AfterID: 0, MaxRows: 51})
			return err
		}, []string{"xpubs_user_id_id_idx"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &capture{}
			if err := tc.call(db.New(c)); !errors.Is(err, errCaptured) {
				t.Fatalf("capture: %v", err)
			}
			plan := explain(t, s, c)
			used := map[string]bool{}
			plan.walk(func(n planNode) {
				if n.NodeType == "Seq Scan" && bigTables[n.Relation] {
					t.Errorf("sequential scan of %s", n.Relation)
				}
				if n.IndexName != "" {
					used[n.IndexName] = true
				}
			})
			for _, idx := range tc.wantIndex {
				if !used[idx] {
					t.Errorf("plan does not use %s (uses %v)", idx, used)
				}
			}
		})
	}
}

func explain(t *testing.T, s *db.Store, c *capture) planNode {
	t.Helper()
	var out []byte
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+c.sql, c.args...).Scan(&out); err != nil {
		t.Fatalf("explain: %v", err)
	}
	return parsePlan(t, out)
}

func parsePlan(t *testing.T, out []byte) planNode {
	t.Helper()
	var plans []struct {
		Plan planNode `json:"Plan"`
	}
	if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
		t.Fatalf("parse plan: %v", err)
	}
	return plans[0].Plan
}
