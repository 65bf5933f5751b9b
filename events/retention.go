package events

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cointracker/cointracker/db"
)

// pruneBatch bounds one delete, so retention never holds many row locks
// or a long transaction.
const pruneBatch = 10_000

// Prune deletes the events older than retention, in batches, and returns
// how many it deleted. A cursor before a deleted event then answers 410.
func Prune(ctx context.Context, store *db.Store, retention time.Duration, now time.Time) (int64, error) {
	var total int64
	for {
		n, err := store.EventsPrune(ctx, db.EventsPruneParams{Before: now.Add(-retention), MaxRows: pruneBatch})
		if err != nil {
			return total, fmt.Errorf("prune events: %w", err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}

// RunRetention prunes every interval until ctx ends. Several processes
// may run it: their deletes take turns on the same rows.
func RunRetention(ctx context.Context, store *db.Store, retention, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := Prune(ctx, store, retention, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("event retention failed", "err", err)
		case n > 0:
			log.Info("events pruned", "deleted", n, "retention", retention.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
