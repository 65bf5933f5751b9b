package db

import (
	"fmt"
	"time"
)

// String describes one difference between the stored ledger aggregates
// and the ledger (LedgerAggregateDifferences): an address's totals, or one
// of its days or months, or a user's repeats (AddressID is then the user's
// id).
func (d LedgerAggregateDifference) String() string {
	if d.Aggregate == "repeats" {
		return fmt.Sprintf("user %d repeats: stored %s, the ledger says %s", d.AddressID, d.Stored, d.Computed)
	}
	what := d.Aggregate
	if d.Day != nil {
		what += " " + d.Day.Format(time.DateOnly)
	}
	return fmt.Sprintf("address %d %s: stored %s, the ledger says %s", d.AddressID, what, d.Stored, d.Computed)
}
