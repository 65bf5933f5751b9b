package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// A read is one GET whose latency issue 19 sets a goal for, timed with one
// client.
type read struct {
	name, path string
	// rows: the body is CSV, and its data rows per second are reported.
	rows bool
}

// reads are the summary reads: the history page (plain and filtered), the
// totals, the watch-list, both balance series and the export.
var reads = []read{
	{name: "page 1", path: "/v1/transactions?limit=50"},
	{name: "filtered page", path: "/v1/transactions?limit=50&direction=outgoing&from=2019-01-01T00:00:00Z"},
	{name: "balances", path: "/v1/balances"},
	{name: "watch-list", path: "/v1/addresses?limit=50"},
	{name: "history, month", path: "/v1/balances/history?interval=month"},
	{name: "history, day", path: "/v1/balances/history?interval=day"},
	{name: "export", path: "/v1/transactions/export.csv", rows: true},
}

// readTiming is one read's median over its repetitions.
type readTiming struct {
	median time.Duration
	rows   int   // CSV data rows, for the export
	bytes  int64 // body size
}

// readsReport times every read for the heavy user (user-1) and a typical
// one (user-2), one client, median of reps after a warm-up request, then
// compares a 304 with the full first page at 16 clients.
func (b *bench) readsReport(ctx context.Context, reps int) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Minute}
	base := b.servers[0].base
	users := []int{1, 2}
	timings := make(map[int][]readTiming)
	for _, u := range users {
		for _, r := range reads {
			t, err := timeRead(ctx, client, base+r.path, b.tokens[u], r.rows, reps)
			if err != nil {
				return fmt.Errorf("user-%d %s: %w", u, r.name, err)
			}
			timings[u] = append(timings[u], t)
		}
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "read\tuser-1 ms\tuser-2 ms\t")
	for i, r := range reads {
		fmt.Fprintf(w, "%s\t%s\t%s\t\n", r.name, timings[1][i].String(r.rows), timings[2][i].String(r.rows))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Printf("one client, median of %d after a warm-up request, server %q\n", reps, b.servers[0].label())

	const clients = 16 // issue 19's goal is stated at 16 clients
	full, notModified, err := conditionalRates(ctx, client, base+reads[0].path, b.tokens[1], clients, b.run.length)
	if err != nil {
		return err
	}
	fmt.Printf("user-1 page 1 at %d clients for %v each: %.0f full pages/s, %.0f 304s/s with If-None-Match (%.1f×)\n\n",
		clients, b.run.length, full, notModified, notModified/full)
	return nil
}

// String shows a timing in milliseconds, with the export's size and rate.
func (t readTiming) String(rows bool) string {
	s := fmt.Sprintf("%.1f", float64(t.median.Microseconds())/1000)
	if rows {
		s += fmt.Sprintf(" (%d rows, %.0f MB, %.0fk rows/s)", t.rows, float64(t.bytes)/1e6,
			float64(t.rows)/t.median.Seconds()/1000)
	}
	return s
}

// timeRead GETs url once to warm up, then reps times, and returns the
// median time to the body's last byte.
func timeRead(ctx context.Context, client *http.Client, url, token string, rows bool, reps int) (readTiming, error) {
	var t readTiming
	var times []time.Duration
	for i := range reps + 1 {
		start := time.Now()
		n, lines, err := get(ctx, client, url, token, "", http.StatusOK, rows)
		if err != nil {
			return t, err
		}
		if i > 0 {
			times = append(times, time.Since(start))
		}
		t.bytes, t.rows = n, max(lines-1, 0) // the header row is not data
	}
	slices.Sort(times)
	t.median = times[len(times)/2]
	return t, nil
}

// get reads url's body to the end and returns its size, and its line
// count when lines is set; a status other than want is an error.
func get(ctx context.Context, client *http.Client, url, token, ifNoneMatch string, want int, lines bool) (int64, int, error) {
	res, err := do(ctx, client, url, token, ifNoneMatch)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != want {
		return 0, 0, fmt.Errorf("status %d, want %d", res.StatusCode, want)
	}
	if !lines {
		n, err := io.Copy(io.Discard, res.Body)
		return n, 0, err
	}
	var n int64
	count := 0
	buf := make([]byte, 1<<16)
	for {
		k, err := res.Body.Read(buf)
		n += int64(k)
		count += bytes.Count(buf[:k], []byte{'\n'})
		if errors.Is(err, io.EOF) {
			return n, count, nil
		}
		if err != nil {
			return n, count, err
		}
	}
}

// do GETs url as the token's user, with If-None-Match when one is given.
func do(ctx context.Context, client *http.Client, url, token, ifNoneMatch string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", ifNoneMatch)
	}
	return client.Do(req)
}

// conditionalRates serves url to clients goroutines for d, first as full
// pages, then with the current ETag in If-None-Match (each answered 304),
// and returns both rates per second. Both run in the same minute on the
// same connections, so the machine's drift affects them alike.
func conditionalRates(ctx context.Context, client *http.Client, url, token string, clients int, d time.Duration) (full, notModified float64, err error) {
	res, err := do(ctx, client, url, token, "")
	if err != nil {
		return 0, 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	tag := res.Header.Get("ETag")
	if tag == "" {
		return 0, 0, errors.New("the page has no ETag")
	}
	if full, err = rate(ctx, client, url, token, "", http.StatusOK, clients, d); err != nil {
		return 0, 0, err
	}
	notModified, err = rate(ctx, client, url, token, tag, http.StatusNotModified, clients, d)
	return full, notModified, err
}

// rate is how many requests a second clients goroutines complete in d,
// each expecting status want.
func rate(ctx context.Context, client *http.Client, url, token, ifNoneMatch string, want, clients int, d time.Duration) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if _, _, err := get(ctx, client, url, token, ifNoneMatch, want, false); err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				done.Add(1)
			}
		}()
	}
	start := time.Now()
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(done.Load()) / time.Since(start).Seconds(), nil
}
