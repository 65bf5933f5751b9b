package db_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
)

var ctx = context.Background()

// txid makes a distinct, deterministic 32-byte txid from a name.
func txid(name string) []byte {
	h := sha256.Sum256([]byte(name))
	return h[:]
}

func mustUser(t *testing.T, s *db.Store, subject string) db.UserUpsertRow {
	t.Helper()
	u, err := s.UpsertUser(ctx, db.UserUpsertParams{Issuer: "https://issuer.test", Subject: subject})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustAddress(t *testing.T, s *db.Store, addr, scriptType string) db.Address {
	t.Helper()
	rows, err := s.AddressesUpsert(ctx, db.AddressesUpsertParams{
		Networks: []string{"mainnet"}, Addresses: []string{addr}, ScriptTypes: []string{scriptType}})
	if err != nil || len(rows) != 1 {
		t.Fatalf("address %s: %v, %v", addr, rows, err)
	}
	return db.Address{ID: rows[0].ID, Network: "mainnet", Address: addr, ScriptType: scriptType}
}

// chainTx describes a transaction and its effect on one address.
type chainTx struct {
	name     string
	height   int32 // -1 while unconfirmed
	time     time.Time
	status   string
	received int64
	sent     int64
}

// writeTxs upserts transactions and their ledger entries for one address,
// the way the fixtures and the sync do, and returns the transaction ids.
func writeTxs(t *testing.T, s *db.Store, addressID int64, txs []chainTx) []int64 {
	t.Helper()
	var p db.TransactionsUpsertParams
	for _, tx := range txs {
		p.Networks = append(p.Networks, "mainnet")
		p.Txids = append(p.Txids, txid(tx.name))
		p.Statuses = append(p.Statuses, tx.status)
		p.BlockHeights = append(p.BlockHeights, tx.height)
		hash := []byte{}
		if tx.height >= 0 {
			hash = txid("block " + tx.name)
		}
		p.BlockHashes = append(p.BlockHashes, hash)
		p.BlockTimes = append(p.BlockTimes, tx.time)
		p.FeesSats = append(p.FeesSats, 1000)
		p.Vsizes = append(p.Vsizes, 141)
		p.FirstSeens = append(p.FirstSeens, tx.time.Add(-5*time.Minute))
	}
	rows, err := s.TransactionsUpsert(ctx, p)
	if err != nil {
		t.Fatalf("upsert transactions: %v", err)
	}
	if len(rows) != len(txs) {
		t.Fatalf("upsert returned %d ids for %d transactions", len(rows), len(txs))
	}
	ids := make([]int64, len(txs))
	for i, tx := range txs {
		idx := slices.IndexFunc(rows, func(r db.TransactionsUpsertRow) bool { return bytes.Equal(r.Txid, txid(tx.name)) })
		if idx < 0 {
			t.Fatalf("no id returned for %s", tx.name)
		}
		ids[i] = rows[idx].ID
	}
	var lp db.LedgerEntriesUpsertParams
	for i, tx := range txs {
		lp.AddressIds = append(lp.AddressIds, addressID)
		lp.TransactionIds = append(lp.TransactionIds, ids[i])
		lp.ReceivedSats = append(lp.ReceivedSats, tx.received)
		lp.SentSats = append(lp.SentSats, tx.sent)
		lp.FeeShareSats = append(lp.FeeShareSats, tx.sent/100)
	}
	if err := s.LedgerEntriesUpsert(ctx, lp); err != nil {
		t.Fatalf("upsert ledger: %v", err)
	}
	return ids
}

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func TestUserUpsert(t *testing.T) {
	t.Parallel()
	s := dbtest.NewStore(t)
	u := mustUser(t, s, "alice")
	email := "alice@example.com"
	u2, err := s.UserUpsert(ctx, db.UserUpsertParams{Issuer: u.Issuer, Subject: "alice", Email: &email})
	if err != nil {
		t.Fatal(err)
	}
	if u2.ID != u.ID || u2.Email == nil || *u2.Email != email {
		t.Fatalf("second upsert = %+v, want same id with email", u2)
	}
	// A token without the email claim keeps the stored email.
	u3, err := s.UserUpsert(ctx, db.UserUpsertParams{Issuer: u.Issuer, Subject: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if u3.Email == nil || *u3.Email != email {
		t.Fatalf("email lost on a token without it: %+v", u3)
	}
	got, err := s.UserGetByID(ctx, u.ID)
	if err != nil || got.Subject != "alice" {
		t.Fatalf("UserGetByID = %+v, %v", got, err)
	}
	if _, err := s.UserGetByID(ctx, u.ID+1000); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("missing user: %v, want ErrNotFound", err)
	}
	// Same subject at another issuer is another user.
	other, err := s.UserUpsert(ctx, db.UserUpsertParams{Issuer: "https://other.test", Subject: "alice"})
	if err != nil || other.ID == u.ID {
		t.Fatalf("other issuer: %+v, %v", other, err)
	}
}

func TestAddressUpsertIsShared(t *testing.T) {
	t.Parallel()
	s := dbtest.NewStore(t)
	a := mustAddress(t, s, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "p2wpkh")
	b := mustAddress(t, s, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "p2wpkh")
	if a.ID != b.ID {
		t.Fatalf("same address got ids %d and %d", a.ID, b.ID)
	}
	rows, err := s.AddressesUpsert(ctx, db.AddressesUpsertParams{
		Networks:    []string{"mainnet", "mainnet"},
		Addresses:   []string{"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"},
		ScriptTypes: []string{"p2wpkh", "p2pkh"},
	})
	if err != nil || len(rows) != 2 {
		t.Fatalf("bulk upsert = %v, %v", rows, err)
	}
	for _, r := range rows {
		if r.Address == a.Address && r.ID != a.ID {
			t.Fatalf("bulk upsert gave the existing address a new id")
		}
	}
	_, _, err = s.Track(ctx, []db.Watch{{Network: "mainnet", Address: "bc1qshort", ScriptType: "p2wpkh"}})
	if !errors.Is(err, db.ErrInvalid) {
		t.Fatalf("too-short address: %v, want ErrInvalid", err)
	}
	_, _, err = s.Track(ctx, []db.Watch{{Network: "moonnet", Address: a.Address, ScriptType: "p2wpkh"}})
	if !errors.Is(err, db.ErrInvalid) {
		t.Fatalf("unknown network: %v, want ErrInvalid", err)
	}
}

func TestWatchList(t *testing.T) {
	t.Parallel()
	s := dbtest.NewStore(t)
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	a1 := mustAddress(t, s, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "p2wpkh")
	a2 := mustAddress(t, s, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "p2pkh")
	label := "savings"
	var ids []int64
	for _, a := range []db.Address{a1, a2} {
		addressID, id := dbtest.Track(t, s, db.Watch{UserID: alice.ID, Network: a.Network, Address: a.Address,
			ScriptType: a.ScriptType, Label: &label})
		if addressID != a.ID {
			t.Fatalf("tracking %s gave address id %d, want the shared row's %d", a.Address, addressID, a.ID)
		}
		ids = append(ids, id)
	}
	// Bob tracks a1 too: the chain data is shared, the entries are not.
	dbtest.Track(t, s, db.Watch{UserID: bob.ID, Network: a1.Network, Address: a1.Address, ScriptType: a1.ScriptType})
	// Alice tracking a1 again, unlabelled, creates nothing and keeps her label.
	again, created, err := s.Track(ctx, []db.Watch{{UserID: alice.ID, Network: a1.Network, Address: a1.Address,
		ScriptType: a1.ScriptType}})
	if err != nil || len(created) != 0 || again[0] != a1.ID {
		t.Fatalf("tracking twice: address %v, created %+v, %v; want a1, nothing created", again, created, err)
	}

	writeTxs(t, s, a1.ID, []chainTx{
		{name: "in", height: 800_000, time: t0, status: "confirmed", received: 150_000},
		{name: "out", height: 800_010, time: t0.Add(time.Hour), status: "confirmed", sent: 50_000},
		{name: "mempool", height: -1, time: t0.Add(2 * time.Hour), status: "pending", received: 7_000},
		{name: "rbf", height: -1, time: t0.Add(3 * time.Hour), status: "replaced", received: 9_999},
	})
	// Until a sync of a1 finishes after the entries exist, they show nothing
	// of its history (migration 00016); then they show all of it.
	hidden, err := s.UserAddressList(ctx, db.UserAddressListParams{UserID: alice.ID, AfterID: 0, MaxRows: 1})
	if err != nil || len(hidden) != 1 || hidden[0].TxCount != 0 || hidden[0].ConfirmedSats != 0 || hidden[0].SyncStatus != "new" {
		t.Fatalf("before a sync: %+v, %v; want no balance and status new", hidden, err)
	}
	if err := s.SyncStatesMarkDone(ctx, db.SyncStatesMarkDoneParams{AddressIds: []int64{a1.ID}, Height: 800_010, FinishedAt: t0}); err != nil {
		t.Fatal(err)
	}

	page, err := s.UserAddressList(ctx, db.UserAddressListParams{UserID: alice.ID, AfterID: 0, MaxRows: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 1 || page[0].ID != ids[0] {
		t.Fatalf("first page = %+v, want entry %d", page, ids[0])
	}
	r := page[0]
	if r.ConfirmedSats != 100_000 || r.UnconfirmedSats != 7_000 || r.TxCount != 3 {
		t.Fatalf("balance = confirmed %d, unconfirmed %d, count %d; want 100000, 7000, 3 (replaced excluded)",
			r.ConfirmedSats, r.UnconfirmedSats, r.TxCount)
	}
	if r.SyncStatus != "done" || *r.Label != label {
		t.Fatalf("row = %+v", r)
	}
	page, err = s.UserAddressList(ctx, db.UserAddressListParams{UserID: alice.ID, AfterID: ids[0], MaxRows: 10})
	if err != nil || len(page) != 1 || page[0].ID != ids[1] || page[0].TxCount != 0 {
		t.Fatalf("second page = %+v, %v", page, err)
	}
	bobs, err := s.UserAddressList(ctx, db.UserAddressListParams{UserID: bob.ID, AfterID: 0, MaxRows: 10})
	if err != nil || len(bobs) != 1 || bobs[0].Address != a1.Address || bobs[0].Label != nil {
		t.Fatalf("bob's list = %+v, %v", bobs, err)
	}
}

func TestTransactionLifecycleFollowsToLedger(t *testing.T) {
	t.Parallel()
	s := dbtest.NewStore(t)
	a := mustAddress(t, s, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "p2wpkh")
	pending := chainTx{name: "tx", height: -1, time: t0, status: "pending", received: 5_000}
	ids := writeTxs(t, s, a.ID, []chainTx{pending})

	// Re-running the same upsert returns the same id and writes nothing.
	var xminBefore, xminAfter uint32
	if err := s.Pool().QueryRow(ctx, "SELECT xmin::text::bigint FROM transactions WHERE id = $1", ids[0]).Scan(&xminBefore); err != nil {
		t.Fatal(err)
	}
	if again := writeTxs(t, s, a.ID, []chainTx{pending}); again[0] != ids[0] {
		t.Fatalf("re-upsert gave id %d, want %d", again[0], ids[0])
	}
	if err := s.Pool().QueryRow(ctx, "SELECT xmin::text::bigint FROM transactions WHERE id = $1", ids[0]).Scan(&xminAfter); err != nil {
		t.Fatal(err)
	}
	if xminAfter != xminBefore {
		t.Fatal("re-upserting an unchanged transaction rewrote its row")
	}

	// Confirmation: the trigger carries block and status to the ledger.
	confirmed := pending
	confirmed.height, confirmed.status = 800_123, "confirmed"
	writeTxs(t, s, a.ID, []chainTx{confirmed})
	var status string
	var height *int32
	err := s.Pool().QueryRow(ctx, "SELECT status, block_height FROM transactions WHERE network = 'mainnet' AND txid = $1",
		txid("tx")).Scan(&status, &height)
	if err != nil || status != "confirmed" || height == nil || *height != 800_123 {
		t.Fatalf("after confirmation: %s at %v, %v", status, height, err)
	}
	rows := ledger(t, s, a.ID)
	if len(rows) != 1 || rows[0].Status != "confirmed" || rows[0].Unconfirmed || *rows[0].BlockHeight != 800_123 {
		t.Fatalf("ledger after confirmation = %+v", rows)
	}

	// An unconfirmed copy (a backend a block behind lists it so) does not
	// send it back to pending: the upsert leaves the confirmed row alone.
	if again := writeTxs(t, s, a.ID, []chainTx{pending}); again[0] != ids[0] {
		t.Fatalf("re-upsert as pending gave id %d, want %d", again[0], ids[0])
	}
	if rows = ledger(t, s, a.ID); rows[0].Status != "confirmed" || *rows[0].BlockHeight != 800_123 {
		t.Fatalf("ledger after an unconfirmed copy = %+v", rows[0])
	}
	// A reorg, found by the tip check, sends it back to pending.
	if _, err := s.TransactionsUnconfirm(ctx, db.TransactionsUnconfirmParams{Status: "pending", Ids: ids}); err != nil {
		t.Fatal(err)
	}
	rows = ledger(t, s, a.ID)
	if rows[0].Status != "pending" || !rows[0].Unconfirmed || rows[0].BlockHeight != nil {
		t.Fatalf("ledger after reorg = %+v", rows[0])
	}

	// The schema refuses a confirmed row without a block.
	_, err = s.TransactionsUpsert(ctx, db.TransactionsUpsertParams{
		Networks: []string{"mainnet"}, Txids: [][]byte{txid("bad")}, Statuses: []string{"confirmed"},
		BlockHeights: []int32{-1}, BlockHashes: [][]byte{{}}, BlockTimes: []time.Time{t0},
		FeesSats: []int64{1}, Vsizes: []int32{1}, FirstSeens: []time.Time{t0},
	})
	if !errors.Is(err, db.ErrInvalid) {
		t.Fatalf("confirmed without block: %v, want ErrInvalid", err)
	}
	// And a negative amount.
	err = s.LedgerEntriesUpsert(ctx, db.LedgerEntriesUpsertParams{
		AddressIds: []int64{a.ID}, TransactionIds: []int64{ids[0]}, ReceivedSats: []int64{-1}, SentSats: []int64{0},
		FeeShareSats: []int64{0},
	})
	if !errors.Is(err, db.ErrInvalid) {
		t.Fatalf("negative amount: %v, want ErrInvalid", err)
	}
	// And a fee share larger than what the address's inputs brought in.
	err = s.LedgerEntriesUpsert(ctx, db.LedgerEntriesUpsertParams{
		AddressIds: []int64{a.ID}, TransactionIds: []int64{ids[0]}, ReceivedSats: []int64{0}, SentSats: []int64{500},
		FeeShareSats: []int64{501},
	})
	if !errors.Is(err, db.ErrInvalid) || !strings.Contains(err.Error(), "ledger_entries_fee_share_check") {
		t.Fatalf("fee share above sent: %v, want ErrInvalid from ledger_entries_fee_share_check", err)
	}
}

// ledgerRow is the part of a ledger entry the lifecycle test reads.
type ledgerRow struct {
	Status      string
	Unconfirmed bool
	BlockHeight *int32
}

// ledger reads an address's ledger entries straight from the table.
func ledger(t *testing.T, s *db.Store, addressID int64) []ledgerRow {
	t.Helper()
	rows, err := s.Pool().Query(ctx, `SELECT status, unconfirmed, block_height FROM ledger_entries
		WHERE address_id = $1 ORDER BY transaction_id`, addressID)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ledgerRow])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSyncStateTipsPricesXpubs(t *testing.T) {
	t.Parallel()
	s := dbtest.NewStore(t)
	a := mustAddress(t, s, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "p2wpkh")
	for range 2 {
		if err := s.SyncStatesEnsure(ctx, []int64{a.ID}); err != nil {
			t.Fatal(err)
		}
	}
	var status string
	var attempts int32
	err := s.Pool().QueryRow(ctx, "SELECT status, attempts FROM sync_states WHERE address_id = $1", a.ID).Scan(&status, &attempts)
	if err != nil || status != "new" || attempts != 0 {
		t.Fatalf("sync state = %s, %d attempts, %v", status, attempts, err)
	}

	for _, h := range []int32{870_000, 870_001} {
		if err := s.ChainTipUpsert(ctx, db.ChainTipUpsertParams{Network: "mainnet", Height: h, BlockHash: txid("tip")}); err != nil {
			t.Fatal(err)
		}
	}
	var height int32
	if err := s.Pool().QueryRow(ctx, "SELECT height FROM chain_tips WHERE network = 'mainnet'").Scan(&height); err != nil || height != 870_001 {
		t.Fatalf("tip = %d, %v", height, err)
	}

	days := []time.Time{t0.Truncate(24 * time.Hour), t0.Truncate(24*time.Hour).AddDate(0, 0, 1)}
	for range 2 {
		if err := s.PricesUpsert(ctx, db.PricesUpsertParams{Days: days, CloseUsdCents: []int64{6_200_000, 6_350_012}}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.PriceLatest(ctx)
	if err != nil || !p.Day.Equal(days[1]) || p.CloseUsdCents != 6_350_012 {
		t.Fatalf("latest price = %+v, %v", p, err)
	}

	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	const zpub = "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"
	x, err := s.XpubCreate(ctx, db.XpubCreateParams{UserID: alice.ID, Network: "mainnet", Xpub: zpub, Purpose: 84})
	if err != nil {
		t.Fatal(err)
	}
	b := mustAddress(t, s, "bc1q9u6m6flqvyv5cpx8jedr6tq29zx3wuyyy7p0g0", "p2wpkh")
	for range 2 {
		err := s.XpubAddressesUpsert(ctx, db.XpubAddressesUpsertParams{
			XpubIds: []int64{x.ID, x.ID}, Chains: []string{"receive", "change"}, Indexes: []int32{0, 0}, AddressIds: []int64{a.ID, b.ID},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	derived, err := s.XpubAddressList(ctx, db.XpubAddressListParams{XpubIds: []int64{x.ID}, UserID: alice.ID})
	if err != nil || len(derived) != 2 || derived[0].Chain != "receive" || derived[1].Chain != "change" {
		t.Fatalf("derived = %+v, %v", derived, err)
	}
	if others, err := s.XpubAddressList(ctx, db.XpubAddressListParams{XpubIds: []int64{x.ID}, UserID: bob.ID}); err != nil || len(others) != 0 {
		t.Fatalf("bob sees alice's xpub addresses: %+v, %v", others, err)
	}
	_, err = s.XpubCreate(ctx, db.XpubCreateParams{UserID: alice.ID, Network: "mainnet", Xpub: zpub, Purpose: 84})
	if !errors.Is(err, db.ErrConflict) {
		t.Fatalf("same xpub twice: %v, want ErrConflict", err)
	}
}

func TestExecTx(t *testing.T) {
	t.Parallel()
	s := dbtest.NewStore(t)
	boom := errors.New("boom")
	err := s.ExecTx(ctx, func(q *db.Queries) error {
		if _, err := q.UserUpsert(ctx, db.UserUpsertParams{Issuer: "https://issuer.test", Subject: "rolled-back"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("ExecTx = %v, want boom", err)
	}
	var n int
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil || n != 0 {
		t.Fatalf("users after rollback = %d, %v", n, err)
	}
	err = s.ExecTx(ctx, func(q *db.Queries) error {
		_, err := q.UserUpsert(ctx, db.UserUpsertParams{Issuer: "https://issuer.test", Subject: "kept"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil || n != 1 {
		t.Fatalf("users after commit = %d, %v", n, err)
	}
}

func TestStatementTimeout(t *testing.T) {
	t.Parallel()
	pool, err := db.Connect(ctx, dbtest.NewURL(t), db.PoolOptions{StatementTimeout: 100 * time.Millisecond, ApplicationName: "timeout-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// 57014 is query_canceled: the server stopped it at the timeout.
	_, err = pool.Exec(ctx, "SELECT pg_sleep(5)")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57014" {
		t.Fatalf("a 5 s statement under a 100 ms timeout: %v", err)
	}
}

// TestTrackLabels checks that Track keeps the difference between an empty
// label and none, as POST /v1/addresses answers it.
func TestTrackLabels(t *testing.T) {
	t.Parallel()
	s := dbtest.NewStore(t)
	u := mustUser(t, s, "labeller")
	empty := ""
	for _, tc := range []struct {
		address, scriptType string
		label               *string
	}{{"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "p2wpkh", &empty}, {"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "p2pkh", nil}} {
		_, id := dbtest.Track(t, s, db.Watch{UserID: u.ID, Network: "mainnet", Address: tc.address, ScriptType: tc.scriptType, Label: tc.label})
		row, err := s.UserAddressGet(ctx, db.UserAddressGetParams{UserID: u.ID, ID: id})
		if err != nil {
			t.Fatal(err)
		}
		if (row.Label == nil) != (tc.label == nil) || (row.Label != nil && *row.Label != *tc.label) {
			t.Errorf("%s: label %v, want %v", tc.address, row.Label, tc.label)
		}
	}
}

// TestSweepOrder checks the periodic sweep's order: a partial history
// first, then one never synced (its first sync lost), then a complete
// one, however stale, so a tenant's backlog of new addresses does not go
// ahead of everyone's partial and stale re-syncs.
func TestSweepOrder(t *testing.T) {
	t.Parallel()
	s := dbtest.NewStore(t)
	u := mustUser(t, s, "sweeper")
	var ids []int64
	for _, addr := range []string{"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"} {
		id, _ := dbtest.Track(t, s, db.Watch{UserID: u.ID, Network: "mainnet", Address: addr, ScriptType: "p2wpkh"})
		ids = append(ids, id)
	}
	never, partial, complete := ids[0], ids[1], ids[2]
	if _, err := s.Pool().Exec(ctx, `UPDATE sync_states SET status = 'partial', history_complete = false,
		finished_at = now() - interval '1 hour' WHERE address_id = $1`, partial); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE sync_states SET status = 'done', history_complete = true,
		finished_at = now() - interval '1 year' WHERE address_id = $1`, complete); err != nil {
		t.Fatal(err)
	}
	got, err := s.SyncSweepCandidates(ctx, db.SyncSweepCandidatesParams{Before: time.Now(), MaxRows: 10})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{partial, never, complete}; !slices.Equal(got, want) {
		t.Fatalf("sweep order %v, want partial %d, never synced %d, complete %d", got, partial, never, complete)
	}
}
