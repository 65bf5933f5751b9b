package db

// TxStatus is a transaction's status as ledger_entries stores it:
// pending, confirmed, replaced or dropped. History queries read it for
// every row of every page, so it scans without allocating: pgx hands
// ScanBytes the column's bytes and a known status becomes its constant.
type TxStatus string

// The statuses ledger_entries_status_check allows.
const (
	TxPending   TxStatus = "pending"
	TxConfirmed TxStatus = "confirmed"
	TxReplaced  TxStatus = "replaced"
	TxDropped   TxStatus = "dropped"
)

// ScanBytes implements pgtype.BytesScanner; v is only valid during the call.
func (s *TxStatus) ScanBytes(v []byte) error {
	switch TxStatus(v) { // the conversion in a switch does not allocate
	case TxConfirmed:
		*s = TxConfirmed
	case TxPending:
		*s = TxPending
	case TxReplaced:
		*s = TxReplaced
	case TxDropped:
		*s = TxDropped
	default:
		*s = TxStatus(v) // not one of ours: keep it as it is
	}
	return nil
}
