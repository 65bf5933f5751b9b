package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/sats"
)

// Address is one entry of the user's watch-list.
type Address struct {
	// ID identifies the watch-list entry (not the shared address).
	ID int64 `json:"id" example:"42"`
	// Address is the Bitcoin address, bech32 forms in lower case.
	Address string `json:"address" example:"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"`
	// Network is mainnet, testnet, signet or regtest.
	Network string `json:"network" example:"mainnet"`
	// Type is the output script type: p2pkh, p2sh, p2wpkh, p2wsh or p2tr.
	Type string `json:"type" example:"p2wpkh"`
	// Label is the user's name for the address.
	Label *string `json:"label" example:"cold storage"`
	// XpubID is set when the address was derived from a tracked xpub.
	XpubID *int64 `json:"xpub_id" example:"7"`
	// CreatedAt is when the user started tracking it.
	CreatedAt time.Time `json:"created_at" example:"2026-11-24T12:00:00Z"`
	// Balance summarises confirmed and pending transactions.
	Balance AddressBalance `json:"balance"`
	// Sync says how current the address's history is.
	Sync SyncStatus `json:"sync"`
}

// AddressBalance is an address's balance summary. Replaced and dropped
// transactions never count.
type AddressBalance struct {
	ConfirmedSats   int64  `json:"confirmed_sats" example:"150000"`
	ConfirmedBTC    string `json:"confirmed_btc" example:"0.00150000"`
	UnconfirmedSats int64  `json:"unconfirmed_sats" example:"-2500"`
	UnconfirmedBTC  string `json:"unconfirmed_btc" example:"-0.00002500"`
	TxCount         int64  `json:"tx_count" example:"12"`
}

// SyncStatus is the address's synchronisation state.
type SyncStatus struct {
	// Status is new, queued, running, done, partial or failed.
	Status string `json:"status" example:"done"`
	// LastSyncedHeight is the chain tip the last complete sync saw.
	LastSyncedHeight *int32 `json:"last_synced_height" example:"870000"`
	// SyncedAt is when the last sync finished.
	SyncedAt *time.Time `json:"synced_at" example:"2026-11-24T12:00:00Z"`
	// LastError is the last sync failure, if any.
	LastError *string `json:"last_error"`
}

// AddressList is one page of the watch-list.
type AddressList struct {
	Items []Address `json:"items"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"next_cursor" example:"eyJpZCI6NDJ9"`
}

// addressCursor is the keyset position of the address list.
type addressCursor struct {
	ID int64 `json:"id"`
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
//	@Security		BearerAuth
//	@Router			/v1/addresses [get]
func (s *Server) listAddresses(c *gin.Context) {
	q := parseQuery(c.Request.URL.RawQuery, "limit", "cursor")
	limit := q.Int("limit", 50, 1, 500)
	var after addressCursor
	if cur := q.String("cursor", ""); cur != "" {
		if err := decodeCursor(cur, &after); err != nil {
			q.fail("cursor", err.Error())
		}
	}
	if errs := q.Errors(); len(errs) > 0 {
		abortValidation(c, errs)
		return
	}
	rows, err := s.store.UserAddressList(c.Request.Context(), db.UserAddressListParams{
		UserID:  currentUserID(c),
		AfterID: after.ID,
		// One row more than the page tells whether another page follows.
		MaxRows: int32(limit + 1),
	})
	if err != nil {
		abortError(c, err)
		return
	}
	page := AddressList{Items: make([]Address, 0, min(len(rows), int(limit)))}
	for i, r := range rows {
		if i == int(limit) {
			next := encodeCursor(addressCursor{ID: rows[i-1].ID})
			page.NextCursor = &next
			break
		}
		page.Items = append(page.Items, addressFromRow(r))
	}
	c.JSON(http.StatusOK, page)
}

func addressFromRow(r db.UserAddressListRow) Address {
	return Address{
		ID:        r.ID,
		Address:   r.Address,
		Network:   r.Network,
		Type:      r.ScriptType,
		Label:     r.Label,
		XpubID:    r.XpubID,
		CreatedAt: r.CreatedAt,
		Balance: AddressBalance{
			ConfirmedSats:   r.ConfirmedSats,
			ConfirmedBTC:    sats.FormatBTC(r.ConfirmedSats),
			UnconfirmedSats: r.UnconfirmedSats,
			UnconfirmedBTC:  sats.FormatBTC(r.UnconfirmedSats),
			TxCount:         r.TxCount,
		},
		Sync: SyncStatus{
			Status:           r.SyncStatus,
			LastSyncedHeight: r.LastSyncedHeight,
			SyncedAt:         r.SyncedAt,
			LastError:        r.SyncError,
		},
	}
}
