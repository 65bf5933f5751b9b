package api_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/cointracker/cointracker/api"
	"github.com/cointracker/cointracker/auth"
	"github.com/cointracker/cointracker/db/dbtest"
)

// testIssuer is an OpenID Connect vendor in a test: discovery and a JWKS
// whose keys can rotate while the service runs.
type testIssuer struct {
	*httptest.Server
	mu   sync.Mutex
	keys map[string]any // kid → private key
}

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	iss := &testIssuer{keys: map[string]any{}}
	iss.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]any{
				"issuer": iss.URL, "jwks_uri": iss.URL + "/jwks",
				"authorization_endpoint": iss.URL + "/auth", "token_endpoint": iss.URL + "/token",
				"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
			})
		case "/jwks":
			iss.mu.Lock()
			var set jose.JSONWebKeySet
			for kid, k := range iss.keys {
				var pub any
				switch k := k.(type) {
				case *rsa.PrivateKey:
					pub = k.Public()
				case *ecdsa.PrivateKey:
					pub = k.Public()
				}
				set.Keys = append(set.Keys, jose.JSONWebKey{Key: pub, KeyID: kid, Use: "sig"})
			}
			iss.mu.Unlock()
			_ = json.NewEncoder(w).Encode(set)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(iss.Close)
	return iss
}

func (iss *testIssuer) addKey(t *testing.T, kid string, key any) {
	t.Helper()
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.keys[kid] = key
}

const audience = "cointracker-api"

func (iss *testIssuer) token(t *testing.T, kid string, alg jose.SignatureAlgorithm, change func(*jwt.Claims), extra map[string]any) string {
	t.Helper()
	iss.mu.Lock()
	key := iss.keys[kid]
	iss.mu.Unlock()
	c := jwt.Claims{Issuer: iss.URL, Subject: "alice", Audience: jwt.Audience{audience},
		IssuedAt: jwt.NewNumericDate(time.Now()), Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour))}
	if change != nil {
		change(&c)
	}
	tok, err := auth.SignToken(key, kid, alg, c, extra)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestOIDCTokens(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss.addKey(t, "rsa-1", rsaKey)
	iss.addKey(t, "ec-1", ecKey)
	// Keys may be fetched again at once: the rotation below needs it.
	verifier, err := auth.NewOIDC(ctx, iss.URL, audience, auth.WithKeyRefetch(0, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	s := newServerWith(t, dbtest.NewPool(t, dbtest.NewURL(t)), verifier, 0)

	// An empty value stands for a missing header.
	call := func(authz string) response {
		return s.do(t, http.MethodGet, "/v1/me", nil, "Authorization", authz)
	}

	valid := iss.token(t, "rsa-1", jose.RS256, nil, map[string]any{"email": "alice@example.com", "name": "Alice"})
	r := call("Bearer " + valid)
	me := decode[api.Me](t, r)
	if r.status != http.StatusOK || me.Subject != "alice" || me.Issuer != iss.URL || *me.Email != "alice@example.com" {
		t.Fatalf("valid RS256 token: %d %s", r.status, r.body)
	}
	if r := call("bearer " + iss.token(t, "ec-1", jose.ES256, nil, nil)); r.status != http.StatusOK || decode[api.Me](t, r).ID != me.ID {
		t.Fatalf("valid ES256 token for the same user: %d %s", r.status, r.body)
	}

	// alg none, and HS256 keyed with the RSA public key (the classic
	// confusion attack).
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"rsa-1"}`))
	payload := strings.Split(valid, ".")[1]
	none := header + "." + payload + "."
	pubDER, _ := json.Marshal(jose.JSONWebKey{Key: rsaKey.Public()})
	hs, err := auth.SignToken(pubDER, "rsa-1", jose.HS256, jwt.Claims{Issuer: iss.URL, Subject: "alice",
		Audience: jwt.Audience{audience}, Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(valid, ".")
	tamperedClaims, _ := json.Marshal(map[string]any{"iss": iss.URL, "sub": "mallory", "aud": audience, "exp": time.Now().Add(time.Hour).Unix()})
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(tamperedClaims) + "." + parts[2]
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	unknownKid, err := auth.SignToken(stranger, "who-knows", jose.RS256, jwt.Claims{Issuer: iss.URL, Subject: "alice",
		Audience: jwt.Audience{audience}, Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour))}, nil)
	if err != nil {
		t.Fatal(err)
	}

	refused := map[string]string{
		"missing header":  "",
		"not bearer":      "Basic YWxpY2U6cGFzcw==",
		"empty bearer":    "Bearer ",
		"malformed":       "Bearer not.a.jwt",
		"expired":         "Bearer " + iss.token(t, "rsa-1", jose.RS256, func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(time.Now().Add(-time.Hour)) }, nil),
		"not yet valid":   "Bearer " + iss.token(t, "rsa-1", jose.RS256, func(c *jwt.Claims) { c.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour)) }, nil),
		"wrong audience":  "Bearer " + iss.token(t, "rsa-1", jose.RS256, func(c *jwt.Claims) { c.Audience = jwt.Audience{"someone-else"} }, nil),
		"wrong issuer":    "Bearer " + iss.token(t, "rsa-1", jose.RS256, func(c *jwt.Claims) { c.Issuer = "https://evil.example.com" }, nil),
		"no subject":      "Bearer " + iss.token(t, "rsa-1", jose.RS256, func(c *jwt.Claims) { c.Subject = "" }, nil),
		"alg none":        "Bearer " + none,
		"HS256 with pub":  "Bearer " + hs,
		"unknown kid":     "Bearer " + unknownKid,
		"tampered claims": "Bearer " + tampered,
	}
	for name, authz := range refused {
		r := call(authz)
		problem(t, r, http.StatusUnauthorized)
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate = %q", name, r.header.Get("WWW-Authenticate"))
		}
	}

	// Key rotation: a new key published at the JWKS is picked up when a
	// token names it, without a restart.
	rotated, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss.addKey(t, "ec-2", rotated)
	if r := call("Bearer " + iss.token(t, "ec-2", jose.ES384, nil, nil)); r.status != http.StatusOK {
		t.Fatalf("token with a rotated-in key: %d %s", r.status, r.body)
	}

	// Tokens never reach the logs.
	logs := s.logs.String()
	for _, secret := range []string{valid, parts[2], hs} {
		if strings.Contains(logs, secret) {
			t.Fatal("a token (or its signature) was logged")
		}
	}
}

func TestRateLimitPerUser(t *testing.T) {
	t.Parallel()
	s := newServerWith(t, dbtest.NewPool(t, dbtest.NewURL(t)),
		auth.NewStatic(auth.DevIssuer, auth.DevAudience, testKey.Public()), 0.5) // burst 3, then one per 2 s
	s.token = tokenFor(t, "busy")
	limited := 0
	for range 6 {
		r := s.get(t, "/v1/me")
		if r.status == http.StatusTooManyRequests {
			limited++
			problem(t, r, http.StatusTooManyRequests)
			if r.header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
	}
	if limited < 2 {
		t.Fatalf("%d of 6 rapid requests limited, want the ones past the burst", limited)
	}
	// Another user has their own budget.
	s.token = tokenFor(t, "calm")
	if r := s.get(t, "/v1/me"); r.status != http.StatusOK {
		t.Fatalf("another user was limited too: %d", r.status)
	}
}

// TestAccessTokenTypeRequired plays a vendor that signs both ID tokens
// (typ JWT) and RFC 9068 access tokens (typ at+jwt) with the same key,
// for a client whose id equals the API's audience. By default both pass
// (the audience is what decides); with AUTH_REQUIRE_AT_JWT only the
// access token does, and the ID token is refused before any key is used.
func TestAccessTokenTypeRequired(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss.addKey(t, "ec-1", key)
	claims := jwt.Claims{Issuer: iss.URL, Subject: "alice", Audience: jwt.Audience{audience},
		IssuedAt: jwt.NewNumericDate(time.Now()), Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour))}
	idToken, err := auth.SignToken(key, "ec-1", jose.ES256, claims, nil)
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{"ID token": idToken}
	for _, typ := range []string{"at+jwt", "application/at+JWT"} {
		if tokens[typ], err = auth.SignTokenOfType(typ, key, "ec-1", jose.ES256, claims, nil); err != nil {
			t.Fatal(err)
		}
	}
	pool := dbtest.NewPool(t, dbtest.NewURL(t))
	for _, require := range []bool{false, true} {
		verifier, err := auth.NewOIDC(ctx, iss.URL, audience)
		if err != nil {
			t.Fatal(err)
		}
		if require {
			verifier.RequireAccessTokenType()
		}
		s := newServerWith(t, pool, verifier, 0)
		for name, tok := range tokens {
			r := s.do(t, http.MethodGet, "/v1/me", nil, "Authorization", "Bearer "+tok)
			want := http.StatusOK
			if require && name == "ID token" {
				want = http.StatusUnauthorized
			}
			if r.status != want {
				t.Errorf("require at+jwt %t, %s: %d, want %d", require, name, r.status, want)
			}
		}
	}
}

// TestForgedTokensCostTheVendorNothing plays an attacker with the code
// open: tokens with the right issuer and audience, naming the vendor's
// key but signed by another, then naming key ids the vendor never had,
// from one address that also forges X-Forwarded-For. The vendor's JWKS is
// fetched once at the first token and at most once more (the minute's
// refetch), the address is throttled with 429 past its burst without any
// further verification, the refusals are counted by reason, and nothing
// is logged above debug.
func TestForgedTokensCostTheVendorNothing(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	real, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	forger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss.addKey(t, "ec-1", real)
	verifier, err := auth.NewOIDC(ctx, iss.URL, audience)
	if err != nil {
		t.Fatal(err)
	}
	s := newServerOpts(t, dbtest.NewPool(t, dbtest.NewURL(t)), func(o *api.Options) {
		o.Verifier, o.UnauthRateLimit, o.UnauthRateBurst = verifier, 0.001, 20
	})
	claims := jwt.Claims{Issuer: iss.URL, Subject: "mallory", Audience: jwt.Audience{audience},
		Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour))}
	statuses := map[int]int{}
	for i := range 100 {
		kid := "ec-1"
		if i%2 == 1 {
			kid = "made-up-" + strconv.Itoa(i)
		}
		claims.ID = strconv.Itoa(i)
		forged, err := auth.SignToken(forger, kid, jose.ES256, claims, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := s.do(t, http.MethodGet, "/v1/me", nil, "Authorization", "Bearer "+forged,
			"X-Forwarded-For", "203.0.113."+strconv.Itoa(i))
		statuses[r.status]++
	}
	if statuses[http.StatusUnauthorized] != 20 || statuses[http.StatusTooManyRequests] != 80 {
		t.Errorf("answers %v, want 20 × 401 (the burst) then 80 × 429", statuses)
	}
	if n := verifier.KeyFetches(); n > 2 {
		t.Errorf("100 forged tokens caused %d JWKS fetches, want at most 2", n)
	} else {
		t.Logf("100 forged tokens: %v, %d JWKS fetches", statuses, n)
	}
	metrics := string(s.metrics(t).body)
	for _, want := range []string{`auth_refused_total{reason="invalid"} 20`, `auth_refused_total{reason="throttled"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(metrics, "auth_refused"))
		}
	}
	for line := range strings.Lines(s.logs.String()) {
		if strings.Contains(line, "refused") && !strings.Contains(line, `"level":"DEBUG"`) {
			t.Errorf("a refusal was logged above debug: %s", line)
		}
		if strings.Contains(line, "made-up") || strings.Contains(line, "203.0.113") {
			t.Errorf("client input reached the log: %s", line)
		}
	}
}

// TestRetiredKeyStopsBeingTrusted retires the vendor's signing key (it
// leaves the JWKS, as after a leak): a token signed with it, one the
// server has never seen, is refused once the fetched JWKS is older than
// its age bound (15 minutes by default, 100 ms here).
func TestRetiredKeyStopsBeingTrusted(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	old, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss.addKey(t, "ec-old", old)
	verifier, err := auth.NewOIDC(ctx, iss.URL, audience, auth.WithKeyRefetch(0, 100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	s := newServerWith(t, dbtest.NewPool(t, dbtest.NewURL(t)), verifier, 0)
	tokenID := 0
	call := func() int {
		tokenID++ // a new token each time: none comes from the token cache
		tok, err := auth.SignToken(old, "ec-old", jose.ES256, jwt.Claims{Issuer: iss.URL, Subject: "alice",
			Audience: jwt.Audience{audience}, ID: strconv.Itoa(tokenID), Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour))}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s.do(t, http.MethodGet, "/v1/me", nil, "Authorization", "Bearer "+tok).status
	}
	if got := call(); got != http.StatusOK {
		t.Fatalf("before retirement: %d", got)
	}
	iss.mu.Lock()
	delete(iss.keys, "ec-old")
	iss.mu.Unlock()
	time.Sleep(150 * time.Millisecond)
	if got := call(); got != http.StatusUnauthorized {
		t.Fatalf("a token of the retired key = %d, want 401", got)
	}
}
