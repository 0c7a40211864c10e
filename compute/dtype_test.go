package compute_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
)

func TestF16ToF32Exhaustive(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		got, want := compute.F16ToF32(h), computetest.F16Value(h)
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) {
				t.Fatalf("f16 %#04x: got %v, want NaN", h, got)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != (h&0x8000 != 0) {
			t.Fatalf("f16 %#04x: got %v, want %v", h, got, want)
		}
		// Round trip: every half is exactly representable, so it must come back unchanged.
		if back := compute.F32ToF16(got); back != h {
			t.Fatalf("f16 %#04x -> %v -> %#04x", h, got, back)
		}
	}
}

func TestF32ToF16Rounding(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []float32{0, float32(math.Copysign(0, -1)), 1, -2.5, 65504, 65519.99, 65520, 1e9,
		float32(math.Pow(2, -24)), float32(math.Pow(2, -25)), float32(3 * math.Pow(2, -26)),
		float32(math.Pow(2, -14)), float32(math.Pow(2, -14) * (1 - 1.0/2048)), 1 + 1.0/2048, 1 + 3.0/2048,
		float32(math.Pow(2, -26)), 1e-30}
	for range 20000 {
		// Random bit patterns concentrated on the binary16 range, plus exact midpoints.
		e := rng.IntN(50) + 127 - 30
		u := uint32(e)<<23 | rng.Uint32()&0x7fffff | rng.Uint32()&0x80000000
		if rng.IntN(4) == 0 {
			u = u&^0x1fff | 0x1000
		}
		cases = append(cases, math.Float32frombits(u))
	}
	for _, x := range cases {
		if got, want := compute.F32ToF16(x), computetest.NearestF16(float64(x)); got != want {
			t.Fatalf("compute.F32ToF16(%g = %#08x) = %#04x, want %#04x", x, math.Float32bits(x), got, want)
		}
	}
	specials := []struct {
		in   float32
		want uint16
	}{
		{float32(math.Inf(1)), 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{1, 0x3c00},
		{-2, 0xc000},
		{0.333251953125, 0x3555},
	}
	for _, s := range specials {
		if got := compute.F32ToF16(s.in); got != s.want {
			t.Errorf("compute.F32ToF16(%v) = %#04x, want %#04x", s.in, got, s.want)
		}
	}
	if got := compute.F32ToF16(float32(math.NaN())); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
		t.Errorf("compute.F32ToF16(NaN) = %#04x, not a NaN", got)
	}
}

func TestBF16Conversion(t *testing.T) {
	cases := []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1.0
		{0x3f808000, 0x3f80}, // tie, even stays
		{0x3f818000, 0x3f82}, // tie, odd rounds up
		{0x3f808001, 0x3f81}, // above half
		{0x3f807fff, 0x3f80}, // below half
		{0x7f7fffff, 0x7f80}, // max float rounds to inf
		{0xff800000, 0xff80}, // -inf
		{0x80000000, 0x8000}, // -0
		{0x00000001, 0x0000}, // tiny subnormal
		{0x7fc00000, 0x7fc0}, // NaN
		{0x7f800001, 0x7fc0}, // signalling NaN quietened
		{math.Float32bits(3.140625), 0x4049},
	}
	for _, c := range cases {
		if got := compute.F32ToBF16(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("compute.F32ToBF16(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	for i := range 1 << 16 {
		h := uint16(i)
		f := compute.BF16ToF32(h)
		if math.Float32bits(f) != uint32(h)<<16 {
			t.Fatalf("compute.BF16ToF32(%#04x) = %#08x", h, math.Float32bits(f))
		}
		back := compute.F32ToBF16(f)
		if math.IsNaN(float64(f)) {
			if back&0x7f80 != 0x7f80 || back&0x7f == 0 {
				t.Fatalf("bf16 NaN %#04x came back as %#04x", h, back)
			}
		} else if back != h {
			t.Fatalf("bf16 %#04x -> %#04x", h, back)
		}
	}
}

// FuzzFloatConversions checks, for any float32 bit pattern, that F16 rounding picks the
// nearest half (ties to even), that BF16 rounding picks the nearer of the two bracketing
// BF16 values, and that widening what was rounded round-trips.
func FuzzFloatConversions(f *testing.F) {
	for _, u := range []uint32{0, 0x80000000, 0x3f800000, 0x477fe000, 0x477ff000, 0x33000000, 0x33000001,
		0x387fc000, 0x3f808000, 0x7f7fffff, 0x7f800000, 0x7fc00001, 0x00000001, 0xc1200000} {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, u uint32) {
		x := math.Float32frombits(u)
		h := compute.F32ToF16(x)
		if math.IsNaN(float64(x)) {
			if !math.IsNaN(float64(compute.F16ToF32(h))) || !math.IsNaN(float64(compute.BF16ToF32(compute.F32ToBF16(x)))) {
				t.Fatalf("NaN %#08x lost", u)
			}
			return
		}
		if want := computetest.NearestF16(float64(x)); h != want {
			t.Fatalf("compute.F32ToF16(%#08x) = %#04x, want %#04x", u, h, want)
		}
		if compute.F32ToF16(compute.F16ToF32(h)) != h {
			t.Fatalf("f16 %#04x does not round-trip", h)
		}
		// The BF16 values bracketing |x|: its truncation and one BF16 ulp more (2^128 past
		// the largest finite value, where rounding up gives infinity).
		bf := compute.F32ToBF16(x)
		got := math.Abs(float64(compute.BF16ToF32(bf)))
		if math.IsInf(got, 1) {
			got = math.Ldexp(1, 128)
		}
		mag := math.Abs(float64(x))
		lo := math.Abs(float64(math.Float32frombits(u &^ 0xffff)))
		ulp := math.Ldexp(1, -133)
		if e := int(u>>23) & 0xff; e > 0 {
			ulp = math.Ldexp(1, e-127-7)
		}
		hi := lo + ulp
		dLo, dHi := mag-lo, hi-mag
		switch {
		case math.IsInf(mag, 1):
			if got != math.Ldexp(1, 128) {
				t.Fatalf("compute.F32ToBF16(%#08x) = %#04x, want infinity", u, bf)
			}
		case dLo < dHi && got != lo, dHi < dLo && got != hi, dLo == dHi && bf&1 != 0:
			t.Fatalf("compute.F32ToBF16(%#08x) = %#04x, between %v and %v", u, bf, lo, hi)
		}
	})
}
