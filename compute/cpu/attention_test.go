package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
)

// TestAttendOneMatchesRows checks that the one-query Attention (attendOne, which walks the
// cache rows by blocks of keys for every head, then by groups of heads, or in one pass where a
// task has every head of a batch row) gives the bits of rowsDirect (one head's keys at a time) on every kernel
// set and thread count, over float32, F16 and Q8 caches: batch rows, grouped kv heads, key
// counts that are not a multiple of the key block, causal and not.
func TestAttendOneMatchesRows(t *testing.T) {
	for _, ks := range kernelSets() {
		for _, c := range []struct {
			batch, heads, kvHeads, hd, sCap, kvLen int
			causal                                 bool
		}{
			{1, 4, 4, 32, 70, 70, true},
			{2, 4, 2, 32, 90, 65, true},
			{2, 3, 1, 16, 40, 33, false},
			{1, 2, 2, 12, 31, 5, false},
			{1, 16, 16, 128, 80, 71, true}, // Janus-sized heads: one pass at 1 thread, three at more
			{2, 8, 2, 64, 50, 37, true},    // GQA: one pass at 1 and 2 threads (a batch row each), three that split KV groups at 3
			{2, 16, 2, 128, 45, 40, false}, // GQA, not causal: one pass at 1 and 2 threads, three at more
			{1, 18, 9, 128, 40, 37, true},  // groups of 9 heads at 2 threads, splitting a KV head's 2
			{1, 4, 2, 256, 40, 37, true},   // two 128-wide chunks of a head (accF16x128)
			{1, 2, 2, 192, 40, 33, false},  // a head of an odd multiple of 64 (accF16x64)
		} {
			for _, dt := range []compute.DType{compute.F32, compute.F16, compute.Q8} {
				if dt == compute.Q8 && c.kvHeads*c.hd%qBlock != 0 {
					continue // a Q8 cache's rows are whole blocks
				}
				for _, threads := range []int{1, 2, 3, 16} {
					name := fmt.Sprintf("%s/%+v/%v/threads=%d", kernelName(ks), c, dt, threads)
					t.Run(name, func(t *testing.T) {
						be := New(threads, WithKernels(ks))
						defer be.Close()
						rng := rand.New(rand.NewPCG(7, uint64(c.kvLen)))
						q := be.FromFloat32(randVals(rng, c.batch*c.heads*c.hd, 1), c.batch, 1, c.heads*c.hd)
						cache := func() *Tensor {
							x := be.FromFloat32(randVals(rng, c.batch*c.sCap*c.kvHeads*c.hd, 1), c.batch, c.sCap, c.kvHeads*c.hd)
							if dt == compute.F32 {
								return x
							}
							h := be.New(dt, x.Shape...)
							be.CopyRows(h, 0, x, 0, c.sCap)
							return h
						}
						k, v := cache(), cache()
						p := compute.AttentionParams{Heads: c.heads, KVHeads: c.kvHeads, HeadDim: c.hd, KVLen: c.kvLen,
							QPos0: c.kvLen - 1, Causal: c.causal, Scale: 0.2}
						dst := be.New(compute.F32, q.Shape...)
						be.Attention(dst, q, k, v, p)
						want := make([]float32, dst.Len())
						g := attnGeometry{AttentionParams: p, t: 1, sCap: c.sCap}
						for bi := range c.batch {
							for h := range c.heads {
								be.rowsDirect(g, want, read(t, be, q), read(t, be, k), read(t, be, v), bi, h, 0, 1)
							}
						}
						computetest.Exact(t, "one-query attention", read(t, be, dst), want)
					})
				}
			}
		}
	}
}

// TestSoftmaxWide checks the BF16 mode's softmax kernels bit for bit against their
// definition (the vector exp, 8 lane sums combined ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7))),
// and the row against softmaxRow within float32 rounding.
func TestSoftmaxWide(t *testing.T) {
	if !hasBF16() {
		t.Skip("the BF16 mode's kernels need AVX512_BF16")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for _, n := range []int{1, 7, 8, 37, 576, 630} {
		x := randVals(rng, n+5, 3)
		want := append([]float32(nil), x...)
		n8 := n &^ 7
		m := float32(math.Inf(-1))
		for i := range want[:n8] {
			want[i] *= 0.3
			m = max(m, want[i])
		}
		if got := scaleMax8(x[:n8], 0.3); math.Float32bits(got) != math.Float32bits(m) || !slices.Equal(x[:n8], want[:n8]) {
			t.Fatalf("n %d: scaleMax8 = %g, want %g", n, got, m)
		}
		expShiftSIMD(want[:n8], 1.5)
		var l [8]float32
		for i, e := range want[:n8] {
			l[i%8] += e
		}
		sum := ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
		if got := expSum8(x[:n8], 1.5); math.Float32bits(got) != math.Float32bits(sum) || !slices.Equal(x[:n8], want[:n8]) {
			t.Fatalf("n %d: expSum8 = %g, want %g", n, got, sum)
		}

		row, ref := randVals(rng, n+5, 3), make([]float32, n+5)
		copy(ref, row)
		softmaxRowWide(row, n, 0.125)
		softmaxRow(ref, n, 0.125, true)
		for i := range row {
			if math.Abs(float64(row[i]-ref[i])) > 4e-7*float64(n) {
				t.Fatalf("n %d: p[%d] = %g, softmaxRow %g", n, i, row[i], ref[i])
			}
		}
	}
}
