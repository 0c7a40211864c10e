package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
)

// TestAttendOneMatchesRows checks that the one-query Attention (attendOne, which walks the
// cache rows by blocks of keys for every head) gives the bits of rowsDirect (one head's keys
// at a time) on every kernel set and thread count: batch rows, grouped kv heads, key counts
// that are not a multiple of the key block, causal and not.
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
		} {
			for _, threads := range []int{1, 2, 3} {
				name := fmt.Sprintf("%s/%+v/threads=%d", kernelName(ks), c, threads)
				t.Run(name, func(t *testing.T) {
					be := New(threads, WithKernels(ks))
					defer be.Close()
					rng := rand.New(rand.NewPCG(7, uint64(c.kvLen)))
					q := be.FromFloat32(randVals(rng, c.batch*c.heads*c.hd, 1), c.batch, 1, c.heads*c.hd)
					k := be.FromFloat32(randVals(rng, c.batch*c.sCap*c.kvHeads*c.hd, 1), c.batch, c.sCap, c.kvHeads*c.hd)
					v := be.FromFloat32(randVals(rng, c.batch*c.sCap*c.kvHeads*c.hd, 1), c.batch, c.sCap, c.kvHeads*c.hd)
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
