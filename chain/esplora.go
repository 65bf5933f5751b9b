// Package chain reads the blockchain from an Esplora-compatible HTTP API
// (the API of Blockstream's and mempool.space's servers): address
// histories page by page, address totals, the tip and block status. The
// client is polite and robust: a client-side rate limit, a timeout per
// request, and retries with exponential backoff and jitter on 429 (after
// Retry-After), 5xx and timeouts; other 4xx fail at once.
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

	"golang.org/x/time/rate"
)

// Options tune a Client.
type Options struct {
	// RequestTimeout bounds each HTTP request (default 10 s).
	RequestTimeout time.Duration
	// RatePerSecond and Burst limit requests to the provider (default 5/s,
	// burst 5); 0 RatePerSecond means the default.
	RatePerSecond float64
	Burst         int
	// MaxAttempts bounds tries per request, the first included (default 6).
	MaxAttempts int
	// BaseBackoff is the first retry's wait, doubled each time (default
	// 500 ms), with up to 50% jitter, capped at MaxBackoff (default 30 s).
	BaseBackoff, MaxBackoff time.Duration
	// HTTPClient makes the requests (default: a client with no timeout of
	// its own; RequestTimeout applies per request).
	HTTPClient *http.Client
	// Metrics, when set, counts and times every request.
	Metrics *Metrics
}

// Client talks to one Esplora-compatible provider.
type Client struct {
	base    *url.URL
	opts    Options
	limiter *rate.Limiter
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
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	return &Client{base: u, opts: opts, limiter: rate.NewLimiter(rate.Limit(opts.RatePerSecond), opts.Burst)}, nil
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

// BlockStatus says whether a block is on the best chain.
type BlockStatus struct {
	InBestChain bool  `json:"in_best_chain"`
	Height      int32 `json:"height"`
}

// TipHeight returns the best chain's height (GET /blocks/tip/height).
func (c *Client) TipHeight(ctx context.Context) (int32, error) {
	body, err := c.get(ctx, "/blocks/tip/height", "/blocks/tip/height")
	if err != nil {
		return 0, err
	}
	h, err := strconv.ParseInt(strings.TrimSpace(string(body)), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("tip height %q: %w", body, err)
	}
	return int32(h), nil
}

// AddressTxs returns a page of an address's history, newest first:
// without afterTxid, its mempool transactions and first confirmed page
// (GET /address/:a/txs); with it, the next confirmed page after that txid
// (GET /address/:a/txs/chain/:txid, 25 at a time). An empty page ends it.
func (c *Client) AddressTxs(ctx context.Context, address, afterTxid string) ([]Tx, error) {
	path, endpoint := "/address/"+url.PathEscape(address)+"/txs", "/address/:a/txs"
	if afterTxid != "" {
		path, endpoint = path+"/chain/"+url.PathEscape(afterTxid), endpoint+"/chain/:txid"
	}
	var txs []Tx
	if err := c.getJSON(ctx, endpoint, path, &txs); err != nil {
		return nil, err
	}
	return txs, nil
}

// AddressStats returns the provider's totals for an address
// (GET /address/:a).
func (c *Client) AddressStats(ctx context.Context, address string) (AddressStats, error) {
	var s AddressStats
	err := c.getJSON(ctx, "/address/:a", "/address/"+url.PathEscape(address), &s)
	return s, err
}

// BlockStatus says whether a block is on the best chain
// (GET /block/:hash/status); a reorg shows as in_best_chain false.
func (c *Client) BlockStatus(ctx context.Context, hash string) (BlockStatus, error) {
	var s BlockStatus
	err := c.getJSON(ctx, "/block/:hash/status", "/block/"+url.PathEscape(hash)+"/status", &s)
	return s, err
}

// Outspend says who spends output vout of txid
// (GET /tx/:txid/outspend/:vout); a replaced (RBF) transaction's inputs
// are spent by the confirmed conflicting one.
func (c *Client) Outspend(ctx context.Context, txid string, vout uint32) (Outspend, error) {
	var o Outspend
	err := c.getJSON(ctx, "/tx/:txid/outspend/:vout", "/tx/"+url.PathEscape(txid)+"/outspend/"+strconv.FormatUint(uint64(vout), 10), &o)
	return o, err
}

func (c *Client) getJSON(ctx context.Context, endpoint, path string, v any) error {
	body, err := c.get(ctx, endpoint, path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: decode: %w", path, err)
	}
	return nil
}

// StatusError is a refusal the provider will repeat: retrying is useless.
type StatusError struct {
	Path   string
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: %d %s: %s", e.Path, e.Status, http.StatusText(e.Status), e.Body)
}

// maxBody bounds what is read of a response (an address page is ~100 KiB).
const maxBody = 16 << 20

// get fetches path, retrying what is worth retrying. endpoint is the
// path's template, the metrics' label.
func (c *Client) get(ctx context.Context, endpoint, path string) ([]byte, error) {
	var lastErr error
	for attempt := range c.opts.MaxAttempts {
		if attempt > 0 {
			wait := c.backoff(attempt, lastErr)
			c.opts.Metrics.retry(endpoint)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return nil, fmt.Errorf("GET %s: %w (last error: %w)", path, ctx.Err(), lastErr)
			}
		}
		if err := c.limiter.Wait(ctx); err != nil {
			return nil, fmt.Errorf("GET %s: rate limit wait: %w", path, err)
		}
		body, err := c.once(ctx, endpoint, path)
		if err == nil {
			return body, nil
		}
		var se *StatusError
		if errors.As(err, &se) || ctx.Err() != nil {
			return nil, err
		}
		lastErr = err
	}
	return nil, fmt.Errorf("GET %s: gave up after %d attempts: %w", path, c.opts.MaxAttempts, lastErr)
}

// retryable is a failure worth another try: 429, 5xx, timeouts, resets.
type retryable struct {
	err        error
	retryAfter time.Duration
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

func (c *Client) once(ctx context.Context, endpoint, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.String()+path, nil)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	res, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		c.opts.Metrics.observe(endpoint, "error", time.Since(start))
		return nil, &retryable{err: fmt.Errorf("GET %s: %w", path, err)}
	}
	defer func() { _ = res.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	c.opts.Metrics.observe(endpoint, strconv.Itoa(res.StatusCode), time.Since(start))
	if err != nil {
		return nil, &retryable{err: fmt.Errorf("GET %s: read: %w", path, err)}
	}
	switch {
	case res.StatusCode == http.StatusOK:
		return body, nil
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		return nil, &retryable{
			err:        fmt.Errorf("GET %s: %s", path, res.Status),
			retryAfter: parseRetryAfter(res.Header.Get("Retry-After")),
		}
	}
	return nil, &StatusError{Path: path, Status: res.StatusCode, Body: strings.TrimSpace(string(body[:min(len(body), 200)]))}
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
