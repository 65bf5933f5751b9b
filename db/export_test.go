package db

// SetExportBatchForTest makes db.HistoryEach fetch in tiny batches (the
// rows held at once, and the fewest per fetch) and merge at most
// maxCursors cursors, so a test's small history crosses many batch ends,
// or pages; the returned func restores the sizes.
func SetExportBatchForTest(buffered, minFetch, maxCursors int) (restore func()) {
	b, m, c := exportBuffered, exportMinFetch, exportMaxCursors
	exportBuffered, exportMinFetch, exportMaxCursors = buffered, minFetch, maxCursors
	return func() { exportBuffered, exportMinFetch, exportMaxCursors = b, m, c }
}
