package btc

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/btcutil/bech32"
	"github.com/btcsuite/btcd/chaincfg"
)

// Networks maps the API's network names to their parameters. Signet shares
// testnet's address encodings.
var Networks = map[string]*chaincfg.Params{
	"mainnet": &chaincfg.MainNetParams,
	"testnet": &chaincfg.TestNet3Params,
	"signet":  &chaincfg.SigNetParams,
	"regtest": &chaincfg.RegressionNetParams,
}

// networkNames is Networks' keys, sorted.
var networkNames = slices.Sorted(maps.Keys(Networks))

// NetworkNames returns the networks' names, sorted (a fresh slice).
func NetworkNames() []string {
	return slices.Clone(networkNames)
}

// Reason classifies why an address was refused.
type Reason string

// The reasons ParseAddress gives.
const (
	ReasonUnknownFormat      Reason = "unknown_format"
	ReasonBadChecksum        Reason = "bad_checksum"
	ReasonWrongNetwork       Reason = "wrong_network"
	ReasonBech32Variant      Reason = "bech32_variant"
	ReasonUnsupportedVersion Reason = "unsupported_witness_version"
	ReasonBadProgram         Reason = "bad_witness_program"
)

// AddressError says why a string is not a trackable address.
type AddressError struct {
	Reason Reason
	Detail string
}

func (e *AddressError) Error() string { return e.Detail }

func refuse(r Reason, format string, args ...any) error {
	return &AddressError{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// ParseAddress checks that s is an address of a tracked type on net and
// returns its canonical form (bech32 in lower case) and type. Errors are
// *AddressError saying exactly why s was refused.
func ParseAddress(s string, net *chaincfg.Params) (string, ScriptType, error) {
	if len(s) < 14 || len(s) > 90 {
		return "", "", refuse(ReasonUnknownFormat, "not a Bitcoin address: %d characters, addresses have 14 to 90", len(s))
	}
	if hrp, ok := bech32Prefix(s); ok {
		return parseSegwit(s, hrp, net)
	}
	return parseBase58(s, net)
}

// bech32Prefix recognises the human-readable parts of Bitcoin's networks.
func bech32Prefix(s string) (string, bool) {
	lower := strings.ToLower(s)
	for _, hrp := range []string{"bcrt", "bc", "tb"} {
		if strings.HasPrefix(lower, hrp+"1") {
			return hrp, true
		}
	}
	return "", false
}

func networkOfHRP(hrp string) string {
	switch hrp {
	case "bc":
		return "mainnet"
	case "tb":
		return "testnet or signet"
	}
	return "regtest"
}

func parseSegwit(s, hrp string, net *chaincfg.Params) (string, ScriptType, error) {
	if s != strings.ToLower(s) && s != strings.ToUpper(s) {
		return "", "", refuse(ReasonUnknownFormat, "bech32 addresses must be all lower case or all upper case, not mixed")
	}
	lower := strings.ToLower(s)
	gotHRP, data, variant, err := bech32.DecodeGeneric(lower)
	if err != nil {
		var sumErr bech32.ErrInvalidChecksum
		if errors.As(err, &sumErr) {
			return "", "", refuse(ReasonBadChecksum, "bad checksum: the bech32 checksum does not match (a mistyped character?)")
		}
		return "", "", refuse(ReasonUnknownFormat, "not a valid bech32 address: %v", err)
	}
	if gotHRP != hrp {
		return "", "", refuse(ReasonUnknownFormat, "unknown bech32 prefix %q", gotHRP)
	}
	if hrp != net.Bech32HRPSegwit {
		return "", "", refuse(ReasonWrongNetwork, "wrong network: this is a %s address, not %s", networkOfHRP(hrp), net.Name)
	}
	if len(data) == 0 {
		return "", "", refuse(ReasonBadProgram, "the address has no witness version")
	}
	version := data[0]
	program, err := bech32.ConvertBits(data[1:], 5, 8, false)
	if err != nil {
		return "", "", refuse(ReasonBadProgram, "invalid witness program: %v", err)
	}
	switch {
	case version == 0 && variant != bech32.Version0:
		return "", "", refuse(ReasonBech32Variant, "witness version 0 addresses use bech32, but this one is encoded with bech32m (BIP-350)")
	case version >= 1 && variant != bech32.VersionM:
		return "", "", refuse(ReasonBech32Variant, "witness version %d addresses use bech32m, but this one is encoded with bech32 (BIP-350)", version)
	case version > 16:
		return "", "", refuse(ReasonBadProgram, "invalid witness version %d", version)
	case version > 1:
		return "", "", refuse(ReasonUnsupportedVersion, "unsupported witness version %d: only v0 (P2WPKH, P2WSH) and v1 (P2TR) are tracked", version)
	}
	var st ScriptType
	switch {
	case version == 0 && len(program) == 20:
		st = P2WPKH
	case version == 0 && len(program) == 32:
		st = P2WSH
	case version == 1 && len(program) == 32:
		st = P2TR
	default:
		return "", "", refuse(ReasonBadProgram, "witness version %d programs of %d bytes are not valid addresses", version, len(program))
	}
	return confirm(lower, st, net)
}

func parseBase58(s string, net *chaincfg.Params) (string, ScriptType, error) {
	payload, version, err := base58.CheckDecode(s)
	if errors.Is(err, base58.ErrChecksum) {
		return "", "", refuse(ReasonBadChecksum, "bad checksum: the base58check checksum does not match (a mistyped character?)")
	}
	if err != nil || len(payload) != 20 {
		return "", "", refuse(ReasonUnknownFormat, "not a Bitcoin address: neither base58check (1…, 3…) nor bech32 (bc1…)")
	}
	var st ScriptType
	switch version {
	case net.PubKeyHashAddrID:
		st = P2PKH
	case net.ScriptHashAddrID:
		st = P2SH
	default:
		for name, other := range Networks {
			if version == other.PubKeyHashAddrID || version == other.ScriptHashAddrID {
				if name == "signet" || name == "regtest" {
					name = "testnet"
				}
				return "", "", refuse(ReasonWrongNetwork, "wrong network: this is a %s address, not %s", name, net.Name)
			}
		}
		return "", "", refuse(ReasonUnknownFormat, "unknown address version byte 0x%02x", version)
	}
	return confirm(s, st, net)
}

// confirm has btcutil decode the address too, so nothing it would refuse
// gets through.
func confirm(s string, st ScriptType, net *chaincfg.Params) (string, ScriptType, error) {
	addr, err := btcutil.DecodeAddress(s, net)
	if err != nil || !addr.IsForNet(net) || addr.EncodeAddress() != s {
		return "", "", refuse(ReasonUnknownFormat, "not a valid %s address", net.Name)
	}
	return s, st, nil
}
