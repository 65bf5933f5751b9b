package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/gin-gonic/gin"

	"github.com/cointracker/cointracker/btc"
	"github.com/cointracker/cointracker/db"
)

// Address is one entry of the user's watch-list.
type Address struct {
	// ID identifies the watch-list entry (not the shared address).
	ID int64 `json:"id" example:"42"`
	// Address is the Bitcoin address, bech32 forms in lower case.
	Address string `json:"address" example:"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"`
	// Network is mainnet, testnet, signet or regtest.
	Network string `json:"network" example:"mainnet" enums:"mainnet,testnet,signet,regtest"`
	// Type is the output script type: p2pkh, p2sh, p2wpkh, p2wsh or p2tr.
	Type string `json:"type" example:"p2wpkh" enums:"p2pkh,p2sh,p2wpkh,p2wsh,p2tr"`
	// Label is the user's name for the address.
	Label *string `json:"label" example:"cold storage"`
	// XpubID is set when the address was derived from a tracked xpub.
	XpubID *int64 `json:"xpub_id" example:"7"`
	// CreatedAt is when the user started tracking it.
	CreatedAt time.Time `json:"created_at" example:"2026-11-24T12:00:00Z"`
	// Balance summarises confirmed and pending transactions.
	Balance Balance `json:"balance"`
	// Sync says how current the address's history is.
	Sync SyncStatus `json:"sync"`
}

// SyncStatus is the address's synchronisation state.
type SyncStatus struct {
	// Status is new (never synchronised), queued, running, done (the
	// history matches the provider's totals), partial (it does not: the
	// balance is incomplete, see last_error) or failed.
	Status string `json:"status" example:"done" enums:"new,queued,running,done,partial,failed"`
	// LastSyncedHeight is the chain tip the last complete sync saw.
	LastSyncedHeight *int32 `json:"last_synced_height" example:"870000"`
	// SyncedAt is when the last sync finished.
	SyncedAt *time.Time `json:"synced_at" example:"2026-11-24T12:00:00Z"`
	// LastError is the last failure, or for a partial sync how the stored
	// totals differ from the provider's.
	LastError *string `json:"last_error"`
	// PagesFetched and TxsFetched are the running or last sync's progress.
	PagesFetched int32 `json:"pages_fetched" example:"4"`
	TxsFetched   int32 `json:"txs_fetched" example:"87"`
	// QueuedAt and StartedAt are when the last sync was asked for and began.
	QueuedAt  *time.Time `json:"queued_at" example:"2026-11-24T11:59:58Z"`
	StartedAt *time.Time `json:"started_at" example:"2026-11-24T11:59:59Z"`
}

func syncStatusFromRow(r db.UserAddressSummary) SyncStatus {
	return SyncStatus{
		Status: r.SyncStatus, LastSyncedHeight: r.LastSyncedHeight, SyncedAt: r.SyncedAt, LastError: r.SyncError,
		PagesFetched: r.SyncPagesFetched, TxsFetched: r.SyncTxsFetched, QueuedAt: r.SyncQueuedAt, StartedAt: r.SyncStartedAt,
	}
}

// AddressList is one page of the watch-list.
type AddressList struct {
	Items []Address `json:"items"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"next_cursor" example:"eyJpZCI6NDJ9"`
}

// addressListFilters names the address list for its cursors: it has no
// filters.
const addressListFilters = "addresses"

// idCursor is the keyset position of lists paged by id (addresses, xpubs).
type idCursor struct {
	ID int64
}

// idPageItems converts the rows of a page read with one row beyond limit:
// at most limit items, and, when the extra row came (another page
// follows), the cursor after the last item.
func idPageItems[R, T any](s *Server, filters string, rows []R, limit int64, id func(*R) int64, item func(*R) T) ([]T, *string) {
	n := min(len(rows), int(limit))
	items := make([]T, n)
	for i := range n {
		items[i] = item(&rows[i])
	}
	if len(rows) <= n {
		return items, nil
	}
	next := s.cursors.encode(filters, idCursor{ID: id(&rows[n-1])})
	return items, &next
}

// idPage reads the limit and cursor of a list paged by id, writing a 400
// and returning false when either (or another parameter) is wrong.
func (s *Server) idPage(c *gin.Context, filters string) (idCursor, int64, bool) {
	return s.idPageOf(c, filters, defaultPageLimit, maxPageLimit)
}

// idPageOf is idPage with the list's own default and largest limit.
func (s *Server) idPageOf(c *gin.Context, filters string, defaultLimit, maxLimit int64) (idCursor, int64, bool) {
	q := parseQuery(c.Request.URL.RawQuery, pageParams...)
	limit := q.Int("limit", defaultLimit, 1, maxLimit)
	var after idCursor
	if cur := q.String("cursor", ""); cur != "" {
		if err := s.cursors.decode(cur, filters, &after); err != nil {
			q.fail("cursor", err.Error())
		}
	}
	if errs := q.Errors(); len(errs) > 0 {
		abortValidation(c, errs)
		return idCursor{}, 0, false
	}
	return after, limit, true
}

// listAddresses returns the user's watch-list, page by page.
//
//	@Summary		List tracked addresses
//	@Description	The user's addresses in the order they were added, each with its balance summary and sync status.
//	@ID				listAddresses
//	@Tags			addresses
//	@Produce		json
//	@Param			limit	query		int		false	"page size"	minimum(1)	maximum(500)	default(50)
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Success		200		{object}	AddressList
//	@Failure		400		{object}	Problem
//	@Failure		503		{object}	Problem
//	@Failure		401		{object}	Problem	"missing or invalid bearer token"
//	@Failure		429		{object}	Problem	"rate limited; see Retry-After"
//	@Security		BearerAuth
//	@Router			/v1/addresses [get]
func (s *Server) listAddresses(c *gin.Context) {
	after, limit, ok := s.idPage(c, addressListFilters)
	if !ok {
		return
	}
	rows, err := s.reader(c).UserAddressList(c.Request.Context(), db.UserAddressListParams{
		UserID:  currentUserID(c),
		AfterID: after.ID,
		// One row more than the page tells whether another page follows.
		MaxRows: int32(limit + 1),
	})
	if err != nil {
		abortError(c, err)
		return
	}
	price, _, err := s.latestPrice(c.Request.Context(), s.reader(c))
	if err != nil {
		abortError(c, err)
		return
	}
	var page AddressList
	page.Items, page.NextCursor = idPageItems(s, addressListFilters, rows, limit,
		func(r *db.UserAddressSummary) int64 { return r.ID },
		func(r *db.UserAddressSummary) Address { return addressFromRow(*r, price) })
	c.JSON(http.StatusOK, page)
}

// addressFromRow builds the resource; centsPerBTC (nil without a price)
// values the balance.
func addressFromRow(r db.UserAddressSummary, centsPerBTC *int64) Address {
	return Address{
		ID:        r.ID,
		Address:   r.Address,
		Network:   r.Network,
		Type:      r.ScriptType,
		Label:     r.Label,
		XpubID:    r.XpubID,
		CreatedAt: r.CreatedAt,
		Balance:   newBalance(totalsOf(r), centsPerBTC),
		Sync:      syncStatusFromRow(r),
	}
}

// CreateAddressRequest is the body of POST /v1/addresses.
type CreateAddressRequest struct {
	// Address is any mainnet (or the given network's) address of a tracked
	// type; bech32 addresses may be upper case.
	Address string `json:"address" binding:"required" example:"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"`
	// Label names the address for the user (at most 200 characters).
	Label *string `json:"label" example:"cold storage"`
	// Network is mainnet (default), testnet, signet or regtest.
	Network *string `json:"network" example:"mainnet" enums:"mainnet,testnet,signet,regtest"`
}

// UpdateAddressRequest is the body of PATCH /v1/addresses/{id}.
type UpdateAddressRequest struct {
	// Label is the new label; null removes it. Required.
	Label nullableString `json:"label" binding:"required" swaggertype:"string" extensions:"x-nullable" example:"savings"`
}

// maxLabelRunes bounds labels (the schema checks it too).
const maxLabelRunes = 200

// checkLabel returns why a label is refused, or "".
func checkLabel(label *string) string {
	if label == nil {
		return ""
	}
	switch {
	case !utf8.ValidString(*label):
		return "must be valid UTF-8"
	case utf8.RuneCountInString(*label) > maxLabelRunes:
		return fmt.Sprintf("must be at most %d characters", maxLabelRunes)
	case strings.IndexFunc(*label, unicode.IsControl) >= 0:
		return "must not contain control characters"
	}
	return ""
}

// respondAddress answers with one address, valued at the latest price; a
// 201 also names its location.
func (s *Server) respondAddress(c *gin.Context, status int, row db.UserAddressSummary) {
	price, _, err := s.latestPrice(c.Request.Context(), s.reader(c))
	if err != nil {
		abortError(c, err)
		return
	}
	if status == http.StatusCreated {
		c.Header("Location", "/v1/addresses/"+strconv.FormatInt(row.ID, 10))
	}
	c.JSON(status, addressFromRow(row, price))
}

// checkNetworkAndLabel validates the optional network (default mainnet)
// and label of a create request, returning the network's name and
// parameters and any field errors.
func checkNetworkAndLabel(network, label *string) (string, *chaincfg.Params, []FieldError) {
	name := "mainnet"
	if network != nil {
		name = *network
	}
	var errs []FieldError
	params, ok := btc.Networks[name]
	if !ok {
		errs = append(errs, FieldError{Field: "network", Message: "must be mainnet, testnet, signet or regtest"})
	}
	if msg := checkLabel(label); msg != "" {
		errs = append(errs, FieldError{Field: "label", Message: msg})
	}
	return name, params, errs
}

// createAddress puts an address on the user's watch-list.
//
//	@Summary		Track an address
//	@Description	Validates the address for its network and starts tracking it. Chain data is shared: an address someone else tracks is not fetched twice, and nobody learns that anyone else tracks it.
//	@ID				createAddress
//	@Tags			addresses
//	@Accept			json
//	@Produce		json
//	@Param			body	body		CreateAddressRequest	true	"the address"
//	@Success		201		{object}	Address
//	@Header			201		{string}	Location	"/v1/addresses/{id}"
//	@Failure		400		{object}	Problem		"malformed body, unknown field or wrong type"
//	@Failure		403		{object}	Problem		"the user tracks as many addresses as the quota allows (MAX_ADDRESSES_PER_USER)"
//	@Failure		409		{object}	Problem		"already tracked"
//	@Failure		413		{object}	Problem
//	@Failure		415		{object}	Problem
//	@Failure		422		{object}	Problem	"not a valid address: bad checksum, wrong network, bech32/bech32m mix-up, unsupported witness version, unknown format"
//	@Failure		401		{object}	Problem	"missing or invalid bearer token"
//	@Failure		429		{object}	Problem	"rate limited; see Retry-After"
//	@Security		BearerAuth
//	@Router			/v1/addresses [post]
func (s *Server) createAddress(c *gin.Context) {
	var req CreateAddressRequest
	if !bindJSON(c, &req) {
		return
	}
	network, params, errs := checkNetworkAndLabel(req.Network, req.Label)
	if req.Address == "" {
		errs = append(errs, FieldError{Field: "address", Message: "is required"})
	}
	if len(errs) > 0 {
		abortValidation(c, errs)
		return
	}
	address, scriptType, err := btc.ParseAddress(req.Address, params)
	if err != nil {
		var aerr *btc.AddressError
		if errors.As(err, &aerr) {
			abortUnprocessable(c, FieldError{Field: "address", Message: aerr.Detail, Code: string(aerr.Reason)})
			return
		}
		abortError(c, err)
		return
	}

	uid := currentUserID(c)
	var id, addressID int64
	err = s.store.ExecTx(c.Request.Context(), func(q *db.Queries) error {
		if err := s.checkQuota(c.Request.Context(), q, uid, false); err != nil {
			return err
		}
		ids, created, err := q.Track(c.Request.Context(), []db.Watch{{UserID: uid, Network: network,
			Address: address, ScriptType: string(scriptType), Label: req.Label}})
		if err != nil {
			return err
		}
		if len(created) == 0 {
			return db.ErrConflict
		}
		id, addressID = created[0].ID, ids[0]
		return nil
	})
	if errors.Is(err, db.ErrConflict) {
		abortStatus(c, http.StatusConflict, "this address is already on your watch-list")
		return
	}
	if abortQuota(c, err) {
		return
	}
	if err != nil {
		abortError(c, err)
		return
	}
	s.queueSyncs(c.Request.Context(), uid, []int64{addressID})
	row, err := s.store.UserAddressGet(c.Request.Context(), db.UserAddressGetParams{UserID: uid, ID: id})
	if err != nil {
		abortError(c, err)
		return
	}
	s.respondAddress(c, http.StatusCreated, row)
}

// getAddress returns one of the user's addresses.
//
//	@Summary	Get a tracked address
//	@ID			getAddress
//	@Tags		addresses
//	@Produce	json
//	@Param		id	path		int	true	"address id"
//	@Success	200	{object}	Address
//	@Failure	400	{object}	Problem
//	@Failure	404	{object}	Problem
//	@Failure	401	{object}	Problem	"missing or invalid bearer token"
//	@Failure	429	{object}	Problem	"rate limited; see Retry-After"
//	@Security	BearerAuth
//	@Router		/v1/addresses/{id} [get]
func (s *Server) getAddress(c *gin.Context) {
	id, ok := pathID(c)
	if !ok || !noQuery(c) {
		return
	}
	row, err := s.reader(c).UserAddressGet(c.Request.Context(), db.UserAddressGetParams{UserID: currentUserID(c), ID: id})
	if err != nil {
		abortError(c, err)
		return
	}
	s.respondAddress(c, http.StatusOK, row)
}

// updateAddress changes an address's label.
//
//	@Summary	Relabel a tracked address
//	@ID			updateAddress
//	@Tags		addresses
//	@Accept		json
//	@Produce	json
//	@Param		id		path		int						true	"address id"
//	@Param		body	body		UpdateAddressRequest	true	"the new label"
//	@Success	200		{object}	Address
//	@Failure	400		{object}	Problem
//	@Failure	404		{object}	Problem
//	@Failure	413		{object}	Problem
//	@Failure	415		{object}	Problem
//	@Failure	401		{object}	Problem	"missing or invalid bearer token"
//	@Failure	429		{object}	Problem	"rate limited; see Retry-After"
//	@Security	BearerAuth
//	@Router		/v1/addresses/{id} [patch]
func (s *Server) updateAddress(c *gin.Context) {
	id, ok := pathID(c)
	if !ok || !noQuery(c) {
		return
	}
	var req UpdateAddressRequest
	if !bindJSON(c, &req) {
		return
	}
	label := req.Label.Value
	msg := checkLabel(label)
	if !req.Label.Set {
		msg = "is required (null removes the label)"
	}
	if msg != "" {
		abortValidation(c, []FieldError{{Field: "label", Message: msg}})
		return
	}
	uid := currentUserID(c)
	n, err := s.store.UserAddressUpdateLabel(c.Request.Context(), db.UserAddressUpdateLabelParams{UserID: uid, ID: id, Label: label})
	if err != nil {
		abortError(c, err)
		return
	}
	if n == 0 {
		abortStatus(c, http.StatusNotFound, "no such resource")
		return
	}
	row, err := s.store.UserAddressGet(c.Request.Context(), db.UserAddressGetParams{UserID: uid, ID: id})
	if err != nil {
		abortError(c, err)
		return
	}
	s.respondAddress(c, http.StatusOK, row)
}

// deleteAddress stops tracking an address.
//
//	@Summary		Stop tracking an address
//	@Description	Removes the address from the user's watch-list; its chain data stays for anyone else tracking it. Addresses derived from an xpub go when the xpub is deleted.
//	@ID				deleteAddress
//	@Tags			addresses
//	@Param			id	path	int	true	"address id"
//	@Success		204
//	@Failure		400	{object}	Problem
//	@Failure		404	{object}	Problem
//	@Failure		409	{object}	Problem	"derived from an xpub"
//	@Failure		401	{object}	Problem	"missing or invalid bearer token"
//	@Failure		429	{object}	Problem	"rate limited; see Retry-After"
//	@Security		BearerAuth
//	@Router			/v1/addresses/{id} [delete]
func (s *Server) deleteAddress(c *gin.Context) {
	id, ok := pathID(c)
	if !ok || !noQuery(c) {
		return
	}
	uid := currentUserID(c)
	n, err := s.store.UserAddressDelete(c.Request.Context(), db.UserAddressDeleteParams{UserID: uid, ID: id})
	if err != nil {
		abortError(c, err)
		return
	}
	if n == 0 {
		// Not deleted: either not the user's, or derived from an xpub.
		row, err := s.store.UserAddressGet(c.Request.Context(), db.UserAddressGetParams{UserID: uid, ID: id})
		if err != nil {
			abortError(c, err)
			return
		}
		abortStatus(c, http.StatusConflict, fmt.Sprintf("this address was derived from xpub %d: delete the xpub to stop tracking it", *row.XpubID))
		return
	}
	c.Status(http.StatusNoContent)
}
