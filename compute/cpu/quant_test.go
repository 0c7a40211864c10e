package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

// qSets lists the int8 kernel sets this CPU runs, the Go one first.
func qSets() []qSet {
	sets := []qSet{qsetNone}
	if simdBest() == simdNEON {
		sets = append(sets, qsetNEON)
		if qsetBest() == qsetDotProd {
			sets = append(sets, qsetDotProd)
		}
		return sets
	}
	for s := qsetAVX2; s <= qsetBest(); s++ {
		if s != qsetAVXVNNI || qsetAVX2Best() == qsetAVXVNNI { // AVX-512 VNNI does not imply AVX-VNNI
			sets = append(sets, s)
		}
	}
	return sets
}

// linearQSets is qSets and, where the tiles may run, qsetAMX, which has no tile kernels of
// qSets' kind but runs whole Linears.
func linearQSets() []qSet {
	if hasAMXInt8() {
		return append(qSets(), qsetAMX)
	}
	return qSets()
}

// TestInt8KernelsMatchGeneric checks every int8 kernel set (each tile width, Q8 and Q4,
// block counts that are not multiples of anything) against the Go kernels: the block dot
// products are exact integers in both, so the results differ only by the float32 rounding
// of the scaled block sums, bounded by their absolute sum.
func TestInt8KernelsMatchGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, set := range qSets()[1:] {
		for _, dt := range []compute.DType{compute.Q8, compute.Q4} {
			for _, nb := range []int{1, 2, 3, 7, 11, 64, 65} {
				k := nb * qBlock
				w := make([]float32, 4*k)
				x := make([]float32, k)
				for i := range w {
					w[i] = float32(rng.NormFloat64())
				}
				for i := range x {
					x[i] = float32(rng.NormFloat64() * 3)
				}
				be := New(1)
				wt, err := be.FromBytes(dt, []int{4, k}, compute.F32, le(compute.F32, w))
				if err != nil {
					t.Fatal(err)
				}
				qw := quantized("test", "w", wt)
				xq, xd := make([]int8, k), make([]float32, nb)
				quantizeInput(xq, xd, x)
				for cols := 1; cols <= 4; cols++ {
					t.Run(fmt.Sprintf("%v/%v/nb=%d/cols=%d", set, dt, nb, cols), func(t *testing.T) {
						got, want := make([]float32, cols), make([]float32, cols)
						tileQSet(set, dt, got, cols, 1, cols, xq, xd, qw.q[:cols*qw.rowBytes], qw.s[:cols*nb], nb, qw.rowBytes)
						gen := &Backend{}
						gen.tileQ(dt, want, xq, xd, qw.q[:cols*qw.rowBytes], qw.s[:cols*nb], nb, qw.rowBytes)
						for j := range cols {
							var abs float64
							for b := range nb {
								var acc float64
								for i := b * qBlock; i < (b+1)*qBlock; i++ {
									acc += math.Abs(float64(xq[i]) * 127)
								}
								abs += acc * float64(xd[b]) * math.Abs(float64(f16ToF32(qw.s[j*nb+b])))
							}
							// Each of the two sums rounds at most once per block and lane.
							bound := 0x1p-23 * float64(nb+8) * abs
							if d := math.Abs(float64(got[j] - want[j])); d > bound || math.IsNaN(d) {
								t.Errorf("column %d: %g, generic %g (|difference| %g, bound %g)", j, got[j], want[j], d, bound)
							}
						}
					})
				}
			}
		}
	}
}

// tileQSet computes c[i*ldc+j] = x_i·w_j for rows (1 or 2) input rows of codes xq and
// scales xd and cols weight rows with the assembly kernels of set, packing the rows first
// for the VNNI set as Linear does.
func tileQSet(set qSet, dt compute.DType, c []float32, ldc, rows, cols int, xq []int8, xd []float32, wq []byte, wd []uint16, nb, rowBytes int) {
	k := nb * qBlock
	if set == qsetVNNI {
		xp := make([]byte, 2*k*rows)
		for i := range rows {
			packQZ(xp[2*k*i:2*k*(i+1)], xq[k*i:k*(i+1)], dt == compute.Q4)
		}
		tileQZ(dt, c, ldc, rows, cols, xp, 2*k, xd, nb, wq, wd, nb, rowBytes)
		return
	}
	if rows == 2 {
		tileQSIMD2(set, dt, c, ldc, cols, xq, xd, wq, wd, nb, rowBytes)
		return
	}
	tileQSIMD(set, dt, c[:cols], xq, xd, wq, wd, nb, rowBytes)
}

// TestQuantizeQZMatchesGo checks the VNNI set's one-pass input quantization and packing
// against quantizeInput and packQZ, bit for bit, over block counts with and without an odd
// block and blocks of zeros, of tiny values, with codes at half steps and of large values.
func TestQuantizeQZMatchesGo(t *testing.T) {
	if qsetBest() != qsetVNNI {
		t.Skip("no VNNI kernels on this machine")
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for _, dt := range []compute.DType{compute.Q8, compute.Q4} {
		for _, nb := range []int{1, 2, 3, 8, 11} {
			k := nb * qBlock
			x := make([]float32, k)
			for i := range x {
				x[i] = float32(rng.NormFloat64() * 4)
			}
			if nb > 1 {
				clear(x[qBlock : 2*qBlock]) // a block of zeros
			}
			if nb > 2 {
				for i := 2 * qBlock; i < 3*qBlock; i++ {
					x[i] = float32(i%5-2) * 0x1p-140 // subnormal values
				}
			}
			if nb > 3 {
				x[3*qBlock] = 127 // the scale is 1, so these are codes at half steps
				for i := 3*qBlock + 1; i < 4*qBlock; i++ {
					x[i] = float32(i%9-4) + 0.5
				}
			}
			if nb > 4 {
				x[4*qBlock+7] = -3e38
			}
			wantQ, wantD, want := make([]int8, k), make([]float32, nb), make([]byte, 2*k)
			quantizeInput(wantQ, wantD, x)
			packQZ(want, wantQ, dt == compute.Q4)
			gotD, got := make([]float32, nb), make([]byte, 2*k)
			quantizeQZ(got, gotD, x, dt == compute.Q4)
			for b := range nb {
				if math.Float32bits(gotD[b]) != math.Float32bits(wantD[b]) {
					t.Errorf("%v nb=%d: scale %d = %g, Go gives %g", dt, nb, b, gotD[b], wantD[b])
				}
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("%v nb=%d: packed byte %d = %d, Go gives %d", dt, nb, i, got[i], want[i])
					break
				}
			}
		}
	}
}

// TestQuantizeBlocks pins the block quantizers on hand-made blocks: zero, the extremes, a
// value of largest magnitude that is negative, and codes at half steps.
func TestQuantizeBlocks(t *testing.T) {
	var x [qBlock]float32
	q := make([]byte, qBlock)
	if h := compute.QuantizeQ8(q, &x); h != 0 || q[0] != 0 {
		t.Errorf("Q8 of zeros: scale %#x, codes %v", h, q)
	}
	for i := range x {
		x[i] = float32(i-16) / 16 * 127 // -127 .. 119.06
	}
	h := compute.QuantizeQ8(q, &x)
	if d := f16ToF32(h); d != 1 {
		t.Errorf("Q8 scale %g, want 1", d)
	}
	for i, c := range q {
		if want := compute.RoundHalfAway(x[i]); int32(int8(c)) != want {
			t.Errorf("Q8 code %d = %d, want %d", i, int8(c), want)
		}
	}
	for i := range x {
		x[i] = float32(i%8) - 4 // -4..3, largest magnitude -4 (negative)
	}
	x[3] = -8
	q4 := make([]byte, qBlock/2)
	h = compute.QuantizeQ4(q4, &x)
	if d := f16ToF32(h); d != 1 {
		t.Errorf("Q4 scale %g, want 1 (-8 / -8)", d)
	}
	out := make([]float32, qBlock)
	dequantizeRow(out, compute.Q4, q4, []uint16{h}, nil, 0)
	for i := range x {
		if out[i] != x[i] {
			t.Errorf("Q4 value %d read back as %g, want %g", i, out[i], x[i])
		}
	}
}

func BenchmarkLinearQuantized(b *testing.B) {
	for _, c := range []struct {
		m, k, n int
		dt      compute.DType
	}{
		{1, 2048, 5632, compute.Q8},
		{1, 2048, 5632, compute.Q4},
		{2, 2048, 5632, compute.Q8},
		{2, 2048, 5632, compute.Q4},
		{8, 2048, 5632, compute.Q8},
		{8, 2048, 5632, compute.Q4},
		{1, 2048, 5632, compute.Q4M},
		{2, 2048, 5632, compute.Q4M},
		{8, 2048, 5632, compute.Q4M},
		{2, 2048, 65536, compute.Q8}, // 134 MB of codes: from memory, not the caches
		{8, 2048, 65536, compute.Q8},
		{630, 2048, 2048, compute.Q8},
		{630, 2048, 2048, compute.Q4},
		{630, 2048, 2048, compute.Q4M},
	} {
		for _, set := range linearQSets() {
			if c.n > 8192 && set < qsetVNNI {
				continue // the from-memory cases: only the fastest sets are worth their weights
			}
			eachThreads(b, fmt.Sprintf("%dx%dx%d_%v/%v", c.m, c.k, c.n, c.dt, set), func(b *testing.B, be *Backend) {
				be.qset = set
				benchLinear(b, be, rand.New(rand.NewPCG(1, 1)), c.m, c.k, c.n, c.dt)
			})
		}
	}
}

// TestDequantizeSIMDExact checks that the assembly dequantization (where this build has it)
// gives the Go loop's bits for Q8 and Q4, from a block offset and over odd block counts.
func TestDequantizeSIMDExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, dt := range []compute.DType{compute.Q8, compute.Q4} {
		const rows, k = 3, 7 * qBlock
		w := make([]float32, rows*k)
		for i := range w {
			w[i] = float32(rng.NormFloat64() * 5)
		}
		be := New(1)
		wt, err := be.FromBytes(dt, []int{rows, k}, compute.F32, le(compute.F32, w))
		if err != nil {
			t.Fatal(err)
		}
		qw := quantized("test", "w", wt)
		for _, b0 := range []int{0, 1, 5, 13} {
			nb := rows*k/qBlock - b0
			got, want := make([]float32, nb*qBlock), make([]float32, nb*qBlock)
			if !dequantSIMD(got, dt, qw.q, qw.s, b0) {
				t.Skip("no assembly dequantization in this build")
			}
			dequantizeRowGo(want, dt, qw.q, qw.s, b0)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%v from block %d: value %d = %g, Go gives %g", dt, b0, i, got[i], want[i])
				}
			}
		}
	}
}

// int8Operands quantizes, as Linear does, two input rows x of K = len(x)/2 values to int8
// blocks and the weight rows w (K values each) to dt, for tests that call the int8 kernels
// directly.
func int8Operands(t *testing.T, dt compute.DType, w, x []float32) (qweight, []int8, []float32) {
	t.Helper()
	k := len(x) / 2
	wt, err := New(1).FromBytes(dt, []int{len(w) / k, k}, compute.F32, le(compute.F32, w))
	if err != nil {
		t.Fatal(err)
	}
	xq, xd := make([]int8, len(x)), make([]float32, len(x)/qBlock)
	quantizeInput(xq, xd, x)
	return quantized("test", "w", wt), xq, xd
}

// TestInt8PairsMatchSingles checks that the two-row int8 kernels give each row the bits the
// one-row kernels give it, for every set, dtype and tile width.
func TestInt8PairsMatchSingles(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, set := range qSets()[1:] {
		for _, dt := range []compute.DType{compute.Q8, compute.Q4} {
			for _, nb := range []int{1, 2, 3, 9, 11, 64} {
				k := nb * qBlock
				w, x := make([]float32, 4*k), make([]float32, 2*k)
				for i := range w {
					w[i] = float32(rng.NormFloat64())
				}
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				qw, xq, xd := int8Operands(t, dt, w, x)
				for cols := 1; cols <= 4; cols++ {
					pair := make([]float32, 2*4)
					tileQSet(set, dt, pair, 4, 2, cols, xq, xd, qw.q, qw.s, nb, qw.rowBytes)
					for r := range 2 {
						single := make([]float32, cols)
						tileQSet(set, dt, single, cols, 1, cols, xq[r*k:(r+1)*k], xd[r*nb:(r+1)*nb], qw.q[:cols*qw.rowBytes], qw.s[:cols*nb], nb, qw.rowBytes)
						for j := range cols {
							if math.Float32bits(pair[r*4+j]) != math.Float32bits(single[j]) {
								t.Errorf("%v %v nb=%d cols=%d: row %d column %d = %g in a pair, %g alone", set, dt, nb, cols, r, j, pair[r*4+j], single[j])
							}
						}
					}
				}
			}
		}
	}
}

// BenchmarkQuantize times FromBytes from BF16 to Q8 and Q4 (what loading with --weights
// q8|q4 does per matrix), in weights per second.
func BenchmarkQuantize(b *testing.B) {
	const n, k = 5632, 2048
	rng := rand.New(rand.NewPCG(1, 1))
	raw := le(compute.BF16, randVals(rng, n*k, 1))
	for _, dt := range []compute.DType{compute.Q8, compute.Q4, compute.Q4M} {
		eachThreads(b, dt.String(), func(b *testing.B, be *Backend) {
			for b.Loop() {
				t, err := be.FromBytes(dt, []int{n, k}, compute.BF16, raw)
				if err != nil {
					b.Fatal(err)
				}
				be.Free(t)
			}
			b.ReportMetric(float64(n*k)/(b.Elapsed().Seconds()/float64(b.N))/1e6, "Mweights/s")
		})
	}
}

// TestQuantizeBlocksMatchesGo checks the assembly weight quantizers (where this build has
// them) against compute.QuantizeQ8, QuantizeQ4 and QuantizeQ4M bit for bit: codes and F16 scales of
// blocks of ordinary and heavy-tailed values, of zeros, of values so small that the scale is
// subnormal or zero, so large that it overflows F16, with codes at half steps, with the
// largest magnitude twice with opposite signs, and with infinities and NaNs (left to the Go
// quantizers), over block counts that are not multiples of anything.
func TestQuantizeBlocksMatchesGo(t *testing.T) {
	if !quantAsm(simdBest()) {
		t.Skip("no assembly weight quantizer on this CPU (or this build)")
	}
	rng := rand.New(rand.NewPCG(21, 21))
	kinds := []func(i int) float32{
		func(int) float32 { return float32(rng.NormFloat64()) },
		func(int) float32 { return float32(rng.NormFloat64() * math.Exp(2*rng.NormFloat64())) },
		func(int) float32 { return 0 },
		func(int) float32 { return float32(rng.NormFloat64() * 1e-30) },
		func(int) float32 { return float32(rng.NormFloat64() * 1e-17) },
		func(int) float32 { return float32(rng.NormFloat64() * 1e-6) },
		func(int) float32 { return float32(rng.NormFloat64() * 1e7) },
		func(int) float32 { return float32(rng.NormFloat64() * 1e17) },
		func(i int) float32 { return float32(i%32-16) * 0.5 * 127 / 16 }, // Q8 codes at half steps
		func(i int) float32 { return float32(i%32-16) * 0.5 },            // Q4 codes at half steps
		func(i int) float32 {
			switch i % 32 {
			case 3:
				return -2.5
			case 20:
				return 2.5
			}
			return float32(rng.NormFloat64())
		},
		func(i int) float32 {
			if i%32 == 5 {
				return float32(math.Inf(1 - 2*(i/32%2)))
			}
			return float32(rng.NormFloat64())
		},
		func(i int) float32 {
			if i%32 == 9 {
				return float32(math.NaN())
			}
			return float32(rng.NormFloat64())
		},
	}
	kinds = append(kinds,
		func(int) float32 { return 3 },                                   // a constant block
		func(i int) float32 { return float32(i%32) * 0.25 },              // Q4M codes on the grid
		func(int) float32 { return float32(1 + rng.NormFloat64()*1e-3) }, // far from zero, narrow
		func(int) float32 { return float32(rng.NormFloat64() * 5e4) },    // F16 overflow
	)
	for _, nb := range []int{1, 2, 3, 16, 17, 33, 64} {
		for ki, kind := range kinds {
			x := make([]float32, nb*qBlock)
			for i := range x {
				x[i] = kind(i)
			}
			q8, s8 := make([]byte, len(x)), make([]uint16, nb)
			quantizeQ8Blocks(q8, s8, x, make([]uint32, nb), make([]float32, nb))
			q4, s4 := make([]byte, len(x)/2), make([]uint16, nb)
			quantizeQ4Blocks(q4, s4, x, new(quantScratch))
			q4m, s4m, o4m := make([]byte, len(x)/2), make([]uint16, nb), make([]uint16, nb)
			quantizeQ4MBlocks(q4m, s4m, o4m, x, new(quantScratch))
			for b := range nb {
				blk := (*[qBlock]float32)(x[b*qBlock:])
				wq := make([]byte, qBlock)
				ws := compute.QuantizeQ8(wq, blk)
				if s8[b] != ws || !slices.Equal(q8[b*qBlock:(b+1)*qBlock], wq) {
					t.Fatalf("Q8, kind %d, nb=%d, block %d: scale %#04x codes %v, Go %#04x %v", ki, nb, b, s8[b], q8[b*qBlock:(b+1)*qBlock], ws, wq)
				}
				ws = compute.QuantizeQ4(wq[:qBlock/2], blk)
				if s4[b] != ws || !slices.Equal(q4[b*qBlock/2:(b+1)*qBlock/2], wq[:qBlock/2]) {
					t.Fatalf("Q4, kind %d, nb=%d, block %d: scale %#04x codes %v, Go %#04x %v", ki, nb, b, s4[b], q4[b*qBlock/2:(b+1)*qBlock/2], ws, wq[:qBlock/2])
				}
				ws, wo := compute.QuantizeQ4M(wq[:qBlock/2], blk)
				if s4m[b] != ws || o4m[b] != wo || !slices.Equal(q4m[b*qBlock/2:(b+1)*qBlock/2], wq[:qBlock/2]) {
					t.Fatalf("Q4M, kind %d, nb=%d, block %d: scale %#04x offset %#04x codes %v, Go %#04x %#04x %v", ki, nb, b, s4m[b], o4m[b], q4m[b*qBlock/2:(b+1)*qBlock/2], ws, wo, wq[:qBlock/2])
				}
			}
		}
	}
}

// TestScalesQ4MatchesGo compares the unrounded scale the Q4 kernel picks with
// compute.Q4Scale's bits over 128,000 blocks of scales from 2^-50 to 2^50, normal and
// heavy-tailed, and with values whose products with the first inverse land on or next to
// half steps, where a fused or reordered step would round differently: the F16 rounding of
// the stored scale would hide most such differences from TestQuantizeBlocksMatchesGo.
func TestScalesQ4MatchesGo(t *testing.T) {
	if !quantAsm(simdBest()) {
		t.Skip("no assembly weight quantizer on this CPU (or this build)")
	}
	rng := rand.New(rand.NewPCG(23, 23))
	const groups = 8000
	x := make([]float32, groups*16*qBlock)
	for b := range groups * 16 {
		blk := x[b*qBlock : (b+1)*qBlock]
		scale := math.Ldexp(1, rng.IntN(101)-50)
		switch b % 3 {
		case 0:
			for i := range blk {
				blk[i] = float32(rng.NormFloat64() * scale)
			}
		case 1:
			for i := range blk {
				blk[i] = float32(rng.NormFloat64() * math.Exp(2*rng.NormFloat64()) * scale)
			}
		default: // m = -8·scale first, so the first inverse is 1/scale
			blk[0] = float32(-8 * scale)
			for i := 1; i < qBlock; i++ {
				v := float32((float64(rng.IntN(15)-7) + 0.5) * scale)
				blk[i] = math.Float32frombits(math.Float32bits(v) + uint32(rng.IntN(3)) - 1)
			}
		}
	}
	best, amax := make([]float32, groups*16), make([]uint32, groups*16)
	var xt [16 * qBlock]float32
	scalesQ4Asm(best, amax, x, &xt)
	differ := 0
	for b := range best {
		blk := (*[qBlock]float32)(x[b*qBlock:])
		if want := compute.Q4Scale(blk); math.Float32bits(best[b]) != math.Float32bits(want) {
			if differ++; differ <= 3 {
				t.Errorf("block %d (amax %#08x): kernel scale %g (%#08x), Go %g (%#08x)", b, amax[b], best[b], math.Float32bits(best[b]), want, math.Float32bits(want))
			}
		}
	}
	if differ > 0 {
		t.Errorf("%d of %d blocks differ", differ, len(best))
	}
}

// TestFromBytesQuantKernelsAgree: loading Q8, Q4 and Q4M weights from BF16, F16 and F32 gives
// the same codes, scales and offsets with the assembly quantizers (and their BF16 widening)
// as with the Go ones, over tasks whose block counts are not multiples of 16.
func TestFromBytesQuantKernelsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 22))
	const rows, k = 9, 7 * qBlock
	vals := randVals(rng, rows*k, 3)
	vals[17] = float32(math.Inf(1))
	for _, c := range []struct{ dt, src compute.DType }{
		{compute.Q8, compute.BF16}, {compute.Q8, compute.F16}, {compute.Q8, compute.F32},
		{compute.Q4, compute.BF16}, {compute.Q4, compute.F16}, {compute.Q4, compute.F32},
		{compute.Q4M, compute.BF16}, {compute.Q4M, compute.F16}, {compute.Q4M, compute.F32},
	} {
		dt, src := c.dt, c.src
		load := func(be *Backend) qweight {
			wt, err := be.FromBytes(dt, []int{rows, k}, src, le(src, vals))
			if err != nil {
				t.Fatal(err)
			}
			return quantized("test", "w", wt)
		}
		got, want := load(New(2)), load(New(1, WithKernels(KernelsGeneric)))
		if !slices.Equal(got.q, want.q) || !slices.Equal(got.s, want.s) || !slices.Equal(got.o, want.o) {
			t.Errorf("%v from %v: the kernels' codes, scales or offsets differ from the Go quantizer's", dt, src)
		}
	}
}
