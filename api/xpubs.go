package api

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cointracker/cointracker/btc"
	"github.com/cointracker/cointracker/db"
)

// Xpub is a tracked extended public key and its derived addresses.
type Xpub struct {
	ID int64 `json:"id" example:"7"`
	// Xpub is the key as given (xpub/ypub/zpub, tpub/upub/vpub).
	Xpub    string `json:"xpub" example:"zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"`
	Network string `json:"network" example:"mainnet" enums:"mainnet,testnet,signet,regtest"`
	// Purpose is the BIP that fixes the derivation: 44, 49, 84 or 86.
	Purpose int16 `json:"purpose" example:"84"`
	// Type is the derived addresses' script type.
	Type      string    `json:"type" example:"p2wpkh" enums:"p2pkh,p2sh,p2wpkh,p2wsh,p2tr"`
	Label     *string   `json:"label" example:"hardware wallet"`
	GapLimit  int16     `json:"gap_limit" example:"20"`
	CreatedAt time.Time `json:"created_at" example:"2026-11-24T12:00:00Z"`
	// Addresses are the derived addresses, receive chain first.
	Addresses []XpubAddress `json:"addresses"`
}

// XpubAddress is one derived address.
type XpubAddress struct {
	// AddressID is the watch-list entry (GET /v1/addresses/{id}).
	AddressID *int64 `json:"address_id" example:"42"`
	Address   string `json:"address" example:"bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"`
	// Chain is receive (m/…/0/i) or change (m/…/1/i).
	Chain string `json:"chain" example:"receive" enums:"receive,change"`
	Index int32  `json:"index" example:"0"`
	// SyncStatus is the address's synchronisation status (details on
	// GET /v1/addresses/{address_id}).
	SyncStatus string `json:"sync_status" example:"done" enums:"new,queued,running,done,partial,failed"`
}

// XpubList is one page of xpubs.
type XpubList struct {
	Items      []Xpub  `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// CreateXpubRequest is the body of POST /v1/xpubs.
type CreateXpubRequest struct {
	// Xpub is an account-level extended public key. Never send a private key.
	Xpub  string  `json:"xpub" binding:"required" example:"zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"`
	Label *string `json:"label" example:"hardware wallet"`
	// Network is mainnet (default), testnet, signet or regtest.
	Network *string `json:"network" example:"mainnet" enums:"mainnet,testnet,signet,regtest"`
	// Purpose picks the derivation where the prefix does not: an xpub or
	// tpub is BIP-44 (P2PKH) unless 86 (taproot) is given. ypub/zpub imply
	// 49/84.
	Purpose *int16 `json:"purpose" example:"84"`
}

func xpubFromRow(x db.Xpub, addrs []db.XpubAddressListRow) Xpub {
	out := Xpub{
		ID: x.ID, Xpub: x.Xpub, Network: x.Network, Purpose: x.Purpose,
		Type: string(btc.Purpose(x.Purpose).ScriptType()), Label: x.Label, GapLimit: x.GapLimit,
		CreatedAt: x.CreatedAt, Addresses: make([]XpubAddress, 0, len(addrs)),
	}
	for _, a := range addrs {
		if a.XpubID == x.ID {
			out.Addresses = append(out.Addresses, XpubAddress{AddressID: a.AddressID, Address: a.Address, Chain: a.Chain, Index: a.Index,
				SyncStatus: a.SyncStatus})
		}
	}
	return out
}

// createXpub tracks an extended public key.
//
//	@Summary		Track an xpub
//	@Description	Derives the first 20 receive and 20 change addresses (gap limit 20) along the BIP-44/49/84/86 path the key's prefix (or purpose) names, and tracks them. Private keys are refused.
//	@ID				createXpub
//	@Tags			xpubs
//	@Accept			json
//	@Produce		json
//	@Param			body	body		CreateXpubRequest	true	"the key"
//	@Success		201		{object}	Xpub
//	@Failure		400		{object}	Problem
//	@Failure		403		{object}	Problem	"the user tracks as many xpubs as the quota allows (MAX_XPUBS_PER_USER)"
//	@Failure		409		{object}	Problem	"already tracked"
//	@Failure		413		{object}	Problem
//	@Failure		415		{object}	Problem
//	@Failure		422		{object}	Problem	"not an extended public key, a private key, or the wrong network"
//	@Failure		401		{object}	Problem	"missing or invalid bearer token"
//	@Failure		429		{object}	Problem	"rate limited; see Retry-After"
//	@Security		BearerAuth
//	@Router			/v1/xpubs [post]
func (s *Server) createXpub(c *gin.Context) {
	var req CreateXpubRequest
	if !bindJSON(c, &req) {
		return
	}
	network, params, errs := checkNetworkAndLabel(req.Network, req.Label)
	if req.Xpub == "" {
		errs = append(errs, FieldError{Field: "xpub", Message: "is required"})
	}
	if req.Purpose != nil && !slices.Contains([]int16{44, 49, 84, 86}, *req.Purpose) {
		errs = append(errs, FieldError{Field: "purpose", Message: "must be 44, 49, 84 or 86"})
	}
	if len(errs) > 0 {
		abortValidation(c, errs)
		return
	}
	account, err := btc.ParseAccount(strings.TrimSpace(req.Xpub), req.Purpose != nil && *req.Purpose == 86, params)
	if err == nil && req.Purpose != nil && int16(account.Purpose()) != *req.Purpose {
		err = errors.New("purpose " + strconv.Itoa(int(*req.Purpose)) + " does not match the key's prefix, which means BIP-" + strconv.Itoa(int(account.Purpose())))
	}
	if err != nil {
		code := "invalid_xpub"
		if errors.Is(err, btc.ErrPrivateKey) {
			code = "private_key"
		}
		abortUnprocessable(c, FieldError{Field: "xpub", Message: err.Error(), Code: code})
		return
	}

	ctx, uid := c.Request.Context(), currentUserID(c)
	var x db.Xpub
	var derived []int64
	err = s.store.ExecTx(ctx, func(q *db.Queries) error {
		if err := s.checkQuota(ctx, q, uid, true); err != nil {
			return err
		}
		var err error
		x, err = q.XpubCreate(ctx, db.XpubCreateParams{UserID: uid, Network: network, Xpub: account.String(),
			Purpose: int16(account.Purpose()), Label: req.Label})
		if err != nil {
			return err
		}
		var ws []db.Watch
		for _, chain := range []btc.Chain{btc.Receive, btc.Change} {
			addrs, err := account.Derive(chain, 0, uint32(x.GapLimit)-1)
			if err != nil {
				return err
			}
			ws = append(ws, db.XpubWatches(uid, x.ID, network, account, addrs)...)
		}
		derived, _, err = q.Track(ctx, ws)
		return err
	})
	if errors.Is(err, db.ErrConflict) {
		abortStatus(c, http.StatusConflict, "this xpub is already tracked")
		return
	}
	if abortQuota(c, err) {
		return
	}
	if err != nil {
		abortError(c, err)
		return
	}
	s.queueSyncs(ctx, uid, derived)
	derivedRows, err := s.store.XpubAddressList(ctx, db.XpubAddressListParams{XpubIds: []int64{x.ID}, UserID: uid})
	if err != nil {
		abortError(c, err)
		return
	}
	c.Header("Location", "/v1/xpubs/"+strconv.FormatInt(x.ID, 10))
	c.JSON(http.StatusCreated, xpubFromRow(x, derivedRows))
}

// xpubListFilters names the xpub list for its cursors.
const xpubListFilters = "xpubs"

// listXpubs returns the user's xpubs with their derived addresses.
//
//	@Summary	List tracked xpubs
//	@ID			listXpubs
//	@Tags		xpubs
//	@Produce	json
//	@Param		limit	query		int		false	"page size"	minimum(1)	maximum(500)	default(50)
//	@Param		cursor	query		string	false	"next_cursor of the previous page"
//	@Success	200		{object}	XpubList
//	@Failure	400		{object}	Problem
//	@Failure	401		{object}	Problem	"missing or invalid bearer token"
//	@Failure	429		{object}	Problem	"rate limited; see Retry-After"
//	@Security	BearerAuth
//	@Router		/v1/xpubs [get]
func (s *Server) listXpubs(c *gin.Context) {
	after, limit, ok := s.idPage(c, xpubListFilters)
	if !ok {
		return
	}
	ctx, uid, q := c.Request.Context(), currentUserID(c), s.reader(c)
	rows, err := q.XpubList(ctx, db.XpubListParams{UserID: uid, AfterID: after.ID, MaxRows: int32(limit + 1)})
	if err != nil {
		abortError(c, err)
		return
	}
	page := XpubList{Items: []Xpub{}}
	if len(rows) > int(limit) {
		rows = rows[:limit]
		next := s.cursors.encode(xpubListFilters, idCursor{ID: rows[len(rows)-1].ID})
		page.NextCursor = &next
	}
	ids := make([]int64, len(rows))
	for i, x := range rows {
		ids[i] = x.ID
	}
	derived, err := q.XpubAddressList(ctx, db.XpubAddressListParams{XpubIds: ids, UserID: uid})
	if err != nil {
		abortError(c, err)
		return
	}
	for _, x := range rows {
		page.Items = append(page.Items, xpubFromRow(x, derived))
	}
	c.JSON(http.StatusOK, page)
}

// getXpub returns one of the user's xpubs.
//
//	@Summary	Get a tracked xpub
//	@ID			getXpub
//	@Tags		xpubs
//	@Produce	json
//	@Param		id	path		int	true	"xpub id"
//	@Success	200	{object}	Xpub
//	@Failure	400	{object}	Problem
//	@Failure	404	{object}	Problem
//	@Failure	401	{object}	Problem	"missing or invalid bearer token"
//	@Failure	429	{object}	Problem	"rate limited; see Retry-After"
//	@Security	BearerAuth
//	@Router		/v1/xpubs/{id} [get]
func (s *Server) getXpub(c *gin.Context) {
	id, ok := pathID(c)
	if !ok || !noQuery(c) {
		return
	}
	ctx, uid, q := c.Request.Context(), currentUserID(c), s.reader(c)
	x, err := q.XpubGet(ctx, db.XpubGetParams{UserID: uid, ID: id})
	if err != nil {
		abortError(c, err)
		return
	}
	derived, err := q.XpubAddressList(ctx, db.XpubAddressListParams{XpubIds: []int64{id}, UserID: uid})
	if err != nil {
		abortError(c, err)
		return
	}
	c.JSON(http.StatusOK, xpubFromRow(x, derived))
}

// deleteXpub stops tracking an xpub and its derived addresses.
//
//	@Summary		Stop tracking an xpub
//	@Description	Removes the xpub and its derived addresses from the user's watch-list; chain data stays.
//	@ID				deleteXpub
//	@Tags			xpubs
//	@Param			id	path	int	true	"xpub id"
//	@Success		204
//	@Failure		400	{object}	Problem
//	@Failure		404	{object}	Problem
//	@Failure		401	{object}	Problem	"missing or invalid bearer token"
//	@Failure		429	{object}	Problem	"rate limited; see Retry-After"
//	@Security		BearerAuth
//	@Router			/v1/xpubs/{id} [delete]
func (s *Server) deleteXpub(c *gin.Context) {
	id, ok := pathID(c)
	if !ok || !noQuery(c) {
		return
	}
	n, err := s.store.XpubDelete(c.Request.Context(), db.XpubDeleteParams{UserID: currentUserID(c), ID: id})
	if err != nil {
		abortError(c, err)
		return
	}
	if n == 0 {
		abortStatus(c, http.StatusNotFound, "no such resource")
		return
	}
	c.Status(http.StatusNoContent)
}
