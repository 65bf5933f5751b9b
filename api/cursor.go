package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// Cursors are opaque and tamper-evident: base64url(payload) "."
// base64url(HMAC-SHA256 of it, truncated to 16 bytes). The payload is a
// format version, a digest of the filters the cursor was made under (so
// it cannot be replayed against other filters) and the position in a
// fixed binary layout: every page of history writes one and most read
// one, and JSON took several microseconds each way.

var (
	// errBadCursor is what a client sees for a cursor it did not get from us.
	errBadCursor = errors.New("is not a cursor from this list's next_cursor")
	// errCursorFilters is a real cursor used with other filters.
	errCursorFilters = errors.New("was made for other filters: repeat the query that returned it")
)

// cursorVersion is the payload layout's version; a new layout takes a
// new number, and cursors of another one are refused as bad.
const cursorVersion = 2

// filterDigestLen is how much of the filters' SHA-256 a cursor carries.
const filterDigestLen = 12

// cursorWriter is a position a cursor can carry.
type cursorWriter interface {
	// appendCursor appends the position's bytes.
	appendCursor(b []byte) []byte
}

// cursorReader reads a position back.
type cursorReader interface {
	// readCursor reads what appendCursor wrote (all of b).
	readCursor(b []byte) error
}

// cursorCodec signs and checks cursors with the server's key.
type cursorCodec struct {
	key []byte
}

func (c cursorCodec) mac(payload string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(payload))
	return m.Sum(nil)[:16]
}

// encode makes a cursor for position under filters.
func (c cursorCodec) encode(filters string, position cursorWriter) string {
	var buf [96]byte
	b := append(buf[:0], cursorVersion)
	b = appendDigest(b, filters)
	b = position.appendCursor(b)
	payload := base64.RawURLEncoding.EncodeToString(b)
	mac := base64.RawURLEncoding.EncodeToString(c.mac(payload))
	return payload + "." + mac
}

// decode checks a cursor's signature and filters and reads its position.
func (c cursorCodec) decode(s, filters string, position cursorReader) error {
	payload, mac, ok := strings.Cut(s, ".")
	if !ok {
		return errBadCursor
	}
	sum, err := base64.RawURLEncoding.DecodeString(mac)
	if err != nil || !hmac.Equal(sum, c.mac(payload)) {
		return errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || len(b) < 1+filterDigestLen || b[0] != cursorVersion {
		return errBadCursor
	}
	var digest [filterDigestLen]byte
	if string(b[1:1+filterDigestLen]) != string(appendDigest(digest[:0], filters)) {
		return errCursorFilters
	}
	if err := position.readCursor(b[1+filterDigestLen:]); err != nil {
		return errBadCursor
	}
	return nil
}

func appendDigest(b []byte, filters string) []byte {
	sum := sha256.Sum256([]byte(filters))
	return append(b, sum[:filterDigestLen]...)
}

// errCursorLayout is a signed payload of the wrong shape (another kind of
// list's cursor, say); decode reports it as a bad cursor.
var errCursorLayout = errors.New("cursor position has the wrong layout")

// historyPositionLen is a history position's size before its txid.
const historyPositionLen = 1 + 8 + 4 + 4 + 8

// appendCursor writes unconfirmed (1 byte), the time as Unix seconds and
// nanoseconds, the height, the entry id, then the txid.
func (p historyPosition) appendCursor(b []byte) []byte {
	var flags byte
	if p.Unconfirmed {
		flags = 1
	}
	b = append(b, flags)
	b = binary.BigEndian.AppendUint64(b, uint64(p.Time.Unix()))
	b = binary.BigEndian.AppendUint32(b, uint32(p.Time.Nanosecond()))
	b = binary.BigEndian.AppendUint32(b, uint32(p.Height))
	b = binary.BigEndian.AppendUint64(b, uint64(p.EntryID))
	return append(b, p.Txid...)
}

func (p *historyPosition) readCursor(b []byte) error {
	if len(b) < historyPositionLen || b[0] > 1 {
		return errCursorLayout
	}
	p.Unconfirmed = b[0] == 1
	p.Time = time.Unix(int64(binary.BigEndian.Uint64(b[1:])), int64(binary.BigEndian.Uint32(b[9:]))).UTC()
	p.Height = int32(binary.BigEndian.Uint32(b[13:]))
	p.EntryID = int64(binary.BigEndian.Uint64(b[17:]))
	p.Txid = append([]byte{}, b[historyPositionLen:]...)
	return nil
}

// appendCursor writes the id.
func (p idCursor) appendCursor(b []byte) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(p.ID))
}

func (p *idCursor) readCursor(b []byte) error {
	if len(b) != 8 {
		return errCursorLayout
	}
	p.ID = int64(binary.BigEndian.Uint64(b))
	return nil
}
