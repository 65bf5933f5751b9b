package db_test

import (
	"crypto/rand"
	"math"
	"testing"
	"time"

	"github.com/cointracker/cointracker/auth"
	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
)

// TestBalanceHistoryPointsAndPrices checks every point of a daily, weekly
// and monthly series, for the whole watch-list (user_days) and for one
// entry (address_days, address_months), against a running sum and a
// price lookup done here: each point's close is that of the last priced
// day of its interval, or of the last priced day before it when the
// interval has none. The prices have gaps (a missing day, a missing week
// and the days before the first price), so both the join on an
// interval's last day and the fallback are exercised.
func TestBalanceHistoryPointsAndPrices(t *testing.T) {
	t.Parallel()
	s := dbtest.NewStore(t)
	user, err := s.UpsertUser(ctx, db.UserUpsertParams{Issuer: auth.DevIssuer, Subject: "history"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	err = s.ExecTx(ctx, func(q *db.Queries) error {
		ids, _, err = q.Track(ctx, []db.Watch{
			{UserID: user.ID, Network: "mainnet", Address: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", ScriptType: "p2wpkh"},
			{UserID: user.ID, Network: "mainnet", Address: "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", ScriptType: "p2pkh"},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SyncStatesMarkDone(ctx, db.SyncStatesMarkDoneParams{AddressIds: ids, Height: 900_000, FinishedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	// Movements on days spread over three months, at both addresses.
	start := time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC)
	type move struct {
		at    time.Time
		entry int
		net   int64
	}
	var moves []move
	for i := range 40 {
		at := start.AddDate(0, 0, i*2+i%3).Add(time.Duration(i) * time.Hour)
		net := int64(10_000 * (i + 1))
		if i%4 == 3 {
			net = -5_000 // a spend, never more than was received
		}
		moves = append(moves, move{at: at, entry: i % 2, net: net})
	}
	for i, m := range moves {
		txid := make([]byte, 32)
		_, _ = rand.Read(txid)
		rows, err := s.TransactionsUpsert(ctx, db.TransactionsUpsertParams{
			Networks: []string{"mainnet"}, Txids: [][]byte{txid}, Statuses: []string{"confirmed"},
			BlockHeights: []int32{int32(800_000 + i)}, BlockHashes: [][]byte{txid}, BlockTimes: []time.Time{m.at},
			FeesSats: []int64{200}, Vsizes: []int32{150}, FirstSeens: []time.Time{m.at},
		})
		if err != nil || len(rows) != 1 {
			t.Fatalf("transaction %d: %v", i, err)
		}
		received, sent := m.net, int64(0)
		if m.net < 0 {
			received, sent = 0, -m.net
		}
		err = s.LedgerEntriesUpsert(ctx, db.LedgerEntriesUpsertParams{
			AddressIds: []int64{ids[m.entry]}, TransactionIds: []int64{rows[0].ID},
			ReceivedSats: []int64{received}, SentSats: []int64{sent}, FeeShareSats: []int64{0},
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	// Prices from the tenth day on, without 2024-01-20 and without the
	// week of 2024-02-12.
	prices := map[string]int64{}
	var days []time.Time
	var cents []int64
	for d := start.AddDate(0, 0, 10); d.Before(start.AddDate(0, 4, 0)); d = d.AddDate(0, 0, 1) {
		if d.Equal(time.Date(2024, 1, 20, 0, 0, 0, 0, time.UTC)) ||
			!d.Before(time.Date(2024, 2, 12, 0, 0, 0, 0, time.UTC)) && d.Before(time.Date(2024, 2, 19, 0, 0, 0, 0, time.UTC)) {
			continue
		}
		c := 4_000_000 + int64(d.YearDay())*1_000
		days, cents = append(days, d), append(cents, c)
		prices[d.Format(time.DateOnly)] = c
	}
	if err := s.PricesUpsert(ctx, db.PricesUpsertParams{Days: days, CloseUsdCents: cents}); err != nil {
		t.Fatal(err)
	}
	// closeBefore is the close of the last priced day before end.
	closeBefore := func(end time.Time) int64 {
		for d := end.AddDate(0, 0, -1); !d.Before(start); d = d.AddDate(0, 0, -1) {
			if c, ok := prices[d.Format(time.DateOnly)]; ok {
				return c
			}
		}
		return 0
	}

	for _, interval := range []string{"day", "week", "month"} {
		for _, entry := range []int{-1, 0, 1} { // -1: the whole watch-list
			p := db.BalanceHistoryParams{Interval: interval, FromTime: db.MinTime, ToTime: db.MaxTime,
				UserID: user.ID, MinEntryID: 1, MaxEntryID: math.MaxInt64, WholeWatchList: true}
			if entry >= 0 {
				p.MinEntryID, p.MaxEntryID, p.WholeWatchList = entryID(t, s, user.ID, ids[entry]), entryID(t, s, user.ID, ids[entry]), false
			}
			points, err := s.BalanceHistory(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if len(points) < 3 {
				t.Fatalf("%s, entry %d: %d points", interval, entry, len(points))
			}
			for _, pt := range points {
				end := next(pt.Bucket.UTC(), interval)
				var want int64
				for _, m := range moves {
					if (entry < 0 || m.entry == entry) && m.at.Before(end) {
						want += m.net
					}
				}
				if pt.BalanceSats != want {
					t.Errorf("%s, entry %d, %s: balance %d, want %d", interval, entry, pt.Bucket.UTC().Format(time.DateOnly), pt.BalanceSats, want)
				}
				if c := closeBefore(end); pt.CloseUsdCents != c {
					t.Errorf("%s, entry %d, %s: close %d, want %d", interval, entry, pt.Bucket.UTC().Format(time.DateOnly), pt.CloseUsdCents, c)
				}
			}
		}
	}
}

// next is the start of the interval after the one starting at t.
func next(t time.Time, interval string) time.Time {
	switch interval {
	case "week":
		return t.AddDate(0, 0, 7)
	case "month":
		return t.AddDate(0, 1, 0)
	}
	return t.AddDate(0, 0, 1)
}

// entryID is the watch-list entry of address on user's list.
func entryID(t *testing.T, s *db.Store, user, address int64) int64 {
	t.Helper()
	var id int64
	if err := s.Pool().QueryRow(ctx, "SELECT id FROM user_addresses WHERE user_id = $1 AND address_id = $2", user, address).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}
