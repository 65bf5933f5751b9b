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
