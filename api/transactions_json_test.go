package api

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cointracker/cointracker/db"
)

// TestTransactionListJSONIsEncodingJSON checks that the hand-written
// transaction list writes exactly what c.JSON(TransactionList) writes, on
// random rows and on the awkward ones: pending, no price, negative and
// extreme amounts, other time zones and nanoseconds, strings that need
// escaping, no next page.
func TestTransactionListJSONIsEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	zones := []*time.Location{time.UTC, time.FixedZone("CEST", 2*3600), time.FixedZone("odd", -(3*3600 + 30*60))}
	randomRow := func() historyRow {
		r := historyRow{
			AddressID: rng.Int64N(1 << 40), Address: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
			Txid: make([]byte, 32), Status: []db.TxStatus{db.TxConfirmed, db.TxPending, db.TxReplaced, db.TxDropped}[rng.IntN(4)],
			SelfTransfer: rng.IntN(3) == 0,
			ReceivedSats: rng.Int64N(2_100_000_000_000_000), SentSats: rng.Int64N(2_100_000_000_000_000),
			FeeSats: rng.Int64N(1e8), FeeShareSats: rng.Int64N(1e8), Confirmations: rng.Int32N(900_000),
			FirstSeen: time.Unix(rng.Int64N(2e9), rng.Int64N(1e9)).In(zones[rng.IntN(len(zones))]),
		}
		r.NetSats = r.ReceivedSats - r.SentSats
		for i := range r.Txid {
			r.Txid[i] = byte(rng.UintN(256))
		}
		// Unconfirmed rows sort by first seen; confirmed ones by their block.
		r.Unconfirmed, r.SortTime = true, r.FirstSeen
		if rng.IntN(3) > 0 {
			r.Unconfirmed, r.SortHeight = false, rng.Int32N(900_000)
			r.SortTime = time.Unix(rng.Int64N(2e9), 0).In(zones[rng.IntN(len(zones))])
		}
		if rng.IntN(4) > 0 {
			r.CloseUsdCents = 1 + rng.Int64N(20_000_000)
		}
		return r
	}
	var rows []historyRow
	for range 500 {
		rows = append(rows, randomRow())
	}
	odd := randomRow()
	odd.Address, odd.SelfTransfer = `<b>"quoted" & back\slash</b> ünïcode`+"\u2028\x01", true
	big := randomRow()
	big.ReceivedSats, big.SentSats, big.NetSats = 0, math.MaxInt64, math.MinInt64+1
	big.CloseUsdCents = math.MaxInt64
	rows = append(rows, odd, big)

	next := "eyJmIjoiYWJj.signature_-"
	for _, page := range []struct {
		rows []historyRow
		next *string
	}{{rows, &next}, {rows[:1], nil}, {nil, nil}} {
		want := TransactionList{Items: make([]Transaction, len(page.rows)), NextCursor: page.next}
		for i, r := range page.rows {
			want.Items[i] = transactionFromRow(r)
		}
		viaGin := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(viaGin)
		c.JSON(200, want)

		got := httptest.NewRecorder()
		c, _ = gin.CreateTestContext(got)
		writeTransactionList(c, page.rows, page.next)

		if !bytes.Equal(got.Body.Bytes(), viaGin.Body.Bytes()) {
			g, w := got.Body.String(), viaGin.Body.String()
			i := 0
			for i < len(g) && i < len(w) && g[i] == w[i] {
				i++
			}
			t.Fatalf("%d rows: differs from encoding/json at byte %d:\n got …%.200s\nwant …%.200s", len(page.rows), i, g[i:], w[i:])
		}
		if got.Header().Get("Content-Type") != viaGin.Header().Get("Content-Type") {
			t.Fatalf("Content-Type %q, gin's %q", got.Header().Get("Content-Type"), viaGin.Header().Get("Content-Type"))
		}
		if !json.Valid(got.Body.Bytes()) {
			t.Fatal("not valid JSON")
		}
	}
}

// BenchmarkTransactionListJSON compares the hand-written page with
// encoding/json's for a page of 50.
func BenchmarkTransactionListJSON(b *testing.B) {
	h, bt, cents := int32(840_000), time.Unix(1_713_571_767, 0).UTC(), int64(6_400_000)
	rows := make([]historyRow, 50)
	for i := range rows {
		rows[i] = historyRow{AddressID: 42, Address: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", Txid: make([]byte, 32),
			Status: "confirmed", ReceivedSats: 150_000, NetSats: 150_000, FeeSats: 1410,
			SortHeight: h, SortTime: bt, FirstSeen: bt, Confirmations: 3, CloseUsdCents: cents}
	}
	next := "eyJmIjoiYWJj.signature"
	b.Run("hand-written", func(b *testing.B) {
		for b.Loop() {
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			writeTransactionList(c, rows, &next)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			page := TransactionList{Items: make([]Transaction, len(rows)), NextCursor: &next}
			for i, r := range rows {
				page.Items[i] = transactionFromRow(r)
			}
			c.JSON(200, page)
		}
	})
}
