package db

import (
	"fmt"
	"time"
)

// String describes one difference between the stored ledger aggregates
// and the ledger (LedgerAggregateDifferences): an address's totals, or one
// of its days or months.
func (d LedgerAggregateDifference) String() string {
	what := d.Aggregate
	if d.Day != nil {
		what += " " + d.Day.Format(time.DateOnly)
	}
	return fmt.Sprintf("address %d %s: stored %s, the ledger says %s", d.AddressID, what, d.Stored, d.Computed)
}
