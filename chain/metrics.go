package chain

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the provider client's Prometheus metrics. A nil *Metrics
// records nothing.
type Metrics struct {
	duration *prometheus.HistogramVec
	retries  *prometheus.CounterVec
	rate     prometheus.Gauge
}

// NewMetrics creates the provider metrics and registers them with reg:
// chain_provider_request_duration_seconds by endpoint template and status
// (429s show as status="429", network failures as status="error") and
// chain_provider_retries_total by endpoint, and
// chain_provider_rate_limit, the request rate the process allows itself
// now (below CHAIN_RATE_LIMIT after 429s).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "chain_provider_request_duration_seconds",
			Help:    "Blockchain provider requests, by endpoint template and HTTP status (error: no response).",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"endpoint", "status"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chain_provider_retries_total",
			Help: "Blockchain provider requests retried after a 429, 5xx or timeout, by endpoint template.",
		}, []string{"endpoint"}),
	}
	m.rate = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "chain_provider_rate_limit",
		Help: "Requests per second this process allows itself at the blockchain provider: CHAIN_RATE_LIMIT, less after 429 answers.",
	})
	reg.MustRegister(m.duration, m.retries, m.rate)
	return m
}

func (m *Metrics) observe(endpoint, status string, d time.Duration) {
	if m != nil {
		m.duration.WithLabelValues(endpoint, status).Observe(d.Seconds())
	}
}

func (m *Metrics) retry(endpoint string) {
	if m != nil {
		m.retries.WithLabelValues(endpoint).Inc()
	}
}

func (m *Metrics) setRate(perSecond float64) {
	if m != nil {
		m.rate.Set(perSecond)
	}
}
