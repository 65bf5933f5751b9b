// Package events holds what the change feed (GET /v1/events) needs beside
// its table: the hub that wakes long-polls when a user's events commit,
// and retention. The events themselves are written by database triggers,
// in the transaction of each change (migration 00028).
package events

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Channel is the NOTIFY channel events_add signals, with the user id as
// the payload, when a transaction that wrote a user's events commits.
const Channel = "cointracker_events"

// Hub listens on Channel over one connection of its own and wakes the
// long-polls waiting for the notified users. Waiters hold no database
// connection.
type Hub struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	mu      sync.Mutex
	waiters map[int64]map[*Waiter]struct{}
	stopped bool // Run has returned: nothing wakes a waiter any more
}

// NewHub returns a hub listening through pool once Run runs.
func NewHub(pool *pgxpool.Pool, log *slog.Logger) *Hub {
	return &Hub{pool: pool, log: log, waiters: make(map[int64]map[*Waiter]struct{})}
}

// Waiter is one long-poll's place at the hub, from Join to Leave.
type Waiter struct {
	h      *Hub
	userID int64
	ch     chan struct{} // closed when woken; Arm makes a new one
}

// Join gives a long-poll of the user a place, unless the user already has
// max waiting (then ok is false: the caller refuses the request). The
// count and the place are taken under one lock, so concurrent requests
// cannot pass the bound together.
func (h *Hub) Join(userID int64, max int) (w *Waiter, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.waiters[userID]
	if len(set) >= max {
		return nil, false
	}
	if set == nil {
		set = make(map[*Waiter]struct{})
		h.waiters[userID] = set
	}
	w = &Waiter{h: h, userID: userID, ch: make(chan struct{})}
	if h.stopped {
		close(w.ch)
	}
	set[w] = struct{}{}
	return w, true
}

// Arm returns a channel closed at the next commit of the user's events
// (or when the hub reconnects: a notification may have been missed; or
// stops). Arm before reading the feed, so an event committed between the
// read and the wait still wakes it.
func (w *Waiter) Arm() <-chan struct{} {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	select {
	case <-w.ch:
		if !w.h.stopped {
			w.ch = make(chan struct{})
		}
	default:
	}
	return w.ch
}

// Leave gives the place up.
func (w *Waiter) Leave() {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	set := w.h.waiters[w.userID]
	delete(set, w)
	if len(set) == 0 {
		delete(w.h.waiters, w.userID)
	}
}

// Stopped reports whether Run has returned (the server is shutting
// down): a woken long-poll should answer rather than wait again.
func (h *Hub) Stopped() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stopped
}

// WaitingTotal is how many long-polls are waiting, all users'.
func (h *Hub) WaitingTotal() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, set := range h.waiters {
		n += len(set)
	}
	return n
}

// wakeLocked closes the channels of the set's waiters not yet woken.
func wakeLocked(set map[*Waiter]struct{}) {
	for w := range set {
		select {
		case <-w.ch:
		default:
			close(w.ch)
		}
	}
}

// wake wakes the user's waiters.
func (h *Hub) wake(userID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	wakeLocked(h.waiters[userID])
}

// wakeAll wakes every waiter; stop also marks the hub stopped, so no
// waiter is armed again.
func (h *Hub) wakeAll(stop bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = h.stopped || stop
	for _, set := range h.waiters {
		wakeLocked(set)
	}
}

// Run listens until ctx ends, and then wakes every waiter for good. A
// lost connection is opened again after a second; every waiter is woken
// then too, since notifications sent meanwhile were lost.
func (h *Hub) Run(ctx context.Context) {
	defer h.wakeAll(true)
	for ctx.Err() == nil {
		err := h.listen(ctx)
		h.wakeAll(false)
		if ctx.Err() != nil {
			return
		}
		h.log.Warn("event notifications lost; listening again", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (h *Hub) listen(ctx context.Context) error {
	conn, err := h.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire the listening connection: %w", err)
	}
	// The session will hold LISTEN: the connection leaves the pool.
	c := conn.Hijack()
	defer func() { _ = c.Close(context.WithoutCancel(ctx)) }()
	if _, err := c.Exec(ctx, "LISTEN "+Channel); err != nil {
		return fmt.Errorf("listen on %s: %w", Channel, err)
	}
	for {
		n, err := c.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for notifications: %w", err)
		}
		uid, err := strconv.ParseInt(n.Payload, 10, 64)
		if err != nil {
			h.log.Warn("event notification without a user id", "payload_bytes", len(n.Payload))
			continue
		}
		h.wake(uid)
	}
}
