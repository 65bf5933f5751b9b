package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/cointracker/cointracker/config"
	"github.com/cointracker/cointracker/migrations"
)

// migrationsDir is where `migrate create` writes, relative to the checkout.
const migrationsDir = "migrations"

func migrate(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("migrate needs a subcommand: up, down, status or create NAME")}
	}
	sub, rest := args[0], args[1:]
	if sub == "create" {
		if len(rest) != 1 {
			return usageError{errors.New("migrate create needs exactly one NAME")}
		}
		path, err := migrations.Create(migrationsDir, rest[0])
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, path)
		return nil
	}

	fs := flag.NewFlagSet("migrate "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	to := fs.Int64("to", -1, "with down: roll back to this version (0 = everything)")
	if err := fs.Parse(rest); err != nil {
		return usageError{fmt.Errorf("migrate %s: %w", sub, err)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("migrate %s: unexpected argument %q", sub, fs.Arg(0))}
	}
	if err := cfg.ValidateDatabase(); err != nil {
		return usageError{err}
	}

	pool, err := toolPool(ctx, cfg, log, cfg.MigrateURL(), "cointracker-migrate", 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	m, err := migrations.New(pool)
	if err != nil {
		return err
	}
	defer func() { _ = m.Close() }()

	switch sub {
	case "up":
		applied, err := m.Up(ctx)
		if err != nil {
			return err
		}
		current, err := m.Current(ctx)
		if err != nil {
			return err
		}
		log.Info("migrations applied", "applied", len(applied), "version", current)
		if cfg.DatabaseAppRole != "" {
			if err := migrations.GrantServing(ctx, pool, cfg.DatabaseAppRole); err != nil {
				return err
			}
			log.Info("serving role granted the rows of every table", "role", cfg.DatabaseAppRole)
		}
	case "down":
		var target *int64
		if *to >= 0 {
			target = to
		}
		rolled, err := m.Down(ctx, target)
		if err != nil {
			return err
		}
		current, err := m.Current(ctx)
		if err != nil {
			return err
		}
		log.Info("migrations rolled back", "rolled_back", rolled, "version", current)
	case "status":
		statuses, err := m.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range statuses {
			state := "pending"
			if s.Applied {
				state = "applied"
			}
			fmt.Fprintf(stdout, "%05d  %-8s %s\n", s.Version, state, s.Name)
		}
	default:
		return usageError{fmt.Errorf("migrate %q is unknown: use up, down, status or create NAME", sub)}
	}
	return nil
}
