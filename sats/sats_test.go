package sats

import (
	"math"
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
	}
	for _, c := range cases {
		if got := FormatUSD(c.amount, c.cents); got != c.want {
			t.Errorf("FormatUSD(%d, %d) = %q, want %q", c.amount, c.cents, got, c.want)
		}
	}
}
