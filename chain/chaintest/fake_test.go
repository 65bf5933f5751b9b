package chaintest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// get fetches a path from the fake and returns the status and body.
func get(t *testing.T, f *Fake, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, f.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(body)
}

// page decodes a list of transactions as (txid, confirmed) pairs.
func page(t *testing.T, body string) (txids []string, confirmed []bool) {
	t.Helper()
	var txs []struct {
		Txid   string `json:"txid"`
		Status struct {
			Confirmed bool `json:"confirmed"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(body), &txs); err != nil {
		t.Fatalf("%v: %.200s", err, body)
	}
	for _, tx := range txs {
		txids, confirmed = append(txids, tx.Txid), append(confirmed, tx.Status.Confirmed)
	}
	return txids, confirmed
}

const addr = "bc1qfaketest"

// TestShapesOfTheFirstPage: Blockstream's /txs is up to 50 mempool then 25
// confirmed; mempool.space's lists the mempool twice and fills to 50.
func TestShapesOfTheFirstPage(t *testing.T) {
	for shape, want := range map[Shape][2]int{Blockstream: {10, 25}, MempoolSpace: {20, 30}} {
		f := NewShaped(shape)
		f.History(addr, 60, 5)
		for range 10 {
			f.Send([]In{{Address: "bc1qother", Value: 2_000}}, []Out{{Address: addr, Value: 1_000}})
		}
		_, body := get(t, f, "/address/"+addr+"/txs")
		_, confirmed := page(t, body)
		pool := 0
		for _, c := range confirmed {
			if !c {
				pool++
			}
		}
		if pool != want[0] || len(confirmed)-pool != want[1] {
			t.Errorf("%s: first page has %d unconfirmed and %d confirmed, want %d and %d",
				shape, pool, len(confirmed)-pool, want[0], want[1])
		}
		f.Close()
	}
}

// TestEsploraAnswers: the mempool listing is the first 50 by arrival, an
// unknown resume txid is 200 [], an unknown transaction and a height above
// the tip are 404s.
func TestEsploraAnswers(t *testing.T) {
	f := New()
	defer f.Close()
	f.History(addr, 30, 5)
	var sent []string
	for range 60 {
		sent = append(sent, f.Send([]In{{Address: "bc1qother", Value: 2_000}}, []Out{{Address: addr, Value: 1_000}}))
	}
	_, body := get(t, f, "/address/"+addr+"/txs/mempool")
	if txids, _ := page(t, body); len(txids) != 50 || txids[0] != sent[0] || txids[49] != sent[49] {
		t.Fatalf("mempool listing has %d, want the first 50 sent, oldest first", len(txids))
	}
	if status, body := get(t, f, "/address/"+addr+"/txs/chain/"+strings.Repeat("ab", 32)); status != 200 || strings.TrimSpace(body) != "[]" {
		t.Fatalf("unknown resume txid: %d %s, want 200 []", status, body)
	}
	if status, _ := get(t, f, "/tx/"+strings.Repeat("ab", 32)); status != http.StatusNotFound {
		t.Fatalf("unknown transaction: %d, want 404", status)
	}
	if status, _ := get(t, f, "/block-height/7"); status != http.StatusNotFound {
		t.Fatalf("height above the tip (6): %d, want 404", status)
	}
}

// TestLaggingAlternates: behind the round-robin, every other answer comes
// from a backend a block behind.
func TestLaggingAlternates(t *testing.T) {
	f := New()
	defer f.Close()
	f.History(addr, 10, 5) // tip 2
	f.Lagging(true)
	var tips []string
	for range 4 {
		_, body := get(t, f, "/blocks/tip/height")
		tips = append(tips, body)
	}
	if strings.Join(tips, ",") != "2,1,2,1" && strings.Join(tips, ",") != "1,2,1,2" {
		t.Fatalf("tips %v, want the two backends in turn", tips)
	}
}
