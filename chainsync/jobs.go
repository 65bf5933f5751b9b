package chainsync

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/cointracker/cointracker/chain"
	"github.com/cointracker/cointracker/db"
)

// SyncAddressArgs is the job that synchronises one address. At most one
// waits or runs per address: asking again while one does adds nothing.
type SyncAddressArgs struct {
	AddressID int64 `json:"address_id"`
}

// Kind names the job on the queue.
func (SyncAddressArgs) Kind() string { return "sync_address" }

// InsertOpts makes the job unique per address while it waits or runs.
func (SyncAddressArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 8,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateRetryable, rivertype.JobStateScheduled,
		}},
	}
}

// RefreshTipArgs is the periodic job that reads the tip and checks recent
// blocks for reorgs.
type RefreshTipArgs struct{}

// Kind names the job on the queue.
func (RefreshTipArgs) Kind() string { return "refresh_tip" }

// ResyncArgs is the periodic job that queues syncs of every tracked
// address not synchronised within the re-sync interval.
type ResyncArgs struct{}

// Kind names the job on the queue.
func (ResyncArgs) Kind() string { return "resync_sweep" }

// Options configure the job runner.
type Options struct {
	// Workers is how many jobs run at once; 0 makes an insert-only client
	// (the API queues, another process works).
	Workers int
	// ResyncInterval is how often every tracked address is re-synchronised
	// (default 10 minutes); TipInterval how often the tip is read and
	// recent blocks checked (default 1 minute).
	ResyncInterval, TipInterval time.Duration
	// JobTimeout bounds one sync (default 1 hour); a sync cut off resumes
	// from its last committed page.
	JobTimeout time.Duration
	// StopGrace is how long Stop lets running jobs finish before it
	// cancels them (default 5 s): a sync cancelled mid-page rolls that page
	// back and resumes from the last committed one, and a job waiting out a
	// provider's backoff should not hold up a shutdown.
	StopGrace time.Duration
	Metrics   *JobMetrics
	Logger    *slog.Logger
	// More is other work run on the same queue client, each on a queue of
	// its own (webhook deliveries).
	More []JobSet
}

// JobSet is work the runner's client runs beside the syncs: Register adds
// its workers and returns its periodic job; it runs on queue Queue with
// Workers at once.
type JobSet struct {
	Queue    string
	Workers  int
	Register func(*river.Workers) *river.PeriodicJob
}

// Runner owns the river client: it queues syncs and, with workers, runs
// them and the periodic jobs.
type Runner struct {
	client  *river.Client[pgx.Tx]
	store   *db.Store
	working bool
	grace   time.Duration
}

// NewRunner builds the river client over pool. syncer may be nil when
// opts.Workers is 0.
func NewRunner(pool *pgxpool.Pool, syncer *Syncer, opts Options) (*Runner, error) {
	if opts.ResyncInterval <= 0 {
		opts.ResyncInterval = 10 * time.Minute
	}
	if opts.TipInterval <= 0 {
		opts.TipInterval = time.Minute
	}
	if opts.JobTimeout <= 0 {
		opts.JobTimeout = time.Hour
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = 5 * time.Second
	}
	r := &Runner{store: db.NewStore(pool), working: opts.Workers > 0 && syncer != nil, grace: opts.StopGrace}
	// An insert-only client has no workers at all (river refuses to queue
	// kinds missing from a bundle it has).
	cfg := &river.Config{Logger: opts.Logger}
	if r.working {
		workers := river.NewWorkers()
		cfg.Workers = workers
		river.AddWorker(workers, &syncWorker{syncer: syncer, timeout: opts.JobTimeout})
		river.AddWorker(workers, &tipWorker{syncer: syncer})
		river.AddWorker(workers, &resyncWorker{runner: r, store: syncer.store, interval: opts.ResyncInterval})
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Workers}}
		cfg.PeriodicJobs = []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(opts.TipInterval),
				func() (river.JobArgs, *river.InsertOpts) { return RefreshTipArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(opts.ResyncInterval/4),
				func() (river.JobArgs, *river.InsertOpts) { return ResyncArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
		}
		for _, m := range opts.More {
			cfg.PeriodicJobs = append(cfg.PeriodicJobs, m.Register(workers))
			cfg.Queues[m.Queue] = river.QueueConfig{MaxWorkers: max(m.Workers, 1)}
		}
		cfg.JobTimeout = opts.JobTimeout
		if opts.Metrics != nil {
			cfg.Middleware = []rivertype.Middleware{opts.Metrics}
		}
		syncer.queue = r.queue
	}
	client, err := river.NewClient(riverpgxv5.New(pool), cfg)
	if err != nil {
		return nil, fmt.Errorf("create job queue client: %w", err)
	}
	r.client = client
	return r, nil
}

// Start runs the workers and periodic jobs, when the runner has any.
func (r *Runner) Start(ctx context.Context) error {
	if !r.working {
		return nil
	}
	if err := r.client.Start(ctx); err != nil {
		return fmt.Errorf("start job workers: %w", err)
	}
	return nil
}

// Stop takes no new jobs and lets running ones finish for the stop grace
// (or until ctx ends), then cancels them: each has committed its pages and
// resumes later.
func (r *Runner) Stop(ctx context.Context) error {
	if !r.working {
		return nil
	}
	softCtx, cancel := context.WithTimeout(ctx, r.grace)
	defer cancel()
	err := r.client.Stop(softCtx)
	if err != nil && softCtx.Err() != nil {
		hardCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		err = r.client.StopAndCancel(hardCtx)
	}
	if err != nil {
		return fmt.Errorf("stop job workers: %w", err)
	}
	return nil
}

// Sync job priorities: river runs lower numbers first, in order of
// insertion within one. A user's syncs go first while the user has fewer
// than FairShare syncs queued or running; past that they wait behind
// everyone else's, so one tenant's backlog (hundreds of new addresses, a
// busy xpub) delays another's first sync by at most FairShare jobs per
// tenant queueing at that moment, plus the jobs already running. The
// service's own re-syncs (the sweep, a reorg) come between.
const (
	priorityFair    = 1
	prioritySystem  = 2
	priorityBacklog = 4
	// FairShare is how many of one user's syncs may wait or run at the
	// fair priority.
	FairShare = 10
)

// SyncAddresses queues syncs the service itself asks for (the periodic
// sweep, a reorg): a job per address unless one already waits or runs,
// and the state marked queued, in one transaction.
func (r *Runner) SyncAddresses(ctx context.Context, addressIDs []int64) error {
	return r.queue(ctx, 0, addressIDs)
}

// SyncForUser queues syncs a user asked for (new addresses, a manual
// sync, an xpub's derivation) at the user's fair priority (see FairShare).
func (r *Runner) SyncForUser(ctx context.Context, userID int64, addressIDs []int64) error {
	return r.queue(ctx, userID, addressIDs)
}

// queue inserts the jobs; userID 0 is the service itself.
func (r *Runner) queue(ctx context.Context, userID int64, addressIDs []int64) error {
	if len(addressIDs) == 0 {
		return nil
	}
	return r.store.InTx(ctx, func(tx pgx.Tx) error {
		q := r.store.WithTx(tx)
		var backlog int32
		if userID != 0 {
			var err error
			if backlog, err = q.UserSyncBacklog(ctx, userID); err != nil {
				return fmt.Errorf("read the user's sync backlog: %w", err)
			}
		}
		if err := q.SyncStatesQueue(ctx, addressIDs); err != nil {
			return fmt.Errorf("mark syncs queued: %w", err)
		}
		params := make([]river.InsertManyParams, len(addressIDs))
		for i, id := range addressIDs {
			priority := prioritySystem
			switch {
			case userID != 0 && int(backlog)+i < FairShare:
				priority = priorityFair
			case userID != 0:
				priority = priorityBacklog
			}
			params[i] = river.InsertManyParams{Args: SyncAddressArgs{AddressID: id}, InsertOpts: &river.InsertOpts{Priority: priority}}
		}
		if _, err := r.client.InsertManyTx(ctx, tx, params); err != nil {
			return fmt.Errorf("queue syncs: %w", err)
		}
		return nil
	})
}

type syncWorker struct {
	river.WorkerDefaults[SyncAddressArgs]
	syncer  *Syncer
	timeout time.Duration
}

func (w *syncWorker) Timeout(*river.Job[SyncAddressArgs]) time.Duration { return w.timeout }

// Work syncs the address. A failure is recorded in the sync state; one a
// retry cannot mend (a 4xx other than 429, an unknown address) cancels
// the job, others are retried with river's backoff.
func (w *syncWorker) Work(ctx context.Context, job *river.Job[SyncAddressArgs]) error {
	res, err := w.syncer.SyncAddress(ctx, job.Args.AddressID)
	if errors.Is(err, ErrPageBudget) {
		// Back of the queue at the job's priority, no attempt spent: the
		// worker goes to whoever waits, and this sync continues after.
		w.syncer.log.Info("address sync yields its worker", "address_id", job.Args.AddressID, "pages", res.Pages)
		return river.JobSnooze(0)
	}
	if err == nil {
		w.syncer.log.Info("address synchronised", "address_id", job.Args.AddressID, "status", res.Status,
			"pages", res.Pages, "txs", res.Txs, "tip", res.Tip)
		return nil
	}
	var se *chain.StatusError
	permanent := errors.Is(err, ErrPermanent) || errors.Is(err, db.ErrNotFound) ||
		errors.As(err, &se) && se.Status != http.StatusTooManyRequests
	status := "queued"
	if permanent || job.Attempt >= job.MaxAttempts {
		status = "failed"
	}
	// Record it even when ctx is done (shutdown, timeout).
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if ferr := w.syncer.store.SyncStateFail(rctx, db.SyncStateFailParams{
		AddressID: job.Args.AddressID, Status: status, LastError: failureText(err),
	}); ferr != nil {
		w.syncer.log.Error("record sync failure", "address_id", job.Args.AddressID, "error", ferr)
	}
	w.syncer.log.Warn("address sync failed", "address_id", job.Args.AddressID, "attempt", job.Attempt,
		"status", status, "error", err)
	if permanent {
		return river.JobCancel(err)
	}
	return err
}

// failureText is what a failed sync shows users in sync.last_error:
// short, generic, and never a provider's response or a query's text (the
// worker's log has the whole error).
func failureText(err error) string {
	var se *chain.StatusError
	switch {
	case errors.Is(err, ErrPermanent):
		return "the address's network is not the chain provider's"
	case errors.Is(err, db.ErrNotFound):
		return "the address is no longer tracked"
	case errors.As(err, &se):
		return fmt.Sprintf("the chain provider refused a request: %d %s", se.Status, http.StatusText(se.Status))
	case errors.Is(err, chain.ErrTooLarge):
		return "a chain provider answer was over its size limit"
	case errors.Is(err, chain.ErrUnavailable):
		return "the chain provider did not answer (timeouts, 429 or 5xx); retrying later"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "the sync was interrupted; it resumes from its last page"
	}
	return "the sync failed; retrying later"
}

type tipWorker struct {
	river.WorkerDefaults[RefreshTipArgs]
	syncer *Syncer
}

func (w *tipWorker) Work(ctx context.Context, _ *river.Job[RefreshTipArgs]) error {
	_, err := w.syncer.CheckTip(ctx)
	return err
}

// CheckTip records the provider's tip and finds reorgs of any depth. It
// compares the recorded block of each height holding stored transactions
// (chain_blocks) with the hash the provider names at that height now
// (GET /block-height/:h), from the tip down, and demotes every recorded
// block the provider contradicts: its transactions go back to pending and
// the addresses they touch are queued to settle where each went. It stops
// at the first agreeing block recorded before the previous check began:
// every block below that one was checked then or recorded since from the
// best chain, while a block recorded since says nothing about older ones
// beneath it. It asks nothing above the tip it read first, and stops at a
// 404: a backend behind a load balancer that lags a block does not know
// the newest heights, which proves nothing about them. Block status
// answers (GET /block/:hash/status) are never used: front ends cache them
// for years once a block is ten deep. It returns how many blocks left the
// chain.
func (s *Syncer) CheckTip(ctx context.Context) (int, error) {
	tip, err := s.RefreshTip(ctx)
	if err != nil {
		return 0, err
	}
	check, err := s.store.ChainTipCheckBegin(ctx, s.network)
	if err != nil {
		return 0, fmt.Errorf("read the last reorg check: %w", err)
	}
	stale, err := s.checkBlocks(ctx, tip, check.CheckedAt)
	if err != nil {
		return stale, err
	}
	if err := s.store.ChainTipChecked(ctx, db.ChainTipCheckedParams{Network: s.network, CheckedAt: &check.Now}); err != nil {
		return stale, fmt.Errorf("record the reorg check: %w", err)
	}
	return stale, nil
}

// checkBlocks is CheckTip's walk down the recorded blocks at or below tip;
// lastCheck is when the previous complete check began (nil: never).
func (s *Syncer) checkBlocks(ctx context.Context, tip int32, lastCheck *time.Time) (int, error) {
	stale := 0
	for below := tip; ; {
		blocks, err := s.store.ChainBlocksBelow(ctx, db.ChainBlocksBelowParams{Network: s.network, MaxHeight: below, MaxHeights: 64})
		if err != nil || len(blocks) == 0 {
			return stale, err
		}
		for i := 0; i < len(blocks); {
			h := blocks[i].Height
			best, err := s.provider.BlockHashAt(ctx, h)
			if chain.IsNotFound(err) {
				return stale, nil
			}
			if err != nil {
				return stale, fmt.Errorf("read the block at %d: %w", h, err)
			}
			settled := false
			for ; i < len(blocks) && blocks[i].Height == h; i++ {
				b := blocks[i]
				if hex.EncodeToString(b.Hash) == best {
					settled = lastCheck != nil && b.RecordedAt.Before(*lastCheck)
					continue
				}
				stale++
				if err := s.demoteBlock(ctx, b.Height, b.Hash); err != nil {
					return stale, err
				}
			}
			if settled {
				return stale, nil
			}
			below = h - 1
		}
	}
}

// demoteBlock sends the transactions of a block that left the best chain
// back to pending, forgets the block, lowers the incremental floor of the
// network's addresses below it and queues syncs of the addresses its
// transactions touch.
func (s *Syncer) demoteBlock(ctx context.Context, height int32, hash []byte) error {
	b := db.ChainBlockDeleteParams{Network: s.network, Height: height, Hash: hash}
	rows, err := s.store.TransactionsInBlock(ctx, db.TransactionsInBlockParams{
		Network: s.network, BlockHeight: height, BlockHash: hash,
	})
	if err != nil {
		return fmt.Errorf("list transactions of block %d: %w", b.Height, err)
	}
	var txIDs, addressIDs []int64
	seenTx, seenAddr := map[int64]bool{}, map[int64]bool{}
	for _, r := range rows {
		if !seenTx[r.ID] {
			seenTx[r.ID], txIDs = true, append(txIDs, r.ID)
		}
		if !seenAddr[r.AddressID] {
			seenAddr[r.AddressID], addressIDs = true, append(addressIDs, r.AddressID)
		}
	}
	err = s.store.ExecTx(ctx, func(q *db.Queries) error {
		if _, err := q.TransactionsUnconfirm(ctx, db.TransactionsUnconfirmParams{Status: "pending", Ids: txIDs}); err != nil {
			return fmt.Errorf("demote transactions of block %d: %w", b.Height, err)
		}
		if err := q.ChainBlockDelete(ctx, b); err != nil {
			return fmt.Errorf("forget block %d: %w", b.Height, err)
		}
		if err := q.SyncStatesRewind(ctx, db.SyncStatesRewindParams{Network: s.network, Height: max(0, b.Height-1)}); err != nil {
			return fmt.Errorf("rewind syncs past block %d: %w", b.Height, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Warn("block left the best chain: its transactions are pending again", "height", b.Height,
		"hash", hex.EncodeToString(b.Hash), "transactions", len(txIDs), "addresses", len(addressIDs))
	return s.queue(ctx, 0, addressIDs)
}

type resyncWorker struct {
	river.WorkerDefaults[ResyncArgs]
	runner   *Runner
	store    *db.Store
	interval time.Duration
}

// sweepBatch bounds how many syncs one sweep queues.
const sweepBatch = 1000

func (w *resyncWorker) Work(ctx context.Context, _ *river.Job[ResyncArgs]) error {
	ids, err := w.store.SyncSweepCandidates(ctx, db.SyncSweepCandidatesParams{
		Before: time.Now().Add(-w.interval), MaxRows: sweepBatch,
	})
	if err != nil {
		return fmt.Errorf("list addresses to re-sync: %w", err)
	}
	return w.runner.SyncAddresses(ctx, ids)
}
