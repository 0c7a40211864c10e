//go:build amd64 && !purego

package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/janus-desktop/janus/compute/computetest"
)

// orderedDot is the documented order of an assembly kernel set with lanes-float vectors (8
// for AVX2, 16 for AVX-512): K in dotBlock pieces added in order to start; in each piece
// lane l sums the products of k ≡ l (mod lanes) by fused multiply-adds; with 16 lanes,
// lanes l and l+8 are added first; then the 8 lanes are added as
// ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
func orderedDot(lanes int, start float32, a, b []float32) float32 {
	s := start
	for k0 := 0; k0 < len(a); k0 += dotBlock {
		lane := make([]float32, lanes)
		for p := k0; p < min(k0+dotBlock, len(a)); p++ {
			l := (p - k0) % lanes
			lane[l] = fma32(a[p], b[p], lane[l])
		}
		if lanes == 16 {
			for l := range 8 {
				lane[l] += lane[l+8]
			}
		}
		h := [4]float32{lane[0] + lane[4], lane[1] + lane[5], lane[2] + lane[6], lane[3] + lane[7]}
		q := [2]float32{h[0] + h[2], h[1] + h[3]}
		s += q[0] + q[1]
	}
	return s
}

// TestSIMDSummationOrder checks every assembly kernel of every set the CPU runs (all tile
// sizes, K tails, K blocks, accumulation into c, BF16 widening) bit for bit against
// orderedDot, so every op path that uses a set sums a dot product the same way.
func TestSIMDSummationOrder(t *testing.T) {
	if simdBest() == simdNone {
		t.Skip("no AVX2+FMA on this CPU")
	}
	rng := rand.New(rand.NewPCG(31, 32))
	for _, set := range []struct {
		set   simdSet
		lanes int
	}{{simdAVX2, 8}, {simdAVX512, 16}} {
		if set.set > simdBest() {
			t.Logf("%v: not supported by this CPU", set.set)
			continue
		}
		for _, c := range []struct{ rows, cols, k int }{
			{1, 1, 1}, {3, 4, 8}, {2, 3, 7}, {5, 9, 13}, {4, 5, 64}, {3, 4, 16}, {2, 2, 31}, {7, 6, 515}, {3, 4, 1100}, {1, 7, 0},
		} {
			for _, bf16 := range []bool{false, true} {
				for _, acc := range []bool{false, true} {
					t.Run(fmt.Sprintf("%v/%dx%dx%d_bf16=%v_acc=%v", set.set, c.rows, c.cols, c.k, bf16, acc), func(t *testing.T) {
						lda, ldb, ldc := c.k+3, c.k+1, c.cols+2
						a := randVals(rng, max(1, c.rows*lda), 1)
						bv := randVals(rng, max(1, c.cols*ldb), 1)
						bh := make([]uint16, len(bv))
						for i, v := range bv {
							bh[i] = f32ToBF16(v)
							bv[i] = bf16ToF32(bh[i])
						}
						got := randVals(rng, c.rows*ldc, 1)
						want := append([]float32(nil), got...)
						if bf16 {
							tileBF16SIMD(set.set, got, ldc, a, lda, bh, ldb, c.rows, c.cols, c.k, acc)
						} else {
							tileSIMD(set.set, got, ldc, a, lda, bv, ldb, c.rows, c.cols, c.k, acc)
						}
						for i := range c.rows {
							for j := range c.cols {
								var s float32
								if acc {
									s = want[i*ldc+j]
								}
								want[i*ldc+j] = orderedDot(set.lanes, s, a[i*lda:i*lda+c.k], bv[j*ldb:j*ldb+c.k])
							}
						}
						computetest.Exact(t, "tile", got, want)
					})
				}
			}
		}
	}
}

// ulps is the distance between a and b in float32 steps (both finite, same sign or zero).
func ulps(a, b float32) int64 {
	d := int64(int32(math.Float32bits(a))) - int64(int32(math.Float32bits(b)))
	return max(d, -d)
}

// TestVectorExp sweeps the vector exp and SiLU kernels over a dense grid of float32 inputs
// and bounds their error against float64 math, rounded once to float32.
func TestVectorExp(t *testing.T) {
	if simdBest() == simdNone {
		t.Skip("no AVX2+FMA on this CPU")
	}
	for _, c := range []struct {
		name    string
		lo, hi  float32
		maxUlps int64
		tiny    float64 // below this |result|, bound the absolute error by it instead
		kernel  func(y, x []float32)
		want    func(x float64) float64
	}{
		{"exp", -87.3, 88.3, 2, 0x1p-126, func(y, x []float32) { copy(y, x); expShiftSIMD(y, 0) }, math.Exp},
		{"silu", -80, 80, 4, 0x1p-126, siluSIMD, func(x float64) float64 { return x / (1 + math.Exp(-x)) }},
		// Whole range: beyond -13.2 GELU is below the normal range, beyond 13 it is x. The
		// reference is x·erfc(-x/√2)/2, the exact form without 1+erf's cancellation (which
		// float64 1+erf suffers below about -8 and float32 torch below about -5). Results
		// under 1e-35 (x < -12.9) lose bits to subnormal intermediates.
		{"gelu", -14, 1e4, 8, 1e-35, geluSIMD, func(x float64) float64 { return 0.5 * x * math.Erfc(-x/math.Sqrt2) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var xs []float32
			// Every 331st float32 of each sign: about 12 million inputs across the range.
			for _, sign := range []float32{1, -1} {
				lim := c.hi
				if sign < 0 {
					lim = -c.lo
				}
				for b := uint32(0); ; b += 331 {
					x := math.Float32frombits(b)
					if x > lim {
						break
					}
					xs = append(xs, sign*x)
				}
			}
			got := make([]float32, len(xs))
			c.kernel(got, xs)
			var worst int64
			var at float32
			var rel float64
			for i, x := range xs {
				want := float32(c.want(float64(x)))
				if math.Abs(float64(want)) < c.tiny {
					if math.Abs(float64(got[i]-want)) > c.tiny {
						t.Errorf("%s(%g) = %g, want %g", c.name, x, got[i], want)
					}
					continue
				}
				if u := ulps(got[i], want); u > worst {
					worst, at = u, x
				}
				rel = max(rel, math.Abs(float64(got[i])/float64(want)-1))
			}
			t.Logf("%s: %d inputs in [%g, %g], max error %d ulps at %g, max relative error %.3g", c.name, len(xs), c.lo, c.hi, worst, at, rel)
			if worst > c.maxUlps {
				t.Errorf("%s: max error %d ulps at %g, want <= %d", c.name, worst, at, c.maxUlps)
			}
		})
	}
	// Edges: results below the normal range flush to 0, NaN stays NaN, infinities are clamped.
	x := []float32{-88, -1000, float32(math.Inf(-1)), float32(math.NaN()), 0, 1}
	expShiftSIMD(x, 0)
	if x[0] != 0 || x[1] != 0 || x[2] != 0 || !math.IsNaN(float64(x[3])) || x[4] != 1 || x[5] != float32(math.E) {
		t.Errorf("exp edges: %v", x)
	}
}

// TestSumWords256 checks the AVX2 sum, which SumWords takes only on CPUs without AVX-512.
func TestSumWords256(t *testing.T) {
	if simdBest() == simdNone {
		t.Skip("no AVX2 on this CPU")
	}
	w := make([]uint64, 48)
	var want uint64
	for i := range w {
		w[i] = uint64(i)*0x9e3779b97f4a7c15 + 1
		want += w[i]
	}
	if got := sumWords256(&w[0], len(w)); got != want {
		t.Errorf("sumWords256 = %#x, want %#x", got, want)
	}
}
