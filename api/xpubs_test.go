package api_test

import (
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/cointracker/cointracker/api"
	"github.com/cointracker/cointracker/btc"
)

// bip39Seed is the seed of the BIP-39 test mnemonic "abandon … about".
const bip39Seed = "5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4"

const zpub = "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"

func TestXpubLifecycle(t *testing.T) {
	t.Parallel()
	s := migratedServer(t)
	// The user already tracks the first receive address by hand.
	manual := decode[api.Address](t, s.postJSON(t, http.MethodPost, "/v1/addresses",
		`{"address": "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", "label": "by hand"}`))

	r := s.postJSON(t, http.MethodPost, "/v1/xpubs", `{"xpub": "`+zpub+`", "label": "ledger"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create = %d %s", r.status, r.body)
	}
	x := decode[api.Xpub](t, r)
	if x.Purpose != 84 || x.Type != "p2wpkh" || x.GapLimit != 20 || len(x.Addresses) != 40 || *x.Label != "ledger" {
		t.Fatalf("xpub = %+v", x)
	}
	if a := x.Addresses[0]; a.Chain != "receive" || a.Index != 0 || a.Address != "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu" || *a.AddressID != manual.ID {
		t.Fatalf("first derived = %+v", a)
	}
	if a := x.Addresses[39]; a.SyncStatus != "new" {
		t.Fatalf("a derived address's sync status = %q, want new (no sync queue here)", a.SyncStatus)
	}
	if a := x.Addresses[20]; a.Chain != "change" || a.Index != 0 || a.Address != "bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el" {
		t.Fatalf("first change = %+v", a)
	}
	problem(t, s.postJSON(t, http.MethodPost, "/v1/xpubs", `{"xpub": "`+zpub+`"}`), http.StatusConflict)

	// Derived addresses are on the watch-list; the manual one kept its label.
	list := pageAllAddresses(t, s)
	if len(list) != 40 {
		t.Fatalf("watch-list has %d entries, want 40", len(list))
	}
	for _, a := range list {
		if a.ID == manual.ID && (a.XpubID != nil || *a.Label != "by hand") {
			t.Fatalf("the hand-added entry was taken over: %+v", a)
		}
		if a.ID != manual.ID && (a.XpubID == nil || *a.XpubID != x.ID) {
			t.Fatalf("derived entry without its xpub: %+v", a)
		}
	}
	derivedID := strconv.FormatInt(*x.Addresses[1].AddressID, 10)
	problem(t, s.do(t, http.MethodDelete, "/v1/addresses/"+derivedID, nil), http.StatusConflict)

	got := decode[api.Xpub](t, s.get(t, "/v1/xpubs/"+strconv.FormatInt(x.ID, 10)))
	if got.ID != x.ID || len(got.Addresses) != 40 {
		t.Fatalf("get = %+v", got)
	}
	page := decode[api.XpubList](t, s.get(t, "/v1/xpubs?limit=1"))
	if len(page.Items) != 1 || page.NextCursor != nil || len(page.Items[0].Addresses) != 40 {
		t.Fatalf("list = %+v", page)
	}

	if r := s.do(t, http.MethodDelete, "/v1/xpubs/"+strconv.FormatInt(x.ID, 10), nil); r.status != http.StatusNoContent {
		t.Fatalf("delete = %d", r.status)
	}
	problem(t, s.get(t, "/v1/xpubs/"+strconv.FormatInt(x.ID, 10)), http.StatusNotFound)
	if list := pageAllAddresses(t, s); len(list) != 1 || list[0].ID != manual.ID {
		t.Fatalf("after deleting the xpub the watch-list is %+v", list)
	}
}

func pageAllAddresses(t *testing.T, s *testServer) []api.Address {
	t.Helper()
	return decode[api.AddressList](t, s.get(t, "/v1/addresses?limit=500")).Items
}

func TestXpubRefusals(t *testing.T) {
	t.Parallel()
	s := migratedServer(t)
	seed, _ := hex.DecodeString(bip39Seed)
	master, err := hdkeychain.NewMaster(seed, &chaincfg.MainNetParams)
	if err != nil {
		t.Fatal(err)
	}
	xprv := master.String()
	taproot, err := btc.AccountFromSeed(seed, btc.BIP86, &chaincfg.MainNetParams)
	if err != nil {
		t.Fatal(err)
	}
	for body, code := range map[string]string{
		`{"xpub": "` + xprv + `"}`:                       "private_key",
		`{"xpub": "xpub-nonsense"}`:                      "invalid_xpub",
		`{"xpub": "` + zpub + `", "network": "testnet"}`: "invalid_xpub",
		`{"xpub": "` + zpub + `", "purpose": 86}`:        "invalid_xpub",
		`{"xpub": "` + zpub + `", "purpose": 49}`:        "invalid_xpub",
	} {
		r := s.postJSON(t, http.MethodPost, "/v1/xpubs", body)
		p := problem(t, r, http.StatusUnprocessableEntity)
		if p.Errors[0].Code != code {
			t.Errorf("%.40s…: %+v", body, p.Errors)
		}
		if strings.Contains(string(r.body), xprv) || strings.Contains(s.logs.String(), xprv) {
			t.Fatal("the private key was echoed or logged")
		}
	}
	for body, field := range map[string]string{
		`{}`: "xpub", `{"xpub": 5}`: "xpub", `{"xpub": "x", "purpose": 50}`: "purpose",
		`{"xpub": "x", "network": "moon"}`: "network", `{"xpub": "x", "gap": 5}`: "gap",
	} {
		p := problem(t, s.postJSON(t, http.MethodPost, "/v1/xpubs", body), http.StatusBadRequest)
		if p.Errors[0].Field != field {
			t.Errorf("%s: %+v", body, p.Errors)
		}
	}
	// A taproot account needs purpose 86, and then derives bc1p addresses.
	r := s.postJSON(t, http.MethodPost, "/v1/xpubs", `{"xpub": "`+taproot.String()+`", "purpose": 86}`)
	x := decode[api.Xpub](t, r)
	if r.status != http.StatusCreated || x.Type != "p2tr" || x.Addresses[0].Address != "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr" {
		t.Fatalf("taproot xpub = %d %+v", r.status, x)
	}
	if got := decode[api.AddressList](t, s.get(t, "/v1/addresses?limit=500")); len(got.Items) != 40 {
		t.Fatalf("refused xpubs left %d watch-list entries", len(got.Items)-40)
	}
}
