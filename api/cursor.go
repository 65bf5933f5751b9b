package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
)

// errBadCursor is what a client sees for a cursor it did not get from us.
var errBadCursor = errors.New("is not a cursor from this list's next_cursor")

// encodeCursor makes an opaque page cursor from a keyset position.
func encodeCursor(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Positions are plain structs of numbers and strings.
		panic("encode cursor: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor made by encodeCursor into v.
func decodeCursor(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return errBadCursor
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errBadCursor
	}
	return nil
}
