// Package deliveries sends the events owed to webhook endpoints (rows of
// webhook_deliveries, written with each event: migration 00030) as river
// jobs. A periodic dispatch job queues one lane job per (endpoint, entry)
// with a delivery due; a lane job sends that lane's deliveries oldest
// first, so an address's events reach an endpoint in order, and stops at
// the first failure, which waits out its backoff while the lane waits
// behind it. Each attempt is recorded (the delivery log); a delivery that
// fails through the whole schedule (about a day) is marked failed, and an
// endpoint with no success for DisableAfter is disabled with the reason.
// Delivery is at least once: a retry resends the same body under the same
// webhook-id.
package deliveries

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/cointracker/cointracker/api"
	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/webhooks"
)

// DefaultSchedule is the wait after each failed attempt (the Standard
// Webhooks specification's suggestion, which Svix uses): 5 s, 5 min,
// 30 min, 2 h, 5 h, 10 h, 10 h — eight attempts over about 28 hours.
var DefaultSchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

// Options shape delivery.
type Options struct {
	Client *http.Client
	// Schedule is the wait after each failed attempt; after the last, the
	// delivery has failed (DefaultSchedule when nil).
	Schedule []time.Duration
	// DisableAfter disables an endpoint that has taken no delivery for
	// this long while one fails (default 5 days).
	DisableAfter time.Duration
	// DispatchEvery is how often due lanes are queued (default 5 s).
	DispatchEvery time.Duration
	Metrics       *Metrics
	Log           *slog.Logger
}

// Deliverer holds what the jobs need.
type Deliverer struct {
	store *db.Store
	o     Options
}

// New returns a deliverer over store.
func New(store *db.Store, o Options) *Deliverer {
	if o.Schedule == nil {
		o.Schedule = DefaultSchedule
	}
	if o.DisableAfter <= 0 {
		o.DisableAfter = 5 * 24 * time.Hour
	}
	if o.DispatchEvery <= 0 {
		o.DispatchEvery = 5 * time.Second
	}
	if o.Client == nil {
		o.Client = webhooks.NewClient(webhooks.ClientOptions{Timeout: 10 * time.Second})
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Deliverer{store: store, o: o}
}

// Queue is the river queue the lane jobs run on, apart from the syncs so
// a slow endpoint never holds up a sync worker.
const Queue = "webhooks"

// Register adds the delivery workers to workers and returns the periodic
// dispatch job.
func (d *Deliverer) Register(workers *river.Workers) *river.PeriodicJob {
	river.AddWorker(workers, &laneWorker{d: d})
	river.AddWorker(workers, &dispatchWorker{d: d})
	return river.NewPeriodicJob(river.PeriodicInterval(d.o.DispatchEvery),
		func() (river.JobArgs, *river.InsertOpts) { return DispatchArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})
}

// LaneArgs is the job that delivers one lane.
type LaneArgs struct {
	WebhookID int64 `json:"webhook_id"`
	EntryID   int64 `json:"entry_id"`
}

// Kind names the job on the queue.
func (LaneArgs) Kind() string { return "webhook_lane" }

// InsertOpts keeps one job per lane while it waits or runs.
func (LaneArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates}}
}

// DispatchArgs is the periodic job that queues the due lanes.
type DispatchArgs struct{}

// Kind names the job on the queue.
func (DispatchArgs) Kind() string { return "webhook_dispatch" }

// InsertOpts runs the dispatch on the deliveries' queue, one at a time.
func (DispatchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByState: uniqueStates}}
}

// uniqueStates keep one job of a kind and arguments while it waits or
// runs (river requires these states of unique jobs).
var uniqueStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}

type dispatchWorker struct {
	river.WorkerDefaults[DispatchArgs]
	d *Deliverer
}

// maxLanes bounds one dispatch; the rest wait for the next.
const maxLanes = 1000

func (w *dispatchWorker) Work(ctx context.Context, _ *river.Job[DispatchArgs]) error {
	lanes, err := w.d.store.DeliveriesDueLanes(ctx, maxLanes)
	if err != nil {
		return fmt.Errorf("read due lanes: %w", err)
	}
	if len(lanes) > 0 {
		params := make([]river.InsertManyParams, len(lanes))
		for i, l := range lanes {
			params[i] = river.InsertManyParams{Args: LaneArgs{WebhookID: l.WebhookID, EntryID: l.EntryID}}
		}
		if _, err := river.ClientFromContext[pgx.Tx](ctx).InsertMany(ctx, params); err != nil {
			return fmt.Errorf("queue lanes: %w", err)
		}
	}
	if w.d.o.Metrics != nil {
		b, err := w.d.store.DeliveriesBacklog(ctx)
		if err != nil {
			return fmt.Errorf("read the backlog: %w", err)
		}
		w.d.o.Metrics.backlog.Set(float64(b.Due))
		w.d.o.Metrics.backlogAge.Set(b.OldestSeconds)
	}
	return nil
}

type laneWorker struct {
	river.WorkerDefaults[LaneArgs]
	d *Deliverer
}

// perJob bounds the deliveries one lane job sends before it lets other
// lanes have the worker (the dispatcher queues it again).
const perJob = 100

func (w *laneWorker) Work(ctx context.Context, job *river.Job[LaneArgs]) error {
	for range perJob {
		more, err := w.d.deliverHead(ctx, job.Args)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// deliverHead attempts the lane's oldest pending delivery when due and
// reports whether the lane may go on (it succeeded or gave up).
func (d *Deliverer) deliverHead(ctx context.Context, lane LaneArgs) (bool, error) {
	head, err := d.store.DeliveryLaneHead(ctx, db.DeliveryLaneHeadParams{WebhookID: lane.WebhookID, EntryID: lane.EntryID})
	if errors.Is(err, db.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read the lane's head: %w", err)
	}
	now := time.Now()
	if head.NextAttemptAt.After(now) {
		return false, nil // waiting out its backoff
	}
	hook, err := d.store.WebhookByID(ctx, lane.WebhookID)
	if errors.Is(err, db.ErrNotFound) {
		return false, nil // deleted meanwhile, its deliveries with it
	}
	if err != nil {
		return false, fmt.Errorf("read the endpoint: %w", err)
	}
	if !hook.Enabled {
		return false, nil // kept for when it is enabled again
	}
	payload := head.Payload
	if payload == nil {
		if payload, err = d.render(ctx, head); err != nil {
			return false, err
		}
	}
	res := webhooks.Send(ctx, d.o.Client, hook.Url, MessageID(head.ID), payload, now,
		webhooks.SigningKeys(hook.SigningKey, hook.PreviousKey, hook.PreviousKeyUntil, now)...)
	if ctx.Err() != nil {
		return false, ctx.Err() // cut off (shutdown): the attempt does not count
	}
	d.o.Metrics.observe(res)
	return d.record(ctx, hook, head, payload, res)
}

// MessageID is a delivery's webhook-id: the same for every retry, so a
// receiver can tell a repeat.
func MessageID(deliveryID int64) string { return fmt.Sprintf("msg_%d", deliveryID) }

// render builds the delivery's body from its event, once.
func (d *Deliverer) render(ctx context.Context, head db.WebhookDelivery) ([]byte, error) {
	rows, err := d.store.EventsList(ctx, db.EventsListParams{UserID: head.UserID, AfterID: head.EventID - 1, Types: []string{}, MaxRows: 1})
	if err != nil {
		return nil, fmt.Errorf("read event %d: %w", head.EventID, err)
	}
	if len(rows) == 0 || rows[0].ID != head.EventID {
		return nil, fmt.Errorf("event %d of user %d is gone", head.EventID, head.UserID)
	}
	var price *int64
	if p, err := d.store.PriceLatest(ctx); err == nil {
		price = &p.CloseUsdCents
	} else if !errors.Is(err, db.ErrNotFound) {
		return nil, fmt.Errorf("read the latest price: %w", err)
	}
	return api.EventMessage(&rows[0], price)
}

// record stores the attempt; a failure schedules the next or gives up,
// and disables an endpoint that has failed for too long.
func (d *Deliverer) record(ctx context.Context, hook db.Webhook, head db.WebhookDelivery, payload []byte, res webhooks.Result) (bool, error) {
	ms := int32(res.Latency.Milliseconds())
	p := db.DeliveryRecordParams{ID: head.ID, Payload: payload, LastLatencyMs: &ms, Status: "succeeded", NextAttemptAt: time.Now()}
	if res.Status != 0 {
		code := int32(res.Status)
		p.LastStatusCode = &code
	}
	goOn := true
	if !res.OK() {
		msg := res.Err.Error()
		if len(msg) > 500 {
			msg = msg[:500]
		}
		p.LastError = &msg
		attempt := int(head.Attempts) // the schedule's index for this failure
		if attempt < len(d.o.Schedule) {
			p.Status, p.NextAttemptAt, goOn = "pending", time.Now().Add(d.o.Schedule[attempt]), false
		} else {
			p.Status = "failed"
		}
	}
	if err := d.store.DeliveryRecord(ctx, p); err != nil {
		return false, fmt.Errorf("record delivery %d: %w", head.ID, err)
	}
	if res.OK() {
		return true, d.store.WebhookRecordSuccess(ctx, hook.ID)
	}
	// Failing since the later of its last success (or creation) and when
	// this delivery became owed: an endpoint idle for weeks is not
	// disabled by one failure.
	since := hook.CreatedAt
	if hook.LastSuccessAt != nil {
		since = *hook.LastSuccessAt
	}
	if head.CreatedAt.After(since) {
		since = head.CreatedAt
	}
	if time.Since(since) > d.o.DisableAfter {
		reason := fmt.Sprintf("no delivery succeeded since %s; the last attempt: %s", since.UTC().Format(time.RFC3339), *p.LastError)
		if n, err := d.store.WebhookDisable(ctx, db.WebhookDisableParams{ID: hook.ID, Reason: &reason}); err != nil {
			return false, fmt.Errorf("disable endpoint %d: %w", hook.ID, err)
		} else if n > 0 {
			d.o.Log.Warn("webhook endpoint disabled", "webhook_id", hook.ID, "user_id", hook.UserID, "since", since)
		}
		return false, nil
	}
	return goOn, nil
}
