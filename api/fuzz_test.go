package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzListQueries feeds arbitrary query strings to every list endpoint:
// none may answer 5xx, and every refusal is a problem+json 400.
// `go test -fuzz FuzzListQueries ./api` explores further than the seeds.
func FuzzListQueries(f *testing.F) {
	for _, seed := range []string{
		"", "limit=10", "limit=0", "limit=-1", "limit=99999999999999999999", "direction=self&sort=oldest",
		"status=pending,replaced", "status=,", "from=2020-01-01T00:00:00Z&to=2019-01-01T00:00:00Z",
		"from=0001-01-01T00:00:00Z", "to=9999-12-31T23:59:59.999999999Z", "min_amount=9223372036854775807",
		"max_amount=-9223372036854775808", "txid=" + strings.Repeat("0", 64), "address_id=1&address_id=2",
		"cursor=a.b", "cursor=%ff%fe", "%", "a=%zz", ";", "&&&", "limit=1e3", "from=2020-13-45T25:61:61Z",
		"interval=month", "interval=", "sort=NEWEST", "direction=incoming%00", "txid=" + strings.Repeat("ff", 33),
	} {
		f.Add(seed)
	}
	s := migratedServer(f)
	seedAddresses(f, s, 3)
	h := s.Config.Handler
	f.Fuzz(func(t *testing.T, raw string) {
		for _, path := range []string{"/v1/transactions", "/v1/transactions/export.csv", "/v1/addresses",
			"/v1/balances/history", "/v1/xpubs", "/v1/addresses/1/transactions"} {
			req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
			req.URL.RawQuery = raw
			req.Header.Set("Authorization", "Bearer "+s.token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("GET %s?%q = %d: %s", path, raw, rec.Code, rec.Body)
			}
			if rec.Code == http.StatusBadRequest {
				var p struct {
					Status int    `json:"status"`
					Detail string `json:"detail"`
				}
				if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") ||
					json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Status != 400 || p.Detail == "" {
					t.Fatalf("GET %s?%q: 400 without a problem body: %s", path, raw, rec.Body)
				}
			}
		}
	})
}
