package api

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/sats"
)

// transactionFromRow is the documented contract, written out field by
// field with encoding/json's types: the oracle txFields is checked against.
func transactionFromRow(r *db.HistoryRow) Transaction {
	t := Transaction{
		Txid: hex.EncodeToString(r.Txid), AddressID: r.AddressID, Address: r.Address, Direction: directionOf(r),
		Status: string(r.Status), ReceivedSats: r.ReceivedSats, SentSats: r.SentSats, NetSats: r.NetSats,
		ReceivedBTC: sats.FormatBTC(r.ReceivedSats), SentBTC: sats.FormatBTC(r.SentSats), NetBTC: sats.FormatBTC(r.NetSats),
		FeeSats: r.FeeSats, FeeShareSats: r.FeeShareSats, FirstSeen: r.FirstSeen, Confirmations: r.Confirmations,
	}
	if !r.Unconfirmed {
		height, at := r.SortHeight, r.SortTime
		t.BlockHeight, t.BlockTime = &height, &at
	}
	if r.CloseUsdCents > 0 {
		v := sats.FormatUSD(r.NetSats, r.CloseUsdCents)
		t.ValueUSD = &v
	}
	return t
}

// TestTxFieldsFollowTransaction checks that the wire table names every
// field of the documented Transaction, in its order, and that an export
// line holds each one's value: times in UTC to the second, an empty cell
// for null.
func TestTxFieldsFollowTransaction(t *testing.T) {
	tr := reflect.TypeFor[Transaction]()
	var tags []string
	for i := range tr.NumField() {
		tags = append(tags, strings.Split(tr.Field(i).Tag.Get("json"), ",")[0])
	}
	if !slices.Equal(csvHeader, tags) {
		t.Fatalf("txFields = %v,\nTransaction's fields = %v", csvHeader, tags)
	}
	at := time.Date(2024, 4, 20, 2, 9, 27, 123, time.FixedZone("CEST", 2*3600))
	for _, r := range []db.HistoryRow{
		{AddressID: 7, Address: "a,\"b\"", Txid: []byte{0xab, 0x01}, Status: db.TxConfirmed, ReceivedSats: 150_000,
			NetSats: 150_000, FeeSats: 1410, SortHeight: 840_000, SortTime: at, FirstSeen: at, Confirmations: 3, CloseUsdCents: 6_400_000},
		{AddressID: 8, Address: "x", Txid: []byte{0x02}, Status: db.TxPending, SentSats: 5, NetSats: -5,
			SelfTransfer: true, Unconfirmed: true, SortTime: at, FirstSeen: at},
	} {
		tx := transactionFromRow(&r)
		want := []string{tx.Txid, strconv.FormatInt(tx.AddressID, 10), tx.Address, tx.Direction, tx.Status,
			strconv.FormatInt(tx.ReceivedSats, 10), strconv.FormatInt(tx.SentSats, 10), strconv.FormatInt(tx.NetSats, 10),
			tx.ReceivedBTC, tx.SentBTC, tx.NetBTC, strconv.FormatInt(tx.FeeSats, 10), strconv.FormatInt(tx.FeeShareSats, 10),
			"", "", tx.FirstSeen.UTC().Format(time.RFC3339), strconv.FormatInt(int64(tx.Confirmations), 10), ""}
		if tx.BlockHeight != nil {
			want[13], want[14] = strconv.FormatInt(int64(*tx.BlockHeight), 10), tx.BlockTime.UTC().Format(time.RFC3339)
		}
		if tx.ValueUSD != nil {
			want[17] = *tx.ValueUSD
		}
		if got := csvRecord(&r); !slices.Equal(got, want) {
			t.Errorf("csvRecord = %q,\nwant %q", got, want)
		}
	}
}

// TestTransactionListJSONIsEncodingJSON checks that the hand-written
// transaction list writes exactly what c.JSON(TransactionList) writes, on
// random rows and on the awkward ones: pending, no price, negative and
// extreme amounts, other time zones and nanoseconds, strings that need
// escaping, no next page.
func TestTransactionListJSONIsEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	zones := []*time.Location{time.UTC, time.FixedZone("CEST", 2*3600), time.FixedZone("odd", -(3*3600 + 30*60))}
	randomRow := func() db.HistoryRow {
		r := db.HistoryRow{
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
	var rows []db.HistoryRow
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
		rows []db.HistoryRow
		next *string
	}{{rows, &next}, {rows[:1], nil}, {nil, nil}} {
		want := TransactionList{Items: make([]Transaction, len(page.rows)), NextCursor: page.next}
		for i := range page.rows {
			want.Items[i] = transactionFromRow(&page.rows[i])
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
	rows := make([]db.HistoryRow, 50)
	for i := range rows {
		rows[i] = db.HistoryRow{AddressID: 42, Address: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", Txid: make([]byte, 32),
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
			for i := range rows {
				page.Items[i] = transactionFromRow(&rows[i])
			}
			c.JSON(200, page)
		}
	})
}
