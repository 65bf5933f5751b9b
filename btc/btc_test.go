package btc

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"
)

// bip39Seed is the seed of the BIP-39 test mnemonic "abandon … about"
// (no passphrase), from which BIP-44/49/84/86 publish test vectors.
const bip39Seed = "5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4"

func TestAccountMatchesBIPVectors(t *testing.T) {
	t.Parallel()
	seed, err := hex.DecodeString(bip39Seed)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		purpose  Purpose
		xpub     string
		receive0 string
		change0  string
	}{
		{BIP44, "xpub6BosfCnifzxcFwrSzQiqu2DBVTshkCXacvNsWGYJVVhhawA7d4R5WSWGFNbi8Aw6ZRc1brxMyWMzG3DSSSSoekkudhUd9yLb6qx39T9nMdj",
			"1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA", "1J3J6EvPrv8q6AC3VCjWV45Uf3nssNMRtH"},
		{BIP49, "ypub6Ww3ibxVfGzLrAH1PNcjyAWenMTbbAosGNB6VvmSEgytSER9azLDWCxoJwW7Ke7icmizBMXrzBx9979FfaHxHcrArf3zbeJJJUZPf663zsP",
			"37VucYSaXLCAsxYyAPfbSi9eh4iEcbShgf", "34K56kSjgUCUSD8GTtuF7c9Zzwokbs6uZ7"},
		{BIP84, "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs",
			"bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", "bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el"},
		{BIP86, "xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWcLteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ",
			"bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr", "bc1p3qkhfews2uk44qtvauqyr2ttdsw7svhkl9nkm9s9c3x4ax5h60wqwruhk7"},
	}
	for _, c := range cases {
		a, err := AccountFromSeed(seed, c.purpose, &chaincfg.MainNetParams)
		if err != nil {
			t.Fatal(err)
		}
		if a.String() != c.xpub {
			t.Errorf("BIP-%d account = %s, want %s", c.purpose, a, c.xpub)
		}
		for chain, want := range map[Chain]string{Receive: c.receive0, Change: c.change0} {
			got, err := a.Address(chain, 0)
			if err != nil || got != want {
				t.Errorf("BIP-%d %s/0 = %s, %v; want %s", c.purpose, chain, got, err, want)
			}
		}
	}
}

func TestPubKeyAddressTypes(t *testing.T) {
	t.Parallel()
	priv, _ := btcec.PrivKeyFromBytes(make32(7))
	for _, st := range ScriptTypes {
		addr, err := PubKeyAddress(priv.PubKey(), st, &chaincfg.MainNetParams)
		if err != nil {
			t.Fatal(err)
		}
		decoded, err := btcutil.DecodeAddress(addr.EncodeAddress(), &chaincfg.MainNetParams)
		if err != nil || !decoded.IsForNet(&chaincfg.MainNetParams) {
			t.Fatalf("%s address %s does not decode: %v", st, addr, err)
		}
		s := addr.EncodeAddress()
		want := map[ScriptType]struct {
			prefix string
			length int
		}{P2PKH: {"1", 0}, P2SH: {"3", 0}, P2WPKH: {"bc1q", 42}, P2WSH: {"bc1q", 62}, P2TR: {"bc1p", 62}}[st]
		if s[:len(want.prefix)] != want.prefix || (want.length > 0 && len(s) != want.length) {
			t.Errorf("%s address %s has the wrong form", st, s)
		}
	}
}

func make32(b byte) []byte {
	out := make([]byte, 32)
	out[31] = b
	return out
}

func TestParseAccount(t *testing.T) {
	t.Parallel()
	seed, _ := hex.DecodeString(bip39Seed)
	for _, p := range []Purpose{BIP44, BIP49, BIP84, BIP86} {
		a, err := AccountFromSeed(seed, p, &chaincfg.MainNetParams)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := ParseAccount(a.String(), p == BIP86, &chaincfg.MainNetParams)
		if err != nil || parsed.Purpose() != p {
			t.Fatalf("BIP-%d: %v, purpose %v", p, err, parsed)
		}
		for i := range uint32(3) {
			want, _ := a.Address(Receive, i)
			got, _ := parsed.Address(Receive, i)
			if got != want {
				t.Fatalf("BIP-%d receive/%d: %s, want %s", p, i, got, want)
			}
		}
	}
	zpub, _ := AccountFromSeed(seed, BIP84, &chaincfg.MainNetParams)
	if _, err := ParseAccount(zpub.String(), false, &chaincfg.TestNet3Params); err == nil || !strings.Contains(err.Error(), "wrong network") {
		t.Errorf("zpub on testnet: %v", err)
	}
	if _, err := ParseAccount(zpub.String(), true, &chaincfg.MainNetParams); err == nil {
		t.Error("a zpub taken as taproot")
	}
	master, _ := hdkeychain.NewMaster(seed, &chaincfg.MainNetParams)
	if _, err := ParseAccount(master.String(), false, &chaincfg.MainNetParams); !errors.Is(err, ErrPrivateKey) {
		t.Errorf("xprv: %v", err)
	}
	if _, err := ParseAccount("xpub-not-really", false, &chaincfg.MainNetParams); err == nil {
		t.Error("garbage parsed")
	}
	tv, _ := AccountFromSeed(seed, BIP84, &chaincfg.TestNet3Params)
	if !strings.HasPrefix(tv.String(), "vpub") {
		t.Fatalf("testnet BIP-84 account is %s", tv)
	}
	if _, err := ParseAccount(tv.String(), false, &chaincfg.SigNetParams); err != nil {
		t.Errorf("vpub on signet: %v", err)
	}
}
