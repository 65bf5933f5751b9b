package db

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/cointracker/cointracker/btc"
)

// HistoryRow is one row of a user's transaction history: one
// transaction's effect on one watch-list entry (AddressID is the entry's
// id). A row is unconfirmed exactly when its transaction has no block;
// otherwise SortHeight and SortTime are the block's height and time.
// CloseUsdCents is 0 when the day has no price.
type HistoryRow = TransactionHistoryNewestRow

// HistoryPosition is a row's keyset position: its sort key and entry id.
type HistoryPosition struct {
	Unconfirmed bool
	Time        time.Time
	Height      int32
	Txid        []byte
	EntryID     int64
}

// Position is the row's keyset position, the cursor after it.
func (r *HistoryRow) Position() HistoryPosition {
	return HistoryPosition{Unconfirmed: r.Unconfirmed, Time: r.SortTime, Height: r.SortHeight, Txid: r.Txid, EntryID: r.AddressID}
}

// Bounds of the filters and positions: times no row has, and the extreme
// positions above every row (newest first) and below every row (oldest
// first).
var (
	MinTime        = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime        = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	topPosition    = HistoryPosition{Unconfirmed: true, Time: MaxTime, Height: math.MaxInt32, Txid: []byte(strings.Repeat("\xff", 33)), EntryID: math.MaxInt64}
	bottomPosition = HistoryPosition{Unconfirmed: false, Time: MinTime, Height: math.MinInt32, Txid: []byte{}, EntryID: 0}
)

// HistoryFilter selects a user's history rows (SPEC §4). Every bound is
// explicit: MinTime and MaxTime, 0 and math.MaxInt64 leave a span open.
type HistoryFilter struct {
	UserID  int64
	EntryID int64 // 0: every watch-list entry
	// Direction is incoming, outgoing, self or "" for any.
	Direction string
	Statuses  []string
	// From and To bound sort_time: block time, or first seen while
	// pending (from inclusive, to exclusive).
	From, To time.Time
	// MinAmount and MaxAmount bound the absolute net amount in sats.
	MinAmount, MaxAmount int64
	Txid                 []byte // exact transaction; nil: any
	Oldest               bool   // oldest first; newest (pending first) otherwise
}

// Start is the position before the first row in the filter's order.
func (f HistoryFilter) Start() HistoryPosition {
	if f.Oldest {
		return bottomPosition
	}
	return topPosition
}

// History returns up to limit of the filter's rows after position, in the
// filter's order, and whether more follow. It is the one way to read a
// page of history: the API's pages call it, and so does HistoryEach (the
// CSV export) for one transaction or a watch-list too wide for its
// cursors.
func (q *Queries) History(ctx context.Context, f HistoryFilter, after HistoryPosition, limit int32) ([]HistoryRow, bool, error) {
	var rows []HistoryRow
	var err error
	if f.Txid != nil {
		rows, err = q.historyOfTxid(ctx, f, after)
	} else {
		rows, err = q.historyRange(ctx, f, after, limit+1) // one more tells whether a page follows
	}
	if err != nil {
		return nil, false, err
	}
	if len(rows) > int(limit) {
		return rows[:limit], true, nil
	}
	return rows, false, nil
}

// historyRange reads up to maxRows rows by the entries' index ranges.
func (q *Queries) historyRange(ctx context.Context, f HistoryFilter, after HistoryPosition, maxRows int32) ([]HistoryRow, error) {
	first, second := f.groups(after)
	minEntry, maxEntry := f.entryRange()
	p := TransactionHistoryNewestParams{
		FirstOpen: first.open, FirstTime: first.pos.Time, FirstHeight: first.pos.Height,
		FirstTxid: first.pos.Txid, FirstEntryID: first.pos.EntryID,
		SecondOpen: second.open, SecondTime: second.pos.Time, SecondHeight: second.pos.Height,
		SecondTxid: second.pos.Txid, SecondEntryID: second.pos.EntryID,
		FromTime: f.From, ToTime: f.To, Statuses: f.Statuses, MinAmount: f.MinAmount, MaxAmount: f.MaxAmount,
		Direction: f.Direction, MaxRows: maxRows, UserID: f.UserID, MinEntryID: minEntry, MaxEntryID: maxEntry,
	}
	if !f.Oldest {
		return q.TransactionHistoryNewest(ctx, p)
	}
	older, err := q.TransactionHistoryOldest(ctx, TransactionHistoryOldestParams(p))
	if err != nil {
		return nil, err
	}
	rows := make([]HistoryRow, len(older))
	for i, r := range older {
		rows[i] = HistoryRow(r)
	}
	return rows, nil
}

// historyOfTxid reads the user's rows of one transaction, all of them:
// they are few, so they are ordered and cut at the cursor here.
func (q *Queries) historyOfTxid(ctx context.Context, f HistoryFilter, after HistoryPosition) ([]HistoryRow, error) {
	minEntry, maxEntry := f.entryRange()
	found, err := q.TransactionHistoryByTxid(ctx, TransactionHistoryByTxidParams{
		UserID: f.UserID, Networks: btc.NetworkNames(), Txid: f.Txid, MinEntryID: minEntry, MaxEntryID: maxEntry,
		FromTime: f.From, ToTime: f.To, Statuses: f.Statuses, MinAmount: f.MinAmount, MaxAmount: f.MaxAmount, Direction: f.Direction,
	})
	if err != nil {
		return nil, err
	}
	order := 1
	if !f.Oldest {
		order = -1
	}
	rows := make([]HistoryRow, 0, len(found))
	for _, r := range found {
		row := HistoryRow(r)
		if order*comparePositions(row.Position(), after) > 0 {
			rows = append(rows, row)
		}
	}
	slices.SortFunc(rows, func(a, b HistoryRow) int { return order * comparePositions(a.Position(), b.Position()) })
	return rows, nil
}

// entryRange is the watch-list ids the filter covers.
func (f HistoryFilter) entryRange() (int64, int64) {
	return EntryRange(f.EntryID)
}

// EntryRange is the range of watch-list ids a query covers for one entry
// id, or for every entry when it is 0: the queries take a range, so one
// plan serves both.
func EntryRange(entryID int64) (lo, hi int64) {
	if entryID != 0 {
		return entryID, entryID
	}
	return 1, math.MaxInt64
}

// groupBound is where one group's (pending or confirmed) index scan
// starts, and whether the group is still open after the cursor.
type groupBound struct {
	open bool
	pos  HistoryPosition
}

// groups splits a cursor into the bounds of the group the order reads
// first and of the other. Newest first, pending rows come first: a cursor
// among confirmed rows closes the pending group, and one among pending
// rows leaves the confirmed group open from its top. Oldest first, the
// reverse.
func (f HistoryFilter) groups(after HistoryPosition) (first, second groupBound) {
	switch {
	case !f.Oldest && after.Unconfirmed:
		return groupBound{true, after}, groupBound{true, topPosition}
	case !f.Oldest:
		return groupBound{false, after}, groupBound{true, after}
	case !after.Unconfirmed:
		return groupBound{true, after}, groupBound{true, bottomPosition}
	}
	return groupBound{false, after}, groupBound{true, after}
}

// comparePositions orders positions as the history queries do, ascending:
// confirmed before pending, then by time, height, txid and entry id.
func comparePositions(a, b HistoryPosition) int {
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
