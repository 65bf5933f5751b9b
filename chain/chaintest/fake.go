// Package chaintest is an in-process, Esplora-compatible blockchain
// provider for tests. It keeps a ground truth (blocks, transactions with
// their inputs' prevouts, a mempool) that tests shape step by step —
// mining, reorgs, RBF replacements, drops — and serves it as the real
// servers do, quirks included, with injectable faults.
//
// Each quirk is read from the servers' source: Blockstream/electrs
// (src/rest.rs, src/new_index/schema.rs, src/new_index/mempool.rs) behind
// blockstream.info, and its fork mempool/electrs behind mempool.space:
//   - GET /address/:a/txs, the first page, in each server's Shape;
//   - GET /address/:a/txs/mempool: at most 50, the first 50 to arrive,
//     oldest first, no further pages (Mempool::_history: entries in push
//     order, .take(limit));
//   - GET /address/:a/txs/chain/:txid: 25 a page; an unknown txid is
//     200 [] (ChainQuery::_history's skip_while never finds it);
//   - GET /tx/:txid: 404 "Transaction not found" once a transaction is in
//     neither the chain nor the mempool;
//   - GET /block-height/:h: the best chain's hash, 404 above the tip;
//   - modes: a block update window (BlockUpdateWindow), a lagging backend
//     behind a round-robin (Lagging), block status cached once ten deep
//     (CacheBlockStatus), nginx's limit_req answering 429 without
//     Retry-After (RateLimit), deep pages that get slower (DeepPageDelay),
//     and pool payouts of a megabyte (Payout).
package chaintest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Esplora's page sizes: CHAIN_TXS_PER_PAGE and MAX_MEMPOOL_TXS in
// Blockstream's src/rest.rs, the defaults of rest_default_chain_txs_per_page
// and rest_default_max_mempool_txs in mempool.space's src/config.rs.
const (
	ChainPage   = 25
	MempoolPage = 50
)

// Shape is how a server fills the first page of GET /address/:a/txs.
type Shape int

const (
	// Blockstream is Blockstream's electrs: up to 50 mempool
	// transactions, then up to 25 confirmed ones (src/rest.rs).
	Blockstream Shape = iota
	// MempoolSpace is mempool.space's fork: the mempool transactions, then confirmed ones
	// until the page holds 50 (src/rest.rs: max_txs defaults to 50, and
	// the chain fills max_txs - txs.len()). Its code extends the page with
	// the mempool history twice, so each unconfirmed transaction is
	// listed twice.
	MempoolSpace
)

// String names the shape, for subtests.
func (s Shape) String() string {
	if s == MempoolSpace {
		return "mempool.space"
	}
	return "blockstream"
}

// In is one input: the output it spends, or a coinbase.
type In struct {
	Coinbase bool
	Address  string // the spent output's address
	Value    int64  // the spent output's value
}

// Out is one output.
type Out struct {
	Address string
	Value   int64
}

type tx struct {
	txid     string
	ins      []input
	outs     []Out
	fee      int64
	seq      int // arrival order: breaks ties within a block
	height   int32
	hash     string // block hash; "" while unconfirmed
	inPool   bool   // in the mempool
	vsize    int64
	coinbase bool
	// window: mined, but still listed in the mempool (BlockUpdateWindow).
	window bool
	// payout: the transaction's outputs render with full scripts, a
	// megabyte for 5,000 outputs (Payout).
	payout bool
}

type input struct {
	prevTxid string
	prevVout uint32
	prevout  *Out
}

type block struct {
	hash string
	time int64
}

// Fake is the provider. Its methods are safe for concurrent use.
type Fake struct {
	*httptest.Server

	mu       sync.Mutex
	blocks   []block // the best chain; index = height
	stale    map[string]int32
	txs      map[string]*tx
	seq      int
	byAddr   map[string][]string // txids touching each address, arrival order
	outspend map[string]string   // "txid:vout" -> spending txid
	faults   []fault
	delay    time.Duration
	delayN   int
	onPage   func(path string)
	requests map[string]int
	faulted  int // fault answers sent
	cutOff   int // slow answers the client gave up waiting for
	skew     map[string]int64
	version  int // bumped by every change, invalidating cache
	cache    map[string]orderedTxs

	shape        Shape
	updateWindow bool              // BlockUpdateWindow
	lagging      bool              // Lagging
	seqAtTip     int               // the last arrival before the newest block
	served       int               // requests answered, for the round-robin
	statusCache  map[string][]byte // CacheBlockStatus; nil when off
	limiter      *rate.Limiter     // RateLimit; nil when off
	limited      int               // 429s the limiter answered
	deepDelay    time.Duration     // DeepPageDelay
}

// orderedTxs is an address's history in Esplora's order, cached until the
// next change (a 100,000-transaction history is paged 4,000 times).
type orderedTxs struct {
	version         int
	pool, confirmed []*tx
	position        map[string]int // txid -> index in confirmed
}

type fault struct {
	status     int
	retryAfter string
}

// New starts a fake of Blockstream's shape whose chain has a genesis
// block at height 0. Close it when done.
func New() *Fake {
	return NewShaped(Blockstream)
}

// NewShaped starts a fake in a server's shape.
func NewShaped(shape Shape) *Fake {
	f := &Fake{
		stale: map[string]int32{}, txs: map[string]*tx{}, byAddr: map[string][]string{},
		outspend: map[string]string{}, requests: map[string]int{}, cache: map[string]orderedTxs{},
		skew: map[string]int64{}, shape: shape,
	}
	f.blocks = []block{{hash: randomHex(), time: genesisTime}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

const genesisTime = 1_600_000_000

// Tip returns the best chain's height.
func (f *Fake) Tip() int32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int32(len(f.blocks) - 1)
}

// Send puts a transaction in the mempool and returns its txid. Its fee is
// what the inputs bring in beyond the outputs (zero for a coinbase).
func (f *Fake) Send(ins []In, outs []Out) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.add(ins, outs)
}

func (f *Fake) add(ins []In, outs []Out) string {
	t := &tx{txid: randomHex(), outs: outs, inPool: true, height: -1}
	var in, out int64
	for _, i := range ins {
		if i.Coinbase {
			t.coinbase = true
			t.ins = append(t.ins, input{prevTxid: strings.Repeat("0", 64), prevVout: 0xffffffff})
			continue
		}
		in += i.Value
		t.ins = append(t.ins, input{prevTxid: randomHex(), prevVout: uint32(len(t.ins)), prevout: &Out{i.Address, i.Value}})
	}
	for _, o := range outs {
		out += o.Value
	}
	if !t.coinbase {
		t.fee = in - out
	}
	t.vsize = int64(10 + 68*len(ins) + 31*len(outs))
	f.insert(t)
	return t.txid
}

func (f *Fake) insert(t *tx) {
	f.version++
	f.seq++
	t.seq = f.seq
	f.txs[t.txid] = t
	for _, a := range t.addresses() {
		f.byAddr[a] = append(f.byAddr[a], t.txid)
	}
	for _, i := range t.ins {
		if i.prevout != nil {
			f.outspend[i.prevTxid+":"+strconv.Itoa(int(i.prevVout))] = t.txid
		}
	}
}

// addresses lists the addresses a transaction touches, once each.
func (t *tx) addresses() []string {
	var out []string
	for _, i := range t.ins {
		if i.prevout != nil && !slices.Contains(out, i.prevout.Address) {
			out = append(out, i.prevout.Address)
		}
	}
	for _, o := range t.outs {
		if !slices.Contains(out, o.Address) {
			out = append(out, o.Address)
		}
	}
	return out
}

// Mine appends a block holding the given mempool transactions (all of the
// mempool when none are given) and returns its height.
func (f *Fake) Mine(txids ...string) int32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mine(txids)
}

func (f *Fake) mine(txids []string) int32 {
	f.version++
	h := int32(len(f.blocks))
	f.seqAtTip = f.seq
	b := block{hash: randomHex(), time: genesisTime + int64(h)*600}
	f.blocks = append(f.blocks, b)
	if len(txids) == 0 {
		for id, t := range f.txs {
			if t.inPool {
				txids = append(txids, id)
			}
		}
	}
	for _, id := range txids {
		t := f.txs[id]
		t.inPool, t.height, t.hash, t.window = false, h, b.hash, f.updateWindow
	}
	return h
}

// BlockUpdateWindow (while on) leaves the transactions of each block
// mined also listed in the mempool (as unconfirmed copies, counted in
// mempool_stats), as electrs does for a moment: it indexes a new block
// before its mempool update removes the block's transactions. Turning it
// off ends every window.
func (f *Fake) BlockUpdateWindow(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version++
	f.updateWindow = on
	if !on {
		for _, t := range f.txs {
			t.window = false
		}
	}
}

// Lagging (while on) puts a second backend behind a round-robin with the
// first: every other request is answered by a backend that stopped when
// the newest block arrived. It does not know that block (its height is a
// 404, its status in_best_chain false), still has the block's
// transactions in its mempool, and has not seen anything sent since (its
// listing lacks them, GET /tx/:txid is a 404). Load-balanced Esplora deployments (blockstream.info,
// mempool.space) show this for a few seconds after each block.
func (f *Fake) Lagging(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version++
	f.lagging = on
}

// CacheBlockStatus (from now on) answers GET /block/:hash/status and
// GET /block-height/:h from a cache for any block ten or more deep when
// first asked: electrs marks such answers cacheable for five years
// (ttl_by_depth, CONF_FINAL = 10), and the front ends in front of it keep
// them.
func (f *Fake) CacheBlockStatus() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statusCache = map[string][]byte{}
}

// RateLimit refuses requests past perSecond (with burst) with a bare 429
// and nginx's HTML body, no Retry-After: the limit_req in front of
// Esplora's public servers (about 5 a second, burst 10).
func (f *Fake) RateLimit(perSecond float64, burst int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limiter = rate.NewLimiter(rate.Limit(perSecond), burst)
}

// Limited returns how many requests RateLimit refused.
func (f *Fake) Limited() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.limited
}

// DeepPageDelay makes each history page after a resume point take perPage
// longer for every page it lies below the newest: electrs finds a resume
// point by scanning the history from its newest entry (the "seek
// directly" TODO in ChainQuery::_history), so deep pages get slower.
func (f *Fake) DeepPageDelay(perPage time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deepDelay = perPage
}

// Payout puts a mining pool's payout in the mempool: outputs outputs, one
// of them paying address value, rendered with full scripts as Esplora
// does (about a megabyte for 4,000 outputs). It returns the txid.
func (f *Fake) Payout(address string, value int64, outputs int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	outs := make([]Out, outputs)
	outs[0] = Out{address, value}
	for i := 1; i < outputs; i++ {
		outs[i] = Out{fmt.Sprintf("bc1qminer%033d", i), 10_000 + int64(i)}
	}
	var sum int64
	for _, o := range outs {
		sum += o.Value
	}
	id := f.add([]In{{Address: "bc1qpoolwallet", Value: sum + 50_000}}, outs)
	f.txs[id].payout = true
	return id
}

// History gives address n confirmed transactions at once, txsPerBlock to
// a block, alternating receipts and spends so the balance never goes
// negative, and returns the txids oldest first.
func (f *Fake) History(address string, n, txsPerBlock int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]string, 0, n)
	var batch []string
	for i := range n {
		var id string
		if i%2 == 0 {
			id = f.add([]In{{Address: "bc1qfunder", Value: 100_000 + int64(i)}}, []Out{{address, 90_000 + int64(i)}, {"bc1qfunder", 9_000}})
		} else {
			id = f.add([]In{{Address: address, Value: 90_000 + int64(i-1)}}, []Out{{"bc1qpayee", 80_000}, {address, 9_000 + int64(i)}})
		}
		ids, batch = append(ids, id), append(batch, id)
		if len(batch) == txsPerBlock || i == n-1 {
			f.mine(batch)
			batch = batch[:0]
		}
	}
	return ids
}

// Reorg removes the top depth blocks from the best chain: their
// transactions return to the mempool, except those in drop, which vanish.
func (f *Fake) Reorg(depth int, drop ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version++
	top := len(f.blocks) - depth
	for h := top; h < len(f.blocks); h++ {
		f.stale[f.blocks[h].hash] = int32(h)
	}
	f.blocks = f.blocks[:top]
	for _, t := range f.txs {
		if t.height >= int32(top) {
			t.inPool, t.height, t.hash = true, -1, ""
		}
	}
	for _, id := range drop {
		f.remove(id)
	}
}

// Replace replaces a mempool transaction by one spending the same inputs
// with a higher fee (RBF), paying outs instead, and returns its txid. The
// old one leaves the mempool; Mine the new one to confirm the replacement.
func (f *Fake) Replace(txid string, outs []Out) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.txs[txid]
	t := &tx{txid: randomHex(), outs: outs, inPool: true, height: -1, ins: old.ins, vsize: old.vsize}
	var in, out int64
	for _, i := range old.ins {
		in += i.prevout.Value
	}
	for _, o := range outs {
		out += o.Value
	}
	t.fee = in - out
	f.remove(txid)
	f.insert(t)
	return t.txid
}

// Drop takes a transaction out of the mempool, as an expiry would.
func (f *Fake) Drop(txid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.remove(txid)
}

func (f *Fake) remove(txid string) {
	f.version++
	t := f.txs[txid]
	delete(f.txs, txid)
	for _, a := range t.addresses() {
		f.byAddr[a] = slices.DeleteFunc(f.byAddr[a], func(id string) bool { return id == txid })
	}
	for _, i := range t.ins {
		key := i.prevTxid + ":" + strconv.Itoa(int(i.prevVout))
		if f.outspend[key] == txid {
			delete(f.outspend, key)
		}
	}
}

// Skew makes the provider's totals for address claim delta more sats
// funded than its history shows, as a provider with a truncated history
// would.
func (f *Fake) Skew(address string, delta int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.skew[address] = delta
}

// FailNext makes the next n requests answer status, with a Retry-After
// header when retryAfter is not empty.
func (f *Fake) FailNext(n, status int, retryAfter string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.faults = append(f.faults, fault{status, retryAfter})
	}
}

// SlowNext delays the next n answers by d.
func (f *Fake) SlowNext(n int, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay, f.delayN = d, n
}

// OnPage calls fn (outside the fake's lock) before answering each address
// history request, e.g. to make a transaction arrive between two pages.
func (f *Fake) OnPage(fn func(path string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onPage = fn
}

// Requests counts the requests answered per endpoint template.
func (f *Fake) Requests(endpoint string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[endpoint]
}

// RequestsTotal counts every request answered, 429s included.
func (f *Fake) RequestsTotal() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.requests {
		n += c
	}
	return n
}

// Faults returns how many injected faults were answered and how many slow
// answers the client stopped waiting for.
func (f *Fake) Faults() (answered, cutOff int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.faulted, f.cutOff
}

// Entry is one transaction's effect on an address in the ground truth.
type Entry struct {
	Txid           string
	Received, Sent int64
	FeeShare       int64 // the part of the fee the address's inputs paid
	Confirmed      bool
	Height         int32
}

// Totals is what a balance shows for a set of entries: the net of the
// confirmed and of the unconfirmed ones, the sums received and sent, and
// their count.
type Totals struct {
	Confirmed, Unconfirmed, Received, Sent, Count int64
}

// Sum adds entries up as a balance does.
func Sum(entries []Entry) Totals {
	var t Totals
	for _, e := range entries {
		if e.Confirmed {
			t.Confirmed += e.Received - e.Sent
		} else {
			t.Unconfirmed += e.Received - e.Sent
		}
		t.Received += e.Received
		t.Sent += e.Sent
		t.Count++
	}
	return t
}

// Truth returns the address's transactions (confirmed and in the
// mempool), in no particular order.
func (f *Fake) Truth(address string) []Entry {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Entry
	for _, id := range f.byAddr[address] {
		t := f.txs[id]
		r, s := t.effect(address)
		out = append(out, Entry{Txid: id, Received: r, Sent: s, FeeShare: t.feeShare(address),
			Confirmed: !t.inPool, Height: t.height})
	}
	return out
}

func (t *tx) effect(address string) (received, sent int64) {
	for _, o := range t.outs {
		if o.Address == address {
			received += o.Value
		}
	}
	for _, i := range t.ins {
		if i.prevout != nil && i.prevout.Address == address {
			sent += i.prevout.Value
		}
	}
	return received, sent
}

// feeShare splits the fee between the input addresses by the value each
// brought in, exactly (big rationals), rounding down and handing the
// satoshis left one each to the largest fractions, ties to the address
// whose input comes first.
func (t *tx) feeShare(address string) int64 {
	var order []string
	brought := map[string]int64{}
	var total int64
	for _, i := range t.ins {
		if i.prevout == nil {
			continue
		}
		if _, ok := brought[i.prevout.Address]; !ok {
			order = append(order, i.prevout.Address)
		}
		brought[i.prevout.Address] += i.prevout.Value
		total += i.prevout.Value
	}
	if t.fee <= 0 || brought[address] == 0 {
		return 0
	}
	type part struct {
		whole int64
		frac  *big.Rat
	}
	parts := map[string]part{}
	left := t.fee
	for _, a := range order {
		exact := new(big.Rat).SetFrac(big.NewInt(0).Mul(big.NewInt(t.fee), big.NewInt(brought[a])), big.NewInt(total))
		whole := new(big.Int).Quo(exact.Num(), exact.Denom())
		parts[a] = part{whole.Int64(), new(big.Rat).Sub(exact, new(big.Rat).SetInt(whole))}
		left -= whole.Int64()
	}
	ranked := slices.Clone(order)
	slices.SortStableFunc(ranked, func(a, b string) int { return parts[b].frac.Cmp(parts[a].frac) })
	share := parts[address].whole
	if slices.Index(ranked, address) < int(left) {
		share++
	}
	return share
}

func randomHex() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// serve answers the Esplora endpoints cointracker uses.
func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	endpoint := endpointOf(parts)
	f.mu.Lock()
	f.requests[endpoint]++
	if f.limiter != nil && !f.limiter.Allow() {
		f.limited++
		f.mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte("<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"))
		return
	}
	f.served++
	v := f.view(f.lagging && f.served%2 == 0)
	onPage := f.onPage
	var flt *fault
	if len(f.faults) > 0 {
		flt = &f.faults[0]
		f.faults = f.faults[1:]
	}
	var delay time.Duration
	if f.delayN > 0 {
		f.delayN--
		delay = f.delay
	}
	if endpoint == "/address/:a/txs/chain/:txid" && f.deepDelay > 0 {
		if i, ok := f.ordered(parts[1], v).position[parts[4]]; ok {
			delay += f.deepDelay * time.Duration(i/ChainPage+1)
		}
	}
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			f.mu.Lock()
			f.cutOff++
			f.mu.Unlock()
			return
		}
	}
	if flt != nil {
		f.mu.Lock()
		f.faulted++
		f.mu.Unlock()
		if flt.retryAfter != "" {
			w.Header().Set("Retry-After", flt.retryAfter)
		}
		// A provider's error page, which must never reach a user.
		http.Error(w, "<html><body>"+http.StatusText(flt.status)+" (the fake provider's error page)</body></html>", flt.status)
		return
	}
	if onPage != nil && strings.HasPrefix(endpoint, "/address/:a/txs") {
		onPage(r.URL.Path)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer(w, endpoint, parts, v)
}

func (f *Fake) answer(w http.ResponseWriter, endpoint string, parts []string, v view) {
	switch endpoint {
	case "/blocks/tip/height":
		_, _ = w.Write([]byte(strconv.Itoa(int(v.tip))))
	case "/address/:a/txs":
		f.writeJSON(w, f.firstPage(parts[1], v))
	case "/address/:a/txs/mempool":
		o := f.ordered(parts[1], v)
		f.writeJSON(w, f.renderAll(o.pool[:min(len(o.pool), MempoolPage)], v, false))
	case "/address/:a/txs/chain":
		o := f.ordered(parts[1], v)
		f.writeJSON(w, f.renderAll(o.confirmed[:min(len(o.confirmed), ChainPage)], v, true))
	case "/address/:a/txs/chain/:txid":
		f.writeJSON(w, f.chainPage(parts[1], parts[4], v))
	case "/address/:a":
		f.writeJSON(w, f.stats(parts[1], v))
	case "/block-height/:h":
		if cached, ok := f.statusCache["height "+parts[1]]; ok {
			_, _ = w.Write(cached)
			return
		}
		h, err := strconv.Atoi(parts[1])
		if err != nil || h < 0 || h > int(v.tip) {
			http.Error(w, "Block not found", http.StatusNotFound)
			return
		}
		if f.statusCache != nil && int(v.tip)-h >= 10 {
			f.statusCache["height "+parts[1]] = []byte(f.blocks[h].hash)
		}
		_, _ = w.Write([]byte(f.blocks[h].hash))
	case "/block/:hash/status":
		f.blockStatus(w, parts[1], v)
	case "/tx/:txid":
		t, ok := f.txs[parts[1]]
		if !ok || !v.knows(t) {
			http.Error(w, "Transaction not found", http.StatusNotFound)
			return
		}
		f.writeJSON(w, f.render(t, v, v.confirmed(t)))
	case "/tx/:txid/outspend/:vout":
		f.writeJSON(w, f.outspendOf(parts[1], parts[3], v))
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

func endpointOf(p []string) string {
	switch {
	case len(p) == 3 && p[0] == "blocks" && p[1] == "tip" && p[2] == "height":
		return "/blocks/tip/height"
	case len(p) == 3 && p[0] == "address" && p[2] == "txs":
		return "/address/:a/txs"
	case len(p) == 4 && p[0] == "address" && p[2] == "txs" && p[3] == "mempool":
		return "/address/:a/txs/mempool"
	case len(p) == 4 && p[0] == "address" && p[2] == "txs" && p[3] == "chain":
		return "/address/:a/txs/chain"
	case len(p) == 5 && p[0] == "address" && p[2] == "txs" && p[3] == "chain":
		return "/address/:a/txs/chain/:txid"
	case len(p) == 2 && p[0] == "address":
		return "/address/:a"
	case len(p) == 2 && p[0] == "block-height":
		return "/block-height/:h"
	case len(p) == 3 && p[0] == "block" && p[2] == "status":
		return "/block/:hash/status"
	case len(p) == 2 && p[0] == "tx":
		return "/tx/:txid"
	case len(p) == 4 && p[0] == "tx" && p[2] == "outspend":
		return "/tx/:txid/outspend/:vout"
	}
	return "other"
}

// view is the chain as the backend answering a request sees it: up to
// date, or (Lagging) one block behind, with that block's transactions
// still in its mempool.
type view struct {
	tip int32
	// lastSeq is the last arrival the backend has seen; 0: all of them.
	lastSeq int
}

func (f *Fake) view(lagging bool) view {
	tip := int32(len(f.blocks) - 1)
	if lagging && tip > 0 {
		return view{tip: tip - 1, lastSeq: f.seqAtTip}
	}
	return view{tip: tip}
}

// knows says the backend has seen t arrive.
func (v view) knows(t *tx) bool { return v.lastSeq == 0 || t.seq <= v.lastSeq }

// confirmed says the backend has t in a block.
func (v view) confirmed(t *tx) bool { return v.knows(t) && !t.inPool && t.height <= v.tip }

// pooled says the backend lists t in its mempool.
func (v view) pooled(t *tx) bool { return v.knows(t) && (t.inPool || t.window || t.height > v.tip) }

// ordered returns the address's mempool transactions in arrival order and
// its confirmed ones newest first (height, then position in the block),
// as the backend of view v has them.
func (f *Fake) ordered(address string, v view) orderedTxs {
	key := address + "@" + strconv.Itoa(int(v.tip)) + "@" + strconv.Itoa(v.lastSeq)
	if o, ok := f.cache[key]; ok && o.version == f.version {
		return o
	}
	var pool, confirmed []*tx
	for _, id := range f.byAddr[address] {
		t := f.txs[id]
		if v.pooled(t) {
			pool = append(pool, t)
		}
		if v.confirmed(t) {
			confirmed = append(confirmed, t)
		}
	}
	slices.SortFunc(pool, func(a, b *tx) int { return a.seq - b.seq })
	slices.SortFunc(confirmed, func(a, b *tx) int {
		if a.height != b.height {
			return int(b.height - a.height)
		}
		return b.seq - a.seq
	})
	o := orderedTxs{version: f.version, pool: pool, confirmed: confirmed, position: make(map[string]int, len(confirmed))}
	for i, t := range confirmed {
		o.position[t.txid] = i
	}
	f.cache[key] = o
	return o
}

// firstPage is GET /address/:a/txs in the fake's Shape.
func (f *Fake) firstPage(address string, v view) []txJSON {
	o := f.ordered(address, v)
	pool := f.renderAll(o.pool[:min(len(o.pool), MempoolPage)], v, false)
	if f.shape == MempoolSpace {
		page := append(pool, pool...)
		room := max(0, MempoolPage-len(page))
		return append(page, f.renderAll(o.confirmed[:min(len(o.confirmed), room)], v, true)...)
	}
	return append(pool, f.renderAll(o.confirmed[:min(len(o.confirmed), ChainPage)], v, true)...)
}

// chainPage is the page after txid; electrs answers 200 [] for a txid
// it cannot find in the address's history.
func (f *Fake) chainPage(address, after string, v view) []txJSON {
	o := f.ordered(address, v)
	i, ok := o.position[after]
	if !ok {
		return []txJSON{}
	}
	rest := o.confirmed[i+1:]
	return f.renderAll(rest[:min(len(rest), ChainPage)], v, true)
}

func (f *Fake) renderAll(txs []*tx, v view, confirmed bool) []txJSON {
	out := make([]txJSON, 0, len(txs))
	for _, t := range txs {
		out = append(out, f.render(t, v, confirmed))
	}
	return out
}

type totalsJSON struct {
	FundedCount int64 `json:"funded_txo_count"`
	FundedSum   int64 `json:"funded_txo_sum"`
	SpentCount  int64 `json:"spent_txo_count"`
	SpentSum    int64 `json:"spent_txo_sum"`
	TxCount     int64 `json:"tx_count"`
}

func (f *Fake) stats(address string, v view) any {
	var chainStats, pool totalsJSON
	add := func(s *totalsJSON, t *tx) {
		s.TxCount++
		for _, o := range t.outs {
			if o.Address == address {
				s.FundedCount++
				s.FundedSum += o.Value
			}
		}
		for _, i := range t.ins {
			if i.prevout != nil && i.prevout.Address == address {
				s.SpentCount++
				s.SpentSum += i.prevout.Value
			}
		}
	}
	for _, id := range f.byAddr[address] {
		t := f.txs[id]
		if v.confirmed(t) {
			add(&chainStats, t)
		}
		if v.pooled(t) {
			add(&pool, t)
		}
	}
	chainStats.FundedSum += f.skew[address]
	return map[string]any{"address": address, "chain_stats": chainStats, "mempool_stats": pool}
}

// blockStatus answers GET /block/:hash/status. electrs answers an unknown
// hash as it answers an orphaned one: in_best_chain false.
func (f *Fake) blockStatus(w http.ResponseWriter, hash string, v view) {
	if cached, ok := f.statusCache[hash]; ok {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(cached)
		return
	}
	st := map[string]any{"in_best_chain": false, "next_best": nil}
	for h, b := range f.blocks[:v.tip+1] {
		if b.hash == hash {
			st["in_best_chain"], st["height"] = true, h
			if int32(h) < v.tip {
				st["next_best"] = f.blocks[h+1].hash
			}
		}
	}
	if h, ok := f.stale[hash]; ok {
		st["height"] = h
	}
	body, _ := json.Marshal(st)
	if h, ok := st["height"].(int); ok && f.statusCache != nil && v.tip-int32(h) >= 10 {
		f.statusCache[hash] = body
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (f *Fake) outspendOf(txid, vout string, v view) any {
	spender, ok := f.outspend[txid+":"+vout]
	if !ok {
		return map[string]any{"spent": false}
	}
	t := f.txs[spender]
	return map[string]any{"spent": true, "txid": spender, "vin": 0, "status": f.status(t, v.confirmed(t))}
}

type txJSON struct {
	Txid     string     `json:"txid"`
	Version  int        `json:"version"`
	Locktime int        `json:"locktime"`
	Vin      []vinJSON  `json:"vin"`
	Vout     []voutJSON `json:"vout"`
	Size     int64      `json:"size"`
	Weight   int64      `json:"weight"`
	Fee      int64      `json:"fee"`
	Status   statusJSON `json:"status"`
}

type vinJSON struct {
	Txid       string    `json:"txid"`
	Vout       uint32    `json:"vout"`
	Prevout    *voutJSON `json:"prevout"`
	Scriptsig  string    `json:"scriptsig"`
	Witness    []string  `json:"witness,omitempty"`
	IsCoinbase bool      `json:"is_coinbase"`
	Sequence   uint32    `json:"sequence"`
}

type voutJSON struct {
	Scriptpubkey        string `json:"scriptpubkey"`
	ScriptpubkeyAsm     string `json:"scriptpubkey_asm,omitempty"`
	ScriptpubkeyType    string `json:"scriptpubkey_type"`
	ScriptpubkeyAddress string `json:"scriptpubkey_address,omitempty"`
	Value               int64  `json:"value"`
}

type statusJSON struct {
	Confirmed   bool   `json:"confirmed"`
	BlockHeight int32  `json:"block_height,omitempty"`
	BlockHash   string `json:"block_hash,omitempty"`
	BlockTime   int64  `json:"block_time,omitempty"`
}

func (f *Fake) status(t *tx, confirmed bool) statusJSON {
	if !confirmed {
		return statusJSON{}
	}
	return statusJSON{Confirmed: true, BlockHeight: t.height, BlockHash: t.hash, BlockTime: f.blocks[t.height].time}
}

// render is a transaction as Esplora shows it: confirmed, or as the
// mempool's unconfirmed copy.
func (f *Fake) render(t *tx, v view, confirmed bool) txJSON {
	j := txJSON{Txid: t.txid, Version: 2, Size: t.vsize + 20, Weight: t.vsize * 4, Fee: t.fee, Status: f.status(t, confirmed && v.confirmed(t))}
	for _, i := range t.ins {
		in := vinJSON{Txid: i.prevTxid, Vout: i.prevVout, IsCoinbase: i.prevout == nil, Sequence: 0xfffffffd}
		if i.prevout != nil {
			in.Prevout = &voutJSON{Scriptpubkey: "0014", ScriptpubkeyType: "v0_p2wpkh", ScriptpubkeyAddress: i.prevout.Address, Value: i.prevout.Value}
			in.Witness = []string{"30440220", "02"}
		}
		j.Vin = append(j.Vin, in)
	}
	for n, o := range t.outs {
		out := voutJSON{Scriptpubkey: "0014", ScriptpubkeyType: "v0_p2wpkh", ScriptpubkeyAddress: o.Address, Value: o.Value}
		if t.payout {
			script := fmt.Sprintf("%040x", n)
			out.Scriptpubkey, out.ScriptpubkeyAsm = "0014"+script, "OP_0 OP_PUSHBYTES_20 "+script
		}
		j.Vout = append(j.Vout, out)
	}
	return j
}

func (f *Fake) writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
