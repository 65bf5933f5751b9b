package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// Cursors are opaque and tamper-evident: base64url(JSON position) "."
// base64url(HMAC-SHA256 of it, truncated to 16 bytes). Each also carries a
// digest of the filters it was made under, so it cannot be replayed
// against other filters.

var (
	// errBadCursor is what a client sees for a cursor it did not get from us.
	errBadCursor = errors.New("is not a cursor from this list's next_cursor")
	// errCursorFilters is a real cursor used with other filters.
	errCursorFilters = errors.New("was made for other filters: repeat the query that returned it")
)

// cursorCodec signs and checks cursors with the server's key.
type cursorCodec struct {
	key []byte
}

// signedCursor is what a cursor holds.
type signedCursor struct {
	// Filters is a digest of the query the cursor continues.
	Filters string `json:"f"`
	// Position is the last row's keyset position.
	Position json.RawMessage `json:"p"`
}

func (c cursorCodec) mac(payload string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// encode makes a cursor for position under filters.
func (c cursorCodec) encode(filters string, position any) string {
	pos, err := json.Marshal(position)
	if err != nil {
		// Positions are plain structs of numbers and strings.
		panic("encode cursor: " + err.Error())
	}
	b, err := json.Marshal(signedCursor{Filters: digest(filters), Position: pos})
	if err != nil {
		panic("encode cursor: " + err.Error())
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + c.mac(payload)
}

// decode checks a cursor's signature and filters and reads its position.
func (c cursorCodec) decode(s, filters string, position any) error {
	payload, mac, ok := strings.Cut(s, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(c.mac(payload))) {
		return errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return errBadCursor
	}
	var sc signedCursor
	if err := json.Unmarshal(b, &sc); err != nil {
		return errBadCursor
	}
	if sc.Filters != digest(filters) {
		return errCursorFilters
	}
	if err := json.Unmarshal(sc.Position, position); err != nil {
		return errBadCursor
	}
	return nil
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}
