package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

// TestGrouped checks Q4, Q8 and Q4M matrices stored in groups of 16 rows (where this machine has
// the VNNI kernels) against the same weights stored row after row: FromBytes (with the assembly
// quantizers and the Go ones) and WriteRows in row ranges that cut groups give the same
// values (Read, also through a reshape); for 1 to 16 input rows, with and without a bias (and
// Q4's eight rows in one pass or two, its one or two rows with page kicks or without), the grouped kernels give dotQ4's and dotQ8's bits (the
// Go kernels') and Q4M's those of their Go model, q4mGroupedModel; the many-row products, in
// every precision and product family this machine has, give the bits of the row-major matrix,
// except Q4M's in the BF16 mode, whose offsets' part (offsetRowsG for the groups, the exact
// tiles row after row) is held to a relative 1e-5; Embedding gives the row-major table's bits;
// shapes that do not fill groups stay row after row.
func TestGrouped(t *testing.T) {
	if be := New(1); be.qset != qsetVNNI && be.qset != qsetAMX {
		t.Skipf("no grouped matrices with the %v int8 kernels", be.qset)
	}
	gen := New(2, WithKernels(KernelsGeneric))
	defer gen.Close()
	backends := []struct {
		name        string
		opts        []Option
		int8AllRows bool // every row count on the int8 kernels, on any CPU (int8Prompts)
	}{
		{"exact", nil, false},
		{"bf16", []Option{WithPrecision(PrecisionBF16)}, false},                                    // AMX where the CPU has it
		{"bf16-avx512", []Option{WithKernels(KernelsAVX512), WithPrecision(PrecisionBF16)}, false}, // the FMA tiles
		{"bf16-int8", []Option{WithKernels(KernelsAVX512), WithPrecision(PrecisionBF16)}, true},
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for _, cfg := range backends {
		be := New(2, cfg.opts...)
		defer be.Close()
		if cfg.int8AllRows {
			be.int8AllRows = be.bf16
		}
		for _, dt := range []compute.DType{compute.Q4, compute.Q8, compute.Q4M} {
			for _, sh := range [][2]int{{8, 256}, {16, 96}, {16, 64}, {16, 256}, {32, 768}, {48, 5632}, {64, 2048}, {256, 512}} {
				n, k := sh[0], sh[1]
				t.Run(fmt.Sprintf("%s/%v/%dx%d", cfg.name, dt, n, k), func(t *testing.T) {
					grouped(t, be, gen, rng, dt, n, k)
				})
			}
		}
	}
}

func grouped(t *testing.T, be, gen *Backend, rng *rand.Rand, dt compute.DType, n, k int) {
	vals := randVals(rng, n*k, 1)
	raw := le(compute.F32, vals)
	w := weightTensor(t, be, dt, vals, n, k)
	wantGroups := n%16 == 0 && (k%256 == 0 || dt == compute.Q8 && k%64 == 0)
	if got := quantized("test", "w", w).groups; got != wantGroups {
		t.Fatalf("stored in groups: %v, want %v", got, wantGroups)
	}
	// storedAs stores the weights on be as it would with the int8 set qs and vector set ss.
	storedAs := func(qs qSet, ss simdSet) *Tensor {
		q, s := be.qset, be.simd
		be.qset, be.simd = qs, ss
		defer func() { be.qset, be.simd = q, s }()
		return weightTensor(t, be, dt, vals, n, k)
	}
	// The same weights row after row on the same backend, and on the Go kernels.
	rows := storedAs(qsetNone, be.simd)
	ref := weightTensor(t, gen, dt, vals, n, k)
	// WriteRows in ranges of 5 rows, which cut the groups.
	pieces := be.New(dt, n, k)
	for r0 := 0; r0 < n; r0 += 5 {
		r1 := min(r0+5, n)
		if err := be.WriteRows(pieces, r0, compute.F32, raw[4*r0*k:4*r1*k]); err != nil {
			t.Fatal(err)
		}
	}
	// The Go quantizers, as a backend without the assembly ones runs them.
	goQuant := storedAs(be.qset, simdAVX2)
	want := read(t, gen, ref)
	for name, tt := range map[string]*Tensor{"FromBytes": w, "WriteRows": pieces, "Go quantizers": goQuant, "reshaped": be.Reshape(w, 2*n, k/2)} {
		if got := read(t, be, tt); !sameBits(got, want) {
			t.Errorf("%s: values differ from the row-major matrix's", name)
		}
	}
	if !wantGroups {
		return // the row-major kernels have their own tests
	}
	bias := be.FromFloat32(randVals(rng, n, 1), n)
	genBias := gen.FromFloat32(read(t, be, bias), n)
	defer func(p groupPick) { be.groupPick = p }(be.groupPick)
	for _, m := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 70} {
		for _, withBias := range []bool{false, true} {
			x := randVals(rng, m*k, 2)
			got := be.New(compute.F32, m, n)
			var b, gb *Tensor
			if withBias {
				b, gb = bias, genBias
			}
			// Few rows, and many in the BF16 mode where it takes them on the int8 kernels
			// (int8AllRows): dotQ4's or dotQ8's bits, as the Go kernels give them sixteen rows at a
			// time, with Q4's eight rows in one pass or two; and on the row-major matrix the
			// bits of the same rows sixteen at a time. Other many rows (the dequantized
			// products): the row-major matrix's on the same kernels.
			if m <= qFewRows || be.int8AllRows {
				want := linearInChunks(t, gen, x, m, k, ref, gb, qFewRows)
				if m > qFewRows && !sameBits(linearInChunks(t, be, x, m, k, rows, b, qFewRows), linearInChunks(t, be, x, m, k, rows, b, m)) {
					t.Errorf("Linear of %d rows (bias %v) on the row-major matrix: not the bits of 16 rows at a time", m, withBias)
				}
				if dt == compute.Q4M {
					// Q4M's grouped kernels add each block's offsets as they go (the
					// generator): their Go model's bits.
					var bv []float32
					if withBias {
						bv = read(t, be, bias)
					}
					want = q4mGroupedModel(quantized("test", "w", ref), x, m, bv)
				}
				for _, fours := range []bool{false, true} {
					for _, pick := range []groupPick{{}, {q4Kicks: true, q8Far: true}} {
						pick.q4Fours = fours
						be.groupPick = pick
						be.Linear(got, be.FromFloat32(x, m, k), w, b)
						if g := read(t, be, got); !sameBits(g, want) {
							t.Errorf("Linear of %d rows (bias %v, Q4 rows in fours %v, kernels %+v): grouped kernels differ from the Go kernels", m, withBias, fours, pick)
						}
					}
				}
				continue
			}
			be.Linear(got, be.FromFloat32(x, m, k), w, b)
			other := be.New(compute.F32, m, n)
			be.Linear(other, be.FromFloat32(x, m, k), rows, b)
			g, wr := read(t, be, got), read(t, be, other)
			if dt == compute.Q4M && be.bf16 {
				// The offsets' part: offsetRowsG for the groups, the exact tiles row after
				// row (TestOffsetRowsG); they differ in float32 rounding only.
				for i := range g {
					if e := math.Abs(float64(g[i] - wr[i])); !(e <= 1e-5*(1+math.Abs(float64(wr[i])))) {
						t.Fatalf("Linear of %d rows (bias %v): grouped matrix gives %g at %d, row-major %g", m, withBias, g[i], i, wr[i])
					}
				}
				continue
			}
			if !sameBits(g, wr) {
				t.Errorf("Linear of %d rows (bias %v): grouped matrix differs from row-major", m, withBias)
			}
		}
	}
	ids := []int32{int32(n - 1), 0, int32(n / 2), 3}
	got, wantE := be.New(compute.F32, len(ids), k), gen.New(compute.F32, len(ids), k)
	be.Embedding(got, w, ids)
	gen.Embedding(wantE, ref, ids)
	if !sameBits(read(t, be, got), read(t, gen, wantE)) {
		t.Errorf("Embedding differs from the row-major table's")
	}
}

// q4mGroupedModel is the Go model of Q4M's grouped kernels (dotQ4MG…): for each input row of
// x (m rows) and weight row r of w (stored row after row), in order of blocks, s +=
// float32(the block's exact int8 sum)·(xd·wd), then s = o·xs + s with one rounding (xs the
// float32 block sum of the input row); then the bias, if any.
func q4mGroupedModel(w qweight, x []float32, m int, bias []float32) []float32 {
	k, n, nb := w.k, w.n, w.k/qBlock
	xq, xd, xs := make([]int8, k), make([]float32, nb), make([]float32, nb)
	out := make([]float32, m*n)
	for i := range m {
		quantizeInput(xq, xd, x[i*k:(i+1)*k])
		blockSums(xs, x[i*k:(i+1)*k])
		for r := range n {
			var s float32
			for b := range nb {
				acc := dotQ4(1, xq[b*qBlock:], []float32{1}, w.q[(r*nb+b)*qBlock/2:], []uint16{0x3c00})
				s += float32(acc * float32(xd[b]*f16ToF32(w.s[r*nb+b])))
				s = float32(math.FMA(float64(f16ToF32(w.o[r*nb+b])), float64(xs[b]), float64(s)))
			}
			if bias != nil {
				s += bias[r]
			}
			out[i*n+r] = s
		}
	}
	return out
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestLinearsGrouped checks Linears on grouped matrices, whose products share one packed
// input and one loop over every matrix's groups: each product gets the bits its own Linear
// gives, for matrices of 1 to 40 groups (so that chunks of the loop span two or three
// matrices, at 1 to 3 threads), for 1 to 16 input rows; and destinations that overlap panic.
func TestLinearsGrouped(t *testing.T) {
	if be := New(1); be.qset != qsetVNNI && be.qset != qsetAMX {
		t.Skipf("no grouped matrices with the %v int8 kernels", be.qset)
	}
	rng := rand.New(rand.NewPCG(8, 8))
	const k = 512
	for _, threads := range []int{1, 2, 3} {
		be := New(threads)
		defer be.Close()
		for _, dt := range []compute.DType{compute.Q4, compute.Q8} {
			widths := []int{16 * 40, 16, 16 * 7}
			var ps []compute.Product
			for _, n := range widths {
				w := weightTensor(t, be, dt, randVals(rng, n*k, 1), n, k)
				if !quantized("test", "w", w).groups {
					t.Fatalf("%v [%d %d] is not stored in groups", dt, n, k)
				}
				ps = append(ps, compute.Product{W: w})
			}
			for _, m := range []int{1, 2, 3, 15, 16} {
				t.Run(fmt.Sprintf("threads=%d/%v/rows=%d", threads, dt, m), func(t *testing.T) {
					x := be.FromFloat32(randVals(rng, m*k, 1), m, k)
					want := make([][]float32, len(ps))
					for i := range ps {
						ps[i].Dst = be.New(compute.F32, m, widths[i])
						single := be.New(compute.F32, m, widths[i])
						be.Linear(single, x, ps[i].W, nil)
						want[i] = read(t, be, single)
					}
					be.Linears(x, ps)
					for i := range ps {
						if got := read(t, be, ps[i].Dst); !sameBits(got, want[i]) {
							t.Errorf("product %d (%d rows): differs from its Linear", i, widths[i])
						}
					}
				})
			}
			dst := be.New(compute.F32, 1, widths[1])
			x := be.FromFloat32(randVals(rng, k, 1), 1, k)
			overlap := []compute.Product{{Dst: dst, W: ps[1].W}, {Dst: dst, W: ps[1].W}}
			func() {
				defer func() {
					if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "overlaps") {
						t.Errorf("%v: overlapping destinations: panic %v, want one about the overlap", dt, r)
					}
				}()
				be.Linears(x, overlap)
			}()
		}
	}
}

// TestPutGroupBlocks: putting a matrix's blocks into row groups in chunks that start anywhere
// (mid-row, at a group's last block, across groups) places every block's codes and scale
// where groupOffsets says, for both code widths and several row lengths.
func TestPutGroupBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, cb := range []int{16, 32} {
		for _, nb := range []int{2, 8, 24} {
			const rows = 2 * qGroupRows
			blocks := rows * nb
			codes := make([]byte, blocks*cb)
			scales := make([]uint16, blocks)
			for i := range codes {
				codes[i] = byte(rng.Uint32())
			}
			for i := range scales {
				scales[i] = uint16(rng.Uint32())
			}
			wantQ, wantS := make([]byte, blocks*cb), make([]uint16, blocks)
			for blk := range blocks {
				c, sc := groupOffsets(blk/nb, blk%nb, nb, cb)
				for ch := range cb / 4 {
					copy(wantQ[c+64*ch:c+64*ch+4], codes[blk*cb+4*ch:])
				}
				wantS[sc] = scales[blk]
			}
			// Chunk starts: mid-row, a group's last row's last block, and random lengths.
			cuts := []int{0, 1, nb + 1, qGroupRows*nb - 1, qGroupRows * nb, blocks}
			for len(cuts) < 12 {
				cuts = append(cuts, rng.IntN(blocks))
			}
			slices.Sort(cuts)
			gotQ, gotS := make([]byte, blocks*cb), make([]uint16, blocks)
			for i := 1; i < len(cuts); i++ {
				b0, b1 := cuts[i-1], cuts[i]
				putGroupBlocks(gotQ, gotS, nil, nb, b0, cb, codes[b0*cb:b1*cb], scales[b0:b1], nil)
			}
			if !slices.Equal(gotQ, wantQ) || !slices.Equal(gotS, wantS) {
				t.Errorf("%d code bytes a block, %d blocks a row: blocks placed elsewhere than groupOffsets says", cb, nb)
			}
		}
	}
}

// linearInChunks is Linear of the m rows x (k values each) by w on be, rowsPer rows at a time.
func linearInChunks(t *testing.T, be *Backend, x []float32, m, k int, w, bias *Tensor, rowsPer int) []float32 {
	t.Helper()
	n := w.Shape[0]
	var out []float32
	for i := 0; i < m; i += rowsPer {
		r := min(rowsPer, m-i)
		d := be.New(compute.F32, r, n)
		be.Linear(d, be.FromFloat32(x[i*k:(i+r)*k], r, k), w, bias)
		out = append(out, read(t, be, d)...)
	}
	return out
}
