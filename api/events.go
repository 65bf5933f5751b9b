package api

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/events"
	"github.com/cointracker/cointracker/webhooks"
)

// Event types (migration 00028 writes them; the docs page lists them).
var eventTypes = []string{
	"transaction.seen", "transaction.confirmed", "transaction.reorged",
	"transaction.replaced", "transaction.dropped", "address.synced", "balance.changed",
}

// maxEventWait bounds a long-poll: proxies commonly close a silent
// connection after 60 s.
const maxEventWait = 60 * time.Second

// Event is one change the user could act on, from the change feed.
type Event struct {
	// ID increases with each of the user's events, in commit order: pass
	// the last one seen as after.
	ID   int64  `json:"id" example:"1042"`
	Type string `json:"type" example:"transaction.confirmed" enums:"transaction.seen,transaction.confirmed,transaction.reorged,transaction.replaced,transaction.dropped,address.synced,balance.changed"`
	// Timestamp is when the change was written.
	Timestamp time.Time `json:"timestamp" example:"2026-12-08T10:15:00Z"`
	// AddressID is the watch-list entry (GET /v1/addresses/{id}); it may
	// since have been deleted.
	AddressID int64  `json:"address_id" example:"42"`
	Address   string `json:"address" example:"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"`
	// Transaction is the history item as it was at the event
	// (transaction.* only), its confirmations and value as of now.
	Transaction *Transaction `json:"transaction,omitempty"`
	// SyncStatus is the outcome of the sync (address.synced only): partial
	// when the provider's totals disagree with the history read.
	SyncStatus *string `json:"sync_status,omitempty" enums:"done,partial"`
	// Balance is the address's balance after the change (address.synced
	// and balance.changed only), valued at the latest close.
	Balance *Balance `json:"balance,omitempty"`
}

// EventList is a page of the change feed.
type EventList struct {
	Items []Event `json:"items"`
	// NextCursor is the id to pass as after for the events that follow
	// (the last item's id; after itself when the page is empty). Never
	// null: the feed has no end.
	NextCursor string `json:"next_cursor" example:"1042"`
}

// listEvents godoc
//
//	@Summary		Change feed
//	@Description	The user's events after an id, oldest first: transactions seen, confirmed, sent back to the mempool by a reorg (reorged), replaced or dropped; finished syncs (address.synced); balance changes. Each is written in the same database transaction as the change. With wait, an empty answer waits up to that long for the next event. Events older than the retention (EVENTS_RETENTION) are deleted; a cursor before them answers 410.
//	@ID				listEvents
//	@Tags			events
//	@Produce		json
//	@Param			after	query		int		false	"the last event id seen (next_cursor); 0 for the oldest kept"	minimum(0)	default(0)
//	@Param			types	query		string	false	"comma-separated event types to return (all when absent)"
//	@Param			limit	query		int		false	"page size"	minimum(1)	maximum(500)	default(100)
//	@Param			wait	query		string	false	"long-poll: how long to wait for an event when there is none, as a duration (30s) or seconds (30), at most 60s"
//	@Success		200		{object}	EventList
//	@Failure		400		{object}	Problem
//	@Failure		410		{object}	Problem	"after is older than the retention: events after it were deleted"
//	@Failure		503		{object}	Problem
//	@Failure		401		{object}	Problem	"missing or invalid bearer token"
//	@Failure		429		{object}	Problem	"rate limited, or EVENTS_LONG_POLLS_PER_USER long-polls already waiting; see Retry-After"
//	@Security		BearerAuth
//	@Router			/v1/events [get]
func (s *Server) listEvents(c *gin.Context) {
	q := parseQuery(c.Request.URL.RawQuery, "after", "types", "limit", "wait")
	after := q.Int("after", 0, 0, math.MaxInt64)
	limit := q.Int("limit", 100, 1, 500)
	types := parseEventTypes(q)
	wait := parseWait(q)
	if errs := q.Errors(); len(errs) > 0 {
		abortValidation(c, errs)
		return
	}
	uid := currentUserID(c)
	if s.events == nil {
		wait = 0 // no hub to wake it (Options.Events)
	}
	var waiter *events.Waiter
	if wait > 0 {
		var ok bool
		if waiter, ok = s.events.Join(uid, s.quotas.EventLongPolls); !ok {
			c.Header("Retry-After", "1")
			abortStatus(c, http.StatusTooManyRequests, fmt.Sprintf(
				"you have %d long-polls waiting, the most at once (EVENTS_LONG_POLLS_PER_USER)", s.quotas.EventLongPolls))
			return
		}
		defer waiter.Leave()
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		var woken <-chan struct{}
		if waiter != nil {
			woken = waiter.Arm() // before the read: a commit after it wakes the wait
		}
		rows, ok := s.readEvents(c, uid, after, types, limit)
		if !ok {
			return
		}
		if len(rows) > 0 || wait == 0 {
			s.writeEvents(c, rows, after)
			return
		}
		select {
		case <-woken:
			if s.events.Stopped() {
				wait = 0 // shutting down: answer now
			}
		case <-deadline.C:
			wait = 0 // one last read, then answer
		case <-c.Request.Context().Done():
			return
		}
	}
}

// readEvents reads one page, or answers the error and returns false.
func (s *Server) readEvents(c *gin.Context, uid, after int64, types []string, limit int64) ([]db.EventsListRow, bool) {
	ctx, cancel := s.bound(c.Request.Context())
	defer cancel()
	pos, err := s.store.EventsPosition(ctx, uid)
	if err != nil {
		abortError(c, err)
		return nil, false
	}
	if after < pos.PrunedThrough {
		abortStatus(c, http.StatusGone, fmt.Sprintf(
			"events after %d were deleted by retention; the oldest kept follows %d: read from there (after=%d) and reconcile with GET /v1/transactions",
			after, pos.PrunedThrough, pos.PrunedThrough))
		return nil, false
	}
	rows, err := s.store.EventsList(ctx, db.EventsListParams{
		UserID: uid, AfterID: after, Types: types, MaxRows: int32(limit),
	})
	if err != nil {
		abortError(c, err)
		return nil, false
	}
	return rows, true
}

func (s *Server) writeEvents(c *gin.Context, rows []db.EventsListRow, after int64) {
	page := EventList{Items: make([]Event, 0, len(rows)), NextCursor: strconv.FormatInt(after, 10)}
	var price *int64
	for i := range rows {
		if rows[i].ConfirmedSats != nil && price == nil {
			p, _, err := s.latestPrice(c.Request.Context(), s.store.Queries)
			if err != nil {
				abortError(c, err)
				return
			}
			price = p
		}
		e, err := eventFromRow(&rows[i], price)
		if err != nil {
			abortError(c, err)
			return
		}
		page.Items = append(page.Items, e)
		page.NextCursor = strconv.FormatInt(e.ID, 10)
	}
	c.JSON(http.StatusOK, page)
}

// eventFromRow builds the event; centsPerBTC (nil without a price)
// values a balance.
func eventFromRow(r *db.EventsListRow, centsPerBTC *int64) (Event, error) {
	e := Event{ID: r.ID, Type: r.Type, Timestamp: r.CreatedAt, AddressID: r.EntryID, Address: r.Address, SyncStatus: r.SyncStatus}
	if r.Txid != nil {
		t, err := eventTransaction(r)
		if err != nil {
			return e, err
		}
		e.Transaction = &t
	}
	if r.ConfirmedSats != nil {
		b := newBalance(totals{*r.ConfirmedSats, *r.UnconfirmedSats, *r.TotalReceivedSats, *r.TotalSentSats,
			*r.TxCount, r.FirstActivity, r.LastActivity}, centsPerBTC)
		e.Balance = &b
	}
	return e, nil
}

// eventTransaction renders the event's ledger row with the history's own
// encoder (appendTransaction), so an event's transaction is byte for byte
// a history item; decoding it back into Transaction costs microseconds on
// a feed page and keeps the documented type the response's.
func eventTransaction(r *db.EventsListRow) (Transaction, error) {
	h := db.HistoryRow{
		AddressID: r.EntryID, Address: r.Address, Txid: r.Txid, Status: db.TxStatus(*r.Status),
		SelfTransfer: *r.SelfTransfer, ReceivedSats: *r.ReceivedSats, SentSats: *r.SentSats,
		NetSats: *r.ReceivedSats - *r.SentSats, FirstSeen: *r.FirstSeen, Unconfirmed: r.BlockHeight == nil,
		SortTime: *r.FirstSeen, FeeSats: *r.FeeSats, FeeShareSats: *r.FeeShareSats,
		Confirmations: r.Confirmations, CloseUsdCents: r.CloseUsdCents,
	}
	if r.BlockHeight != nil {
		h.SortHeight, h.SortTime = *r.BlockHeight, *r.BlockTime
	}
	var t Transaction
	if err := json.Unmarshal(appendTransaction(nil, &h), &t); err != nil {
		return t, fmt.Errorf("render event %d: %w", r.ID, err)
	}
	return t, nil
}

// parseEventTypes reads types: known types, comma-separated, each once.
func parseEventTypes(q *queryParams) []string {
	raw := q.String("types", "")
	if raw == "" {
		return []string{}
	}
	var out []string
	for _, t := range strings.Split(raw, ",") {
		switch {
		case !slices.Contains(eventTypes, t):
			q.fail("types", "names an unknown event type; the types are "+strings.Join(eventTypes, ", "))
			return nil
		case !slices.Contains(out, t):
			out = append(out, t)
		}
	}
	return out
}

// parseWait reads wait as a duration ("30s") or whole seconds ("30").
func parseWait(q *queryParams) time.Duration {
	raw := q.String("wait", "")
	if raw == "" {
		return 0
	}
	d, err := time.ParseDuration(raw)
	if n, nerr := strconv.ParseInt(raw, 10, 64); nerr == nil && n >= 0 && n <= int64(maxEventWait/time.Second) {
		d, err = time.Duration(n)*time.Second, nil
	}
	if err != nil || d < 0 || d > maxEventWait {
		q.fail("wait", "must be a duration from 0s to 60s (or whole seconds)")
		return 0
	}
	return d
}

// EventMessage is the webhook body of an event (package deliveries sends
// it): Standard Webhooks' type, timestamp and data, data being the event
// as the feed shows it. centsPerBTC (nil without a price) values a
// balance.
func EventMessage(r *db.EventsListRow, centsPerBTC *int64) ([]byte, error) {
	e, err := eventFromRow(r, centsPerBTC)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(webhooks.Message{Type: e.Type, Timestamp: e.Timestamp, Data: e})
	if err != nil {
		return nil, fmt.Errorf("encode event %d: %w", r.ID, err)
	}
	return b, nil
}
