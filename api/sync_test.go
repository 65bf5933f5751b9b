package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cointracker/cointracker/api"
	"github.com/cointracker/cointracker/chain"
	"github.com/cointracker/cointracker/chain/chaintest"
	"github.com/cointracker/cointracker/chainsync"
	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
)

const syncedAddress = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"

// syncServer serves the API with a job runner over the fake provider;
// workers 0 makes the runner insert-only.
func syncServer(t *testing.T, fake *chaintest.Fake, workers int, edit ...func(*api.Options)) *testServer {
	t.Helper()
	pool := dbtest.NewPool(t, dbtest.NewURL(t))
	store := db.NewStore(pool)
	reg := prometheus.NewRegistry()
	client, err := chain.New(fake.URL, chain.Options{RatePerSecond: 1000, BaseBackoff: 10 * time.Millisecond,
		Metrics: chain.NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	runner, err := chainsync.NewRunner(pool, chainsync.NewSyncer(store, client, "mainnet", log, nil), chainsync.Options{
		Workers: workers, Metrics: chainsync.NewJobMetrics(reg, store), Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = runner.Stop(ctx)
	})
	return newServerOpts(t, pool, func(o *api.Options) {
		o.Sync, o.Registry = runner, reg
		for _, e := range edit {
			e(o)
		}
	})
}

// TestSyncCooldown asks for a sync again and again right after one
// finished, as a tenant flooding the shared queue would: within
// SYNC_COOLDOWN the answer is the finished status and no job is queued.
func TestSyncCooldown(t *testing.T) {
	t.Parallel()
	fake := chaintest.New()
	t.Cleanup(fake.Close)
	fake.History(syncedAddress, 5, 1)
	s := syncServer(t, fake, 1, func(o *api.Options) { o.Quotas.SyncCooldown = time.Hour })
	a := decode[api.Address](t, s.postJSON(t, http.MethodPost, "/v1/addresses", `{"address": "`+syncedAddress+`"}`))
	id := strconv.FormatInt(a.ID, 10)
	deadline := time.Now().Add(30 * time.Second)
	for decode[api.Address](t, s.get(t, "/v1/addresses/"+id)).Sync.Status != "done" {
		if time.Now().After(deadline) {
			t.Fatal("the first sync did not finish")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for range 20 {
		r := s.postJSON(t, http.MethodPost, "/v1/addresses/"+id+"/sync", "")
		if st := decode[api.SyncStatus](t, r); r.status != http.StatusAccepted || st.Status != "done" {
			t.Fatalf("sync within the cooldown = %d %+v, want 202 and the finished status", r.status, st)
		}
	}
	var jobs int
	if err := s.store.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM river_job WHERE kind = 'sync_address'`).Scan(&jobs); err != nil || jobs != 1 {
		t.Fatalf("%d sync jobs (%v), want only the first", jobs, err)
	}
}

func TestSyncRequestIsUniquePerAddress(t *testing.T) {
	t.Parallel()
	fake := chaintest.New()
	t.Cleanup(fake.Close)
	s := syncServer(t, fake, 0) // nothing works the queue: the job stays queued
	a := decode[api.Address](t, s.postJSON(t, http.MethodPost, "/v1/addresses", `{"address": "`+syncedAddress+`"}`))
	path := "/v1/addresses/" + strconv.FormatInt(a.ID, 10) + "/sync"
	first := s.postJSON(t, http.MethodPost, path, "")
	second := s.postJSON(t, http.MethodPost, path, "")
	if first.status != http.StatusAccepted || second.status != http.StatusAccepted {
		t.Fatalf("sync requests = %d, %d; want 202", first.status, second.status)
	}
	one, two := decode[api.SyncStatus](t, first), decode[api.SyncStatus](t, second)
	if one.Status != "queued" || two.Status != "queued" || one.QueuedAt == nil || !one.QueuedAt.Equal(*two.QueuedAt) {
		t.Fatalf("statuses %+v and %+v, want the same queued status", one, two)
	}
	var jobs int
	if err := s.store.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM river_job WHERE kind = 'sync_address'`).Scan(&jobs); err != nil || jobs != 1 {
		t.Fatalf("%d sync jobs (%v), want 1 for the create and both requests", jobs, err)
	}
	problem(t, s.postJSON(t, http.MethodPost, "/v1/addresses/99999999/sync", ""), http.StatusNotFound)
	problem(t, s.postJSON(t, http.MethodPost, path+"?now=1", ""), http.StatusBadRequest)
}

func TestSyncedAddressMatchesTheChain(t *testing.T) {
	t.Parallel()
	fake := chaintest.New()
	t.Cleanup(fake.Close)
	fake.History(syncedAddress, 70, 3)
	fake.Send([]chaintest.In{{Address: "bc1qsomeone", Value: 30_000}}, []chaintest.Out{{Address: syncedAddress, Value: 25_000}})
	s := syncServer(t, fake, 2)

	a := decode[api.Address](t, s.postJSON(t, http.MethodPost, "/v1/addresses", `{"address": "`+syncedAddress+`", "label": "synced"}`))
	id := strconv.FormatInt(a.ID, 10)
	if r := s.postJSON(t, http.MethodPost, "/v1/addresses/"+id+"/sync", ""); r.status != http.StatusAccepted {
		t.Fatalf("sync = %d %s", r.status, r.body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := decode[api.Address](t, s.get(t, "/v1/addresses/"+id))
		if got.Sync.Status == "done" {
			if got.Sync.TxsFetched != 71 || got.Sync.LastSyncedHeight == nil || *got.Sync.LastSyncedHeight != fake.Tip() {
				t.Fatalf("sync status %+v", got.Sync)
			}
			break
		}
		if got.Sync.Status == "failed" || got.Sync.Status == "partial" || time.Now().After(deadline) {
			t.Fatalf("sync status %+v", got.Sync)
		}
		time.Sleep(50 * time.Millisecond)
	}

	truth := fake.Truth(syncedAddress)
	var wantItems []string
	for _, e := range truth {
		wantItems = append(wantItems, item(e.Txid, e.Received, e.Sent, e.Confirmed, e.Height))
	}
	want := chaintest.Sum(truth)
	b := decode[api.Balances](t, s.get(t, "/v1/balances")).Total
	if got := (chaintest.Totals{Confirmed: b.ConfirmedSats, Unconfirmed: b.UnconfirmedSats, Received: b.ReceivedSats,
		Sent: b.SentSats, Count: b.TxCount}); got != want {
		t.Fatalf("balance %+v, the chain says %+v", got, want)
	}
	var gotItems []string
	for _, tx := range decode[api.TransactionList](t, s.get(t, "/v1/transactions?limit=500")).Items {
		h := int32(-1)
		if tx.BlockHeight != nil {
			h = *tx.BlockHeight
		}
		gotItems = append(gotItems, item(tx.Txid, tx.ReceivedSats, tx.SentSats, tx.Status == "confirmed", h))
	}
	slices.Sort(wantItems)
	slices.Sort(gotItems)
	if !slices.Equal(gotItems, wantItems) {
		t.Fatalf("history differs from the chain's:\n got %v\nwant %v", gotItems, wantItems)
	}

	metrics := string(s.metrics(t).body)
	allDocumented(t, metrics)
	for _, m := range []string{
		`chain_provider_request_duration_seconds_count{endpoint="/address/:a/txs/chain/:txid",status="200"}`,
		`job_duration_seconds_count{kind="sync_address",outcome="completed"}`,
		`sync_addresses{status="done"} 1`,
	} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

func item(txid string, received, sent int64, confirmed bool, height int32) string {
	return txid + " " + strconv.FormatInt(received, 10) + " " + strconv.FormatInt(sent, 10) + " " +
		strconv.FormatBool(confirmed) + " " + strconv.Itoa(int(height))
}

// allDocumented fails unless every metric family in a /metrics answer
// (but the Go runtime's and the process's) is listed in
// docs/operations.md, so the list cannot drift from the code.
func allDocumented(t *testing.T, metrics string) {
	t.Helper()
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for line := range strings.Lines(metrics) {
		name, ok := strings.CutPrefix(line, "# TYPE ")
		if !ok {
			continue
		}
		checked++
		name, _, _ = strings.Cut(name, " ")
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
			continue
		}
		if !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("docs/operations.md does not list the metric %s", name)
		}
	}
	if checked == 0 {
		t.Fatal("the /metrics answer has no metric families: nothing was checked")
	}
}
