package db_test

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
)

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
	"transaction_spends": true, "chain_blocks": true,
	"address_totals": true, "address_days": true, "address_months": true, "address_stamps": true, "user_days": true,
	"events": true, "webhooks": true, "webhook_deliveries": true,
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
		{"EventsList", func(q *db.Queries) error {
			_, err := q.EventsList(ctx, db.EventsListParams{UserID: 1, AfterID: 10, Types: []string{"balance.changed"}, MaxRows: 100})
			return err
		}, []string{"events_pkey"}},
		{"WebhookList", func(q *db.Queries) error {
			_, err := q.WebhookList(ctx, db.WebhookListParams{UserID: 1, AfterID: 0, MaxRows: 51})
			return err
		}, []string{"webhooks_user_id_id_idx"}},
		{"DeliveryList", func(q *db.Queries) error {
			_, err := q.DeliveryList(ctx, db.DeliveryListParams{WebhookID: 1, UserID: 1, BeforeID: math.MaxInt64, MaxRows: 51})
			return err
		}, []string{"webhook_deliveries_webhook_id_id_idx"}},
		{"DeliveriesDueLanes", func(q *db.Queries) error {
			_, err := q.DeliveriesDueLanes(ctx, 1000)
			return err
		}, []string{"webhook_deliveries_due_idx"}},
		{"DeliveryLaneHead", func(q *db.Queries) error {
			_, err := q.DeliveryLaneHead(ctx, db.DeliveryLaneHeadParams{WebhookID: 1, EntryID: 1})
			if errors.Is(err, db.ErrNotFound) {
				return nil
			}
			return err
		}, []string{"webhook_deliveries_lane_idx"}},
		{"UserAddressList", func(q *db.Queries) error {
			_, err := q.UserAddressList(ctx, db.UserAddressListParams{UserID: 1, AfterID: 0, MaxRows: 51})
			return err
		}, []string{"user_addresses_user_id_id_idx", "address_totals_pkey"}},
		{"UserAddressGet", func(q *db.Queries) error {
			_, err := q.UserAddressGet(ctx, db.UserAddressGetParams{UserID: 1, ID: 1})
			return err
		}, []string{"user_addresses_user_id_id_idx", "address_totals_pkey"}},
		{"XpubAddressList", func(q *db.Queries) error {
			_, err := q.XpubAddressList(ctx, db.XpubAddressListParams{XpubIds: []int64{1}, UserID: 1})
			return err
		}, []string{"xpub_addresses_pkey"}},
		{"XpubList", func(q *db.Queries) error {
			_, err := q.XpubList(ctx, db.XpubListParams{UserID: 1, AfterID: 0, MaxRows: 51})
			return err
		}, []string{"xpubs_user_id_id_idx"}},
		// The sync's own reads: the sweep, the tip check's walk down the
		// recorded blocks, and the conflicts that settle replaced spends.
		{"SyncSweepCandidates", func(q *db.Queries) error {
			_, err := q.SyncSweepCandidates(ctx, db.SyncSweepCandidatesParams{Before: time.Now(), MaxRows: 1000})
			return err
		}, []string{"sync_states_sweep_idx"}},
		{"ChainBlocksBelow", func(q *db.Queries) error {
			_, err := q.ChainBlocksBelow(ctx, db.ChainBlocksBelowParams{Network: "mainnet", MaxHeight: 900_000, MaxHeights: 64})
			return err
		}, []string{"chain_blocks_pkey"}},
		// The version behind every conditional GET's ETag: O(watch-list).
		{"UserDataVersion", func(q *db.Queries) error {
			_, err := q.UserDataVersion(ctx, 1)
			return err
		}, []string{"user_addresses_user_id_id_idx", "address_stamps_pkey", "sync_states_pkey"}},
		// The export's cursors: one entry's range, in the index's order.
		{"HistoryExportEntries", func(q *db.Queries) error {
			_, err := q.HistoryExportEntries(ctx, db.HistoryExportEntriesParams{UserID: 1, MinEntryID: 1, MaxEntryID: math.MaxInt64})
			return err
		}, []string{"user_addresses_user_id_id_idx"}},
		{"HistoryExportNewest", func(q *db.Queries) error {
			_, err := q.HistoryExportNewest(ctx, exportParams)
			return err
		}, []string{"ledger_entries_history_idx"}},
		{"HistoryExportOldest", func(q *db.Queries) error {
			_, err := q.HistoryExportOldest(ctx, db.HistoryExportOldestParams(exportParams))
			return err
		}, []string{"ledger_entries_history_idx"}},
		{"TransactionsReplaceConflicted", func(q *db.Queries) error {
			_, err := q.TransactionsReplaceConflicted(ctx, 1)
			return err
		}, []string{"transaction_spends_outpoint_idx"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &db.Capture{}
			if err := tc.call(db.New(c)); !errors.Is(err, db.ErrCaptured) {
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

// exportParams are an export cursor's, with every filter open.
var exportParams = db.HistoryExportNewestParams{
	AddressID: 1, EntryID: 1, UserID: 1, FromTime: db.MinTime, ToTime: db.MaxTime,
	Statuses: []string{"confirmed", "pending"}, MaxAmount: math.MaxInt64,
}

func explain(t *testing.T, s *db.Store, c *db.Capture) planNode {
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
	if err := tx.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+c.SQL, c.Args...).Scan(&out); err != nil {
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
