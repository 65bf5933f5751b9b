package api

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cointracker/cointracker/sats"
)

// The transaction list is the API's hot path: a page of 50 rows through
// encoding/json's reflection took a quarter of the server's CPU, so it is
// written here straight from the query's rows into one buffer. The output
// is byte for byte what c.JSON(TransactionList) gives (the Transaction
// type stays the documented contract); transactions_json_test.go checks
// that on every kind of row.

// pageBuffers recycles response buffers (a page of 50 is about 35 KiB).
var pageBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// writeTransactionList answers 200 with the page as TransactionList JSON.
func writeTransactionList(c *gin.Context, rows []historyRow, next *string) {
	bp := pageBuffers.Get().(*[]byte)
	b := append((*bp)[:0], `{"items":[`...)
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTransaction(b, r)
	}
	b = append(b, `],"next_cursor":`...)
	if next == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, *next)
	}
	b = append(b, '}')
	h := c.Writer.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	// A known length spares the chunked encoding and its extra writes.
	h.Set("Content-Length", strconv.Itoa(len(b)))
	c.Status(http.StatusOK)
	_, _ = c.Writer.Write(b)
	if cap(b) <= 1<<20 { // keep the pool from holding a rare huge page
		*bp = b
		pageBuffers.Put(bp)
	}
}

// appendTransaction appends transactionFromRow(r) as encoding/json would.
func appendTransaction(b []byte, r historyRow) []byte {
	b = append(b, `{"txid":"`...)
	b = hex.AppendEncode(b, r.Txid)
	b = append(b, `","address_id":`...)
	b = strconv.AppendInt(b, r.AddressID, 10)
	b = append(b, `,"address":`...)
	b = appendJSONString(b, r.Address)
	b = append(b, `,"direction":"`...)
	b = append(b, directionOf(r)...) // one of three plain words
	b = append(b, '"')
	b = append(b, `,"status":`...)
	b = appendJSONString(b, string(r.Status))
	b = append(b, `,"received_sats":`...)
	b = strconv.AppendInt(b, r.ReceivedSats, 10)
	b = append(b, `,"sent_sats":`...)
	b = strconv.AppendInt(b, r.SentSats, 10)
	b = append(b, `,"net_sats":`...)
	b = strconv.AppendInt(b, r.NetSats, 10)
	b = append(b, `,"received_btc":"`...)
	b = sats.AppendBTC(b, r.ReceivedSats)
	b = append(b, `","sent_btc":"`...)
	b = sats.AppendBTC(b, r.SentSats)
	b = append(b, `","net_btc":"`...)
	b = sats.AppendBTC(b, r.NetSats)
	b = append(b, `","fee_sats":`...)
	b = strconv.AppendInt(b, r.FeeSats, 10)
	b = append(b, `,"fee_share_sats":`...)
	b = strconv.AppendInt(b, r.FeeShareSats, 10)
	// A confirmed row's sort keys are its block's height and time.
	if r.Unconfirmed {
		b = append(b, `,"block_height":null,"block_time":null`...)
	} else {
		b = append(b, `,"block_height":`...)
		b = strconv.AppendInt(b, int64(r.SortHeight), 10)
		b = append(b, `,"block_time":`...)
		b = appendJSONTime(b, r.SortTime)
	}
	b = append(b, `,"first_seen":`...)
	b = appendJSONTime(b, r.FirstSeen)
	b = append(b, `,"confirmations":`...)
	b = strconv.AppendInt(b, int64(r.Confirmations), 10)
	b = append(b, `,"value_usd":`...)
	if r.CloseUsdCents > 0 { // 0: the day has no price
		b = append(b, '"')
		b = sats.AppendUSD(b, r.NetSats, r.CloseUsdCents)
		b = append(b, '"')
	} else {
		b = append(b, "null"...)
	}
	return append(b, '}')
}

// appendJSONTime appends t as time.Time's MarshalJSON does.
func appendJSONTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		return appendJSONValue(b, t) // out of RFC 3339's range: let encoding/json decide
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendJSONString appends s quoted. Addresses, statuses and cursors are
// plain ASCII and go straight in; anything else takes encoding/json's own
// escaping, so the output cannot differ from it.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !jsonPlain[s[i]] {
			return appendJSONValue(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// jsonPlain marks the bytes encoding/json writes as they are: printable
// ASCII but the quote, the backslash and the HTML-escaped <, > and &.
var jsonPlain = func() (plain [256]bool) {
	for c := byte(0x20); c < 0x7f; c++ {
		plain[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return plain
}()

// appendJSONValue appends v as encoding/json (with gin's settings) writes it.
func appendJSONValue(b []byte, v any) []byte {
	out, err := json.Marshal(v)
	if err != nil {
		// Strings always marshal; a time out of range is not one of our rows.
		return append(b, "null"...)
	}
	return append(b, out...)
}
