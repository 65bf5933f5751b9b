package chainsync_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cointracker/cointracker/api"
	"github.com/cointracker/cointracker/auth"
	"github.com/cointracker/cointracker/btc"
	"github.com/cointracker/cointracker/chain"
	"github.com/cointracker/cointracker/chain/chaintest"
	"github.com/cointracker/cointracker/chainsync"
	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
	"github.com/cointracker/cointracker/webhooks"
)

// env is one test's database, fake provider and syncer, and the API
// over the same database, through which results are checked.
type env struct {
	store  *db.Store
	fake   *chaintest.Fake
	client *chain.Client
	syncer *chainsync.Syncer
	queued chan []int64
	api    *httptest.Server
	token  string
	userID int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newShapedEnv(t, chaintest.Blockstream, nil)
}

// newShapedEnv is newEnv with a fake in a real server's shape, and the
// client's options changed by tune when it is not nil.
func newShapedEnv(t *testing.T, shape chaintest.Shape, tune func(*chain.Options)) *env {
	t.Helper()
	e := &env{store: dbtest.NewStore(t), fake: chaintest.NewShaped(shape), queued: make(chan []int64, 100)}
	t.Cleanup(e.fake.Close)
	opts := chain.Options{
		RequestTimeout: 300 * time.Millisecond, PageTimeout: time.Second, RatePerSecond: 10_000, Burst: 100,
		BaseBackoff: 10 * time.Millisecond, MaxBackoff: 1500 * time.Millisecond,
	}
	if tune != nil {
		tune(&opts)
	}
	var err error
	e.client, err = chain.New(e.fake.URL, opts)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.syncer = chainsync.NewSyncer(e.store, e.client, "mainnet", log, func(_ context.Context, _ int64, ids []int64) error {
		e.queued <- ids
		return nil
	})
	e.startAPI(t, log)
	return e
}

// eachShape runs a scenario against a fake of each real server: the sync
// must end the same, to the satoshi, on both.
func eachShape(t *testing.T, scenario func(t *testing.T, e *env)) {
	t.Helper()
	for _, shape := range []chaintest.Shape{chaintest.Blockstream, chaintest.MempoolSpace} {
		t.Run(shape.String(), func(t *testing.T) {
			t.Parallel()
			scenario(t, newShapedEnv(t, shape, nil))
		})
	}
}

// startAPI serves the API over the test database with a real token.
func (e *env) startAPI(t *testing.T, log *slog.Logger) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if e.token, err = auth.DevToken(key, "sync-tester", time.Hour); err != nil {
		t.Fatal(err)
	}
	e.api = httptest.NewServer(api.New(api.Options{
		Store: e.store, Logger: log, Verifier: auth.NewStatic(auth.DevIssuer, auth.DevAudience, key.Public()),
		// The webhook tests' receiver listens on loopback.
		Webhooks: api.WebhookOptions{URLs: webhooks.URLRules{AllowPrivate: true}},
	}).Handler())
	t.Cleanup(e.api.Close)
	e.userID = getJSON[api.Me](t, e, "/v1/me").ID
}

// getJSON fetches an API path as the test user and decodes a 200 answer.
func getJSON[T any](t *testing.T, e *env, path string) T {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, e.api.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	res, err := e.api.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s (%v)", path, res.StatusCode, body, err)
	}
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return v
}

// track makes the address known (as the API does), puts it on the test
// user's watch-list and returns its id.
func (e *env) track(t *testing.T, address string) int64 {
	t.Helper()
	id, _ := dbtest.Track(t, e.store, db.Watch{UserID: e.userID, Network: "mainnet", Address: address, ScriptType: "p2wpkh"})
	return id
}

// entry is the address's id on the test user's watch-list.
func (e *env) entry(t *testing.T, id int64) int64 {
	t.Helper()
	var entry int64
	if err := e.store.Pool().QueryRow(context.Background(),
		`SELECT id FROM user_addresses WHERE user_id = $1 AND address_id = $2`, e.userID, id).Scan(&entry); err != nil {
		t.Fatalf("address %d is not on the test user's watch-list: %v", id, err)
	}
	return entry
}

func (e *env) sync(t *testing.T, id int64) chainsync.Result {
	t.Helper()
	res, err := e.syncer.SyncAddress(context.Background(), id)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return res
}

// age makes a stored transaction first seen d earlier.
func (e *env) age(t *testing.T, txid string, d time.Duration) {
	t.Helper()
	if _, err := e.store.Pool().Exec(context.Background(),
		`UPDATE transactions SET first_seen = first_seen - make_interval(secs => $2) WHERE txid = decode($1, 'hex')`,
		txid, d.Seconds()); err != nil {
		t.Fatal(err)
	}
}

// crashAt runs a sync of the address that dies (its context cancelled)
// while asking for its nth history page, the mempool listing included.
func (e *env) crashAt(t *testing.T, id int64, n int32) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var pages atomic.Int32
	e.fake.OnPage(func(string) {
		if pages.Add(1) == n {
			cancel()
		}
	})
	defer e.fake.OnPage(nil)
	if _, err := e.syncer.SyncAddress(ctx, id); !errors.Is(err, context.Canceled) {
		t.Fatalf("a sync cut off at page %d: err = %v, want cancelled", n, err)
	}
}

// served lists the address's history as the API serves it (every page),
// in the fake's ground-truth shape.
func (e *env) served(t *testing.T, id int64) []chaintest.Entry {
	t.Helper()
	var out []chaintest.Entry
	path := "/v1/addresses/" + strconv.FormatInt(e.entry(t, id), 10) + "/transactions?limit=500"
	for cursor := ""; ; {
		page := getJSON[api.TransactionList](t, e, path+cursor)
		for _, it := range page.Items {
			height := int32(-1)
			if it.BlockHeight != nil {
				height = *it.BlockHeight
			}
			out = append(out, chaintest.Entry{Txid: it.Txid, Received: it.ReceivedSats, Sent: it.SentSats,
				FeeShare: it.FeeShareSats, Confirmed: it.Status == "confirmed", Height: height})
		}
		if page.NextCursor == nil {
			return out
		}
		cursor = "&cursor=" + url.QueryEscape(*page.NextCursor)
	}
}

// matches fails unless the API serves the fake's truth: the address's
// history row for row, its balance to the satoshi, and sync status done.
func (e *env) matches(t *testing.T, id int64, address string) {
	t.Helper()
	byTxid := func(a, b chaintest.Entry) int { return strings.Compare(a.Txid, b.Txid) }
	want, got := e.fake.Truth(address), e.served(t, id)
	slices.SortFunc(want, byTxid)
	slices.SortFunc(got, byTxid)
	if !slices.Equal(want, got) {
		t.Fatalf("served history differs from the chain's:\nwant %d rows %v\n got %d rows %v", len(want), want, len(got), got)
	}
	wantBalance := chaintest.Sum(want)
	balances := getJSON[api.Balances](t, e, "/v1/balances")
	entry := e.entry(t, id)
	i := slices.IndexFunc(balances.Addresses, func(a api.AddressBalanceItem) bool { return a.AddressID == entry })
	if i < 0 {
		t.Fatalf("/v1/balances lacks entry %d", entry)
	}
	b := balances.Addresses[i]
	if got := (chaintest.Totals{Confirmed: b.ConfirmedSats, Unconfirmed: b.UnconfirmedSats, Received: b.ReceivedSats,
		Sent: b.SentSats, Count: b.TxCount}); got != wantBalance {
		t.Fatalf("served balance %+v, the chain says %+v", b.Balance, wantBalance)
	}
	if b.SyncStatus != "done" {
		t.Fatalf("sync status = %s (%v), want done", b.SyncStatus, deref(e.state(t, id).LastError))
	}
}

func (e *env) state(t *testing.T, id int64) db.SyncState {
	t.Helper()
	rows, _ := e.store.Pool().Query(context.Background(), "SELECT * FROM sync_states WHERE address_id = $1", id)
	st, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[db.SyncState])
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// status is a stored transaction's status, "" when it is not stored.
func (e *env) status(t *testing.T, txid string) string {
	t.Helper()
	var s string
	err := e.store.Pool().QueryRow(context.Background(),
		`SELECT status FROM transactions WHERE txid = decode($1, 'hex')`, txid).Scan(&s)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatal(err)
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

const (
	alice = "bc1qalice0000000000000000000000000000000"
	bob   = "bc1qbob00000000000000000000000000000000000"
)

func TestSyncHistoryPagesCoinbaseAndSelfTransfer(t *testing.T) {
	t.Parallel()
	eachShape(t, func(t *testing.T, e *env) {
		e.fake.Send([]chaintest.In{{Coinbase: true}}, []chaintest.Out{{Address: alice, Value: 625_000_000}})
		e.fake.Mine()
		e.fake.History(alice, 60, 1)
		// A self-transfer: alice pays herself change.
		e.fake.Send([]chaintest.In{{Address: alice, Value: 90_000}}, []chaintest.Out{{Address: alice, Value: 89_000}})
		e.fake.Mine()
		// Two in the mempool.
		e.fake.Send([]chaintest.In{{Address: "bc1qsomeone", Value: 5_000}}, []chaintest.Out{{Address: alice, Value: 4_000}})
		e.fake.Send([]chaintest.In{{Address: alice, Value: 80_000}}, []chaintest.Out{{Address: "bc1qshop", Value: 70_000}})
		id := e.track(t, alice)

		res := e.sync(t, id)
		e.matches(t, id, alice)
		// The mempool listing, then 25, 25 and 12 confirmed.
		if res.Status != "done" || res.Pages != 4 || res.Txs != 64 {
			t.Fatalf("result = %+v, want done in 4 pages of 64 transactions", res)
		}
		st := e.state(t, id)
		if st.LastSyncedHeight == nil || *st.LastSyncedHeight != e.fake.Tip() || st.LastSeenTxid != nil || st.PagesFetched != 4 {
			t.Fatalf("state = %+v", st)
		}

		// Re-running writes nothing: no row of the ledger or transactions
		// moves, and it asks the tip, the mempool, one chain page and the
		// totals.
		before, requests := xmins(t, e.store), e.fake.RequestsTotal()
		res = e.sync(t, id)
		if got := e.fake.RequestsTotal() - requests; got != 4 {
			t.Fatalf("an unchanged re-sync made %d requests, want 4", got)
		}
		e.matches(t, id, alice)
		if after := xmins(t, e.store); after != before {
			t.Fatalf("a re-run rewrote rows: %s -> %s", before, after)
		}
		// The mempool and the newest chain page, which reaches below the
		// last synced tip less the overlap.
		if res.Pages != 2 {
			t.Fatalf("incremental re-sync read %d pages, want 2", res.Pages)
		}
	})
}

// xmins fingerprints the row versions of the chain data.
func xmins(t *testing.T, store *db.Store) string {
	t.Helper()
	var s string
	if err := store.Pool().QueryRow(context.Background(), `
		SELECT coalesce(string_agg(x, ','), '') FROM (
			SELECT xmin::text AS x FROM transactions UNION ALL SELECT xmin::text FROM ledger_entries
			UNION ALL SELECT xmin::text FROM transaction_spends) v`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSyncPagesEndingExactlyAt25(t *testing.T) {
	t.Parallel()
	eachShape(t, func(t *testing.T, e *env) {
		e.fake.History(alice, 50, 10)
		id := e.track(t, alice)
		res := e.sync(t, id)
		e.matches(t, id, alice)
		// The mempool, 25, 25, then an empty page after a txid the
		// provider still has confirmed: the end, not a lost resume point.
		resumed, lookups := e.fake.Requests("/address/:a/txs/chain/:txid"), e.fake.Requests("/tx/:txid")
		if res.Pages != 4 || resumed != 2 || lookups != 1 || res.Rounds != 1 {
			t.Fatalf("pages = %d, resumed chain pages = %d, txid lookups = %d; want 4, 2 and 1", res.Pages, resumed, lookups)
		}
	})
}

func TestSyncRidesOutProviderFaults(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		fault           func(f *chaintest.Fake)
		faults, cutOffs int
	}{
		"429 burst with Retry-After":    {func(f *chaintest.Fake) { f.FailNext(3, 429, "1") }, 3, 0},
		"429 burst without Retry-After": {func(f *chaintest.Fake) { f.FailNext(3, 429, "") }, 3, 0},
		"500s":                          {func(f *chaintest.Fake) { f.FailNext(4, 500, "") }, 4, 0},
		"slower than the timeout":       {func(f *chaintest.Fake) { f.SlowNext(2, time.Second) }, 0, 2},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			eachShape(t, func(t *testing.T, e *env) {
				e.fake.History(alice, 30, 5)
				id := e.track(t, alice)
				c.fault(e.fake)
				e.sync(t, id)
				e.matches(t, id, alice)
				// Every fault was met and retried past; slow answers were
				// cut off at the 300 ms timeout, not waited out. (How long
				// Retry-After makes the client wait is chain's own test.)
				if faults, cutOffs := e.fake.Faults(); faults != c.faults || cutOffs != c.cutOffs {
					t.Fatalf("faults answered %d, cut off %d; want %d and %d", faults, cutOffs, c.faults, c.cutOffs)
				}
			})
		})
	}
}

func TestSyncFailsClearlyOnA4xx(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.track(t, alice)
	e.fake.FailNext(1, 400, "")
	_, err := e.syncer.SyncAddress(context.Background(), id)
	var se *chain.StatusError
	if !errors.As(err, &se) || se.Status != 400 {
		t.Fatalf("err = %v, want the provider's 400", err)
	}
}

func TestSyncFollowsAReorg(t *testing.T) {
	t.Parallel()
	eachShape(t, func(t *testing.T, e *env) {
		ids := e.fake.History(alice, 20, 2) // 10 blocks
		id := e.track(t, alice)
		e.sync(t, id)

		// The top two blocks leave the chain for a longer one: one of
		// their transactions vanishes, the rest confirm again in its first
		// block.
		gone := ids[len(ids)-1]
		e.fake.Reorg(2, gone)
		e.fake.Mine()
		e.fake.Mine()
		e.fake.Mine()
		stale, err := e.syncer.CheckTip(context.Background())
		if err != nil || stale != 2 {
			t.Fatalf("CheckTip = %d, %v; want 2 stale blocks", stale, err)
		}
		if q := <-e.queued; !slices.Contains(q, id) {
			t.Fatalf("queued %v, want the address %d", q, id)
		}
		if s := e.status(t, ids[len(ids)-2]); s != "pending" {
			t.Fatalf("a reorged transaction is %s, want pending until re-synced", s)
		}
		e.sync(t, id)
		e.matches(t, id, alice)
		if s := e.status(t, gone); s != "dropped" {
			t.Fatalf("the vanished transaction is %s, want dropped", s)
		}
	})
}

func TestSyncReplacedAndDropped(t *testing.T) {
	t.Parallel()
	eachShape(t, func(t *testing.T, e *env) {
		e.fake.History(alice, 4, 2)
		rbf := e.fake.Send([]chaintest.In{{Address: alice, Value: 90_000}}, []chaintest.Out{{Address: "bc1qshop", Value: 85_000}})
		expired := e.fake.Send([]chaintest.In{{Address: "bc1qsomeone", Value: 5_000}}, []chaintest.Out{{Address: alice, Value: 4_000}})
		id := e.track(t, alice)
		e.sync(t, id)
		if e.status(t, rbf) != "pending" || e.status(t, expired) != "pending" {
			t.Fatal("mempool transactions not stored as pending")
		}

		replacement := e.fake.Replace(rbf, []chaintest.Out{{Address: "bc1qshop", Value: 80_000}})
		e.fake.Mine(replacement)
		e.fake.Drop(expired)
		// A drop is believed only of a transaction seen a while ago (a
		// backend behind a load balancer may not have a new one yet).
		e.age(t, expired, time.Hour)
		e.sync(t, id)
		e.matches(t, id, alice)
		if s := e.status(t, rbf); s != "replaced" {
			t.Fatalf("the RBF-replaced transaction is %s", s)
		}
		if s := e.status(t, expired); s != "dropped" {
			t.Fatalf("the expired transaction is %s", s)
		}
		if s := e.status(t, replacement); s != "confirmed" {
			t.Fatalf("the replacement is %s", s)
		}
	})
}

func TestSyncOneTransactionTwoTrackedAddresses(t *testing.T) {
	t.Parallel()
	eachShape(t, func(t *testing.T, e *env) {
		e.fake.History(alice, 30, 3)
		e.fake.History(bob, 30, 3)
		shared := e.fake.Send([]chaintest.In{{Address: alice, Value: 90_000}},
			[]chaintest.Out{{Address: bob, Value: 50_000}, {Address: alice, Value: 39_000}})
		// A collaborative spend: alice, bob and a stranger bring 1:2:3 of the
		// inputs, so they pay 166.67, 333.33 and 500 of the 1,000 sat fee; the
		// satoshi rounding leaves goes to alice's larger remainder.
		joint := e.fake.Send([]chaintest.In{{Address: alice, Value: 10_000}, {Address: bob, Value: 20_000},
			{Address: "bc1qstranger", Value: 30_000}}, []chaintest.Out{{Address: "bc1qshop", Value: 59_000}})
		e.fake.Mine()
		a, b := e.track(t, alice), e.track(t, bob)

		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, id := range []int64{a, b} {
			wg.Go(func() { _, errs[i] = e.syncer.SyncAddress(context.Background(), id) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		e.matches(t, a, alice)
		e.matches(t, b, bob)
		for id, want := range map[int64]int64{a: 167, b: 333} {
			served := e.served(t, id)
			i := slices.IndexFunc(served, func(en chaintest.Entry) bool { return en.Txid == joint })
			if i < 0 || served[i].FeeShare != want {
				t.Fatalf("address %d's rows %v: want the joint spend with a fee share of %d", id, served, want)
			}
		}
		var n int
		if err := e.store.Pool().QueryRow(context.Background(),
			`SELECT count(*) FROM ledger_entries WHERE txid = decode($1, 'hex')`, shared).Scan(&n); err != nil || n != 2 {
			t.Fatalf("the shared transaction has %d ledger rows (%v), want 2", n, err)
		}
	})
}

func TestSyncSeesATransactionArrivingBetweenPages(t *testing.T) {
	t.Parallel()
	eachShape(t, func(t *testing.T, e *env) {
		e.fake.History(alice, 80, 4)
		id := e.track(t, alice)
		var once sync.Once
		e.fake.OnPage(func(path string) {
			if strings.Contains(path, "/chain/") {
				once.Do(func() {
					e.fake.Send([]chaintest.In{{Address: "bc1qsomeone", Value: 7_000}}, []chaintest.Out{{Address: alice, Value: 6_000}})
					e.fake.Mine()
				})
			}
		})
		res := e.sync(t, id)
		e.matches(t, id, alice)
		if res.Rounds != 2 {
			t.Fatalf("rounds = %d, want a second look at the head", res.Rounds)
		}
	})
}

func TestSyncResumesWhereItStopped(t *testing.T) {
	t.Parallel()
	eachShape(t, func(t *testing.T, e *env) {
		e.fake.History(alice, 200, 10)
		id := e.track(t, alice)
		e.crashAt(t, id, 5)
		// The mempool listing and three chain pages were committed.
		st := e.state(t, id)
		if st.LastSeenTxid == nil || st.PagesFetched != 4 || st.TxsFetched != 75 {
			t.Fatalf("after the crash: %+v, want 3 pages committed with a resume point", st)
		}
		heads := e.fake.Requests("/address/:a/txs/chain")
		e.sync(t, id)
		e.matches(t, id, alice)
		if got := e.fake.Requests("/address/:a/txs/chain"); got != heads {
			t.Fatalf("the resumed sync read the head again (%d -> %d requests)", heads, got)
		}
		if st := e.state(t, id); st.TxsFetched != 200 {
			t.Fatalf("txs fetched = %d, want 200 over both runs", st.TxsFetched)
		}
	})
}

func TestSyncMarksMismatchPartial(t *testing.T) {
	t.Parallel()
	eachShape(t, func(t *testing.T, e *env) {
		e.fake.History(alice, 30, 3)
		e.fake.Skew(alice, 12_345)
		id := e.track(t, alice)
		res := e.sync(t, id)
		st := e.state(t, id)
		if res.Status != "partial" || st.Status != "partial" || !strings.Contains(deref(st.LastError), "confirmed: provider has 30 transactions") {
			t.Fatalf("result %+v, state %s %q; want partial with the difference", res, st.Status, deref(st.LastError))
		}
	})
}

func TestSyncExtendsXpubDerivationPastTheGap(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	// The test user owns the xpub, so matches sees its addresses.
	u := db.User{ID: e.userID}
	account, x, receive := e.trackXpub(t, "chainsync xpub gap test seed 0001")
	// The wallet used receive address 15: 20 unused must follow it.
	used, _ := account.Address(btc.Receive, 15)
	e.fake.Send([]chaintest.In{{Address: "bc1qsomeone", Value: 50_000}}, []chaintest.Out{{Address: used, Value: 40_000}})
	e.fake.Mine()
	e.sync(t, receive[15])
	e.matches(t, receive[15], used)

	derived := <-e.queued
	if len(derived) != 16 {
		t.Fatalf("derived %d addresses, want 16 (indexes 20..35)", len(derived))
	}
	rows, err := e.store.XpubAddressList(ctx, db.XpubAddressListParams{XpubIds: []int64{x.ID}, UserID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	last := rows[len(rows)-1]
	want, _ := account.Address(btc.Receive, 35)
	if len(rows) != 36 || last.Index != 35 || last.Address != want || last.AddressID == nil {
		t.Fatalf("receive chain has %d addresses, last %+v; want 36 ending at %s on the watch-list", len(rows), last, want)
	}
	// Syncing an unused address derives nothing more.
	e.sync(t, receive[3])
	select {
	case ids := <-e.queued:
		t.Fatalf("an unused address extended derivation by %d", len(ids))
	default:
	}
}

// trackXpub puts the first 20 receive addresses of an xpub made from seed
// on the test user's watch-list, as the API does for a new xpub, and
// returns the account, the xpub's row and the addresses' shared ids.
func (e *env) trackXpub(t *testing.T, seed string) (*btc.Account, db.Xpub, []int64) {
	t.Helper()
	ctx := context.Background()
	account, err := btc.AccountFromSeed([]byte(seed), btc.Purpose(84), btc.Networks["mainnet"])
	if err != nil {
		t.Fatal(err)
	}
	x, err := e.store.XpubCreate(ctx, db.XpubCreateParams{UserID: e.userID, Network: "mainnet", Xpub: account.String(), Purpose: 84})
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := account.Derive(btc.Receive, 0, 19)
	if err != nil {
		t.Fatal(err)
	}
	receive, _, err := e.store.Track(ctx, db.XpubWatches(e.userID, x.ID, "mainnet", account, addrs))
	if err != nil {
		t.Fatal(err)
	}
	return account, x, receive
}

// TestXpubDerivationStopsAtItsLimit plays a tenant whose wallet keeps
// using the last derived address: derivation grows only up to the
// per-xpub limit, then stops, whatever the history says.
func TestXpubDerivationStopsAtItsLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.syncer.LimitDerived(25)
	account, x, receive := e.trackXpub(t, "chainsync xpub limit test seed 01")
	used, _ := account.Address(btc.Receive, 19)
	e.fake.Send([]chaintest.In{{Address: "bc1qsomeone", Value: 50_000}}, []chaintest.Out{{Address: used, Value: 40_000}})
	e.fake.Mine()
	e.sync(t, receive[19])
	derived := <-e.queued
	if len(derived) != 5 {
		t.Fatalf("derived %d addresses, want 5 (indexes 20..24, up to the limit of 25)", len(derived))
	}
	count, err := e.store.XpubDerivedCount(ctx, x.ID)
	if err != nil || count != 25 {
		t.Fatalf("the xpub has %d derived addresses (%v), want 25", count, err)
	}
	// At the limit a sync of the last address derives nothing.
	last, _ := account.Address(btc.Receive, 24)
	e.fake.Send([]chaintest.In{{Address: "bc1qsomeone", Value: 60_000}}, []chaintest.Out{{Address: last, Value: 30_000}})
	e.fake.Mine()
	e.sync(t, derived[4])
	select {
	case ids := <-e.queued:
		t.Fatalf("derivation went past the limit by %d", len(ids))
	default:
	}
}

// TestFairSync plays a tenant that adds 60 addresses at once, then
// another who adds one: with one worker, the second tenant's first sync
// runs after at most FairShare of the first's (plus the one running), not
// after all 60 of them.
func TestFairSync(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	account, err := btc.AccountFromSeed([]byte("chainsync fairness test seed 0001"), btc.Purpose(84), btc.Networks["mainnet"])
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := account.Derive(btc.Receive, 0, 60)
	if err != nil {
		t.Fatal(err)
	}
	hoarder, err := e.store.UpsertUser(ctx, db.UserUpsertParams{Issuer: "https://issuer.test", Subject: "hoarder"})
	if err != nil {
		t.Fatal(err)
	}
	var many []int64
	for _, a := range addrs[:60] {
		id, _ := dbtest.Track(t, e.store, db.Watch{UserID: hoarder.ID, Network: "mainnet", Address: a.Address, ScriptType: "p2wpkh"})
		many = append(many, id)
	}
	mine, _ := dbtest.Track(t, e.store, db.Watch{UserID: e.userID, Network: "mainnet", Address: addrs[60].Address, ScriptType: "p2wpkh"})
	// Queued before any worker runs: the queue's order alone decides.
	runner, err := chainsync.NewRunner(e.store.Pool(), e.syncer, chainsync.Options{Workers: 1, ResyncInterval: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.SyncForUser(ctx, hoarder.ID, many); err != nil {
		t.Fatal(err)
	}
	if err := runner.SyncForUser(ctx, e.userID, []int64{mine}); err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = runner.Stop(context.Background()) })
	deadline := time.Now().Add(60 * time.Second)
	for e.state(t, mine).Status != "done" {
		if time.Now().After(deadline) {
			t.Fatal("the second tenant's sync never finished")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var before int
	if err := e.store.Pool().QueryRow(ctx, `SELECT count(*) FROM sync_states WHERE address_id = ANY($1)
		AND finished_at <= (SELECT finished_at FROM sync_states WHERE address_id = $2)`, many, mine).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if before > chainsync.FairShare+1 {
		t.Fatalf("the first tenant's %d syncs finished before the second tenant's first, want at most %d", before, chainsync.FairShare+1)
	}
	t.Logf("the second tenant's first sync finished after %d of the first tenant's 60", before)
}

// TestSyncYieldsAtItsPageBudget syncs an address of five pages with a
// budget of two pages a run: the job yields its worker twice (no attempt
// spent) and the third run finishes the history, whole.
func TestSyncYieldsAtItsPageBudget(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.fake.History(alice, 110, 0) // four full pages and a short one
	id := e.track(t, alice)
	e.syncer.LimitPages(2)
	if _, err := e.syncer.SyncAddress(ctx, id); !errors.Is(err, chainsync.ErrPageBudget) {
		t.Fatalf("a five-page sync with a budget of two: %v, want ErrPageBudget", err)
	}
	if st := e.state(t, id); st.Status != "queued" || st.PagesFetched != 2 || st.LastSeenTxid == nil {
		t.Fatalf("after the first run: %s, %d pages, resume %x; want queued after 2 pages with a resume point",
			st.Status, st.PagesFetched, st.LastSeenTxid)
	}
	runner, err := chainsync.NewRunner(e.store.Pool(), e.syncer, chainsync.Options{Workers: 1, ResyncInterval: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.SyncForUser(ctx, e.userID, []int64{id}); err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = runner.Stop(context.Background()) })
	deadline := time.Now().Add(30 * time.Second)
	for e.state(t, id).Status != "done" {
		if time.Now().After(deadline) {
			t.Fatalf("the sync never finished: %+v", e.state(t, id))
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.matches(t, id, alice)
	var attempts, snoozes int
	if err := e.store.Pool().QueryRow(ctx, `SELECT attempt, coalesce((metadata->>'snoozes')::int, 0) FROM river_job
		WHERE kind = 'sync_address' AND (args->>'address_id')::bigint = $1`, id).Scan(&attempts, &snoozes); err != nil {
		t.Fatal(err)
	}
	if attempts > 1 || snoozes < 1 {
		t.Fatalf("the job ran %d attempts with %d yields, want one attempt that yielded", attempts, snoozes)
	}
}

// TestSweepSyncsStaleAndLostAddresses runs the job runner: its first sweep
// queues an address never synced and one marked queued a day ago whose
// job was lost, and the workers sync both.
func TestSweepSyncsStaleAndLostAddresses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.History(alice, 30, 3)
	e.fake.History(bob, 10, 2)
	fresh, lost := e.track(t, alice), e.track(t, bob)
	ctx := context.Background()
	if _, err := e.store.Pool().Exec(ctx, `UPDATE sync_states SET status = 'queued', updated_at = now() - interval '1 day'
		WHERE address_id = $1`, lost); err != nil {
		t.Fatal(err)
	}
	// Only tracked addresses are swept: put both on a watch-list.
	u, err := e.store.UpsertUser(ctx, db.UserUpsertParams{Issuer: "https://issuer.test", Subject: "sweeper"})
	if err != nil {
		t.Fatal(err)
	}
	for _, address := range []string{alice, bob} {
		dbtest.Track(t, e.store, db.Watch{UserID: u.ID, Network: "mainnet", Address: address, ScriptType: "p2wpkh"})
	}
	runner, err := chainsync.NewRunner(e.store.Pool(), e.syncer, chainsync.Options{Workers: 2, ResyncInterval: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = runner.Stop(context.Background()) })
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if e.state(t, fresh).Status == "done" && e.state(t, lost).Status == "done" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s: %s and %s, want both done", e.state(t, fresh).Status, e.state(t, lost).Status)
		}
	}
	e.matches(t, fresh, alice)
	e.matches(t, lost, bob)
}

// TestWorkerRecordsAPermanentFailure runs a sync job against a provider
// refusing with a 400: the job is cancelled, not retried, and the sync
// state says failed with the provider's answer.
func TestWorkerRecordsAPermanentFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.track(t, alice)
	e.fake.FailNext(1000, 400, "")
	runner, err := chainsync.NewRunner(e.store.Pool(), e.syncer, chainsync.Options{Workers: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = runner.Stop(context.Background()) })
	if err := runner.SyncAddresses(ctx, []int64{id}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		st := e.state(t, id)
		if st.Status == "failed" {
			if !strings.Contains(deref(st.LastError), "400 Bad Request") || st.Attempts != 1 {
				t.Fatalf("failed after %d attempts with %q, want one attempt naming the 400", st.Attempts, deref(st.LastError))
			}
			if strings.Contains(deref(st.LastError), "error page") || strings.Contains(deref(st.LastError), "/address/") {
				t.Fatalf("last_error %q carries the provider's answer or the request", deref(st.LastError))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sync state %s after 20 s, want failed", st.Status)
		}
	}
	// River records the job's end a moment after the work returns.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var state string
		err := e.store.Pool().QueryRow(ctx, `SELECT state FROM river_job WHERE kind = 'sync_address'`).Scan(&state)
		if err == nil && state == "cancelled" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sync job is %q (%v), want cancelled", state, err)
		}
	}
}

// TestWorkerCancelsASyncOfAGoneAddress: a sync job whose address was
// deleted after it was queued finds no address (db.ErrNotFound, mapped
// where the query ran) and is cancelled at its first attempt, not retried.
func TestWorkerCancelsASyncOfAGoneAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.track(t, alice)
	runner, err := chainsync.NewRunner(e.store.Pool(), e.syncer, chainsync.Options{Workers: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := runner.SyncAddresses(ctx, []int64{id}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Pool().Exec(ctx, `DELETE FROM user_addresses WHERE address_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Pool().Exec(ctx, `DELETE FROM addresses WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = runner.Stop(context.Background()) })
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var state string
		var attempt int
		err := e.store.Pool().QueryRow(ctx, `SELECT state, attempt FROM river_job WHERE kind = 'sync_address'`).Scan(&state, &attempt)
		if err == nil && state == "cancelled" && attempt == 1 {
			return
		}
		if err == nil && (state == "retryable" || attempt > 1) {
			t.Fatalf("the job for a deleted address is %s after %d attempts, want cancelled after 1", state, attempt)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job is %q after %d attempts (%v), want cancelled", state, attempt, err)
		}
	}
}

// TestSyncStatusMetricIsCached scrapes sync_addresses again and again, as
// a flood of /metrics requests would: the GROUP BY over every sync state
// runs once in its 15 s, so a change shows at the next count, not at once.
func TestSyncStatusMetricIsCached(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.track(t, alice)
	reg := prometheus.NewRegistry()
	chainsync.NewJobMetrics(reg, e.store)
	count := func() float64 {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		total := 0.0
		for _, f := range families {
			if f.GetName() == "sync_addresses" {
				for _, m := range f.GetMetric() {
					total += m.GetGauge().GetValue()
				}
			}
		}
		return total
	}
	if got := count(); got != 1 {
		t.Fatalf("sync_addresses counts %v addresses, want 1", got)
	}
	e.track(t, bob)
	for range 50 {
		if got := count(); got != 1 {
			t.Fatalf("a scrape within 15 s counted again: %v addresses", got)
		}
	}
}
