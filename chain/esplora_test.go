package chain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fake is an Esplora-compatible server for one address's history, which
// can fail on demand.
type fake struct {
	*httptest.Server
	address string
	mempool []Tx
	chain   []Tx // newest first
	calls   atomic.Int64
	mu      sync.Mutex
	// fail answers the next n requests with status (and Retry-After).
	failStatus int
	failN      int
	retryAfter string
	slowN      int
	slowFor    time.Duration
}

func newFake(t *testing.T, address string, confirmed, pending int) *fake {
	t.Helper()
	f := &fake{address: address}
	tx := func(i int, confirmed bool) Tx {
		t := Tx{Txid: fmt.Sprintf("%064x", i+1), Weight: 561 + int64(i%4), Fee: 150}
		// Even transactions pay the address 1000+i; odd ones spend 500+i of
		// its coins and pay 300 back to it as change.
		if i%2 == 0 {
			t.Vout = []Output{{Address: address, Value: int64(1000 + i)}, {Address: "elsewhere", Value: 7}}
		} else {
			t.Vin = append(t.Vin, struct {
				Txid       string  `json:"txid"`
				Vout       uint32  `json:"vout"`
				IsCoinbase bool    `json:"is_coinbase"`
				Prevout    *Output `json:"prevout"`
			}{Txid: "aa", Prevout: &Output{Address: address, Value: int64(500 + i)}})
			t.Vout = []Output{{Address: "payee", Value: 100}, {Address: address, Value: 300}}
		}
		if confirmed {
			t.Status = Status{Confirmed: true, BlockHeight: int32(800_000 - i), BlockHash: fmt.Sprintf("%064x", 1<<20+i), BlockTime: 1_700_000_000 - int64(i)*600}
		}
		return t
	}
	for i := range pending {
		f.mempool = append(f.mempool, tx(1_000_000+i, false))
	}
	for i := range confirmed {
		f.chain = append(f.chain, tx(i, true))
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) failNext(n, status int, retryAfter string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failN, f.failStatus, f.retryAfter = n, status, retryAfter
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	f.mu.Lock()
	if f.slowN > 0 {
		f.slowN--
		d := f.slowFor
		f.mu.Unlock()
		select {
		case <-time.After(d):
		case <-r.Context().Done():
		}
		return
	}
	if f.failN > 0 {
		f.failN--
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		status := f.failStatus
		f.mu.Unlock()
		http.Error(w, "try later", status)
		return
	}
	f.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/api")
	switch {
	case path == "/blocks/tip/height":
		fmt.Fprint(w, "870123")
	case path == "/address/"+f.address:
		_ = json.NewEncoder(w).Encode(map[string]any{
			"chain_stats":   map[string]int{"tx_count": len(f.chain), "funded_txo_sum": 1234},
			"mempool_stats": map[string]int{"tx_count": len(f.mempool)},
		})
	case path == "/address/"+f.address+"/txs/mempool":
		_ = json.NewEncoder(w).Encode(f.mempool)
	case path == "/address/"+f.address+"/txs/chain":
		_ = json.NewEncoder(w).Encode(f.chain[:min(25, len(f.chain))])
	case strings.HasPrefix(path, "/address/"+f.address+"/txs/chain/"):
		after := strings.TrimPrefix(path, "/address/"+f.address+"/txs/chain/")
		page := []Tx{} // electrs: an unknown txid skips to the end
		for i, tx := range f.chain {
			if tx.Txid == after {
				page = f.chain[i+1 : min(i+26, len(f.chain))]
			}
		}
		_ = json.NewEncoder(w).Encode(page)
	case strings.HasPrefix(path, "/block-height/"):
		if path == "/block-height/800000" {
			fmt.Fprint(w, f.chain[0].Status.BlockHash)
			return
		}
		http.Error(w, "Block not found", http.StatusNotFound)
	default:
		http.NotFound(w, r)
	}
}

func client(t *testing.T, f *fake, opts Options) *Client {
	t.Helper()
	if opts.BaseBackoff == 0 {
		opts.BaseBackoff = time.Millisecond
	}
	if opts.RatePerSecond == 0 {
		opts.RatePerSecond = 1000
	}
	c, err := New(f.URL+"/api/", opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const addr = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"

func TestWalkHistory(t *testing.T) {
	t.Parallel()
	// 75 confirmed transactions: the last page ends exactly at 25.
	f := newFake(t, addr, 75, 2)
	c := client(t, f, Options{})
	ctx := context.Background()
	if h, err := c.TipHeight(ctx); err != nil || h != 870123 {
		t.Fatalf("tip = %d, %v", h, err)
	}
	seen := map[string]bool{}
	var received, sent int64
	add := func(txs []Tx) {
		for _, tx := range txs {
			if seen[tx.Txid] {
				t.Fatalf("tx %s twice", tx.Txid)
			}
			seen[tx.Txid] = true
			r, s := tx.Effect(addr)
			received, sent = received+r, sent+s
		}
	}
	pool, err := c.AddressMempoolTxs(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	add(pool)
	last, pages := "", 0
	for ; ; pages++ {
		txs, err := c.AddressChainTxs(ctx, addr, last)
		if err != nil {
			t.Fatal(err)
		}
		add(txs)
		if len(txs) < 25 {
			break
		}
		last = txs[len(txs)-1].Txid
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if pages != 3 {
		t.Fatalf("%d full pages before the empty one, want 3", pages)
	}
	if txs, err := c.AddressChainTxs(ctx, addr, fmt.Sprintf("%064x", 999)); err != nil || len(txs) != 0 {
		t.Fatalf("after an unknown txid: %d transactions, %v; want electrs's 200 []", len(txs), err)
	}
	if len(seen) != 77 {
		t.Fatalf("walked %d transactions, want 77", len(seen))
	}
	var wantR, wantS int64
	for _, tx := range append(append([]Tx{}, f.mempool...), f.chain...) {
		for _, o := range tx.Vout {
			if o.Address == addr {
				wantR += o.Value
			}
		}
		for _, in := range tx.Vin {
			if in.Prevout != nil && in.Prevout.Address == addr {
				wantS += in.Prevout.Value
			}
		}
	}
	if received != wantR || sent != wantS || received == 0 || sent == 0 {
		t.Fatalf("received %d sent %d, want %d %d", received, sent, wantR, wantS)
	}
	if f.chain[0].VSize() != 141 {
		t.Fatalf("vsize of weight 561 = %d, want 141", f.chain[0].VSize())
	}
	stats, err := c.AddressStats(ctx, addr)
	if err != nil || stats.Chain.TxCount != 75 || stats.Mempool.TxCount != 2 || stats.Chain.FundedSum != 1234 {
		t.Fatalf("stats = %+v, %v", stats, err)
	}
	if h, err := c.BlockHashAt(ctx, 800_000); err != nil || h != f.chain[0].Status.BlockHash {
		t.Fatalf("block hash at 800000 = %q, %v", h, err)
	}
	if _, err := c.BlockHashAt(ctx, 800_001); !IsNotFound(err) {
		t.Fatalf("a height above the tip: %v, want a 404", err)
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name     string
		arrange  func(f *fake)
		attempts int64
	}{
		{"429 burst", func(f *fake) { f.failNext(3, http.StatusTooManyRequests, "0") }, 4},
		{"5xx", func(f *fake) { f.failNext(2, http.StatusBadGateway, "") }, 3},
		{"timeout", func(f *fake) { f.slowN, f.slowFor = 1, 5*time.Second }, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, addr, 3, 0)
			c := client(t, f, Options{RequestTimeout: 200 * time.Millisecond})
			tc.arrange(f)
			if _, err := c.TipHeight(ctx); err != nil {
				t.Fatal(err)
			}
			if got := f.calls.Load(); got != tc.attempts {
				t.Fatalf("%d requests, want %d", got, tc.attempts)
			}
		})
	}

	t.Run("permanent 4xx", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, addr, 3, 0)
		c := client(t, f, Options{})
		_, err := c.AddressChainTxs(ctx, "unknown-address", "")
		var se *StatusError
		if !errors.As(err, &se) || se.Status != http.StatusNotFound || f.calls.Load() != 1 {
			t.Fatalf("404: %v after %d requests", err, f.calls.Load())
		}
	})

	t.Run("gives up", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, addr, 3, 0)
		c := client(t, f, Options{MaxAttempts: 3})
		f.failNext(10, http.StatusServiceUnavailable, "")
		if _, err := c.TipHeight(ctx); err == nil || !strings.Contains(err.Error(), "gave up after 3") || f.calls.Load() != 3 {
			t.Fatalf("persistent 503: %v after %d requests", err, f.calls.Load())
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, addr, 3, 0)
		c := client(t, f, Options{BaseBackoff: time.Hour})
		f.failNext(1, http.StatusTooManyRequests, "3600")
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(50 * time.Millisecond); cancel() }()
		if _, err := c.TipHeight(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled while backing off: %v", err)
		}
	})
}

func TestBackoffHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	c, err := New("https://example.com/api", Options{BaseBackoff: 100 * time.Millisecond, MaxBackoff: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= 6; attempt++ {
		base := 100 * time.Millisecond << (attempt - 1)
		d := c.backoff(attempt, errors.New("boom"))
		if d < min(base, 10*time.Second) || d > min(base*3/2, 10*time.Second) {
			t.Fatalf("attempt %d waits %s, want %s plus up to half again", attempt, d, base)
		}
	}
	if d := c.backoff(1, &retryable{err: errors.New("429"), retryAfter: 7 * time.Second}); d != 7*time.Second {
		t.Fatalf("Retry-After 7 s gave a wait of %s", d)
	}
	if d := c.backoff(1, &retryable{err: errors.New("429"), retryAfter: time.Hour}); d != 10*time.Second {
		t.Fatalf("a huge Retry-After is capped: %s", d)
	}
	if got := parseRetryAfter(time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)); got < 30*time.Second || got > time.Minute {
		t.Fatalf("HTTP-date Retry-After = %s", got)
	}
	for _, bad := range []string{"", "soon", "-3"} {
		if parseRetryAfter(bad) != 0 {
			t.Fatalf("Retry-After %q parsed", bad)
		}
	}
	if _, err := New("ftp://x", Options{}); err == nil {
		t.Fatal("ftp URL accepted")
	}
}

func TestFeeShare(t *testing.T) {
	// in builds a transaction from its inputs' (address, value) and fee.
	in := func(fee int64, inputs ...any) Tx {
		var b strings.Builder
		fmt.Fprintf(&b, `{"fee": %d, "vin": [`, fee)
		for i := 0; i < len(inputs); i += 2 {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"prevout": {"scriptpubkey_address": %q, "value": %d}}`, inputs[i], inputs[i+1])
		}
		b.WriteString("]}")
		var tx Tx
		if err := json.Unmarshal([]byte(b.String()), &tx); err != nil {
			t.Fatal(err)
		}
		return tx
	}
	const maxSats = 2_100_000_000_000_000
	for _, c := range []struct {
		name string
		tx   Tx
		want map[string]int64
	}{
		{"one payer pays it all", in(1410, "a", 50_000), map[string]int64{"a": 1410}},
		{"a receiver pays nothing", in(1410, "a", 50_000), map[string]int64{"a": 1410, "b": 0}},
		{"two inputs of one address", in(1000, "a", 10_000, "a", 20_000), map[string]int64{"a": 1000}},
		// 1000 * 1/3 = 333.33, 1000 * 2/3 = 666.67: the spare satoshi goes to b.
		{"largest remainder", in(1000, "a", 10_000, "b", 20_000), map[string]int64{"a": 333, "b": 667}},
		// Three equal thirds of 100: 33 each, the spare to the first input's address.
		{"tie to the first input", in(100, "c", 7_000, "a", 7_000, "b", 7_000), map[string]int64{"c": 34, "a": 33, "b": 33}},
		// fee * value overflows 64 bits: still exact.
		{"whole supply", in(maxSats/2, "a", maxSats/4, "b", maxSats/4*3), map[string]int64{"a": maxSats / 8, "b": maxSats / 8 * 3}},
		{"no fee", in(0, "a", 5), map[string]int64{"a": 0}},
		{"coinbase", Tx{}, map[string]int64{"a": 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var sum int64
			for addr, want := range c.want {
				got := c.tx.FeeShare(addr)
				if got != want {
					t.Errorf("FeeShare(%s) = %d, want %d", addr, got, want)
				}
				sum += got
			}
			if sum != c.tx.Fee {
				t.Errorf("shares sum to %d, want the fee %d", sum, c.tx.Fee)
			}
		})
	}
}

// TestBigPagesAreReadWhole: 25 pool payouts of 5,000 outputs are a page
// of ~20 MB, over the 16 MiB any other answer may take; the page is read
// whole, one transaction at a time.
func TestBigPagesAreReadWhole(t *testing.T) {
	t.Parallel()
	type out struct {
		Scriptpubkey        string `json:"scriptpubkey"`
		ScriptpubkeyAsm     string `json:"scriptpubkey_asm"`
		ScriptpubkeyType    string `json:"scriptpubkey_type"`
		ScriptpubkeyAddress string `json:"scriptpubkey_address"`
		Value               int64  `json:"value"`
	}
	payout := func(i int) map[string]any {
		outs := make([]out, 5000)
		for j := range outs {
			outs[j] = out{"0014" + fmt.Sprintf("%040x", j), "OP_0 OP_PUSHBYTES_20 " + fmt.Sprintf("%040x", j),
				"v0_p2wpkh", fmt.Sprintf("bc1q%038x", j), 1000 + int64(j)}
		}
		return map[string]any{"txid": fmt.Sprintf("%064x", i+1), "fee": 0, "vout": outs,
			"status": map[string]any{"confirmed": true, "block_height": 800_000 - i}}
	}
	page := make([]map[string]any, 25)
	for i := range page {
		page[i] = payout(i)
	}
	body, err := json.Marshal(page)
	if err != nil {
		t.Fatal(err)
	}
	if len(body) <= maxBody {
		t.Fatalf("the page is %d bytes: not over the %d-byte bound it is meant to pass", len(body), maxBody)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, Options{RatePerSecond: 1000})
	if err != nil {
		t.Fatal(err)
	}
	txs, err := c.AddressChainTxs(context.Background(), "bc1qpool", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(txs) != 25 || len(txs[24].Vout) != 5000 || txs[24].Vout[4999].Value != 5999 {
		t.Fatalf("read %d transactions of a %d-byte page", len(txs), len(body))
	}
}

// TestTruncatedPageIsRetried: a page cut short by a proxy is never taken
// for a short (final) page.
func TestTruncatedPageIsRetried(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Content-Length", "1000")
			_, _ = w.Write([]byte(`[{"txid": "aa", "status": {"confirmed": true}}, {"txid": "b`))
			return
		}
		_, _ = w.Write([]byte(`[{"txid": "aa", "status": {"confirmed": true}}, {"txid": "bb", "status": {"confirmed": true}}]`))
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, Options{RatePerSecond: 1000, BaseBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	txs, err := c.AddressChainTxs(context.Background(), "bc1qx", "")
	if err != nil || len(txs) != 2 || calls.Load() != 2 {
		t.Fatalf("%d transactions after %d requests (%v), want 2 after a retry", len(txs), calls.Load(), err)
	}
}

// TestCancelledMidBodyIsCancelled: a context cancelled while the body is
// being read fails the request with the context's error, whatever the
// read said (net/http reports it as "use of closed network connection").
func TestCancelledMidBodyIsCancelled(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("[]")) }))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, Options{RatePerSecond: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	err = c.do(ctx, "/x", "/x", time.Second, func(io.Reader) error {
		cancel()
		return errors.New("read tcp: use of closed network connection")
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestRedirectsAreNotFollowed plays a provider (or a proxy in front of it)
// that redirects to another host, as an attacker would to reach loopback
// or a cloud metadata address: the client answers with the redirect as a
// StatusError and the other host never hears from it.
func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	var reached atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		reached.Add(1)
		_, _ = io.WriteString(w, "870000")
	}))
	t.Cleanup(target.Close)
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/latest/meta-data/", http.StatusFound)
	}))
	t.Cleanup(redirecting.Close)
	for _, hc := range []*http.Client{nil, {}} {
		c, err := New(redirecting.URL, Options{HTTPClient: hc, MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.TipHeight(context.Background())
		var se *StatusError
		if !errors.As(err, &se) || se.Status != http.StatusFound {
			t.Fatalf("redirect: %v, want a StatusError 302", err)
		}
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("the redirect's target got %d requests", n)
	}
}
