package chain

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestBudgetHalvesOnA429AndRecovers(t *testing.T) {
	t.Parallel()
	b := newBudget(100, 10, nil)
	b.throttled(0)
	if b.rate() != 50 {
		t.Fatalf("after a 429 the rate is %v, want 50", b.rate())
	}
	if tokens := b.limiter.Tokens(); tokens >= 1 {
		t.Fatalf("%v tokens left after a 429: other workers would burst on", tokens)
	}
	// The provider's burst is smaller than ours: until the rate is back
	// at the ceiling, requests saved up go out one at a time.
	if burst := b.limiter.Burst(); burst != 1 {
		t.Fatalf("burst %d after a 429, want 1", burst)
	}
	// Many workers meeting the same burst of 429s cut the rate once.
	for range 5 {
		b.throttled(0)
	}
	if b.rate() != 50 {
		t.Fatalf("a burst of 429s within a second cut the rate to %v, want 50", b.rate())
	}
	// Good answers within the second of the cut change nothing; after
	// it, a tenth of the ceiling a second.
	b.succeeded()
	if b.rate() != 50 {
		t.Fatalf("a good answer right after a 429 raised the rate to %v", b.rate())
	}
	for second := range 6 {
		b.lastChange = time.Now().Add(-time.Second)
		b.succeeded()
		b.succeeded()
		if want := min(100, 50+10*float64(second+1)); b.rate() != want {
			t.Fatalf("%d s after the cut the rate is %v, want %v", second+1, b.rate(), want)
		}
		if want := map[bool]int{true: 10, false: 1}[b.rate() == 100]; b.limiter.Burst() != want {
			t.Fatalf("%d s after the cut, at %v a second, the burst is %d, want %d", second+1, b.rate(), b.limiter.Burst(), want)
		}
	}
	// The floor: a sixteenth of the ceiling, however many 429s.
	for range 10 {
		b.lastChange = time.Time{}
		b.throttled(0)
	}
	if b.rate() != 100.0/16 {
		t.Fatalf("the rate fell to %v, below the floor %v", b.rate(), 100.0/16)
	}
}

// TestA429SlowsEveryWorker: Esplora's nginx answers 429 without
// Retry-After once a client passes its rate. A 429 met by one goroutine
// lowers the rate the others get, and a Retry-After holds them all.
func TestA429SlowsEveryWorker(t *testing.T) {
	t.Parallel()
	var calls, refused atomic.Int64
	var mu sync.Mutex
	var stamps []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := calls.Add(1)
		mu.Lock()
		stamps = append(stamps, time.Now())
		mu.Unlock()
		if n == 1 {
			refused.Add(1)
			w.Header().Set("Retry-After", "1")
			http.Error(w, "Too Many Requests", http.StatusTooManyRequests) // nginx's limit_req
			return
		}
		fmt.Fprint(w, "870123")
	}))
	t.Cleanup(srv.Close)
	reg := prometheus.NewRegistry()
	c, err := New(srv.URL, Options{RatePerSecond: 1000, Burst: 100, BaseBackoff: time.Millisecond, Metrics: NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	if got := gauge(t, reg, "chain_provider_rate_limit"); got != 1000 {
		t.Fatalf("chain_provider_rate_limit = %v before any 429, want 1000", got)
	}
	ctx := context.Background()
	start := time.Now()
	if _, err := c.TipHeight(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := c.TipHeight(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// Every request after the 429 waited out its Retry-After, not only
	// the one that got it.
	mu.Lock()
	defer mu.Unlock()
	for i, at := range stamps[1:] {
		if at.Sub(start) < time.Second {
			t.Fatalf("request %d went out %s after the 429, inside its Retry-After of 1 s", i+2, at.Sub(start))
		}
	}
	// The 429 halved the rate; the good answers a second later raised it
	// by a tenth of the ceiling (two tenths on a machine slow enough to
	// spread them over two seconds).
	if got := gauge(t, reg, "chain_provider_rate_limit"); got != 600 && got != 700 {
		t.Fatalf("chain_provider_rate_limit = %v, want 600", got)
	}
}

// gauge reads a gauge's value from the registry, as /metrics shows it.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("%s is not registered", name)
	return 0
}
