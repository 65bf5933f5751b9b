package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Key fetching bounds. A forged token must not cost a request to the
// vendor, whose JWKS endpoint rate-limits (often per organisation), and a
// key the vendor retired must not stay trusted for as long as the process
// lives.
const (
	// minKeyRefetch is the least time between two fetches of the JWKS,
	// whatever tokens arrive.
	minKeyRefetch = time.Minute
	// maxKeyAge is how long a fetched JWKS is used before the next token
	// fetches it again: a retired key stops being trusted within it.
	maxKeyAge = 15 * time.Minute
	// keyFetchTimeout bounds one fetch (discovery too): a hung vendor
	// must not hang the requests waiting for keys.
	keyFetchTimeout = 10 * time.Second
	// maxJWKSBody bounds a JWKS answer.
	maxJWKSBody = 1 << 20
)

// keySet is the vendor's JWKS as the verifier uses it (an oidc.KeySet).
// go-oidc's RemoteKeySet fetches the set again whenever a signature fails
// to verify, a known key id with a forged signature included, and keeps
// every key it ever fetched. This set fetches only for a key id it does
// not hold or when its copy is older than maxKeyAge, and then at most once
// per minKeyRefetch; one fetch runs at a time and the others wait for it.
type keySet struct {
	url    string
	client *http.Client
	// fetches counts JWKS requests (tests and the auth metrics read it).
	fetches func()
	// minRefetch and maxAge are minKeyRefetch and maxKeyAge unless a
	// KeyOption changed them.
	minRefetch, maxAge time.Duration

	mu      sync.Mutex
	keys    []jose.JSONWebKey
	tried   time.Time // the last fetch, failed or not
	fetched time.Time // the last successful fetch
}

// KeyOption changes how the vendor's keys are fetched.
type KeyOption func(*keySet)

// WithKeyRefetch sets the least time between two JWKS fetches and how long
// a fetched JWKS is used (defaults: minKeyRefetch, maxKeyAge). Tests use it
// to play rotation and retirement in milliseconds.
func WithKeyRefetch(minRefetch, maxAge time.Duration) KeyOption {
	return func(k *keySet) { k.minRefetch, k.maxAge = minRefetch, maxAge }
}

// joseAlgs are asymmetricAlgs as go-jose names them.
var joseAlgs = func() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(asymmetricAlgs))
	for i, a := range asymmetricAlgs {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}()

// errBadSignature is a token no key of the issuer's verifies.
var errBadSignature = errors.New("the signature does not verify with the issuer's keys")

// VerifySignature returns the token's payload when one of the issuer's
// keys verifies its signature.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, joseAlgs)
	if err != nil {
		return nil, fmt.Errorf("malformed token: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("a token must carry exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	for _, key := range k.keysFor(ctx, kid) {
		if kid == "" || key.KeyID == kid {
			if payload, err := jws.Verify(&key); err == nil {
				return payload, nil
			}
		}
	}
	return nil, errBadSignature
}

// keysFor returns the keys to try for kid, fetching the set first when it
// lacks kid or is older than maxKeyAge, unless a fetch ran within
// minKeyRefetch. A failed fetch keeps the keys held.
func (k *keySet) keysFor(ctx context.Context, kid string) []jose.JSONWebKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	known := slices.ContainsFunc(k.keys, func(key jose.JSONWebKey) bool { return kid == "" || key.KeyID == kid })
	stale := time.Since(k.fetched) >= k.maxAge
	if (known && !stale) || time.Since(k.tried) < k.minRefetch {
		return k.keys
	}
	k.tried = time.Now()
	if keys, err := k.fetch(ctx); err == nil {
		k.keys, k.fetched = keys, k.tried
	}
	return k.keys
}

// fetch reads the JWKS. The fetch outlives the request that asked for it
// (others wait for it) but not keyFetchTimeout.
func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	if k.fetches != nil {
		k.fetches()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), keyFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	res, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch the JWKS: %w", err)
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch the JWKS: %s", res.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(res.Body, maxJWKSBody)).Decode(&set); err != nil {
		return nil, fmt.Errorf("read the JWKS: %w", err)
	}
	return set.Keys, nil
}
