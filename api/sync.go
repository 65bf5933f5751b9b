package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cointracker/cointracker/db"
)

// SyncQueue queues synchronisations of shared addresses from the
// blockchain provider (*chainsync.Runner is one). Queueing an address
// whose sync already waits or runs changes nothing.
type SyncQueue interface {
	// SyncForUser queues syncs the user asked for, fairly among users.
	SyncForUser(ctx context.Context, userID int64, addressIDs []int64) error
}

// queueSyncs queues syncs of newly tracked addresses. A failure leaves them
// "new", and the periodic sweep queues them later, so it is logged, not
// returned.
func (s *Server) queueSyncs(ctx context.Context, userID int64, addressIDs []int64) {
	if s.sync == nil {
		return
	}
	if err := s.sync.SyncForUser(ctx, userID, addressIDs); err != nil {
		s.log.WarnContext(ctx, "queue sync of new addresses; the periodic sweep will", "error", err.Error())
	}
}

// syncAddress queues a synchronisation of one of the user's addresses.
//
//	@Summary		Synchronise an address now
//	@Description	Queues a synchronisation of the address from the blockchain provider and answers with its sync status. While a sync of the address is queued or running, or within SYNC_COOLDOWN (default a minute) after the last one finished, asking again changes nothing and answers the same status. Poll GET /v1/addresses/{id} to follow its progress.
//	@ID				syncAddress
//	@Tags			addresses
//	@Produce		json
//	@Param			id	path		int	true	"address id"
//	@Success		202	{object}	SyncStatus
//	@Failure		400	{object}	Problem
//	@Failure		404	{object}	Problem
//	@Failure		401	{object}	Problem	"missing or invalid bearer token"
//	@Failure		429	{object}	Problem	"rate limited; see Retry-After"
//	@Failure		503	{object}	Problem	"synchronisation is not configured, or the database is unavailable"
//	@Security		BearerAuth
//	@Router			/v1/addresses/{id}/sync [post]
func (s *Server) syncAddress(c *gin.Context) {
	id, ok := pathID(c)
	if !ok || !noQuery(c) {
		return
	}
	ctx, key := c.Request.Context(), db.UserAddressGetParams{UserID: currentUserID(c), ID: id}
	row, err := s.store.UserAddressGet(ctx, key)
	if err != nil {
		abortError(c, err)
		return
	}
	if s.sync == nil {
		abortStatus(c, http.StatusServiceUnavailable, "synchronisation is not configured on this server")
		return
	}
	if s.inCooldown(row.SyncedAt) {
		c.JSON(http.StatusAccepted, syncStatusFromRow(row))
		return
	}
	if err := s.sync.SyncForUser(ctx, key.UserID, []int64{row.AddressID}); err != nil {
		abortError(c, err)
		return
	}
	if row, err = s.store.UserAddressGet(ctx, key); err != nil {
		abortError(c, err)
		return
	}
	c.JSON(http.StatusAccepted, syncStatusFromRow(row))
}
