package chainsync

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/cointracker/cointracker/db"
)

// JobMetrics count and time the jobs this process works (a river worker
// middleware) and report addresses by sync status at scrape time.
type JobMetrics struct {
	river.MiddlewareDefaults
	running  *prometheus.GaugeVec
	duration *prometheus.HistogramVec
}

// NewJobMetrics registers job_running, job_duration_seconds (by kind and
// outcome: completed, failed) and sync_addresses (by status: queued,
// running, done, partial, failed, new) with reg.
func NewJobMetrics(reg prometheus.Registerer, store *db.Store) *JobMetrics {
	m := &JobMetrics{
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "job_running",
			Help: "Jobs this process is working, by kind.",
		}, []string{"kind"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "job_duration_seconds",
			Help:    "Time to work a job, by kind and outcome (completed, failed).",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"kind", "outcome"}),
	}
	reg.MustRegister(m.running, m.duration, &syncStatusCollector{store: store})
	return m
}

// Work times one job.
func (m *JobMetrics) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	g := m.running.WithLabelValues(job.Kind)
	g.Inc()
	defer g.Dec()
	start := time.Now()
	err := doInner(ctx)
	outcome := "completed"
	if err != nil {
		outcome = "failed"
	}
	m.duration.WithLabelValues(job.Kind, outcome).Observe(time.Since(start).Seconds())
	return err
}

// syncStatusCollector reads the count of addresses per sync status:
// queued and failed syncs are visible whichever process queued or worked
// them. The GROUP BY reads every sync state, so its answer is reused for
// syncStatusFor: scrapes, however frequent, cost one query in that time.
type syncStatusCollector struct {
	store *db.Store
	mu    sync.Mutex
	at    time.Time
	rows  []db.SyncStatusCountsRow
}

// syncStatusFor is how long a count is reused.
const syncStatusFor = 15 * time.Second

var syncAddressesDesc = prometheus.NewDesc("sync_addresses",
	"Addresses by synchronisation status (queued, running, done, partial, failed, new), counted at most every 15 s.", []string{"status"}, nil)

func (c *syncStatusCollector) Describe(ch chan<- *prometheus.Desc) { ch <- syncAddressesDesc }

func (c *syncStatusCollector) Collect(ch chan<- prometheus.Metric) {
	rows, err := c.counts()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(syncAddressesDesc, err)
		return
	}
	for _, r := range rows {
		ch <- prometheus.MustNewConstMetric(syncAddressesDesc, prometheus.GaugeValue, float64(r.Addresses), r.Status)
	}
}

// counts returns the last count younger than syncStatusFor, or a new one.
func (c *syncStatusCollector) counts() ([]db.SyncStatusCountsRow, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rows != nil && time.Since(c.at) < syncStatusFor {
		return c.rows, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rows, err := c.store.SyncStatusCounts(ctx)
	if err != nil {
		return nil, err
	}
	c.rows, c.at = rows, time.Now()
	return rows, nil
}
