package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// correct is wrk's stats_correct, as its stats.c does it on the array of
// counts indexed by latency in µs.
func correct(data []int64, interval int64) {
	for n := 2 * interval; n < int64(len(data)); n++ {
		count := data[n]
		for m := n - interval; count > 0 && m > interval; m -= interval {
			data[m] += count
		}
	}
}

// histogramOf is the histogram of the counts array.
func histogramOf(data []int64) histogram {
	var h histogram
	for v, c := range data {
		if c > 0 {
			h.values = append(h.values, int64(v))
			h.counts = append(h.counts, c)
		}
	}
	return h
}

func TestUncorrectUndoesWrksCorrection(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		// A long-tailed latency distribution, as under load.
		raw := make([]int64, 20000)
		var samples []time.Duration
		for range 1 + rng.IntN(3000) {
			v := 500 + int64(rng.ExpFloat64()*float64(1000+rng.IntN(3000)))
			if v < int64(len(raw)) {
				raw[v]++
				samples = append(samples, time.Duration(v)*time.Microsecond)
			}
		}
		want := histogramOf(raw)
		interval := int64(200 + rng.IntN(4000))
		corrected := slices.Clone(raw)
		correct(corrected, interval)
		got, err := uncorrect(histogramOf(corrected), interval)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if !slices.Equal(got.values, want.values) || !slices.Equal(got.counts, want.counts) {
			t.Fatalf("round %d (interval %d µs): uncorrect gave %d samples over %d latencies, want %d over %d",
				round, interval, got.total(), len(got.values), want.total(), len(want.values))
		}
		// Its samples give the percentiles the samples themselves give.
		pg := percentiles(samples, time.Second)
		if r := percentiles(got.samples(), time.Second); r.p50 != pg.p50 || r.p99 != pg.p99 {
			t.Fatalf("round %d: percentiles %v/%v, the samples give %v/%v", round, r.p50, r.p99, pg.p50, pg.p99)
		}
	}
}

func TestUncorrectRefusesAnUncorrectedHistogram(t *testing.T) {
	t.Parallel()
	// Ten samples at 10 ms with a 1 ms interval: corrected, the histogram
	// would hold ten at each of 2..9 ms too.
	if _, err := uncorrect(histogram{values: []int64{10000}, counts: []int64{10}}, 1000); err == nil {
		t.Fatal("uncorrect accepted a histogram the correction never touched")
	}
	// Nothing is made up for samples under two intervals.
	h := histogram{values: []int64{900, 1500}, counts: []int64{3, 4}}
	got, err := uncorrect(h, 1000)
	if err != nil || !slices.Equal(got.counts, h.counts) {
		t.Fatalf("uncorrect(%v) = %v, %v; want it unchanged", h, got, err)
	}
}

func TestParseWrk(t *testing.T) {
	t.Parallel()
	// Four connections made 200 requests in 1 s: an interval of 20 ms.
	// One took 65 ms, so wrk added samples at 45 and 25 ms.
	raw := make([]int64, 70000)
	for i := range 199 {
		raw[5000+i*25]++ // 5 to 9.95 ms
	}
	raw[65000]++
	correct(raw, 20000)
	h := histogramOf(raw)
	pairs := make([]string, len(h.values))
	for i := range h.values {
		pairs[i] = fmt.Sprintf("%d %d", h.values[i], h.counts[i])
	}
	out := "Running 1s test\nWRK 200 1000000 0 0 0\nWRKHIST " + strings.Join(pairs, " ") + "\n"
	run, err := parseWrk(out, 4)
	if err != nil {
		t.Fatal(err)
	}
	if run.duration != time.Second {
		t.Fatalf("parseWrk's duration = %v, want 1s", run.duration)
	}
	r := measured(run.hist.samples(), []int{int(run.requests)}, []time.Duration{run.duration})
	// p99 is the 199th of 200 samples, the slowest of the fast ones.
	if r.requests != 200 || r.rate != 200 || r.p50 != 7500*time.Microsecond || r.p99 != 9950*time.Microsecond {
		t.Fatalf("parseWrk = %+v, want 200 requests at 200/s, p50 7.5ms, p99 9.95ms", r)
	}
	// With the made-up samples, p99 would be the first of them, 25 ms.
	if corrected := percentiles(h.samples(), time.Second).p99; corrected != 25*time.Millisecond {
		t.Fatalf("corrected p99 = %v, want 25ms", corrected)
	}

	for name, bad := range map[string]string{
		"no summary":    "WRKHIST 1000 1\n",
		"errors":        "WRK 8 40000 1 0 0\nWRKHIST 1000 8\n",
		"count differs": "WRK 8 40000 0 0 0\nWRKHIST 1000 7\n",
		"odd histogram": "WRK 8 40000 0 0 0\nWRKHIST 1000 8 5\n",
		"uncorrected":   "WRK 8 40000 0 0 0\nWRKHIST 1000 7 65000 1\n",
	} {
		if _, err := parseWrk(bad, 4); err == nil {
			t.Errorf("%s: parseWrk accepted %q", name, bad)
		}
	}
}
