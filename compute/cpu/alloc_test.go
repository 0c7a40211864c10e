package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/janus-desktop/janus/compute"
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

// TestRoPEKeptTable checks that RoPE gives a fresh backend's bits whatever table it keeps
// from the call before (same or other positions, head size, length or theta), and that a
// call at the positions of the one before builds nothing.
func TestRoPEKeptTable(t *testing.T) {
	be := New(2)
	rng := rand.New(rand.NewPCG(2, 2))
	calls := []struct {
		heads, hd, pos0, t int
		theta              float32
	}{
		{4, 8, 0, 3, 10000}, {4, 8, 0, 3, 10000}, {2, 8, 0, 3, 10000}, {4, 8, 1, 3, 10000},
		{4, 8, 1, 1, 10000}, {4, 8, 1, 1, 500}, {2, 16, 1, 1, 500}, {4, 8, 0, 3, 10000},
	}
	for i, c := range calls {
		vals := randVals(rng, 2*c.t*c.heads*c.hd, 1)
		x := be.FromFloat32(vals, 2, c.t, c.heads*c.hd)
		be.RoPE(x, c.heads, c.hd, c.pos0, c.theta)
		fresh := New(1)
		want := fresh.FromFloat32(vals, 2, c.t, c.heads*c.hd)
		fresh.RoPE(want, c.heads, c.hd, c.pos0, c.theta)
		got, exp := make([]float32, len(vals)), make([]float32, len(vals))
		be.Read(x, got)
		fresh.Read(want, exp)
		for j := range got {
			if math.Float32bits(got[j]) != math.Float32bits(exp[j]) {
				t.Fatalf("call %d %+v: value %d = %g after the calls before, %g on a fresh backend", i, c, j, got[j], exp[j])
			}
		}
	}
	x := be.FromFloat32(randVals(rng, 2*2048, 1), 2, 1, 2048)
	be.RoPE(x, 16, 128, 40, 10000)
	if got := testing.AllocsPerRun(10, func() { be.RoPE(x, 16, 128, 40, 10000) }); got > 1 {
		t.Errorf("RoPE at the positions of the call before allocates %v times, want at most 1 (the pool's loop body)", got)
	}
}

// TestGroupedProductsAllocs checks that the grouped Q8 and Q4 products of a token step (one
// or two input rows, Linear and Linears, on two threads) allocate nothing: a step runs about
// a hundred of them, and with a model's weights on the Go heap their garbage took fresh
// pages between the rare collections, a page fault each few calls (groupsCall).
func TestGroupedProductsAllocs(t *testing.T) {
	be := New(2)
	defer be.Close()
	rng := rand.New(rand.NewPCG(3, 3))
	const n, k = 128, 512
	for _, dt := range []compute.DType{compute.Q8, compute.Q4, compute.Q4M} {
		w, err := be.FromBytes(dt, []int{n, k}, compute.F32, le(compute.F32, randVals(rng, n*k, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if w.Buf.(*buffer).groupK == 0 {
			t.Skipf("%v weights are not stored in row groups with the %s int8 kernels", dt, be.Int8Kernels())
		}
		for _, m := range []int{1, 2} {
			x := be.FromFloat32(randVals(rng, m*k, 1), m, k)
			ps := []compute.Product{{Dst: be.New(compute.F32, m, n), W: w}, {Dst: be.New(compute.F32, m, n), W: w}}
			for _, c := range []struct {
				name string
				op   func()
			}{
				{"Linear", func() { be.Linear(ps[0].Dst, x, w, nil) }},
				{"Linears", func() { be.Linears(x, ps) }},
			} {
				if got := testing.AllocsPerRun(20, c.op); got != 0 {
					t.Errorf("%v %s of %d rows allocates %v times per call, want 0", dt, c.name, m, got)
				}
			}
		}
	}
}
