package api

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/cointracker/cointracker/db"
)

// historyFilter is a parsed, validated transaction-history query.
type historyFilter struct {
	entryID   int64 // 0: every address
	direction string
	statuses  []string
	from, to  time.Time
	minAmount int64
	maxAmount int64
	txid      []byte
	oldest    bool
}

// Bounds used when a filter is not given.
var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
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

// parseHistoryFilter reads the filters of SPEC §4 from q. withAddress says
// whether address_id may be given (the per-address route takes it from the
// path instead).
func parseHistoryFilter(q *queryParams, withAddress bool) historyFilter {
	f := historyFilter{statuses: defaultStatuses, from: minTime, to: maxTime, maxAmount: maxSatsFilter}
	if withAddress {
		f.entryID = q.Int("address_id", 0, 1, math.MaxInt64)
	}
	if d := q.String("direction", ""); d != "" {
		if !slices.Contains(directions, d) {
			q.fail("direction", "must be incoming, outgoing or self")
		}
		f.direction = d
	}
	if s := q.String("status", ""); s != "" {
		f.statuses = nil
		for part := range strings.SplitSeq(s, ",") {
			if !slices.Contains(statuses, part) {
				q.fail("status", "must be confirmed, pending, replaced or dropped (or several, comma-separated)")
				break
			}
			if !slices.Contains(f.statuses, part) {
				f.statuses = append(f.statuses, part)
			}
		}
		slices.Sort(f.statuses)
	}
	f.from = q.Time("from", minTime)
	f.to = q.Time("to", maxTime)
	if !f.from.Before(f.to) && len(q.Errors()) == 0 {
		q.fail("to", "must be after from")
	}
	f.minAmount = q.Int("min_amount", 0, 0, math.MaxInt64)
	f.maxAmount = q.Int("max_amount", maxSatsFilter, 0, math.MaxInt64)
	if f.minAmount > f.maxAmount {
		q.fail("max_amount", "must not be below min_amount")
	}
	if t := q.String("txid", ""); t != "" {
		b, err := hex.DecodeString(t)
		if err != nil || len(t) != txidHexLen {
			q.fail("txid", "must be 64 hexadecimal characters")
		}
		f.txid = b
	}
	switch q.String("sort", "newest") {
	case "newest":
	case "oldest":
		f.oldest = true
	default:
		q.fail("sort", "must be newest or oldest")
	}
	return f
}

// key renders the filters canonically, so a cursor can be bound to them.
func (f historyFilter) key(userID int64) string {
	return fmt.Sprintf("history|%d|%d|%s|%s|%d|%d|%d|%d|%x|%t", userID, f.entryID, f.direction,
		strings.Join(f.statuses, ","), f.from.UnixNano(), f.to.UnixNano(), f.minAmount, f.maxAmount, f.txid, f.oldest)
}

// entryRange is the watch-list ids the filter covers.
func (f historyFilter) entryRange() (int64, int64) {
	if f.entryID != 0 {
		return f.entryID, f.entryID
	}
	return 1, math.MaxInt64
}

// historyPosition is a row's keyset position: its sort key and entry id.
type historyPosition struct {
	Unconfirmed bool
	Time        time.Time
	Height      int32
	Txid        []byte
	EntryID     int64
}

// Extreme positions: above every row in newest-first order, and below
// every row in oldest-first order.
var (
	topPosition = historyPosition{Unconfirmed: true, Time: maxTime, Height: math.MaxInt32,
		Txid: []byte(strings.Repeat("\xff", 33)), EntryID: math.MaxInt64}
	bottomPosition = historyPosition{Unconfirmed: false, Time: minTime, Height: math.MinInt32,
		Txid: []byte{}, EntryID: 0}
)

// start is the position before the first row in the filter's order.
func (f historyFilter) start() historyPosition {
	if f.oldest {
		return bottomPosition
	}
	return topPosition
}

// groupBound is where one group's (pending or confirmed) index scan
// starts, and whether the group is still open after the cursor.
type groupBound struct {
	open bool
	pos  historyPosition
}

// bounds splits a cursor into the pending and confirmed groups' bounds.
// Newest first, pending rows come first: a cursor among confirmed rows
// closes the pending group, and one among pending rows leaves the
// confirmed group open from its top. Oldest first, the reverse.
func (f historyFilter) bounds(after historyPosition) (pending, confirmed groupBound) {
	switch {
	case !f.oldest && after.Unconfirmed:
		return groupBound{true, after}, groupBound{true, topPosition}
	case !f.oldest:
		return groupBound{false, after}, groupBound{true, after}
	case !after.Unconfirmed:
		return groupBound{true, bottomPosition}, groupBound{true, after}
	}
	return groupBound{true, after}, groupBound{false, after}
}

// historyRow is one row of any history query (they share a shape).
type historyRow = db.TransactionHistoryNewestRow

// directionOf names a row's direction as the user sees it: self when the
// transaction also touches another of the user's addresses, otherwise
// incoming when the address gained and outgoing when it did not.
func directionOf(r historyRow) string {
	switch {
	case r.SelfTransfer:
		return "self"
	case r.NetSats > 0:
		return "incoming"
	}
	return "outgoing"
}

func positionOf(r historyRow) historyPosition {
	return historyPosition{Unconfirmed: r.Unconfirmed, Time: r.SortTime, Height: r.SortHeight, Txid: r.Txid, EntryID: r.AddressID}
}

// readHistory returns up to limit rows after position, and whether more
// follow.
func (s *Server) readHistory(ctx context.Context, q *db.Queries, userID int64, f historyFilter, after historyPosition, limit int32) ([]historyRow, bool, error) {
	if f.txid != nil {
		return s.readHistoryByTxid(ctx, q, userID, f, after, limit)
	}
	minEntry, maxEntry := f.entryRange()
	pending, confirmed := f.bounds(after)
	// One row more than the page tells whether another page follows.
	maxRows := limit + 1
	var rows []historyRow
	if f.oldest {
		older, err := q.TransactionHistoryOldest(ctx, db.TransactionHistoryOldestParams{
			ConfirmedOpen: confirmed.open, ConfirmedTime: confirmed.pos.Time, ConfirmedHeight: confirmed.pos.Height,
			ConfirmedTxid: confirmed.pos.Txid, ConfirmedEntryID: confirmed.pos.EntryID,
			PendingOpen: pending.open, PendingTime: pending.pos.Time, PendingHeight: pending.pos.Height,
			PendingTxid: pending.pos.Txid, PendingEntryID: pending.pos.EntryID,
			FromTime: f.from, ToTime: f.to, Statuses: f.statuses, MinAmount: f.minAmount, MaxAmount: f.maxAmount,
			Direction: f.direction, MaxRows: maxRows, UserID: userID, MinEntryID: minEntry, MaxEntryID: maxEntry,
		})
		if err != nil {
			return nil, false, err
		}
		rows = make([]historyRow, len(older))
		for i, r := range older {
			rows[i] = historyRow(r)
		}
	} else {
		var err error
		rows, err = q.TransactionHistoryNewest(ctx, db.TransactionHistoryNewestParams{
			PendingOpen: pending.open, PendingTime: pending.pos.Time, PendingHeight: pending.pos.Height,
			PendingTxid: pending.pos.Txid, PendingEntryID: pending.pos.EntryID,
			ConfirmedOpen: confirmed.open, ConfirmedTime: confirmed.pos.Time, ConfirmedHeight: confirmed.pos.Height,
			ConfirmedTxid: confirmed.pos.Txid, ConfirmedEntryID: confirmed.pos.EntryID,
			FromTime: f.from, ToTime: f.to, Statuses: f.statuses, MinAmount: f.minAmount, MaxAmount: f.maxAmount,
			Direction: f.direction, MaxRows: maxRows, UserID: userID, MinEntryID: minEntry, MaxEntryID: maxEntry,
		})
		if err != nil {
			return nil, false, err
		}
	}
	if len(rows) > int(limit) {
		return rows[:limit], true, nil
	}
	return rows, false, nil
}

// readHistoryByTxid serves the txid filter: the few matching rows are
// ordered and paged here.
func (s *Server) readHistoryByTxid(ctx context.Context, q *db.Queries, userID int64, f historyFilter, after historyPosition, limit int32) ([]historyRow, bool, error) {
	minEntry, maxEntry := f.entryRange()
	found, err := q.TransactionHistoryByTxid(ctx, db.TransactionHistoryByTxidParams{
		UserID: userID, Txid: f.txid, MinEntryID: minEntry, MaxEntryID: maxEntry,
		FromTime: f.from, ToTime: f.to, Statuses: f.statuses,
		MinAmount: f.minAmount, MaxAmount: f.maxAmount, Direction: f.direction,
	})
	if err != nil {
		return nil, false, err
	}
	rows := make([]historyRow, 0, len(found))
	for _, r := range found {
		row := historyRow(r)
		if cmp := comparePositions(positionOf(row), after); (f.oldest && cmp > 0) || (!f.oldest && cmp < 0) {
			rows = append(rows, row)
		}
	}
	slices.SortFunc(rows, func(a, b historyRow) int {
		c := comparePositions(positionOf(a), positionOf(b))
		if f.oldest {
			return c
		}
		return -c
	})
	if len(rows) > int(limit) {
		return rows[:limit], true, nil
	}
	return rows, false, nil
}

// comparePositions orders positions as the history queries do (ascending).
func comparePositions(a, b historyPosition) int {
	switch {
	case a.Unconfirmed != b.Unconfirmed:
		if a.Unconfirmed {
			return 1
		}
		return -1
	case !a.Time.Equal(b.Time):
		return a.Time.Compare(b.Time)
	case a.Height != b.Height:
		if a.Height < b.Height {
			return -1
		}
		return 1
	}
	if c := strings.Compare(string(a.Txid), string(b.Txid)); c != 0 {
		return c
	}
	switch {
	case a.EntryID < b.EntryID:
		return -1
	case a.EntryID > b.EntryID:
		return 1
	}
	return 0
}
