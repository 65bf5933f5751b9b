package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func valid() Config {
	return Config{
		DatabaseURL:          "postgres://u:p@127.0.0.1:5432/db",
		HTTPAddr:             "127.0.0.1:8000",
		AuthMode:             AuthDev,
		ChainProviderURL:     "https://blockstream.info/api",
		LogLevel:             "info",
		LogFormat:            "json",
		ShutdownTimeout:      1,
		RateLimitBurst:       1,
		ChainNetwork:         "mainnet",
		ChainRateLimit:       5,
		ChainTimeout:         1,
		ChainPageTimeout:     1,
		SyncWorkers:          1,
		SyncInterval:         1,
		TipInterval:          1,
		MaxDerivedPerXpub:    2000,
		UnauthRateLimitBurst: 1,
		EventsRetention:      1,
		WebhookTimeout:       1,
		WebhookWorkers:       1,
		WebhookDisableAfter:  1,
	}
}

func TestValidateServe(t *testing.T) {
	if err := valid().ValidateServe(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	cases := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no database", func(c *Config) { c.DatabaseURL = "" }, "DATABASE_URL is required"},
		{"derived limit below the first gap", func(c *Config) { c.MaxDerivedPerXpub = 39 }, "MAX_DERIVED_PER_XPUB must be at least 40"},
		{"negative quota", func(c *Config) { c.MaxXpubsPerUser = -1 }, "MAX_XPUBS_PER_USER"},
		{"bad proxy", func(c *Config) { c.TrustedProxies = []string{"10.0.0.0/8", "proxy.internal"} }, `"proxy.internal" is neither`},
		{"malformed database", func(c *Config) { c.DatabaseURL = "postgres://u:hunter2@[::1" }, "DATABASE_URL is malformed"},
		{"malformed replica", func(c *Config) { c.DatabaseReplicaURL = "postgres://u:hunter2@[::1" }, "DATABASE_REPLICA_URL is malformed"},
		{"dev off loopback", func(c *Config) { c.HTTPAddr = ":8000" }, "only listens on loopback"},
		{"no auth mode", func(c *Config) { c.AuthMode = "" }, "AUTH_MODE is required"},
		{"unknown auth mode", func(c *Config) { c.AuthMode = "none" }, "AUTH_MODE \"none\" is unknown"},
		{"oidc without issuer", func(c *Config) { c.AuthMode, c.AuthAudience = "oidc", "api" }, "AUTH_ISSUER"},
		{"oidc without audience", func(c *Config) { c.AuthMode, c.AuthIssuer = "oidc", "https://id.example.com" }, "AUTH_AUDIENCE"},
		{"bad burst", func(c *Config) { c.RateLimitBurst = 0 }, "RATE_LIMIT_BURST"},
		{"bad addr", func(c *Config) { c.HTTPAddr = "8000" }, "HTTP_ADDR \"8000\" is not host:port"},
		{"bad provider", func(c *Config) { c.ChainProviderURL = "ftp://x" }, "CHAIN_PROVIDER_URL"},
		{"bad level", func(c *Config) { c.LogLevel = "loud" }, "LOG_LEVEL"},
		{"bad format", func(c *Config) { c.LogFormat = "xml" }, "LOG_FORMAT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.change(&c)
			err := c.ValidateServe()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
	// Every problem is reported at once, one per line.
	c := valid()
	c.DatabaseURL, c.AuthMode, c.LogFormat = "", "", "xml"
	if n := strings.Count(c.ValidateServe().Error(), "\n") + 1; n != 3 {
		t.Fatalf("reported %d problems, want 3", n)
	}
}

func TestLoadFromFileVariables(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dsn")
	if err := os.WriteFile(path, []byte("postgres://u:from-file@db/x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", "")
	t.Setenv("DATABASE_URL_FILE", path)
	cfg, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DatabaseURL != "postgres://u:from-file@db/x" {
		t.Fatalf("DATABASE_URL = %q, want the file's contents without the newline", cfg.DatabaseURL)
	}
	if cfg.HTTPAddr != ":8000" || cfg.LogLevel != "info" {
		t.Fatalf("defaults not applied: %+v", cfg)
	}

	t.Setenv("DATABASE_URL", "postgres://both")
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), "both set") {
		t.Fatalf("both set: %v", err)
	}
	t.Setenv("DATABASE_URL", "")
	t.Setenv("DATABASE_URL_FILE", filepath.Join(t.TempDir(), "missing"))
	if _, err := Load(); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestLoadRejectsBadTypes(t *testing.T) {
	t.Setenv("SHUTDOWN_TIMEOUT", "soon")
	t.Setenv("DATABASE_MAX_CONNS", "many")
	_, err := Load()
	if err == nil || !strings.Contains(err.Error(), "SHUTDOWN_TIMEOUT") || !strings.Contains(err.Error(), "DATABASE_MAX_CONNS") {
		t.Fatalf("error = %v, want both variables named", err)
	}
}

// TestEmptyAdminAddrTurnsItOff: ADMIN_ADDR set to "" turns the admin
// listener off, as documented; unset, it listens on its default.
func TestEmptyAdminAddrTurnsItOff(t *testing.T) {
	t.Chdir(t.TempDir()) // no .env
	t.Setenv("ADMIN_ADDR", "")
	cfg, err := Load()
	if err != nil || cfg.AdminAddr != "" {
		t.Fatalf("ADMIN_ADDR= gives %q (%v), want off", cfg.AdminAddr, err)
	}
	if err := os.Unsetenv("ADMIN_ADDR"); err != nil {
		t.Fatal(err)
	}
	if cfg, err = Load(); err != nil || cfg.AdminAddr != "127.0.0.1:6060" {
		t.Fatalf("ADMIN_ADDR unset gives %q (%v), want the default", cfg.AdminAddr, err)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8000": true, "localhost:8000": true, "[::1]:8000": true, "127.5.5.5:1": true,
		":8000": false, "0.0.0.0:8000": false, "10.0.0.1:8000": false, "example.com:80": false, "junk": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestRedact covers every form of connection string pgconn.ParseConfig
// accepts, with the password in each place it can be: the description
// names user, hosts, ports and database, and never a secret.
func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://u:hunter2@h:5432/db?sslmode=disable", "postgres://u@h:5432/db"},
		{"postgresql://u@h/db?password=hunter2&sslmode=disable", "postgres://u@h:5432/db"},
		{"postgres://u@h/db?sslmode=disable&sslpassword=hunter2", "postgres://u@h:5432/db"},
		{"postgres://u:hun%40ter2@h1:5433,h2:5434/db?sslmode=disable", "postgres://u@h1:5433,h2:5434/db"},
		{"postgres://u:hunter2@h/db", "postgres://u@h:5432/db"}, // sslmode=prefer: two configs per host
		{"host=h user=u password=hunter2 dbname=d sslmode=disable", "postgres://u@h:5432/d"},
		{"host=h user=u password = hunter2 dbname=d sslmode=disable", "postgres://u@h:5432/d"},
		{"host=h user=u password='hun ter2' dbname=d sslmode=disable", "postgres://u@h:5432/d"},
		{`host=h user=u password='hun\'ter2' dbname=d sslmode=disable`, "postgres://u@h:5432/d"},
		{"host=h user=u sslpassword=hunter2 dbname=d sslmode=disable", "postgres://u@h:5432/d"},
		{"host=/var/run/postgresql port=5433 user=u password=hunter2 dbname=d", "postgres://u@/var/run/postgresql:5433/d"},
		{"postgres://u:hunter2@h/db?connect_timeout=nope", "(unparseable connection string)"},
		{"host=h password='hunter2", "(unparseable connection string)"},
		{"", ""},
	} {
		got := RedactURL(tc.in)
		if got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.Contains(got, "hun") {
			t.Errorf("RedactURL(%q) kept the password: %q", tc.in, got)
		}
		if tc.in != "" {
			msg := RedactError(errors.New("cannot parse `"+tc.in+"`: bad"), tc.in)
			if strings.Contains(msg, "hunter2") || strings.Contains(msg, "hun ter2") || strings.Contains(msg, "hun%40ter2") ||
				strings.Contains(msg, "hun@ter2") || strings.Contains(msg, `hun\'ter2`) {
				t.Errorf("RedactError(%q) kept the password: %s", tc.in, msg)
			}
		}
	}
}
