// Command cointracker is the whole service in one binary: the API server,
// database migrations and the tools around them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/cointracker/cointracker/config"
	"github.com/cointracker/cointracker/logging"
)

// version is set at build time: -ldflags "-X main.version=…".
var version = "dev"

const usage = `usage: cointracker <command> [arguments]

commands:
  serve                      run the HTTP API (and, with SYNC_WORKERS > 0, the sync jobs)
  worker                     run the sync jobs only
  migrate up                 apply every pending migration
  migrate down [--to N]      roll back the latest migration, or down to version N
  migrate status             list migrations and whether each is applied
  migrate create NAME        write migrations/NNNNN_NAME.sql
  seed [flags]               fill the database with demo data (seed -h for flags)
  dev-token --subject NAME   print a token the AUTH_MODE=dev server accepts
  verify                     recompute the stored balances from the ledger; fail on any difference
  version                    print the version

Configuration comes from environment variables (see .env.example).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command and returns the process exit code: 0 on
// success, 1 when the command failed, 2 on bad usage or configuration.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "version", "--version":
		fmt.Fprintln(stdout, "cointracker", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}

	cfg, err := config.Load()
	log := logging.New(stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		logProblems(log, err)
		return 2
	}
	switch cmd {
	case "serve":
		err = serve(ctx, cfg, log, rest)
	case "worker":
		err = worker(ctx, cfg, log, rest)
	case "migrate":
		err = migrate(ctx, cfg, log, rest, stdout)
	case "seed":
		err = seed(ctx, cfg, log, rest, stderr)
	case "dev-token":
		err = devToken(cfg, rest, stdout)
	case "verify":
		err = verify(ctx, cfg, log, rest, stdout)
	default:
		fmt.Fprintf(stderr, "cointracker: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err == nil {
		return 0
	}
	var uerr usageError
	if errors.As(err, &uerr) {
		logProblems(log, err)
		return 2
	}
	log.Error(cmd+" failed", "error", err.Error())
	return 1
}

// usageError marks an error in the command line or configuration.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// logProblems writes one log line per problem in a joined error.
func logProblems(log *slog.Logger, err error) {
	for line := range strings.SplitSeq(err.Error(), "\n") {
		log.Error("invalid configuration", "problem", line)
	}
}
