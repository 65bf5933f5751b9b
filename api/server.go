// Package api serves cointracker's HTTP API with gin. Handlers call the
// sqlc-generated queries in package db directly and answer errors as
// RFC 9457 problem details.
//
//	@title						cointracker API
//	@version					1
//	@description				Track Bitcoin addresses and extended public keys: balances and transaction history, synchronised from the chain. Amounts are integer satoshis (`*_sats`) with BTC decimal strings beside them (`*_btc`). Every GET of a list, a resource or balances answers with an ETag (Cache-Control: private, no-cache); send it back in If-None-Match and an unchanged answer is 304 Not Modified, with no body.
//	@BasePath					/
//	@securityDefinitions.apikey	BearerAuth
//	@in							header
//	@name						Authorization
//	@description				"Bearer " followed by a JWT from the identity vendor. In development (AUTH_MODE=dev) get one with `cointracker dev-token --subject user-1` and paste "Bearer <token>" here.
//	@securityDefinitions.apikey	MetricsToken
//	@in							header
//	@name						Authorization
//	@description				"Bearer " followed by METRICS_TOKEN, for GET /metrics on the API's listener.
package api

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/events"
	"github.com/cointracker/cointracker/webhooks"
)

// Options are the server's dependencies.
type Options struct {
	// Store is the database.
	Store *db.Store
	// Logger receives one line per request and every error.
	Logger *slog.Logger
	// SchemaCheck returns nil when the database schema matches the binary's
	// migrations; /readyz reports its error otherwise.
	SchemaCheck func(context.Context) error
	// Verifier checks bearer tokens on /v1.
	Verifier TokenVerifier
	// RateLimit is the sustained requests per second each user may make on
	// /v1 (0: unlimited), with bursts up to RateBurst.
	RateLimit float64
	RateBurst int
	// UnauthRateLimit is the sustained rate of failed authentications
	// (no token, a bad one) each client address may cause (0: unlimited),
	// with bursts up to UnauthRateBurst; past it, 429 without verifying.
	UnauthRateLimit float64
	UnauthRateBurst int
	// TrustedProxies are the addresses or CIDRs whose X-Forwarded-For is
	// believed for a client's address; none by default, so a client
	// cannot choose its own.
	TrustedProxies []string
	// Sync queues address synchronisations; without it POST
	// /v1/addresses/{id}/sync answers 503 and new addresses wait for the
	// periodic sweep of a worker process.
	Sync SyncQueue
	// Registry receives the server's metrics and serves /metrics; when nil
	// the server makes its own. Other parts (sync jobs, the provider
	// client) register theirs in the same one.
	Registry *prometheus.Registry
	// TracerProvider, when set, gets a span per request (queries made
	// with the request's context are its children).
	TracerProvider trace.TracerProvider
	// Reads, when set, sends the reads of GET requests to a streaming
	// replica while it is well and current, and records each user's
	// writes so their next reads see them.
	Reads *db.Reads
	// QueryTimeout bounds the database work of each /v1 request (of each
	// page of an export), so a database that stops answering costs a 503
	// after it, never a hang; 0 leaves requests unbounded.
	QueryTimeout time.Duration
	// MetricsToken, when set, serves /metrics on the API's listener to a
	// scraper presenting it as its bearer token; when empty the metrics
	// are not served there (the admin listener serves them).
	MetricsToken string
	// Quotas bound what one user may track and how often an address may be
	// synchronised on request.
	Quotas Quotas
	// CursorKey signs page cursors. Instances behind one load balancer
	// need the same key; when empty, a random one is made (cursors then
	// stop working when the process restarts).
	CursorKey []byte
	// Webhooks configure the webhook endpoints users register.
	Webhooks WebhookOptions
	// Events wakes the change feed's long-polls (GET /v1/events?wait=);
	// without it the feed answers at once.
	Events *events.Hub
}

// Server holds the API's dependencies and builds its router.
type Server struct {
	store         *db.Store
	log           *slog.Logger
	schemaCheck   func(context.Context) error
	cursors       cursorCodec
	verifier      TokenVerifier
	users         userCache
	tokens        tokenCache
	limits        rateLimits[int64]
	strangers     rateLimits[string]
	proxies       []string
	metrics       *metrics
	sync          SyncQueue
	quotas        Quotas
	exports       exportGate
	metricsToken  string
	ready         readyCache
	tracer        trace.TracerProvider
	queryTimeout  time.Duration
	reads         *db.Reads
	events        *events.Hub
	webhooks      WebhookOptions
	webhookClient *http.Client
}

// New returns a Server.
func New(opts Options) *Server {
	key := opts.CursorKey
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	srv := &Server{
		store: opts.Store, log: opts.Logger, schemaCheck: opts.SchemaCheck,
		cursors: cursorCodec{key: key}, verifier: opts.Verifier,
		limits:       rateLimits[int64]{rps: rate.Limit(opts.RateLimit), burst: max(opts.RateBurst, 1)},
		strangers:    rateLimits[string]{rps: rate.Limit(opts.UnauthRateLimit), burst: max(opts.UnauthRateBurst, 1)},
		proxies:      opts.TrustedProxies,
		metrics:      newMetrics(opts.Registry, opts.Store.Pool(), opts.Reads, opts.Events),
		sync:         opts.Sync,
		quotas:       opts.Quotas,
		metricsToken: opts.MetricsToken,
		tracer:       opts.TracerProvider,

		queryTimeout:  opts.QueryTimeout,
		reads:         opts.Reads,
		events:        opts.Events,
		webhooks:      opts.Webhooks,
		webhookClient: opts.Webhooks.Client,
	}
	if srv.webhookClient == nil {
		srv.webhookClient = webhooks.NewClient(webhooks.ClientOptions{Timeout: 10 * time.Second})
	}
	return srv
}

func init() {
	gin.SetMode(gin.ReleaseMode)
}

// Handler builds the router: operations endpoints, docs and /v1.
func (s *Server) Handler() http.Handler {
	r := gin.New()
	// Validated by the configuration; nil trusts no proxy.
	_ = r.SetTrustedProxies(s.proxies)
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.ContextWithFallback = true
	if s.tracer != nil {
		r.Use(traceRequests(s.tracer))
	}
	r.Use(requestID(), s.metrics.instrument(), accessLog(s.log), rejectUnknownMethods(), recovery(), limitBody())
	r.NoRoute(func(c *gin.Context) {
		abortStatus(c, http.StatusNotFound, "no route matches "+c.Request.URL.Path)
	})
	r.NoMethod(func(c *gin.Context) {
		abortStatus(c, http.StatusMethodNotAllowed, c.Request.Method+" is not allowed on "+c.Request.URL.Path)
	})

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	if s.metricsToken != "" {
		r.GET("/metrics", s.metrics.handler(s.metricsToken))
	}
	r.GET("/docs", func(c *gin.Context) { c.Redirect(http.StatusFound, "/docs/index.html") })
	r.GET("/docs/*any", docs())

	// Every /v1 request's database work has the query timeout as one
	// deadline, but the export's: it streams for as long as it has rows,
	// so it bounds each page itself.
	v1 := r.Group("/v1", s.bounded(), s.authenticate(), s.trackWrites())
	streamed := r.Group("/v1", s.authenticate())
	streamed.GET("/transactions/export.csv", s.exportTransactions)
	// The feed long-polls and a ping waits for the endpoint: each bounds
	// its database work itself.
	streamed.GET("/events", s.listEvents)
	streamed.POST("/webhooks/:id/ping", s.pingWebhook)
	// Every read of lists, resources and balances is conditional: ETag,
	// and 304 for a tag still current.
	read := v1.Group("", s.conditional())
	read.GET("/me", s.getMe)
	read.GET("/addresses", s.listAddresses)
	v1.POST("/addresses", s.createAddress)
	read.GET("/addresses/:id", s.getAddress)
	v1.PATCH("/addresses/:id", s.updateAddress)
	v1.DELETE("/addresses/:id", s.deleteAddress)
	read.GET("/addresses/:id/transactions", s.listAddressTransactions)
	v1.POST("/addresses/:id/sync", s.syncAddress)
	read.GET("/transactions", s.listTransactions)
	v1.POST("/xpubs", s.createXpub)
	read.GET("/xpubs", s.listXpubs)
	read.GET("/xpubs/:id", s.getXpub)
	v1.DELETE("/xpubs/:id", s.deleteXpub)
	read.GET("/balances", s.getBalances)
	read.GET("/balances/history", s.getBalanceHistory)
	// Webhook endpoints are not in the data version: their reads are
	// not conditional.
	v1.POST("/webhooks", s.createWebhook)
	v1.GET("/webhooks", s.listWebhooks)
	v1.GET("/webhooks/:id", s.getWebhook)
	v1.PATCH("/webhooks/:id", s.updateWebhook)
	v1.DELETE("/webhooks/:id", s.deleteWebhook)
	v1.POST("/webhooks/:id/secret", s.rotateWebhookSecret)
	v1.GET("/webhooks/:id/deliveries", s.listDeliveries)
	v1.POST("/webhooks/:id/deliveries/:delivery_id/retry", s.retryDelivery)
	return r
}

// NewHTTPServer wraps a handler with the timeouts a public server needs,
// so slow or idle clients cannot hold connections forever.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      5 * time.Minute, // CSV exports stream for a while.
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}
