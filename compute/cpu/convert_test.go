package cpu

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

// f16Value is the binary16 definition evaluated in float64: an independent reference for
// f16ToF32.
func f16Value(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e, m := int(h>>10)&0x1f, float64(h&0x3ff)
	switch {
	case e == 0x1f && m == 0:
		return sign * math.Inf(1)
	case e == 0x1f:
		return math.NaN()
	case e == 0:
		return sign * m * math.Pow(2, -24)
	}
	return sign * (1 + m/1024) * math.Pow(2, float64(e-15))
}

func TestF16ToF32Exhaustive(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		got, want := f16ToF32(h), f16Value(h)
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
		if back := f32ToF16(got); back != h {
			t.Fatalf("f16 %#04x -> %v -> %#04x", h, got, back)
		}
	}
}

// f16Nearest finds the nearest binary16 to x by binary search over the ordered positive
// halves, ties to even: a slow reference for f32ToF16.
func f16Nearest(x float32) uint16 {
	var sign uint16
	a := float64(x)
	if a < 0 || (a == 0 && math.Signbit(a)) {
		sign, a = 0x8000, -a
	}
	if a >= 65520 { // halfway between the largest half 65504 and 2^16 rounds up to inf
		return sign | 0x7c00
	}
	lo, hi := uint16(0), uint16(0x7bff) // largest h with value <= a lies in [lo, hi]
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if f16Value(mid) <= a {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	below, above := f16Value(lo), f16Value(lo+1)
	switch {
	case a-below < above-a:
		return sign | lo
	case a-below > above-a:
		return sign | (lo + 1)
	case lo&1 == 0:
		return sign | lo
	}
	return sign | (lo + 1)
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
		if got, want := f32ToF16(x), f16Nearest(x); got != want {
			t.Fatalf("f32ToF16(%g = %#08x) = %#04x, want %#04x", x, math.Float32bits(x), got, want)
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
		if got := f32ToF16(s.in); got != s.want {
			t.Errorf("f32ToF16(%v) = %#04x, want %#04x", s.in, got, s.want)
		}
	}
	if got := f32ToF16(float32(math.NaN())); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
		t.Errorf("f32ToF16(NaN) = %#04x, not a NaN", got)
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
		if got := f32ToBF16(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("f32ToBF16(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	for i := range 1 << 16 {
		h := uint16(i)
		f := bf16ToF32(h)
		if math.Float32bits(f) != uint32(h)<<16 {
			t.Fatalf("bf16ToF32(%#04x) = %#08x", h, math.Float32bits(f))
		}
		back := f32ToBF16(f)
		if math.IsNaN(float64(f)) {
			if back&0x7f80 != 0x7f80 || back&0x7f == 0 {
				t.Fatalf("bf16 NaN %#04x came back as %#04x", h, back)
			}
		} else if back != h {
			t.Fatalf("bf16 %#04x -> %#04x", h, back)
		}
	}
}

func le(dt compute.DType, vals []float32) []byte {
	var out []byte
	for _, v := range vals {
		switch dt {
		case compute.F32:
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		case compute.F16:
			out = binary.LittleEndian.AppendUint16(out, f32ToF16(v))
		case compute.BF16:
			out = binary.LittleEndian.AppendUint16(out, f32ToBF16(v))
		}
	}
	return out
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
		h := f32ToF16(x)
		if math.IsNaN(float64(x)) {
			if !math.IsNaN(float64(f16ToF32(h))) || !math.IsNaN(float64(bf16ToF32(f32ToBF16(x)))) {
				t.Fatalf("NaN %#08x lost", u)
			}
			return
		}
		if want := f16Nearest(x); h != want {
			t.Fatalf("f32ToF16(%#08x) = %#04x, want %#04x", u, h, want)
		}
		if f32ToF16(f16ToF32(h)) != h {
			t.Fatalf("f16 %#04x does not round-trip", h)
		}
		// The BF16 values bracketing |x|: its truncation and one BF16 ulp more (2^128 past
		// the largest finite value, where rounding up gives infinity).
		bf := f32ToBF16(x)
		got := math.Abs(float64(bf16ToF32(bf)))
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
				t.Fatalf("f32ToBF16(%#08x) = %#04x, want infinity", u, bf)
			}
		case dLo < dHi && got != lo, dHi < dLo && got != hi, dLo == dHi && bf&1 != 0:
			t.Fatalf("f32ToBF16(%#08x) = %#04x, between %v and %v", u, bf, lo, hi)
		}
	})
}
