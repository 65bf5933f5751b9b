package api_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cointracker/cointracker/api"
	"github.com/cointracker/cointracker/events"
)

// reorgNewest sends user-1's newest confirmed transaction back to the
// mempool, as a reorg does, which writes events (the fixtures write
// none), and returns its txid.
func reorgNewest(t *testing.T, s *testServer) string {
	t.Helper()
	var txid string
	if err := s.store.Pool().QueryRow(t.Context(), `UPDATE transactions
		SET status = 'pending', block_height = NULL, block_hash = NULL, block_time = NULL
		WHERE id = (SELECT le.transaction_id FROM ledger_entries le
		            JOIN user_addresses ua ON ua.address_id = le.address_id
		            JOIN users u ON u.id = ua.user_id AND u.subject = 'user-1'
		            WHERE le.status = 'confirmed' ORDER BY le.sort_time DESC LIMIT 1)
		RETURNING encode(txid, 'hex')`).Scan(&txid); err != nil {
		t.Fatal(err)
	}
	return txid
}

func TestEventsFeed(t *testing.T) {
	t.Parallel()
	s := seeded(t)
	// Demo data is not news.
	if page := decode[api.EventList](t, s.get(t, "/v1/events")); len(page.Items) != 0 || page.NextCursor != "0" {
		t.Fatalf("a seeded user's feed = %+v, want empty at 0", page)
	}
	txid := reorgNewest(t, s)
	page := decode[api.EventList](t, s.get(t, "/v1/events"))
	if len(page.Items) < 2 || page.Items[0].Type != "transaction.reorged" || page.Items[0].Transaction.Txid != txid {
		t.Fatalf("feed after a reorg = %+v", page)
	}
	tx := page.Items[0].Transaction
	if tx.Status != "pending" || tx.BlockHeight != nil || tx.Confirmations != 0 || page.Items[0].AddressID != tx.AddressID {
		t.Fatalf("the reorged transaction as the event has it: %+v", tx)
	}
	last := page.Items[len(page.Items)-1]
	if last.Type != "balance.changed" || last.Balance == nil || page.NextCursor != strconv.FormatInt(last.ID, 10) {
		t.Fatalf("last event %+v, next_cursor %s", last, page.NextCursor)
	}
	for i, e := range page.Items {
		if e.ID != int64(i+1) {
			t.Fatalf("ids %d: want 1, 2, …", e.ID)
		}
	}
	// The cursor resumes after the last event; types filters.
	if rest := decode[api.EventList](t, s.get(t, "/v1/events?after="+page.NextCursor)); len(rest.Items) != 0 || rest.NextCursor != page.NextCursor {
		t.Fatalf("after the last event: %+v", rest)
	}
	if only := decode[api.EventList](t, s.get(t, "/v1/events?types=balance.changed,balance.changed")); len(only.Items) != len(page.Items)-1 {
		t.Fatalf("types=balance.changed gave %d events of %d", len(only.Items), len(page.Items))
	}
}

func TestEventsFeedRefusesBadInput(t *testing.T) {
	t.Parallel()
	s := migratedServer(t)
	for _, q := range []string{"after=-1", "after=x", "limit=0", "limit=501", "types=transaction.lost",
		"types=transaction.seen,", "wait=61s", "wait=-1s", "wait=soon", "wait=1h", "cursor=abc", "after=1&after=2"} {
		problem(t, s.get(t, "/v1/events?"+q), http.StatusBadRequest)
	}
}

func TestEventsLongPoll(t *testing.T) {
	t.Parallel()
	s := seededWith(t, func(o *api.Options) { o.Quotas.EventLongPolls = 1 })
	// Nothing comes: the wait ends with an empty page at the same cursor.
	if page := decode[api.EventList](t, s.get(t, "/v1/events?after=0&wait=1")); len(page.Items) != 0 || page.NextCursor != "0" {
		t.Fatalf("an empty long-poll = %+v", page)
	}
	// An event committed while a long-poll waits ends it, with the event.
	got := make(chan response, 1)
	go func() { got <- s.get(t, "/v1/events?after=0&wait=60s") }()
	// Once it waits (the gauge says so), a second long-poll of the user is
	// refused (this server's EVENTS_LONG_POLLS_PER_USER is 1); a plain
	// read is not.
	waitFor(t, func() bool { return strings.Contains(string(s.metrics(t).body), "\nevents_long_polls_waiting 1\n") })
	problem(t, s.get(t, "/v1/events?after=0&wait=5s"), http.StatusTooManyRequests)
	if r := s.get(t, "/v1/events?after=0"); r.status != http.StatusOK {
		t.Fatalf("a read without wait while a long-poll waits: %d", r.status)
	}
	txid := reorgNewest(t, s)
	select {
	case r := <-got:
		page := decode[api.EventList](t, r)
		if len(page.Items) == 0 || page.Items[0].Transaction == nil || page.Items[0].Transaction.Txid != txid {
			t.Fatalf("the woken long-poll = %s", r.body)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("the long-poll did not wake at the event's commit")
	}
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 100 {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("condition never held")
}

func TestEventsRetentionAnswers410(t *testing.T) {
	t.Parallel()
	s := seeded(t)
	reorgNewest(t, s)
	page := decode[api.EventList](t, s.get(t, "/v1/events"))
	// Everything is older than a retention of zero, an hour from now.
	n, err := events.Prune(context.Background(), s.store, 0, time.Now().Add(time.Hour))
	if err != nil || n < int64(len(page.Items)) {
		t.Fatalf("pruned %d (%v), want at least %d", n, err, len(page.Items))
	}
	p := problem(t, s.get(t, "/v1/events?after=0"), http.StatusGone)
	if p.Type != "https://cointracker.dev/problems/gone" {
		t.Fatalf("410 type %s", p.Type)
	}
	if rest := decode[api.EventList](t, s.get(t, "/v1/events?after="+page.NextCursor)); len(rest.Items) != 0 {
		t.Fatalf("after the pruned events: %+v", rest)
	}
}
