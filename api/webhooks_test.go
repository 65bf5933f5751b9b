package api_test

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/cointracker/cointracker/api"
	"github.com/cointracker/cointracker/db/dbtest"
	"github.com/cointracker/cointracker/webhooks"
)

// receiver is an https endpoint that verifies every delivery with the
// reference Standard Webhooks library, under any of its secrets.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	secrets  []string
	verified []string // the bodies' types, verified
	refused  int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, s := range r.secrets {
			wh, err := standardwebhooks.NewWebhook(s)
			if err == nil && wh.Verify(body, req.Header) == nil {
				var m struct{ Type string }
				_ = json.Unmarshal(body, &m)
				r.verified = append(r.verified, m.Type)
				return
			}
		}
		r.refused++
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(r.Close)
	return r
}

// got is what the receiver verified, and how many it refused.
func (r *receiver) got() ([]string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.verified...), r.refused
}

func (r *receiver) trust(secret string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = []string{secret}
}

// webhookServer serves the API with a delivery client that may reach the
// test's loopback receiver and trusts its certificate.
func webhookServer(t *testing.T, rcv *receiver, perUser int32) *testServer {
	t.Helper()
	client := webhooks.NewClient(webhooks.ClientOptions{Timeout: 5 * time.Second, AllowPrivate: true})
	client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: rcv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	return newServerOpts(t, dbtest.NewPool(t, dbtest.NewURL(t)), func(o *api.Options) {
		o.Webhooks = api.WebhookOptions{PerUser: perUser, KeyGrace: time.Hour, Client: client,
			URLs: webhooks.URLRules{AllowPrivate: true}}
	})
}

func TestWebhooksCRUDAndPing(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	s := webhookServer(t, rcv, 2)
	created := s.postJSON(t, http.MethodPost, "/v1/webhooks",
		`{"url": "`+rcv.URL+`/hook", "event_types": ["transaction.confirmed", "transaction.seen", "transaction.seen"], "description": "books"}`)
	if created.status != http.StatusCreated {
		t.Fatalf("create = %d %s", created.status, created.body)
	}
	w := decode[api.WebhookWithSecret](t, created)
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(w.Secret, "whsec_"))
	if !strings.HasPrefix(w.Secret, "whsec_") || err != nil || len(key) != webhooks.KeyBytes {
		t.Fatalf("secret %q", w.Secret)
	}
	if len(w.EventTypes) != 2 || !w.Enabled || w.Description == nil {
		t.Fatalf("created %+v", w.Webhook)
	}
	id := strconv.FormatInt(w.ID, 10)
	// The secret is shown once.
	for _, path := range []string{"/v1/webhooks", "/v1/webhooks/" + id} {
		if body := string(s.get(t, path).body); strings.Contains(body, w.Secret) || strings.Contains(body, "secret\"") {
			t.Fatalf("GET %s shows the secret: %s", path, body)
		}
	}

	// A ping is signed: the reference library verifies it.
	rcv.trust(w.Secret)
	ping := decode[api.PingResult](t, s.postJSON(t, http.MethodPost, "/v1/webhooks/"+id+"/ping", ""))
	if verified, _ := rcv.got(); !ping.Delivered || ping.StatusCode == nil || *ping.StatusCode != http.StatusOK ||
		len(verified) != 1 || verified[0] != "webhook.ping" {
		t.Fatalf("ping %+v; receiver verified %v", ping, verified)
	}
	// After a rotation the new secret verifies, and the old one too during
	// its grace.
	rotated := decode[api.WebhookWithSecret](t, s.postJSON(t, http.MethodPost, "/v1/webhooks/"+id+"/secret", ""))
	if rotated.Secret == w.Secret || rotated.PreviousSecretValidUntil == nil {
		t.Fatalf("rotated %+v", rotated)
	}
	for _, secret := range []string{rotated.Secret, w.Secret} {
		rcv.trust(secret)
		if p := decode[api.PingResult](t, s.postJSON(t, http.MethodPost, "/v1/webhooks/"+id+"/ping", "")); !p.Delivered {
			t.Fatalf("ping verified with %s…: %+v", secret[:10], p)
		}
	}
	rcv.trust(webhooks.SecretString(webhooks.NewKey()))
	if p := decode[api.PingResult](t, s.postJSON(t, http.MethodPost, "/v1/webhooks/"+id+"/ping", "")); p.Delivered || p.Error == nil {
		t.Fatalf("a receiver with another secret took the ping: %+v", p)
	}

	// PATCH changes what it is given; null clears the description.
	patched := decode[api.Webhook](t, s.postJSON(t, http.MethodPatch, "/v1/webhooks/"+id, `{"enabled": false, "description": null, "event_types": []}`))
	if patched.Enabled || patched.Description != nil || len(patched.EventTypes) != 0 || patched.URL != w.URL {
		t.Fatalf("patched %+v", patched)
	}
	// The quota: two endpoints a user here.
	if r := s.postJSON(t, http.MethodPost, "/v1/webhooks", `{"url": "https://example.com/2"}`); r.status != http.StatusCreated {
		t.Fatalf("second endpoint: %d %s", r.status, r.body)
	}
	p := problem(t, s.postJSON(t, http.MethodPost, "/v1/webhooks", `{"url": "https://example.com/3"}`), http.StatusForbidden)
	if !strings.Contains(p.Detail, "WEBHOOKS_PER_USER") {
		t.Fatalf("quota problem %+v", p)
	}
	if r := s.postJSON(t, http.MethodDelete, "/v1/webhooks/"+id, ""); r.status != http.StatusNoContent {
		t.Fatalf("delete = %d", r.status)
	}
	problem(t, s.get(t, "/v1/webhooks/"+id), http.StatusNotFound)
}

// TestWebhookURLsAreRefused checks each refusal is a 400 naming url, and
// that nothing was created.
func TestWebhookURLsAreRefused(t *testing.T) {
	t.Parallel()
	s := migratedServer(t)
	for _, u := range []string{"http://example.com/h", "https://127.0.0.1/h", "https://localhost:8443/h", "https://10.0.0.7/h",
		"https://169.254.169.254/latest/meta-data", "https://[::1]/h", "https://[fd12::1]/h", "https://u:p@example.com/h", "example.com/h"} {
		p := problem(t, s.postJSON(t, http.MethodPost, "/v1/webhooks", `{"url": "`+u+`"}`), http.StatusBadRequest)
		if len(p.Errors) != 1 || p.Errors[0].Field != "url" {
			t.Errorf("%s: %+v", u, p)
		}
	}
	for _, body := range []string{`{"url": "https://example.com/h", "event_types": ["transaction.lost"]}`,
		`{"url": "https://example.com/h", "secret": "mine"}`, `{}`, `{"url": "https://example.com/h", "description": "a\u0000b"}`} {
		problem(t, s.postJSON(t, http.MethodPost, "/v1/webhooks", body), http.StatusBadRequest)
	}
	if list := decode[api.WebhookList](t, s.get(t, "/v1/webhooks")); len(list.Items) != 0 {
		t.Fatalf("refused bodies created %d endpoints", len(list.Items))
	}
}

// TestWebhookPingRefusesANameResolvingToLoopback stores an endpoint whose
// name resolves to loopback (as a DNS change after the URL was accepted
// would make it): the server's guarded client refuses to dial it.
func TestWebhookPingRefusesANameResolvingToLoopback(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	s := migratedServer(t) // the default, guarded client
	w := decode[api.WebhookWithSecret](t, s.postJSON(t, http.MethodPost, "/v1/webhooks", `{"url": "https://example.com/h"}`))
	port := rcv.URL[strings.LastIndex(rcv.URL, ":"):]
	if _, err := s.store.Pool().Exec(t.Context(), "UPDATE webhooks SET url = $1 WHERE id = $2", "https://localhost"+port+"/h", w.ID); err != nil {
		t.Fatal(err)
	}
	p := decode[api.PingResult](t, s.postJSON(t, http.MethodPost, "/v1/webhooks/"+strconv.FormatInt(w.ID, 10)+"/ping", ""))
	if p.Delivered || p.StatusCode != nil || p.Error == nil || !strings.Contains(*p.Error, "refused address") {
		t.Fatalf("ping to a loopback name: %+v", p)
	}
	if verified, refused := rcv.got(); refused+len(verified) != 0 {
		t.Fatal("the loopback receiver was reached")
	}
}

// TestWebhookDeliveriesFollowEventsAndTypes: an event written (a reorg)
// owes a delivery to each enabled endpoint whose types take it, in the
// event's own transaction; the log lists them and a retry answers as it
// should.
func TestWebhookDeliveriesFollowEventsAndTypes(t *testing.T) {
	t.Parallel()
	s := seeded(t)
	all := decode[api.WebhookWithSecret](t, s.postJSON(t, http.MethodPost, "/v1/webhooks", `{"url": "https://example.com/all"}`))
	some := decode[api.WebhookWithSecret](t, s.postJSON(t, http.MethodPost, "/v1/webhooks",
		`{"url": "https://example.com/balances", "event_types": ["balance.changed"]}`))
	off := decode[api.WebhookWithSecret](t, s.postJSON(t, http.MethodPost, "/v1/webhooks", `{"url": "https://example.com/off", "enabled": false}`))
	reorgNewest(t, s)
	feed := decode[api.EventList](t, s.get(t, "/v1/events"))
	logOf := func(id int64) []api.Delivery {
		return decode[api.DeliveryList](t, s.get(t, "/v1/webhooks/"+strconv.FormatInt(id, 10)+"/deliveries?limit=500")).Items
	}
	if got := logOf(all.ID); len(got) != len(feed.Items) || got[0].EventID != feed.Items[len(feed.Items)-1].ID || got[0].Status != "pending" {
		t.Fatalf("the all-types endpoint owes %d deliveries for %d events: %+v", len(got), len(feed.Items), got)
	}
	for _, d := range logOf(some.ID) {
		if d.EventType != "balance.changed" {
			t.Fatalf("a balance.changed endpoint owes a %s", d.EventType)
		}
	}
	if len(logOf(some.ID)) == 0 || len(logOf(off.ID)) != 0 {
		t.Fatal("the typed endpoint owes nothing, or the disabled one owes something")
	}
	d := logOf(all.ID)[0]
	path := "/v1/webhooks/" + strconv.FormatInt(all.ID, 10) + "/deliveries/" + strconv.FormatInt(d.ID, 10) + "/retry"
	if r := s.postJSON(t, http.MethodPost, path, ""); r.status != http.StatusAccepted {
		t.Fatalf("retry of a pending delivery: %d %s", r.status, r.body)
	}
	if _, err := s.store.Pool().Exec(t.Context(), "UPDATE webhook_deliveries SET status = 'succeeded' WHERE id = $1", d.ID); err != nil {
		t.Fatal(err)
	}
	problem(t, s.postJSON(t, http.MethodPost, path, ""), http.StatusConflict)
	// Another endpoint's delivery id is not found under this one.
	problem(t, s.postJSON(t, http.MethodPost, "/v1/webhooks/"+strconv.FormatInt(some.ID, 10)+"/deliveries/"+strconv.FormatInt(d.ID, 10)+"/retry", ""), http.StatusNotFound)
}
