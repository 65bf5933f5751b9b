package db

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// exportBuffered bounds the rows an export holds at once, over all its
// entries' cursors (two batches each): each fetch reads exportBuffered / 2
// / entries rows, at least exportMinFetch and at most exportMaxFetch.
// About 200 bytes a row, so a few MiB. Variables only for the tests.
//
// exportMaxCursors bounds the cursors: a watch-list wider than that (an
// xpub derives up to thousands of entries) would hold more than
// exportBuffered rows at exportMinFetch a cursor, and declare as many
// cursors, so its export pages through History instead, exportPage rows a
// query, in bounded memory.
var (
	exportBuffered   = 32 << 10
	exportMinFetch   = 64
	exportMaxFetch   = 4096
	exportMaxCursors = 256
)

// exportPage is how many rows a query reads when an export pages.
const exportPage = 1000

// errWideWatchList sends an export with more than exportMaxCursors entries
// to historyPaged.
var errWideWatchList = errors.New("history export: more entries than cursors")

// HistoryEach calls fn with every row of the filter, in the filter's
// order: the rows History pages through, read in one pass. Each revealed
// watch-list entry gets a server-side cursor over its own ordered index
// range (queries HistoryExportNewest and HistoryExportOldest), and the
// cursors are merged here in the pages' order, so PostgreSQL never sorts
// and the first row comes as soon as each cursor's first batch. The
// cursors share one read-only REPEATABLE READ transaction: the whole
// export is one snapshot. step bounds each fetch (0: no bound); the
// export as a whole is bounded by ctx. fn's error stops the walk and is
// returned.
func (q *Queries) HistoryEach(ctx context.Context, f HistoryFilter, step time.Duration, fn func(*HistoryRow) error) error {
	if f.Txid != nil { // one transaction's few rows
		return q.historyPaged(ctx, f, step, fn)
	}
	err := q.historyMerged(ctx, f, step, fn)
	if errors.Is(err, errWideWatchList) { // before any row was passed on
		return q.historyPaged(ctx, f, step, fn)
	}
	return err
}

// historyPaged is HistoryEach by History's keyset pages, each query a
// step.
func (q *Queries) historyPaged(ctx context.Context, f HistoryFilter, step time.Duration, fn func(*HistoryRow) error) error {
	for after := f.Start(); ; {
		page, cancel := WithStep(ctx, step)
		rows, more, err := q.History(page, f, after, exportPage)
		cancel()
		if err != nil {
			return err
		}
		for i := range rows {
			if err := fn(&rows[i]); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
		after = rows[len(rows)-1].Position()
	}
}

// historyMerged is HistoryEach by merged cursors.
func (q *Queries) historyMerged(ctx context.Context, f HistoryFilter, step time.Duration, fn func(*HistoryRow) error) error {
	begin, ok := q.db.(interface {
		BeginTx(context.Context, pgx.TxOptions) (pgx.Tx, error)
	})
	if !ok {
		return errors.New("history export: the queries are not on a pool")
	}
	// Opening the export (begin, prices, entries, cursors) is one step.
	setup, cancel := WithStep(ctx, step)
	defer cancel()
	tx, err := begin.BeginTx(setup, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("history export: begin: %w", mapError(err))
	}
	defer func() {
		end, cancel := WithStep(context.WithoutCancel(ctx), step)
		defer cancel()
		_ = tx.Rollback(end)
	}()
	closes, m, err := openExport(setup, tx, f)
	if err != nil {
		return err
	}
	fetches := startFetcher(ctx, step, len(m.streams), closes)
	defer fetches.stop() // before the rollback: they share the connection
	if err := m.start(fetches); err != nil {
		return err
	}
	for m.Len() > 0 {
		c := m.streams[0]
		if err := fn(&c.rows[0]); err != nil {
			return err
		}
		c.rows = c.rows[1:]
		if len(c.rows) == 0 {
			if err := c.next(fetches); err != nil {
				return err
			}
		}
		if len(c.rows) == 0 {
			heap.Pop(m)
		} else {
			heap.Fix(m, 0)
		}
	}
	return nil
}

// WithStep is ctx bounded by step, one step of a long piece of database
// work (0: not bounded).
func WithStep(ctx context.Context, step time.Duration) (context.Context, context.CancelFunc) {
	if step <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, step)
}

// openExport prepares tx for the export: JIT off, the daily closes read,
// a cursor declared per entry.
func openExport(ctx context.Context, tx pgx.Tx, f HistoryFilter) (map[int64]int64, *exportMerge, error) {
	// A long entry's plan costs past jit_above_cost (a lookup per row), and
	// compiling it took 250 ms before the cursor's first row on the bench
	// data: more than reading the rows. The rows are index probes, which
	// JIT does not speed up, so it is off for this transaction only.
	if _, err := tx.Exec(ctx, "SET LOCAL jit = off"); err != nil {
		return nil, nil, fmt.Errorf("history export: %w", mapError(err))
	}
	closes, err := dailyCloses(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	m, err := openExportCursors(ctx, tx, f)
	if err != nil {
		return nil, nil, err
	}
	return closes, m, nil
}

// dailyCloses reads every daily close, by UTC day number.
func dailyCloses(ctx context.Context, tx pgx.Tx) (map[int64]int64, error) {
	prices, err := New(mapped{tx}).PricesAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("history export: prices: %w", err)
	}
	closes := make(map[int64]int64, len(prices))
	for _, p := range prices {
		closes[utcDay(p.Day)] = p.CloseUsdCents
	}
	return closes, nil
}

// utcDay numbers t's UTC day from the Unix epoch: the day whose close
// values a row, as (sort_time AT TIME ZONE 'UTC')::date does in the
// history pages' SQL.
func utcDay(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return (s - 86399) / 86400
	}
	return s / 86400
}

// openExportCursors declares a cursor per revealed entry of the filter.
func openExportCursors(ctx context.Context, tx pgx.Tx, f HistoryFilter) (*exportMerge, error) {
	minEntry, maxEntry := f.entryRange()
	entries, err := New(mapped{tx}).HistoryExportEntries(ctx, HistoryExportEntriesParams{
		UserID: f.UserID, MinEntryID: minEntry, MaxEntryID: maxEntry,
	})
	if err != nil {
		return nil, fmt.Errorf("history export: entries: %w", err)
	}
	if len(entries) > exportMaxCursors {
		return nil, errWideWatchList
	}
	// Two batches per cursor: the one being merged, and the next.
	fetch := min(max(exportBuffered/2/max(len(entries), 1), exportMinFetch), exportMaxFetch)
	m := &exportMerge{order: 1}
	if !f.Oldest {
		m.order = -1
	}
	for i, e := range entries {
		name := fmt.Sprintf("history_export_%d", i)
		c := &exportCursor{
			tx: tx, name: name, oldest: f.Oldest, size: fetch,
			fetchSQL: fmt.Sprintf("FETCH FORWARD %d FROM %s", fetch, name),
			batches:  make(chan []HistoryRow, 1),
		}
		if err := c.declare(ctx, f, e); err != nil {
			return nil, err
		}
		m.streams = append(m.streams, c)
	}
	return m, nil
}

// start asks for every cursor's first two batches and orders the cursors
// by their first rows, leaving out the empty ones.
func (m *exportMerge) start(fetches *fetcher) error {
	for _, c := range m.streams {
		fetches.ask(c)
	}
	open := m.streams[:0]
	for _, c := range m.streams {
		if err := c.next(fetches); err != nil {
			return err
		}
		if len(c.rows) > 0 {
			open = append(open, c)
		}
	}
	m.streams = open
	heap.Init(m)
	return nil
}

// exportCursor is one entry's cursor, the rows fetched from it and not
// yet passed on, and the batch fetched ahead of them.
type exportCursor struct {
	tx       pgx.Tx
	name     string
	fetchSQL string
	size     int // rows per fetch
	oldest   bool
	rows     []HistoryRow
	batches  chan []HistoryRow // the batch fetched ahead (at most one)
	asked    bool              // a batch is on its way
	ended    bool              // a short batch came: the cursor is at its end
}

// next makes the batch fetched ahead the cursor's rows (none once it has
// ended), waiting for it if need be, and asks for the one after.
func (c *exportCursor) next(fetches *fetcher) error {
	c.rows = nil
	if !c.asked {
		return nil // ended
	}
	select {
	case rows := <-c.batches:
		c.asked = false
		c.rows = rows
		c.ended = len(rows) < c.size
	case <-fetches.done: // stopped by a fetch's error
		return fetches.err
	}
	if !c.ended {
		fetches.ask(c)
	}
	return nil
}

// fetcher runs the cursors' fetches on the transaction's connection, one
// at a time, in the order asked, while the caller merges the batches it
// already has: PostgreSQL reads the next rows while Go writes the last.
type fetcher struct {
	ctx    context.Context
	step   time.Duration
	closes map[int64]int64 // daily closes by utcDay
	asks   chan *exportCursor
	done   chan struct{} // closed when the fetcher has stopped
	err    error         // why it stopped early, read after done
	cancel context.CancelFunc
}

// startFetcher starts the fetcher of up to cursors cursors.
func startFetcher(ctx context.Context, step time.Duration, cursors int, closes map[int64]int64) *fetcher {
	ctx, cancel := context.WithCancel(ctx)
	f := &fetcher{ctx: ctx, step: step, closes: closes, asks: make(chan *exportCursor, cursors), done: make(chan struct{}), cancel: cancel}
	go f.run()
	return f
}

// ask queues the cursor's next fetch. A cursor has one fetch at most on
// its way, so the queue (one place per cursor) never blocks.
func (f *fetcher) ask(c *exportCursor) {
	c.asked = true
	f.asks <- c
}

func (f *fetcher) run() {
	defer close(f.done)
	for c := range f.asks {
		rows, err := c.fetch(f.ctx, f.step)
		if err != nil {
			f.err = err
			return
		}
		for i := range rows {
			rows[i].CloseUsdCents = f.closes[utcDay(rows[i].SortTime)]
		}
		c.batches <- rows
	}
}

// stop ends the fetcher and waits for it, so the connection is free: the
// fetch under way, if any, is cancelled.
func (f *fetcher) stop() {
	f.cancel()
	close(f.asks)
	<-f.done
}

// declare opens the cursor over the entry's query: the generated method
// is run against Capture for its SQL and arguments, which then follow
// DECLARE, so the parameters are the generated code's own.
func (c *exportCursor) declare(ctx context.Context, f HistoryFilter, e HistoryExportEntriesRow) error {
	p := HistoryExportNewestParams{
		AddressID: e.AddressID, EntryID: e.ID, UserID: f.UserID, FromTime: f.From, ToTime: f.To, Statuses: f.Statuses,
		MinAmount: f.MinAmount, MaxAmount: f.MaxAmount, Direction: f.Direction,
	}
	captured := &Capture{}
	if c.oldest {
		_, _ = New(captured).HistoryExportOldest(ctx, HistoryExportOldestParams(p))
	} else {
		_, _ = New(captured).HistoryExportNewest(ctx, p)
	}
	// The unnamed statement: a DECLARE is run once, so caching it would
	// only fill the connection's statement cache.
	args := append([]any{pgx.QueryExecModeExec}, captured.Args...)
	if _, err := c.tx.Exec(ctx, "DECLARE "+c.name+" NO SCROLL CURSOR FOR "+captured.SQL, args...); err != nil {
		return fmt.Errorf("history export: declare: %w", mapError(err))
	}
	return nil
}

// fetch reads the cursor's next batch (none at its end), scanned by the
// generated method: fetchFrom hands it the FETCH's rows.
func (c *exportCursor) fetch(ctx context.Context, step time.Duration) ([]HistoryRow, error) {
	ctx, cancel := WithStep(ctx, step)
	defer cancel()
	from := New(mapped{fetchFrom{c}})
	var rows []HistoryRow
	if c.oldest {
		got, err := from.HistoryExportOldest(ctx, HistoryExportOldestParams{})
		if err != nil {
			return nil, fmt.Errorf("history export: fetch: %w", err)
		}
		rows = make([]HistoryRow, len(got))
		for i, r := range got {
			rows[i] = HistoryRow(r)
		}
	} else {
		got, err := from.HistoryExportNewest(ctx, HistoryExportNewestParams{})
		if err != nil {
			return nil, fmt.Errorf("history export: fetch: %w", err)
		}
		rows = make([]HistoryRow, len(got))
		for i, r := range got {
			rows[i] = HistoryRow(r)
		}
	}
	return rows, nil
}

// fetchFrom is a DBTX whose Query runs the cursor's FETCH instead of the
// statement it is given (the cursor's own): the generated method then
// scans the batch as it would the statement's rows.
type fetchFrom struct{ c *exportCursor }

func (f fetchFrom) Query(ctx context.Context, _ string, _ ...any) (pgx.Rows, error) {
	// Described, then run: the cursor names repeat from export to export
	// over different cursors, so the statement is never cached.
	return f.c.tx.Query(ctx, f.c.fetchSQL, pgx.QueryExecModeDescribeExec)
}

func (f fetchFrom) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, errors.New("fetchFrom only fetches")
}

func (f fetchFrom) QueryRow(context.Context, string, ...any) pgx.Row {
	return capturedRow{}
}

// exportMerge is a heap of cursors ordered by their next row, in the
// export's order (order is -1 for newest first).
type exportMerge struct {
	streams []*exportCursor
	order   int
}

func (m *exportMerge) Len() int { return len(m.streams) }
func (m *exportMerge) Less(i, j int) bool {
	a, b := m.streams[i].rows[0].Position(), m.streams[j].rows[0].Position()
	return m.order*comparePositions(a, b) < 0
}
func (m *exportMerge) Swap(i, j int) { m.streams[i], m.streams[j] = m.streams[j], m.streams[i] }
func (m *exportMerge) Push(x any)    { m.streams = append(m.streams, x.(*exportCursor)) }
func (m *exportMerge) Pop() any {
	last := m.streams[len(m.streams)-1]
	m.streams = m.streams[:len(m.streams)-1]
	return last
}
