package api_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"

	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cointracker/cointracker/api"
	"github.com/cointracker/cointracker/auth"
	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
	"github.com/cointracker/cointracker/events"
	"github.com/cointracker/cointracker/logging"
	"github.com/cointracker/cointracker/migrations"
)

var ctx = context.Background()

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testServer struct {
	*httptest.Server
	store  *db.Store
	logs   *syncBuffer
	router *gin.Engine
	// token is user-1's: requests carry it unless they set Authorization.
	token string
}

// testKey plays the dev signing key: tokens are verified for real.
var testKey = func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}()

// tokenFor signs a dev token for subject.
func tokenFor(t testing.TB, subject string) string {
	t.Helper()
	tok, err := auth.DevToken(testKey, subject, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// newServer runs the real router on a real HTTP server over the pool,
// verifying dev tokens signed with testKey.
func newServer(t testing.TB, pool *pgxpool.Pool) *testServer {
	t.Helper()
	return newServerWith(t, pool, auth.NewStatic(auth.DevIssuer, auth.DevAudience, testKey.Public()), 0)
}

// newServerWith runs the real router with a given token verifier and
// per-user rate limit.
func newServerWith(t testing.TB, pool *pgxpool.Pool, verifier api.TokenVerifier, rateLimit float64) *testServer {
	t.Helper()
	return newServerOpts(t, pool, func(o *api.Options) { o.Verifier, o.RateLimit = verifier, rateLimit })
}

// newServerOpts serves the API over pool with the test defaults, changed
// by edit.
func newServerOpts(t testing.TB, pool *pgxpool.Pool, edit func(*api.Options)) *testServer {
	t.Helper()
	m, err := migrations.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	logs := &syncBuffer{}
	store := db.NewStore(pool)
	opts := api.Options{
		Store:       store,
		Logger:      logging.New(logs, "debug", "json"),
		SchemaCheck: m.Check,
		Verifier:    auth.NewStatic(auth.DevIssuer, auth.DevAudience, testKey.Public()),
		RateBurst:   3,
		// MetricsToken serves /metrics on the API's listener (testServer.metrics).
		MetricsToken: testMetricsToken,
		Events:       events.NewHub(pool, logging.New(logs, "debug", "json")),
		Quotas:       api.Quotas{EventLongPolls: 2},
	}
	hubCtx, stopHub := context.WithCancel(context.Background())
	go opts.Events.Run(hubCtx)
	t.Cleanup(stopHub)
	edit(&opts)
	h := api.New(opts).Handler()
	srv := httptest.NewServer(withContract(t, h))
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, store: store, logs: logs, router: h.(*gin.Engine), token: tokenFor(t, "user-1")}
}

func migratedServer(t testing.TB) *testServer {
	t.Helper()
	return newServer(t, dbtest.NewPool(t, dbtest.NewURL(t)))
}

// downServer's database refuses connections.
func downServer(t *testing.T) *testServer {
	t.Helper()
	pool, err := pgxpool.New(ctx, "postgres://nobody:secret@127.0.0.1:1/none?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return newServer(t, pool)
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (s *testServer) do(t *testing.T, method, path string, body io.Reader, header ...string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// testMetricsToken is the scraper's token the test servers take.
const testMetricsToken = "metrics-token-for-the-tests-0123456789"

// metrics scrapes /metrics as Prometheus would, with the metrics token.
func (s *testServer) metrics(t *testing.T) response {
	t.Helper()
	return s.do(t, http.MethodGet, "/metrics", nil, "Authorization", "Bearer "+testMetricsToken)
}

func (s *testServer) get(t *testing.T, path string) response {
	t.Helper()
	return s.do(t, http.MethodGet, path, nil)
}

// problem checks that r is an RFC 9457 body with the given status.
func problem(t *testing.T, r response, status int) api.Problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	var p api.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem body: %v: %s", err, r.body)
	}
	if p.Status != status || p.Title == "" || p.Type == "" || p.Detail == "" {
		t.Fatalf("incomplete problem: %+v", p)
	}
	if p.Instance == "" || p.Instance != r.header.Get("X-Request-ID") {
		t.Fatalf("problem instance %q does not match X-Request-ID %q", p.Instance, r.header.Get("X-Request-ID"))
	}
	return p
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, r.body)
	}
	return v
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()

	t.Run("ready", func(t *testing.T) {
		t.Parallel()
		s := migratedServer(t)
		if r := s.get(t, "/healthz"); r.status != http.StatusOK {
			t.Fatalf("healthz = %d", r.status)
		}
		r := s.get(t, "/readyz")
		h := decode[api.Health](t, r)
		if r.status != http.StatusOK || h.Status != "ok" || h.Checks["migrations"] != "ok" {
			t.Fatalf("readyz = %d %+v", r.status, h)
		}
	})

	t.Run("database down", func(t *testing.T) {
		t.Parallel()
		s := downServer(t)
		if r := s.get(t, "/healthz"); r.status != http.StatusOK {
			t.Fatalf("healthz while the database is down = %d, want 200", r.status)
		}
		r := s.get(t, "/readyz")
		h := decode[api.Health](t, r)
		if r.status != http.StatusServiceUnavailable || h.Checks["database"] != "unreachable" || r.header.Get("Retry-After") == "" {
			t.Fatalf("readyz while the database is down = %d %+v", r.status, h)
		}
		if strings.Contains(string(r.body), "secret") {
			t.Fatal("readyz leaks the database password")
		}
	})

	t.Run("migrations pending", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, dbtest.NewPool(t, dbtest.NewEmptyURL(t)))
		r := s.get(t, "/readyz")
		h := decode[api.Health](t, r)
		if r.status != http.StatusServiceUnavailable || h.Checks["database"] != "ok" || !strings.Contains(h.Checks["migrations"], "migrate up") {
			t.Fatalf("readyz on an unmigrated database = %d %+v", r.status, h)
		}
	})
}

func TestDocs(t *testing.T) {
	t.Parallel()
	s := migratedServer(t)
	r := s.get(t, "/docs/index.html")
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "swagger-ui") {
		t.Fatalf("docs page = %d", r.status)
	}
	if r := s.get(t, "/docs"); r.status != http.StatusOK {
		t.Fatalf("/docs (redirected) = %d", r.status)
	}
	// The UI reads the OpenAPI 3 description, served as committed.
	if r := s.get(t, "/docs/swagger-initializer.js"); !strings.Contains(string(r.body), `url: "openapi.json"`) {
		t.Fatal("the Swagger UI does not read openapi.json")
	}
	r = s.get(t, "/docs/openapi.json")
	if committed, err := os.ReadFile("openapi.json"); err != nil || !bytes.Equal(r.body, committed) {
		t.Fatalf("/docs/openapi.json = %d, not api/openapi.json (%v)", r.status, err)
	}
	if _, err := openapi3.NewLoader().LoadFromData(r.body); err != nil {
		t.Fatalf("/docs/openapi.json: %v", err)
	}

	r = s.get(t, "/docs/doc.json")
	var hostKey map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &hostKey); err != nil {
		t.Fatalf("doc.json: %v", err)
	}
	if _, ok := hostKey["host"]; ok {
		t.Fatal(`doc.json has a host key; Swagger 2.0 allows a valid host or none, and "" is neither`)
	}
	var doc struct {
		Host     string                                `json:"host"`
		Paths    map[string]map[string]json.RawMessage `json:"paths"`
		Security map[string]json.RawMessage            `json:"securityDefinitions"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("doc.json: %v", err)
	}
	if doc.Host != "" {
		t.Fatalf("doc.json fixes host %q; the UI must call whichever origin served it", doc.Host)
	}
	if _, ok := doc.Security["BearerAuth"]; !ok {
		t.Fatal("doc.json has no BearerAuth security scheme")
	}

	// Every route is documented, and every documented operation is routed.
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	routed := map[string]bool{}
	for _, rt := range s.router.Routes() {
		if strings.HasPrefix(rt.Path, "/docs") {
			continue
		}
		key := rt.Method + " " + swaggerPath(rt.Path)
		routed[key] = true
		if !documented[key] {
			t.Errorf("route %s has no swagger annotation", key)
		}
	}
	for key := range documented {
		if !routed[key] {
			t.Errorf("swagger documents %s, which no route serves", key)
		}
	}
}

// swaggerPath turns gin's /v1/addresses/:id into swagger's /v1/addresses/{id}.
func swaggerPath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if strings.HasPrefix(part, ":") {
			parts[i] = "{" + part[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func TestErrorsAreProblems(t *testing.T) {
	t.Parallel()
	s := migratedServer(t)
	problem(t, s.get(t, "/nope"), http.StatusNotFound)
	problem(t, s.get(t, "/v1/nope"), http.StatusNotFound)
	problem(t, s.do(t, http.MethodDelete, "/healthz", nil), http.StatusMethodNotAllowed)
	problem(t, s.do(t, http.MethodPut, "/v1/addresses", nil), http.StatusMethodNotAllowed)
	big := bytes.NewReader(make([]byte, 2<<20))
	problem(t, s.do(t, http.MethodGet, "/v1/addresses", big), http.StatusRequestEntityTooLarge)
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	s := migratedServer(t)
	r := s.do(t, http.MethodGet, "/healthz", nil, "X-Request-ID", "abc-123")
	if got := r.header.Get("X-Request-ID"); got != "abc-123" {
		t.Fatalf("X-Request-ID = %q, want the caller's abc-123", got)
	}
	r = s.do(t, http.MethodGet, "/healthz", nil, "X-Request-ID", "bad id \"{}")
	if got := r.header.Get("X-Request-ID"); got == "" || strings.ContainsAny(got, " \"{") {
		t.Fatalf("unsafe caller id was kept: %q", got)
	}
	var line struct {
		RequestID string `json:"request_id"`
		Route     string `json:"route"`
		Status    int    `json:"status"`
	}
	found := false
	for l := range strings.SplitSeq(s.logs.String(), "\n") {
		if json.Unmarshal([]byte(l), &line) == nil && line.RequestID == "abc-123" {
			found = line.Route == "/healthz" && line.Status == 200
		}
	}
	if !found {
		t.Fatalf("no access log line with the request id:\n%s", s.logs.String())
	}
}

// seedAddresses gives the development user n tracked addresses, each with
// a confirmed receive of 1000×(i+1) sats.
func seedAddresses(t testing.TB, s *testServer, n int) {
	t.Helper()
	u, err := s.store.UserUpsert(ctx, db.UserUpsertParams{Issuer: auth.DevIssuer, Subject: "user-1"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		addressID, _ := dbtest.Track(t, s.store, db.Watch{UserID: u.ID, Network: "mainnet",
			Address: fmt.Sprintf("1BvBMSEYstWetqTFn5Au4m4GFg7xJaN%03d", i), ScriptType: "p2pkh"})
		txid := bytes.Repeat([]byte{byte(i + 1)}, 32)
		rows, err := s.store.TransactionsUpsert(ctx, db.TransactionsUpsertParams{
			Networks: []string{"mainnet"}, Txids: [][]byte{txid}, Statuses: []string{"confirmed"},
			BlockHeights: []int32{800_000}, BlockHashes: [][]byte{txid}, BlockTimes: []time.Time{time.Now()},
			FeesSats: []int64{500}, Vsizes: []int32{140}, FirstSeens: []time.Time{time.Now()},
		})
		if err != nil {
			t.Fatal(err)
		}
		err = s.store.LedgerEntriesUpsert(ctx, db.LedgerEntriesUpsertParams{
			AddressIds: []int64{addressID}, TransactionIds: []int64{rows[0].ID},
			ReceivedSats: []int64{int64(1000 * (i + 1))}, SentSats: []int64{0}, FeeShareSats: []int64{0},
		})
		if err != nil {
			t.Fatal(err)
		}
		// The sync finishing (as the fixtures record it) shows the entry's
		// history (migration 00016).
		if err := s.store.SyncStatesMarkDone(ctx, db.SyncStatesMarkDoneParams{AddressIds: []int64{addressID},
			Height: 800_000, FinishedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestListAddresses(t *testing.T) {
	t.Parallel()
	s := migratedServer(t)

	empty := s.get(t, "/v1/addresses")
	if empty.status != http.StatusOK || string(empty.body) != `{"items":[],"next_cursor":null}` {
		t.Fatalf("empty list = %d %s", empty.status, empty.body)
	}

	seedAddresses(t, s, 5)
	var all []api.Address
	path := "/v1/addresses?limit=2"
	pages := 0
	for {
		r := s.get(t, path)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, r.status, r.body)
		}
		page := decode[api.AddressList](t, r)
		all = append(all, page.Items...)
		pages++
		if page.NextCursor == nil {
			break
		}
		path = "/v1/addresses?limit=2&cursor=" + *page.NextCursor
	}
	if len(all) != 5 || pages != 3 {
		t.Fatalf("paged %d addresses over %d pages, want 5 over 3", len(all), pages)
	}
	for i, a := range all {
		want := int64(1000 * (i + 1))
		if a.Balance.ConfirmedSats != want || a.Balance.TxCount != 1 || a.Sync.Status != "done" {
			t.Fatalf("address %d = %+v, want %d confirmed sats", i, a, want)
		}
		if a.Balance.ConfirmedBTC != fmt.Sprintf("0.0000%d000", i+1) {
			t.Fatalf("confirmed_btc = %q", a.Balance.ConfirmedBTC)
		}
		if i > 0 && a.ID <= all[i-1].ID {
			t.Fatal("addresses out of order")
		}
	}
}

func TestListAddressesBadInput(t *testing.T) {
	t.Parallel()
	s := migratedServer(t)
	cases := []struct {
		query string
		field string
	}{
		{"limit=0", "limit"},
		{"limit=501", "limit"},
		{"limit=ten", "limit"},
		{"limit=1&limit=2", "limit"},
		{"cursor=%%%", "query"},
		{"cursor=bm90IGpzb24", "cursor"},
		{"colour=red", "colour"},
	}
	for _, c := range cases {
		r := s.get(t, "/v1/addresses?"+c.query)
		p := problem(t, r, http.StatusBadRequest)
		if len(p.Errors) == 0 || p.Errors[0].Field != c.field {
			t.Errorf("?%s: errors = %+v, want one naming %s", c.query, p.Errors, c.field)
		}
	}
}

func TestDatabaseDownIs503(t *testing.T) {
	t.Parallel()
	s := downServer(t)
	r := s.get(t, "/v1/addresses")
	problem(t, r, http.StatusServiceUnavailable)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	if strings.Contains(string(r.body), "secret") || strings.Contains(s.logs.String(), "secret") {
		t.Fatal("the database password leaked into the response or logs")
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	s := migratedServer(t)
	seedAddresses(t, s, 2)
	first := decode[api.AddressList](t, s.get(t, "/v1/addresses"))
	s.get(t, "/v1/addresses/"+strconv.FormatInt(first.Items[0].ID, 10))
	s.get(t, "/v1/addresses/987654")
	s.get(t, "/nowhere/123")
	r := s.metrics(t)
	body := string(r.body)
	if r.status != http.StatusOK {
		t.Fatalf("metrics = %d", r.status)
	}
	for _, want := range []string{
		`http_requests_total{method="GET",route="/v1/addresses",status="200"} 1`,
		`http_requests_total{method="GET",route="/v1/addresses/:id",status="200"} 1`,
		`http_requests_total{method="GET",route="/v1/addresses/:id",status="404"} 1`,
		`http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`http_request_duration_seconds_bucket{method="GET",route="/v1/addresses",status="200",le="+Inf"} 1`,
		"db_pool_acquires_total", "db_pool_max_connections", "go_goroutines", "go_build_info",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "987654") || strings.Contains(body, "nowhere") {
		t.Error("raw paths leaked into metric labels")
	}
}

// TestOperationalEndpointsArePrivateAndCheap scrapes /metrics and floods
// /readyz as a stranger would: without the metrics token /metrics is a
// 401 (and a 404 on a server configured without one), and a hundred
// /readyz requests cost the database one check.
func TestOperationalEndpointsArePrivateAndCheap(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t, dbtest.NewURL(t))
	s := newServer(t, pool)
	for _, auth := range []string{"", "Bearer " + s.token, "Bearer " + testMetricsToken + "x"} {
		problem(t, s.do(t, http.MethodGet, "/metrics", nil, "Authorization", auth), http.StatusUnauthorized)
	}
	if r := s.metrics(t); r.status != http.StatusOK {
		t.Fatalf("/metrics with the token = %d", r.status)
	}
	off := newServerOpts(t, pool, func(o *api.Options) { o.MetricsToken = "" })
	problem(t, off.do(t, http.MethodGet, "/metrics", nil, "Authorization", "Bearer "+testMetricsToken), http.StatusNotFound)

	transactions := func() int64 {
		var n int64
		if err := pool.QueryRow(ctx, `SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := transactions()
	for range 100 {
		if r := s.get(t, "/readyz"); r.status != http.StatusOK {
			t.Fatalf("/readyz = %d", r.status)
		}
	}
	// The count is statistics, sent when a backend's transaction ends (at
	// most every 500 ms): wait for them to settle.
	time.Sleep(time.Second)
	if got := transactions() - before; got > 20 {
		t.Fatalf("100 /readyz requests ran %d database transactions, want a few (one check a second)", got)
	}
}

// grepLines returns text's lines that contain s.
func grepLines(text, s string) string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestMadeUpMethodsAreBounded sends requests with methods Go's server
// accepts but HTTP does not define: each is answered 501 before any work,
// without echoing the method, and counted under method="OTHER", so they
// add no metric series and no log field of their own.
func TestMadeUpMethodsAreBounded(t *testing.T) {
	t.Parallel()
	s := migratedServer(t)
	for i := range 50 {
		method := "X" + strings.Repeat("Y", 1000) + strconv.Itoa(i)
		r := s.do(t, method, "/v1/addresses", nil)
		if r.status != http.StatusNotImplemented || strings.Contains(string(r.body), method) {
			t.Fatalf("%d-byte method: %d %s", len(method), r.status, r.body)
		}
	}
	body := string(s.metrics(t).body)
	if !strings.Contains(body, `http_requests_total{method="OTHER",route="unmatched",status="501"} 50`) {
		t.Errorf("metrics lack http_requests_total{method=\"OTHER\",...} 50:\n%s", grepLines(body, "http_requests_total"))
	}
	if strings.Contains(body, "YYYY") || strings.Contains(s.logs.String(), "YYYY") {
		t.Error("a made-up method reached a metric label or a log line")
	}
}
