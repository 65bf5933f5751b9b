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
	waiters map[int64]map[chan struct{}]struct{}
	stopped bool // Run has returned: nothing wakes a waiter any more
}

// NewHub returns a hub listening through pool once Run runs.
func NewHub(pool *pgxpool.Pool, log *slog.Logger) *Hub {
	return &Hub{pool: pool, log: log, waiters: make(map[int64]map[chan struct{}]struct{})}
}

// Subscribe returns a channel that is closed at the next commit of the
// user's events (or when the hub reconnects: a notification may have
// been missed), and a function to call when done waiting. Subscribe
// before reading the feed, so an event committed between the read and
// the wait still wakes it.
func (h *Hub) Subscribe(userID int64) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		close(ch)
		return ch, func() {}
	}
	set := h.waiters[userID]
	if set == nil {
		set = make(map[chan struct{}]struct{})
		h.waiters[userID] = set
	}
	set[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if set, ok := h.waiters[userID]; ok {
			if _, ok := set[ch]; ok {
				delete(set, ch)
				if len(set) == 0 {
					delete(h.waiters, userID)
				}
			}
		}
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

// Waiting is how many long-polls of the user are waiting.
func (h *Hub) Waiting(userID int64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.waiters[userID])
}

// wake closes the user's waiters' channels.
func (h *Hub) wake(userID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.waiters[userID] {
		close(ch)
	}
	delete(h.waiters, userID)
}

// wakeAll closes every waiter's channel; stop also marks the hub stopped.
func (h *Hub) wakeAll(stop bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = h.stopped || stop
	for uid, set := range h.waiters {
		for ch := range set {
			close(ch)
		}
		delete(h.waiters, uid)
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
