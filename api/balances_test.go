package api_test

import (
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/cointracker/cointracker/api"
	"github.com/cointracker/cointracker/sats"
)

func TestBalancesMatchSQL(t *testing.T) {
	t.Parallel()
	s := seeded(t)
	got := decode[api.Balances](t, s.get(t, "/v1/balances"))

	type sums struct {
		confirmed, unconfirmed, received, sent, count int64
		first, last                                   *time.Time
	}
	want := map[int64]sums{}
	rows, err := s.store.Pool().Query(ctx, `
		SELECT ua.id,
		       coalesce(sum(le.received_sats - le.sent_sats) FILTER (WHERE le.status = 'confirmed'), 0),
		       coalesce(sum(le.received_sats - le.sent_sats) FILTER (WHERE le.status = 'pending'), 0),
		       coalesce(sum(le.received_sats) FILTER (WHERE le.status IN ('confirmed', 'pending')), 0),
		       coalesce(sum(le.sent_sats) FILTER (WHERE le.status IN ('confirmed', 'pending')), 0),
		       count(le.transaction_id) FILTER (WHERE le.status IN ('confirmed', 'pending')),
		       min(le.sort_time) FILTER (WHERE le.status IN ('confirmed', 'pending')),
		       max(le.sort_time) FILTER (WHERE le.status IN ('confirmed', 'pending'))
		FROM users u JOIN user_addresses ua ON ua.user_id = u.id
		LEFT JOIN ledger_entries le ON le.address_id = ua.address_id
		WHERE u.subject = 'user-1' GROUP BY ua.id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var v sums
		if err := rows.Scan(&id, &v.confirmed, &v.unconfirmed, &v.received, &v.sent, &v.count, &v.first, &v.last); err != nil {
			t.Fatal(err)
		}
		want[id] = v
	}
	rows.Close()
	if len(got.Addresses) != len(want) || len(want) == 0 {
		t.Fatalf("%d addresses, want %d", len(got.Addresses), len(want))
	}
	var total sums
	for _, a := range got.Addresses {
		w := want[a.AddressID]
		if a.ConfirmedSats != w.confirmed || a.UnconfirmedSats != w.unconfirmed || a.ReceivedSats != w.received ||
			a.SentSats != w.sent || a.TxCount != w.count || a.ConfirmedBTC != sats.FormatBTC(w.confirmed) {
			t.Fatalf("address %d: %+v, want %+v", a.AddressID, a.Balance, w)
		}
		if !sameTime(a.FirstActivity, w.first) || !sameTime(a.LastActivity, w.last) {
			t.Fatalf("address %d: activity %v–%v, want %v–%v", a.AddressID, a.FirstActivity, a.LastActivity, w.first, w.last)
		}
		total.confirmed += w.confirmed
		total.unconfirmed += w.unconfirmed
		total.count += w.count
	}
	var distinct int64
	if err := s.store.Pool().QueryRow(ctx, `SELECT count(DISTINCT le.transaction_id) FROM users u
		JOIN user_addresses ua ON ua.user_id = u.id JOIN ledger_entries le ON le.address_id = ua.address_id
		WHERE u.subject = 'user-1' AND le.status IN ('confirmed', 'pending')`).Scan(&distinct); err != nil {
		t.Fatal(err)
	}
	// The entries' stored counts hold each transaction at two of the
	// user's addresses twice; the total counts it once.
	if distinct >= total.count {
		t.Fatalf("user-1's %d transactions are each at one address only: the total's count is not tested", distinct)
	}
	if got.Total.ConfirmedSats != total.confirmed || got.Total.UnconfirmedSats != total.unconfirmed || got.Total.TxCount != distinct {
		t.Fatalf("total %+v, want confirmed %d unconfirmed %d count %d", got.Total, total.confirmed, total.unconfirmed, distinct)
	}
	var cents int64
	if err := s.store.Pool().QueryRow(ctx, "SELECT close_usd_cents FROM prices ORDER BY day DESC LIMIT 1").Scan(&cents); err != nil {
		t.Fatal(err)
	}
	if got.Total.ValueUSD == nil || *got.Total.ValueUSD != sats.FormatUSD(total.confirmed+total.unconfirmed, cents) {
		t.Fatalf("total value %v", got.Total.ValueUSD)
	}

	// The history ends at the current balance, whatever the interval.
	for _, interval := range []string{"day", "week", "month"} {
		h := decode[api.BalanceHistory](t, s.get(t, "/v1/balances/history?interval="+interval))
		if h.Interval != interval || len(h.Points) < 2 {
			t.Fatalf("%s history has %d points", interval, len(h.Points))
		}
		last := h.Points[len(h.Points)-1]
		if last.BalanceSats != total.confirmed+total.unconfirmed {
			t.Fatalf("%s history ends at %d, balance is %d", interval, last.BalanceSats, total.confirmed+total.unconfirmed)
		}
		for i := 1; i < len(h.Points); i++ {
			if !h.Points[i].Time.After(h.Points[i-1].Time) {
				t.Fatalf("%s points out of order at %d", interval, i)
			}
			if h.Points[i].BalanceSats < 0 {
				t.Fatalf("%s balance negative at %s", interval, h.Points[i].Time)
			}
		}
	}
	// A monthly point equals the SQL running sum to that month's end.
	h := decode[api.BalanceHistory](t, s.get(t, "/v1/balances/history?interval=month&from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z"))
	if len(h.Points) != 1 || !h.Points[0].Time.Equal(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("January 2020 = %+v", h.Points)
	}
	var jan int64
	if err := s.store.Pool().QueryRow(ctx, `SELECT coalesce(sum(le.net_sats), 0) FROM users u
		JOIN user_addresses ua ON ua.user_id = u.id JOIN ledger_entries le ON le.address_id = ua.address_id
		WHERE u.subject = 'user-1' AND le.status IN ('confirmed', 'pending')
		  AND le.sort_time < '2020-02-01T00:00:00Z'`).Scan(&jan); err != nil {
		t.Fatal(err)
	}
	if h.Points[0].BalanceSats != jan || h.Points[0].ValueUSD == nil {
		t.Fatalf("January 2020 balance %d (value %v), SQL says %d", h.Points[0].BalanceSats, h.Points[0].ValueUSD, jan)
	}

	one := got.Addresses[0]
	h = decode[api.BalanceHistory](t, s.get(t, "/v1/balances/history?interval=week&address_id="+strconv.FormatInt(one.AddressID, 10)))
	if n := len(h.Points); n == 0 || h.Points[n-1].BalanceSats != one.ConfirmedSats+one.UnconfirmedSats {
		t.Fatalf("one address's history does not end at its balance")
	}
}

func TestBalancesEmptyAndBadInput(t *testing.T) {
	t.Parallel()
	s := migratedServer(t)
	b := decode[api.Balances](t, s.get(t, "/v1/balances"))
	if len(b.Addresses) != 0 || b.Total.ConfirmedSats != 0 || b.Total.TxCount != 0 || b.Total.ValueUSD != nil {
		t.Fatalf("empty balances = %+v", b)
	}
	h := decode[api.BalanceHistory](t, s.get(t, "/v1/balances/history"))
	if h.Interval != "day" || len(h.Points) != 0 {
		t.Fatalf("empty history = %+v", h)
	}
	for query, field := range map[string]string{
		"interval=hour": "interval", "address_id=0": "address_id", "from=soon": "from",
		"from=2021-01-01T00:00:00Z&to=2020-01-01T00:00:00Z": "to", "colour=red": "colour",
	} {
		p := problem(t, s.get(t, "/v1/balances/history?"+query), http.StatusBadRequest)
		if p.Errors[0].Field != field {
			t.Errorf("?%s: %+v", query, p.Errors)
		}
	}
	problem(t, s.get(t, "/v1/balances?x=1"), http.StatusBadRequest)
}

// sameTime reports whether two optional times are both absent or equal.
func sameTime(a, b *time.Time) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Equal(*b))
}

// GET /v1/balances lists the addresses a page at a time (a user may hold
// thousands of derived addresses); the total covers them all on every
// page, and the pages together are the one-call list.
func TestBalancesPages(t *testing.T) {
	t.Parallel()
	s := seeded(t)
	all := decode[api.Balances](t, s.get(t, "/v1/balances"))
	if all.NextCursor != nil || len(all.Addresses) < 3 {
		t.Fatalf("one call: %d addresses, next_cursor %v; want every address and none", len(all.Addresses), all.NextCursor)
	}
	var paged []api.AddressBalanceItem
	path := "/v1/balances?limit=2"
	for pages := 0; ; pages++ {
		if pages > len(all.Addresses) {
			t.Fatal("the pages never end")
		}
		p := decode[api.Balances](t, s.get(t, path))
		if len(p.Addresses) > 2 || !reflect.DeepEqual(p.Total, all.Total) {
			t.Fatalf("page %d: %d addresses, total %+v; want at most 2 and the whole total %+v", pages, len(p.Addresses), p.Total, all.Total)
		}
		paged = append(paged, p.Addresses...)
		if p.NextCursor == nil {
			break
		}
		path = "/v1/balances?limit=2&cursor=" + url.QueryEscape(*p.NextCursor)
	}
	if len(paged) != len(all.Addresses) {
		t.Fatalf("the pages hold %d addresses, the one call %d", len(paged), len(all.Addresses))
	}
	for i := range paged {
		if !reflect.DeepEqual(paged[i], all.Addresses[i]) {
			t.Fatalf("address %d: paged %+v, one call %+v", i, paged[i], all.Addresses[i])
		}
	}

	list := decode[api.AddressList](t, s.get(t, "/v1/addresses?limit=1"))
	for _, bad := range []string{"limit=0", "limit=1001", "cursor=" + url.QueryEscape(*list.NextCursor), "sort=newest"} {
		problem(t, s.get(t, "/v1/balances?"+bad), http.StatusBadRequest)
	}
}
