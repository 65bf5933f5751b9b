package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/cointracker/cointracker/api"
	"github.com/cointracker/cointracker/auth"
	"github.com/cointracker/cointracker/chain"
	"github.com/cointracker/cointracker/chainsync"
	"github.com/cointracker/cointracker/config"
	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/deliveries"
	"github.com/cointracker/cointracker/events"
	"github.com/cointracker/cointracker/migrations"
	"github.com/cointracker/cointracker/telemetry"
	"github.com/cointracker/cointracker/webhooks"
)

func serve(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("serve takes no arguments, got %q", args[0])}
	}
	if err := cfg.ValidateServe(); err != nil {
		return usageError{err}
	}
	if cfg.CursorSecret == "" {
		log.Info("CURSOR_SECRET is not set: page cursors are signed with a per-process key")
	}
	if cfg.AuthMode == config.AuthDev {
		log.Warn("AUTH_MODE=dev: development authentication, listening on loopback only", "addr", cfg.HTTPAddr)
	}

	tp, stopTracing, err := telemetry.Setup(ctx, "cointracker", version)
	if err != nil {
		return err
	}
	defer func() { _ = stopTracing(context.WithoutCancel(ctx)) }()
	opts := poolOptions(cfg, "cointracker", log)
	opts.TracerProvider = tp
	pool, err := db.Connect(ctx, cfg.DatabaseURL, opts)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := db.NewStore(pool)
	reads, closeReads, err := newReads(ctx, cfg, store, log, tp)
	if err != nil {
		return err
	}
	defer closeReads()
	m, err := migrations.New(pool)
	if err != nil {
		return err
	}
	defer func() { _ = m.Close() }()
	if err := m.Check(ctx); err != nil {
		if errors.Is(err, migrations.ErrSchemaTooNew) {
			return err
		}
		// Pending migrations: serve, but report not ready until
		// `cointracker migrate up` has run.
		log.Warn("database schema is behind; /readyz answers 503 until it is migrated", "reason", err.Error())
	}

	verifier, err := newVerifier(ctx, cfg)
	if err != nil {
		return err
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "auth_jwks_fetches_total",
		Help: "Requests for the identity vendor's JWKS (at most one a minute, more only at start-up)."},
		func() float64 { return float64(verifier.KeyFetches()) }))
	runner, err := newRunner(cfg, pool, log, reg)
	if err != nil {
		_ = ln.Close()
		return err
	}
	hub := events.NewHub(pool, log)
	go hub.Run(ctx) // ends with the signal, answering every long-poll
	startRetention(ctx, cfg, store, log)
	srv := api.NewHTTPServer(cfg.HTTPAddr, api.New(api.Options{
		Store:           store,
		Reads:           reads,
		Sync:            runner,
		Registry:        reg,
		TracerProvider:  tp,
		Logger:          log,
		SchemaCheck:     m.Check,
		CursorKey:       []byte(cfg.CursorSecret),
		Verifier:        verifier,
		RateLimit:       cfg.RateLimitRPS,
		RateBurst:       cfg.RateLimitBurst,
		UnauthRateLimit: cfg.UnauthRateLimitRPS, UnauthRateBurst: cfg.UnauthRateLimitBurst,
		TrustedProxies: cfg.TrustedProxies,
		QueryTimeout:   cfg.DatabaseStatementTimeout,
		MetricsToken:   cfg.MetricsToken,
		Quotas: api.Quotas{AddressesPerUser: cfg.MaxAddressesPerUser, XpubsPerUser: cfg.MaxXpubsPerUser,
			SyncCooldown: cfg.SyncCooldown, ExportsPerUser: cfg.ExportsPerUser, ExportsMax: cfg.ExportsMax, ExportMaxRows: cfg.ExportMaxRows,
			ExportMaxDuration: cfg.ExportMaxDuration, EventLongPolls: cfg.EventLongPollsPerUser},
		Events: hub,
		Webhooks: api.WebhookOptions{PerUser: cfg.WebhooksPerUser, KeyGrace: cfg.WebhookSecretGrace,
			URLs:   webhooks.URLRules{AllowHTTP: cfg.WebhooksAllowHTTP, AllowPrivate: cfg.WebhooksAllowPrivate},
			Client: webhooks.NewClient(webhooks.ClientOptions{Timeout: cfg.WebhookTimeout, AllowPrivate: cfg.WebhooksAllowPrivate})},
	}).Handler())

	admin, err := startAdmin(ctx, cfg, log, reg)
	if err != nil {
		_ = ln.Close()
		return err
	}
	if admin != nil {
		defer func() { _ = admin.Close() }()
	}

	// The workers outlive the signal: Stop below lets running syncs end.
	if err := runner.Start(context.WithoutCancel(ctx)); err != nil {
		_ = ln.Close()
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "docs", "http://"+ln.Addr().String()+"/docs/index.html",
		"database", config.RedactURL(cfg.DatabaseURL), "version", version)

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests", "timeout", cfg.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	if err := runner.Stop(shutdownCtx); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// worker runs the sync jobs without the HTTP API, until a signal.
func worker(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("worker takes no arguments, got %q", args[0])}
	}
	if err := errors.Join(cfg.ValidateDatabase(), cfg.ValidateSync()); err != nil {
		return usageError{err}
	}
	if cfg.SyncWorkers <= 0 {
		return usageError{errors.New("SYNC_WORKERS must be at least 1 for a worker")}
	}
	pool, err := db.Connect(ctx, cfg.DatabaseURL, poolOptions(cfg, "cointracker-worker", log))
	if err != nil {
		return err
	}
	defer pool.Close()
	runner, err := newRunner(cfg, pool, log, prometheus.NewRegistry())
	if err != nil {
		return err
	}
	startRetention(ctx, cfg, db.NewStore(pool), log)
	if err := runner.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	log.Info("working sync jobs", "workers", cfg.SyncWorkers, "provider", cfg.ChainProviderURL)
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	return runner.Stop(stopCtx)
}

// startRetention deletes the change feed's old events hourly, in a
// process that runs sync workers (the background work), until ctx ends.
func startRetention(ctx context.Context, cfg config.Config, store *db.Store, log *slog.Logger) {
	if cfg.SyncWorkers > 0 {
		go events.RunRetention(ctx, store, cfg.EventsRetention, time.Hour, log)
	}
}

// newRunner builds the job runner: always able to queue syncs, and
// working them against CHAIN_PROVIDER_URL when SYNC_WORKERS > 0.
func newRunner(cfg config.Config, pool *pgxpool.Pool, log *slog.Logger, reg *prometheus.Registry) (*chainsync.Runner, error) {
	store := db.NewStore(pool)
	var syncer *chainsync.Syncer
	if cfg.SyncWorkers > 0 {
		client, err := chain.New(cfg.ChainProviderURL, chain.Options{
			RequestTimeout: cfg.ChainTimeout, PageTimeout: cfg.ChainPageTimeout, RatePerSecond: cfg.ChainRateLimit,
			Metrics: chain.NewMetrics(reg),
		})
		if err != nil {
			return nil, usageError{err}
		}
		syncer = chainsync.NewSyncer(store, client, cfg.ChainNetwork, log, nil)
		syncer.LimitDerived(cfg.MaxDerivedPerXpub)
		syncer.LimitPages(cfg.SyncPagesPerRun)
	} else {
		log.Info("SYNC_WORKERS=0: syncs are queued for a worker process, none run here")
	}
	// Webhook deliveries run wherever syncs do, on a queue of their own.
	d := deliveries.New(store, deliveries.Options{
		Client:       webhooks.NewClient(webhooks.ClientOptions{Timeout: cfg.WebhookTimeout, AllowPrivate: cfg.WebhooksAllowPrivate}),
		DisableAfter: cfg.WebhookDisableAfter, Metrics: deliveries.NewMetrics(reg), Log: log,
	})
	return chainsync.NewRunner(pool, syncer, chainsync.Options{
		Workers: cfg.SyncWorkers, ResyncInterval: cfg.SyncInterval, TipInterval: cfg.TipInterval,
		Metrics: chainsync.NewJobMetrics(reg, store), Logger: log,
		More: []chainsync.JobSet{{Queue: deliveries.Queue, Workers: cfg.WebhookWorkers, Register: d.Register}},
	})
}

// newVerifier builds the token verifier AUTH_MODE asks for.
func newVerifier(ctx context.Context, cfg config.Config) (*auth.Verifier, error) {
	if cfg.AuthMode == config.AuthDev {
		key, err := auth.LoadOrCreateDevKey(cfg.DevKeyFile)
		if err != nil {
			return nil, err
		}
		return auth.NewStatic(auth.DevIssuer, auth.DevAudience, key.Public()), nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	v, err := auth.NewOIDC(ctx, cfg.AuthIssuer, cfg.AuthAudience)
	if err == nil && cfg.AuthRequireATJWT {
		v.RequireAccessTokenType()
	}
	return v, err
}

// startAdmin serves /metrics, pprof and the redacted configuration on ADMIN_ADDR
// (loopback by default), apart from the public API.
func startAdmin(ctx context.Context, cfg config.Config, log *slog.Logger, reg *prometheus.Registry) (*http.Server, error) {
	if cfg.AdminAddr == "" {
		return nil, nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.AdminAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on ADMIN_ADDR %s: %w", cfg.AdminAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", api.MetricsHandler(reg))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/config", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"version": version, "go": runtime.Version(), "goroutines": runtime.NumGoroutine(), "config": cfg.Redacted(),
		})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	if !config.IsLoopback(cfg.AdminAddr) {
		log.Warn("the admin listener (pprof, configuration) is reachable beyond loopback", "addr", cfg.AdminAddr)
	}
	log.Info("admin listener", "addr", ln.Addr().String())
	return srv, nil
}

// poolOptions are the pool options every command derives from the
// configuration, named for pg_stat_activity. Callers change what is
// theirs alone: a tracer, a lazy replica pool, or (migrate, seed) no
// statement timeout and a small pool.
func poolOptions(cfg config.Config, name string, log *slog.Logger) db.PoolOptions {
	return db.PoolOptions{
		MaxConns: cfg.DatabaseMaxConns, ApplicationName: name, Logger: log,
		StatementTimeout: cfg.DatabaseStatementTimeout, ConnectTimeout: cfg.DatabaseConnectTimeout,
	}
}

// toolPool opens the small pool of a command that is not the server
// (migrate, seed, verify): its statements (an index build, a bulk upsert,
// a recount of the whole ledger) may run longer than a request's
// statement timeout allows, so it has none; the connect timeout still
// applies. With LOG_LEVEL=debug its queries are timed in the log, as the
// server's are.
func toolPool(ctx context.Context, cfg config.Config, log *slog.Logger, url, name string, conns int32) (*pgxpool.Pool, error) {
	opts := poolOptions(cfg, name, log)
	opts.MaxConns, opts.StatementTimeout = conns, 0
	return db.Connect(ctx, url, opts)
}

// newReads routes reads to DATABASE_REPLICA_URL when it is set (nil
// otherwise), checking the replica until ctx ends. The replica may be down
// at start: reads use the primary until it answers.
func newReads(ctx context.Context, cfg config.Config, primary *db.Store, log *slog.Logger,
	tp trace.TracerProvider) (*db.Reads, func(), error) {
	if cfg.DatabaseReplicaURL == "" {
		return nil, func() {}, nil
	}
	opts := poolOptions(cfg, "cointracker-reads", log)
	opts.TracerProvider, opts.Lazy = tp, true
	pool, err := db.Connect(ctx, cfg.DatabaseReplicaURL, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("read replica: %w", err)
	}
	reads := db.NewReads(primary, pool, db.ReadsOptions{MaxLag: cfg.DatabaseReplicaMaxLag, Logger: log})
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		reads.Run(ctx)
	}()
	log.Info("reads go to the replica while it is within the lag bound", "max_lag", cfg.DatabaseReplicaMaxLag.String())
	return reads, func() {
		cancel()
		<-done
		pool.Close()
	}, nil
}
