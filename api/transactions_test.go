package api_test

import (
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cointracker/cointracker/api"
	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
	"github.com/cointracker/cointracker/fixtures"
	"github.com/cointracker/cointracker/sats"
)

// seeded is a server whose development user (user-1) has demo history.
func seeded(t *testing.T) *testServer {
	t.Helper()
	return seededWith(t, func(*api.Options) {})
}

// seededWith is seeded with the server's options changed by edit.
func seededWith(t *testing.T, edit func(*api.Options)) *testServer {
	t.Helper()
	s := newServerOpts(t, dbtest.NewPool(t, dbtest.NewURL(t)), edit)
	o := fixtures.Options{Seed: 3, Users: 4, Addresses: 24, Transactions: 1_500}
	if _, err := fixtures.Seed(ctx, s.store, o, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

// refRow is a history row as plain SQL and Go recompute it, independently
// of the API's queries.
type refRow struct {
	txid        string
	entry       int64
	net         int64
	feeShare    int64
	status      string
	unconfirmed bool
	sortTime    time.Time
	height      int32
	direction   string
	blockHeight *int32
	cents       *int64
}

// reference reads user-1's whole history and orders it newest first by
// the rules of SPEC §4.
func reference(t *testing.T, s *testServer) []refRow {
	t.Helper()
	rows, err := s.store.Pool().Query(ctx, `
		SELECT encode(le.txid, 'hex'), ua.id, le.received_sats - le.sent_sats, le.fee_share_sats, le.status,
		       le.block_height IS NULL, coalesce(le.block_time, le.first_seen), coalesce(le.block_height, 0),
		       le.block_height, p.close_usd_cents
		FROM users u
		JOIN user_addresses ua ON ua.user_id = u.id
		JOIN ledger_entries le ON le.address_id = ua.address_id
		LEFT JOIN prices p ON p.day = (coalesce(le.block_time, le.first_seen) AT TIME ZONE 'UTC')::date
		WHERE u.subject = 'user-1'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []refRow
	perTx := map[string]int{}
	for rows.Next() {
		var r refRow
		if err := rows.Scan(&r.txid, &r.entry, &r.net, &r.feeShare, &r.status, &r.unconfirmed, &r.sortTime, &r.height, &r.blockHeight, &r.cents); err != nil {
			t.Fatal(err)
		}
		perTx[r.txid]++
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for i := range out {
		switch {
		case perTx[out[i].txid] > 1:
			out[i].direction = "self"
		case out[i].net > 0:
			out[i].direction = "incoming"
		default:
			out[i].direction = "outgoing"
		}
	}
	slices.SortFunc(out, func(a, b refRow) int { return -compareRef(a, b) })
	return out
}

func compareRef(a, b refRow) int {
	switch {
	case a.unconfirmed != b.unconfirmed:
		if a.unconfirmed {
			return 1
		}
		return -1
	case !a.sortTime.Equal(b.sortTime):
		return a.sortTime.Compare(b.sortTime)
	case a.height != b.height:
		return int(a.height - b.height)
	case a.txid != b.txid:
		return strings.Compare(a.txid, b.txid)
	}
	return int(a.entry - b.entry)
}

func keyOf(txid string, entry int64) string { return txid + "/" + strconv.FormatInt(entry, 10) }

// pageAll follows next_cursor from path to the end.
func pageAll(t *testing.T, s *testServer, path string) []api.Transaction {
	t.Helper()
	return pageFrom(t, s, path, "")
}

// pageFrom pages through path starting at cursor ("" for the first page).
func pageFrom(t *testing.T, s *testServer, path, cursor string) []api.Transaction {
	t.Helper()
	var all []api.Transaction
	seen := map[string]bool{}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	next := path
	if cursor != "" {
		next = path + sep + "cursor=" + url.QueryEscape(cursor)
	}
	for range 10_000 {
		r := s.get(t, next)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s = %d %s", next, r.status, r.body)
		}
		page := decode[api.TransactionList](t, r)
		for _, it := range page.Items {
			k := keyOf(it.Txid, it.AddressID)
			if seen[k] {
				t.Fatalf("row %s repeated across pages", k)
			}
			seen[k] = true
		}
		all = append(all, page.Items...)
		if page.NextCursor == nil {
			return all
		}
		next = path + sep + "cursor=" + url.QueryEscape(*page.NextCursor)
	}
	t.Fatal("too many pages")
	return nil
}

func sameRows(t *testing.T, what string, got []api.Transaction, want []refRow) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for i := range got {
		if keyOf(got[i].Txid, got[i].AddressID) != keyOf(want[i].txid, want[i].entry) {
			t.Fatalf("%s: row %d is %s, want %s", what, i, keyOf(got[i].Txid, got[i].AddressID), keyOf(want[i].txid, want[i].entry))
		}
		if got[i].NetSats != want[i].net || got[i].FeeShareSats != want[i].feeShare || got[i].Direction != want[i].direction || got[i].Status != want[i].status {
			t.Fatalf("%s: row %d = %+v, want %+v", what, i, got[i], want[i])
		}
	}
}

func filterRef(rows []refRow, keep func(refRow) bool) []refRow {
	var out []refRow
	for _, r := range rows {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

func countable(r refRow) bool { return r.status == "confirmed" || r.status == "pending" }

func TestTransactionHistoryMatchesSQL(t *testing.T) {
	t.Parallel()
	s := seeded(t)
	ref := filterRef(reference(t, s), countable)
	if len(ref) < 400 {
		t.Fatalf("user-1 has only %d rows", len(ref))
	}
	sameRows(t, "limit 7", pageAll(t, s, "/v1/transactions?limit=7"), ref)
	sameRows(t, "limit 500", pageAll(t, s, "/v1/transactions?limit=500"), ref)

	reversed := slices.Clone(ref)
	slices.Reverse(reversed)
	sameRows(t, "oldest", pageAll(t, s, "/v1/transactions?sort=oldest&limit=33"), reversed)

	// Spot-check the item's derived fields.
	first := decode[api.TransactionList](t, s.get(t, "/v1/transactions?sort=oldest&limit=1")).Items[0]
	tip := fixtures.EndHeight()
	if first.BlockHeight == nil || first.Confirmations != tip-*first.BlockHeight+1 {
		t.Fatalf("confirmations %d for height %v at tip %d", first.Confirmations, first.BlockHeight, tip)
	}
	if first.NetBTC != sats.FormatBTC(first.NetSats) || first.ValueUSD == nil || reversed[0].cents == nil ||
		*first.ValueUSD != sats.FormatUSD(first.NetSats, *reversed[0].cents) {
		t.Fatalf("BTC/USD values of %+v", first)
	}
	// A day without a price gives a null value_usd, never "0.00".
	if _, err := s.store.Pool().Exec(ctx, "DELETE FROM prices WHERE day = ($1::timestamptz AT TIME ZONE 'UTC')::date", *first.BlockTime); err != nil {
		t.Fatal(err)
	}
	if again := decode[api.TransactionList](t, s.get(t, "/v1/transactions?sort=oldest&limit=1")).Items[0]; again.ValueUSD != nil {
		t.Fatalf("value_usd %q on a day without a price", *again.ValueUSD)
	}
	pending := filterRef(ref, func(r refRow) bool { return r.unconfirmed })
	if len(pending) == 0 {
		t.Fatal("no pending rows to check")
	}
	top := decode[api.TransactionList](t, s.get(t, "/v1/transactions?limit=1")).Items[0]
	if top.Status != "pending" || top.BlockHeight != nil || top.BlockTime != nil || top.Confirmations != 0 {
		t.Fatalf("newest row is not a pending one: %+v", top)
	}
}

func TestTransactionFilters(t *testing.T) {
	t.Parallel()
	s := seeded(t)
	all := reference(t, s)
	ref := filterRef(all, countable)
	from := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)
	entry := ref[len(ref)/2].entry
	txid := ref[10].txid
	cases := []struct {
		query string
		keep  func(refRow) bool
	}{
		{"direction=incoming", func(r refRow) bool { return r.direction == "incoming" }},
		{"direction=outgoing", func(r refRow) bool { return r.direction == "outgoing" }},
		{"direction=self", func(r refRow) bool { return r.direction == "self" }},
		{"status=pending", func(r refRow) bool { return r.status == "pending" }},
		{"from=2019-01-01T00:00:00Z", func(r refRow) bool { return !r.sortTime.Before(from) }},
		{"to=2023-06-01T00:00:00Z", func(r refRow) bool { return r.sortTime.Before(to) }},
		{"from=2019-01-01T00:00:00Z&to=2023-06-01T00:00:00Z&direction=outgoing", func(r refRow) bool {
			return !r.sortTime.Before(from) && r.sortTime.Before(to) && r.direction == "outgoing"
		}},
		{"min_amount=1000000", func(r refRow) bool { return abs(r.net) >= 1_000_000 }},
		{"max_amount=50000", func(r refRow) bool { return abs(r.net) <= 50_000 }},
		{"min_amount=10000&max_amount=20000000&direction=incoming", func(r refRow) bool {
			return abs(r.net) >= 10_000 && abs(r.net) <= 20_000_000 && r.direction == "incoming"
		}},
		{"address_id=" + strconv.FormatInt(entry, 10), func(r refRow) bool { return r.entry == entry }},
		{"txid=" + txid, func(r refRow) bool { return r.txid == txid }},
		{"txid=" + strings.ToUpper(txid) + "&direction=self", func(r refRow) bool { return r.txid == txid && r.direction == "self" }},
	}
	for _, c := range cases {
		want := filterRef(ref, c.keep)
		if len(want) == 0 && !strings.Contains(c.query, "txid") {
			t.Fatalf("%s matches nothing in the fixtures; the case proves nothing", c.query)
		}
		for _, sort := range []string{"newest", "oldest"} {
			w := want
			if sort == "oldest" {
				w = slices.Clone(want)
				slices.Reverse(w)
			}
			sameRows(t, c.query+" "+sort, pageAll(t, s, "/v1/transactions?limit=9&sort="+sort+"&"+c.query), w)
		}
	}
	// Replaced rows appear only when asked for.
	if _, err := s.store.Pool().Exec(ctx, `UPDATE transactions SET status = 'replaced', block_height = NULL,
		block_hash = NULL, block_time = NULL WHERE txid = decode($1, 'hex')`, ref[3].txid); err != nil {
		t.Fatal(err)
	}
	got := pageAll(t, s, "/v1/transactions?limit=50&status=replaced")
	if len(got) == 0 || got[0].Txid != ref[3].txid || got[0].Status != "replaced" {
		t.Fatalf("status=replaced = %+v", got)
	}
	for _, it := range pageAll(t, s, "/v1/transactions?limit=500") {
		if it.Txid == ref[3].txid {
			t.Fatal("a replaced transaction is listed without being asked for")
		}
	}
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func TestPagingWhileTransactionsArrive(t *testing.T) {
	t.Parallel()
	s := seeded(t)
	before := filterRef(reference(t, s), countable)
	r := s.get(t, "/v1/transactions?limit=5")
	page := decode[api.TransactionList](t, r)

	// A new pending transaction (the newest row) and a confirmed one deep
	// in the past arrive between the pages.
	addr := page.Items[0].AddressID
	var addressID int64
	if err := s.store.Pool().QueryRow(ctx, "SELECT address_id FROM user_addresses WHERE id = $1", addr).Scan(&addressID); err != nil {
		t.Fatal(err)
	}
	for i, status := range []string{"pending", "confirmed"} {
		txid := bytes.Repeat([]byte{byte(0xa0 + i)}, 32)
		height, hash, when := int32(-1), []byte{}, time.Now()
		if status == "confirmed" {
			height, hash, when = 700_000, txid, time.Date(2021, 9, 1, 0, 0, 0, 0, time.UTC)
		}
		rows, err := s.store.TransactionsUpsert(ctx, db.TransactionsUpsertParams{
			Networks: []string{"mainnet"}, Txids: [][]byte{txid}, Statuses: []string{status},
			BlockHeights: []int32{height}, BlockHashes: [][]byte{hash}, BlockTimes: []time.Time{when},
			FeesSats: []int64{500}, Vsizes: []int32{140}, FirstSeens: []time.Time{when},
		})
		if err != nil {
			t.Fatal(err)
		}
		err = s.store.LedgerEntriesUpsert(ctx, db.LedgerEntriesUpsertParams{
			AddressIds: []int64{addressID}, TransactionIds: []int64{rows[0].ID}, ReceivedSats: []int64{12_345}, SentSats: []int64{0},
			FeeShareSats: []int64{0},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	rest := pageFrom(t, s, "/v1/transactions?limit=5", *page.NextCursor)
	got := append(page.Items, rest...)
	// The pending newcomer sorts before the cursor: not seen. The old one
	// sorts after it: seen once, in its place. Nothing else moves.
	wantKeys := []string{}
	for _, r := range before {
		wantKeys = append(wantKeys, keyOf(r.txid, r.entry))
	}
	oldNew := keyOf(strings.Repeat("a1", 32), addr)
	gotKeys := []string{}
	for _, it := range got {
		if k := keyOf(it.Txid, it.AddressID); k != oldNew {
			gotKeys = append(gotKeys, k)
		}
	}
	if !slices.Equal(gotKeys, wantKeys) {
		t.Fatalf("paging while rows arrive skipped or repeated rows (%d vs %d)", len(gotKeys), len(wantKeys))
	}
	if len(got) != len(before)+1 {
		t.Fatalf("the older newcomer was not listed exactly once (%d rows, had %d)", len(got), len(before))
	}
}

func TestCursorsAreBoundAndSigned(t *testing.T) {
	t.Parallel()
	s := seeded(t)
	page := decode[api.TransactionList](t, s.get(t, "/v1/transactions?limit=3&direction=incoming"))
	cur := url.QueryEscape(*page.NextCursor)
	for _, path := range []string{
		"/v1/transactions?limit=3&cursor=" + cur,                                 // other filters
		"/v1/transactions?limit=3&direction=outgoing&cursor=" + cur,              // other filters
		"/v1/transactions?limit=3&direction=incoming&sort=oldest&cursor=" + cur,  // other order
		"/v1/transactions?limit=3&direction=incoming&cursor=" + cur[:len(cur)-2], // tampered
		"/v1/transactions?limit=3&direction=incoming&cursor=x" + cur[1:],         // tampered
		"/v1/addresses?cursor=" + cur,                                            // another list
	} {
		p := problem(t, s.get(t, path), http.StatusBadRequest)
		if p.Errors[0].Field != "cursor" {
			t.Errorf("%s: %+v", path, p.Errors)
		}
	}
	// The same filters with another page size continue fine.
	if r := s.get(t, "/v1/transactions?limit=10&direction=incoming&cursor="+cur); r.status != http.StatusOK {
		t.Fatalf("continuing with another limit = %d", r.status)
	}
}

func TestAddressTransactions(t *testing.T) {
	t.Parallel()
	s := seeded(t)
	ref := filterRef(reference(t, s), countable)
	entry := ref[0].entry
	path := "/v1/addresses/" + strconv.FormatInt(entry, 10) + "/transactions?limit=11"
	sameRows(t, "per address", pageAll(t, s, path), filterRef(ref, func(r refRow) bool { return r.entry == entry }))

	var others int64
	if err := s.store.Pool().QueryRow(ctx, `SELECT ua.id FROM user_addresses ua JOIN users u ON u.id = ua.user_id
		WHERE u.subject = 'user-2' LIMIT 1`).Scan(&others); err != nil {
		t.Fatal(err)
	}
	problem(t, s.get(t, "/v1/addresses/"+strconv.FormatInt(others, 10)+"/transactions"), http.StatusNotFound)
	problem(t, s.get(t, "/v1/addresses/999999/transactions"), http.StatusNotFound)
	problem(t, s.get(t, "/v1/addresses/"+strconv.FormatInt(entry, 10)+"/transactions?address_id=1"), http.StatusBadRequest)
	// Another user's entry as a filter yields nothing, not their rows.
	if got := pageAll(t, s, "/v1/transactions?address_id="+strconv.FormatInt(others, 10)); len(got) != 0 {
		t.Fatalf("address_id of another user's entry listed %d rows", len(got))
	}
}

func TestTransactionQueryErrors(t *testing.T) {
	t.Parallel()
	s := migratedServer(t)
	for query, field := range map[string]string{
		"direction=sideways": "direction",
		"status=lost":        "status",
		"from=yesterday":     "from",
		"to=2020-01-01":      "to",
		"from=2021-01-01T00:00:00Z&to=2020-01-01T00:00:00Z": "to",
		"min_amount=-1":                   "min_amount",
		"min_amount=5&max_amount=4":       "max_amount",
		"max_amount=1e9":                  "max_amount",
		"txid=abc":                        "txid",
		"txid=" + strings.Repeat("g", 64): "txid",
		"sort=random":                     "sort",
		"limit=0":                         "limit",
		"limit=501":                       "limit",
		"address_id=x":                    "address_id",
		"cursor=nope":                     "cursor",
		"page=2":                          "page",
	} {
		p := problem(t, s.get(t, "/v1/transactions?"+query), http.StatusBadRequest)
		found := false
		for _, e := range p.Errors {
			found = found || e.Field == field
		}
		if !found {
			t.Errorf("?%s: errors %+v, want one naming %s", query, p.Errors, field)
		}
	}
}

func TestExportCSV(t *testing.T) {
	t.Parallel()
	s := seeded(t)
	for _, query := range []string{"", "?direction=outgoing&sort=oldest", "?from=2020-01-01T00:00:00Z&min_amount=100000",
		"?status=confirmed,pending,replaced,dropped", "?direction=self&sort=oldest", "?to=2000-01-01T00:00:00Z"} {
		r := s.get(t, "/v1/transactions/export.csv"+query)
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
			t.Fatalf("export%s = %d %s", query, r.status, r.header.Get("Content-Type"))
		}
		records, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
		if err != nil {
			t.Fatalf("export%s is not valid CSV: %v", query, err)
		}
		if records[0][0] != "txid" || len(records[0]) != 18 {
			t.Fatalf("header = %v", records[0])
		}
		sep := "?"
		if query != "" {
			sep = "&"
		}
		paged := pageAll(t, s, "/v1/transactions"+query+sep+"limit=100")
		if len(records)-1 != len(paged) {
			t.Fatalf("export%s has %d rows, the list %d", query, len(records)-1, len(paged))
		}
		for i, it := range paged {
			rec, want := records[i+1], csvOfItem(t, records[0], it)
			if !slices.Equal(rec, want) {
				t.Fatalf("export%s row %d = %v, the list's item as CSV %v", query, i, rec, want)
			}
			if _, err := hex.DecodeString(rec[0]); err != nil {
				t.Fatal(err)
			}
		}
	}
	problem(t, s.get(t, "/v1/transactions/export.csv?limit=5"), http.StatusBadRequest)
}

// csvOfItem is a list item as the export's record under header: each
// column is the JSON member of that name, null as an empty field, times
// to the second.
func csvOfItem(t *testing.T, header []string, it api.Transaction) []string {
	t.Helper()
	b, err := json.Marshal(it)
	if err != nil {
		t.Fatal(err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(b, &members); err != nil {
		t.Fatal(err)
	}
	rec := make([]string, len(header))
	for i, name := range header {
		raw, ok := members[name]
		switch {
		case !ok:
			t.Fatalf("the list item has no %q", name)
		case string(raw) == "null":
		case raw[0] == '"':
			if err := json.Unmarshal(raw, &rec[i]); err != nil {
				t.Fatal(err)
			}
			if at, err := time.Parse(time.RFC3339Nano, rec[i]); err == nil {
				rec[i] = at.UTC().Format(time.RFC3339) // the export's times are to the second
			}
		default:
			rec[i] = string(raw)
		}
	}
	return rec
}

// TestExportLimits exports more than EXPORT_MAX_ROWS allows, as a tenant
// draining the database would: the download breaks off after exactly the
// cap (the client sees a broken download, never a file that looks whole),
// while an export within the cap is whole.
func TestExportLimits(t *testing.T) {
	t.Parallel()
	s := seeded(t)
	all, err := csv.NewReader(bytes.NewReader(s.get(t, "/v1/transactions/export.csv").body)).ReadAll()
	if err != nil || len(all) < 400 {
		t.Fatalf("the whole export: %d records, %v", len(all), err)
	}
	capped := newServerOpts(t, s.store.Pool(), func(o *api.Options) { o.Quotas.ExportMaxRows = 300 })
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, capped.URL+"/v1/transactions/export.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+capped.token)
	res, err := capped.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	body, err := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || err == nil {
		t.Fatalf("an export over the cap = %d, read error %v; want 200 and a broken download", res.StatusCode, err)
	}
	records, _ := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if len(records) != 1+300 {
		t.Fatalf("the broken export held %d records, want the header and 300 rows", len(records))
	}
	// Out of time before its first row, an export still sends that row,
	// then breaks off: never an error response after a 200's first byte.
	hasty := newServerOpts(t, s.store.Pool(), func(o *api.Options) { o.Quotas.ExportMaxDuration = time.Nanosecond })
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, hasty.URL+"/v1/transactions/export.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+hasty.token)
	res, err = hasty.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	body, err = io.ReadAll(res.Body)
	if records, _ := csv.NewReader(bytes.NewReader(body)).ReadAll(); res.StatusCode != http.StatusOK || err == nil || len(records) != 2 {
		t.Fatalf("an export out of time = %d with %d records, read error %v; want 200, the header and one row, and a broken download",
			res.StatusCode, len(records), err)
	}
	within := newServerOpts(t, s.store.Pool(), func(o *api.Options) { o.Quotas.ExportMaxRows = len(all) - 1 })
	if r := within.get(t, "/v1/transactions/export.csv"); r.status != http.StatusOK || bytes.Count(r.body, []byte("\n")) != len(all) {
		t.Fatalf("an export exactly at the cap = %d with %d lines, want all %d", r.status, bytes.Count(r.body, []byte("\n")), len(all))
	}
}
