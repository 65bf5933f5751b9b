// Package webhooks delivers the change feed's events to the endpoints
// users register, as the Standard Webhooks specification describes
// (https://www.standardwebhooks.com, spec/standard-webhooks.md): each
// request carries webhook-id, webhook-timestamp and webhook-signature
// headers, the signature being "v1," and the base64 HMAC-SHA256 of
// "id.timestamp.body" under the endpoint's secret; the body is JSON with
// type, timestamp and data. It also holds the rules for an endpoint's URL
// and the guarded HTTP client that never reaches a private address.
package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks' header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// secretPrefix marks a secret as the specification writes one: "whsec_"
// and the base64 of the key.
const secretPrefix = "whsec_"

// KeyBytes is the length of a signing key (the specification asks for 24
// to 64 bytes).
const KeyBytes = 32

// NewKey returns a random signing key.
func NewKey() []byte {
	k := make([]byte, KeyBytes)
	_, _ = rand.Read(k) // never fails (crypto/rand)
	return k
}

// SecretString is how a key is shown to its owner, once: whsec_<base64>.
func SecretString(key []byte) string {
	return secretPrefix + base64.StdEncoding.EncodeToString(key)
}

// Signature is the webhook-signature header for a message signed with
// each key in turn (during a rotation both the new and the old key sign,
// space-separated, so a receiver holding either verifies).
func Signature(msgID string, at time.Time, body []byte, keys ...[]byte) string {
	sigs := make([]string, 0, len(keys))
	for _, k := range keys {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(msgID))
		mac.Write([]byte{'.'})
		mac.Write(strconv.AppendInt(nil, at.Unix(), 10))
		mac.Write([]byte{'.'})
		mac.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(sigs, " ")
}

// SigningKeys are the keys that sign a delivery at now: the current key,
// and the previous one until its grace ends (a rotation).
func SigningKeys(current, previous []byte, previousUntil *time.Time, now time.Time) [][]byte {
	keys := [][]byte{current}
	if previous != nil && previousUntil != nil && now.Before(*previousUntil) {
		keys = append(keys, previous)
	}
	return keys
}
