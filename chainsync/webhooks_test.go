package chainsync_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/cointracker/cointracker/api"
	"github.com/cointracker/cointracker/chain/chaintest"
	"github.com/cointracker/cointracker/deliveries"
	"github.com/cointracker/cointracker/webhooks"
)

// flakyReceiver is an https endpoint that refuses its first failures
// requests (503), then verifies each delivery's signature with the
// reference Standard Webhooks library and records it.
type flakyReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	secret   string
	failures int
	attempts int
	got      []delivered
}

type delivered struct {
	id   string // webhook-id
	line string // as the feed test writes an event
}

func newFlakyReceiver(t *testing.T, failures int) *flakyReceiver {
	r := &flakyReceiver{failures: failures}
	r.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.attempts++
		if r.attempts <= r.failures {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		wh, err := standardwebhooks.NewWebhook(r.secret)
		if err != nil || wh.Verify(body, req.Header) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var m struct {
			Type string
			Data api.Event
		}
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&m); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.got = append(r.got, delivered{id: req.Header.Get("webhook-id"), line: eventLine(m.Data)})
	}))
	t.Cleanup(r.Close)
	return r
}

// register makes the receiver the test user's webhook endpoint and
// trusts the secret the API gave.
func (r *flakyReceiver) register(t *testing.T, e *env) api.WebhookWithSecret {
	t.Helper()
	res := postJSON(t, e, "/v1/webhooks", `{"url": "`+r.URL+`/hook"}`)
	var hook api.WebhookWithSecret
	if err := json.Unmarshal(res, &hook); err != nil || !strings.HasPrefix(hook.Secret, "whsec_") {
		t.Fatalf("register: %s (%v)", res, err)
	}
	r.mu.Lock()
	r.secret = hook.Secret
	r.mu.Unlock()
	return hook
}

func (r *flakyReceiver) deliveries() []delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// startDeliveries runs a river client working only webhook deliveries,
// on a fast retry schedule, and returns its stop function.
func startDeliveries(t *testing.T, e *env, rcv *flakyReceiver, tune ...func(*deliveries.Options)) func() {
	t.Helper()
	client := webhooks.NewClient(webhooks.ClientOptions{Timeout: 5 * time.Second, AllowPrivate: true})
	client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: rcv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	o := deliveries.Options{Client: client, DispatchEvery: 50 * time.Millisecond,
		Schedule: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}}
	for _, f := range tune {
		f(&o)
	}
	d := deliveries.New(e.store, o)
	workers := river.NewWorkers()
	periodic := d.Register(workers)
	rc, err := river.NewClient(riverpgxv5.New(e.store.Pool()), &river.Config{
		Logger: slog.New(slog.DiscardHandler), Workers: workers, PeriodicJobs: []*river.PeriodicJob{periodic},
		Queues:        map[string]river.QueueConfig{deliveries.Queue: {MaxWorkers: 2}},
		FetchCooldown: 20 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = rc.Stop(ctx)
		}
	}
	t.Cleanup(stop)
	return stop
}

// drained waits until no delivery is pending.
func drained(t *testing.T, e *env) {
	t.Helper()
	for range 300 {
		var pending int
		if err := e.store.Pool().QueryRow(context.Background(),
			"SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'").Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	// What the deliveries and jobs say, for the failure's reader.
	for _, q := range []string{
		"SELECT concat_ws(' ', id, status, attempts, next_attempt_at, last_error) FROM webhook_deliveries ORDER BY id",
		"SELECT concat_ws(' ', kind, state, attempt, left(errors::text, 300)) FROM river_job ORDER BY id DESC LIMIT 10",
	} {
		rows, err := e.store.Pool().Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			_ = rows.Scan(&line)
			t.Log(line)
		}
		rows.Close()
	}
	t.Fatal("deliveries still pending after 30 s")
}

// TestWebhooksDeliverAPaymentsLife registers an endpoint that fails its
// first three attempts, runs a payment's life through the sync (seen,
// confirmed, reorged, confirmed again, then an RBF replacement and a drop)
// with the delivery workers restarted midway, and checks the endpoint verified
// every event of the feed, in order, each under one webhook-id (a repeat
// only ever with the same id).
func TestWebhooksDeliverAPaymentsLife(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newFlakyReceiver(t, 3)
	hook := rcv.register(t, e)
	stop := startDeliveries(t, e, rcv)

	e.fake.History(alice, 4, 2)
	id := e.track(t, alice)
	e.sync(t, id)
	pay := e.fake.Send([]chaintest.In{{Address: "bc1qpayer", Value: 60_000}}, []chaintest.Out{{Address: alice, Value: 50_000}})
	e.sync(t, id)
	// The workers stop (a restart) with deliveries owed; new ones finish.
	stop()
	e.fake.Mine(pay)
	e.sync(t, id)
	e.fake.Reorg(1)
	e.fake.Mine()
	e.fake.Mine()
	if _, err := e.syncer.CheckTip(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-e.queued
	e.sync(t, id)
	startDeliveries(t, e, rcv)
	// An RBF replacement and a drop, delivered while the workers run.
	rbf := e.fake.Send([]chaintest.In{{Address: alice, Value: 40_000}}, []chaintest.Out{{Address: "bc1qshop", Value: 35_000}})
	expired := e.fake.Send([]chaintest.In{{Address: "bc1qsomeone", Value: 5_000}}, []chaintest.Out{{Address: alice, Value: 4_000}})
	e.sync(t, id)
	e.fake.Mine(e.fake.Replace(rbf, []chaintest.Out{{Address: "bc1qshop", Value: 30_000}}))
	e.fake.Drop(expired)
	e.age(t, expired, time.Hour)
	e.sync(t, id)
	drained(t, e)

	feed, _ := e.feed(t, 0)
	var ids []string
	var lines []string
	for _, d := range rcv.deliveries() {
		if i := slices.Index(ids, d.id); i >= 0 {
			if lines[i] != d.line {
				t.Fatalf("webhook-id %s delivered twice with different events", d.id)
			}
			continue
		}
		ids, lines = append(ids, d.id), append(lines, d.line)
	}
	for _, want := range []string{"transaction.replaced " + rbf[:8], "transaction.dropped " + expired[:8], "transaction.reorged " + pay[:8]} {
		if !slices.Contains(feed, want) {
			t.Fatalf("the feed lacks %q: %v", want, feed)
		}
	}
	if !slices.Equal(lines, feed) {
		t.Fatalf("delivered\n%s\nwant the feed\n%s", strings.Join(lines, "\n"), strings.Join(feed, "\n"))
	}
	// The first delivery took four attempts; the log says so.
	log := getJSON[api.DeliveryList](t, e, "/v1/webhooks/"+itoa(hook.ID)+"/deliveries?limit=500")
	first := log.Items[len(log.Items)-1]
	if first.Status != "succeeded" || first.Attempts != 4 || first.LastStatusCode == nil || *first.LastStatusCode != 200 {
		t.Fatalf("the first delivery's log: %+v", first)
	}
}

// TestWebhookFailingForTooLongIsDisabled: an endpoint that never takes a
// delivery is disabled once it has failed for DisableAfter, saying why,
// and its deliveries wait; enabling it again delivers them.
func TestWebhookFailingForTooLongIsDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newFlakyReceiver(t, 1_000_000)
	hook := rcv.register(t, e)
	startDeliveries(t, e, rcv, func(o *deliveries.Options) { o.DisableAfter = time.Millisecond })
	e.fake.History(alice, 2, 1)
	id := e.track(t, alice)
	e.sync(t, id)
	var got api.Webhook
	for range 100 {
		got = getJSON[api.Webhook](t, e, "/v1/webhooks/"+itoa(hook.ID))
		if !got.Enabled {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got.Enabled || got.DisabledReason == nil || !strings.Contains(*got.DisabledReason, "503") {
		t.Fatalf("an endpoint failing for longer than DisableAfter: %+v", got)
	}
	log := getJSON[api.DeliveryList](t, e, "/v1/webhooks/"+itoa(hook.ID)+"/deliveries")
	if len(log.Items) != 1 || log.Items[0].Status != "pending" || log.Items[0].Attempts != 1 ||
		log.Items[0].LastStatusCode == nil || *log.Items[0].LastStatusCode != http.StatusServiceUnavailable {
		t.Fatalf("the disabled endpoint's log: %+v", log.Items)
	}
	// Enabled again (and answering), it gets what waited.
	rcv.mu.Lock()
	rcv.failures = 0
	rcv.mu.Unlock()
	patchJSON(t, e, "/v1/webhooks/"+itoa(hook.ID), `{"enabled": true}`)
	postJSON(t, e, "/v1/webhooks/"+itoa(hook.ID)+"/deliveries/"+itoa(log.Items[0].ID)+"/retry", "")
	drained(t, e)
	if d := rcv.deliveries(); len(d) != 1 || d[0].line != "address.synced done" {
		t.Fatalf("after enabling: %+v", d)
	}
}

// TestIdleWebhookIsNotDisabledByOneFailure: an endpoint registered long
// ago that fails its first delivery has not been failing for long.
func TestIdleWebhookIsNotDisabledByOneFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newFlakyReceiver(t, 1_000_000)
	hook := rcv.register(t, e)
	if _, err := e.store.Pool().Exec(context.Background(),
		"UPDATE webhooks SET created_at = now() - interval '30 days' WHERE id = $1", hook.ID); err != nil {
		t.Fatal(err)
	}
	startDeliveries(t, e, rcv, func(o *deliveries.Options) {
		o.DisableAfter = time.Hour
		o.Schedule = []time.Duration{time.Hour}
	})
	e.fake.History(alice, 2, 1)
	e.sync(t, e.track(t, alice))
	// Until the lane job that made the attempt has finished (the disable
	// would come in it, after the attempt is recorded).
	for range 200 {
		var done bool
		if err := e.store.Pool().QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM river_job
			WHERE kind = 'webhook_lane' AND state = 'completed')`).Scan(&done); err != nil {
			t.Fatal(err)
		}
		if done {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if log := getJSON[api.DeliveryList](t, e, "/v1/webhooks/"+itoa(hook.ID)+"/deliveries"); len(log.Items) != 1 || log.Items[0].Attempts != 1 {
		t.Fatalf("deliveries %+v, want one attempted once", log.Items)
	}
	if got := getJSON[api.Webhook](t, e, "/v1/webhooks/"+itoa(hook.ID)); !got.Enabled || got.DisabledReason != nil {
		t.Fatalf("an idle endpoint disabled by its first failure: %+v", got)
	}
}
