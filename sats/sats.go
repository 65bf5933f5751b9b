// Package sats formats integer satoshi amounts. Money stays an int64 count
// of satoshis everywhere; only presentation turns it into a BTC string.
package sats

import (
	"math/big"
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

// FormatUSD renders the US-dollar value of an amount of satoshis at a price
// in cents per bitcoin, rounded half away from zero to whole cents, e.g.
// (150000000, 6000000) → "90000.00". Exact for any int64 inputs.
func FormatUSD(amount, centsPerBTC int64) string {
	// The common case fits in int64: |amount| and the price below 3e9
	// (30 BTC at up to $30M per coin) keep the product under 9e18.
	const limit = 3_000_000_000
	if amount > -limit && amount < limit && centsPerBTC >= 0 && centsPerBTC < limit {
		return formatCents(amount * centsPerBTC)
	}
	cents := new(big.Int).Mul(big.NewInt(amount), big.NewInt(centsPerBTC))
	neg := cents.Sign() < 0
	cents.Abs(cents)
	// Round half away from zero while dividing by 1e8 sats per BTC.
	cents.Add(cents, big.NewInt(PerBTC/2))
	cents.Quo(cents, big.NewInt(PerBTC))
	whole, frac := new(big.Int).QuoRem(cents, big.NewInt(100), new(big.Int))
	s := whole.String() + "." + strconv.FormatInt(frac.Int64()+100, 10)[1:]
	if neg && cents.Sign() != 0 {
		return "-" + s
	}
	return s
}

// formatCents divides sats×cents by 1e8 (half away from zero) and renders
// the dollars with two decimals.
func formatCents(product int64) string {
	neg := product < 0
	if neg {
		product = -product
	}
	cents := (product + PerBTC/2) / PerBTC
	s := strconv.FormatInt(cents/100, 10) + "." + strconv.FormatInt(cents%100+100, 10)[1:]
	if neg && cents != 0 {
		return "-" + s
	}
	return s
}
