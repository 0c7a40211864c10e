package cpu

import (
	"math/rand/v2"
	"testing"
)

// TestElementwiseAllocs checks that the elementwise ops of a token step allocate only the
// loop body they hand the worker pool, tails included: a token step runs them in every
// layer, and what they allocate is garbage that grows the heap between collections (a
// buffer moved to the heap by an indirect kernel call once made SwiGLU's allocations more
// than half of a Janus-Pro-1B step's bytes).
func TestElementwiseAllocs(t *testing.T) {
	be := New(1)
	rng := rand.New(rand.NewPCG(1, 1))
	const n = 2*5632 + 3 // a tail of 3 takes the padded path
	a, b := be.FromFloat32(randVals(rng, n, 1), n), be.FromFloat32(randVals(rng, n, 1), n)
	d := be.New(a.DType, n)
	for _, c := range []struct {
		name string
		op   func()
	}{
		{"SwiGLU", func() { be.SwiGLU(d, a, b) }},
		{"SwiGLU in place", func() { be.SwiGLU(a, a, b) }},
		{"SiLU", func() { be.SiLU(d, a) }},
		{"GELU", func() { be.GELU(d, a) }},
	} {
		if got := testing.AllocsPerRun(10, c.op); got > 1 {
			t.Errorf("%s allocates %v times per call on one thread, want at most 1 (the pool's loop body)", c.name, got)
		}
	}
}
