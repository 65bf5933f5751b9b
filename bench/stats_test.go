package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWindowLeavesOutTheWarmUp(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_700_000_000, 0)
	at := func(d time.Duration, lat time.Duration) completion { return completion{t0.Add(d), lat} }
	w := window{warmup: 2 * time.Second, length: 4 * time.Second, interval: 2 * time.Second}
	done := []completion{
		at(0, time.Second),                     // the first: the window starts 2 s after it
		at(1900*time.Millisecond, time.Second), // warm-up
		at(2100*time.Millisecond, 10*time.Millisecond),
		at(3*time.Second, 30*time.Millisecond),
		at(5*time.Second, 20*time.Millisecond),
		at(6*time.Second, time.Second), // past the window
	}
	r := w.measure(done)
	if r.requests != 3 || r.rate != 0.75 || r.p50 != 20*time.Millisecond {
		t.Fatalf("measure = %+v, want 3 requests at 0.75/s, p50 20ms", r)
	}
	if !slices.Equal(r.rates, []float64{1, 0.5}) || r.spread != 0.5 {
		t.Fatalf("interval rates %v, spread %v; want [1 0.5], 0.5 ((1 − 0.5) over the upper middle, 1)", r.rates, r.spread)
	}
}

func TestRoundsThatCannotBeRightAreLeftOut(t *testing.T) {
	t.Parallel()
	l := limits{steady: 0.2, tolerance: 0.05}
	pg := []result{{rate: 1000}, {rate: 1000}, {rate: 1000, spread: 0.3}, {rate: 1000}}
	api := []result{
		{rate: 900, p99: 2},
		{rate: 1100, p99: 1}, // faster than its own SQL
		{rate: 800, p99: 1},  // pgbench was not steady
		{rate: 1040, p99: 3}, // within the noise
	}
	r := rowOf(l, pg, api)
	if !slices.Equal(r.valid, []int{0, 3}) || !slices.Equal(r.ratios, []float64{0.9, 1.04}) {
		t.Fatalf("valid rounds %v with ratios %v, want [0 3] with [0.9 1.04]", r.valid, r.ratios)
	}
	notes := strings.Join(r.invalid("page 1"), "\n")
	if !strings.Contains(notes, "round 2: API/pgbench 1.10: faster than its own SQL") || !strings.Contains(notes, "round 3: pgbench unsteady") {
		t.Fatalf("notes:\n%s", notes)
	}
	if api := median(r.pick(api)); api.rate != 1040 {
		t.Fatalf("median over the valid rounds = %v, want 1040 (the upper middle of 900 and 1040)", api.rate)
	}
	if v := l.verdict(result{rate: 900, spread: 0.25}, result{rate: 1000}); !strings.Contains(v, "API unsteady") {
		t.Fatalf("an unsteady API run: verdict %q", v)
	}
}
