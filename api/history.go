package api

import (
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cointracker/cointracker/db"
)

var (
	directions = []string{"incoming", "outgoing", "self"}
	// statuses are the status filter's values: the statuses the ledger
	// stores (db.TxStatus); replaced and dropped only when asked for.
	statuses        = []string{string(db.TxConfirmed), string(db.TxPending), string(db.TxReplaced), string(db.TxDropped)}
	defaultStatuses = statuses[:2:2] // capped: appending never writes into statuses
	// historyParams are the filters; the list routes add limit and cursor.
	historyParams = []string{"address_id", "direction", "status", "from", "to", "min_amount", "max_amount", "txid", "sort"}
	pageParams    = []string{"limit", "cursor"}
)

// Page sizes and filter bounds.
const (
	maxSatsFilter    = math.MaxInt64
	txidHexLen       = 64
	defaultPageLimit = 50
	maxPageLimit     = 500
)

// parseHistoryFilter reads the filters of SPEC §4 from q for the user.
// withAddress says whether address_id may be given (the per-address route
// takes it from the path instead).
func parseHistoryFilter(q *queryParams, userID int64, withAddress bool) db.HistoryFilter {
	f := db.HistoryFilter{UserID: userID, Statuses: defaultStatuses, From: db.MinTime, To: db.MaxTime, MaxAmount: maxSatsFilter}
	if withAddress {
		f.EntryID = q.Int("address_id", 0, 1, math.MaxInt64)
	}
	if d := q.String("direction", ""); d != "" {
		if !slices.Contains(directions, d) {
			q.fail("direction", "must be incoming, outgoing or self")
		}
		f.Direction = d
	}
	if s := q.String("status", ""); s != "" {
		f.Statuses = nil
		for part := range strings.SplitSeq(s, ",") {
			if !slices.Contains(statuses, part) {
				q.fail("status", "must be confirmed, pending, replaced or dropped (or several, comma-separated)")
				break
			}
			if !slices.Contains(f.Statuses, part) {
				f.Statuses = append(f.Statuses, part)
			}
		}
		slices.Sort(f.Statuses)
	}
	f.From = q.Time("from", db.MinTime)
	f.To = q.Time("to", db.MaxTime)
	if !f.From.Before(f.To) && len(q.Errors()) == 0 {
		q.fail("to", "must be after from")
	}
	f.MinAmount = q.Int("min_amount", 0, 0, math.MaxInt64)
	f.MaxAmount = q.Int("max_amount", maxSatsFilter, 0, math.MaxInt64)
	if f.MinAmount > f.MaxAmount {
		q.fail("max_amount", "must not be below min_amount")
	}
	if t := q.String("txid", ""); t != "" {
		b, err := hex.DecodeString(t)
		if err != nil || len(t) != txidHexLen {
			q.fail("txid", "must be 64 hexadecimal characters")
		}
		f.Txid = b
	}
	switch q.String("sort", "newest") {
	case "newest":
	case "oldest":
		f.Oldest = true
	default:
		q.fail("sort", "must be newest or oldest")
	}
	return f
}

// historyKey renders the filters canonically, so a cursor can be bound to
// them.
func historyKey(f db.HistoryFilter) string {
	return fmt.Sprintf("history|%d|%d|%s|%s|%d|%d|%d|%d|%x|%t", f.UserID, f.EntryID, f.Direction,
		strings.Join(f.Statuses, ","), f.From.UnixNano(), f.To.UnixNano(), f.MinAmount, f.MaxAmount, f.Txid, f.Oldest)
}

// historyPosition is a history row's keyset position as a page cursor
// carries it (cursor.go).
type historyPosition db.HistoryPosition

// directionOf names a row's direction as the user sees it: self when the
// transaction also touches another of the user's addresses, otherwise
// incoming when the address gained and outgoing when it did not.
func directionOf(r *db.HistoryRow) string {
	switch {
	case r.SelfTransfer:
		return "self"
	case r.NetSats > 0:
		return "incoming"
	}
	return "outgoing"
}
