package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cointracker/cointracker/auth"
	"github.com/cointracker/cointracker/db"
)

// countUsers counts the seeded demo users (user-1 … user-N).
func countUsers(ctx context.Context, dbURL string) (int, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer func() { _ = conn.Close(ctx) }()
	var n int
	err = conn.QueryRow(ctx, "SELECT count(*) FROM users WHERE issuer = $1 AND subject LIKE 'user-%'", auth.DevIssuer).Scan(&n)
	if err == nil && n == 0 {
		err = errors.New("the database has no demo users: seed it first (make bench does)")
	}
	return n, err
}

// devTokens signs a token for user-1 … user-n; tokens[i] is user-i's.
func devTokens(keyFile string, n int) ([]string, error) {
	key, err := auth.LoadOrCreateDevKey(keyFile)
	if err != nil {
		return nil, err
	}
	tokens := make([]string, n+1)
	for i := 1; i <= n; i++ {
		if tokens[i], err = auth.DevToken(key, "user-"+strconv.Itoa(i), 2*time.Hour); err != nil {
			return nil, err
		}
	}
	return tokens, nil
}

// item is the part of a transaction list item that places it.
type item struct {
	Txid        string     `json:"txid"`
	AddressID   int64      `json:"address_id"`
	BlockHeight *int32     `json:"block_height"`
	BlockTime   *time.Time `json:"block_time"`
}

// position is a confirmed item's keyset position: its block's time and
// height, its txid and its watch-list entry.
func (it item) position() (db.HistoryPosition, error) {
	txid, err := hex.DecodeString(it.Txid)
	if err != nil || it.BlockHeight == nil || it.BlockTime == nil {
		return db.HistoryPosition{}, fmt.Errorf("the deep page ends on a pending or malformed row: %+v", it)
	}
	return db.HistoryPosition{Time: *it.BlockTime, Height: *it.BlockHeight, Txid: txid, EntryID: it.AddressID}, nil
}

// pgbench runs the handler's SQL with pgbench.
type pgbench struct {
	binary, dbURL, dir string
	minUserID          int64
	user1ID            int64
	scripts            map[string]string
	// defines are each script's -D name=value arguments.
	defines map[string][]string
}

// newPgbench writes one pgbench script per scenario, with the exact SQL
// the handler sends and the arguments it would pass.
func newPgbench(ctx context.Context, dbURL, dir string, deepPos db.HistoryPosition, users int) (*pgbench, error) {
	bindir, err := exec.CommandContext(ctx, "pg_config", "--bindir").Output()
	if err != nil {
		return nil, fmt.Errorf("find pgbench (pg_config --bindir): %w", err)
	}
	p := &pgbench{binary: filepath.Join(strings.TrimSpace(string(bindir)), "pgbench"), dbURL: dbURL, dir: dir,
		scripts: map[string]string{}, defines: map[string][]string{}}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close(ctx) }()
	var maxID, count int64
	if err := conn.QueryRow(ctx, "SELECT min(id), max(id), count(*) FROM users WHERE issuer = $1", auth.DevIssuer).Scan(&p.minUserID, &maxID, &count); err != nil {
		return nil, err
	}
	if maxID-p.minUserID+1 != count {
		return nil, errors.New("demo user ids are not contiguous: pgbench cannot pick them at random")
	}
	if err := conn.QueryRow(ctx, "SELECT id FROM users WHERE issuer = $1 AND subject = 'user-1'", auth.DevIssuer).Scan(&p.user1ID); err != nil {
		return nil, err
	}
	// The page the handler asks db.History for: its first page, limit 50.
	base := db.HistoryFilter{UserID: randomUserMarker, Statuses: []string{"confirmed", "pending"},
		From: db.MinTime, To: db.MaxTime, MaxAmount: math.MaxInt64}
	filtered := base
	filtered.Direction, filtered.From = "outgoing", time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	user1 := base
	user1.UserID = p.user1ID
	for name, page := range map[string]struct {
		filter db.HistoryFilter
		after  db.HistoryPosition
	}{
		"page 1": {base, base.Start()}, "filtered": {filtered, filtered.Start()},
		"user-1 page 1": {user1, user1.Start()}, "page 2,000": {user1, deepPos},
	} {
		c := &db.Capture{}
		if _, _, err := db.New(c).History(ctx, page.filter, page.after, 50); !errors.Is(err, db.ErrCaptured) {
			return nil, fmt.Errorf("capture SQL: %w", err)
		}
		params := page.filter
		script, defines, err := p.script(c, params.UserID == randomUserMarker, users)
		if err != nil {
			return nil, err
		}
		p.defines[name] = defines
		path := filepath.Join(dir, strings.NewReplacer(" ", "-", ",", "").Replace(name)+".sql")
		if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
			return nil, err
		}
		p.scripts[name] = path
	}
	return p, nil
}

var placeholder = regexp.MustCompile(`\$(\d+)`)

// randomUserMarker stands for the user id in captured arguments; the
// script draws a random demo user there instead.
const randomUserMarker = -4242

// script turns the captured statement into a pgbench script that sends
// it as the server does: every argument stays a parameter (a pgbench
// variable given with -D, returned as defines), so with -M prepared
// pgbench prepares the very statement the server prepares and PostgreSQL
// plans both alike (a generic plan after five runs, where inlined
// literals would let it fold the filters into the plan), but for an
// empty string, which -D cannot carry and stays a literal. With
// randomUser the user id is drawn per transaction instead.
func (p *pgbench) script(c *db.Capture, randomUser bool, users int) (string, []string, error) {
	var defines []string
	defined := map[int]bool{}
	var failed error
	sql := placeholder.ReplaceAllStringFunc(c.SQL, func(m string) string {
		n, _ := strconv.Atoi(m[1:])
		if v, ok := c.Args[n-1].(int64); ok && v == randomUserMarker && randomUser {
			return ":uid"
		}
		if v, ok := c.Args[n-1].(string); ok && v == "" {
			return "''" // pgbench's -D cannot carry an empty value
		}
		if !defined[n] {
			value, err := textValue(c.Args[n-1])
			if err != nil {
				failed = err
			}
			defines, defined[n] = append(defines, "-D", fmt.Sprintf("a%d=%s", n, value)), true
		}
		return fmt.Sprintf(":a%d", n)
	})
	if failed != nil {
		return "", nil, failed
	}
	// Drop comments (sqlc's "-- name:" line among them), then put the
	// statement on one line: pgbench ends it at the semicolon.
	var lines []string
	for _, line := range strings.Split(sql, "\n") {
		if code, _, _ := strings.Cut(line, "--"); strings.TrimSpace(code) != "" {
			lines = append(lines, code)
		}
	}
	sql = strings.Join(strings.Fields(strings.Join(lines, " ")), " ")
	header := ""
	if randomUser {
		header = fmt.Sprintf("\\set uid random(%d, %d)\n", p.minUserID, p.minUserID+int64(users)-1)
	}
	return header + sql + ";\n", defines, nil
}

// textValue is an argument in PostgreSQL's text input form; the
// statement's casts give each parameter its type.
func textValue(a any) (string, error) {
	switch v := a.(type) {
	case bool:
		return strconv.FormatBool(v), nil
	case int32:
		return strconv.FormatInt(int64(v), 10), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case string:
		return v, nil
	case []byte:
		return `\x` + hex.EncodeToString(v), nil
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano), nil
	case []string:
		return "{" + strings.Join(v, ",") + "}", nil
	}
	return "", fmt.Errorf("no pgbench value for %T", a)
}

// run runs a scenario's script with clients connections: a warm-up,
// then the measured window w, on the same connections in one pgbench run.
// A fresh PostgreSQL connection takes a while to reach full speed (its
// caches fill, its prepared statement settles on a plan), so the figures
// come only from the transactions that completed in the window. They are
// read from pgbench's per-transaction log (-l: each line says when the
// transaction completed and how long it took), which gives the window's
// latencies as well as its throughput; --progress would give throughput
// alone.
func (p *pgbench) run(ctx context.Context, name string, clients int, w window) (result, error) {
	prefix := filepath.Join(p.dir, "log-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	// One second past the window, so pgbench's own start (connecting every
	// client) never leaves the window's end short.
	seconds := int((w.warmup + w.length).Seconds()) + 1
	args := append([]string{"-n", "-M", "prepared", "-c", strconv.Itoa(clients), "-j", "2",
		"-T", strconv.Itoa(seconds), "-f", p.scripts[name], "-l", "--log-prefix", prefix}, p.defines[name]...)
	cmd := exec.CommandContext(ctx, p.binary, append(args, p.dbURL)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("pgbench %s: %w\n%s", name, err, out.String())
	}
	logs, err := filepath.Glob(prefix + "*")
	if err != nil {
		return result{}, err
	}
	var done []completion
	for _, l := range logs {
		c, err := readLog(l)
		if err != nil {
			return result{}, err
		}
		done = append(done, c...)
	}
	if len(done) == 0 {
		return result{}, fmt.Errorf("pgbench %s logged no transactions:\n%s", name, out.String())
	}
	return w.measure(done), nil
}

// completion is one logged transaction: when it completed, and its
// latency.
type completion struct {
	at      time.Time
	latency time.Duration
}

// readLog reads a pgbench transaction log. Each line is "client_id
// transaction_no time script_no time_epoch time_us", time being the
// latency in µs and time_epoch/time_us the moment it completed.
func readLog(path string) ([]completion, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var done []completion
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			return nil, fmt.Errorf("pgbench log line %q", sc.Text())
		}
		lat, err1 := strconv.ParseInt(fields[2], 10, 64)
		sec, err2 := strconv.ParseInt(fields[4], 10, 64)
		us, err3 := strconv.ParseInt(fields[5], 10, 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("pgbench log line %q: %w", sc.Text(), err)
		}
		done = append(done, completion{time.Unix(sec, us*1000), time.Duration(lat) * time.Microsecond})
	}
	return done, sc.Err()
}
