package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cointracker/cointracker/chain/chaintest"
	"github.com/cointracker/cointracker/db/dbtest"
)

// runCmd runs the command line in-process and returns its exit code and
// what it wrote.
func runCmd(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// clearEnv isolates a test from the developer's environment.
func clearEnv(t *testing.T) {
	for _, name := range []string{"DATABASE_URL", "DATABASE_URL_FILE", "DATABASE_REPLICA_URL", "HTTP_ADDR",
		"AUTH_MODE", "AUTH_ISSUER", "AUTH_AUDIENCE", "LOG_LEVEL", "LOG_FORMAT", "CURSOR_SECRET", "METRICS_TOKEN"} {
		t.Setenv(name, "")
	}
	t.Setenv("DEV_KEY_FILE", filepath.Join(t.TempDir(), "dev-key.pem"))
	t.Setenv("ADMIN_ADDR", "")
	t.Setenv("LOG_FORMAT", "json")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func get(ctx context.Context, url string, header ...string) (*http.Response, error) {
	return send(ctx, http.MethodGet, url, "", header...)
}

func post(ctx context.Context, url, body string, header ...string) (*http.Response, error) {
	return send(ctx, http.MethodPost, url, body, append(header, "Content-Type", "application/json")...)
}

func send(ctx context.Context, method, url, body string, header ...string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return http.DefaultClient.Do(req)
}

func TestUsage(t *testing.T) {
	clearEnv(t)
	ctx := context.Background()
	if code, _, errOut := runCmd(ctx); code != 2 || !strings.Contains(errOut, "usage") {
		t.Fatalf("no arguments: %d %q", code, errOut)
	}
	if code, _, errOut := runCmd(ctx, "frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: %d %q", code, errOut)
	}
	if code, out, _ := runCmd(ctx, "version"); code != 0 || !strings.HasPrefix(out, "cointracker ") {
		t.Fatalf("version: %d %q", code, out)
	}
	if code, _, errOut := runCmd(ctx, "migrate"); code != 2 || !strings.Contains(errOut, "subcommand") {
		t.Fatalf("migrate alone: %d %q", code, errOut)
	}
	if code, _, errOut := runCmd(ctx, "migrate", "sideways"); code != 2 || !strings.Contains(errOut, "DATABASE_URL is required") {
		t.Fatalf("migrate without a database: %d %q", code, errOut)
	}
}

// TestBadInputGetsOneClearLine covers the failures an operator meets
// first: each is one log line, a non-zero exit and no panic trace.
func TestBadInputGetsOneClearLine(t *testing.T) {
	clearEnv(t)
	ctx := context.Background()
	var lc net.ListenConfig
	busy, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = busy.Close() }()
	tooNew := dbtest.NewURL(t)
	conn, err := pgx.Connect(ctx, tooNew)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)"); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)

	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"malformed DATABASE_URL", map[string]string{"DATABASE_URL": "postgres://u:hunter2@[::1"}, []string{"migrate", "up"}, 2, "DATABASE_URL is malformed"},
		{"unreachable database", map[string]string{"DATABASE_URL": "postgres://u:hunter2@127.0.0.1:1/x?connect_timeout=2"}, []string{"migrate", "up"}, 1, "connect to database"},
		{"port in use", map[string]string{"DATABASE_URL": dbtest.NewURL(t), "AUTH_MODE": "dev", "HTTP_ADDR": busy.Addr().String()}, []string{"serve"}, 1, "listen on HTTP_ADDR"},
		{"schema too new", map[string]string{"DATABASE_URL": tooNew, "AUTH_MODE": "dev", "HTTP_ADDR": freeAddr(t)}, []string{"serve"}, 1, "newer than this binary"},
		{"dev mode on all interfaces", map[string]string{"DATABASE_URL": tooNew, "AUTH_MODE": "dev", "HTTP_ADDR": ":8000"}, []string{"serve"}, 2, "only listens on loopback"},
		{"bad duration", map[string]string{"SHUTDOWN_TIMEOUT": "soon"}, []string{"serve"}, 2, "SHUTDOWN_TIMEOUT is not a valid"},
		{"worker without workers", map[string]string{"DATABASE_URL": tooNew, "SYNC_WORKERS": "0"}, []string{"worker"}, 2, "SYNC_WORKERS must be at least 1"},
		{"worker without a database", nil, []string{"worker"}, 2, "DATABASE_URL is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, _, errOut := runCmd(ctx, tc.args...)
			if code != tc.code {
				t.Fatalf("exit code %d, want %d; stderr %s", code, tc.code, errOut)
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			last := lines[len(lines)-1]
			if !strings.Contains(last, tc.want) || !strings.Contains(last, `"level":"ERROR"`) {
				t.Fatalf("last line %q does not say %q", last, tc.want)
			}
			if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "hunter2") {
				t.Fatalf("stderr has a panic trace or a password:\n%s", errOut)
			}
		})
	}
}

// TestServeAndMigrate drives the real commands end to end: migrate an
// empty database, serve it, answer requests, and stop on cancellation.
func TestServeAndMigrate(t *testing.T) {
	clearEnv(t)
	addr, adminAddr := freeAddr(t), freeAddr(t)
	dbURL := dbtest.NewEmptyURL(t)
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("AUTH_MODE", "dev")
	t.Setenv("HTTP_ADDR", addr)
	t.Setenv("ADMIN_ADDR", adminAddr)
	t.Setenv("CURSOR_SECRET", strings.Repeat("s3cr3t", 6))
	t.Setenv("LOG_LEVEL", "debug") // query logs too: still no secret
	// The sync jobs run against a fake provider holding the address's history.
	fake := chaintest.New()
	defer fake.Close()
	const address = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
	fake.History(address, 30, 3)
	t.Setenv("CHAIN_PROVIDER_URL", fake.URL)
	t.Setenv("SYNC_WORKERS", "2")

	if code, _, errOut := runCmd(context.Background(), "migrate", "up"); code != 0 {
		t.Fatalf("migrate up: %d %s", code, errOut)
	}
	code, out, _ := runCmd(context.Background(), "migrate", "status")
	if code != 0 || strings.Count(out, "applied") != strings.Count(out, "\n") || !strings.Contains(out, "00001") {
		t.Fatalf("migrate status: %d\n%s", code, out)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() { done <- run(ctx, []string{"serve"}, os.Stdout, &stderr) }()

	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := get(ctx, base+"/readyz")
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never became ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, token, _ := runCmd(ctx, "dev-token", "--subject", "alice")
	if code != 0 || strings.Count(strings.TrimSpace(token), ".") != 2 {
		t.Fatalf("dev-token: %d %q", code, token)
	}
	auth := []string{"Authorization", "Bearer " + strings.TrimSpace(token)}
	for _, path := range []string{"/v1/addresses", "/v1/me", "/docs/index.html", "/docs/doc.json"} {
		res, err := get(ctx, base+path, auth...)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", path, res.StatusCode)
		}
	}
	if res, err := get(ctx, base+"/v1/me"); err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /v1/me without a token = %v %v, want 401", res, err)
	} else {
		_ = res.Body.Close()
	}
	// The admin listener: pprof, and the configuration without secrets.
	for _, path := range []string{"/debug/pprof/", "/debug/config"} {
		res, err := get(ctx, "http://"+adminAddr+path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("admin %s = %d", path, res.StatusCode)
		}
		if u, _ := neturl.Parse(dbURL); u != nil {
			if pw, ok := u.User.Password(); ok && strings.Contains(string(body), pw) {
				t.Fatalf("admin %s shows the database password", path)
			}
		}
		if strings.Contains(string(body), "s3cr3t") {
			t.Fatalf("admin %s shows the cursor secret", path)
		}
	}
	if code, _, _ := runCmd(ctx, "dev-token"); code != 2 {
		t.Fatalf("dev-token without --subject exits %d, want 2", code)
	}
	// Tracking an address queues its sync, which the serve process works.
	res, err := post(ctx, base+"/v1/addresses", `{"address": "`+address+`"}`, auth...)
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("POST /v1/addresses = %v %v", res, err)
	}
	var created struct {
		ID int64 `json:"id"`
	}
	_ = json.NewDecoder(res.Body).Decode(&created)
	_ = res.Body.Close()
	for deadline := time.Now().Add(20 * time.Second); ; {
		var got struct {
			Sync struct {
				Status     string `json:"status"`
				TxsFetched int    `json:"txs_fetched"`
			} `json:"sync"`
		}
		res, err := get(ctx, base+"/v1/addresses/"+strconv.FormatInt(created.ID, 10), auth...)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(res.Body).Decode(&got)
		_ = res.Body.Close()
		if got.Sync.Status == "done" && got.Sync.TxsFetched == 30 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the address's sync is %+v after 20 s", got.Sync)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d after cancellation", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after cancellation")
	}
	// The logs (debug level: every request and query) hold no secret.
	logs := stderr.String()
	secrets := []string{"s3cr3t", strings.TrimSpace(token)}
	if u, _ := neturl.Parse(dbURL); u != nil {
		if pw, ok := u.User.Password(); ok {
			secrets = append(secrets, pw)
		}
	}
	for _, secret := range secrets {
		if strings.Contains(logs, secret) {
			t.Fatalf("the logs hold a secret (%.6s…)", secret)
		}
	}
	if !strings.Contains(logs, `"msg":"address synchronised"`) || !strings.Contains(logs, `"query"`) {
		t.Fatalf("the logs lack the sync or the query lines:\n%.2000s", logs)
	}
}

func TestMigrateCreate(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "migrations"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	code, out, errOut := runCmd(context.Background(), "migrate", "create", "add_notes")
	if code != 0 || strings.TrimSpace(out) != filepath.Join("migrations", "00001_add_notes.sql") {
		t.Fatalf("migrate create: %d %q %q", code, out, errOut)
	}
	if code, _, _ := runCmd(context.Background(), "migrate", "create", "Bad Name"); code == 0 {
		t.Fatal("migrate create accepted a bad name")
	}

}

func TestSeedCommand(t *testing.T) {
	clearEnv(t)
	url := dbtest.NewURL(t)
	t.Setenv("DATABASE_URL", url)
	ctx := context.Background()
	count := func() (n int) {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close(ctx) }()
		if err := conn.QueryRow(ctx, "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM transactions)").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	for _, bad := range [][]string{
		{"seed", "--users", "-1"},
		{"seed", "--scale", "huge"},
		{"seed", "--users", "5", "--addresses", "2"},
		{"seed", "--transactions", "lots"},
		{"seed", "extra"},
	} {
		code, _, errOut := runCmd(ctx, bad...)
		if code != 2 || !strings.Contains(errOut, "invalid configuration") {
			t.Errorf("%v: exit %d, stderr %s", bad, code, errOut)
		}
	}
	if n := count(); n != 0 {
		t.Fatalf("bad flags wrote %d rows", n)
	}

	code, _, errOut := runCmd(ctx, "seed", "--users", "2", "--addresses", "4", "--transactions", "50")
	if code != 0 || !strings.Contains(errOut, `"transactions":50`) {
		t.Fatalf("seed: %d %s", code, errOut)
	}
	if n := count(); n != 52 {
		t.Fatalf("seeded %d users + transactions, want 52", n)
	}
	code, _, errOut = runCmd(ctx, "seed", "--if-empty", "--transactions", "80")
	if code != 0 || !strings.Contains(errOut, "seed skipped") || count() != 52 {
		t.Fatalf("seed --if-empty on a seeded database: %d %s", code, errOut)
	}

	// The seeded ledger's stored aggregates are exact; verify says which
	// one is not once it is changed behind the triggers' back.
	if code, out, errOut := runCmd(ctx, "verify"); code != 0 || out != "" || !strings.Contains(errOut, "match the ledger") {
		t.Fatalf("verify after seeding: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var addressID int64
	if err := conn.QueryRow(ctx, "UPDATE address_totals SET sent_sats = sent_sats + 1 WHERE address_id = (SELECT min(address_id) FROM address_totals) RETURNING address_id").Scan(&addressID); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(ctx, "verify")
	if code != 1 || !strings.Contains(out, fmt.Sprintf("address %d totals: stored", addressID)) || !strings.Contains(errOut, "differ from the ledger") {
		t.Fatalf("verify after a change behind the triggers: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	// Put back, so the test database's own check at cleanup passes.
	if _, err := conn.Exec(ctx, "UPDATE address_totals SET sent_sats = sent_sats - 1 WHERE address_id = $1", addressID); err != nil {
		t.Fatal(err)
	}
	// A month that disagrees with the ledger is named too.
	var month time.Time
	if err := conn.QueryRow(ctx, `UPDATE address_months SET net_sats = net_sats + 1
		WHERE (address_id, month) = (SELECT address_id, month FROM address_months ORDER BY 1, 2 LIMIT 1)
		RETURNING address_id, month`).Scan(&addressID, &month); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCmd(ctx, "verify")
	if want := fmt.Sprintf("address %d month %s: stored", addressID, month.Format(time.DateOnly)); code != 1 || !strings.Contains(out, want) {
		t.Fatalf("verify after a month changed behind the triggers: exit %d, stdout %q, want %q", code, out, want)
	}
	if _, err := conn.Exec(ctx, "UPDATE address_months SET net_sats = net_sats - 1 WHERE address_id = $1 AND month = $2", addressID, month); err != nil {
		t.Fatal(err)
	}
}

// TestGracefulShutdown runs 20 clients against the server and stops it
// (as SIGTERM does) mid-load: every request the server accepted gets its
// complete response; only connections made after it stopped listening are
// refused.
func TestGracefulShutdown(t *testing.T) {
	clearEnv(t)
	addr := freeAddr(t)
	url := dbtest.NewURL(t)
	t.Setenv("DATABASE_URL", url)
	t.Setenv("AUTH_MODE", "dev")
	t.Setenv("HTTP_ADDR", addr)
	t.Setenv("RATE_LIMIT_RPS", "0")
	t.Setenv("EXPORTS_PER_USER", "0") // twenty exports of one user at once: the load this test needs
	t.Setenv("EXPORTS_MAX", "0")
	fake := chaintest.New() // the sync jobs run too, against a provider that answers
	defer fake.Close()
	t.Setenv("CHAIN_PROVIDER_URL", fake.URL)
	if code, _, errOut := runCmd(context.Background(), "seed", "--users", "1", "--addresses", "5", "--transactions", "3000"); code != 0 {
		t.Fatalf("seed: %s", errOut)
	}
	_, token, _ := runCmd(context.Background(), "dev-token", "--subject", "user-1")
	token = strings.TrimSpace(token)

	// The real binary, stopped the way an orchestrator stops it.
	serve := exec.CommandContext(context.Background(), buildBinary(t), "serve")
	var logs bytes.Buffer
	serve.Stdout, serve.Stderr = &logs, &logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve.Wait() }()
	base := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if res, err := get(context.Background(), base+"/readyz"); err == nil {
			_ = res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server never came up")
		}
	}

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var completed, refused, unread atomic.Int64
	var wg sync.WaitGroup
	failures := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			for {
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, base+"/v1/transactions/export.csv", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := client.Do(req)
				if err != nil {
					var opErr *net.OpError
					if errors.As(err, &opErr) && opErr.Op == "dial" {
						refused.Add(1)
						return // the server stopped accepting: expected
					}
					if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
						// Closed without a byte of answer: the connection sat
						// in the kernel's accept queue when the listener
						// closed, and the server never read the request. The
						// server's own log below proves it handled no more
						// than the clients received.
						unread.Add(1)
						return
					}
					failures <- fmt.Errorf("accepted request failed: %w", err)
					return
				}
				body, err := io.ReadAll(res.Body)
				_ = res.Body.Close()
				if err != nil || res.StatusCode != http.StatusOK || !bytes.HasSuffix(body, []byte("\n")) || bytes.Count(body, []byte("\n")) < 3000 {
					failures <- fmt.Errorf("incomplete response: status %d, %d bytes, %w", res.StatusCode, len(body), err)
					return
				}
				completed.Add(1)
			}
		})
	}
	time.Sleep(700 * time.Millisecond)
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Error(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve after SIGTERM: %v\n%s", err, logs.String())
	}
	if completed.Load() == 0 || refused.Load()+unread.Load() == 0 {
		t.Fatalf("%d completed, %d refused, %d unread: the test did not stop the server under load",
			completed.Load(), refused.Load(), unread.Load())
	}
	// Every request the server handled (one access-log line each) reached
	// its client whole.
	handled := int64(strings.Count(logs.String(), `"route":"/v1/transactions/export.csv"`))
	if handled != completed.Load() {
		t.Fatalf("the server handled %d exports, the clients received %d whole (%d refused, %d unread)",
			handled, completed.Load(), refused.Load(), unread.Load())
	}
}

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// TestMain removes the binary buildBinary made.
func TestMain(m *testing.M) {
	code := m.Run()
	if binaryPath != "" {
		_ = os.RemoveAll(filepath.Dir(binaryPath))
	}
	os.Exit(code)
}

// buildBinary builds cointracker once per test run and returns its path.
func buildBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cointracker-bin-")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "cointracker")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", binaryPath, ".").CombinedOutput()
		if err != nil {
			binaryErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}
