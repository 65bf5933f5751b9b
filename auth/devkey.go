package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// LoadOrCreateDevKey reads the dev signing key (PEM, PKCS#8, P-256) at
// path, creating it (mode 0600) when absent.
func LoadOrCreateDevKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createDevKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read dev key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("dev key %s is not PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse dev key %s: %w", path, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("dev key %s is not an ECDSA key", path)
	}
	return key, nil
}

func createDevKey(path string) (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate dev key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode dev key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create dev key directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it first: use theirs.
		return LoadOrCreateDevKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("create dev key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("write dev key: %w", err)
	}
	return key, f.Close()
}

// DevToken signs a dev-mode access token (ES256, typ at+jwt) for
// subject, valid for ttl.
func DevToken(key *ecdsa.PrivateKey, subject string, ttl time.Duration) (string, error) {
	return SignTokenOfType("at+jwt", key, "dev", jose.ES256, jwt.Claims{
		Issuer:   DevIssuer,
		Subject:  subject,
		Audience: jwt.Audience{DevAudience},
		IssuedAt: jwt.NewNumericDate(time.Now()),
		Expiry:   jwt.NewNumericDate(time.Now().Add(ttl)),
	}, nil)
}

// SignToken signs claims (and any extra claims) with key as a JWT whose
// header names kid (typ "JWT", as an ID token's). Tests use it to play an
// identity vendor.
func SignToken(key any, kid string, alg jose.SignatureAlgorithm, claims jwt.Claims, extra map[string]any) (string, error) {
	return SignTokenOfType("JWT", key, kid, alg, claims, extra)
}

// SignTokenOfType is SignToken with the header's typ given: "at+jwt" for
// an access token (RFC 9068).
func SignTokenOfType(typ string, key any, kid string, alg jose.SignatureAlgorithm, claims jwt.Claims, extra map[string]any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", kid))
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	b := jwt.Signed(signer).Claims(claims)
	if extra != nil {
		b = b.Claims(extra)
	}
	tok, err := b.Serialize()
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return tok, nil
}
