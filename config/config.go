// Package config reads the service's settings from environment variables,
// optionally from a .env file and from NAME_FILE files holding secrets.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/joho/godotenv"

	"github.com/cointracker/cointracker/btc"
)

// Auth modes.
const (
	// AuthOIDC verifies tokens from an identity vendor.
	AuthOIDC = "oidc"
	// AuthDev signs and verifies tokens with a local key, on loopback only.
	AuthDev = "dev"
)

// Config holds every setting. The env tags are the variable names
// documented in .env.example.
type Config struct {
	// DatabaseURL is the primary PostgreSQL (a URL or key=value DSN).
	DatabaseURL string `env:"DATABASE_URL"`
	// DatabaseMigrateURL is the connection `migrate` uses, as the schema's
	// owner; empty: DATABASE_URL.
	DatabaseMigrateURL string `env:"DATABASE_MIGRATE_URL"`
	// DatabaseAppRole, when set, is the role serve and worker connect as
	// (in DATABASE_URL): `migrate up` grants it the rows of every table
	// and nothing else.
	DatabaseAppRole string `env:"DATABASE_APP_ROLE"`
	// DatabaseReplicaURL is an optional streaming replica for reads.
	DatabaseReplicaURL string `env:"DATABASE_REPLICA_URL"`
	// DatabaseReplicaMaxLag is how far behind the primary the replica may
	// be and still serve reads.
	DatabaseReplicaMaxLag time.Duration `env:"DATABASE_REPLICA_MAX_LAG" envDefault:"5s"`
	// DatabaseMaxConns caps the pool; 0 lets pgx choose: max(4, the
	// host's CPUs). On the 2-core development machine that 4 served the
	// history page best, with the lowest p99 (docs/scaling.md).
	DatabaseMaxConns int32 `env:"DATABASE_MAX_CONNS" envDefault:"0"`
	// DatabaseStatementTimeout cancels any query running longer (on the
	// server), and bounds each API request's database work (in the
	// process, so a hung database costs a 503 too).
	DatabaseStatementTimeout time.Duration `env:"DATABASE_STATEMENT_TIMEOUT" envDefault:"4s"`
	// DatabaseConnectTimeout bounds each connection attempt.
	DatabaseConnectTimeout time.Duration `env:"DATABASE_CONNECT_TIMEOUT" envDefault:"3s"`
	// HTTPAddr is where the API listens.
	HTTPAddr string `env:"HTTP_ADDR" envDefault:":8000"`
	// MetricsToken, when set, serves /metrics on HTTP_ADDR to a scraper
	// presenting it as its bearer token; the admin listener always serves
	// /metrics.
	MetricsToken string `env:"METRICS_TOKEN"`
	// AdminAddr serves pprof and a configuration dump; empty turns it off.
	AdminAddr string `env:"ADMIN_ADDR" envDefault:"127.0.0.1:6060"`
	// AuthMode is "oidc" or "dev".
	AuthMode string `env:"AUTH_MODE"`
	// AuthIssuer is the OIDC issuer URL (oidc mode).
	AuthIssuer string `env:"AUTH_ISSUER"`
	// AuthAudience is the expected "aud" claim (oidc mode).
	AuthAudience string `env:"AUTH_AUDIENCE"`
	// AuthRequireATJWT refuses tokens whose header typ is not "at+jwt"
	// (RFC 9068 access tokens), so no ID token passes (oidc mode).
	AuthRequireATJWT bool `env:"AUTH_REQUIRE_AT_JWT" envDefault:"false"`
	// DevKeyFile holds the dev-mode signing key (created when missing).
	DevKeyFile string `env:"DEV_KEY_FILE" envDefault:".data/dev-signing-key.pem"`
	// RateLimitRPS is each user's sustained request rate on /v1 (0: off).
	RateLimitRPS float64 `env:"RATE_LIMIT_RPS" envDefault:"20"`
	// RateLimitBurst is how many requests a user may make at once.
	RateLimitBurst int `env:"RATE_LIMIT_BURST" envDefault:"40"`
	// UnauthRateLimitRPS is the sustained rate of failed authentications
	// one client address may cause (0: off); past it and its burst, 429.
	UnauthRateLimitRPS float64 `env:"UNAUTH_RATE_LIMIT_RPS" envDefault:"1"`
	// UnauthRateLimitBurst is how many failed authentications a client
	// address may cause at once.
	UnauthRateLimitBurst int `env:"UNAUTH_RATE_LIMIT_BURST" envDefault:"30"`
	// TrustedProxies are the addresses or CIDRs whose X-Forwarded-For
	// names the client (comma-separated; none by default).
	TrustedProxies []string `env:"TRUSTED_PROXIES" envSeparator:","`
	// CursorSecret signs page cursors; every instance serving one API must
	// share it. When empty, each process makes its own.
	CursorSecret string `env:"CURSOR_SECRET"`
	// ChainProviderURL is the Esplora-compatible API's base URL.
	ChainProviderURL string `env:"CHAIN_PROVIDER_URL" envDefault:"https://blockstream.info/api"`
	// ChainNetwork is the network the provider serves; addresses of other
	// networks are not synchronised.
	ChainNetwork string `env:"CHAIN_NETWORK" envDefault:"mainnet"`
	// ChainRateLimit caps requests per second to the provider from this
	// process (all its workers share it; 429s lower it for a while).
	ChainRateLimit float64 `env:"CHAIN_RATE_LIMIT" envDefault:"5"`
	// ChainTimeout bounds each provider request but history pages.
	ChainTimeout time.Duration `env:"CHAIN_TIMEOUT" envDefault:"10s"`
	// ChainPageTimeout bounds each history page request: deep pages of a
	// large address make the provider scan the history from its newest
	// entry.
	ChainPageTimeout time.Duration `env:"CHAIN_PAGE_TIMEOUT" envDefault:"60s"`
	// SyncWorkers is how many sync jobs this process runs at once; 0 runs
	// none (syncs are queued for another process, e.g. cointracker worker).
	SyncWorkers int `env:"SYNC_WORKERS" envDefault:"4"`
	// SyncPagesPerRun is how many history pages one sync job walks before
	// it yields its worker and continues in a later job (0: no bound).
	SyncPagesPerRun int `env:"SYNC_PAGES_PER_RUN" envDefault:"200"`
	// SyncInterval is how often every tracked address is re-synchronised.
	SyncInterval time.Duration `env:"SYNC_INTERVAL" envDefault:"10m"`
	// TipInterval is how often the tip is read and recent blocks checked.
	TipInterval time.Duration `env:"TIP_INTERVAL" envDefault:"1m"`
	// MaxAddressesPerUser bounds the addresses a user adds by hand.
	MaxAddressesPerUser int32 `env:"MAX_ADDRESSES_PER_USER" envDefault:"1000"`
	// MaxXpubsPerUser bounds the xpubs a user tracks.
	MaxXpubsPerUser int32 `env:"MAX_XPUBS_PER_USER" envDefault:"20"`
	// MaxDerivedPerXpub bounds the addresses one xpub derives (both
	// chains); at least 40, the two chains' first gap.
	MaxDerivedPerXpub int32 `env:"MAX_DERIVED_PER_XPUB" envDefault:"2000"`
	// ExportsPerUser bounds the CSV exports one user runs at once.
	ExportsPerUser int `env:"EXPORTS_PER_USER" envDefault:"2"`
	// ExportsMax bounds the CSV exports running at once over all users:
	// each holds a database connection from the pool while it runs.
	ExportsMax int `env:"EXPORTS_MAX" envDefault:"2"`
	// ExportMaxRows and ExportMaxDuration bound one CSV export; past
	// either it breaks off.
	ExportMaxRows     int           `env:"EXPORT_MAX_ROWS" envDefault:"1000000"`
	ExportMaxDuration time.Duration `env:"EXPORT_MAX_DURATION" envDefault:"10m"`
	// EventsRetention is how long the change feed keeps events; a cursor
	// older than that answers 410.
	EventsRetention time.Duration `env:"EVENTS_RETENTION" envDefault:"720h"`
	// EventLongPollsPerUser bounds the feed's long-polls one user has
	// waiting at once.
	EventLongPollsPerUser int `env:"EVENTS_LONG_POLLS_PER_USER" envDefault:"4"`
	// WebhooksAllowHTTP accepts plain http webhook URLs: a development
	// setting, never for production (the body travels unencrypted).
	WebhooksAllowHTTP bool `env:"WEBHOOKS_ALLOW_HTTP" envDefault:"false"`
	// WebhooksAllowPrivate lets endpoints be on loopback and private
	// networks: only for an install whose every user is trusted with
	// reaching its network (a single-tenant install).
	WebhooksAllowPrivate bool `env:"WEBHOOKS_ALLOW_PRIVATE" envDefault:"false"`
	// WebhooksPerUser bounds the webhook endpoints one user registers.
	WebhooksPerUser int32 `env:"WEBHOOKS_PER_USER" envDefault:"10"`
	// WebhookTimeout bounds one delivery, connection to last byte.
	WebhookTimeout time.Duration `env:"WEBHOOK_TIMEOUT" envDefault:"10s"`
	// WebhookSecretGrace is how long a rotated secret keeps signing beside
	// the new one.
	WebhookSecretGrace time.Duration `env:"WEBHOOK_SECRET_GRACE" envDefault:"24h"`
	// WebhookWorkers is how many deliveries a worker process sends at once.
	WebhookWorkers int `env:"WEBHOOK_WORKERS" envDefault:"4"`
	// WebhookDisableAfter disables an endpoint that has taken no delivery
	// for this long while one fails.
	WebhookDisableAfter time.Duration `env:"WEBHOOK_DISABLE_AFTER" envDefault:"120h"`
	// SyncCooldown is how long after an address's sync finished a manual
	// sync request only answers the current status.
	SyncCooldown time.Duration `env:"SYNC_COOLDOWN" envDefault:"1m"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"LOG_LEVEL" envDefault:"info"`
	// LogFormat is json or text.
	LogFormat string `env:"LOG_FORMAT" envDefault:"json"`
	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// after SIGTERM.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"20s"`
}

// secretNames lists the variables that may hold secrets. Each may instead
// be given as NAME_FILE, the path of a file holding the value.
var secretNames = []string{"DATABASE_URL", "DATABASE_MIGRATE_URL", "DATABASE_REPLICA_URL", "CURSOR_SECRET", "METRICS_TOKEN"}

// Load reads .env (when present; real environment variables win), resolves
// NAME_FILE variables and parses the environment. It returns every problem
// found, joined, one per line.
func Load() (Config, error) {
	if err := godotenv.Load(); err != nil && !errors.Is(err, os.ErrNotExist) {
		return Config{}, fmt.Errorf(".env: %w", err)
	}
	if err := resolveFiles(secretNames); err != nil {
		return Config{}, err
	}
	cfg, err := env.ParseAs[Config]()
	if err != nil {
		var agg env.AggregateError
		if !errors.As(err, &agg) {
			return Config{}, err
		}
		errs := make([]error, 0, len(agg.Errors))
		for _, e := range agg.Errors {
			errs = append(errs, describe(e))
		}
		return Config{}, errors.Join(errs...)
	}
	// env applies a variable's default when it is set but empty; an empty
	// ADMIN_ADDR is documented to turn the admin listener off.
	if v, ok := os.LookupEnv("ADMIN_ADDR"); ok && v == "" {
		cfg.AdminAddr = ""
	}
	return cfg, nil
}

// describe names the environment variable behind a parse error, where the
// library names the Go field.
func describe(err error) error {
	var perr env.ParseError
	if !errors.As(err, &perr) {
		return err
	}
	field, ok := reflect.TypeFor[Config]().FieldByName(perr.Name)
	if !ok {
		return err
	}
	name, _, _ := strings.Cut(field.Tag.Get("env"), ",")
	return fmt.Errorf("%s is not a valid %s: %w", name, perr.Type, perr.Err)
}

// resolveFiles sets NAME from the file named by NAME_FILE. Giving both is
// an error, so it is never unclear which one is used.
func resolveFiles(names []string) error {
	var errs []error
	for _, name := range names {
		path := os.Getenv(name + "_FILE")
		if path == "" {
			continue
		}
		if os.Getenv(name) != "" {
			errs = append(errs, fmt.Errorf("%s and %s_FILE are both set: set one", name, name))
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s_FILE: %w", name, err))
			continue
		}
		if err := os.Setenv(name, strings.TrimRight(string(b), "\r\n")); err != nil {
			errs = append(errs, fmt.Errorf("%s_FILE: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// ValidateDatabase checks the settings every database command needs.
func (c Config) ValidateDatabase() error {
	var errs []error
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_URL is required (or DATABASE_URL_FILE); scripts/start_db.sh prints one for a local database"))
	} else if _, err := pgxpool.ParseConfig(c.DatabaseURL); err != nil {
		errs = append(errs, fmt.Errorf("DATABASE_URL is malformed: %s", RedactError(err, c.DatabaseURL)))
	}
	if c.DatabaseReplicaURL != "" {
		if _, err := pgxpool.ParseConfig(c.DatabaseReplicaURL); err != nil {
			errs = append(errs, fmt.Errorf("DATABASE_REPLICA_URL is malformed: %s", RedactError(err, c.DatabaseReplicaURL)))
		}
	}
	if c.DatabaseMigrateURL != "" {
		if _, err := pgxpool.ParseConfig(c.DatabaseMigrateURL); err != nil {
			errs = append(errs, fmt.Errorf("DATABASE_MIGRATE_URL is malformed: %s", RedactError(err, c.DatabaseMigrateURL)))
		}
	}
	if c.DatabaseMaxConns < 0 {
		errs = append(errs, errors.New("DATABASE_MAX_CONNS must not be negative"))
	}
	if c.DatabaseStatementTimeout < 0 || c.DatabaseConnectTimeout < 0 {
		errs = append(errs, errors.New("DATABASE_STATEMENT_TIMEOUT and DATABASE_CONNECT_TIMEOUT must not be negative"))
	}
	return errors.Join(errs...)
}

// ValidateSync checks the blockchain provider and sync job settings.
func (c Config) ValidateSync() error {
	var errs []error
	if u, err := url.Parse(c.ChainProviderURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("CHAIN_PROVIDER_URL %q is not an http(s) URL", c.ChainProviderURL))
	}
	if _, ok := btc.Networks[c.ChainNetwork]; !ok {
		errs = append(errs, fmt.Errorf("CHAIN_NETWORK %q is unknown: use mainnet, testnet, signet or regtest", c.ChainNetwork))
	}
	if c.ChainRateLimit <= 0 || c.ChainTimeout <= 0 || c.ChainPageTimeout <= 0 || c.SyncWorkers < 0 || c.SyncInterval <= 0 || c.TipInterval <= 0 {
		errs = append(errs, errors.New("CHAIN_RATE_LIMIT, CHAIN_TIMEOUT, CHAIN_PAGE_TIMEOUT, SYNC_INTERVAL and TIP_INTERVAL must be positive and SYNC_WORKERS not negative"))
	}
	if c.SyncPagesPerRun < 0 {
		errs = append(errs, errors.New("SYNC_PAGES_PER_RUN must not be negative (0: no bound)"))
	}
	if c.MaxDerivedPerXpub < minDerivedPerXpub {
		errs = append(errs, fmt.Errorf("MAX_DERIVED_PER_XPUB must be at least %d: a new xpub derives the first %d addresses of each chain",
			minDerivedPerXpub, minDerivedPerXpub/2))
	}
	return errors.Join(errs...)
}

// minDerivedPerXpub is what a new xpub derives at once: the default gap
// limit (20) on both chains.
const minDerivedPerXpub = 40

// ValidateServe checks everything `cointracker serve` needs.
func (c Config) ValidateServe() error {
	errs := []error{c.ValidateDatabase(), c.validateLogging()}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("HTTP_ADDR %q is not host:port: %w", c.HTTPAddr, err))
	}
	if c.AdminAddr != "" {
		if _, _, err := net.SplitHostPort(c.AdminAddr); err != nil {
			errs = append(errs, fmt.Errorf("ADMIN_ADDR %q is not host:port: %w", c.AdminAddr, err))
		}
	}
	switch c.AuthMode {
	case AuthDev:
		if !IsLoopback(c.HTTPAddr) {
			errs = append(errs, fmt.Errorf("AUTH_MODE=dev only listens on loopback, but HTTP_ADDR is %q: set HTTP_ADDR=127.0.0.1:8000 or use AUTH_MODE=oidc", c.HTTPAddr))
		}
	case AuthOIDC:
		if u, err := url.Parse(c.AuthIssuer); c.AuthIssuer == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, errors.New("AUTH_ISSUER must be the identity vendor's issuer URL in AUTH_MODE=oidc (e.g. https://example.okta.com/oauth2/default)"))
		}
		if c.AuthAudience == "" {
			errs = append(errs, errors.New("AUTH_AUDIENCE is required in AUTH_MODE=oidc: the API's audience (aud claim) at the identity vendor"))
		}
	case "":
		errs = append(errs, errors.New("AUTH_MODE is required: oidc (production) or dev (local development)"))
	default:
		errs = append(errs, fmt.Errorf("AUTH_MODE %q is unknown: use oidc or dev", c.AuthMode))
	}
	errs = append(errs, c.ValidateSync())
	if c.CursorSecret != "" && len(c.CursorSecret) < 32 {
		errs = append(errs, errors.New("CURSOR_SECRET must be at least 32 characters"))
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 32 {
		errs = append(errs, errors.New("METRICS_TOKEN must be at least 32 characters"))
	}
	if c.RateLimitRPS < 0 || c.RateLimitBurst < 1 {
		errs = append(errs, errors.New("RATE_LIMIT_RPS must not be negative and RATE_LIMIT_BURST must be at least 1"))
	}
	if c.UnauthRateLimitRPS < 0 || c.UnauthRateLimitBurst < 1 {
		errs = append(errs, errors.New("UNAUTH_RATE_LIMIT_RPS must not be negative and UNAUTH_RATE_LIMIT_BURST must be at least 1"))
	}
	for _, p := range c.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			errs = append(errs, fmt.Errorf("TRUSTED_PROXIES: %q is neither an IP address nor a CIDR", p))
		}
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("SHUTDOWN_TIMEOUT must be positive"))
	}
	if c.MaxAddressesPerUser < 0 || c.MaxXpubsPerUser < 0 || c.SyncCooldown < 0 ||
		c.ExportsPerUser < 0 || c.ExportsMax < 0 || c.ExportMaxRows < 0 || c.ExportMaxDuration < 0 {
		errs = append(errs, errors.New("MAX_ADDRESSES_PER_USER, MAX_XPUBS_PER_USER, SYNC_COOLDOWN and the EXPORT_* limits must not be negative (0: no bound)"))
	}
	if c.EventsRetention <= 0 || c.EventLongPollsPerUser < 0 {
		errs = append(errs, errors.New("EVENTS_RETENTION must be positive and EVENTS_LONG_POLLS_PER_USER not negative (0: no long-polls)"))
	}
	if c.WebhooksPerUser < 0 || c.WebhookTimeout <= 0 || c.WebhookSecretGrace < 0 || c.WebhookWorkers <= 0 || c.WebhookDisableAfter <= 0 {
		errs = append(errs, errors.New("WEBHOOK_TIMEOUT, WEBHOOK_WORKERS and WEBHOOK_DISABLE_AFTER must be positive, WEBHOOKS_PER_USER and WEBHOOK_SECRET_GRACE not negative"))
	}
	return errors.Join(errs...)
}

func (c Config) validateLogging() error {
	var errs []error
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL %q is unknown: use debug, info, warn or error", c.LogLevel))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("LOG_FORMAT %q is unknown: use json or text", c.LogFormat))
	}
	return errors.Join(errs...)
}

// IsLoopback reports whether a listen address (host:port) only accepts
// connections from this machine. An empty host listens everywhere.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Redacted is the configuration with secrets hidden, for the admin dump.
func (c Config) Redacted() map[string]any {
	set := func(s string) string {
		if s == "" {
			return ""
		}
		return "(set)"
	}
	return map[string]any{
		"DATABASE_URL": RedactURL(c.DatabaseURL), "DATABASE_REPLICA_URL": RedactURL(c.DatabaseReplicaURL),
		"DATABASE_MIGRATE_URL": RedactURL(c.DatabaseMigrateURL), "DATABASE_APP_ROLE": c.DatabaseAppRole,
		"DATABASE_MAX_CONNS": c.DatabaseMaxConns, "DATABASE_STATEMENT_TIMEOUT": c.DatabaseStatementTimeout.String(),
		"DATABASE_CONNECT_TIMEOUT": c.DatabaseConnectTimeout.String(), "HTTP_ADDR": c.HTTPAddr, "ADMIN_ADDR": c.AdminAddr,
		"AUTH_MODE": c.AuthMode, "AUTH_ISSUER": c.AuthIssuer, "AUTH_AUDIENCE": c.AuthAudience, "AUTH_REQUIRE_AT_JWT": c.AuthRequireATJWT, "DEV_KEY_FILE": c.DevKeyFile,
		"RATE_LIMIT_RPS": c.RateLimitRPS, "RATE_LIMIT_BURST": c.RateLimitBurst,
		"UNAUTH_RATE_LIMIT_RPS": c.UnauthRateLimitRPS, "UNAUTH_RATE_LIMIT_BURST": c.UnauthRateLimitBurst, "TRUSTED_PROXIES": c.TrustedProxies, "CURSOR_SECRET": set(c.CursorSecret), "METRICS_TOKEN": set(c.MetricsToken),
		"CHAIN_PROVIDER_URL": c.ChainProviderURL, "CHAIN_NETWORK": c.ChainNetwork, "CHAIN_RATE_LIMIT": c.ChainRateLimit,
		"CHAIN_TIMEOUT": c.ChainTimeout.String(), "CHAIN_PAGE_TIMEOUT": c.ChainPageTimeout.String(), "SYNC_WORKERS": c.SyncWorkers, "SYNC_PAGES_PER_RUN": c.SyncPagesPerRun, "SYNC_INTERVAL": c.SyncInterval.String(),
		"TIP_INTERVAL": c.TipInterval.String(), "LOG_LEVEL": c.LogLevel, "LOG_FORMAT": c.LogFormat,
		"SHUTDOWN_TIMEOUT": c.ShutdownTimeout.String(), "MAX_ADDRESSES_PER_USER": c.MaxAddressesPerUser,
		"MAX_XPUBS_PER_USER": c.MaxXpubsPerUser, "MAX_DERIVED_PER_XPUB": c.MaxDerivedPerXpub, "SYNC_COOLDOWN": c.SyncCooldown.String(),
		"EXPORTS_PER_USER": c.ExportsPerUser, "EXPORTS_MAX": c.ExportsMax, "EXPORT_MAX_ROWS": c.ExportMaxRows, "EXPORT_MAX_DURATION": c.ExportMaxDuration.String(),
		"EVENTS_RETENTION": c.EventsRetention.String(), "EVENTS_LONG_POLLS_PER_USER": c.EventLongPollsPerUser,
		"WEBHOOKS_ALLOW_HTTP": c.WebhooksAllowHTTP, "WEBHOOKS_ALLOW_PRIVATE": c.WebhooksAllowPrivate, "WEBHOOKS_PER_USER": c.WebhooksPerUser,
		"WEBHOOK_TIMEOUT": c.WebhookTimeout.String(), "WEBHOOK_SECRET_GRACE": c.WebhookSecretGrace.String(),
		"WEBHOOK_WORKERS": c.WebhookWorkers, "WEBHOOK_DISABLE_AFTER": c.WebhookDisableAfter.String(),
	}
}

// MigrateURL is the connection `migrate` uses: DATABASE_MIGRATE_URL, or
// DATABASE_URL when that is unset (the local cluster, one role for all).
func (c Config) MigrateURL() string {
	if c.DatabaseMigrateURL != "" {
		return c.DatabaseMigrateURL
	}
	return c.DatabaseURL
}
