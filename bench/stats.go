package main

import (
	"fmt"
	"slices"
	"time"
)

// result is one measured run: the throughput over its measured window
// (after the warm-up), the requests' own latencies in that window, and
// how steady the throughput was across it.
type result struct {
	requests  int
	rate      float64
	p50, p99  time.Duration
	cpuPerReq time.Duration
	// rates are the window's intervals' throughputs, and spread their
	// range: (max − min) / median.
	rates  []float64
	spread float64
}

// measured makes a result from a window's latencies, every sample in it,
// and its intervals' request counts and lengths.
func measured(lat []time.Duration, counts []int, lengths []time.Duration) result {
	var total time.Duration
	rates := make([]float64, len(counts))
	for i, n := range counts {
		total += lengths[i]
		rates[i] = float64(n) / lengths[i].Seconds()
	}
	r := percentiles(lat, total)
	r.requests = len(lat)
	r.rates, r.spread = rates, relativeRange(rates)
	return r
}

// relativeRange is (max − min) / median of v, 0 for no values.
func relativeRange(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	m := middle(v)
	if m == 0 {
		return 0
	}
	return (slices.Max(v) - slices.Min(v)) / m
}

func percentiles(lat []time.Duration, elapsed time.Duration) result {
	slices.Sort(lat)
	if len(lat) == 0 {
		return result{}
	}
	return result{
		rate: float64(len(lat)) / elapsed.Seconds(),
		p50:  lat[len(lat)*50/100],
		p99:  lat[min(len(lat)-1, len(lat)*99/100)],
	}
}

// median is the median of each figure over runs, taken separately.
func median(runs []result) result {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		return middle(v)
	}
	return result{
		rate:      pick(func(r result) float64 { return r.rate }),
		p50:       time.Duration(pick(func(r result) float64 { return float64(r.p50) })),
		p99:       time.Duration(pick(func(r result) float64 { return float64(r.p99) })),
		cpuPerReq: time.Duration(pick(func(r result) float64 { return float64(r.cpuPerReq) })),
		spread:    pick(func(r result) float64 { return r.spread }),
	}
}

// middle is the median of v (of an even count, the upper middle).
func middle(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	return s[len(s)/2]
}

// span shows v's range, as "min–max".
func span(v []float64) string {
	return fmt.Sprintf("%.2f–%.2f", slices.Min(v), slices.Max(v))
}

func ms(d time.Duration) float64 { return d.Seconds() * 1000 }

// window is how a run is measured: after warmup, for length, counted in
// intervals (whose rates give the spread).
type window struct {
	warmup, length, interval time.Duration
}

// intervals is how many intervals the window holds.
func (w window) intervals() int { return max(int(w.length/w.interval), 1) }

// measure takes the transactions of one pgbench run: the window starts
// warmup after the first completed, and whatever completed before it or
// after it is left out.
func (w window) measure(done []completion) result {
	start := done[0].at
	for _, c := range done {
		if c.at.Before(start) {
			start = c.at
		}
	}
	start = start.Add(w.warmup)
	n := w.intervals()
	counts := make([]int, n)
	lengths := make([]time.Duration, n)
	for i := range lengths {
		lengths[i] = w.interval
	}
	var lat []time.Duration
	for _, c := range done {
		i := int(c.at.Sub(start) / w.interval)
		if c.at.Before(start) || i >= n {
			continue
		}
		counts[i]++
		lat = append(lat, c.latency)
	}
	return measured(lat, counts, lengths)
}
