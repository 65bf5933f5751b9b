package db_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/cointracker/cointracker/auth"
	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
)

// TestUserRepeatsFollowEveryChange drives a user's stored repeats (the
// extra rows of transactions at several of their addresses, migration
// 00023) through each kind of write the sync makes: siblings inserted in
// one statement and in separate ones, a transaction replaced and back, an
// address's rows deleted, and watch-list changes (an entry revealed, one
// removed). After every step the stored figures (the repeats and the
// user's days) must equal the recount
// (LedgerAggregateDifferences is empty), and the repeats must have been
// above zero, so the test shows something.
func TestUserRepeatsFollowEveryChange(t *testing.T) {
	t.Parallel()
	s := dbtest.NewStore(t)
	user, err := s.UpsertUser(ctx, db.UserUpsertParams{Issuer: auth.DevIssuer, Subject: "repeats"})
	if err != nil {
		t.Fatal(err)
	}
	addresses := []string{
		"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
		"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
		"3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
		"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
	}
	var ws []db.Watch
	for _, a := range addresses {
		ws = append(ws, db.Watch{UserID: user.ID, Network: "mainnet", Address: a, ScriptType: "p2wpkh"})
	}
	var ids, entries []int64
	err = s.ExecTx(ctx, func(q *db.Queries) error {
		var err error
		ids, _, err = q.Track(ctx, ws[:3]) // the fourth is tracked later
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(step string, wantRepeats int64) {
		t.Helper()
		diffs, err := s.LedgerAggregateDifferences(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range diffs {
			t.Errorf("after %s: %s", step, d)
		}
		var repeats int64
		if err := s.Pool().QueryRow(ctx, "SELECT coalesce((SELECT repeats FROM user_totals WHERE user_id = $1), 0)", user.ID).Scan(&repeats); err != nil {
			t.Fatal(err)
		}
		if repeats != wantRepeats {
			t.Errorf("after %s: %d repeats, want %d", step, repeats, wantRepeats)
		}
	}
	reveal := func(addressIDs []int64) {
		t.Helper()
		if err := s.SyncStatesMarkDone(ctx, db.SyncStatesMarkDoneParams{AddressIds: addressIDs, Height: 900_000, FinishedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	reveal(ids)
	check("tracking", 0)

	txs := map[string]int64{}
	upsert := func(name, status string) int64 {
		t.Helper()
		txid := make([]byte, 32)
		_, _ = rand.Read(txid)
		if id, ok := txs[name]; ok {
			_ = s.Pool().QueryRow(ctx, "SELECT txid FROM transactions WHERE id = $1", id).Scan(&txid)
		}
		height, hash := int32(-1), []byte{}
		if status == "confirmed" {
			height, hash = 899_000, txid
		}
		rows, err := s.TransactionsUpsert(ctx, db.TransactionsUpsertParams{
			Networks: []string{"mainnet"}, Txids: [][]byte{txid}, Statuses: []string{status}, BlockHeights: []int32{height},
			BlockHashes: [][]byte{hash}, BlockTimes: []time.Time{time.Now()}, FeesSats: []int64{300}, Vsizes: []int32{200},
			FirstSeens: []time.Time{time.Now()},
		})
		if err != nil || len(rows) != 1 {
			t.Fatalf("upsert %s: %v %v", name, rows, err)
		}
		txs[name] = rows[0].ID
		return rows[0].ID
	}
	ledger := func(addressIDs []int64, tx int64) {
		t.Helper()
		p := db.LedgerEntriesUpsertParams{}
		for _, a := range addressIDs {
			p.AddressIds, p.TransactionIds = append(p.AddressIds, a), append(p.TransactionIds, tx)
			p.ReceivedSats, p.SentSats, p.FeeShareSats = append(p.ReceivedSats, 1_000), append(p.SentSats, 0), append(p.FeeShareSats, 0)
		}
		if err := s.LedgerEntriesUpsert(ctx, p); err != nil {
			t.Fatal(err)
		}
	}

	// A transaction at all three addresses, in one statement: 2 repeats.
	ledger(ids, upsert("three", "confirmed"))
	check("a transaction at three addresses in one statement", 2)
	// The user's days (migration 00026) follow the same writes, checked by
	// the same recount: the day of the write holds all three rows.
	var days, rows int64
	if err := s.Pool().QueryRow(ctx, "SELECT count(*), coalesce(sum(tx_count), 0) FROM user_days WHERE user_id = $1", user.ID).Scan(&days, &rows); err != nil || days != 1 || rows != 3 {
		t.Fatalf("user_days: %d days of %d rows (%v), want 1 of 3", days, rows, err)
	}
	// One at two addresses, a statement each: 1 more.
	two := upsert("two", "pending")
	ledger(ids[:1], two)
	check("the first row of a transaction at two addresses", 2)
	ledger(ids[1:2], two)
	check("its second row, in a statement of its own", 3)
	// Replaced, it counts nowhere; back in the mempool, it counts again.
	if _, err := s.TransactionsUnconfirm(ctx, db.TransactionsUnconfirmParams{Status: "replaced", Ids: []int64{two}}); err != nil {
		t.Fatal(err)
	}
	check("a replacement", 2)
	upsert("two", "pending")
	check("the replaced transaction back in the mempool", 3)
	// A reorg moves nothing: both rows still count.
	if _, err := s.TransactionsUnconfirm(ctx, db.TransactionsUnconfirmParams{Status: "pending", Ids: []int64{txs["three"]}}); err != nil {
		t.Fatal(err)
	}
	check("a reorg", 3)

	// A fourth address, tracked and its rows written before it is
	// revealed: they count once it is.
	var fourth int64
	err = s.ExecTx(ctx, func(q *db.Queries) error {
		got, _, err := q.Track(ctx, ws[3:])
		fourth = got[0]
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ledger([]int64{fourth}, txs["three"])
	check("a row at an entry not yet revealed", 3)
	reveal([]int64{fourth})
	check("the entry revealed", 4)

	// Rows deleted (as a re-sync of an address does) and an entry removed.
	if _, err := s.Pool().Exec(ctx, "DELETE FROM ledger_entries WHERE address_id = $1", ids[0]); err != nil {
		t.Fatal(err)
	}
	check("an address's rows deleted", 2)
	if err := s.Pool().QueryRow(ctx, "SELECT array_agg(id ORDER BY id) FROM user_addresses WHERE user_id = $1", user.ID).Scan(&entries); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserAddressDelete(ctx, db.UserAddressDeleteParams{UserID: user.ID, ID: entries[1]}); err != nil {
		t.Fatal(err)
	}
	check("an entry removed", 1)
}
