package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
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
			s.refuse(c, refusedMissing, bearerChallenge, "send an Authorization: Bearer <token> header")
			return
		}
		uid, ok := s.tokens.get(raw)
		if !ok {
			// A client address that keeps sending bad tokens is refused
			// before its next token costs a verification.
			if wait, spent := s.strangers.spent(c.ClientIP()); spent {
				s.throttleStranger(c, wait)
				return
			}
			id, err := s.verifier.Verify(c.Request.Context(), raw)
			if err != nil {
				s.refuse(c, refusalOf(err), bearerChallenge+`, error="invalid_token"`,
					"the bearer token is invalid, expired or not for this service")
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
			s.throttle(c, wait)
			return
		}
		c.Next()
	}
}

// Why a request's authentication failed, as the auth_refused_total metric
// and the debug log name it: a fixed set, never the verifier's text (which
// may quote a stranger's claims).
const (
	refusedMissing   = "missing"
	refusedExpired   = "expired"
	refusedInvalid   = "invalid"
	refusedThrottled = "throttled"
)

func refusalOf(err error) string {
	var expired *oidc.TokenExpiredError
	if errors.As(err, &expired) {
		return refusedExpired
	}
	return refusedInvalid
}

// refuse answers a failed authentication: 401 with the challenge, or 429
// once the client's address is past its budget (UNAUTH_RATE_LIMIT_RPS).
// Either way it is counted against the address and in the metrics.
func (s *Server) refuse(c *gin.Context, reason, challenge, detail string) {
	if wait, ok := s.strangers.allow(c.ClientIP()); !ok {
		s.throttleStranger(c, wait)
		return
	}
	s.count(c, reason)
	c.Header("WWW-Authenticate", challenge)
	abortStatus(c, http.StatusUnauthorized, detail)
}

// throttleStranger answers 429 to a client address past its budget of
// failed authentications, and counts it.
func (s *Server) throttleStranger(c *gin.Context, wait time.Duration) {
	s.count(c, refusedThrottled)
	s.throttle(c, wait)
}

// count records a refused authentication in the metric and the debug log.
func (s *Server) count(c *gin.Context, reason string) {
	s.metrics.refused.WithLabelValues(reason).Inc()
	logger(c).DebugContext(c.Request.Context(), "authentication refused", "reason", reason)
}

// throttle answers 429 with Retry-After.
func (s *Server) throttle(c *gin.Context, wait time.Duration) {
	c.Header("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	abortStatus(c, http.StatusTooManyRequests, "too many requests: slow down and retry after the Retry-After seconds")
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

// rateLimits holds a token bucket per key: a user id, or a client
// address for requests without a valid token.
type rateLimits[K comparable] struct {
	rps     rate.Limit
	burst   int
	mu      sync.Mutex
	buckets map[K]*rate.Limiter
}

// limiter returns key's bucket, starting the map over past userCacheMax
// keys so that no client can grow it without end.
func (r *rateLimits[K]) limiter(key K) *rate.Limiter {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.buckets[key]
	if !ok {
		if r.buckets == nil || len(r.buckets) >= userCacheMax {
			r.buckets = map[K]*rate.Limiter{}
		}
		l = rate.NewLimiter(r.rps, r.burst)
		r.buckets[key] = l
	}
	return l
}

// allow takes a token for key, or says how long until one is free.
func (r *rateLimits[K]) allow(key K) (time.Duration, bool) {
	if r.rps <= 0 {
		return 0, true
	}
	res := r.limiter(key).Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		return d, false
	}
	return 0, true
}

// spent says whether key has no token left, and how long until one is
// free, without taking one.
func (r *rateLimits[K]) spent(key K) (time.Duration, bool) {
	if r.rps <= 0 {
		return 0, false
	}
	l := r.limiter(key)
	if missing := 1 - l.Tokens(); missing > 0 {
		return time.Duration(missing / float64(r.rps) * float64(time.Second)), true
	}
	return 0, false
}
