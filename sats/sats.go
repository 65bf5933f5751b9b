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
	var buf [24]byte
	return string(AppendBTC(buf[:0], amount))
}

// AppendBTC appends FormatBTC(amount) to dst, allocating nothing more.
func AppendBTC(dst []byte, amount int64) []byte {
	// Work on the unsigned magnitude so math.MinInt64 cannot overflow.
	u := uint64(amount)
	if amount < 0 {
		u = -u
		dst = append(dst, '-')
	}
	dst = strconv.AppendUint(dst, u/PerBTC, 10)
	dst = append(dst, '.')
	// Eight digits with leading zeros: the fraction plus 1e8, without its 1.
	var frac [9]byte
	return append(dst, strconv.AppendUint(frac[:0], u%PerBTC+PerBTC, 10)[1:]...)
}

// FormatUSD renders the US-dollar value of an amount of satoshis at a price
// in cents per bitcoin, rounded half away from zero to whole cents, e.g.
// (150000000, 6000000) → "90000.00". Exact for any int64 inputs.
func FormatUSD(amount, centsPerBTC int64) string {
	var buf [32]byte
	return string(AppendUSD(buf[:0], amount, centsPerBTC))
}

// AppendUSD appends FormatUSD(amount, centsPerBTC) to dst.
func AppendUSD(dst []byte, amount, centsPerBTC int64) []byte {
	// The common case fits in int64: |amount| and the price below 3e9
	// (30 BTC at up to $30M per coin) keep the product under 9e18.
	const limit = 3_000_000_000
	if amount > -limit && amount < limit && centsPerBTC >= 0 && centsPerBTC < limit {
		return appendCents(dst, amount*centsPerBTC)
	}
	cents := new(big.Int).Mul(big.NewInt(amount), big.NewInt(centsPerBTC))
	neg := cents.Sign() < 0
	cents.Abs(cents)
	// Round half away from zero while dividing by 1e8 sats per BTC.
	cents.Add(cents, big.NewInt(PerBTC/2))
	cents.Quo(cents, big.NewInt(PerBTC))
	whole, frac := new(big.Int).QuoRem(cents, big.NewInt(100), new(big.Int))
	if neg && cents.Sign() != 0 {
		dst = append(dst, '-')
	}
	dst = whole.Append(dst, 10)
	return appendHundredths(dst, frac.Int64())
}

// appendCents divides sats×cents by 1e8 (half away from zero) and appends
// the dollars with two decimals.
func appendCents(dst []byte, product int64) []byte {
	neg := product < 0
	if neg {
		product = -product
	}
	cents := (product + PerBTC/2) / PerBTC
	if neg && cents != 0 {
		dst = append(dst, '-')
	}
	dst = strconv.AppendInt(dst, cents/100, 10)
	return appendHundredths(dst, cents%100)
}

// appendHundredths appends "." and two digits.
func appendHundredths(dst []byte, n int64) []byte {
	return append(dst, '.', byte('0'+n/10), byte('0'+n%10))
}
