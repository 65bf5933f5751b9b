package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/cointracker/cointracker/api"
	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
)

func (s *testServer) postJSON(t *testing.T, method, path, body string) response {
	t.Helper()
	return s.do(t, method, path, strings.NewReader(body), "Content-Type", "application/json")
}

func TestCreateAddress(t *testing.T) {
	t.Parallel()
	s := migratedServer(t)

	r := s.postJSON(t, http.MethodPost, "/v1/addresses", `{"address": "BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ", "label": "cold storage"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create = %d %s", r.status, r.body)
	}
	a := decode[api.Address](t, r)
	if a.ID == 0 || a.Address != "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq" || a.Type != "p2wpkh" || a.Network != "mainnet" ||
		a.Label == nil || *a.Label != "cold storage" || a.Sync.Status != "new" || a.Balance.ConfirmedBTC != "0.00000000" {
		t.Fatalf("created %+v", a)
	}
	if loc := r.header.Get("Location"); loc != "/v1/addresses/"+strconv.FormatInt(a.ID, 10) {
		t.Fatalf("Location = %q", loc)
	}

	// The same address in either case is already tracked.
	for _, again := range []string{"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ"} {
		problem(t, s.postJSON(t, http.MethodPost, "/v1/addresses", `{"address": "`+again+`"}`), http.StatusConflict)
	}

	// Other networks by request.
	r = s.postJSON(t, http.MethodPost, "/v1/addresses", `{"address": "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "network": "signet"}`)
	if r.status != http.StatusCreated || decode[api.Address](t, r).Network != "signet" || decode[api.Address](t, r).Label != nil {
		t.Fatalf("signet address: %d %s", r.status, r.body)
	}

	got := decode[api.AddressList](t, s.get(t, "/v1/addresses"))
	if len(got.Items) != 2 || got.Items[0].ID != a.ID {
		t.Fatalf("list after create = %+v", got)
	}
}

func TestCreateAddressRefusals(t *testing.T) {
	t.Parallel()
	s := migratedServer(t)
	unprocessable := []struct {
		body, code string
	}{
		{`{"address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"}`, "bad_checksum"},
		{`{"address": "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"}`, "wrong_network"},
		{`{"address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "network": "testnet"}`, "wrong_network"},
		{`{"address": "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh"}`, "bech32_variant"},
		{`{"address": "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs"}`, "unsupported_witness_version"},
		{`{"address": "0x52908400098527886E0F7030069857D2E4169EE7"}`, "unknown_format"},
	}
	for _, c := range unprocessable {
		p := problem(t, s.postJSON(t, http.MethodPost, "/v1/addresses", c.body), http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Field != "address" || p.Errors[0].Code != c.code {
			t.Errorf("%s: errors %+v, want address/%s", c.body, p.Errors, c.code)
		}
	}
	bad := []struct {
		body, field string
	}{
		{`{"address": 12}`, "address"},
		{`{"address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "label": ["x"]}`, "label"},
		{`{"address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "colour": "red"}`, "colour"},
		{`{"address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "network": "moonnet"}`, "network"},
		{`{"address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "label": "` + strings.Repeat("x", 201) + `"}`, "label"},
		{`{"address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "label": "bell\u0007"}`, "label"},
		{`{}`, "address"},
		{`{"address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"} {}`, "body"},
		{`{"address": `, "body"},
		{``, "body"},
		{`[]`, "body"},
	}
	for _, c := range bad {
		p := problem(t, s.postJSON(t, http.MethodPost, "/v1/addresses", c.body), http.StatusBadRequest)
		if len(p.Errors) == 0 || p.Errors[0].Field != c.field {
			t.Errorf("%s: errors %+v, want one naming %s", c.body, p.Errors, c.field)
		}
	}
	problem(t, s.do(t, http.MethodPost, "/v1/addresses", strings.NewReader(`{"address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"}`), "Content-Type", "text/plain"), http.StatusUnsupportedMediaType)
	problem(t, s.do(t, http.MethodPost, "/v1/addresses", strings.NewReader(`{"address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"}`)), http.StatusUnsupportedMediaType)
	huge := `{"address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "label": "` + strings.Repeat("x", 2<<20) + `"}`
	problem(t, s.postJSON(t, http.MethodPost, "/v1/addresses", huge), http.StatusRequestEntityTooLarge)
	// A chunked body has no length up front; the cap still holds.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/v1/addresses", strings.NewReader(huge))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.token)
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked 2 MiB body = %d, want 413", res.StatusCode)
	}

	// Nothing was written by any refused request.
	if got := decode[api.AddressList](t, s.get(t, "/v1/addresses")); len(got.Items) != 0 {
		t.Fatalf("refused requests created %d addresses", len(got.Items))
	}
	var n int
	if err := s.store.Pool().QueryRow(ctx, "SELECT count(*) FROM addresses").Scan(&n); err != nil || n != 0 {
		t.Fatalf("refused requests wrote %d shared addresses (%v)", n, err)
	}
}

func TestAddressLifecycle(t *testing.T) {
	t.Parallel()
	s := migratedServer(t)
	a := decode[api.Address](t, s.postJSON(t, http.MethodPost, "/v1/addresses", `{"address": "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"}`))
	path := "/v1/addresses/" + strconv.FormatInt(a.ID, 10)

	if got := decode[api.Address](t, s.get(t, path)); got.ID != a.ID || got.Type != "p2sh" {
		t.Fatalf("get = %+v", got)
	}
	r := s.postJSON(t, http.MethodPatch, path, `{"label": "savings"}`)
	if got := decode[api.Address](t, r); r.status != http.StatusOK || got.Label == nil || *got.Label != "savings" {
		t.Fatalf("patch = %d %s", r.status, r.body)
	}
	r = s.postJSON(t, http.MethodPatch, path, `{"label": null}`)
	if got := decode[api.Address](t, r); r.status != http.StatusOK || got.Label != nil {
		t.Fatalf("patch null = %d %s", r.status, r.body)
	}
	for body, field := range map[string]string{`{}`: "label", `{"label": 3}`: "label", `{"label": "x", "note": "y"}`: "note"} {
		p := problem(t, s.postJSON(t, http.MethodPatch, path, body), http.StatusBadRequest)
		if p.Errors[0].Field != field {
			t.Errorf("patch %s: errors %+v, want %s", body, p.Errors, field)
		}
	}
	problem(t, s.get(t, path+"?verbose=1"), http.StatusBadRequest)
	problem(t, s.get(t, "/v1/addresses/abc"), http.StatusBadRequest)
	problem(t, s.get(t, "/v1/addresses/0"), http.StatusBadRequest)

	if r := s.do(t, http.MethodDelete, path, nil); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("delete = %d %s", r.status, r.body)
	}
	problem(t, s.get(t, path), http.StatusNotFound)
	problem(t, s.do(t, http.MethodDelete, path, nil), http.StatusNotFound)
	problem(t, s.postJSON(t, http.MethodPatch, path, `{"label": "x"}`), http.StatusNotFound)
	// The shared address stays.
	var n int
	if err := s.store.Pool().QueryRow(ctx, "SELECT count(*) FROM addresses").Scan(&n); err != nil || n != 1 {
		t.Fatalf("shared addresses after delete = %d (%v), want 1", n, err)
	}
	// Tracking it again works.
	if r := s.postJSON(t, http.MethodPost, "/v1/addresses", `{"address": "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"}`); r.status != http.StatusCreated {
		t.Fatalf("re-track = %d", r.status)
	}
}

func TestOtherUsersAddressesAreNotFound(t *testing.T) {
	t.Parallel()
	s := migratedServer(t)
	mine := decode[api.Address](t, s.postJSON(t, http.MethodPost, "/v1/addresses", `{"address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"}`))

	// Another user tracks the same address and one of their own.
	other, err := s.store.UpsertUser(ctx, db.UserUpsertParams{Issuer: "https://issuer.test", Subject: "mallory"})
	if err != nil {
		t.Fatal(err)
	}
	var theirs []int64
	for _, addr := range []string{"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"} {
		_, id := dbtest.Track(t, s.store, db.Watch{UserID: other.ID, Network: "mainnet", Address: addr, ScriptType: "p2pkh"})
		theirs = append(theirs, id)
	}
	missing := theirs[1] + 1000
	for _, id := range append(theirs, missing) {
		path := "/v1/addresses/" + strconv.FormatInt(id, 10)
		bodies := []string{}
		for _, r := range []response{
			s.get(t, path),
			s.postJSON(t, http.MethodPatch, path, `{"label": "mine now"}`),
			s.do(t, http.MethodDelete, path, nil),
		} {
			p := problem(t, r, http.StatusNotFound)
			bodies = append(bodies, p.Detail)
		}
		if bodies[0] != "no such resource" {
			t.Fatalf("404 detail %q differs from a missing id's", bodies[0])
		}
	}
	list := decode[api.AddressList](t, s.get(t, "/v1/addresses"))
	if len(list.Items) != 1 || list.Items[0].ID != mine.ID || list.Items[0].Label != nil {
		t.Fatalf("my list = %+v", list.Items)
	}
	// Their entries are untouched.
	var labelled int
	if err := s.store.Pool().QueryRow(ctx, "SELECT count(*) FROM user_addresses WHERE user_id = $1 AND label IS NOT NULL", other.ID).Scan(&labelled); err != nil || labelled != 0 {
		t.Fatalf("the other user's entries were changed: %d (%v)", labelled, err)
	}
}

// TestQuotas fills a user's quotas as a tenant hoarding the shared queue
// would: the next address or xpub is refused with a 403 naming the
// limit, nothing is written, and another user is not affected.
func TestQuotas(t *testing.T) {
	t.Parallel()
	s := newServerOpts(t, dbtest.NewPool(t, dbtest.NewURL(t)), func(o *api.Options) {
		o.Quotas = api.Quotas{AddressesPerUser: 2, XpubsPerUser: 1}
	})
	for _, addr := range []string{"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"} {
		if r := s.postJSON(t, http.MethodPost, "/v1/addresses", `{"address": "`+addr+`"}`); r.status != http.StatusCreated {
			t.Fatalf("address %s = %d %s", addr, r.status, r.body)
		}
	}
	// Addresses an xpub derives count against the xpub, not this quota.
	if r := s.postJSON(t, http.MethodPost, "/v1/xpubs", `{"xpub": "`+zpub+`"}`); r.status != http.StatusCreated {
		t.Fatalf("xpub = %d %s", r.status, r.body)
	}
	p := problem(t, s.postJSON(t, http.MethodPost, "/v1/addresses", `{"address": "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"}`), http.StatusForbidden)
	if !strings.Contains(p.Detail, "the limit is 2") || !strings.HasSuffix(p.Type, "/quota-exceeded") {
		t.Fatalf("over the address quota: %+v", p)
	}
	const other = "xpub6CUGRUonZSQ4TWtTMmzXdrXDtypWKiKrhko4egpiMZbpiaQL2jkwSB1icqYh2cfDfVxdx4df189oLKnC5fSwqPfgyP3hooxujYzAu3fDVmz"
	p = problem(t, s.postJSON(t, http.MethodPost, "/v1/xpubs", `{"xpub": "`+other+`"}`), http.StatusForbidden)
	if !strings.Contains(p.Detail, "the limit is 1") {
		t.Fatalf("over the xpub quota: %+v", p)
	}
	if list := decode[api.AddressList](t, s.get(t, "/v1/addresses?limit=500")); len(list.Items) != 2+40 {
		t.Fatalf("%d watch-list entries after the refusals, want 42", len(list.Items))
	}
	// Another user's quota is their own.
	s.token = tokenFor(t, "user-2")
	if r := s.postJSON(t, http.MethodPost, "/v1/addresses", `{"address": "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"}`); r.status != http.StatusCreated {
		t.Fatalf("another user's address = %d %s", r.status, r.body)
	}
}
