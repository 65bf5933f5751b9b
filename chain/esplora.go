// Package chain reads the blockchain from an Esplora-compatible HTTP API
// (the API of Blockstream's and mempool.space's servers): address
// histories page by page, address totals, the tip, the best chain's block
// hashes and single transactions. The client is polite and robust: one
// request budget shared by every caller, which a 429 lowers (budget.go),
// a timeout per request, and retries with exponential backoff and jitter
// on 429 (after Retry-After), 5xx and timeouts; other 4xx fail at once.
package chain

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Options tune a Client.
type Options struct {
	// RequestTimeout bounds each HTTP request (default 10 s) but history
	// pages, which PageTimeout bounds (default 60 s): electrs answers a
	// deep page after scanning the history from its newest entry, so deep
	// pages of a large address take longer than any other request.
	RequestTimeout, PageTimeout time.Duration
	// RatePerSecond and Burst limit requests to the provider (default 5/s,
	// burst 5); 0 RatePerSecond means the default. The rate is a ceiling:
	// 429 answers lower it, successes raise it back (see budget).
	RatePerSecond float64
	Burst         int
	// MaxAttempts bounds tries per request, the first included (default 6).
	MaxAttempts int
	// BaseBackoff is the first retry's wait, doubled each time (default
	// 500 ms), with up to 50% jitter, capped at MaxBackoff (default 30 s).
	BaseBackoff, MaxBackoff time.Duration
	// HTTPClient makes the requests (default: a client with no timeout of
	// its own; RequestTimeout applies per request). Its redirect policy is
	// replaced: the client never follows one.
	HTTPClient *http.Client
	// Metrics, when set, counts and times every request.
	Metrics *Metrics
}

// Client talks to one Esplora-compatible provider. One Client serves a
// whole process: its request budget is shared by every goroutine using it.
type Client struct {
	base   *url.URL
	opts   Options
	budget *budget
}

// New returns a client for the provider at baseURL, which includes any
// path prefix (e.g. https://blockstream.info/api).
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("chain provider URL %q is not an http(s) URL", baseURL)
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 10 * time.Second
	}
	if opts.PageTimeout <= 0 {
		opts.PageTimeout = 60 * time.Second
	}
	opts.PageTimeout = max(opts.PageTimeout, opts.RequestTimeout)
	if opts.RatePerSecond <= 0 {
		opts.RatePerSecond = 5
	}
	if opts.Burst <= 0 {
		opts.Burst = max(1, int(opts.RatePerSecond))
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 6
	}
	if opts.BaseBackoff <= 0 {
		opts.BaseBackoff = 500 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	client := http.Client{}
	if opts.HTTPClient != nil {
		client = *opts.HTTPClient
	}
	// A redirect is answered as it stands, a StatusError, never followed:
	// a provider (or whoever answers for it) could otherwise send the
	// worker to any host, loopback and cloud metadata addresses included.
	// Esplora's API does not redirect; a CHAIN_PROVIDER_URL that does
	// (http:// to https://) fails with the 3xx, saying what to fix.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	opts.HTTPClient = &client
	return &Client{base: u, opts: opts, budget: newBudget(opts.RatePerSecond, opts.Burst, opts.Metrics)}, nil
}

// Tx is a transaction as Esplora returns it (the fields cointracker uses).
type Tx struct {
	Txid   string `json:"txid"`
	Weight int64  `json:"weight"`
	Fee    int64  `json:"fee"`
	Vin    []struct {
		Txid       string  `json:"txid"`
		Vout       uint32  `json:"vout"`
		IsCoinbase bool    `json:"is_coinbase"`
		Prevout    *Output `json:"prevout"`
	} `json:"vin"`
	Vout   []Output `json:"vout"`
	Status Status   `json:"status"`
}

// Output is a transaction output.
type Output struct {
	Address string `json:"scriptpubkey_address"`
	Value   int64  `json:"value"`
}

// Status says whether and where a transaction is confirmed.
type Status struct {
	Confirmed   bool   `json:"confirmed"`
	BlockHeight int32  `json:"block_height"`
	BlockHash   string `json:"block_hash"`
	BlockTime   int64  `json:"block_time"`
}

// VSize is the virtual size in vbytes (weight / 4, rounded up).
func (t Tx) VSize() int64 {
	return (t.Weight + 3) / 4
}

// Effect is what a transaction did to one address, in satoshis: the sum
// of its outputs paying the address, and of its inputs spending the
// address's outputs.
func (t Tx) Effect(address string) (received, sent int64) {
	for _, o := range t.Vout {
		if o.Address == address {
			received += o.Value
		}
	}
	for _, in := range t.Vin {
		if in.Prevout != nil && in.Prevout.Address == address {
			sent += in.Prevout.Value
		}
	}
	return received, sent
}

// FeeShare is the part of the transaction's fee the address paid: the fee
// split between the addresses whose outputs the inputs spend, in
// proportion to the value each brought in. Shares are whole satoshis; the
// few that rounding down leaves go one each to the largest remainders
// (ties to the address whose input comes first), so the shares of all
// input addresses add up to the fee exactly. It is zero for an address
// that spent nothing, and for a coinbase.
func (t Tx) FeeShare(address string) int64 {
	index := map[string]int{}
	var values []uint64 // per input address, in input order
	var total uint64
	for _, in := range t.Vin {
		if in.Prevout == nil || in.Prevout.Value <= 0 {
			continue
		}
		i, ok := index[in.Prevout.Address]
		if !ok {
			i = len(values)
			index[in.Prevout.Address] = i
			values = append(values, 0)
		}
		values[i] += uint64(in.Prevout.Value)
		total += uint64(in.Prevout.Value)
	}
	mine, ok := index[address]
	if !ok || t.Fee <= 0 {
		return 0
	}
	fee := min(uint64(t.Fee), total)
	shares, rems := make([]uint64, len(values)), make([]uint64, len(values))
	left := fee
	for i, v := range values {
		// fee*v/total without overflow: fee <= total, so the quotient fits.
		hi, lo := bits.Mul64(fee, v)
		shares[i], rems[i] = bits.Div64(hi, lo, total)
		left -= shares[i]
	}
	order := make([]int, len(values))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rems[b], rems[a]) })
	for _, i := range order[:left] {
		shares[i]++
	}
	return int64(shares[mine])
}

// Outpoint names a transaction output.
type Outpoint struct {
	Txid string
	Vout uint32
}

// Spends lists the outputs the transaction's inputs spend (none for a
// coinbase).
func (t Tx) Spends() []Outpoint {
	var out []Outpoint
	for _, in := range t.Vin {
		if !in.IsCoinbase {
			out = append(out, Outpoint{in.Txid, in.Vout})
		}
	}
	return out
}

// AddressStats are the provider's totals for an address: confirmed
// (chain) and mempool.
type AddressStats struct {
	Chain   Totals `json:"chain_stats"`
	Mempool Totals `json:"mempool_stats"`
}

// Totals are an address's funded and spent sums and transaction count.
type Totals struct {
	TxCount     int64 `json:"tx_count"`
	FundedSum   int64 `json:"funded_txo_sum"`
	SpentSum    int64 `json:"spent_txo_sum"`
	FundedCount int64 `json:"funded_txo_count"`
	SpentCount  int64 `json:"spent_txo_count"`
}

// Outspend says whether and by which transaction an output is spent.
type Outspend struct {
	Spent  bool   `json:"spent"`
	Txid   string `json:"txid"`
	Status Status `json:"status"`
}

// TipHeight returns the best chain's height (GET /blocks/tip/height).
func (c *Client) TipHeight(ctx context.Context) (int32, error) {
	body, err := c.getText(ctx, "/blocks/tip/height", "/blocks/tip/height")
	if err != nil {
		return 0, err
	}
	h, err := strconv.ParseInt(body, 10, 32)
	if err != nil || h < 0 {
		return 0, fmt.Errorf("tip height %q is not a height", body[:min(len(body), 20)])
	}
	return int32(h), nil
}

// AddressMempoolTxs returns the address's unconfirmed transactions
// (GET /address/:a/txs/mempool). Both Blockstream's electrs and
// mempool.space's fork answer at most 50, the first 50 to arrive, with no
// way to page further (MAX_MEMPOOL_TXS / rest_default_max_mempool_txs in
// src/rest.rs, Mempool::history in src/new_index/mempool.rs): when the
// address has more, AddressStats' mempool tx_count says so.
func (c *Client) AddressMempoolTxs(ctx context.Context, address string) ([]Tx, error) {
	return c.getTxs(ctx, "/address/:a/txs/mempool", "/address/"+url.PathEscape(address)+"/txs/mempool")
}

// AddressChainTxs returns a page of the address's confirmed history,
// newest first: the first page without afterTxid, else the page after that
// txid (GET /address/:a/txs/chain[/:txid]). Both servers give 25 a page;
// a shorter page is the last. An afterTxid the server does not know (a
// reorg took it) is answered 200 [] exactly like the end of the history
// (ChainQuery::_history skips every row looking for it), so an empty page
// after a resume point proves nothing by itself. Deep pages cost the
// server a scan from the newest entry, so they get the longer PageTimeout.
func (c *Client) AddressChainTxs(ctx context.Context, address, afterTxid string) ([]Tx, error) {
	path, endpoint := "/address/"+url.PathEscape(address)+"/txs/chain", "/address/:a/txs/chain"
	if afterTxid != "" {
		path, endpoint = path+"/"+url.PathEscape(afterTxid), endpoint+"/:txid"
	}
	return c.getTxs(ctx, endpoint, path)
}

// AddressStats returns the provider's totals for an address
// (GET /address/:a).
func (c *Client) AddressStats(ctx context.Context, address string) (AddressStats, error) {
	var s AddressStats
	err := c.getJSON(ctx, "/address/:a", "/address/"+url.PathEscape(address), &s)
	return s, err
}

// BlockHashAt returns the hash of the best chain's block at height
// (GET /block-height/:h); a height above the provider's tip is a 404
// (IsNotFound). It asks which block is at a height, so a reorg shows at
// its shallow end, where electrs lets caches keep the answer ten seconds;
// GET /block/:hash/status asks about one block, and for a block ten or
// more deep electrs lets them keep it five years (ttl_by_depth) — as it
// does this answer at that depth, so only a reorg deeper than ten blocks
// behind a caching front end could be misread at its bottom.
func (c *Client) BlockHashAt(ctx context.Context, height int32) (string, error) {
	body, err := c.getText(ctx, "/block-height/:h", "/block-height/"+strconv.FormatInt(int64(height), 10))
	if err != nil {
		return "", err
	}
	if len(body) != 64 {
		return "", fmt.Errorf("block hash at %d: %q is not a block hash", height, body[:min(len(body), 70)])
	}
	return body, nil
}

// Rate is the request rate the client allows itself now, in requests a
// second: the configured rate, less after 429 answers (see budget).
func (c *Client) Rate() float64 {
	return c.budget.rate()
}

// Transaction returns one transaction (GET /tx/:txid). A transaction that
// is neither in a block nor in the provider's mempool is a 404
// (IsNotFound): the one sure sign that it was dropped or replaced.
func (c *Client) Transaction(ctx context.Context, txid string) (Tx, error) {
	var t Tx
	err := c.getJSON(ctx, "/tx/:txid", "/tx/"+url.PathEscape(txid), &t)
	return t, err
}

// Outspend says who spends output vout of txid
// (GET /tx/:txid/outspend/:vout); a replaced (RBF) transaction's inputs
// are spent by the conflicting one.
func (c *Client) Outspend(ctx context.Context, txid string, vout uint32) (Outspend, error) {
	var o Outspend
	err := c.getJSON(ctx, "/tx/:txid/outspend/:vout", "/tx/"+url.PathEscape(txid)+"/outspend/"+strconv.FormatUint(uint64(vout), 10), &o)
	return o, err
}

// IsNotFound says the provider answered 404: an unknown transaction, or a
// height above its tip.
func IsNotFound(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status == http.StatusNotFound
}

func (c *Client) getText(ctx context.Context, endpoint, path string) (string, error) {
	var text string
	err := c.do(ctx, endpoint, path, c.opts.RequestTimeout, func(r io.Reader) error {
		b, err := io.ReadAll(io.LimitReader(r, maxBody))
		text = strings.TrimSpace(string(b))
		return err
	})
	return text, err
}

func (c *Client) getJSON(ctx context.Context, endpoint, path string, v any) error {
	return c.do(ctx, endpoint, path, c.opts.RequestTimeout, func(r io.Reader) error {
		return json.NewDecoder(io.LimitReader(r, maxBody)).Decode(v)
	})
}

// getTxs fetches a list of transactions, decoding them one at a time as
// they arrive. A page of 25 pool payouts with thousands of outputs each is
// tens of megabytes of JSON; decoding element by element holds one
// transaction's text at a time (and the few fields Tx keeps), so such a
// page is read whole with memory bounded by its largest transaction.
func (c *Client) getTxs(ctx context.Context, endpoint, path string) ([]Tx, error) {
	var txs []Tx
	err := c.do(ctx, endpoint, path, c.opts.PageTimeout, func(r io.Reader) error {
		txs = txs[:0]
		dec := json.NewDecoder(&limitedReader{r: r, left: maxPageBody})
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if tok != json.Delim('[') {
			return errors.New("not a JSON array")
		}
		for dec.More() {
			var t Tx
			if err := dec.Decode(&t); err != nil {
				return err
			}
			txs = append(txs, t)
		}
		_, err = dec.Token()
		return err
	})
	return txs, err
}

// Response bounds. An address page is ~100 KiB as a rule, but 25
// transactions of up to 4 MB of witness data each, in hex, are ~200 MB.
const (
	maxBody     = 16 << 20
	maxPageBody = 512 << 20
)

// ErrTooLarge is a response over its bound: asking again gets the same.
var ErrTooLarge = errors.New("provider response over its size limit")

// ErrUnavailable is a request that failed on every attempt (429s, 5xx,
// timeouts): worth trying again later.
var ErrUnavailable = errors.New("provider unavailable")

// limitedReader is io.LimitReader that fails, instead of ending early,
// past its bound, so a truncated page is never taken for a short one.
type limitedReader struct {
	r    io.Reader
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// StatusError is a refusal the provider will repeat: retrying is useless.
// Its message names the status only: a provider's response body is never
// carried into logs or the sync state.
type StatusError struct {
	Path   string
	Status int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: %d %s", e.Path, e.Status, http.StatusText(e.Status))
}

// do fetches path and hands a 200's body to decode, retrying what is worth
// retrying: 429, 5xx, timeouts, resets and bodies cut short. endpoint is
// the path's template, the metrics' label.
func (c *Client) do(ctx context.Context, endpoint, path string, timeout time.Duration, decode func(io.Reader) error) error {
	var lastErr error
	for attempt := range c.opts.MaxAttempts {
		if attempt > 0 {
			wait := c.backoff(attempt, lastErr)
			c.opts.Metrics.retry(endpoint)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return fmt.Errorf("GET %s: %w (last error: %w)", path, ctx.Err(), lastErr)
			}
		}
		if err := c.budget.wait(ctx); err != nil {
			return fmt.Errorf("GET %s: rate limit wait: %w", path, err)
		}
		err := c.once(ctx, endpoint, path, timeout, decode)
		if err == nil {
			c.budget.succeeded()
			return nil
		}
		if ctx.Err() != nil {
			// Cancelled mid-answer, the error may be the body's read
			// failing; say why it failed, so callers can tell.
			return fmt.Errorf("%w: %w", ctx.Err(), err)
		}
		var se *StatusError
		if errors.As(err, &se) || errors.Is(err, ErrTooLarge) {
			return err
		}
		lastErr = err
	}
	return fmt.Errorf("GET %s: gave up after %d attempts (%w): %w", path, c.opts.MaxAttempts, ErrUnavailable, lastErr)
}

// retryable is a failure worth another try: 429, 5xx, timeouts, resets.
type retryable struct {
	err        error
	retryAfter time.Duration
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

func (c *Client) once(ctx context.Context, endpoint, path string, timeout time.Duration, decode func(io.Reader) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.String()+path, nil)
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		c.opts.Metrics.observe(endpoint, "error", time.Since(start))
		return &retryable{err: fmt.Errorf("GET %s: %w", path, err)}
	}
	defer func() { _ = res.Body.Close() }()
	status := strconv.Itoa(res.StatusCode)
	switch {
	case res.StatusCode == http.StatusOK:
		err = decode(res.Body)
		c.opts.Metrics.observe(endpoint, status, time.Since(start))
		if errors.Is(err, ErrTooLarge) {
			return fmt.Errorf("GET %s: %w", path, err)
		}
		if err != nil {
			// A body cut short (a timeout, a reset, a proxy's truncation)
			// is worth another try; so, once or twice, is garbage.
			return &retryable{err: fmt.Errorf("GET %s: read: %w", path, err)}
		}
		return nil
	case res.StatusCode == http.StatusTooManyRequests:
		// Esplora's nginx answers 429 with no Retry-After: the shared
		// budget slows every worker either way.
		retryAfter := parseRetryAfter(res.Header.Get("Retry-After"))
		c.budget.throttled(retryAfter)
		c.opts.Metrics.observe(endpoint, status, time.Since(start))
		return &retryable{err: fmt.Errorf("GET %s: %s", path, res.Status), retryAfter: retryAfter}
	case res.StatusCode >= 500:
		c.opts.Metrics.observe(endpoint, status, time.Since(start))
		return &retryable{
			err:        fmt.Errorf("GET %s: %s", path, res.Status),
			retryAfter: parseRetryAfter(res.Header.Get("Retry-After")),
		}
	}
	c.opts.Metrics.observe(endpoint, status, time.Since(start))
	return &StatusError{Path: path, Status: res.StatusCode}
}

// backoff is the wait before attempt: what Retry-After asked, or the
// exponential backoff with jitter, whichever is longer, at most MaxBackoff.
func (c *Client) backoff(attempt int, lastErr error) time.Duration {
	d := c.opts.BaseBackoff << (attempt - 1)
	d += time.Duration(rand.Int64N(int64(d)/2 + 1))
	var r *retryable
	if errors.As(lastErr, &r) && r.retryAfter > d {
		d = r.retryAfter
	}
	return min(d, c.opts.MaxBackoff)
}

// parseRetryAfter reads seconds or an HTTP date; 0 when absent or bad.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
