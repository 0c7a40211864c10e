//go:build arm64 && !purego

package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
)

// neonOrderedDot is the documented order of the NEON set (doc.go), the AVX2 set's: K in
// dotBlock pieces added in order to start; in each piece lane l (of 8, in two 4-float
// vectors) sums the products of k ≡ l (mod 8) by fused multiply-adds; the lanes are then
// added as ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
func neonOrderedDot(start float32, a, b []float32) float32 {
	s := start
	for k0 := 0; k0 < len(a); k0 += dotBlock {
		var lane [8]float32
		for p := k0; p < min(k0+dotBlock, len(a)); p++ {
			lane[(p-k0)%8] = fma32(a[p], b[p], lane[(p-k0)%8])
		}
		h := [4]float32{lane[0] + lane[4], lane[1] + lane[5], lane[2] + lane[6], lane[3] + lane[7]}
		s += (h[0] + h[2]) + (h[1] + h[3])
	}
	return s
}

// TestNEONSummationOrder checks the NEON tiles (every row count, narrow edges, K tails, K
// blocks, accumulation into c, BF16 widening) bit for bit against neonOrderedDot.
func TestNEONSummationOrder(t *testing.T) {
	t.Logf("kernels %s, int8 kernels %s", New(1).Kernels(), New(1).Int8Kernels())
	rng := rand.New(rand.NewPCG(31, 32))
	for _, c := range []struct{ rows, cols, k int }{
		{1, 1, 1}, {3, 4, 8}, {2, 3, 7}, {5, 9, 13}, {4, 5, 64}, {3, 4, 16}, {2, 2, 31}, {7, 6, 515}, {3, 4, 1100}, {1, 7, 0}, {6, 8, 1024}, {1, 4, 2048},
	} {
		for _, bf16 := range []bool{false, true} {
			for _, acc := range []bool{false, true} {
				t.Run(fmt.Sprintf("%dx%dx%d_bf16=%v_acc=%v", c.rows, c.cols, c.k, bf16, acc), func(t *testing.T) {
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
						tileBF16SIMD(simdNEON, got, ldc, a, lda, bh, ldb, c.rows, c.cols, c.k, acc)
					} else {
						tileSIMD(simdNEON, got, ldc, a, lda, bv, ldb, c.rows, c.cols, c.k, acc)
					}
					for i := range c.rows {
						for j := range c.cols {
							var s float32
							if acc {
								s = want[i*ldc+j]
							}
							want[i*ldc+j] = neonOrderedDot(s, a[i*lda:i*lda+c.k], bv[j*ldb:j*ldb+c.k])
						}
					}
					// The padding of c between rows stays as it was.
					computetest.Exact(t, "tile", got, want)
				})
			}
		}
	}
}

// TestNEONInt8BitExact checks that both NEON int8 sets give the Go kernels' bits (each
// rounds the same float32 steps in the same order), one row and two, every tile width.
func TestNEONInt8BitExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	sets := []qSet{qsetNEON}
	if qsetBest() == qsetDotProd {
		sets = append(sets, qsetDotProd)
	} else {
		t.Log("no ASIMDDP (SDOT) on this CPU: only the SMULL set runs")
	}
	for _, set := range sets {
		for _, dt := range []compute.DType{compute.Q8, compute.Q4} {
			for _, nb := range []int{1, 5, 64} {
				k := nb * qBlock
				w, x := make([]float32, 4*k), make([]float32, 2*k)
				for i := range w {
					w[i] = float32(rng.NormFloat64())
				}
				for i := range x {
					x[i] = float32(rng.NormFloat64() * 2)
				}
				wt, err := New(1).FromBytes(dt, []int{4, k}, compute.F32, le(compute.F32, w))
				if err != nil {
					t.Fatal(err)
				}
				qw := quantized("test", "w", wt)
				xq, xd := make([]int8, 2*k), make([]float32, 2*nb)
				quantizeInput(xq[:k], xd[:nb], x[:k])
				quantizeInput(xq[k:], xd[nb:], x[k:])
				gen := &Backend{}
				for cols := 1; cols <= 4; cols++ {
					got := make([]float32, 2*5)
					tileQSIMD2(set, dt, got, 5, cols, xq, xd, qw.q, qw.s, nb, qw.rowBytes)
					for r := range 2 {
						want := make([]float32, cols)
						gen.tileQ(dt, want, xq[r*k:(r+1)*k], xd[r*nb:(r+1)*nb], qw.q[:cols*qw.rowBytes], qw.s[:cols*nb], nb, qw.rowBytes)
						for j := range cols {
							if math.Float32bits(got[r*5+j]) != math.Float32bits(want[j]) {
								t.Errorf("%v %v nb=%d cols=%d row %d: column %d = %g, Go kernels %g", set, dt, nb, cols, r, j, got[r*5+j], want[j])
							}
						}
					}
				}
			}
		}
	}
}
