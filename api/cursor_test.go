package api

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestCursorRoundTrip checks that a position comes back exactly from its
// cursor, and that a cursor of another list, other filters, another key
// or with a byte changed is refused.
func TestCursorRoundTrip(t *testing.T) {
	codec := cursorCodec{key: []byte("a key of thirty-two bytes, ok...")}
	txid := []byte(strings.Repeat("\x01\xfe", 16))
	positions := []historyPosition{
		{Unconfirmed: true, Time: time.Date(2024, 4, 20, 0, 1, 2, 345678901, time.FixedZone("CEST", 2*3600)), Height: 0, Txid: txid, EntryID: 7},
		{Time: time.Date(2009, 1, 3, 18, 15, 5, 0, time.UTC), Height: -1, Txid: txid, EntryID: 1<<62 + 3},
		{Time: time.Date(1969, 7, 20, 20, 17, 40, 1, time.UTC), Height: 840_000, Txid: []byte{}, EntryID: 0},
	}
	for _, want := range positions {
		cursor := codec.encode("filters", want)
		var got historyPosition
		if err := codec.decode(cursor, "filters", &got); err != nil {
			t.Fatalf("decode(encode(%+v)): %v", want, err)
		}
		if got.Unconfirmed != want.Unconfirmed || !got.Time.Equal(want.Time) || got.Height != want.Height ||
			string(got.Txid) != string(want.Txid) || got.EntryID != want.EntryID {
			t.Errorf("round trip changed the position: %+v → %+v", want, got)
		}
		if err := codec.decode(cursor, "other filters", &got); !errors.Is(err, errCursorFilters) {
			t.Errorf("a cursor used with other filters: %v, want errCursorFilters", err)
		}
		if err := (cursorCodec{key: []byte("another key")}).decode(cursor, "filters", &got); !errors.Is(err, errBadCursor) {
			t.Errorf("a cursor signed with another key: %v, want errBadCursor", err)
		}
		var id idCursor
		if err := codec.decode(cursor, "filters", &id); !errors.Is(err, errBadCursor) {
			t.Errorf("a history cursor read as an id cursor: %v, want errBadCursor", err)
		}
		payload, mac, _ := strings.Cut(cursor, ".")
		raw, _ := base64.RawURLEncoding.DecodeString(payload)
		for i := range raw {
			changed := append([]byte{}, raw...)
			changed[i] ^= 0x20
			forged := base64.RawURLEncoding.EncodeToString(changed) + "." + mac
			if err := codec.decode(forged, "filters", &got); !errors.Is(err, errBadCursor) {
				t.Fatalf("byte %d changed: %v, want errBadCursor", i, err)
			}
		}
	}
	id := idCursor{ID: 42}
	var got idCursor
	if err := codec.decode(codec.encode("addresses", id), "addresses", &got); err != nil || got != id {
		t.Errorf("id cursor round trip: %+v, %v", got, err)
	}
}
