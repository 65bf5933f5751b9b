package db

import (
	"fmt"
	"time"
)

// String describes one difference between the stored ledger aggregates
// and the ledger (LedgerAggregateDifferences): an address's totals, or one
// of its days or months, or a user's repeats or one of their days
// (AddressID is then the user's id).
func (d LedgerAggregateDifference) String() string {
	// Rows of the per-user aggregates name a user in AddressID.
	owner := "address"
	what := d.Aggregate
	switch d.Aggregate {
	case "repeats":
		owner = "user"
	case "user day":
		owner, what = "user", "day"
	}
	if d.Day != nil {
		what += " " + d.Day.Format(time.DateOnly)
	}
	return fmt.Sprintf("%s %d %s: stored %s, the ledger says %s", owner, d.AddressID, what, d.Stored, d.Computed)
}
