package api_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
)

// sqlRecorder keeps the SQL of every query the pool runs.
type sqlRecorder struct {
	mu  sync.Mutex
	sql []string
}

func (r *sqlRecorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sql = append(r.sql, d.SQL)
	return ctx
}

func (r *sqlRecorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// take returns the SQL recorded since the last take.
func (r *sqlRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.sql
	r.sql = nil
	return got
}

// conditionalPaths are the conditional reads, for an entry id.
func conditionalPaths(entry int64) []string {
	return []string{
		"/v1/me", "/v1/addresses", fmt.Sprintf("/v1/addresses/%d", entry),
		fmt.Sprintf("/v1/addresses/%d/transactions", entry), "/v1/transactions?limit=10",
		"/v1/xpubs", "/v1/balances", "/v1/balances/history?interval=day",
	}
}

// TestConditionalReads reads every conditional route twice: the second
// time with the first answer's ETag it is 304, empty, and costs one query
// that reads no ledger table (the SQL is recorded by the pool). Then it
// makes each kind of change a user can see (their entry's sync finishing,
// a new transaction, its confirmation, a new tip, a reorg, a label edit,
// another user's sync of a shared address, a new price) and expects every
// tag to change, while another user's label edit, another user's sync of
// the address before the user's own finished (migration 00016: nothing of
// it shows), and a tip check that found the same tip change none.
func TestConditionalReads(t *testing.T) {
	t.Parallel()
	rec := &sqlRecorder{}
	cfg, err := pgxpool.ParseConfig(dbtest.NewURL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = rec
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s := newServer(t, pool)
	other := *s
	other.token = tokenFor(t, "user-2")

	const shared = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
	var mine, theirs struct {
		ID int64 `json:"id"`
	}
	for _, p := range []struct {
		s   *testServer
		out any
	}{{s, &mine}, {&other, &theirs}} {
		r := p.s.postJSON(t, http.MethodPost, "/v1/addresses", `{"address":"`+shared+`","label":"savings"}`)
		if r.status != http.StatusCreated {
			t.Fatalf("track: %d %s", r.status, r.body)
		}
		if err := json.Unmarshal(r.body, p.out); err != nil {
			t.Fatal(err)
		}
	}
	var addressID int64
	if err := pool.QueryRow(ctx, "SELECT address_id FROM user_addresses WHERE id = $1", mine.ID).Scan(&addressID); err != nil {
		t.Fatal(err)
	}
	paths := conditionalPaths(mine.ID)

	tags := func() map[string]string {
		t.Helper()
		got := map[string]string{}
		for _, p := range paths {
			r := s.get(t, p)
			tag := r.header.Get("ETag")
			if r.status != http.StatusOK || !strings.HasPrefix(tag, `W/"`) || r.header.Get("Cache-Control") != "private, no-cache" {
				t.Fatalf("GET %s = %d, ETag %q, Cache-Control %q", p, r.status, tag, r.header.Get("Cache-Control"))
			}
			got[p] = tag
		}
		return got
	}
	before := tags()
	for p, tag := range before {
		rec.take()
		r := s.do(t, http.MethodGet, p, nil, "If-None-Match", `"other", `+tag)
		if r.status != http.StatusNotModified || len(r.body) != 0 || r.header.Get("ETag") != tag {
			t.Fatalf("GET %s with its tag = %d (%d bytes, ETag %q), want an empty 304 with the tag", p, r.status, len(r.body), r.header.Get("ETag"))
		}
		sqls := rec.take()
		if len(sqls) != 1 || !strings.Contains(sqls[0], "UserDataVersion") {
			t.Fatalf("a 304 of %s ran %d queries, want the version query alone: %q", p, len(sqls), sqls)
		}
		for _, table := range []string{"ledger_entries", "address_totals", "address_days", "transactions"} {
			if strings.Contains(sqls[0], table) {
				t.Fatalf("the version query reads %s", table)
			}
		}
		if other := s.do(t, http.MethodGet, p, nil, "If-None-Match", `W/"not-the-tag"`); other.status != http.StatusOK {
			t.Fatalf("GET %s with a stale tag = %d, want 200", p, other.status)
		}
	}

	store := db.NewStore(pool)
	txid := make([]byte, 32)
	_, _ = rand.Read(txid)
	seen := time.Now().UTC().Truncate(time.Second)
	upsert := func(status string, height int32) int64 {
		t.Helper()
		return upsertTx(t, store, txid, seen, status, height)
	}
	ledger := func(tx int64) {
		t.Helper()
		if err := store.LedgerEntriesUpsert(ctx, db.LedgerEntriesUpsertParams{AddressIds: []int64{addressID}, TransactionIds: []int64{tx},
			ReceivedSats: []int64{120_000}, SentSats: []int64{0}, FeeShareSats: []int64{0}}); err != nil {
			t.Fatal(err)
		}
	}
	changes := []struct {
		name    string
		change  func()
		changes bool
	}{
		{"another user's label edit", func() {
			if r := other.postJSON(t, http.MethodPatch, fmt.Sprintf("/v1/addresses/%d", theirs.ID), `{"label":"theirs"}`); r.status != http.StatusOK {
				t.Fatalf("their label edit: %d %s", r.status, r.body)
			}
		}, false},
		// My entry is not revealed yet (its own sync has not finished):
		// another user's sync of the address shows me nothing, not even a
		// new tag.
		{"another user's sync of the address, before mine finished", func() {
			other := make([]byte, 32)
			_, _ = rand.Read(other)
			ledger(upsertTx(t, store, other, seen, "confirmed", 899_990))
			if err := store.SyncStateProgress(ctx, db.SyncStateProgressParams{AddressID: addressID, Txs: 1, LastSeenTxid: other}); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"my entry's sync finished", func() {
			if err := store.SyncStatesMarkDone(ctx, db.SyncStatesMarkDoneParams{AddressIds: []int64{addressID}, Height: 899_990, FinishedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"a new transaction, synced by another user", func() { ledger(upsert("pending", -1)) }, true},
		{"its confirmation", func() { upsert("confirmed", 900_000) }, true},
		{"a new tip", func() {
			if err := store.ChainTipUpsert(ctx, db.ChainTipUpsertParams{Network: "mainnet", Height: 900_003, BlockHash: txid}); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"a tip check that found the same tip", func() {
			now := time.Now()
			if err := store.ChainTipChecked(ctx, db.ChainTipCheckedParams{Network: "mainnet", CheckedAt: &now}); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"a reorg", func() {
			id := upsert("confirmed", 900_000)
			if _, err := store.TransactionsUnconfirm(ctx, db.TransactionsUnconfirmParams{Status: "pending", Ids: []int64{id}}); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"a label edit", func() {
			if r := s.postJSON(t, http.MethodPatch, fmt.Sprintf("/v1/addresses/%d", mine.ID), `{"label":"mine"}`); r.status != http.StatusOK {
				t.Fatalf("label edit: %d %s", r.status, r.body)
			}
		}, true},
		{"a new daily close", func() {
			if err := store.PricesUpsert(ctx, db.PricesUpsertParams{Days: []time.Time{seen}, CloseUsdCents: []int64{9_700_000}}); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	for _, ch := range changes {
		ch.change()
		after := tags()
		for _, p := range paths {
			if changed := after[p] != before[p]; changed != ch.changes {
				t.Errorf("after %s the tag of %s changed: %v, want %v", ch.name, p, changed, ch.changes)
			}
		}
		before = after
	}
}

// upsertTx writes one mainnet transaction as the sync does: pending with
// height -1, confirmed in a block at height otherwise.
func upsertTx(t *testing.T, store *db.Store, txid []byte, seen time.Time, status string, height int32) int64 {
	t.Helper()
	block := []byte{}
	if height >= 0 {
		block = make([]byte, 32)
		block[0] = byte(height)
	}
	rows, err := store.TransactionsUpsert(ctx, db.TransactionsUpsertParams{
		Networks: []string{"mainnet"}, Txids: [][]byte{txid}, Statuses: []string{status}, BlockHeights: []int32{height},
		BlockHashes: [][]byte{block}, BlockTimes: []time.Time{seen}, FeesSats: []int64{500}, Vsizes: []int32{141}, FirstSeens: []time.Time{seen},
	})
	if err != nil || len(rows) != 1 {
		t.Fatalf("upsert transaction: %v %v", rows, err)
	}
	return rows[0].ID
}
