package chainsync_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cointracker/cointracker/api"
	"github.com/cointracker/cointracker/chain/chaintest"
	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
)

// feed reads the test user's events after id, as "type txid" lines (just
// the type for address and balance events).
func (e *env) feed(t *testing.T, after int64) ([]string, int64) {
	t.Helper()
	page := getJSON[api.EventList](t, e, fmt.Sprintf("/v1/events?after=%d&limit=500", after))
	var out []string
	for _, ev := range page.Items {
		out = append(out, eventLine(ev))
		after = ev.ID
	}
	return out, after
}

// eventLine is an event as the tests compare them.
func eventLine(ev api.Event) string {
	switch {
	case ev.Transaction != nil:
		return ev.Type + " " + ev.Transaction.Txid[:8]
	case ev.SyncStatus != nil:
		return ev.Type + " " + *ev.SyncStatus
	}
	return ev.Type
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// postJSON POSTs body to an API path as the test user and returns a 2xx
// answer's body.
func postJSON(t *testing.T, e *env, path, body string) []byte {
	t.Helper()
	return sendJSON(t, e, http.MethodPost, path, body)
}

// patchJSON is postJSON with PATCH.
func patchJSON(t *testing.T, e *env, path, body string) []byte {
	t.Helper()
	return sendJSON(t, e, http.MethodPatch, path, body)
}

func sendJSON(t *testing.T, e *env, method, path, body string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, e.api.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := e.api.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	out, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode/100 != 2 {
		t.Fatalf("%s %s = %d %s (%v)", method, path, res.StatusCode, out, err)
	}
	return out
}

// expectFeed checks the events since *after, in order, and moves *after.
func (e *env) expectFeed(t *testing.T, after *int64, step string, want ...string) {
	t.Helper()
	got, next := e.feed(t, *after)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: events\n%s\nwant\n%s", step, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	*after = next
}

func short(txid string) string { return txid[:8] }

// TestEventsFollowAPaymentsLife runs a payment's whole life through the
// sync, on a fake of each real server, and checks the feed says each
// step once, in order: the first sync (one address.synced, not its
// history), a payment seen, confirmed, sent back by a reorg and confirmed
// again, an RBF replacement, a drop, and a re-sync that found nothing.
func TestEventsFollowAPaymentsLife(t *testing.T) {
	t.Parallel()
	eachShape(t, func(t *testing.T, e *env) {
		e.fake.History(alice, 4, 2)
		id := e.track(t, alice)
		var after int64
		e.sync(t, id)
		e.expectFeed(t, &after, "first sync", "address.synced done")

		pay := e.fake.Send([]chaintest.In{{Address: "bc1qpayer", Value: 60_000}}, []chaintest.Out{{Address: alice, Value: 50_000}})
		e.sync(t, id)
		e.expectFeed(t, &after, "payment seen", "transaction.seen "+short(pay), "balance.changed", "address.synced done")

		e.fake.Mine(pay)
		e.sync(t, id)
		e.expectFeed(t, &after, "payment confirmed", "transaction.confirmed "+short(pay), "balance.changed", "address.synced done")

		// Nothing new: a re-sync is no news.
		e.sync(t, id)
		e.expectFeed(t, &after, "re-sync")

		// The payment's block leaves the chain: pending again at the tip
		// check, confirmed again by the sync once a longer chain has it.
		e.fake.Reorg(1)
		e.fake.Mine()
		e.fake.Mine()
		if _, err := e.syncer.CheckTip(context.Background()); err != nil {
			t.Fatal(err)
		}
		<-e.queued
		e.expectFeed(t, &after, "reorg", "transaction.reorged "+short(pay), "balance.changed")
		e.sync(t, id)
		e.expectFeed(t, &after, "re-confirmed", "transaction.confirmed "+short(pay), "balance.changed", "address.synced done")

		rbf := e.fake.Send([]chaintest.In{{Address: alice, Value: 40_000}}, []chaintest.Out{{Address: "bc1qshop", Value: 35_000}})
		expired := e.fake.Send([]chaintest.In{{Address: "bc1qsomeone", Value: 5_000}}, []chaintest.Out{{Address: alice, Value: 4_000}})
		e.sync(t, id)
		got, next := e.feed(t, after)
		// Two mempool transactions in one sync: seen in either order.
		slices.Sort(got[:2])
		want := []string{"transaction.seen " + short(rbf), "transaction.seen " + short(expired)}
		slices.Sort(want)
		if !slices.Equal(got[:2], want) || !slices.Equal(got[2:], []string{"balance.changed", "address.synced done"}) {
			t.Fatalf("two payments seen: %v", got)
		}
		after = next

		replacement := e.fake.Replace(rbf, []chaintest.Out{{Address: "bc1qshop", Value: 30_000}})
		e.fake.Mine(replacement)
		e.fake.Drop(expired)
		e.age(t, expired, time.Hour)
		e.sync(t, id)
		got, _ = e.feed(t, after)
		for _, w := range []string{"transaction.confirmed " + short(replacement), "transaction.replaced " + short(rbf),
			"transaction.dropped " + short(expired), "address.synced done"} {
			if !slices.Contains(got, w) {
				t.Fatalf("replacement and drop: %v lacks %q", got, w)
			}
		}
		if got[len(got)-1] != "address.synced done" {
			t.Fatalf("address.synced is not last: %v", got)
		}
	})
}

// TestEventsOnePerWatcher checks that a transaction at an address two
// users track is an event for each, under each one's own entry and ids,
// and that an entry still in its first sync hears nothing of the history.
func TestEventsOnePerWatcher(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.History(alice, 2, 1)
	id := e.track(t, alice)
	e.sync(t, id)
	other, err := e.store.UpsertUser(context.Background(), db.UserUpsertParams{Issuer: "https://other.example", Subject: "watcher-2"})
	if err != nil {
		t.Fatal(err)
	}
	dbtest.Track(t, e.store, db.Watch{UserID: other.ID, Network: "mainnet", Address: alice, ScriptType: "p2wpkh"})
	// Its first sync is still to come: it hears nothing until then.
	pay := e.fake.Send([]chaintest.In{{Address: "bc1qpayer", Value: 9_000}}, []chaintest.Out{{Address: alice, Value: 8_000}})
	e.sync(t, id)
	var n int
	if err := e.store.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM events WHERE txid = decode($1, 'hex')`, pay).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d events of the payment, want the revealed watcher's only", n)
	}
	// The next sync reveals the second entry (address.synced for it) and
	// a later payment is news for both, each under their own ids.
	e.sync(t, id)
	pay2 := e.fake.Send([]chaintest.In{{Address: "bc1qpayer", Value: 7_000}}, []chaintest.Out{{Address: alice, Value: 6_000}})
	e.sync(t, id)
	rows, err := e.store.Pool().Query(context.Background(), `SELECT user_id, id, type, entry_id FROM events
		WHERE user_id = $1 AND type = 'address.synced' OR txid = decode($2, 'hex') ORDER BY user_id, id`, other.ID, pay2)
	if err != nil {
		t.Fatal(err)
	}
	type ev struct {
		user, id int64
		typ      string
		entry    int64
	}
	var got []ev
	for rows.Next() {
		var v ev
		if err := rows.Scan(&v.user, &v.id, &v.typ, &v.entry); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	mine, theirs := e.entry(t, id), int64(0)
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT id FROM user_addresses WHERE user_id = $1`, other.ID).Scan(&theirs); err != nil {
		t.Fatal(err)
	}
	// The second user's own ids: 1 the reveal, 2 the payment, 3 its
	// balance.changed, 4 the sync that found it.
	want := []ev{{e.userID, 0, "transaction.seen", mine}, {other.ID, 1, "address.synced", theirs},
		{other.ID, 2, "transaction.seen", theirs}, {other.ID, 4, "address.synced", theirs}}
	if len(got) != len(want) {
		t.Fatalf("events %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].user != want[i].user || got[i].typ != want[i].typ || got[i].entry != want[i].entry ||
			(want[i].id != 0 && got[i].id != want[i].id) {
			t.Fatalf("events %+v, want %+v (id 0: any)", got, want)
		}
	}
}
