package api_test

import (
	"cmp"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/cointracker/cointracker/api"
)

// TestUsersAreSealedOff creates data as user A and calls every /v1 route as
// user B with A's ids: B gets 404 (exactly as for an id that does not
// exist) or an empty result, never A's data, and A's data is unchanged. A
// route added without a case here fails the test.
func TestUsersAreSealedOff(t *testing.T) {
	t.Parallel()
	s := seeded(t) // user-1 (A) has fixture history
	a := decode[api.Address](t, s.postJSON(t, http.MethodPost, "/v1/addresses", `{"address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "label": "A's"}`))
	x := decode[api.Xpub](t, s.postJSON(t, http.MethodPost, "/v1/xpubs", `{"xpub": "`+zpub+`"}`))
	hook := decode[api.WebhookWithSecret](t, s.postJSON(t, http.MethodPost, "/v1/webhooks", `{"url": "https://example.com/a-hook"}`))
	aHook := strconv.FormatInt(hook.ID, 10)
	// Fixtures write no events: a reorg of A's newest confirmed transaction
	// (pending now, so first in A's history) gives A's feed some.
	reorged := reorgNewest(t, s)
	aTxs := decode[api.TransactionList](t, s.get(t, "/v1/transactions?limit=5"))
	if len(aTxs.Items) == 0 {
		t.Fatal("user A has no history to hide")
	}
	before := string(s.get(t, "/v1/balances").body)
	aAddr, aXpub := strconv.FormatInt(a.ID, 10), strconv.FormatInt(x.ID, 10)
	aEntry := strconv.FormatInt(aTxs.Items[0].AddressID, 10)

	b := *s
	b.token = tokenFor(t, "user-b")
	// B tracks the same address A does: shared chain data, nothing of A's.
	shared := b.postJSON(t, http.MethodPost, "/v1/addresses", `{"address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"}`)
	if shared.status != http.StatusCreated || decode[api.Address](t, shared).Label != nil {
		t.Fatalf("B tracking A's address: %d %s", shared.status, shared.body)
	}
	sharedID := strconv.FormatInt(decode[api.Address](t, shared).ID, 10)

	notFound := func(method, path, body string) func(t *testing.T) {
		return func(t *testing.T) {
			mine := b.postJSON(t, method, path, body)
			p := problem(t, mine, http.StatusNotFound)
			// The same answer as for an id nobody has.
			missing := strings.NewReplacer("/"+aAddr, "/99999999", "/"+aXpub, "/99999999", "/"+aEntry, "/99999999", "/"+aHook, "/99999999").Replace(path)
			q := problem(t, b.postJSON(t, method, missing, body), http.StatusNotFound)
			if p.Title != q.Title || p.Detail != q.Detail || p.Type != q.Type {
				t.Fatalf("%s %s: 404 differs from a missing id's: %+v vs %+v", method, path, p, q)
			}
		}
	}
	onlyB := func(path string, check func(t *testing.T, body string)) func(t *testing.T) {
		return func(t *testing.T) {
			r := b.get(t, path)
			if r.status != http.StatusOK {
				t.Fatalf("GET %s = %d %s", path, r.status, r.body)
			}
			check(t, string(r.body))
		}
	}
	noneOfA := func(t *testing.T, body string) {
		for _, it := range aTxs.Items {
			if strings.Contains(body, it.Txid) || strings.Contains(body, it.Address) {
				t.Fatalf("B sees A's data: %.200s", body)
			}
		}
	}
	cases := map[string]func(t *testing.T){
		"GET /v1/me": onlyB("/v1/me", func(t *testing.T, body string) {
			if !strings.Contains(body, `"subject":"user-b"`) {
				t.Fatalf("me = %s", body)
			}
		}),
		"GET /v1/addresses": onlyB("/v1/addresses", func(t *testing.T, body string) {
			list := decodeString[api.AddressList](t, body)
			if len(list.Items) != 1 || strconv.FormatInt(list.Items[0].ID, 10) != sharedID {
				t.Fatalf("B's addresses = %s", body)
			}
		}),
		// Tracking what A tracks is a fresh 201 for B, not a 409 that
		// would reveal A, and it reads exactly as an address nobody
		// tracked: no sync figures, no balance, no history, until a sync
		// finishes after B added it.
		"POST /v1/addresses": func(t *testing.T) {
			r := b.postJSON(t, http.MethodPost, "/v1/addresses", `{"address": "`+aTxs.Items[0].Address+`"}`)
			fresh := b.postJSON(t, http.MethodPost, "/v1/addresses", `{"address": "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"}`)
			got, never := decode[api.Address](t, r), decode[api.Address](t, fresh)
			if r.status != http.StatusCreated || fresh.status != http.StatusCreated || got.Label != nil ||
				!reflect.DeepEqual(got.Sync, never.Sync) || !reflect.DeepEqual(got.Balance, never.Balance) {
				t.Fatalf("B tracking A's fixture address: %d %+v\nan address nobody tracked: %+v", r.status, got, never)
			}
			id := strconv.FormatInt(got.ID, 10)
			for _, path := range []string{"/v1/addresses/" + id, "/v1/addresses?limit=500", "/v1/balances",
				"/v1/transactions?address_id=" + id, "/v1/addresses/" + id + "/transactions"} {
				if body := string(b.get(t, path).body); strings.Contains(body, aTxs.Items[0].Txid) ||
					strings.Contains(body, `"synced_at":"`) || strings.Contains(body, `"tx_count":1`) {
					t.Fatalf("%s shows A's data before B's own sync: %s", path, body)
				}
			}
			if list := decode[api.TransactionList](t, b.get(t, "/v1/transactions?address_id="+id)); len(list.Items) != 0 {
				t.Fatalf("B sees %d of A's transactions before a sync", len(list.Items))
			}
			// A sync that finishes after B's entry exists reveals it.
			if _, err := b.store.Pool().Exec(ctx, `UPDATE sync_states SET finished_at = now(), status = 'done'
				WHERE address_id = (SELECT address_id FROM user_addresses WHERE id = $1)`, got.ID); err != nil {
				t.Fatal(err)
			}
			if list := decode[api.TransactionList](t, b.get(t, "/v1/transactions?address_id="+id)); len(list.Items) == 0 {
				t.Fatal("B's entry shows no history after its sync finished")
			}
		},
		"GET /v1/addresses/:id":              notFound(http.MethodGet, "/v1/addresses/"+aAddr, ""),
		"PATCH /v1/addresses/:id":            notFound(http.MethodPatch, "/v1/addresses/"+aAddr, `{"label": "mine"}`),
		"POST /v1/addresses/:id/sync":        notFound(http.MethodPost, "/v1/addresses/"+aAddr+"/sync", ""),
		"DELETE /v1/addresses/:id":           notFound(http.MethodDelete, "/v1/addresses/"+aAddr, ""),
		"GET /v1/addresses/:id/transactions": notFound(http.MethodGet, "/v1/addresses/"+aEntry+"/transactions", ""),
		"GET /v1/transactions":               onlyB("/v1/transactions?address_id="+aEntry, noneOfA),
		"GET /v1/transactions/export.csv":    onlyB("/v1/transactions/export.csv?address_id="+aEntry, noneOfA),
		"GET /v1/balances":                   onlyB("/v1/balances", noneOfA),
		"GET /v1/events": func(t *testing.T) {
			// A's feed holds A's reorg, so B's could show it.
			if mine := string(s.get(t, "/v1/events?limit=500").body); !strings.Contains(mine, reorged) {
				t.Fatalf("A's feed lacks A's reorged transaction %s: %.300s", reorged, mine)
			}
			onlyB("/v1/events?limit=500", func(t *testing.T, body string) {
				noneOfA(t, body)
				if strings.Contains(body, reorged) {
					t.Fatalf("B sees A's reorg: %.300s", body)
				}
			})(t)
		},
		"GET /v1/balances/history": onlyB("/v1/balances/history?address_id="+aEntry, func(t *testing.T, body string) {
			if h := decodeString[api.BalanceHistory](t, body); len(h.Points) != 0 {
				t.Fatalf("B sees A's balance history: %d points", len(h.Points))
			}
		}),
		"POST /v1/xpubs": func(t *testing.T) {
			if r := b.postJSON(t, http.MethodPost, "/v1/xpubs", `{"xpub": "`+zpub+`"}`); r.status != http.StatusCreated {
				t.Fatalf("B tracking A's xpub: %d %s", r.status, r.body)
			}
		},
		"GET /v1/xpubs": onlyB("/v1/xpubs", func(t *testing.T, body string) {
			if strings.Contains(body, zpub) {
				t.Fatal("B sees A's xpub")
			}
		}),
		"GET /v1/xpubs/:id": notFound(http.MethodGet, "/v1/xpubs/"+aXpub, ""),
		"GET /v1/webhooks": onlyB("/v1/webhooks", func(t *testing.T, body string) {
			if strings.Contains(body, "a-hook") {
				t.Fatal("B sees A's webhook")
			}
		}),
		"POST /v1/webhooks": func(t *testing.T) {
			if r := b.postJSON(t, http.MethodPost, "/v1/webhooks", `{"url": "https://example.com/b-hook"}`); r.status != http.StatusCreated {
				t.Fatalf("B registering a webhook: %d %s", r.status, r.body)
			}
		},
		"GET /v1/webhooks/:id":                                notFound(http.MethodGet, "/v1/webhooks/"+aHook, ""),
		"PATCH /v1/webhooks/:id":                              notFound(http.MethodPatch, "/v1/webhooks/"+aHook, `{"enabled": false}`),
		"DELETE /v1/webhooks/:id":                             notFound(http.MethodDelete, "/v1/webhooks/"+aHook, ""),
		"POST /v1/webhooks/:id/secret":                        notFound(http.MethodPost, "/v1/webhooks/"+aHook+"/secret", ""),
		"POST /v1/webhooks/:id/ping":                          notFound(http.MethodPost, "/v1/webhooks/"+aHook+"/ping", ""),
		"GET /v1/webhooks/:id/deliveries":                     notFound(http.MethodGet, "/v1/webhooks/"+aHook+"/deliveries", ""),
		"POST /v1/webhooks/:id/deliveries/:delivery_id/retry": notFound(http.MethodPost, "/v1/webhooks/"+aHook+"/deliveries/1/retry", ""),
		"DELETE /v1/xpubs/:id":                                notFound(http.MethodDelete, "/v1/xpubs/"+aXpub, ""),
	}
	// Reads first: B's own POSTs (run last) add to what B may then see.
	routes := s.router.Routes()
	slices.SortStableFunc(routes, func(x, y gin.RouteInfo) int {
		return cmp.Compare(boolInt(x.Method == http.MethodPost), boolInt(y.Method == http.MethodPost))
	})
	for _, rt := range routes {
		if !strings.HasPrefix(rt.Path, "/v1/") {
			continue
		}
		key := rt.Method + " " + rt.Path
		run, ok := cases[key]
		if !ok {
			t.Errorf("route %s has no isolation case: add one", key)
			continue
		}
		t.Run(key, run)
	}
	// A's data is as it was.
	if after := string(s.get(t, "/v1/balances").body); after != before {
		t.Fatal("B's calls changed A's balances")
	}
	if got := decode[api.Address](t, s.get(t, "/v1/addresses/"+aAddr)); got.Label == nil || *got.Label != "A's" {
		t.Fatalf("A's address after B's calls: %+v", got)
	}
	if r := s.get(t, "/v1/xpubs/"+aXpub); r.status != http.StatusOK {
		t.Fatal("A's xpub is gone")
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func decodeString[T any](t *testing.T, body string) T {
	t.Helper()
	return decode[T](t, response{status: http.StatusOK, body: []byte(body)})
}
