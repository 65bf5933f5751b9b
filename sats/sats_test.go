package sats

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

func TestFormatBTC(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   int64
		want string
	}{
		{0, "0.00000000"},
		{1, "0.00000001"},
		{12345, "0.00012345"},
		{100_000_000, "1.00000000"},
		{-150_000_000, "-1.50000000"},
		{2_100_000_000_000_000, "21000000.00000000"},
		{math.MaxInt64, "92233720368.54775807"},
		{math.MinInt64, "-92233720368.54775808"},
	}
	for _, c := range cases {
		if got := FormatBTC(c.in); got != c.want {
			t.Errorf("FormatBTC(%d) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestFormatUSD(t *testing.T) {
	t.Parallel()
	cases := []struct {
		amount, cents int64
		want          string
	}{
		{0, 6_000_000, "0.00"},
		{150_000_000, 6_000_000, "90000.00"},
		{-150_000_000, 6_000_000, "-90000.00"},
		{1, 9_600_000, "0.00"},
		{50_000, 9_600_012, "48.00"},
		{12_345, 10_000_000, "12.35"}, // 12.345 rounds away from zero
		{-12_345, 10_000_000, "-12.35"},
		{-1, 100, "0.00"},
		{2_100_000_000_000_000, 100_000_000_000, "21000000000000000.00"},
		{math.MaxInt64, math.MaxInt64, "8507059173023461584739690778.42"},
		{2_999_999_999, 2_999_999_999, "899999999.40"},
		{-2_999_999_999, 2_999_999_999, "-899999999.40"},
		{3_000_000_000, 100, "30.00"},
	}
	for _, c := range cases {
		if got := FormatUSD(c.amount, c.cents); got != c.want {
			t.Errorf("FormatUSD(%d, %d) = %q, want %q", c.amount, c.cents, got, c.want)
		}
	}
}

// TestFormatUSDFastPathAgrees checks the int64 path against math/big.
func TestFormatUSDFastPathAgrees(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		amount := rng.Int64N(6_000_000_000) - 3_000_000_000
		cents := rng.Int64N(3_000_000_000)
		p := new(big.Int).Mul(big.NewInt(amount), big.NewInt(cents))
		neg := p.Sign() < 0
		p.Abs(p).Add(p, big.NewInt(PerBTC/2)).Quo(p, big.NewInt(PerBTC))
		want := fmt.Sprintf("%s.%02d", new(big.Int).Quo(p, big.NewInt(100)), new(big.Int).Rem(p, big.NewInt(100)).Int64())
		if neg && p.Sign() != 0 {
			want = "-" + want
		}
		if got := FormatUSD(amount, cents); got != want {
			t.Fatalf("FormatUSD(%d, %d) = %s, want %s", amount, cents, got, want)
		}
	}
}
