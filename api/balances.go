package api

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/sats"
)

// Balance is a balance summary: of one address, or the user's total.
type Balance struct {
	// ConfirmedSats is the net of confirmed transactions.
	ConfirmedSats int64  `json:"confirmed_sats" example:"150000"`
	ConfirmedBTC  string `json:"confirmed_btc" example:"0.00150000"`
	// UnconfirmedSats is the net of pending transactions.
	UnconfirmedSats int64  `json:"unconfirmed_sats" example:"-2500"`
	UnconfirmedBTC  string `json:"unconfirmed_btc" example:"-0.00002500"`
	ReceivedSats    int64  `json:"received_sats" example:"250000"`
	ReceivedBTC     string `json:"received_btc" example:"0.00250000"`
	SentSats        int64  `json:"sent_sats" example:"102500"`
	SentBTC         string `json:"sent_btc" example:"0.00102500"`
	// TxCount counts confirmed and pending transactions (each once in the
	// total, however many of the user's addresses it touches).
	TxCount int64 `json:"tx_count" example:"12"`
	// ValueUSD is confirmed + unconfirmed at the latest BTC/USD close; null
	// without a price.
	ValueUSD *string `json:"value_usd" example:"142.37"`
	// FirstActivity and LastActivity span the counted transactions (block
	// time, first seen while pending); null without any.
	FirstActivity *time.Time `json:"first_activity" example:"2021-04-02T10:15:00Z"`
	LastActivity  *time.Time `json:"last_activity" example:"2026-11-20T08:01:00Z"`
}

// AddressBalanceItem is one address's balance.
type AddressBalanceItem struct {
	AddressID int64  `json:"address_id" example:"42"`
	Address   string `json:"address" example:"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"`
	Balance
	// SyncStatus says whether the balance is complete ("done") or not yet.
	SyncStatus string `json:"sync_status" example:"done" enums:"new,queued,running,done,partial,failed"`
}

// Balances is the body of GET /v1/balances.
type Balances struct {
	// Total covers every address, whatever page this is.
	Total     Balance              `json:"total"`
	Addresses []AddressBalanceItem `json:"addresses"`
	// NextCursor fetches the next page of addresses; null on the last.
	NextCursor *string `json:"next_cursor" example:"eyJpZCI6NDJ9"`
	// PriceDay is the day of the BTC/USD close used for value_usd.
	PriceDay *time.Time `json:"price_day" example:"2026-11-01T00:00:00Z"`
}

// totals are the stored sums a balance shows (address_totals, migration
// 00018): of one watch-list entry, or of all the user's.
type totals struct {
	confirmed, unconfirmed, received, sent, txCount int64
	first, last                                     *time.Time
}

// totalsOf is an entry's totals.
func totalsOf(r db.UserAddressSummary) totals {
	return totals{r.ConfirmedSats, r.UnconfirmedSats, r.ReceivedSats, r.SentSats, r.TxCount, r.FirstActivity, r.LastActivity}
}

func newBalance(t totals, centsPerBTC *int64) Balance {
	b := Balance{
		ConfirmedSats: t.confirmed, ConfirmedBTC: sats.FormatBTC(t.confirmed),
		UnconfirmedSats: t.unconfirmed, UnconfirmedBTC: sats.FormatBTC(t.unconfirmed),
		ReceivedSats: t.received, ReceivedBTC: sats.FormatBTC(t.received),
		SentSats: t.sent, SentBTC: sats.FormatBTC(t.sent),
		TxCount:       t.txCount,
		FirstActivity: t.first, LastActivity: t.last,
	}
	if centsPerBTC != nil {
		v := sats.FormatUSD(t.confirmed+t.unconfirmed, *centsPerBTC)
		b.ValueUSD = &v
	}
	return b
}

// latestPrice returns the latest BTC/USD close in cents and its day, or
// nils when no price is stored.
func (s *Server) latestPrice(ctx context.Context, q *db.Queries) (*int64, *time.Time, error) {
	p, err := q.PriceLatest(ctx)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return &p.CloseUsdCents, &p.Day, nil
}

// balancesFilters names the balances' entry pages for their cursors.
const balancesFilters = "balances"

// balancesPageLimit is how many entries one GET /v1/balances lists at
// most, and by default: the default address quota's worth, so a user
// within it gets every entry in one call, and one with xpubs' thousands
// of derived addresses pages through them. The total always covers all.
const balancesPageLimit = 1000

// getBalances returns per-address and total balances.
//
//	@Summary		Balances
//	@Description	Per-address and total balances: confirmed, unconfirmed, received, sent and transaction count, with the value in US dollars at the latest daily close. Replaced and dropped transactions never count. The total covers every address; the addresses come a page at a time (up to 1000, in the order they were added), with next_cursor while more follow.
//	@ID				getBalances
//	@Tags			balances
//	@Produce		json
//	@Param			limit	query		int		false	"addresses per page"	minimum(1)	maximum(1000)	default(1000)
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Success		200		{object}	Balances
//	@Failure		400		{object}	Problem
//	@Failure		401		{object}	Problem	"missing or invalid bearer token"
//	@Failure		429		{object}	Problem	"rate limited; see Retry-After"
//	@Security		BearerAuth
//	@Router			/v1/balances [get]
func (s *Server) getBalances(c *gin.Context) {
	after, limit, ok := s.idPageOf(c, balancesFilters, balancesPageLimit, balancesPageLimit)
	if !ok {
		return
	}
	ctx, uid, q := c.Request.Context(), currentUserID(c), s.reader(c)
	rows, err := q.UserAddressList(ctx, db.UserAddressListParams{UserID: uid, AfterID: after.ID, MaxRows: int32(limit + 1)})
	if err != nil {
		abortError(c, err)
		return
	}
	t, err := q.BalanceTotals(ctx, uid)
	if err != nil {
		abortError(c, err)
		return
	}
	price, day, err := s.latestPrice(ctx, q)
	if err != nil {
		abortError(c, err)
		return
	}
	out := Balances{PriceDay: day,
		Total: newBalance(totals{t.ConfirmedSats, t.UnconfirmedSats, t.ReceivedSats, t.SentSats, t.TxCount, t.FirstActivity, t.LastActivity}, price)}
	out.Addresses, out.NextCursor = idPageItems(s, balancesFilters, rows, limit,
		func(r *db.UserAddressSummary) int64 { return r.ID },
		func(r *db.UserAddressSummary) AddressBalanceItem {
			return AddressBalanceItem{AddressID: r.ID, Address: r.Address, SyncStatus: r.SyncStatus, Balance: newBalance(totalsOf(*r), price)}
		})
	c.JSON(http.StatusOK, out)
}

// BalancePoint is the balance at the end of one interval.
type BalancePoint struct {
	// Time is the start of the interval (UTC).
	Time        time.Time `json:"time" example:"2024-03-01T00:00:00Z"`
	BalanceSats int64     `json:"balance_sats" example:"150000"`
	BalanceBTC  string    `json:"balance_btc" example:"0.00150000"`
	// ValueUSD is the balance at the interval's last BTC/USD close.
	ValueUSD *string `json:"value_usd" example:"95.42"`
}

// BalanceHistory is the body of GET /v1/balances/history.
type BalanceHistory struct {
	Interval string         `json:"interval" example:"month" enums:"day,week,month"`
	Points   []BalancePoint `json:"points"`
}

var intervals = []string{"day", "week", "month"}

// getBalanceHistory returns the balance over time.
//
//	@Summary		Balance over time
//	@Description	The balance (confirmed and pending) at the end of each day, week or month (UTC) from the first transaction on, for plotting. The last point equals confirmed_sats + unconfirmed_sats of GET /v1/balances.
//	@ID				getBalanceHistory
//	@Tags			balances
//	@Produce		json
//	@Param			interval	query		string	false	"point spacing"							Enums(day, week, month)	default(day)
//	@Param			address_id	query		int		false	"only this address (watch-list id)"		minimum(1)
//	@Param			from		query		string	false	"first point at or after (RFC 3339)"	format(date-time)
//	@Param			to			query		string	false	"points before (RFC 3339)"				format(date-time)
//	@Success		200			{object}	BalanceHistory
//	@Failure		400			{object}	Problem
//	@Failure		401			{object}	Problem	"missing or invalid bearer token"
//	@Failure		429			{object}	Problem	"rate limited; see Retry-After"
//	@Security		BearerAuth
//	@Router			/v1/balances/history [get]
func (s *Server) getBalanceHistory(c *gin.Context) {
	q := parseQuery(c.Request.URL.RawQuery, "interval", "address_id", "from", "to")
	interval := q.String("interval", "day")
	if !slices.Contains(intervals, interval) {
		q.fail("interval", "must be day, week or month")
	}
	entry := q.Int("address_id", 0, 1, math.MaxInt64)
	from, to := q.Time("from", db.MinTime), q.Time("to", db.MaxTime)
	if !from.Before(to) && len(q.Errors()) == 0 {
		q.fail("to", "must be after from")
	}
	if errs := q.Errors(); len(errs) > 0 {
		abortValidation(c, errs)
		return
	}
	minEntry, maxEntry := db.EntryRange(entry)
	rows, err := s.reader(c).BalanceHistory(c.Request.Context(), db.BalanceHistoryParams{
		Interval: interval, FromTime: from, ToTime: to,
		UserID: currentUserID(c), MinEntryID: minEntry, MaxEntryID: maxEntry, WholeWatchList: entry == 0,
	})
	if err != nil {
		abortError(c, err)
		return
	}
	out := BalanceHistory{Interval: interval, Points: make([]BalancePoint, len(rows))}
	for i, r := range rows {
		p := BalancePoint{Time: r.Bucket.UTC(), BalanceSats: r.BalanceSats, BalanceBTC: sats.FormatBTC(r.BalanceSats)}
		if r.CloseUsdCents > 0 {
			v := sats.FormatUSD(r.BalanceSats, r.CloseUsdCents)
			p.ValueUSD = &v
		}
		out.Points[i] = p
	}
	c.JSON(http.StatusOK, out)
}
