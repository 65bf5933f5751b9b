package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/cointracker/cointracker/api"
	"github.com/cointracker/cointracker/auth"
	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
	"github.com/cointracker/cointracker/fixtures/fixturestest"
)

// benchServer serves the shared bench-scale fixtures (user-1 is the heavy
// user: ~300k rows over 50 addresses).
func benchServer(b *testing.B) *testServer {
	b.Helper()
	pool := dbtest.NewPool(b, fixturestest.BenchURL(b))
	srv := api.New(api.Options{Store: db.NewStore(pool), Logger: slog.New(slog.DiscardHandler),
		SchemaCheck: func(context.Context) error { return nil },
		Verifier:    auth.NewStatic(auth.DevIssuer, auth.DevAudience, testKey.Public())})
	ts := httptest.NewServer(srv.Handler())
	b.Cleanup(ts.Close)
	return &testServer{Server: ts, token: tokenFor(b, "user-1")}
}

// deepCursor follows next_cursor pages times from path.
func deepCursor(b *testing.B, s *testServer, path string, pages int) string {
	b.Helper()
	cursor := ""
	for range pages {
		p := path
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		res, err := s.fetch(p)
		if err != nil {
			b.Fatal(err)
		}
		var page api.TransactionList
		err = json.NewDecoder(res.Body).Decode(&page)
		_ = res.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		if page.NextCursor == nil {
			b.Fatalf("history ended before page %d", pages)
		}
		cursor = *page.NextCursor
	}
	return cursor
}

func BenchmarkTransactions(b *testing.B) {
	s := benchServer(b)
	deep := deepCursor(b, s, "/v1/transactions?limit=500", 200) // 100,000 rows in
	for _, c := range []struct{ name, path string }{
		{"page1", "/v1/transactions?limit=50"},
		{"filtered", "/v1/transactions?limit=50&direction=outgoing&from=2019-01-01T00:00:00Z"},
		{"deep", "/v1/transactions?limit=50&cursor=" + url.QueryEscape(deep)},
		{"balances", "/v1/balances"},
		{"history_month", "/v1/balances/history?interval=month"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				res, err := s.fetch(c.path)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				_ = res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
		})
	}
}

// fetch GETs path without the test helpers' bookkeeping.
func (s *testServer) fetch(path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, s.URL+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	return s.Client().Do(req)
}
