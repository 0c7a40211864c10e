package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

// TestLinearQAMXMatchesGeneric checks Linear with Q8 weights on the AMX int8 tiles against the
// Go kernels bit for bit (both sum each block exactly, then scale and add in the same order),
// for row counts from one to a full tile (Linear uses it from amxQMinRows), block counts odd and even, column counts with and
// without a partial group of sixteen, with and without a bias, on one and two threads.
func TestLinearQAMXMatchesGeneric(t *testing.T) {
	if !hasAMXInt8() {
		t.Skip("no AMX int8 tiles on this machine (or this build): nothing to compare")
	}
	rng := rand.New(rand.NewPCG(11, 11))
	for _, c := range []struct{ m, nb, n int }{
		{1, 1, 16}, {2, 2, 32}, {3, 3, 35}, {8, 7, 48}, {16, 64, 16}, {5, 65, 21}, {16, 11, 23}, {4, 2, 7}, {2, 65, 35}, {2, 7, 48}, {1, 3, 21}, {2, 64, 32},
	} {
		for _, threads := range []int{1, 2} {
			for _, withBias := range []bool{false, true} {
				t.Run(fmt.Sprintf("m=%d/nb=%d/n=%d/threads=%d/bias=%v", c.m, c.nb, c.n, threads, withBias), func(t *testing.T) {
					k := c.nb * qBlock
					w, x := randVals(rng, c.n*k, 1), randVals(rng, c.m*k, 3)
					// Blocks of zeros and of tiny values: zero scales and codes at their extremes.
					clear(x[:qBlock])
					for i := range min(qBlock, len(w)) {
						w[i] *= 1e-30
					}
					var bias []float32
					if withBias {
						bias = randVals(rng, c.n, 1)
					}
					be := New(threads)
					be.qset = qsetNone // row after row, the layout the tiles read (not row groups)
					wt, err := be.FromBytes(compute.Q8, []int{c.n, k}, compute.F32, le(compute.F32, w))
					if err != nil {
						t.Fatal(err)
					}
					qw := quantized("test", "w", wt)
					got, want := make([]float32, c.m*c.n), make([]float32, c.m*c.n)
					// The kernel itself, at every row count (Linear sends it three or more).
					be.linearQAMX(got, x, c.m, qw, bias)
					be.qset = qsetNone
					be.linearQuantized(want, x, c.m, qw, bias)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("row %d column %d: %g on AMX, %g in Go", i/c.n, i%c.n, got[i], want[i])
						}
					}
				})
			}
		}
	}
}

// BenchmarkAMXQ8Tile times the AMX int8 kernels on one group of sixteen columns at K = 2048
// (32 KB of codes, in L1 and L2 after the first pass) for two input rows, packed for each
// kernel, without the Linear around them.
func BenchmarkAMXQ8Tile(b *testing.B) {
	if !hasAMXInt8() {
		b.Skip("no AMX int8 tiles on this machine (or this build)")
	}
	const nb = 64
	k := nb * qBlock
	rng := rand.New(rand.NewPCG(1, 1))
	be := New(1)
	wt, err := be.FromBytes(compute.Q8, []int{amxQCols, k}, compute.F32, le(compute.F32, randVals(rng, amxQCols*k, 1)))
	if err != nil {
		b.Fatal(err)
	}
	qw := quantized("bench", "w", wt)
	x := randVals(rng, 2*k, 1)
	codes, xd := [][]byte{make([]byte, 2*k), make([]byte, 2*k)}, [][]float32{make([]float32, nb), make([]float32, nb)}
	for i := range 2 {
		quantizeQZ(codes[i], xd[i], x[i*k:(i+1)*k], false)
	}
	wd, tmp := make([]float32, amxQCols*nb), make([]float32, amxQTemp)
	widenF16(be.simd, wd, qw.s)
	for _, lanes := range []int{16, 2} {
		b.Run(fmt.Sprintf("lanes=%d", lanes), func(b *testing.B) {
			p := make([]byte, nb*amxQBlockBytes(lanes))
			packQ8AMX(p, lanes, 0, nb, codes, xd)
			op := newAMXQ8Op(lanes, nb)
			for b.Loop() {
				if lanes == 2 {
					amxQ8TileR2(op, nb, qw.q, qw.rowBytes, p, qw.s[:cap(qw.s)], tmp, qw.s)
				} else {
					amxQ8Tile(op, nb, qw.q, qw.rowBytes, p, wd, nb, tmp, qw.s)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nb), "ns/block")
		})
	}
}

// TestLinearQAMXRows checks which kernels Linear with Q8 weights that do not fill row groups
// (an odd number of blocks a row) runs under qsetAMX: the tiles' bits (the Go kernels') from
// amxQMinRows rows, the VNNI kernels' below.
func TestLinearQAMXRows(t *testing.T) {
	if !hasAMXInt8() {
		t.Skip("no AMX int8 tiles on this machine (or this build): nothing to compare")
	}
	rng := rand.New(rand.NewPCG(12, 12))
	const n, k = 32, 7 * qBlock
	w := randVals(rng, n*k, 1)
	differ := false                  // whether the VNNI rows' bits differ from the Go kernels' anywhere
	for m := 1; m <= qFewRows; m++ { // from qFewRows+1 Linear dequantizes instead
		x := randVals(rng, m*k, 1)
		linear := func(set qSet) []float32 {
			be := New(1)
			be.qset = set
			wt, err := be.FromBytes(compute.Q8, []int{n, k}, compute.F32, le(compute.F32, w))
			if err != nil {
				t.Fatal(err)
			}
			if quantized("test", "w", wt).groups {
				t.Fatalf("%v is stored in row groups, which the tiles do not read", wt)
			}
			dst := be.New(compute.F32, m, n)
			be.Linear(dst, be.FromFloat32(x, m, k), wt, nil)
			out := make([]float32, m*n)
			if err := be.Read(dst, out); err != nil {
				t.Fatal(err)
			}
			return out
		}
		want := qsetNone
		if m < amxQMinRows {
			want = qsetVNNI
		}
		got, exp := linear(qsetAMX), linear(want)
		for i := range exp {
			if math.Float32bits(got[i]) != math.Float32bits(exp[i]) {
				t.Fatalf("%d rows: element %d = %g, want %v's %g", m, i, got[i], want, exp[i])
			}
		}
		if want == qsetVNNI && !differ {
			gen := linear(qsetNone)
			for i := range gen {
				differ = differ || math.Float32bits(gen[i]) != math.Float32bits(got[i])
			}
		}
	}
	if amxQMinRows > 1 && !differ {
		t.Error("the VNNI and the Go kernels agreed on every element: the test cannot tell which ran")
	}
}

// TestInt8KernelsFor: with the AMX set, both dtypes name the VNNI kernels their row groups
// run on.
func TestInt8KernelsFor(t *testing.T) {
	b := New(1)
	b.qset = qsetAMX
	if q8, q4 := b.Int8KernelsFor(compute.Q8), b.Int8KernelsFor(compute.Q4); q8 != "avx512-vnni" || q4 != "avx512-vnni" {
		t.Errorf("Int8KernelsFor: Q8 %q, Q4 %q", q8, q4)
	}
}
