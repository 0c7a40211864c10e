//go:build !purego

package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"golang.org/x/sys/cpu"
)

// TestAVXVNNIKernelsMatchAVX2 checks that the AVX-VNNI variants of the AVX2 int8 kernels
// give the AVX2 kernels' bits, one and two input rows, every tile width, Q8 and Q4, block
// counts on both sides of the groups of 8, and codes at their extremes: VPDPBUSD sums the
// four byte products VPMADDUBSW and VPMADDWD sum, so the lanes hold the same integers.
func TestAVXVNNIKernelsMatchAVX2(t *testing.T) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasAVXVNNI {
		t.Skip("the CPU has no AVX-VNNI")
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for _, dt := range []compute.DType{compute.Q8, compute.Q4} {
		for _, nb := range []int{1, 7, 8, 9, 17, 64} {
			k := nb * qBlock
			w, x := make([]float32, 4*k), make([]float32, 2*k)
			for i := range w {
				w[i] = float32(rng.NormFloat64())
				if i%37 == 0 {
					w[i] = 40 // a block's largest weight: codes at ±127 (Q8) or 15 (Q4)
				}
			}
			for i := range x {
				x[i] = float32(rng.NormFloat64())
				if i%29 == 0 {
					x[i] = -30
				}
			}
			qw, xq, xd := int8Operands(t, dt, w, x)
			for cols := 1; cols <= 4; cols++ {
				var got, want [2][8]float32
				for i, set := range []qSet{qsetAVX2, qsetAVXVNNI} {
					out := []*[2][8]float32{&want, &got}[i]
					tileQSIMD(set, dt, out[0][:cols], xq[:k], xd[:nb], qw.q, qw.s, nb, qw.rowBytes)
					tileQSIMD2(set, dt, out[1][:], 4, cols, xq, xd, qw.q, qw.s, nb, qw.rowBytes)
				}
				for r := range got {
					for j := range got[r] {
						if math.Float32bits(got[r][j]) != math.Float32bits(want[r][j]) {
							t.Errorf("%v nb=%d cols=%d (kernel rows %d): output %d = %g with AVX-VNNI, %g with AVX2", dt, nb, cols, r+1, j, got[r][j], want[r][j])
						}
					}
				}
			}
		}
	}
}
