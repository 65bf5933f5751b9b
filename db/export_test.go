package db

// SetExportBatchForTest makes db.HistoryEach fetch in tiny batches (the
// rows held at once, and the fewest per fetch), so a test's small history
// crosses many batch ends; the returned func restores the sizes.
func SetExportBatchForTest(buffered, minFetch int) (restore func()) {
	b, m := exportBuffered, exportMinFetch
	exportBuffered, exportMinFetch = buffered, minFetch
	return func() { exportBuffered, exportMinFetch = b, m }
}
