package deliveries

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cointracker/cointracker/webhooks"
)

// Metrics count delivery attempts by outcome, time them, and show the
// backlog the dispatcher last saw.
type Metrics struct {
	attempts   *prometheus.CounterVec
	latency    prometheus.Histogram
	backlog    prometheus.Gauge
	backlogAge prometheus.Gauge
}

// NewMetrics registers the delivery metrics in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "webhook_delivery_attempts_total",
			Help: "Webhook delivery attempts by outcome: delivered (2xx), http_error (another status), refused (a private address), network (no answer)."},
			[]string{"outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "webhook_delivery_duration_seconds",
			Help: "Time from sending a delivery to the endpoint's answer.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 10)}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{Name: "webhook_deliveries_due",
			Help: "Deliveries due now (their next attempt has come), at the last dispatch."}),
		backlogAge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "webhook_backlog_age_seconds",
			Help: "How long the longest-waiting due delivery has waited, at the last dispatch."}),
	}
	reg.MustRegister(m.attempts, m.latency, m.backlog, m.backlogAge)
	for _, o := range []string{"delivered", "http_error", "refused", "network"} {
		m.attempts.WithLabelValues(o)
	}
	return m
}

// observe counts one attempt (m may be nil).
func (m *Metrics) observe(r webhooks.Result) {
	if m == nil {
		return
	}
	switch {
	case r.OK():
		m.attempts.WithLabelValues("delivered").Inc()
	case r.Status != 0:
		m.attempts.WithLabelValues("http_error").Inc()
	case errors.Is(r.Err, webhooks.ErrRefusedAddress):
		m.attempts.WithLabelValues("refused").Inc()
	default:
		m.attempts.WithLabelValues("network").Inc()
	}
	if r.Status != 0 {
		m.latency.Observe(r.Latency.Seconds())
	}
}
