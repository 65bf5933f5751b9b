package db

import (
	"fmt"
	"time"
)

// String describes one difference between the stored ledger aggregates
// and the ledger (LedgerAggregateDifferences): an address's totals, or one
// of its days.
func (d LedgerAggregateDifference) String() string {
	day := "totals"
	if d.Day != nil {
		day = d.Day.Format(time.DateOnly)
	}
	return fmt.Sprintf("address %d %s: stored %s, the ledger says %s", d.AddressID, day, d.Stored, d.Computed)
}
