package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cointracker/cointracker/db"
)

// Quotas bound what one user may track, and how often one address may be
// synchronised on request, so that no tenant can take the queue, the
// provider budget or the database from the others. The defaults
// (config: MAX_ADDRESSES_PER_USER, MAX_XPUBS_PER_USER, SYNC_COOLDOWN) are
// far above what a person's wallets need; 0 means no bound.
type Quotas struct {
	// AddressesPerUser bounds the watch-list entries a user adds by hand
	// (addresses derived from an xpub count against the xpub).
	AddressesPerUser int32
	// XpubsPerUser bounds the xpubs a user tracks.
	XpubsPerUser int32
	// SyncCooldown is how long after an address's last sync finished a
	// POST /v1/addresses/{id}/sync only answers the current status.
	SyncCooldown time.Duration
	// ExportsPerUser bounds the CSV exports one user runs at once (429
	// beyond); ExportMaxRows and ExportMaxDuration bound one export, which
	// past either breaks off (the client sees a broken download, never a
	// file that looks whole).
	ExportsPerUser int
	// ExportsMax bounds the exports running at once over all users (429
	// beyond): each holds a database connection while it runs.
	ExportsMax        int
	ExportMaxRows     int
	ExportMaxDuration time.Duration
	// EventLongPolls bounds the change feed's long-polls one user has
	// waiting at once (429 beyond).
	EventLongPolls int
}

// exportGate counts the running exports, each user's and all.
type exportGate struct {
	mu      sync.Mutex
	running map[int64]int
	total   int
}

// enter takes one of the user's export slots and one of all, or names the
// limit that refuses it: EXPORTS_PER_USER when the user's perUser are
// taken, EXPORTS_MAX when all max are (0: no bound). Call the returned
// leave when done.
func (g *exportGate) enter(uid int64, perUser, max int) (leave func(), limit string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case perUser > 0 && g.running[uid] >= perUser:
		return nil, "EXPORTS_PER_USER"
	case max > 0 && g.total >= max:
		return nil, "EXPORTS_MAX"
	}
	if g.running == nil {
		g.running = map[int64]int{}
	}
	g.running[uid]++
	g.total++
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.total--
		if g.running[uid]--; g.running[uid] <= 0 {
			delete(g.running, uid) // the map holds only users exporting now
		}
	}, ""
}

// quotaError is a request a quota refuses: 403, naming the limit.
type quotaError struct{ limit string }

func (e quotaError) Error() string { return e.limit }

// checkQuota refuses adding one more address (xpub false) or xpub (xpub
// true) to the user's when the quota is reached. It locks the user's row
// until q's transaction ends, so concurrent requests take turns.
func (s *Server) checkQuota(ctx context.Context, q *db.Queries, userID int64, xpub bool) error {
	usage, err := q.UserQuotaUsage(ctx, userID)
	if err != nil {
		return fmt.Errorf("read quota usage: %w", err)
	}
	switch {
	case !xpub && s.quotas.AddressesPerUser > 0 && usage.Addresses >= s.quotas.AddressesPerUser:
		return quotaError{fmt.Sprintf("you track %d addresses, the most one user may (the limit is %d); stop tracking one first",
			usage.Addresses, s.quotas.AddressesPerUser)}
	case xpub && s.quotas.XpubsPerUser > 0 && usage.Xpubs >= s.quotas.XpubsPerUser:
		return quotaError{fmt.Sprintf("you track %d xpubs, the most one user may (the limit is %d); stop tracking one first",
			usage.Xpubs, s.quotas.XpubsPerUser)}
	}
	return nil
}

// abortQuota answers a quota's refusal and reports whether err was one.
func abortQuota(c *gin.Context, err error) bool {
	var qe quotaError
	if !errors.As(err, &qe) {
		return false
	}
	abortStatus(c, http.StatusForbidden, qe.limit)
	return true
}

// inCooldown says whether the address's last sync finished within the
// cooldown, when asking again queues nothing.
func (s *Server) inCooldown(syncedAt *time.Time) bool {
	return s.quotas.SyncCooldown > 0 && syncedAt != nil && time.Since(*syncedAt) < s.quotas.SyncCooldown
}
