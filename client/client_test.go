package client_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/cointracker/cointracker/api"
	"github.com/cointracker/cointracker/auth"
	"github.com/cointracker/cointracker/client"
	"github.com/cointracker/cointracker/db/dbtest"
	"github.com/cointracker/cointracker/fixtures"
)

// zpub is BIP-84's test vector account key.
const zpub = "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"

// served is a real API server over a seeded database, and a client per
// demo user.
type served struct {
	url  string
	key  *ecdsa.PrivateKey
	user *client.ClientWithResponses // user-1, who holds most of the history
}

func serve(t *testing.T) served {
	t.Helper()
	store := dbtest.NewStore(t)
	o := fixtures.Options{Seed: 3, Users: 3, Addresses: 12, Transactions: 900}
	if _, err := fixtures.Seed(t.Context(), store, o, nil); err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Options{
		Store:    store,
		Logger:   slog.New(slog.DiscardHandler),
		Verifier: auth.NewStatic(auth.DevIssuer, auth.DevAudience, key.Public()),
	}).Handler())
	t.Cleanup(srv.Close)
	s := served{url: srv.URL, key: key}
	s.user = s.clientFor(t, "user-1")
	return s
}

// clientFor is a client with subject's dev token.
func (s served) clientFor(t *testing.T, subject string) *client.ClientWithResponses {
	t.Helper()
	token, err := auth.DevToken(s.key, subject, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(s.url, token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// problemOf is the problem err carries; the test fails when it has none.
func problemOf(t *testing.T, err error) *client.Problem {
	t.Helper()
	var p *client.Problem
	if !errors.As(err, &p) {
		t.Fatalf("want a problem, got %v", err)
	}
	return p
}

// collect gathers a sequence, failing on its error.
func collect[T any](t *testing.T, seq func(func(T, error) bool)) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func TestAddressesThroughTheClient(t *testing.T) {
	t.Parallel()
	s := serve(t)
	ctx := t.Context()
	c := s.clientFor(t, "newcomer")

	created, err := c.CreateAddressWithResponse(ctx, client.CreateAddressRequest{
		Address: "BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ", Label: ptr("cold storage"),
	})
	if err := client.Check(created, err); err != nil || created.JSON201 == nil {
		t.Fatalf("create: %v", err)
	}
	a := *created.JSON201
	if a.Address != "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq" || a.Type != client.AddressTypeP2wpkh || a.Sync.Status != client.SyncStatusStatusNew {
		t.Fatalf("created %+v", a)
	}

	again, err := c.CreateAddressWithResponse(ctx, client.CreateAddressRequest{Address: a.Address})
	if p := problemOf(t, client.Check(again, err)); p.Status != http.StatusConflict {
		t.Fatalf("tracking it twice: %v", p)
	}
	bad, err := c.CreateAddressWithResponse(ctx, client.CreateAddressRequest{Address: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdr"})
	p := problemOf(t, client.Check(bad, err))
	if p.Status != http.StatusUnprocessableEntity || p.Errors == nil || len(*p.Errors) != 1 || (*p.Errors)[0].Field != "address" {
		t.Fatalf("a bad checksum: %+v", p)
	}

	patched, err := c.UpdateAddressWithResponse(ctx, a.Id, client.UpdateAddressRequest{Label: ptr("savings")})
	if err := client.Check(patched, err); err != nil || *patched.JSON200.Label != "savings" {
		t.Fatalf("relabel: %v", err)
	}
	got, err := c.GetAddressWithResponse(ctx, a.Id, nil)
	if err := client.Check(got, err); err != nil || *got.JSON200.Label != "savings" {
		t.Fatalf("get: %v", err)
	}

	deleted, err := c.DeleteAddressWithResponse(ctx, a.Id)
	if err := client.Check(deleted, err); err != nil || deleted.StatusCode() != http.StatusNoContent {
		t.Fatalf("delete: %v", err)
	}
	gone, err := c.GetAddressWithResponse(ctx, a.Id, nil)
	if p := problemOf(t, client.Check(gone, err)); p.Status != http.StatusNotFound {
		t.Fatalf("a deleted address: %v", p)
	}

	// Paging: two at a time reaches user-1's whole watch-list, in order.
	all := collect(t, client.Addresses(ctx, s.user, client.ListAddressesParams{Limit: ptr(500)}))
	paged := collect(t, client.Addresses(ctx, s.user, client.ListAddressesParams{Limit: ptr(2)}))
	if len(all) < 3 || !slices.EqualFunc(all, paged, func(x, y client.Address) bool { return x.Id == y.Id }) {
		t.Fatalf("pages of 2 gave %d addresses, one page %d", len(paged), len(all))
	}
}

func TestXpubsThroughTheClient(t *testing.T) {
	t.Parallel()
	s := serve(t)
	ctx := t.Context()
	c := s.clientFor(t, "hodler")

	created, err := c.CreateXpubWithResponse(ctx, client.CreateXpubRequest{Xpub: zpub, Label: ptr("hardware wallet")})
	if err := client.Check(created, err); err != nil {
		t.Fatalf("create: %v", err)
	}
	x := *created.JSON201
	// BIP-84's first receive address of this key.
	if x.Purpose != 84 || x.Type != client.XpubTypeP2wpkh || len(x.Addresses) < 40 ||
		x.Addresses[0].Address != "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu" || x.Addresses[0].Chain != client.Receive {
		t.Fatalf("created %+v", x)
	}
	list := collect(t, client.Xpubs(ctx, c, client.ListXpubsParams{}))
	if len(list) != 1 || list[0].Id != x.Id {
		t.Fatalf("listed %+v", list)
	}
	again, err := c.CreateXpubWithResponse(ctx, client.CreateXpubRequest{Xpub: zpub})
	if p := problemOf(t, client.Check(again, err)); p.Status != http.StatusConflict {
		t.Fatalf("tracking it twice: %v", p)
	}
	deleted, err := c.DeleteXpubWithResponse(ctx, x.Id)
	if err := client.Check(deleted, err); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if list := collect(t, client.Xpubs(ctx, c, client.ListXpubsParams{})); len(list) != 0 {
		t.Fatalf("after delete: %+v", list)
	}
}

func TestHistoryBalancesAndExportThroughTheClient(t *testing.T) {
	t.Parallel()
	s := serve(t)
	ctx := t.Context()
	c := s.user

	// Cursors: pages of 7 and one page of 500 list the same rows in the
	// same order, filters included.
	from := time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)
	filter := client.ListTransactionsParams{Direction: ptr(client.ListTransactionsParamsDirectionIncoming), From: &from}
	filter.Limit = ptr(500)
	whole := collect(t, client.Transactions(ctx, c, filter))
	filter.Limit = ptr(7)
	paged := collect(t, client.Transactions(ctx, c, filter))
	key := func(x client.Transaction) string { return fmt.Sprint(x.Txid, "/", x.AddressId) }
	if len(whole) < 20 || !slices.EqualFunc(whole, paged, func(x, y client.Transaction) bool { return key(x) == key(y) }) {
		t.Fatalf("pages of 7 gave %d rows, one page %d", len(paged), len(whole))
	}
	for _, tx := range whole {
		if tx.Direction != client.TransactionDirectionIncoming || tx.BlockTime != nil && tx.BlockTime.Before(from) {
			t.Fatalf("a row outside the filter: %+v", tx)
		}
	}

	// One address's history is the user's history of that address.
	entry := whole[0].AddressId
	own := collect(t, client.AddressTransactions(ctx, c, entry, client.ListAddressTransactionsParams{
		Direction: ptr(client.ListAddressTransactionsParamsDirectionIncoming), From: &from, Limit: ptr(3),
	}))
	var want int
	for _, tx := range whole {
		if tx.AddressId == entry {
			want++
		}
	}
	if len(own) != want {
		t.Fatalf("address %d: %d rows, the user's history has %d", entry, len(own), want)
	}

	// Balances: the total is the sum of the addresses, and the history's
	// last point is the total balance.
	b, err := c.GetBalancesWithResponse(ctx, nil)
	if err := client.Check(b, err); err != nil {
		t.Fatal(err)
	}
	var confirmed int64
	for _, a := range b.JSON200.Addresses {
		confirmed += a.ConfirmedSats
	}
	if confirmed != b.JSON200.Total.ConfirmedSats || b.JSON200.Total.TxCount == 0 {
		t.Fatalf("total %+v, addresses' confirmed sum %d", b.JSON200.Total, confirmed)
	}
	h, err := c.GetBalanceHistoryWithResponse(ctx, &client.GetBalanceHistoryParams{Interval: ptr(client.GetBalanceHistoryParamsIntervalMonth)})
	if err := client.Check(h, err); err != nil {
		t.Fatal(err)
	}
	points := h.JSON200.Points
	if len(points) == 0 || points[len(points)-1].BalanceSats != b.JSON200.Total.ConfirmedSats+b.JSON200.Total.UnconfirmedSats {
		t.Fatalf("the history's last point is not the balance: %d points", len(points))
	}

	// The export has the filtered rows, in order.
	res, err := c.ExportTransactions(ctx, &client.ExportTransactionsParams{
		Direction: ptr(client.ExportTransactionsParamsDirectionIncoming), From: &from,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("export: %d %v", res.StatusCode, err)
	}
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(whole)+1 || rows[0][slices.Index(rows[0], "txid")] != "txid" {
		t.Fatalf("export: %d rows for %d transactions", len(rows)-1, len(whole))
	}
	for i, tx := range whole {
		if got := rows[i+1][slices.Index(rows[0], "txid")]; got != tx.Txid {
			t.Fatalf("export row %d is %s, the history's %s", i, got, tx.Txid)
		}
	}
}

func TestErrorsThroughTheClient(t *testing.T) {
	t.Parallel()
	s := serve(t)
	ctx := t.Context()

	stranger, err := client.New(s.url, "not-a-token")
	if err != nil {
		t.Fatal(err)
	}
	me, err := stranger.GetMeWithResponse(ctx, nil)
	if p := problemOf(t, client.Check(me, err)); p.Status != http.StatusUnauthorized || me.ApplicationproblemJSON401 == nil {
		t.Fatalf("a bad token: %v", p)
	}

	page, err := s.user.ListTransactionsWithResponse(ctx, &client.ListTransactionsParams{Limit: ptr(501)})
	p := problemOf(t, client.Check(page, err))
	if p.Status != http.StatusBadRequest || p.Errors == nil || (*p.Errors)[0].Field != "limit" {
		t.Fatalf("limit 501: %+v", p)
	}

	// Another user's address is not found, never forbidden.
	list := collect(t, client.Addresses(ctx, s.user, client.ListAddressesParams{}))
	other := s.clientFor(t, "user-2")
	theirs, err := other.GetAddressWithResponse(ctx, list[0].Id, nil)
	if p := problemOf(t, client.Check(theirs, err)); p.Status != http.StatusNotFound {
		t.Fatalf("user-2 reading user-1's address: %v", p)
	}

	// A conditional read: the ETag comes back as 304.
	first, err := s.user.GetBalancesWithResponse(ctx, nil)
	if err := client.Check(first, err); err != nil {
		t.Fatal(err)
	}
	tag := first.HTTPResponse.Header.Get("ETag")
	again, err := s.user.GetBalancesWithResponse(ctx, &client.GetBalancesParams{IfNoneMatch: &tag})
	if err := client.Check(again, err); err != nil || again.StatusCode() != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d %v", again.StatusCode(), err)
	}
}
