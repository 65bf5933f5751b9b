// Package auth verifies bearer tokens and says who the caller is. In
// production the tokens come from an OpenID Connect vendor (discovery,
// JWKS with key rotation); in development the service signs its own with a
// key kept under .data/. Both go through the same verification.
package auth

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// DevIssuer is the issuer of tokens the service signs itself in dev mode.
// Demo users seeded by the fixtures belong to it, as user-1 … user-N.
const DevIssuer = "urn:cointracker:dev"

// DevAudience is the audience of dev tokens.
const DevAudience = "cointracker-dev"

// clockSkew is how far the token issuer's clock may run ahead of ours for
// exp (go-oidc allows five minutes for nbf).
const clockSkew = 30 * time.Second

// asymmetricAlgs are the only signatures accepted: no "none", no HMAC (a
// public key must never double as a shared secret).
var asymmetricAlgs = []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512, oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA}

// Identity is the verified caller.
type Identity struct {
	Issuer  string
	Subject string
	// Email and Name come from the token's claims when present.
	Email *string
	Name  *string
	// Expiry is when the token stops being valid.
	Expiry time.Time
}

// Verifier checks bearer tokens.
type Verifier struct {
	verifier *oidc.IDTokenVerifier
	// keyFetches counts requests for the vendor's JWKS.
	keyFetches atomic.Int64
	// requireATJWT refuses any token whose JOSE header does not say it is
	// an access token (RFC 9068 §2.1: typ "at+jwt").
	requireATJWT bool
}

// RequireAccessTokenType makes the verifier refuse every token whose
// header typ is not "at+jwt" (RFC 9068): an ID token the vendor issued to
// a client whose id equals the API's audience is then refused too.
// AUTH_REQUIRE_AT_JWT turns it on; vendors that issue RFC 9068 access
// tokens (Ory Hydra, Auth0, Okta, Keycloak with the option) support it.
func (v *Verifier) RequireAccessTokenType() *Verifier {
	v.requireATJWT = true
	return v
}

// ErrInvalidToken wraps every reason a token is refused.
var ErrInvalidToken = errors.New("invalid token")

// NewOIDC discovers the issuer's configuration and verifies tokens for
// audience with its JWKS (see keySet: fetched again for a key id it does
// not hold, or after maxKeyAge, at most once a minute, so rotation needs
// no restart and forged tokens cost the vendor nothing). Discovery and key
// fetches run on a client with a timeout.
func NewOIDC(ctx context.Context, issuer, audience string, opts ...KeyOption) (*Verifier, error) {
	client := &http.Client{Timeout: keyFetchTimeout}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, client), issuer)
	if err != nil {
		return nil, fmt.Errorf("OIDC discovery at %s: %w", issuer, err)
	}
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := provider.Claims(&meta); err != nil || meta.JWKSURI == "" {
		return nil, fmt.Errorf("OIDC discovery at %s: no jwks_uri", issuer)
	}
	v := &Verifier{}
	keys := &keySet{url: meta.JWKSURI, client: client, fetches: func() { v.keyFetches.Add(1) },
		minRefetch: minKeyRefetch, maxAge: maxKeyAge}
	for _, o := range opts {
		o(keys)
	}
	v.verifier = oidc.NewVerifier(issuer, keys, config(audience))
	return v, nil
}

// KeyFetches is how many times the vendor's JWKS was requested.
func (v *Verifier) KeyFetches() int64 {
	return v.keyFetches.Load()
}

// NewStatic verifies tokens signed by one of keys for issuer and audience;
// dev mode uses it with the dev key.
func NewStatic(issuer, audience string, keys ...crypto.PublicKey) *Verifier {
	keySet := &oidc.StaticKeySet{PublicKeys: keys}
	return &Verifier{verifier: oidc.NewVerifier(issuer, keySet, config(audience))}
}

func config(audience string) *oidc.Config {
	return &oidc.Config{
		ClientID:             audience,
		SupportedSigningAlgs: asymmetricAlgs,
		// A token that expired less than clockSkew ago still passes.
		Now: func() time.Time { return time.Now().Add(-clockSkew) },
	}
}

// Verify checks the token's signature, issuer, audience, expiry and
// not-before, and returns the caller. Errors wrap ErrInvalidToken and never
// quote the token.
func (v *Verifier) Verify(ctx context.Context, raw string) (Identity, error) {
	if v.requireATJWT && !isAccessTokenType(headerType(raw)) {
		// Checked first: the header needs no key, so such a token costs
		// no signature check and no key fetch.
		return Identity{}, fmt.Errorf("%w: not an access token (typ is not at+jwt)", ErrInvalidToken)
	}
	tok, err := v.verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if tok.Subject == "" {
		return Identity{}, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	var claims struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if err := tok.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("%w: claims: %w", ErrInvalidToken, err)
	}
	id := Identity{Issuer: tok.Issuer, Subject: tok.Subject, Expiry: tok.Expiry}
	if claims.Email != "" {
		id.Email = &claims.Email
	}
	if claims.Name != "" {
		id.Name = &claims.Name
	}
	return id, nil
}

// headerType is the typ of a compact JWS's protected header, read without
// verifying anything; "" when there is none or the token is malformed.
func headerType(raw string) string {
	head, _, ok := strings.Cut(raw, ".")
	if !ok {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Typ string `json:"typ"`
	}
	if json.Unmarshal(b, &h) != nil {
		return ""
	}
	return h.Typ
}

// isAccessTokenType says whether typ names a JWT access token: "at+jwt",
// or its full media type, in any case (RFC 9068 §2.1, RFC 7515 §4.1.9).
func isAccessTokenType(typ string) bool {
	typ = strings.ToLower(typ)
	return typ == "at+jwt" || typ == "application/at+jwt"
}
