// Package chaintest is an in-process, Esplora-compatible blockchain
// provider for tests. It keeps a ground truth (blocks, transactions with
// their inputs' prevouts, a mempool) that tests shape step by step —
// mining, reorgs, RBF replacements, drops — and serves it in the shapes
// Blockstream's and mempool.space's servers use, with injectable faults
// (429 bursts with Retry-After, 5xx, slow answers).
package chaintest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Esplora's page sizes.
const (
	ChainPage   = 25
	MempoolPage = 50
)

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

// New starts a fake whose chain has a genesis block at height 0. Close it
// when done.
func New() *Fake {
	f := &Fake{
		stale: map[string]int32{}, txs: map[string]*tx{}, byAddr: map[string][]string{},
		outspend: map[string]string{}, requests: map[string]int{}, cache: map[string]orderedTxs{},
		skew: map[string]int64{},
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
		t.inPool, t.height, t.hash = false, h, b.hash
	}
	return h
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
		http.Error(w, http.StatusText(flt.status), flt.status)
		return
	}
	if onPage != nil && strings.HasPrefix(endpoint, "/address/:a/txs") {
		onPage(r.URL.Path)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch endpoint {
	case "/blocks/tip/height":
		_, _ = w.Write([]byte(strconv.Itoa(len(f.blocks) - 1)))
	case "/address/:a/txs":
		f.writeJSON(w, f.firstPage(parts[1]))
	case "/address/:a/txs/chain/:txid":
		page, ok := f.chainPage(parts[1], parts[4])
		if !ok {
			http.Error(w, "Transaction not found", http.StatusBadRequest)
			return
		}
		f.writeJSON(w, page)
	case "/address/:a":
		f.writeJSON(w, f.stats(parts[1]))
	case "/block/:hash/status":
		f.blockStatus(w, parts[1])
	case "/tx/:txid/outspend/:vout":
		f.writeJSON(w, f.outspendOf(parts[1], parts[3]))
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
	case len(p) == 5 && p[0] == "address" && p[2] == "txs" && p[3] == "chain":
		return "/address/:a/txs/chain/:txid"
	case len(p) == 2 && p[0] == "address":
		return "/address/:a"
	case len(p) == 3 && p[0] == "block" && p[2] == "status":
		return "/block/:hash/status"
	case len(p) == 4 && p[0] == "tx" && p[2] == "outspend":
		return "/tx/:txid/outspend/:vout"
	}
	return "other"
}

// ordered returns the address's mempool transactions newest first and its
// confirmed ones newest first (height, then position in the block).
func (f *Fake) ordered(address string) orderedTxs {
	if o, ok := f.cache[address]; ok && o.version == f.version {
		return o
	}
	var pool, confirmed []*tx
	for _, id := range f.byAddr[address] {
		t := f.txs[id]
		if t.inPool {
			pool = append(pool, t)
		} else {
			confirmed = append(confirmed, t)
		}
	}
	slices.SortFunc(pool, func(a, b *tx) int { return b.seq - a.seq })
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
	f.cache[address] = o
	return o
}

func (f *Fake) firstPage(address string) []txJSON {
	o := f.ordered(address)
	pool, confirmed := o.pool, o.confirmed
	out := make([]txJSON, 0, MempoolPage+ChainPage)
	for _, t := range pool[:min(len(pool), MempoolPage)] {
		out = append(out, f.render(t))
	}
	for _, t := range confirmed[:min(len(confirmed), ChainPage)] {
		out = append(out, f.render(t))
	}
	return out
}

func (f *Fake) chainPage(address, after string) ([]txJSON, bool) {
	o := f.ordered(address)
	i, ok := o.position[after]
	if !ok {
		return nil, false
	}
	rest := o.confirmed[i+1:]
	out := make([]txJSON, 0, ChainPage)
	for _, t := range rest[:min(len(rest), ChainPage)] {
		out = append(out, f.render(t))
	}
	return out, true
}

type totalsJSON struct {
	FundedCount int64 `json:"funded_txo_count"`
	FundedSum   int64 `json:"funded_txo_sum"`
	SpentCount  int64 `json:"spent_txo_count"`
	SpentSum    int64 `json:"spent_txo_sum"`
	TxCount     int64 `json:"tx_count"`
}

func (f *Fake) stats(address string) any {
	var chainStats, pool totalsJSON
	for _, id := range f.byAddr[address] {
		t := f.txs[id]
		s := &chainStats
		if t.inPool {
			s = &pool
		}
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
	chainStats.FundedSum += f.skew[address]
	return map[string]any{"address": address, "chain_stats": chainStats, "mempool_stats": pool}
}

func (f *Fake) blockStatus(w http.ResponseWriter, hash string) {
	for h, b := range f.blocks {
		if b.hash == hash {
			st := map[string]any{"in_best_chain": true, "height": h, "next_best": nil}
			if h+1 < len(f.blocks) {
				st["next_best"] = f.blocks[h+1].hash
			}
			f.writeJSON(w, st)
			return
		}
	}
	if h, ok := f.stale[hash]; ok {
		f.writeJSON(w, map[string]any{"in_best_chain": false, "height": h, "next_best": nil})
		return
	}
	http.Error(w, "Block not found", http.StatusNotFound)
}

func (f *Fake) outspendOf(txid, vout string) any {
	spender, ok := f.outspend[txid+":"+vout]
	if !ok {
		return map[string]any{"spent": false}
	}
	t := f.txs[spender]
	return map[string]any{"spent": true, "txid": spender, "vin": 0, "status": f.status(t)}
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

func (f *Fake) status(t *tx) statusJSON {
	if t.inPool {
		return statusJSON{}
	}
	return statusJSON{Confirmed: true, BlockHeight: t.height, BlockHash: t.hash, BlockTime: f.blocks[t.height].time}
}

func (f *Fake) render(t *tx) txJSON {
	j := txJSON{Txid: t.txid, Version: 2, Size: t.vsize + 20, Weight: t.vsize * 4, Fee: t.fee, Status: f.status(t)}
	for _, i := range t.ins {
		v := vinJSON{Txid: i.prevTxid, Vout: i.prevVout, IsCoinbase: i.prevout == nil, Sequence: 0xfffffffd}
		if i.prevout != nil {
			v.Prevout = &voutJSON{Scriptpubkey: "0014", ScriptpubkeyType: "v0_p2wpkh", ScriptpubkeyAddress: i.prevout.Address, Value: i.prevout.Value}
			v.Witness = []string{"30440220", "02"}
		}
		j.Vin = append(j.Vin, v)
	}
	for _, o := range t.outs {
		j.Vout = append(j.Vout, voutJSON{Scriptpubkey: "0014", ScriptpubkeyType: "v0_p2wpkh", ScriptpubkeyAddress: o.Address, Value: o.Value})
	}
	return j
}

func (f *Fake) writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
