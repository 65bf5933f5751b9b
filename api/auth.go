package api

import (
	"context"
	"crypto/sha256"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/cointracker/cointracker/auth"
	"github.com/cointracker/cointracker/db"
)

// TokenVerifier checks a bearer token and says who sent it.
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (auth.Identity, error)
}

// userIDKey holds the current user's id in the gin context.
const userIDKey = "user_id"

// bearerChallenge is the WWW-Authenticate header of every 401 (RFC 6750).
const bearerChallenge = `Bearer realm="cointracker"`

// authenticate verifies the bearer token, finds or creates the user from
// its (issuer, subject) and rate-limits per user. A missing or invalid
// token is a 401 problem; the token itself is never logged or echoed.
func (s *Server) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		raw, ok := bearerToken(c.GetHeader("Authorization"))
		if !ok {
			c.Header("WWW-Authenticate", bearerChallenge)
			abortStatus(c, http.StatusUnauthorized, "send an Authorization: Bearer <token> header")
			return
		}
		uid, ok := s.tokens.get(raw)
		if !ok {
			id, err := s.verifier.Verify(c.Request.Context(), raw)
			if err != nil {
				logger(c).InfoContext(c.Request.Context(), "token refused", "reason", err.Error())
				c.Header("WWW-Authenticate", bearerChallenge+`, error="invalid_token"`)
				abortStatus(c, http.StatusUnauthorized, "the bearer token is invalid, expired or not for this service")
				return
			}
			ctx, cancel := s.bound(c.Request.Context()) // the export is not bounded as a whole
			var written bool
			uid, written, err = s.users.id(ctx, s.store, id)
			cancel()
			if err != nil {
				abortError(c, err)
				return
			}
			s.tokens.put(raw, uid, id.Expiry)
			if written {
				s.wrote(c, uid) // a new or changed user: read it back from where it is
			}
		}
		c.Set(userIDKey, uid)
		if wait, ok := s.limits.allow(uid); !ok {
			c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			abortStatus(c, http.StatusTooManyRequests, "too many requests: slow down and retry after the Retry-After seconds")
			return
		}
		c.Next()
	}
}

// bearerToken extracts the token of an "Authorization: Bearer" header.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// currentUserID returns the id of the user the request acts for.
func currentUserID(c *gin.Context) int64 {
	return c.GetInt64(userIDKey)
}

// userCache remembers which user id each verified identity maps to, so a
// request costs no database round trip for it. The profile claims are part
// of the key: a changed email or name goes to the database once.
type userCache struct {
	mu  sync.Mutex
	ids map[identityKey]int64
}

// identityKey is an Identity by value.
type identityKey struct {
	issuer, subject, email, name string
	hasEmail, hasName            bool
}

func keyOf(id auth.Identity) identityKey {
	k := identityKey{issuer: id.Issuer, subject: id.Subject}
	if id.Email != nil {
		k.email, k.hasEmail = *id.Email, true
	}
	if id.Name != nil {
		k.name, k.hasName = *id.Name, true
	}
	return k
}

// userCacheMax bounds the caches; past it, they start over.
const userCacheMax = 100_000

func (u *userCache) id(ctx context.Context, store *db.Store, id auth.Identity) (uid int64, written bool, err error) {
	key := keyOf(id)
	u.mu.Lock()
	uid, ok := u.ids[key]
	u.mu.Unlock()
	if ok {
		return uid, false, nil
	}
	row, err := store.UpsertUser(ctx, db.UserUpsertParams{Issuer: id.Issuer, Subject: id.Subject, Email: id.Email, Name: id.Name})
	if err != nil {
		return 0, false, err
	}
	u.mu.Lock()
	if u.ids == nil || len(u.ids) >= userCacheMax {
		u.ids = map[identityKey]int64{}
	}
	u.ids[key] = row.ID
	u.mu.Unlock()
	return row.ID, row.Written, nil
}

// tokenCache remembers tokens verified in the last minute (by digest), so
// a client reusing its token does not pay for signature verification on
// every request. An entry never outlives the token's expiry, and a minute
// bounds how long a token signed by a key since revoked stays accepted.
type tokenCache struct {
	mu      sync.Mutex
	entries map[[32]byte]cachedToken
}

type cachedToken struct {
	uid     int64
	expires time.Time
}

// tokenCacheTTL is the longest a verified token is trusted unverified.
const tokenCacheTTL = time.Minute

func (t *tokenCache) get(raw string) (int64, bool) {
	key := sha256.Sum256([]byte(raw))
	t.mu.Lock()
	e, ok := t.entries[key]
	t.mu.Unlock()
	if !ok || !time.Now().Before(e.expires) {
		return 0, false
	}
	return e.uid, true
}

func (t *tokenCache) put(raw string, uid int64, expiry time.Time) {
	expires := time.Now().Add(tokenCacheTTL)
	if expiry.Before(expires) {
		expires = expiry
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.entries == nil || len(t.entries) >= userCacheMax {
		t.entries = map[[32]byte]cachedToken{}
	}
	t.entries[sha256.Sum256([]byte(raw))] = cachedToken{uid: uid, expires: expires}
}

// rateLimits holds a token bucket per user.
type rateLimits struct {
	rps   rate.Limit
	burst int
	mu    sync.Mutex
	users map[int64]*rate.Limiter
}

// allow takes a token for the user, or says how long until one is free.
func (r *rateLimits) allow(uid int64) (time.Duration, bool) {
	if r.rps <= 0 {
		return 0, true
	}
	r.mu.Lock()
	l, ok := r.users[uid]
	if !ok {
		if r.users == nil || len(r.users) >= userCacheMax {
			r.users = map[int64]*rate.Limiter{}
		}
		l = rate.NewLimiter(r.rps, r.burst)
		r.users[uid] = l
	}
	r.mu.Unlock()
	res := l.Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		return d, false
	}
	return 0, true
}
