package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/internal/fixtures"
)

// TestBF16KernelsMatchModel checks every BF16 micro-kernel bit for bit against dotPairsGo
// (all panel widths, row counts, odd and long K) and the vector roundings against bf16Bits.
func TestBF16KernelsMatchModel(t *testing.T) {
	if !hasBF16() {
		t.Skip("no AVX512_BF16 on this CPU")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, width := range []int{16, 32, 48} {
		for _, rows := range []int{1, 3, 8} {
			for _, kp := range []int{0, 1, 5, 300} {
				ldw := 2*kp + 6
				w := make([]uint16, (rows-1)*ldw+2*kp)
				for i := range w {
					w[i] = bf16Bits(float32(rng.NormFloat64()))
				}
				x := make([]uint32, kp*width)
				for i := range x {
					x[i] = uint32(bf16Bits(float32(rng.NormFloat64()))) | uint32(bf16Bits(float32(rng.NormFloat64())))<<16
				}
				got, want := make([]float32, bf16W*width), make([]float32, bf16W*width)
				dotPairs(kp, w, ldw, rows, x, width, got)
				dotPairsGo(kp, w, ldw, rows, x, width, want)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("width %d rows %d kp %d: c[%d] = %g, model %g", width, rows, kp, i, got[i], want[i])
					}
				}
			}
		}
	}
	specials := []float32{0, -0, 1, 1 + 1.0/256, 1 + 3.0/256, 1 + 1.0/512, 1 + 3.0/512, 1e-39, -1e-40,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.MaxFloat32, 3.3895e38}
	src := make([]float32, 4096)
	for i := range src {
		if i < len(specials) {
			src[i] = specials[i]
		} else {
			src[i] = math.Float32frombits(rng.Uint32())
		}
	}
	rounded := append([]float32(nil), src...)
	roundBF16(rounded)
	for i, f := range src {
		if want := math.Float32frombits(uint32(bf16Bits(f)) << 16); f == f && math.Float32bits(rounded[i]) != math.Float32bits(want) {
			t.Errorf("roundBF16(%g) = %g, want %g", f, rounded[i], want)
		}
	}
	got := make([]uint16, len(src))
	cvtBF16(got, src)
	for i, f := range src {
		want := bf16Bits(f)
		if f != f {
			if got[i]&0x7fc0 != 0x7fc0 {
				t.Errorf("cvtBF16(NaN %#x) = %#x, not a quiet NaN", math.Float32bits(f), got[i])
			}
			continue
		}
		if got[i] != want {
			t.Errorf("cvtBF16(%g = %#x) = %#x, want %#x", f, math.Float32bits(f), got[i], want)
		}
	}
}

// bf16Ref is Σ_p bf16(a_p)·bf16(b_p) in float64: what the BF16 mode approximates to within
// float32 summation error.
func bf16Ref(a, b []float32) float64 {
	var s float64
	r := func(f float32) float64 {
		return float64(math.Float32frombits(uint32(bf16Bits(f)) << 16))
	}
	for p := range a {
		s += r(a[p]) * r(b[p])
	}
	return s
}

// bf16Backend is a Backend in the BF16 mode on the kernels named: "fma", "vdpbf16ps" or
// "amx" (quantized weights too: not on the int8 kernels); it skips t where the mode or AMX is
// not available.
func bf16Backend(t *testing.T, threads int, kernels string) *Backend {
	t.Helper()
	be := New(threads, WithPrecision(PrecisionBF16))
	if be.Precision() != "bf16" {
		t.Skipf("precision %s", be.Precision())
	}
	if kernels == "amx" && !be.amx {
		t.Skip("no AMX here")
	}
	be.amx, be.bf16dp, be.int8AllRows = kernels == "amx", kernels == "vdpbf16ps", false
	return be
}

// TestLinearBF16 checks Linear in the BF16 mode for every weight dtype against float64 sums
// of the BF16-rounded operands (bound: K float32 roundings of the absolute sum, AMX: two per
// chunk), and that it gives the same bits on 1 and 3 threads and on the FMA and VDPBF16PS
// kernels, and on 1 and 3 threads on AMX. Q4M's products are Q4's part in BF16 and the
// offsets' part in float32 (linearOffsets): its reference rounds only the former.
func TestLinearBF16(t *testing.T) {
	if !hasBF16() {
		t.Skip("no AVX512_BF16 on this CPU")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, c := range []struct {
		m, k, n int
		dt      compute.DType
	}{
		{16, 64, 8, compute.BF16},
		{49, 520, 37, compute.BF16},
		{130, 2048, 70, compute.BF16},
		{48, 2048, 64, compute.BF16}, // AMX: weights read in place (gemmAMXW)
		{20, 96, 32, compute.BF16},
		{33, 256, 65, compute.F32},
		{20, 96, 9, compute.F16},
		{40, 512, 24, compute.Q8},
		{17, 256, 16, compute.Q4},
		{17, 96, 16, compute.Q4M},
		// In row groups (gemmBF16Groups): panels of 48, 32 and 16 weight rows, and x rows
		// that do not fill the last call of 8.
		{40, 512, 80, compute.Q8},
		{23, 2048, 112, compute.Q8},
		{50, 512, 48, compute.Q4},
		{19, 768, 64, compute.Q4},
		{50, 512, 48, compute.Q4M}, // grouped: panels packed from the codes, offsets in offsetRowsG
	} {
		t.Run(fmt.Sprintf("%dx%dx%d_%v", c.m, c.k, c.n, c.dt), func(t *testing.T) {
			xv := randVals(rng, c.m*c.k, 1)
			wv := randVals(rng, c.n*c.k, 1)
			bv := randVals(rng, c.n, 1)
			var outs [][]float32
			var q4m qweight // the last variant's Q4M weights
			variants := []struct {
				name    string
				threads int
				dp, amx bool
			}{{"1 thread (FMA)", 1, false, false}, {"3 threads (FMA)", 3, false, false},
				{"2 threads (VDPBF16PS)", 2, true, false}, {"1 thread (AMX)", 1, false, true}, {"3 threads (AMX)", 3, false, true}}
			for _, v := range variants {
				be := New(v.threads, WithPrecision(PrecisionBF16))
				if be.Precision() != "bf16" {
					t.Skipf("precision %s (kernels %s)", be.Precision(), be.Kernels())
				}
				if v.amx && !be.amx {
					outs = append(outs, nil) // no AMX here
					continue
				}
				// Quantized weights on the BF16 tiles, as AMX and the FMA kernels take them
				// (TestGrouped checks the int8 kernels that take them where int8AllRows is set).
				be.bf16dp, be.amx, be.int8AllRows = v.dp, v.amx, false
				w := weightTensor(t, be, c.dt, wv, c.n, c.k)
				dst := be.New(compute.F32, c.m, c.n)
				be.Linear(dst, be.FromFloat32(xv, c.m, c.k), w, be.FromFloat32(bv, c.n))
				outs = append(outs, read(t, be, dst))
				if c.dt.Quantized() || c.dt == compute.F16 {
					wv = read(t, be, w) // the dequantized weights the products used
				}
				if c.dt == compute.Q4M {
					q4m = quantized("test", "w", w)
				}
			}
			// The FMA and VDPBF16PS kernels share one summation order; AMX has its own
			// (amx.go), the same on any thread count.
			for r, like := range []int{0, 0, 0, 3, 3} {
				for i, v := range outs[r] {
					if math.Float32bits(v) != math.Float32bits(outs[like][i]) {
						t.Fatalf("out[%d]: %g on %s, %g on %s", i, v, variants[r].name, outs[like][i], variants[like].name)
					}
				}
			}
			for _, r := range []int{0, 3} {
				if outs[r] == nil {
					continue
				}
				// Bound: K float32 roundings of the absolute sum (FMA order); AMX rounds at
				// most twice per chunk of 32.
				units := float64(c.k + 2)
				if variants[r].amx {
					units = float64(2*((c.k+amxK-1)/amxK) + 4)
				}
				for i := range c.m {
					for j := range c.n {
						a, b := xv[i*c.k:(i+1)*c.k], wv[j*c.k:(j+1)*c.k]
						var offs, offsAbs float64 // Q4M's offsets' part
						if c.dt == compute.Q4M {
							q4 := q4m
							q4.o = nil
							b = make([]float32, c.k)
							q4.dequant(b, j, 0)
							ov := make([]float32, c.k/qBlock)
							offsetRow(q4m, ov, j)
							for blk := range c.k / qBlock {
								o := float64(ov[blk])
								for p := blk * qBlock; p < (blk+1)*qBlock; p++ {
									offs += float64(a[p]) * o
									offsAbs += math.Abs(float64(a[p]) * o)
								}
							}
						}
						want := bf16Ref(a, b) + offs + float64(bv[j])
						var abs float64
						for p := range a {
							abs += math.Abs(float64(a[p] * b[p]))
						}
						// The offsets' part: a float32 sum of each block, then one of the blocks.
						abs += float64(qBlock+c.k/qBlock+2) / units * offsAbs
						tol := units * (abs + math.Abs(float64(bv[j]))) * 0x1p-24
						if got := float64(outs[r][i*c.n+j]); math.Abs(got-want) > tol {
							t.Fatalf("%s: out[%d,%d] = %g, want %g ± %g", variants[r].name, i, j, got, want, tol)
						}
					}
				}
			}
		})
	}
}

// BenchmarkBF16 measures the BF16 mode: the micro-kernels alone (one thread, operands in
// L1/L2) and Linear on prefill shapes, against the exact mode on the same shapes.
func BenchmarkBF16(b *testing.B) {
	if !hasBF16() {
		b.Skip("no AVX512_BF16 on this CPU")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, width := range []int{16, 32, 48} {
		b.Run(fmt.Sprintf("kernel8x%d", width), func(b *testing.B) {
			const kp = 512
			w := make([]uint16, bf16W*2*kp)
			x := make([]uint32, kp*width)
			for i := range w {
				w[i] = bf16Bits(float32(rng.NormFloat64()))
			}
			for i := range x {
				x[i] = uint32(bf16Bits(float32(rng.NormFloat64()))) * 0x10001
			}
			c := make([]float32, bf16W*width)
			for b.Loop() {
				dotPairs(kp, w, 2*kp, bf16W, x, width, c)
			}
			report(b, float64(4*kp*bf16W*width), 0)
		})
	}
	for _, c := range []struct {
		m, k, n int
		dt      compute.DType
	}{
		{630, 2048, 2048, compute.BF16},
		{630, 2048, 5632, compute.BF16},
		{630, 5632, 2048, compute.BF16},
		{576, 1024, 4096, compute.BF16},
		{630, 2048, 2048, compute.Q8},
		{48, 2048, 5632, compute.BF16}, // the generation prompt pass
	} {
		for _, p := range []string{"exact", "bf16-fma", "bf16-vdpbf16ps", "bf16-amx", "bf16-int8"} {
			for _, threads := range []int{1, runtime.GOMAXPROCS(0)} {
				b.Run(fmt.Sprintf("Linear%dx%dx%d_%v/%v/threads=%d", c.m, c.k, c.n, c.dt, p, threads), func(b *testing.B) {
					be := New(threads, WithPrecision(map[bool]Precision{true: PrecisionExact, false: PrecisionBF16}[p == "exact"]))
					be.bf16dp = p == "bf16-vdpbf16ps"
					if p == "bf16-amx" && !be.amx {
						b.Skip("no AMX here")
					}
					if p == "bf16-int8" && (!c.dt.Quantized() || be.qset != qsetVNNI || !be.bf16) {
						b.Skip("the int8 kernels take quantized weights, with the VNNI set, in the BF16 mode")
					}
					// Quantized weights on the BF16 tiles but for bf16-int8 (int8Prompts).
					be.amx, be.int8AllRows = p == "bf16-amx", p == "bf16-int8"
					defer be.Close()
					benchLinear(b, be, rng, c.m, c.k, c.n, c.dt)
				})
			}
		}
	}
}

// TestFMAKernelsMatchModel checks the FMA micro-kernels of the BF16 mode bit for bit
// against fmaPairsGo (every row count, K blocks resumed through c).
func TestFMAKernelsMatchModel(t *testing.T) {
	if !hasBF16() {
		t.Skip("no AVX512_BF16 on this CPU")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	r := func() float32 { return math.Float32frombits(uint32(bf16Bits(float32(rng.NormFloat64()))) << 16) }
	for rows := 1; rows <= fmaRows; rows++ {
		for _, kp := range []int{0, 1, 7, 200} {
			for _, acc := range []bool{false, true} {
				ldx, ldc := 2*kp+3, fmaCols+5
				x := make([]float32, (rows-1)*ldx+2*kp)
				p := make([]float32, 2*kp*fmaCols)
				c0 := make([]float32, (rows-1)*ldc+fmaCols)
				for _, s := range [][]float32{x, p, c0} {
					for i := range s {
						s[i] = r()
					}
				}
				got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
				fmaPairs(kp, x, ldx, rows, p, got, ldc, acc)
				fmaPairsGo(kp, x, ldx, rows, p, want, ldc, acc)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("rows %d kp %d acc %v: c[%d] = %g, model %g", rows, kp, acc, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// BenchmarkBF16Ops times Conv2D (in place too, as the VQ decoder's resblocks run it) and
// many-row Attention in both modes on the shapes of the VQ decoder, the ViT and the prefill.
func BenchmarkBF16Ops(b *testing.B) {
	if !hasBF16() {
		b.Skip("no AVX512_BF16 on this CPU")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct {
		name                            string
		cin, h, w, cout, k, stride, pad int
	}{
		{"Conv3x3_128to128_384x384", 128, 384, 384, 128, 3, 1, 1}, // the VQ decoder's last level
		{"Conv3x3_128to128_384x384_in_place", 128, 384, 384, 128, 3, 1, 1},
		{"Conv3x3_128to128_96x96", 128, 96, 96, 128, 3, 1, 1},
		{"Conv3x3_256to256_48x48", 256, 48, 48, 256, 3, 1, 1},
		{"Conv16x16s16_3to1024_384", 3, 384, 384, 1024, 16, 16, 0},
	} {
		for _, p := range []string{"exact", "bf16", "bf16-amx"} {
			b.Run(fmt.Sprintf("%s/%v", c.name, p), func(b *testing.B) {
				be := New(runtime.GOMAXPROCS(0), WithPrecision(map[bool]Precision{true: PrecisionExact, false: PrecisionBF16}[p == "exact"]))
				defer be.Close()
				if p == "bf16-amx" && !be.amx {
					b.Skip("no AMX here")
				}
				be.amx = p == "bf16-amx"
				ho, wo := (c.h+2*c.pad-c.k)/c.stride+1, (c.w+2*c.pad-c.k)/c.stride+1
				x := be.FromFloat32(randVals(rng, c.cin*c.h*c.w, 1), 1, c.cin, c.h, c.w)
				// Weights of about unit gain (uniform in ±√(3/K)), so that an in-place
				// convolution run again and again keeps its values finite.
				w := be.FromFloat32(randVals(rng, c.cout*c.cin*c.k*c.k, math.Sqrt(3/float64(c.cin*c.k*c.k))), c.cout, c.cin, c.k, c.k)
				dst := x
				if !strings.HasSuffix(c.name, "_in_place") {
					dst = be.New(compute.F32, 1, c.cout, ho, wo)
				}
				for b.Loop() {
					be.Conv2D(dst, x, w, nil, compute.Conv2DParams{Stride: c.stride, Pad: c.pad})
				}
				report(b, 2*float64(c.cout*c.cin*c.k*c.k*ho*wo), 0)
			})
		}
	}
	for _, c := range []struct {
		name         string
		t, heads, hd int
		causal       bool
	}{
		{"Attention630causal_16x128", 630, 16, 128, true},
		{"Attention576full_16x64", 576, 16, 64, false},
	} {
		for _, p := range []string{"exact", "bf16", "bf16-amx"} {
			b.Run(fmt.Sprintf("%s/%v", c.name, p), func(b *testing.B) {
				be := New(runtime.GOMAXPROCS(0), WithPrecision(map[bool]Precision{true: PrecisionExact, false: PrecisionBF16}[p == "exact"]))
				defer be.Close()
				if p == "bf16-amx" && !be.amx {
					b.Skip("no AMX here")
				}
				be.amx = p == "bf16-amx"
				w := c.heads * c.hd
				q := be.FromFloat32(randVals(rng, c.t*w, 1), 1, c.t, w)
				k := be.FromFloat32(randVals(rng, c.t*w, 1), 1, c.t, w)
				v := be.FromFloat32(randVals(rng, c.t*w, 1), 1, c.t, w)
				dst := be.New(compute.F32, 1, c.t, w)
				ap := compute.AttentionParams{Heads: c.heads, KVHeads: c.heads, HeadDim: c.hd, KVLen: c.t, Causal: c.causal, Scale: 0.1}
				for b.Loop() {
					be.Attention(dst, q, k, v, ap)
				}
				pairs := float64(c.t * c.t)
				if c.causal {
					pairs = float64(c.t*(c.t+1)) / 2
				}
				report(b, 4*pairs*float64(c.hd*c.heads), 0)
			})
		}
	}
}

// BenchmarkFMAKernel measures the FMA micro-kernel alone on one thread (one K block, panel
// in L1/L2).
func BenchmarkFMAKernel(b *testing.B) {
	const kp = fmaK / 2
	for _, ldx := range []int{2 * kp, 2048, 2048 + 16} {
		b.Run(fmt.Sprintf("ldx=%d", ldx), func(b *testing.B) {
			x := randVals(rand.New(rand.NewPCG(1, 2)), fmaRows*ldx, 1)
			p := randVals(rand.New(rand.NewPCG(3, 4)), 2*kp*fmaCols, 1)
			c := make([]float32, fmaRows*fmaCols)
			for b.Loop() {
				fmaPairs(kp, x, ldx, fmaRows, p, c, fmaCols, false)
			}
			report(b, float64(2*2*kp*fmaRows*fmaCols), 0)
		})
	}
}

// TestPairPanel checks that a panel packed straight from the input holds the pairs of
// bf16Bits, for specials (signed zeros, subnormals, infinities, NaN, ties) among random
// values, at offsets as a convolution's patches have them.
func TestPairPanel(t *testing.T) {
	if !hasBF16() {
		t.Skip("no AVX512_BF16 on this CPU")
	}
	rng := rand.New(rand.NewPCG(15, 16))
	g := convGeometry{cin: 3, h: 4, w: 60, kh: 3, kw: 3, wo: 60, stride: 1, pad: 1}
	x := randVals(rng, g.cin*g.h*g.w, 100)
	specials := []float32{0, float32(math.Copysign(0, -1)), 1e-40, -1e-40, float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), 1 + 1.0/256, 1 + 3.0/256, -3e38}
	for i := range x {
		if i%7 == 0 {
			x[i] = specials[(i/7)%len(specials)]
		}
	}
	offs := g.patchOffsets(18, g.h, g.w) // two channels' patches: 9 pairs
	const kp = 9
	p := make([]uint32, kp*bf16Panel)
	if !pairPanel(kp, x[5:], offs, p) {
		t.Fatal("pairPanel did nothing with AVX512_BF16")
	}
	for q := range kp {
		for l := range bf16Panel {
			lo, hi := x[5+int(offs[2*q])+l], x[5+int(offs[2*q+1])+l]
			want := uint32(bf16Bits(lo)) | uint32(bf16Bits(hi))<<16
			if got := p[q*bf16Panel+l]; got != want {
				t.Fatalf("pair %d of pixel %d (%g, %g) = %#08x, want %#08x", q, l, lo, hi, got, want)
			}
		}
	}
}

// TestStoreBias checks storeBias against the Go loop for lengths around whole vectors, and
// that it writes nothing past dst.
func TestStoreBias(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, n := range []int{0, 1, 15, 16, 17, 31, 48, 50} {
		src := randVals(rng, n, 10)
		buf := make([]float32, n+20)
		storeBias(buf[:n], src, 0.375)
		for i, v := range buf {
			want := float32(0)
			if i < n {
				want = src[i] + 0.375
			}
			if math.Float32bits(v) != math.Float32bits(want) {
				t.Fatalf("n=%d: [%d] = %g, want %g", n, i, v, want)
			}
		}
		// In place, as the exact Conv2D adds its bias.
		storeBias(buf[:n], buf[:n], -0.375)
		for i, v := range buf[:n] {
			if want := (src[i] + 0.375) - 0.375; math.Float32bits(v) != math.Float32bits(want) {
				t.Fatalf("n=%d in place: [%d] = %g, want %g", n, i, v, want)
			}
		}
	}
}

// TestConv2DBF16 checks Conv2D in the BF16 mode against float64 sums of the BF16-rounded
// operands (odd patch lengths, stride, padding, partial pixel blocks, several images), that
// it gives the same bits on 1 and 3 threads, on the FMA and VDPBF16PS tiles, and on AMX in
// bands of any height.
func TestConv2DBF16(t *testing.T) {
	if !hasBF16() {
		t.Skip("no AVX512_BF16 on this CPU")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	r := func(f float32) float64 { return float64(math.Float32frombits(uint32(bf16Bits(f)) << 16)) }
	for _, c := range []struct{ n, cin, h, w, cout, k, stride, pad int }{
		{1, 3, 9, 11, 7, 3, 1, 1},
		{2, 8, 12, 12, 13, 3, 2, 1},
		{1, 3, 32, 32, 16, 16, 16, 0},
		{1, 40, 10, 10, 6, 3, 1, 1},
		{1, 130, 9, 9, 3, 1, 1, 0},
		{1, 16, 20, 20, 70, 3, 1, 1},
		{2, 35, 6, 70, 40, 3, 1, 1},
		// Even K, rows wider than a panel: some panels packed straight from the input.
		{2, 20, 6, 100, 24, 3, 1, 1},
		{1, 8, 3, 60, 5, 1, 1, 0},
		{1, 6, 4, 48, 8, 3, 1, 1},  // a panel is a whole row, padded on both sides
		{1, 4, 5, 96, 9, 3, 1, 1},  // the panel at pixel 48 is padded on the right only
		{1, 4, 7, 100, 9, 5, 1, 2}, // two rows and columns of padding
		{1, 4, 2, 60, 6, 3, 1, 1},  // fewer input rows than the kernel has
	} {
		ho, wo := (c.h+2*c.pad-c.k)/c.stride+1, (c.w+2*c.pad-c.k)/c.stride+1
		xv := randVals(rng, c.n*c.cin*c.h*c.w, 1)
		wv := randVals(rng, c.cout*c.cin*c.k*c.k, 1)
		bv := randVals(rng, c.cout, 1)
		var fma []float32 // the FMA tiles' output, which the VDPBF16PS tiles' must equal
		for _, kernels := range []string{"fma", "vdpbf16ps", "amx"} {
			t.Run(fmt.Sprintf("%+v/%s", c, kernels), func(t *testing.T) {
				var outs [][]float32
				for _, threads := range []int{1, 3} {
					be := bf16Backend(t, threads, kernels)
					dst := be.New(compute.F32, c.n, c.cout, ho, wo)
					be.Conv2D(dst, be.FromFloat32(xv, c.n, c.cin, c.h, c.w), be.FromFloat32(wv, c.cout, c.cin, c.k, c.k),
						be.FromFloat32(bv, c.cout), compute.Conv2DParams{Stride: c.stride, Pad: c.pad})
					outs = append(outs, read(t, be, dst))
				}
				for i, v := range outs[1] {
					if math.Float32bits(v) != math.Float32bits(outs[0][i]) {
						t.Fatalf("out[%d]: %g on 3 threads, %g on 1", i, v, outs[0][i])
					}
				}
				if kernels == "amx" && c.stride == 1 {
					// convDirectAMX in bands of four output rows (its least on one thread):
					// each output is the same sum, so the same bits.
					be := bf16Backend(t, 1, kernels)
					be.band = 1
					dst := be.New(compute.F32, c.n, c.cout, ho, wo)
					be.Conv2D(dst, be.FromFloat32(xv, c.n, c.cin, c.h, c.w), be.FromFloat32(wv, c.cout, c.cin, c.k, c.k),
						be.FromFloat32(bv, c.cout), compute.Conv2DParams{Stride: c.stride, Pad: c.pad})
					for i, v := range read(t, be, dst) {
						if math.Float32bits(v) != math.Float32bits(outs[0][i]) {
							t.Fatalf("out[%d]: %g in bands of 4 rows, %g in one", i, v, outs[0][i])
						}
					}
				}
				switch kernels {
				case "fma":
					fma = outs[0]
				case "vdpbf16ps":
					if fma == nil {
						t.Skip("the FMA tiles' run did not finish")
					}
					for i, v := range outs[0] {
						if math.Float32bits(v) != math.Float32bits(fma[i]) {
							t.Fatalf("out[%d]: %g on the VDPBF16PS tiles, %g on the FMA tiles", i, v, fma[i])
						}
					}
				}
				for img := range c.n {
					for co := range c.cout {
						for oy := range ho {
							for ox := range wo {
								want, abs := float64(bv[co]), math.Abs(float64(bv[co]))
								for ci := range c.cin {
									for ky := range c.k {
										for kx := range c.k {
											iy, ix := oy*c.stride-c.pad+ky, ox*c.stride-c.pad+kx
											if iy < 0 || iy >= c.h || ix < 0 || ix >= c.w {
												continue
											}
											p := r(xv[((img*c.cin+ci)*c.h+iy)*c.w+ix]) * r(wv[((co*c.cin+ci)*c.k+ky)*c.k+kx])
											want += p
											abs += math.Abs(p)
										}
									}
								}
								got := float64(outs[0][((img*c.cout+co)*ho+oy)*wo+ox])
								if tol := float64(c.cin*c.k*c.k+2) * abs * 0x1p-24; math.Abs(got-want) > tol {
									t.Fatalf("out[%d,%d,%d,%d] = %g, want %g ± %g", img, co, oy, ox, got, want, tol)
								}
							}
						}
					}
				}
			})
		}
	}
}

// TestPackPanelFMA checks the vector transpose of BF16 weight panels against the scalar
// loop (partial panels, K blocks that are not multiples of 16).
func TestPackPanelFMA(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, c := range []struct{ rows, kl int }{{64, 128}, {40, 64}, {64, 40}, {7, 32}, {64, 0}} {
		ldw := c.kl + 24
		w := make([]uint16, c.rows*ldw)
		for i := range w {
			w[i] = uint16(rng.Uint32())
		}
		got := make([]float32, max(1, c.kl)*fmaCols)
		packPanelFMA(got, w, ldw, 0, c.rows, c.kl, nil, nil, nil)
		for kk := range c.kl {
			for jj := range fmaCols {
				want := float32(0)
				if jj < c.rows {
					want = math.Float32frombits(uint32(w[jj*ldw+kk]) << 16)
				}
				if g := got[kk*fmaCols+jj]; math.Float32bits(g) != math.Float32bits(want) {
					t.Fatalf("rows %d kl %d: p[%d][%d] = %#x, want %#x", c.rows, c.kl, kk, jj, math.Float32bits(g), math.Float32bits(want))
				}
			}
		}
	}
}

// TestAttentionBF16 checks many-row Attention in the BF16 mode against the exact mode
// (causal with a cache offset, GQA, full attention, head sizes that need padding): every
// output within 1% of the largest value of v (the products of BF16-rounded queries, keys,
// probabilities and values), and the same bits on 1 and 3 threads, on the FMA tiles and on
// AMX.
func TestAttentionBF16(t *testing.T) {
	if !hasBF16() {
		t.Skip("no AVX512_BF16 on this CPU")
	}
	rng := rand.New(rand.NewPCG(17, 18))
	for _, c := range []struct {
		batch, t, s, heads, kvHeads, hd, qpos int
		causal                                bool
	}{
		{1, 50, 50, 4, 4, 64, 0, true},
		{2, 130, 140, 4, 2, 128, 10, true},
		{1, 70, 70, 2, 2, 16, 0, false},
		{1, 16, 100, 3, 1, 30, 84, true},
	} {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			p := compute.AttentionParams{Heads: c.heads, KVHeads: c.kvHeads, HeadDim: c.hd, KVLen: c.s,
				QPos0: c.qpos, Causal: c.causal, Scale: float32(1 / math.Sqrt(float64(c.hd)))}
			qv := randVals(rng, c.batch*c.t*c.heads*c.hd, 2)
			kv := randVals(rng, c.batch*c.s*c.kvHeads*c.hd, 2)
			vv := randVals(rng, c.batch*c.s*c.kvHeads*c.hd, 1)
			run := func(be *Backend) []float32 {
				dst := be.New(compute.F32, c.batch, c.t, c.heads*c.hd)
				be.Attention(dst, be.FromFloat32(qv, c.batch, c.t, c.heads*c.hd), be.FromFloat32(kv, c.batch, c.s, c.kvHeads*c.hd),
					be.FromFloat32(vv, c.batch, c.s, c.kvHeads*c.hd), p)
				return read(t, be, dst)
			}
			exact := run(New(2))
			for _, amx := range []bool{false, true} {
				var outs [][]float32
				for _, threads := range []int{1, 3} {
					outs = append(outs, run(bf16Backend(t, threads, map[bool]string{false: "fma", true: "amx"}[amx])))
				}
				for i, v := range outs[1] {
					if math.Float32bits(v) != math.Float32bits(outs[0][i]) {
						t.Fatalf("amx %v: out[%d]: %g on 3 threads, %g on 1", amx, i, v, outs[0][i])
					}
				}
				ok, diff, bound := fixtures.Close(outs[0], exact, 1e-2)
				t.Logf("amx %v: max |diff| from the exact mode %.3g", amx, diff)
				if !ok {
					t.Errorf("amx %v: max |diff| from the exact mode %.3g > %.3g", amx, diff, bound)
				}
			}
		})
	}
}

// TestPackGroupPairs checks packQ{4,8}GPairs at the strides the AMX tiles and the VDPBF16PS
// panels use against dequantizing each row of the group and rounding it to BF16.
func TestPackGroupPairs(t *testing.T) {
	if !hasBF16() {
		t.Skip("no AVX512_BF16 on this CPU")
	}
	be := New(1)
	rng := rand.New(rand.NewPCG(21, 22))
	for _, dt := range []compute.DType{compute.Q8, compute.Q4} {
		const n, k = 32, 512
		w := weightTensor(t, be, dt, randVals(rng, n*k, 1), n, k)
		qw := quantized("test", "w", w)
		if !qw.groups {
			t.Skipf("%v matrices are not stored in row groups here (int8 kernels %s)", dt, be.Int8Kernels())
		}
		nb := k / qBlock
		for _, st := range []struct{ ldp, ldg int }{{16, amxChunkB}, {16, 256}, {32, 512}, {48, 768}} {
			for _, j0 := range []int{0, 16} {
				p := make([]uint32, (nb-1)*st.ldg+15*st.ldp+16)
				packGroupPairs(&qw, j0, p, st.ldp, st.ldg)
				row := make([]float32, k)
				for r := range 16 {
					qw.dequant(row, j0+r, 0)
					for g := range nb {
						for i := range 16 {
							lo, hi := bf16Bits(row[g*qBlock+2*i]), bf16Bits(row[g*qBlock+2*i+1])
							if got, want := p[g*st.ldg+i*st.ldp+r], uint32(lo)|uint32(hi)<<16; got != want {
								t.Fatalf("%v ldp %d ldg %d: row %d block %d pair %d = %#x, want %#x", dt, st.ldp, st.ldg, j0+r, g, i, got, want)
							}
						}
					}
				}
			}
		}
	}
}

// offsetRow writes the offsets of row j of the Q4M matrix w into dst (k/qBlock values), from
// either layout.
func offsetRow(w qweight, dst []float32, j int) {
	nb := w.k / qBlock
	for b := range dst[:nb] {
		at := j*nb + b
		if w.groups {
			_, at = groupOffsets(j, b, nb, codeBytes(w.dt))
		}
		dst[b] = f16ToF32(w.o[at])
	}
}
