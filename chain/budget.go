package chain

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// budget is the request rate a provider gets from this process, shared by
// every worker. It adapts as TCP's congestion window does (additive
// increase, multiplicative decrease): a 429 halves the rate, at most once
// a second, so a burst of refusals seen by many workers at once counts
// once; good answers add a tenth of the ceiling back, at most once a
// second, so a halved rate recovers in five seconds without a refusal.
// The ceiling is the configured rate (CHAIN_RATE_LIMIT), the floor a
// sixteenth of it.
//
// Esplora's public servers sit behind nginx's limit_req (about 5 requests
// a second per client with a burst of 10) and answer 429 without
// Retry-After, banning clients that keep hitting it: so a 429 also empties
// the token bucket, making every worker wait its turn at the new rate, and
// a Retry-After, when one comes, holds every worker until it has passed.
// A 429 also says the provider's burst is smaller than ours: requests
// saved up while the workers were busy elsewhere would go out together and
// meet it again, so the burst is one request until the rate is back at
// the ceiling.
type budget struct {
	limiter        *rate.Limiter
	ceiling, floor float64
	burst          int // the configured burst, restored at the ceiling
	metrics        *Metrics

	mu          sync.Mutex
	pausedUntil time.Time
	lastChange  time.Time
}

func newBudget(ceiling float64, burst int, m *Metrics) *budget {
	b := &budget{limiter: rate.NewLimiter(rate.Limit(ceiling), burst), ceiling: ceiling, floor: ceiling / 16, burst: burst, metrics: m}
	m.setRate(ceiling)
	return b
}

// wait blocks until the budget allows one more request.
func (b *budget) wait(ctx context.Context) error {
	b.mu.Lock()
	pause := time.Until(b.pausedUntil)
	b.mu.Unlock()
	if pause > 0 {
		t := time.NewTimer(pause)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return b.limiter.Wait(ctx)
}

// throttled takes a 429: the rate halves (once a second at most), the
// bucket empties and holds one request, and a Retry-After holds every
// worker.
func (b *budget) throttled(retryAfter time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if until := now.Add(retryAfter); until.After(b.pausedUntil) {
		b.pausedUntil = until
	}
	if now.Sub(b.lastChange) < time.Second && b.rate() < b.ceiling {
		return // this second's refusals were counted already
	}
	b.lastChange = now
	r := max(b.floor, float64(b.limiter.Limit())/2)
	b.limiter.SetLimitAt(now, rate.Limit(r))
	b.limiter.SetBurstAt(now, 1)
	if tokens := int(b.limiter.TokensAt(now)); tokens > 0 {
		b.limiter.ReserveN(now, tokens)
	}
	b.metrics.setRate(r)
}

// succeeded takes a good answer: the rate grows back towards the ceiling,
// a tenth of it a second, and at the ceiling the burst is the configured
// one again.
func (b *budget) succeeded() {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.rate()
	now := time.Now()
	if r >= b.ceiling || now.Sub(b.lastChange) < time.Second {
		return
	}
	b.lastChange = now
	r = min(b.ceiling, r+b.ceiling/10)
	b.limiter.SetLimitAt(now, rate.Limit(r))
	if r >= b.ceiling {
		b.limiter.SetBurstAt(now, b.burst)
	}
	b.metrics.setRate(r)
}

// rate is the current rate, in requests a second.
func (b *budget) rate() float64 {
	return float64(b.limiter.Limit())
}
