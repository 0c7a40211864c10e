package compute_test

import (
	"math"
	"slices"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

func TestRoPETable(t *testing.T) {
	for _, tc := range []struct {
		name             string
		headDim, pos0, t int
		theta            float32
	}{
		{"from position 0", 8, 0, 5, 10000},
		{"later positions", 64, 577, 9, 10000},
		{"other theta", 16, 3, 4, 500000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			half := tc.headDim / 2
			whole := make([]float32, 2*tc.t*half)
			compute.RoPETable(whole, tc.headDim, tc.pos0, 0, tc.t, tc.theta)
			// Filled in pieces (as a backend's workers do), the table is the same bits.
			pieces := make([]float32, len(whole))
			for lo := 0; lo < tc.t; lo += 2 {
				compute.RoPETable(pieces, tc.headDim, tc.pos0, lo, min(lo+2, tc.t), tc.theta)
			}
			if !slices.Equal(whole, pieces) {
				t.Fatal("the table filled in pieces differs from the table filled at once")
			}
			for ti := range tc.t {
				for i := range half {
					// The angle in float64: float32 rounding keeps it within a few ulps.
					a := float64(tc.pos0+ti) * math.Pow(float64(tc.theta), -float64(2*i)/float64(tc.headDim))
					c, s := whole[2*ti*half+i], whole[(2*ti+1)*half+i]
					tol := 1e-6 * max(1, a)
					if math.Abs(float64(c)-math.Cos(a)) > tol || math.Abs(float64(s)-math.Sin(a)) > tol {
						t.Fatalf("position %d, pair %d: cos %v sin %v, want about %v %v", tc.pos0+ti, i, c, s, math.Cos(a), math.Sin(a))
					}
				}
			}
		})
	}
}
