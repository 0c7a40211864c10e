package bytesize

import (
	"math"
	"testing"
)

func TestFormat(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{0, "0 bytes"},
		{999, "999 bytes"},
		{1000, "1 kB"},
		{340_400, "340 kB"},
		{999_499, "999 kB"},
		{9_807_878, "10 MB"},
		{640_000_000, "640 MB"},
		{1e9, "1.0 GB"},
		{4_185_000_000, "4.2 GB"},
		{14_847_000_000, "14.8 GB"},
		{1_200_000_000_000, "1.2 TB"},
		{-999, "-999 bytes"},
		{-500_000_000, "-500 MB"},
		{-1_500_000_000, "-1.5 GB"},
		{math.MinInt64, "-9223372.0 TB"},
	} {
		if got := Format(tt.n); got != tt.want {
			t.Errorf("Format(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestPrecise(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{999, "999 B"},
		{1000, "1.00 kB"},
		{3_357_974, "3.36 MB"},
		{9_808_038, "9.81 MB"},
		{4_185_000_000, "4.18 GB"},
		{14_847_000_000, "14.85 GB"},
		{2_500_000_000_000, "2.50 TB"},
		{3e15, "3000.00 TB"}, // terabytes are the largest unit
		{math.MaxInt64, "9223372.04 TB"},
	} {
		if got := Precise(tt.n); got != tt.want {
			t.Errorf("Precise(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
