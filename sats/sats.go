// Package sats formats integer satoshi amounts. Money stays an int64 count
// of satoshis everywhere; only presentation turns it into a BTC string.
package sats

import (
	"strconv"
)

// PerBTC is the number of satoshis in one bitcoin.
const PerBTC = 100_000_000

// FormatBTC renders an amount of satoshis as a BTC decimal string with all
// eight decimals, e.g. 12345 → "0.00012345" and -150000000 → "-1.50000000".
func FormatBTC(amount int64) string {
	neg := amount < 0
	// Work on the unsigned magnitude so math.MinInt64 cannot overflow.
	u := uint64(amount)
	if neg {
		u = -u
	}
	whole := strconv.FormatUint(u/PerBTC, 10)
	frac := strconv.FormatUint(u%PerBTC+PerBTC, 10)[1:]
	if neg {
		return "-" + whole + "." + frac
	}
	return whole + "." + frac
}
