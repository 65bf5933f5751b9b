package api

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/events"
)

// metrics holds the server's Prometheus registry and request metrics. Each
// Server has its own registry, so tests can run servers side by side.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	refused  *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry, pool *pgxpool.Pool, reads *db.Reads, hub *events.Hub) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests answered, by route template, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route template, method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_refused_total",
			Help: "Requests whose authentication failed, by reason: missing, expired, invalid, throttled (over UNAUTH_RATE_LIMIT_RPS).",
		}, []string{"reason"}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.refused,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	if pool != nil {
		m.registry.MustRegister(poolCollector{pool})
	}
	if reads != nil {
		m.registry.MustRegister(readsCollector{reads})
	}
	if hub != nil {
		m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "events_long_polls_waiting",
			Help: "Change feed long-polls (GET /v1/events?wait=) waiting for an event.",
		}, func() float64 { return float64(hub.WaitingTotal()) }))
	}
	return m
}

// instrument records every request under its route template (never the
// raw path, whose ids would make unbounded label values).
func (m *metrics) instrument() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := strconv.Itoa(c.Writer.Status())
		method := methodLabel(c.Request.Method)
		m.requests.WithLabelValues(route, method, status).Inc()
		m.duration.WithLabelValues(route, method, status).Observe(time.Since(start).Seconds())
	}
}

// MetricsHandler serves reg in the Prometheus text format. A collector
// that cannot read the database (sync_addresses during an outage) does not
// take the other metrics down with it.
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// handler serves the registry on the public listener, to a scraper that
// presents the metrics token: the figures (request rates, addresses by
// sync status) are the operator's, not the API's users'.
//
//	@Summary		Prometheus metrics
//	@Description	Only with METRICS_TOKEN set, and that token as the bearer token; otherwise the metrics are on the admin listener (ADMIN_ADDR) alone.
//	@ID				metrics
//	@Tags			operations
//	@Produce		plain
//	@Security		MetricsToken
//	@Success		200	{string}	string	"metrics in the Prometheus text format"
//	@Failure		401	{object}	Problem	"missing or wrong metrics token"
//	@Failure		404	{object}	Problem	"METRICS_TOKEN is not set: the metrics are on the admin listener alone"
//	@Router			/metrics [get]
func (m *metrics) handler(token string) gin.HandlerFunc {
	want := []byte("Bearer " + token)
	serve := MetricsHandler(m.registry)
	return func(c *gin.Context) {
		if subtle.ConstantTimeCompare([]byte(c.GetHeader("Authorization")), want) != 1 {
			c.Header("WWW-Authenticate", `Bearer realm="metrics"`)
			abortStatus(c, http.StatusUnauthorized, "the metrics need the metrics token as the bearer token")
			return
		}
		serve.ServeHTTP(c.Writer, c.Request)
	}
}

// poolCollector exposes the connection pool's statistics.
type poolCollector struct{ pool *pgxpool.Pool }

var (
	poolAcquired = prometheus.NewDesc("db_pool_acquired_connections", "Connections in use.", nil, nil)
	poolIdle     = prometheus.NewDesc("db_pool_idle_connections", "Idle connections.", nil, nil)
	poolTotal    = prometheus.NewDesc("db_pool_total_connections", "Open connections.", nil, nil)
	poolMax      = prometheus.NewDesc("db_pool_max_connections", "The pool's size limit.", nil, nil)
	poolAcquires = prometheus.NewDesc("db_pool_acquires_total", "Connections acquired.", nil, nil)
	poolWaits    = prometheus.NewDesc("db_pool_acquire_waits_total", "Acquires that had to wait for a connection.", nil, nil)
	poolWait     = prometheus.NewDesc("db_pool_acquire_duration_seconds_total", "Time spent acquiring connections.", nil, nil)
	poolCanceled = prometheus.NewDesc("db_pool_acquire_canceled_total", "Acquires canceled before a connection came.", nil, nil)
)

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolAcquired, poolIdle, poolTotal, poolMax, poolAcquires, poolWaits, poolWait, poolCanceled} {
		ch <- d
	}
}

func (p poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := p.pool.Stat()
	ch <- prometheus.MustNewConstMetric(poolAcquired, prometheus.GaugeValue, float64(s.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(poolIdle, prometheus.GaugeValue, float64(s.IdleConns()))
	ch <- prometheus.MustNewConstMetric(poolTotal, prometheus.GaugeValue, float64(s.TotalConns()))
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(poolAcquires, prometheus.CounterValue, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolWait, prometheus.CounterValue, s.AcquireDuration().Seconds())
	ch <- prometheus.MustNewConstMetric(poolCanceled, prometheus.CounterValue, float64(s.CanceledAcquireCount()))
}

// readsCollector exposes where reads go when a replica is configured.
type readsCollector struct{ reads *db.Reads }

var (
	replicaUsable = prometheus.NewDesc("db_replica_usable",
		"1 while the read replica serves reads (reachable, in recovery, within the lag bound), else 0.", nil, nil)
	replicaLag = prometheus.NewDesc("db_replica_lag_seconds",
		"The replica's replay lag at the last check (absent while it cannot be read).", nil, nil)
	readsServed = prometheus.NewDesc("db_reads_total",
		"Reads of GET requests, by where they were routed (primary or replica; a replica read that failed and ran again on the primary counts on both).", []string{"target"}, nil)
)

func (readsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- replicaUsable
	ch <- replicaLag
	ch <- readsServed
}

func (r readsCollector) Collect(ch chan<- prometheus.Metric) {
	usable := 0.0
	if r.reads.Usable() {
		usable = 1
	}
	ch <- prometheus.MustNewConstMetric(replicaUsable, prometheus.GaugeValue, usable)
	if lag := r.reads.Lag(); lag >= 0 {
		ch <- prometheus.MustNewConstMetric(replicaLag, prometheus.GaugeValue, lag.Seconds())
	}
	primary, replica := r.reads.Served()
	ch <- prometheus.MustNewConstMetric(readsServed, prometheus.CounterValue, float64(primary), "primary")
	ch <- prometheus.MustNewConstMetric(readsServed, prometheus.CounterValue, float64(replica), "replica")
}
