package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

// TestF16Conversions checks the F16 cache conversions of every kernel set against the Go
// ones: widening every one of the 65536 patterns (NaNs as
// any NaN), and narrowing float32 values around every
// F16 value (exact values, midpoints, their neighbours), beyond the range, and random bits.
func TestF16Conversions(t *testing.T) {
	all := make([]uint16, 1<<16)
	for i := range all {
		all[i] = uint16(i)
	}
	var vals []float32
	for _, h := range all {
		f := f16ToF32(h)
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			continue
		}
		next := f16ToF32(h + 1)
		mid := float32((float64(f) + float64(next)) / 2)
		vals = append(vals, f, mid, math.Nextafter32(mid, float32(math.Inf(1))), math.Nextafter32(mid, float32(math.Inf(-1))))
	}
	vals = append(vals, 65519.996, 65520, 1e30, -1e30, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		math.Float32frombits(0x7f800001), math.Float32frombits(0xffc12345))
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		vals = append(vals, math.Float32frombits(rng.Uint32()))
	}
	for _, ks := range kernelSets() {
		set := New(1, WithKernels(ks)).simd
		t.Run(kernelName(ks), func(t *testing.T) {
			wide := make([]float32, len(all))
			widenF16(set, wide, all)
			for i, h := range all {
				want := f16ToF32(h)
				if math.IsNaN(float64(want)) && math.IsNaN(float64(wide[i])) {
					continue // VCVTPH2PS quiets signalling NaNs
				}
				if math.Float32bits(wide[i]) != math.Float32bits(want) {
					t.Fatalf("widen %#04x = %#08x, want %#08x", h, math.Float32bits(wide[i]), math.Float32bits(want))
				}
			}
			// Rows of w values lds apart, as attendOne widens one KV head of a cache block.
			for _, w := range []int{8, 13, 128} {
				const rows, lds = 5, 300
				dst := make([]float32, rows*w)
				widenRowsF16(set, dst, w, all[1000:], lds)
				for r := range rows {
					for i := range w {
						got, want := dst[r*w+i], f16ToF32(all[1000+r*lds+i])
						if math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("widenRowsF16 w=%d row %d [%d] = %v, want %v", w, r, i, got, want)
						}
					}
				}
			}
			narrow := make([]uint16, len(vals))
			narrowF16(set, narrow, vals)
			for i, f := range vals {
				if want := f32ToF16Sat(f); narrow[i] != want {
					t.Fatalf("narrow %v (%#08x) = %#04x, want %#04x", f, math.Float32bits(f), narrow[i], want)
				}
			}
		})
	}
	for _, c := range []struct {
		in   float32
		want uint16
	}{
		{65504, 0x7bff}, {65519.996, 0x7bff}, {65520, 0x7bff}, {float32(math.Inf(1)), 0x7bff},
		{-1e9, 0xfbff}, {float32(math.Inf(-1)), 0xfbff}, {1, 0x3c00}, {5.9604645e-08, 0x0001},
	} {
		if got := f32ToF16Sat(c.in); got != c.want {
			t.Errorf("f32ToF16Sat(%v) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	if h := f32ToF16Sat(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("f32ToF16Sat(NaN) = %#04x, not a NaN", h)
	}
}

// TestAttentionF16BF16Mode checks that many-row Attention in the BF16 mode gives the same
// bits on an F16 cache as on float32 tensors holding its values, on 1 and 3 threads.
func TestAttentionF16BF16Mode(t *testing.T) {
	if !hasBF16() {
		t.Skip("no AVX512_BF16 on this CPU")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct{ batch, t, s, heads, kvHeads, hd, qpos int }{
		{1, 50, 64, 4, 4, 64, 0},
		{2, 20, 40, 4, 2, 128, 12},
	} {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			for _, threads := range []int{1, 3} {
				be := New(threads, WithPrecision(PrecisionBF16))
				kw := c.kvHeads * c.hd
				p := compute.AttentionParams{Heads: c.heads, KVHeads: c.kvHeads, HeadDim: c.hd, KVLen: c.qpos + c.t,
					QPos0: c.qpos, Causal: true, Scale: 0.125}
				q := be.FromFloat32(randVals(rng, c.batch*c.t*c.heads*c.hd, 2), c.batch, c.t, c.heads*c.hd)
				var half, full [2]*Tensor
				for i := range half {
					half[i] = be.New(compute.F16, c.batch, c.s, kw)
					be.CopyRows(half[i], 0, be.FromFloat32(randVals(rng, c.batch*c.s*kw, 2), c.batch, c.s, kw), 0, c.s)
					full[i] = be.FromFloat32(read(t, be, half[i]), c.batch, c.s, kw)
				}
				got, want := be.New(compute.F32, q.Shape...), be.New(compute.F32, q.Shape...)
				be.Attention(got, q, half[0], half[1], p)
				be.Attention(want, q, full[0], full[1], p)
				g, w := read(t, be, got), read(t, be, want)
				for i := range g {
					if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
						t.Fatalf("%d threads: [%d] = %v on F16, %v on F32", threads, i, g[i], w[i])
					}
				}
				be.Close()
			}
		})
	}
}
