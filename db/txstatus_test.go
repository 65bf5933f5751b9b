package db_test

import (
	"testing"

	"github.com/cointracker/cointracker/db"
)

// TestTxStatusScansWithoutAllocating checks that the four statuses come
// out as their constants for free, and anything else as it is.
func TestTxStatusScansWithoutAllocating(t *testing.T) {
	for _, want := range []db.TxStatus{db.TxPending, db.TxConfirmed, db.TxReplaced, db.TxDropped} {
		src := []byte(string(want))
		var got db.TxStatus
		allocs := testing.AllocsPerRun(100, func() {
			if err := got.ScanBytes(src); err != nil {
				t.Fatal(err)
			}
		})
		if got != want || allocs != 0 {
			t.Errorf("ScanBytes(%q) = %q with %v allocations, want %q with none", src, got, allocs, want)
		}
	}
	src := []byte("orphaned")
	var got db.TxStatus
	if err := got.ScanBytes(src); err != nil || got != "orphaned" {
		t.Fatalf("ScanBytes(%q) = %q, %v", src, got, err)
	}
	src[0] = 'X' // the driver reuses its buffer: the value must not follow it
	if got != "orphaned" {
		t.Errorf("an unknown status kept a reference to the driver's buffer: %q", got)
	}
}
