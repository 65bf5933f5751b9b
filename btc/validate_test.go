package btc

import (
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil/bech32"
	"github.com/btcsuite/btcd/chaincfg"
)

func TestParseAddress(t *testing.T) {
	t.Parallel()
	main := &chaincfg.MainNetParams
	valid := []struct {
		in, canonical string
		st            ScriptType
	}{
		{"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", P2PKH},
		{"3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", P2SH},
		{"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", P2WPKH},
		{"BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", P2WPKH},
		{"bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3", "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3", P2WSH},
		{"bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr", "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr", P2TR},
	}
	for _, v := range valid {
		got, st, err := ParseAddress(v.in, main)
		if err != nil || got != v.canonical || st != v.st {
			t.Errorf("ParseAddress(%s) = %s %s %v; want %s %s", v.in, got, st, err, v.canonical, v.st)
		}
	}
	if _, st, err := ParseAddress("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", &chaincfg.SigNetParams); err != nil || st != P2WPKH {
		t.Errorf("signet takes tb1 addresses: %v", err)
	}

	invalid := []struct {
		in     string
		net    *chaincfg.Params
		reason Reason
		says   string
	}{
		{"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", main, ReasonBadChecksum, "checksum"},
		{"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdx", main, ReasonBadChecksum, "checksum"},
		{"tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", main, ReasonWrongNetwork, "testnet or signet"},
		{"mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", main, ReasonWrongNetwork, "testnet"},
		{"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", &chaincfg.TestNet3Params, ReasonWrongNetwork, "mainnet"},
		// BIP-350 test vectors: v0 program in bech32m, v1 in bech32.
		{"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", main, ReasonBech32Variant, "bech32m"},
		{v1WithBech32(t), main, ReasonBech32Variant, "encoded with bech32 (BIP-350)"},
		{"bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", main, ReasonUnsupportedVersion, "witness version 2"},
		{"BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZwf5mdq", main, ReasonUnknownFormat, "mixed"},
		{"hello world, not an address", main, ReasonUnknownFormat, "not a Bitcoin address"},
		{"0x52908400098527886E0F7030069857D2E4169EE7", main, ReasonUnknownFormat, "not a Bitcoin address"},
		{"short", main, ReasonUnknownFormat, "characters"},
	}
	for _, c := range invalid {
		_, _, err := ParseAddress(c.in, c.net)
		var aerr *AddressError
		if !errors.As(err, &aerr) || aerr.Reason != c.reason || !strings.Contains(err.Error(), c.says) {
			t.Errorf("ParseAddress(%s) = %v; want %s saying %q", c.in, err, c.reason, c.says)
		}
	}
}

// v1WithBech32 encodes a taproot program with the wrong checksum variant.
func v1WithBech32(t *testing.T) string {
	prog, err := bech32.ConvertBits(make([]byte, 32), 8, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	s, err := bech32.Encode("bc", append([]byte{1}, prog...))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		canonical, st, err := ParseAddress(s, &chaincfg.MainNetParams)
		if err != nil {
			var aerr *AddressError
			if !errors.As(err, &aerr) {
				t.Fatalf("error %v is not an *AddressError", err)
			}
			return
		}
		// Whatever is accepted parses again to itself.
		again, st2, err := ParseAddress(canonical, &chaincfg.MainNetParams)
		if err != nil || again != canonical || st2 != st {
			t.Fatalf("%q accepted as %q, which does not parse back: %v", s, canonical, err)
		}
	})
}
