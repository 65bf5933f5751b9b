// Package btc holds the Bitcoin knowledge the service needs: address types,
// building addresses from public keys, and extended public keys in their
// SLIP-132 forms (xpub/ypub/zpub). Encoding is btcutil's; nothing here
// hand-rolls base58 or bech32.
package btc

import (
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
)

// ScriptType is the kind of output script an address pays to. The values
// are the ones stored in addresses.script_type.
type ScriptType string

// The address types the service tracks.
const (
	P2PKH  ScriptType = "p2pkh"  // 1… legacy pay-to-pubkey-hash
	P2SH   ScriptType = "p2sh"   // 3… pay-to-script-hash (here P2SH-P2WPKH)
	P2WPKH ScriptType = "p2wpkh" // bc1q…, 42 characters
	P2WSH  ScriptType = "p2wsh"  // bc1q…, 62 characters
	P2TR   ScriptType = "p2tr"   // bc1p…, taproot (bech32m)
)

// ScriptTypes lists every tracked type.
var ScriptTypes = []ScriptType{P2PKH, P2SH, P2WPKH, P2WSH, P2TR}

// PubKeyAddress builds the address of type t that a single key controls:
// P2PKH and P2WPKH pay to its hash, P2SH wraps P2WPKH (BIP-49), P2WSH pays
// to the script "<key> OP_CHECKSIG", and P2TR is the BIP-86 key-path output.
func PubKeyAddress(pub *btcec.PublicKey, t ScriptType, net *chaincfg.Params) (btcutil.Address, error) {
	compressed := pub.SerializeCompressed()
	switch t {
	case P2PKH:
		return btcutil.NewAddressPubKeyHash(btcutil.Hash160(compressed), net)
	case P2WPKH:
		return btcutil.NewAddressWitnessPubKeyHash(btcutil.Hash160(compressed), net)
	case P2SH:
		witness, err := btcutil.NewAddressWitnessPubKeyHash(btcutil.Hash160(compressed), net)
		if err != nil {
			return nil, err
		}
		redeem, err := txscript.PayToAddrScript(witness)
		if err != nil {
			return nil, fmt.Errorf("p2sh-p2wpkh redeem script: %w", err)
		}
		return btcutil.NewAddressScriptHash(redeem, net)
	case P2WSH:
		script, err := txscript.NewScriptBuilder().AddData(compressed).AddOp(txscript.OP_CHECKSIG).Script()
		if err != nil {
			return nil, fmt.Errorf("p2wsh witness script: %w", err)
		}
		hash := sha256Sum(script)
		return btcutil.NewAddressWitnessScriptHash(hash[:], net)
	case P2TR:
		output := txscript.ComputeTaprootKeyNoScript(pub)
		return btcutil.NewAddressTaproot(schnorr.SerializePubKey(output), net)
	}
	return nil, fmt.Errorf("unknown script type %q", t)
}
