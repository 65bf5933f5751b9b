package api

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/sats"
)

// The wire form of a history row is written in one place,
// encodeTransaction below: every field of Transaction (the documented
// contract), in order, with how its value comes from the row. The JSON
// page, the CSV export and its header all run it, each through its own
// txEncoder mode. The JSON is written straight from the rows into one
// buffer rather than through encoding/json's reflection, which took a
// quarter of the server's CPU on this hot path; the output is byte for
// byte what c.JSON(TransactionList) gives, and transactions_json_test.go
// checks that on every kind of row, and that the fields follow
// Transaction's.

// encodeTransaction writes the row's fields, in wire order, to e.
func encodeTransaction(e *txEncoder, r *db.HistoryRow) {
	e.hex("txid", r.Txid)
	e.number("address_id", r.AddressID)
	e.str("address", r.Address)
	e.word("direction", directionOf(r))
	e.str("status", string(r.Status))
	e.number("received_sats", r.ReceivedSats)
	e.number("sent_sats", r.SentSats)
	e.number("net_sats", r.NetSats)
	e.btc("received_btc", r.ReceivedSats)
	e.btc("sent_btc", r.SentSats)
	e.btc("net_btc", r.NetSats)
	e.number("fee_sats", r.FeeSats)
	e.number("fee_share_sats", r.FeeShareSats)
	// A confirmed row's sort keys are its block's height and time; a
	// pending row has neither.
	if r.Unconfirmed {
		e.null("block_height")
		e.null("block_time")
	} else {
		e.number("block_height", int64(r.SortHeight))
		e.time("block_time", r.SortTime)
	}
	e.time("first_seen", r.FirstSeen)
	e.number("confirmations", int64(r.Confirmations))
	// net_sats at the day's close; 0 cents: the day has no price.
	if r.CloseUsdCents > 0 {
		e.usd("value_usd", r.NetSats, r.CloseUsdCents)
	} else {
		e.null("value_usd")
	}
}

// txMode is what a txEncoder writes.
type txMode int

const (
	txJSON  txMode = iota // JSON members, each led by a comma, to b
	txCSV                 // CSV cells to record: times in UTC to the second, null empty
	txNames               // the field names to record (the CSV header)
)

// txEncoder receives encodeTransaction's fields. One concrete type with a
// mode, rather than an interface, keeps the calls direct on the hot path.
type txEncoder struct {
	mode   txMode
	b      []byte
	record []string
	field  int // the next field's index in JSON mode
}

// open starts a field: in JSON its member name, and a quote when the
// value is quoted. It returns where the value starts in b, or -1 when
// only names are wanted.
func (e *txEncoder) open(name string, quoted bool) int {
	switch e.mode {
	case txNames:
		e.record = append(e.record, name)
		return -1
	case txJSON:
		e.b = append(e.b, txJSONKeys[e.field]...) // one append: `,"name":`
		e.field++
		if quoted {
			e.b = append(e.b, '"')
		}
	}
	return len(e.b)
}

// close ends the value open started: in JSON its quote, in CSV a cell
// of what was written since start (b is then only scratch).
func (e *txEncoder) close(start int, quoted bool) {
	switch {
	case e.mode == txCSV:
		e.record = append(e.record, string(e.b[start:]))
		e.b = e.b[:start]
	case quoted:
		e.b = append(e.b, '"')
	}
}

func (e *txEncoder) number(name string, v int64) {
	if start := e.open(name, false); start >= 0 {
		e.b = strconv.AppendInt(e.b, v, 10)
		e.close(start, false)
	}
}

// word is a string that never needs escaping.
func (e *txEncoder) word(name, s string) {
	if start := e.open(name, true); start >= 0 {
		e.b = append(e.b, s...)
		e.close(start, true)
	}
}

func (e *txEncoder) hex(name string, v []byte) {
	if start := e.open(name, true); start >= 0 {
		e.b = hex.AppendEncode(e.b, v)
		e.close(start, true)
	}
}

func (e *txEncoder) btc(name string, v int64) {
	if start := e.open(name, true); start >= 0 {
		e.b = sats.AppendBTC(e.b, v)
		e.close(start, true)
	}
}

func (e *txEncoder) usd(name string, v, centsPerBTC int64) {
	if start := e.open(name, true); start >= 0 {
		e.b = sats.AppendUSD(e.b, v, centsPerBTC)
		e.close(start, true)
	}
}

// str is a string escaped as encoding/json does.
func (e *txEncoder) str(name, s string) {
	switch start := e.open(name, false); {
	case start < 0:
	case e.mode == txCSV:
		e.record = append(e.record, s)
	default:
		e.b = appendJSONString(e.b, s)
	}
}

func (e *txEncoder) time(name string, t time.Time) {
	switch start := e.open(name, false); {
	case start < 0:
	case e.mode == txCSV:
		e.record = append(e.record, t.UTC().Format(time.RFC3339))
	default:
		e.b = appendJSONTime(e.b, t)
	}
}

func (e *txEncoder) null(name string) {
	switch start := e.open(name, false); {
	case start < 0:
	case e.mode == txCSV:
		e.record = append(e.record, "")
	default:
		e.b = append(e.b, "null"...)
	}
}

// appendTransaction appends the row as encoding/json writes a Transaction.
func appendTransaction(b []byte, r *db.HistoryRow) []byte {
	start := len(b)
	e := txEncoder{mode: txJSON, b: b}
	encodeTransaction(&e, r)
	e.b[start] = '{' // the first member's comma
	return append(e.b, '}')
}

// csvRecord is the row as an export line.
func csvRecord(r *db.HistoryRow) []string {
	e := txEncoder{mode: txCSV, b: make([]byte, 0, 64), record: make([]string, 0, len(csvHeader))}
	encodeTransaction(&e, r)
	return e.record
}

// csvHeader names the fields, in order (the export's columns), and
// txJSONKeys are their JSON member names, each led by its comma; both
// come from encodeTransaction, at start-up.
var csvHeader, txJSONKeys []string

func init() {
	e := txEncoder{mode: txNames}
	encodeTransaction(&e, &db.HistoryRow{})
	csvHeader = e.record
	txJSONKeys = make([]string, len(csvHeader))
	for i, name := range csvHeader {
		txJSONKeys[i] = `,"` + name + `":`
	}
}

// pageBuffers recycles response buffers (a page of 50 is about 35 KiB).
var pageBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// writeTransactionList answers 200 with the page as TransactionList JSON.
func writeTransactionList(c *gin.Context, rows []db.HistoryRow, next *string) {
	bp := pageBuffers.Get().(*[]byte)
	b := append((*bp)[:0], `{"items":[`...)
	for i := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTransaction(b, &rows[i])
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
