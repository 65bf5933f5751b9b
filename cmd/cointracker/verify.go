package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/cointracker/cointracker/config"
	"github.com/cointracker/cointracker/db"
)

// verifyShown is how many differences verify prints at most.
const verifyShown = 100

// verify recomputes the stored ledger aggregates (every address's totals
// and daily movements) from the ledger, prints the differences, and fails
// when there is any. It reads the whole ledger once.
func verify(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("verify takes no arguments, got %q", args)}
	}
	if err := cfg.ValidateDatabase(); err != nil {
		return usageError{err}
	}
	pool, err := toolPool(ctx, cfg, log, cfg.DatabaseURL, "cointracker-verify", 1)
	if err != nil {
		return err
	}
	defer pool.Close()
	diffs, err := db.New(pool).LedgerAggregateDifferences(ctx, verifyShown)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	for _, d := range diffs {
		fmt.Fprintln(stdout, d)
	}
	if len(diffs) > 0 {
		return fmt.Errorf("verify: the stored aggregates differ from the ledger (%d differences shown, at most %d)", len(diffs), verifyShown)
	}
	log.Info("verified: the stored aggregates match the ledger")
	return nil
}
