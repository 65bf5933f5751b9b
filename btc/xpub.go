package btc

import (
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"
)

// Purpose is the BIP-43 purpose of an account: it fixes the derivation
// path m/purpose'/coin'/account' and the type of the derived addresses.
type Purpose uint32

// The purposes the service derives addresses for.
const (
	BIP44 Purpose = 44 // P2PKH
	BIP49 Purpose = 49 // P2SH-P2WPKH
	BIP84 Purpose = 84 // P2WPKH
	BIP86 Purpose = 86 // P2TR
)

// ScriptType is the type of the addresses an account of this purpose has.
func (p Purpose) ScriptType() ScriptType {
	switch p {
	case BIP49:
		return P2SH
	case BIP84:
		return P2WPKH
	case BIP86:
		return P2TR
	}
	return P2PKH
}

// SLIP-132 version bytes of extended public keys. BIP-44 and BIP-86
// accounts share the plain xpub/tpub prefix.
var (
	versionXpub = [4]byte{0x04, 0x88, 0xb2, 0x1e}
	versionYpub = [4]byte{0x04, 0x9d, 0x7c, 0xb2}
	versionZpub = [4]byte{0x04, 0xb2, 0x47, 0x46}
	versionTpub = [4]byte{0x04, 0x35, 0x87, 0xcf}
	versionUpub = [4]byte{0x04, 0x4a, 0x52, 0x62}
	versionVpub = [4]byte{0x04, 0x5f, 0x1c, 0xf6}
)

// publicVersion is the SLIP-132 version for an account's public key.
func publicVersion(p Purpose, net *chaincfg.Params) [4]byte {
	mainnet := net.Net == chaincfg.MainNetParams.Net
	switch {
	case p == BIP49 && mainnet:
		return versionYpub
	case p == BIP49:
		return versionUpub
	case p == BIP84 && mainnet:
		return versionZpub
	case p == BIP84:
		return versionVpub
	case mainnet:
		return versionXpub
	}
	return versionTpub
}

// Chain is the BIP-44 change level: receive (external) or change (internal).
type Chain uint32

// The two chains of an account.
const (
	Receive Chain = 0
	Change  Chain = 1
)

// String is the chain's name as stored in xpub_addresses.chain.
func (c Chain) String() string {
	if c == Change {
		return "change"
	}
	return "receive"
}

// Account is an account-level extended public key (m/purpose'/coin'/n').
type Account struct {
	key     *hdkeychain.ExtendedKey
	chains  [2]*hdkeychain.ExtendedKey // receive and change, derived once
	purpose Purpose
	net     *chaincfg.Params
}

// AccountFromSeed derives account 0 of purpose p from a wallet seed and
// keeps only its public half, as a wallet exports it.
func AccountFromSeed(seed []byte, p Purpose, net *chaincfg.Params) (*Account, error) {
	master, err := hdkeychain.NewMaster(seed, net)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	key := master
	for _, child := range []uint32{uint32(p), net.HDCoinType, 0} {
		key, err = key.Derive(hdkeychain.HardenedKeyStart + child)
		if err != nil {
			return nil, fmt.Errorf("derive account: %w", err)
		}
	}
	pub, err := key.Neuter()
	if err != nil {
		return nil, fmt.Errorf("neuter account key: %w", err)
	}
	v := publicVersion(p, net)
	if pub, err = pub.CloneWithVersion(v[:]); err != nil {
		return nil, fmt.Errorf("set version: %w", err)
	}
	return newAccount(pub, p, net)
}

func newAccount(key *hdkeychain.ExtendedKey, p Purpose, net *chaincfg.Params) (*Account, error) {
	a := &Account{key: key, purpose: p, net: net}
	for _, c := range []Chain{Receive, Change} {
		k, err := key.Derive(uint32(c))
		if err != nil {
			return nil, fmt.Errorf("derive %s chain: %w", c, err)
		}
		a.chains[c] = k
	}
	return a, nil
}

// String is the key in its SLIP-132 form (xpub…, ypub…, zpub…, tpub…).
func (a *Account) String() string {
	return a.key.String()
}

// Purpose is the account's derivation purpose.
func (a *Account) Purpose() Purpose {
	return a.purpose
}

// errHardened never happens for the non-hardened indexes used here.
var errHardened = errors.New("index must be below 2^31")

// Address derives the address at chain/index of the account.
func (a *Account) Address(c Chain, index uint32) (string, error) {
	if index >= hdkeychain.HardenedKeyStart {
		return "", errHardened
	}
	if c != Receive && c != Change {
		return "", fmt.Errorf("unknown chain %d", c)
	}
	child, err := a.chains[c].Derive(index)
	if err != nil {
		return "", fmt.Errorf("derive %s/%d: %w", c, index, err)
	}
	pub, err := child.ECPubKey()
	if err != nil {
		return "", fmt.Errorf("public key %s/%d: %w", c, index, err)
	}
	addr, err := PubKeyAddress(pub, a.purpose.ScriptType(), a.net)
	if err != nil {
		return "", err
	}
	return addr.EncodeAddress(), nil
}

// versionInfo is what a SLIP-132 public version says about a key.
type versionInfo struct {
	purpose Purpose
	mainnet bool
}

var publicVersions = map[[4]byte]versionInfo{
	versionXpub: {BIP44, true}, versionYpub: {BIP49, true}, versionZpub: {BIP84, true},
	versionTpub: {BIP44, false}, versionUpub: {BIP49, false}, versionVpub: {BIP84, false},
}

// privateVersions are the SLIP-132 prefixes of private extended keys
// (xprv, yprv, zprv, tprv, uprv, vprv): refused with a warning.
var privateVersions = map[[4]byte]bool{
	{0x04, 0x88, 0xad, 0xe4}: true, {0x04, 0x9d, 0x78, 0x78}: true, {0x04, 0xb2, 0x43, 0x0c}: true,
	{0x04, 0x35, 0x83, 0x94}: true, {0x04, 0x4a, 0x4e, 0x28}: true, {0x04, 0x5f, 0x18, 0xbc}: true,
}

// ErrPrivateKey refuses an extended private key: the service only ever
// needs, and must only ever hold, public keys.
var ErrPrivateKey = errors.New("this is a private key (xprv…): never share it; export the account's public key (xpub, ypub or zpub) instead")

// ParseAccount reads an extended public key in its SLIP-132 form. The
// prefix fixes the purpose (ypub: BIP-49, zpub: BIP-84) except for
// xpub/tpub, which serve both BIP-44 and BIP-86: taproot asks for BIP86.
// net must match the key's network (testnet keys serve testnet, signet
// and regtest).
func ParseAccount(s string, taproot bool, net *chaincfg.Params) (*Account, error) {
	key, err := hdkeychain.NewKeyFromString(s)
	if err != nil {
		return nil, fmt.Errorf("not an extended public key: %w", err)
	}
	var version [4]byte
	copy(version[:], key.Version())
	if key.IsPrivate() || privateVersions[version] {
		return nil, ErrPrivateKey
	}
	info, ok := publicVersions[version]
	if !ok {
		return nil, fmt.Errorf("unknown extended key prefix %x: use xpub, ypub, zpub, tpub, upub or vpub", version)
	}
	if mainnet := net.Net == chaincfg.MainNetParams.Net; mainnet != info.mainnet {
		want := "a testnet key (tpub, upub, vpub)"
		if mainnet {
			want = "a mainnet key (xpub, ypub, zpub)"
		}
		return nil, fmt.Errorf("wrong network: %s needs %s", net.Name, want)
	}
	purpose := info.purpose
	if taproot {
		if purpose != BIP44 {
			return nil, errors.New("taproot (BIP-86) accounts are exported as xpub or tpub")
		}
		purpose = BIP86
	}
	return newAccount(key, purpose, net)
}

// Derived is one address of an account: where it sits and its encoding.
type Derived struct {
	Chain   Chain
	Index   uint32
	Address string
}

// Derive returns the addresses at indexes from..to (inclusive) of one
// chain of the account, in index order.
func (a *Account) Derive(c Chain, from, to uint32) ([]Derived, error) {
	if to < from {
		return nil, nil
	}
	out := make([]Derived, 0, to-from+1)
	for i := from; ; i++ {
		addr, err := a.Address(c, i)
		if err != nil {
			return nil, err
		}
		out = append(out, Derived{Chain: c, Index: i, Address: addr})
		if i == to {
			return out, nil
		}
	}
}

// Network is the chain parameters the account derives addresses for.
func (a *Account) Network() *chaincfg.Params {
	return a.net
}
