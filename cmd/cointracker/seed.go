package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/cointracker/cointracker/config"
	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/fixtures"
)

// seed fills the database with demo data (SPEC §7).
func seed(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	scale := fs.String("scale", "demo", "preset size: demo (~10k ledger rows), bench (~1M), large (~10M)")
	seedN := fs.Int64("seed", 1, "random seed: the same flags always give the same data")
	users := fs.Int("users", 0, "number of demo users (user-1 … user-N); overrides the scale")
	addresses := fs.Int("addresses", 0, "number of tracked addresses; overrides the scale")
	transactions := fs.Int("transactions", 0, "number of transactions; overrides the scale")
	ifEmpty := fs.Bool("if-empty", false, "do nothing when the database already has users")
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Errorf("seed: %w", err)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("seed: unexpected argument %q", fs.Arg(0))}
	}
	o, err := fixtures.LookupScale(*scale)
	if err != nil {
		return usageError{fmt.Errorf("seed: --scale: %w", err)}
	}
	// Flags given explicitly override the preset.
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "seed":
			o.Seed = *seedN
		case "users":
			o.Users = *users
		case "addresses":
			o.Addresses = *addresses
		case "transactions":
			o.Transactions = *transactions
		}
	})
	if err := o.Validate(); err != nil {
		return usageError{err}
	}
	if err := cfg.ValidateDatabase(); err != nil {
		return usageError{err}
	}

	pool, err := toolPool(ctx, cfg, log, cfg.DatabaseURL, "cointracker-seed", 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := db.NewStore(pool)
	if *ifEmpty {
		var any bool
		if err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM users)").Scan(&any); err != nil {
			return fmt.Errorf("seed: look for existing users: %w", err)
		}
		if any {
			log.Info("seed skipped: the database already has users")
			return nil
		}
	}
	log.Info("seeding", "seed", o.Seed, "users", o.Users, "addresses", o.Addresses, "transactions", o.Transactions)
	var progress io.Writer
	if isTerminal(stderr) {
		progress = stderr
	}
	sum, err := fixtures.Seed(ctx, store, o, progress)
	if err != nil {
		return err
	}
	log.Info("seeded", "users", sum.Users, "addresses", sum.Addresses, "transactions", sum.Transactions,
		"ledger_rows", sum.LedgerRows, "prices", sum.Prices, "changed", sum.Changed,
		"elapsed", sum.Elapsed.Round(1e6).String(),
		"ledger_rows_per_second", int(float64(sum.LedgerRows)/max(sum.Elapsed.Seconds(), 1e-9)))
	return nil
}

// isTerminal reports whether w is a character device (a terminal), where
// progress lines help; in CI and pipes they would only be noise.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
