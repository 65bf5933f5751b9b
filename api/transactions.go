package api

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cointracker/cointracker/db"
)

// Transaction is one transaction's effect on one of the user's addresses.
type Transaction struct {
	// Txid is the transaction id, hex, as block explorers show it.
	Txid string `json:"txid" example:"4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"`
	// AddressID is the watch-list entry (GET /v1/addresses/{id}).
	AddressID int64  `json:"address_id" example:"42"`
	Address   string `json:"address" example:"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"`
	// Direction is incoming, outgoing or self (between the user's own addresses).
	Direction string `json:"direction" example:"incoming" enums:"incoming,outgoing,self"`
	// Status is confirmed, pending, replaced or dropped.
	Status       string `json:"status" example:"confirmed" enums:"confirmed,pending,replaced,dropped"`
	ReceivedSats int64  `json:"received_sats" example:"150000"`
	SentSats     int64  `json:"sent_sats" example:"0"`
	NetSats      int64  `json:"net_sats" example:"150000"`
	ReceivedBTC  string `json:"received_btc" example:"0.00150000"`
	SentBTC      string `json:"sent_btc" example:"0.00000000"`
	NetBTC       string `json:"net_btc" example:"0.00150000"`
	// FeeSats is the whole transaction's fee.
	FeeSats int64 `json:"fee_sats" example:"1410"`
	// FeeShareSats is the part of the fee this address's inputs paid (the
	// fee split between the input addresses by the value each brought
	// in); 0 when the address only received. It is part of sent_sats.
	FeeShareSats int64 `json:"fee_share_sats" example:"1410"`
	// BlockHeight and BlockTime are null while pending.
	BlockHeight *int32     `json:"block_height" example:"840000"`
	BlockTime   *time.Time `json:"block_time" example:"2024-04-20T00:09:27Z"`
	FirstSeen   time.Time  `json:"first_seen" example:"2024-04-20T00:01:02Z"`
	// Confirmations is tip − height + 1, 0 while pending.
	Confirmations int32 `json:"confirmations" example:"3"`
	// ValueUSD is net_sats at the BTC/USD close of the block's day; null
	// without a price.
	ValueUSD *string `json:"value_usd" example:"95.42"`
}

// TransactionList is one page of history.
type TransactionList struct {
	Items []Transaction `json:"items"`
	// NextCursor fetches the next page with the same filters; null on the
	// last page.
	NextCursor *string `json:"next_cursor" example:"eyJmIjoi...Ifx0.k3Jx8s"`
}

// listTransactions returns the user's history across all tracked addresses.
//
//	@Summary		Transaction history
//	@Description	The user's transactions across every tracked address, one item per (transaction, address), filtered and paged by keyset: page 10,000 costs what page 1 costs, and paging while transactions arrive neither skips nor repeats a row. Replaced and dropped transactions appear only when asked for with status.
//	@ID				listTransactions
//	@Tags			transactions
//	@Produce		json
//	@Param			address_id	query		int			false	"only this address (watch-list id)"																minimum(1)
//	@Param			direction	query		string		false	"incoming, outgoing or self"																	Enums(incoming, outgoing, self)
//	@Param			status		query		[]string	false	"confirmed, pending, replaced or dropped; several comma-separated (default confirmed,pending)"	collectionFormat(csv)	Enums(confirmed,pending,replaced,dropped)
//	@Param			from		query		string		false	"RFC 3339; on block time, or first seen while pending (inclusive)"								format(date-time)
//	@Param			to			query		string		false	"RFC 3339 (exclusive)"																			format(date-time)
//	@Param			min_amount	query		int			false	"minimum absolute net sats"																		minimum(0)
//	@Param			max_amount	query		int			false	"maximum absolute net sats"																		minimum(0)
//	@Param			txid		query		string		false	"exact transaction id (64 hex characters)"														minlength(64)			maxlength(64)
//	@Param			sort		query		string		false	"newest (pending first) or oldest"																Enums(newest, oldest)	default(newest)
//	@Param			limit		query		int			false	"page size"																						minimum(1)				maximum(500)	default(50)
//	@Param			cursor		query		string		false	"next_cursor of the previous page (same filters)"
//	@Success		200			{object}	TransactionList
//	@Failure		400			{object}	Problem
//	@Failure		503			{object}	Problem
//	@Failure		401			{object}	Problem	"missing or invalid bearer token"
//	@Failure		429			{object}	Problem	"rate limited; see Retry-After"
//	@Security		BearerAuth
//	@Router			/v1/transactions [get]
func (s *Server) listTransactions(c *gin.Context) {
	q := parseQuery(c.Request.URL.RawQuery, slices.Concat(historyParams, pageParams)...)
	s.servePage(c, q, parseHistoryFilter(q, currentUserID(c), true))
}

// listAddressTransactions returns one address's history.
//
//	@Summary		One address's transaction history
//	@Description	As GET /v1/transactions, for one tracked address.
//	@ID				listAddressTransactions
//	@Tags			transactions
//	@Produce		json
//	@Param			id			path		int			true	"address id"
//	@Param			direction	query		string		false	"incoming, outgoing or self"										Enums(incoming, outgoing, self)
//	@Param			status		query		[]string	false	"confirmed, pending, replaced or dropped; several comma-separated"	collectionFormat(csv)	Enums(confirmed,pending,replaced,dropped)
//	@Param			from		query		string		false	"RFC 3339 (inclusive)"												format(date-time)
//	@Param			to			query		string		false	"RFC 3339 (exclusive)"												format(date-time)
//	@Param			min_amount	query		int			false	"minimum absolute net sats"											minimum(0)
//	@Param			max_amount	query		int			false	"maximum absolute net sats"											minimum(0)
//	@Param			txid		query		string		false	"exact transaction id"												minlength(64)			maxlength(64)
//	@Param			sort		query		string		false	"newest or oldest"													Enums(newest, oldest)	default(newest)
//	@Param			limit		query		int			false	"page size"															minimum(1)				maximum(500)	default(50)
//	@Param			cursor		query		string		false	"next_cursor of the previous page"
//	@Success		200			{object}	TransactionList
//	@Failure		400			{object}	Problem
//	@Failure		404			{object}	Problem
//	@Failure		401			{object}	Problem	"missing or invalid bearer token"
//	@Failure		429			{object}	Problem	"rate limited; see Retry-After"
//	@Security		BearerAuth
//	@Router			/v1/addresses/{id}/transactions [get]
func (s *Server) listAddressTransactions(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	q := parseQuery(c.Request.URL.RawQuery, slices.Concat(historyParams[1:], pageParams)...)
	f := parseHistoryFilter(q, currentUserID(c), false)
	f.EntryID = id
	if len(q.Errors()) == 0 {
		// Another user's (or no) entry is a 404, not an empty page.
		if _, err := s.reader(c).UserAddressGet(c.Request.Context(), db.UserAddressGetParams{UserID: currentUserID(c), ID: id}); err != nil {
			abortError(c, err)
			return
		}
	}
	s.servePage(c, q, f)
}

// servePage answers one page of history for f.
func (s *Server) servePage(c *gin.Context, q *queryParams, f db.HistoryFilter) {
	limit := q.Int("limit", defaultPageLimit, 1, maxPageLimit)
	after := historyPosition(f.Start())
	key := historyKey(f)
	if cur := q.String("cursor", ""); cur != "" && len(q.Errors()) == 0 {
		if err := s.cursors.decode(cur, key, &after); err != nil {
			q.fail("cursor", err.Error())
		}
	}
	if errs := q.Errors(); len(errs) > 0 {
		abortValidation(c, errs)
		return
	}
	rows, more, err := s.reader(c).History(c.Request.Context(), f, db.HistoryPosition(after), int32(limit))
	if err != nil {
		abortError(c, err)
		return
	}
	var next *string
	if more {
		cursor := s.cursors.encode(key, historyPosition(rows[len(rows)-1].Position()))
		next = &cursor
	}
	writeTransactionList(c, rows, next)
}

// exportFlushRows is how often the export flushes its rows to the client
// and checks its limits.
const exportFlushRows = 1024

// errExportLimit stops an export that reached EXPORT_MAX_ROWS or
// EXPORT_MAX_DURATION with rows still to write.
var errExportLimit = errors.New("export limit reached")

// exportTransactions streams the filtered history as CSV.
//
//	@Summary		Export transaction history as CSV
//	@Description	Every row GET /v1/transactions would page through with the same filters, streamed as RFC 4180 CSV with a header row. An export ends after at most EXPORT_MAX_ROWS rows (default 1,000,000) or EXPORT_MAX_DURATION (default 10 minutes): past either the download breaks off rather than end as a file that looks whole; narrow it with from and to. A user runs at most EXPORTS_PER_USER exports at once (default 2), and the service at most EXPORTS_MAX (default 2).
//	@ID				exportTransactions
//	@Tags			transactions
//	@Produce		text/csv
//	@Param			address_id	query		int			false	"only this address"													minimum(1)
//	@Param			direction	query		string		false	"incoming, outgoing or self"										Enums(incoming, outgoing, self)
//	@Param			status		query		[]string	false	"confirmed, pending, replaced or dropped; several comma-separated"	collectionFormat(csv)	Enums(confirmed,pending,replaced,dropped)
//	@Param			from		query		string		false	"RFC 3339 (inclusive)"												format(date-time)
//	@Param			to			query		string		false	"RFC 3339 (exclusive)"												format(date-time)
//	@Param			min_amount	query		int			false	"minimum absolute net sats"											minimum(0)
//	@Param			max_amount	query		int			false	"maximum absolute net sats"											minimum(0)
//	@Param			txid		query		string		false	"exact transaction id"												minlength(64)			maxlength(64)
//	@Param			sort		query		string		false	"newest or oldest"													Enums(newest, oldest)	default(newest)
//	@Success		200			{string}	string		"CSV"
//	@Failure		400			{object}	Problem
//	@Failure		401			{object}	Problem	"missing or invalid bearer token"
//	@Failure		429			{object}	Problem	"rate limited, or EXPORTS_PER_USER or EXPORTS_MAX exports already running; see Retry-After"
//	@Security		BearerAuth
//	@Router			/v1/transactions/export.csv [get]
func (s *Server) exportTransactions(c *gin.Context) {
	q := parseQuery(c.Request.URL.RawQuery, historyParams...)
	f := parseHistoryFilter(q, currentUserID(c), true)
	if errs := q.Errors(); len(errs) > 0 {
		abortValidation(c, errs)
		return
	}
	leave, limit := s.exports.enter(f.UserID, s.quotas.ExportsPerUser, s.quotas.ExportsMax)
	if limit != "" {
		detail := fmt.Sprintf("you are running %d exports, the most at once (%s); retry when one has finished", s.quotas.ExportsPerUser, limit)
		if limit == "EXPORTS_MAX" {
			detail = fmt.Sprintf("%d exports are running, the most the service runs at once (%s); retry shortly", s.quotas.ExportsMax, limit)
		}
		c.Header("Retry-After", "10")
		abortStatus(c, http.StatusTooManyRequests, detail)
		return
	}
	defer leave()
	ctx, start := c.Request.Context(), time.Now()
	// csv.Writer writes through a 4 KiB buffer of its own unless handed a
	// larger one: 64 KiB means a sixteenth of the write calls.
	w := csv.NewWriter(bufio.NewWriterSize(c.Writer, 64<<10))
	written := 0
	// The header goes out with the first row, so a failure before it is
	// still a proper error response.
	begin := func() {
		c.Header("Content-Type", "text/csv; charset=utf-8")
		c.Header("Content-Disposition", `attachment; filename="transactions.csv"`)
		c.Status(http.StatusOK)
		_ = w.Write(csvHeader)
	}
	// One pass over the history (db.HistoryEach); each fetch has the query
	// timeout, the whole export only ExportMaxDuration.
	err := s.reader(c).HistoryEach(ctx, f, s.queryTimeout, func(r *db.HistoryRow) error {
		switch {
		case written == 0:
			begin()
		case written%exportFlushRows == 0:
			if err := flushCSV(c, w); err != nil {
				return err
			}
		}
		// Checked once a row is out: an export always gets its first row,
		// and an error before it stays a proper error response.
		if written > 0 && s.exportOverLimit(written, start) {
			return errExportLimit
		}
		written++
		return w.Write(csvRecord(r))
	})
	switch {
	case err == nil && written == 0:
		begin()
		_ = flushCSV(c, w)
	case err == nil:
		_ = flushCSV(c, w)
	case written == 0:
		abortError(c, err)
	case errors.Is(err, errExportLimit):
		// Break the download rather than end a file that looks whole,
		// after the rows within the limit.
		_ = flushCSV(c, w)
		logger(c).WarnContext(ctx, "export broken off at its limit", "rows", written,
			"max_rows", s.quotas.ExportMaxRows, "max_duration", s.quotas.ExportMaxDuration.String())
		panic(http.ErrAbortHandler)
	default:
		// Headers are sent: abort the connection so the client sees a
		// broken download, never a silently truncated file (or the client
		// went away).
		logger(c).ErrorContext(ctx, "export failed mid-stream", "error", err, "rows", written)
		panic(http.ErrAbortHandler)
	}
}

// flushCSV sends the rows written so far to the client; its error says the
// client is gone.
func flushCSV(c *gin.Context, w *csv.Writer) error {
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	c.Writer.Flush()
	return nil
}

// exportOverLimit says whether an export with more rows to write has
// written ExportMaxRows rows or run ExportMaxDuration (0: no bound).
func (s *Server) exportOverLimit(written int, start time.Time) bool {
	return (s.quotas.ExportMaxRows > 0 && written >= s.quotas.ExportMaxRows) ||
		(s.quotas.ExportMaxDuration > 0 && time.Since(start) >= s.quotas.ExportMaxDuration)
}
