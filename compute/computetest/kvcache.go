package computetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

// The F16 KV cache: CopyRows narrows float32 rows into an F16 tensor, and Attention reads
// F16 keys and values.

// f16Saturated is what an F16 cache holds for x: the nearest F16 value, ties to even, with
// magnitudes beyond the largest finite value (65504), infinities included, saturated to it.
func f16Saturated(x float32) float64 {
	if math.IsNaN(float64(x)) {
		return math.NaN()
	}
	v := math.Max(-65504, math.Min(65504, float64(x)))
	return F16Value(NearestF16(v))
}

// testCopyRowsF16 copies float32 rows into an F16 tensor (rounding, saturating) and F16 rows
// into another (a cache growing), for row widths that exercise vector bodies and tails.
func testCopyRowsF16(t *testing.T, be compute.Backend) {
	specials := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 65504, -65504, 65519.99, 65520, -65520, 1e6, -3e38,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		1 + 1.0/2048, 1 + 3.0/2048, // ties: to even (down, then up)
		6.1035156e-05, 5.9604645e-08, 2.9802322e-08, 2.9802326e-08, 1e-9, -4.5e-6, // normal min, subnormals, underflow
		0.1, -3.14159, 2048.5, 1234.567}
	rng := rand.New(rand.NewPCG(41, 42))
	for _, dim := range []int{3, 8, 19, 40, 130} {
		t.Run(fmt.Sprintf("D=%d", dim), func(t *testing.T) {
			const b, st, dt = 2, 3, 5
			sv := randVals(rng, b*st*dim, 300)
			for i := range sv {
				if i%3 == 0 {
					sv[i] = specials[(i/3)%len(specials)]
				}
			}
			src := be.FromFloat32(sv, b, st, dim)
			dst := be.New(compute.F16, b, dt, dim)
			be.CopyRows(dst, 2, src, 1, 2)
			got := read(t, be, dst)
			want := make([]float64, b*dt*dim)
			for bi := range b {
				for r := range 2 {
					for i := range dim {
						want[(bi*dt+2+r)*dim+i] = f16Saturated(sv[(bi*st+1+r)*dim+i])
					}
				}
			}
			for i := range got {
				if math.IsNaN(want[i]) != math.IsNaN(float64(got[i])) ||
					!math.IsNaN(want[i]) && (float64(got[i]) != want[i] || math.Signbit(float64(got[i])) != math.Signbit(want[i])) {
					t.Fatalf("CopyRows F32→F16 [%d] = %v, want %v", i, got[i], want[i])
				}
			}
			// F16 → F16 keeps the bits: a grown cache holds what the old one did.
			grown := be.New(compute.F16, b, dt+2, dim)
			be.CopyRows(grown, 0, dst, 0, dt)
			g := read(t, be, grown)
			for bi := range b {
				exactNaN(t, "CopyRows F16→F16", g[bi*(dt+2)*dim:(bi*(dt+2)+dt)*dim], got[bi*dt*dim:(bi+1)*dt*dim])
				exactNaN(t, "CopyRows F16→F16 (untouched rows)", g[(bi*(dt+2)+dt)*dim:(bi+1)*(dt+2)*dim], make([]float32, 2*dim))
			}
		})
	}
}

// exactNaN is exact with any NaN equal to any NaN (backends may differ in NaN payloads).
func exactNaN(t *testing.T, name string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range got {
		if math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i])) {
			continue
		}
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] = %v, want %v", name, i, got[i], want[i])
		}
	}
}

// testAttentionF16 runs Attention on F16 keys and values (filled by CopyRows, as a KV cache
// is) and on float32 tensors holding the same rounded values: the results must be equal bit
// for bit, since widening F16 is exact, and close to the float64 reference.
func testAttentionF16(t *testing.T, be compute.Backend) {
	rng := rand.New(rand.NewPCG(43, 44))
	cases := []struct {
		b, t, s, heads, kvHeads, hd, kvLen, qPos0 int
		causal                                    bool
	}{
		{1, 1, 1, 1, 1, 4, 1, 0, true},
		{1, 1, 16, 4, 1, 16, 11, 10, true},    // decode step, one kv head
		{2, 1, 130, 8, 4, 16, 100, 99, true},  // decode over several key blocks, GQA, batch 2
		{3, 1, 70, 6, 6, 10, 70, 69, true},    // head size without a vector multiple
		{1, 1, 40, 16, 16, 128, 37, 36, true}, // Janus-sized heads
		{2, 1, 100, 8, 2, 64, 77, 76, true},   // GQA groups of 4 that tasks of heads split, batch 2
		{1, 1, 50, 7, 7, 64, 45, 44, true},    // heads in fours and then one at a time
		{2, 1, 40, 6, 2, 128, 33, 32, true},   // GQA groups of 3
		{2, 4, 9, 4, 2, 8, 6, 2, true},        // a few rows, KVLen < S
		{1, 70, 80, 4, 2, 16, 75, 5, true},    // many rows (a prompt chunk)
		{2, 33, 40, 2, 2, 6, 35, 0, false},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			kw := c.kvHeads * c.hd
			qv := randVals(rng, c.b*c.t*c.heads*c.hd, 2)
			q := be.FromFloat32(qv, c.b, c.t, c.heads*c.hd)
			var half, full [2]*compute.Tensor
			for i := range half {
				raw := be.FromFloat32(randVals(rng, c.b*c.s*kw, 2), c.b, c.s, kw)
				half[i] = be.New(compute.F16, c.b, c.s, kw)
				be.CopyRows(half[i], 0, raw, 0, c.s)
				full[i] = be.FromFloat32(read(t, be, half[i]), c.b, c.s, kw)
			}
			p := compute.AttentionParams{Heads: c.heads, KVHeads: c.kvHeads, HeadDim: c.hd,
				KVLen: c.kvLen, QPos0: c.qPos0, Causal: c.causal, Scale: float32(1 / math.Sqrt(float64(c.hd)))}
			got, want := be.New(compute.F32, q.Shape...), be.New(compute.F32, q.Shape...)
			be.Attention(got, q, half[0], half[1], p)
			be.Attention(want, q, full[0], full[1], p)
			wv := read(t, be, want)
			exact(t, "Attention on F16 k, v", read(t, be, got), wv)
			kv, vv := read(t, be, full[0]), read(t, be, full[1])
			closeTo(t, "Attention on F16 k, v", wv, attentionRef(qv, kv, vv, c.b, c.t, c.s, c.heads, c.kvHeads, c.hd, c.kvLen, c.qPos0, c.causal, p.Scale), 3e-6)
		})
	}
}

// attentionRef is Attention in float64.
func attentionRef(qv, kv, vv []float32, b, t, s, heads, kvHeads, hd, kvLen, qPos0 int, causal bool, scale float32) []float64 {
	want := make([]float64, len(qv))
	qw, kw := heads*hd, kvHeads*hd
	for bi := range b {
		for h := range heads {
			kh := h / (heads / kvHeads)
			for ti := range t {
				n := kvLen
				if causal {
					n = qPos0 + ti + 1
				}
				sc := make([]float64, n)
				mx := math.Inf(-1)
				for j := range n {
					var d float64
					for i := range hd {
						d += float64(qv[(bi*t+ti)*qw+h*hd+i]) * float64(kv[(bi*s+j)*kw+kh*hd+i])
					}
					sc[j] = d * float64(scale)
					mx = max(mx, sc[j])
				}
				var sum float64
				for j := range sc {
					sc[j] = math.Exp(sc[j] - mx)
					sum += sc[j]
				}
				for i := range hd {
					var o float64
					for j := range n {
						o += sc[j] / sum * float64(vv[(bi*s+j)*kw+kh*hd+i])
					}
					want[(bi*t+ti)*qw+h*hd+i] = o
				}
			}
		}
	}
	return want
}

// The Q8 KV cache (compute.Q8Cache): CopyRows quantizes float32 rows into Q8 blocks, and
// Attention reads the dequantized keys and values.

// q8Cache returns be as a backend that takes Q8 caches, or skips the test.
func q8Cache(t *testing.T, be compute.Backend) {
	t.Helper()
	if c, ok := be.(compute.Q8Cache); !ok || !c.Q8Cache() {
		t.Skipf("%s does not take Q8 KV caches", be.Name())
	}
}

// testCopyRowsQ8 copies float32 rows into a Q8 tensor, whose blocks must hold what
// compute.QuantizeQ8 gives (of the block saturated to ±65504 where it holds larger
// magnitudes, as an F16 cache saturates them; a NaN makes its block NaN), and Q8 rows into
// another (a cache growing), which keeps them.
func testCopyRowsQ8(t *testing.T, be compute.Backend) {
	q8Cache(t, be)
	rng := rand.New(rand.NewPCG(45, 46))
	for _, dim := range []int{32, 64, 160, 2048} {
		t.Run(fmt.Sprintf("D=%d", dim), func(t *testing.T) {
			const b, st, dt = 2, 3, 5
			sv := randVals(rng, b*st*dim, 3)
			for i := 0; i < len(sv); i += 97 {
				sv[i] *= 40 // an outlier now and then sets its block's scale
			}
			clear(sv[(st+1)*dim : (st+1)*dim+qb]) // an all-zero block (scale 0), copied
			for bi := range b {
				r1, r2 := (bi*st+1)*dim, (bi*st+2)*dim
				if bi == 0 {
					sv[r1+3] = 9e6 // an F16 scale would overflow
				}
				sv[r2+5] = float32(math.Inf(1 - 2*bi))
				if bi == 1 {
					sv[r2+9] = float32(math.NaN())
				}
				if dim > qb {
					sv[r1+qb+7] = -70000 // beyond F16's range, within the scale's
				}
			}
			src := be.FromFloat32(sv, b, st, dim)
			dst := be.New(compute.Q8, b, dt, dim)
			be.CopyRows(dst, 2, src, 1, 2)
			got := read(t, be, dst)
			want := make([]float32, b*dt*dim)
			var codes [qb]byte
			for bi := range b {
				for r := range 2 {
					for c := 0; c < dim; c += qb {
						x := *(*[qb]float32)(sv[(bi*st+1+r)*dim+c:])
						for i, v := range x {
							x[i] = float32(math.Max(-65504, math.Min(65504, float64(v)))) // NaN stays NaN
							if math.IsNaN(float64(v)) {
								x[i] = v
							}
						}
						d := compute.F16ToF32(compute.QuantizeQ8(codes[:], &x))
						for i, code := range codes {
							want[(bi*dt+2+r)*dim+c+i] = d * float32(int8(code))
						}
					}
				}
			}
			exactNaN(t, "CopyRows F32→Q8", got, want)
			grown := be.New(compute.Q8, b, dt+2, dim)
			be.CopyRows(grown, 0, dst, 0, dt)
			g := read(t, be, grown)
			for bi := range b {
				exactNaN(t, "CopyRows Q8→Q8", g[bi*(dt+2)*dim:(bi*(dt+2)+dt)*dim], got[bi*dt*dim:(bi+1)*dt*dim])
				exact(t, "CopyRows Q8→Q8 (untouched rows)", g[(bi*(dt+2)+dt)*dim:(bi+1)*(dt+2)*dim], make([]float32, 2*dim))
			}
		})
	}
}

// qb is compute.QBlock.
const qb = compute.QBlock

// testAttentionQ8 runs Attention on Q8 keys and values (filled by CopyRows, as a KV cache
// is) and on float32 tensors holding their dequantized values: the results must be equal
// bit for bit, and close to the float64 reference of the unquantized values.
func testAttentionQ8(t *testing.T, be compute.Backend) {
	q8Cache(t, be)
	rng := rand.New(rand.NewPCG(47, 48))
	cases := []struct {
		b, t, s, heads, kvHeads, hd, kvLen, qPos0 int
		causal                                    bool
	}{
		{1, 1, 1, 1, 1, 32, 1, 0, true},
		{1, 1, 16, 4, 1, 32, 11, 10, true},    // decode step, one kv head
		{2, 1, 130, 8, 4, 32, 100, 99, true},  // several key blocks, GQA, batch 2
		{1, 1, 40, 16, 16, 128, 37, 36, true}, // Janus-sized heads
		{2, 1, 100, 8, 2, 64, 77, 76, true},   // GQA groups of 4, batch 2
		{1, 1, 50, 7, 7, 64, 45, 44, true},    // heads in fours, then one at a time
		{2, 1, 40, 6, 2, 128, 33, 32, true},   // GQA groups of 3
		{1, 1, 40, 2, 2, 256, 37, 36, false},  // two 128-wide chunks of a head
		{1, 1, 40, 2, 2, 192, 33, 32, true},   // a head of an odd multiple of 64
		{2, 1, 30, 4, 2, 16, 25, 24, true},    // heads of half a block (tiny-a's)
		{1, 1, 20, 8, 8, 12, 17, 16, false},   // heads across blocks' edges
		{2, 4, 9, 4, 2, 32, 6, 2, true},       // a few rows, KVLen < S
		{1, 5, 12, 4, 4, 16, 12, 7, true},     // a few rows of half-block heads
		{1, 70, 80, 4, 2, 64, 75, 5, true},    // many rows (a prompt chunk)
		{2, 33, 40, 2, 2, 96, 35, 0, false},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			kw := c.kvHeads * c.hd
			qv := randVals(rng, c.b*c.t*c.heads*c.hd, 2)
			q := be.FromFloat32(qv, c.b, c.t, c.heads*c.hd)
			var q8, full [2]*compute.Tensor
			var raw [2][]float32
			for i := range q8 {
				raw[i] = randVals(rng, c.b*c.s*kw, 2)
				x := be.FromFloat32(raw[i], c.b, c.s, kw)
				q8[i] = be.New(compute.Q8, c.b, c.s, kw)
				be.CopyRows(q8[i], 0, x, 0, c.s)
				full[i] = be.FromFloat32(read(t, be, q8[i]), c.b, c.s, kw)
			}
			p := compute.AttentionParams{Heads: c.heads, KVHeads: c.kvHeads, HeadDim: c.hd,
				KVLen: c.kvLen, QPos0: c.qPos0, Causal: c.causal, Scale: float32(1 / math.Sqrt(float64(c.hd)))}
			got, want := be.New(compute.F32, q.Shape...), be.New(compute.F32, q.Shape...)
			be.Attention(got, q, q8[0], q8[1], p)
			be.Attention(want, q, full[0], full[1], p)
			exact(t, "Attention on Q8 k, v", read(t, be, got), read(t, be, want))
			// Against the unquantized cache: a code is within half a step (amax/254) of its
			// value, so the outputs stay within a few hundredths of values of magnitude 2.
			closeTo(t, "Attention on Q8 k, v", read(t, be, got), attentionRef(qv, raw[0], raw[1], c.b, c.t, c.s, c.heads, c.kvHeads, c.hd, c.kvLen, c.qPos0, c.causal, p.Scale), 0.05)
		})
	}
}
