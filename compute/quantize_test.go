package compute

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"testing"
)

// q4mValues is the block QuantizeQ4M stored: d·(code−8) + o.
func q4mValues(q []byte, scale, offset uint16) [QBlock]float32 {
	d, o := F16ToF32(scale), F16ToF32(offset)
	var w [QBlock]float32
	for j := range QBlock / 2 {
		w[j] = float32(d*float32(int32(q[j]&15)-8)) + o
		w[j+QBlock/2] = float32(d*float32(int32(q[j]>>4)-8)) + o
	}
	return w
}

// randomBlock fills x with normal values of scale s, or with heavy tails (Student t with 5
// degrees of freedom) and an off-centre mean, as trained weights' blocks can be.
func randomBlock(rng *rand.Rand, x *[QBlock]float32, s float32, heavy bool) {
	mean := float32(0)
	if heavy {
		mean = s * float32(rng.NormFloat64()) / 2
	}
	for i := range x {
		v := rng.NormFloat64()
		if heavy {
			var chi float64
			for range 5 {
				g := rng.NormFloat64()
				chi += g * g
			}
			v /= math.Sqrt(chi / 5)
		}
		x[i] = mean + s*float32(v)
	}
}

// TestQuantizeQ4M checks the reference of Q4 with an offset: constant and zero blocks come
// back as they were (to F16), every value of a random block comes back within 1.5 times its
// scale, and over many blocks the squared error is at least a fifth below Q4's, normal or
// heavy-tailed.
func TestQuantizeQ4M(t *testing.T) {
	var q [QBlock / 2]byte
	for _, c := range []float32{0, 0.3, -2.5e-3} {
		var x [QBlock]float32
		for i := range x {
			x[i] = c
		}
		d, o := QuantizeQ4M(q[:], &x)
		w := q4mValues(q[:], d, o)
		for i := range w {
			if w[i] != F16ToF32(F32ToF16(c)) {
				t.Fatalf("constant block %g: value %d comes back %g (scale %g, offset %g)", c, i, w[i], F16ToF32(d), F16ToF32(o))
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, heavy := range []bool{false, true} {
		var errM, err4 float64
		for range 4000 {
			var x [QBlock]float32
			randomBlock(rng, &x, 0.02, heavy)
			d, o := QuantizeQ4M(q[:], &x)
			w := q4mValues(q[:], d, o)
			for i, v := range x {
				e := float64(v - w[i])
				if math.Abs(e) > 1.5*math.Abs(float64(F16ToF32(d))) {
					t.Fatalf("heavy %v: %g comes back %g, farther than 1.5 scales (%g)", heavy, v, w[i], F16ToF32(d))
				}
				errM += e * e
			}
			s := QuantizeQ4(q[:], &x)
			d4 := F16ToF32(s)
			for j := range QBlock / 2 {
				for k, c := range [2]byte{q[j] & 15, q[j] >> 4} {
					e := float64(x[j+k*QBlock/2] - d4*float32(int32(c)-8))
					err4 += e * e
				}
			}
		}
		t.Logf("heavy %v: squared error %.4g against Q4's %.4g (%.2f)", heavy, errM, err4, errM/err4)
		if !(errM < 0.8*err4) {
			t.Errorf("heavy %v: squared error %.4g, not a fifth below Q4's %.4g", heavy, errM, err4)
		}
	}
}

// TestQuantizersBits pins the codes and scales (and Q4M's offsets) that QuantizeQ8,
// QuantizeQ4 and QuantizeQ4M give many blocks, so that they are the same on every
// architecture (make arm64 runs this under qemu) and change only on purpose, as when one of
// them is made faster: random blocks, normal and heavy-tailed, then blocks of the kinds that
// take the quantizers' other branches (zeros of both signs, constants, scales that are
// subnormal or zero in F16, codes at half steps, the largest magnitude twice with opposite
// signs). Infinities, NaNs and values beyond F16's range are left out: their codes are not
// portable (QuantizeQ4M's doc).
func TestQuantizersBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var blocks [][QBlock]float32
	for i := range 2000 {
		var x [QBlock]float32
		randomBlock(rng, &x, 0.05, i%2 == 1)
		blocks = append(blocks, x)
	}
	kinds := []func(i int) float32{
		func(int) float32 { return 0 },
		func(i int) float32 { return float32(math.Copysign(0, float64(i%3-1))) },
		func(int) float32 { return -2.5e-3 },
		func(i int) float32 { return float32(i%32-16) * 0.5 * 127 / 16 },
		func(i int) float32 { return float32(i%32-16) * 0.5 },
		func(i int) float32 { return float32(i%32-15) / 15 },
		func(i int) float32 {
			switch i % 32 {
			case 3:
				return -2.5
			case 20:
				return 2.5
			}
			return float32(rng.NormFloat64())
		},
		func(int) float32 { return float32(rng.NormFloat64() * 1e-30) },
		func(int) float32 { return float32(rng.NormFloat64() * 1e-8) },
		func(int) float32 { return float32(rng.NormFloat64() * 1e-6) },
		func(int) float32 { return float32(rng.NormFloat64() * 1e3) },
	}
	for _, kind := range kinds {
		for range 20 {
			var x [QBlock]float32
			for i := range x {
				x[i] = kind(i)
			}
			blocks = append(blocks, x)
		}
	}
	for _, c := range []struct {
		name string
		want uint64
		f    func(q []byte, x *[QBlock]float32) (uint16, uint16)
	}{
		{"QuantizeQ8", 0x43e7b89fbed22887, func(q []byte, x *[QBlock]float32) (uint16, uint16) { return QuantizeQ8(q, x), 0 }},
		{"QuantizeQ4", 0x7265549caa8874e4, func(q []byte, x *[QBlock]float32) (uint16, uint16) { return QuantizeQ4(q, x), 0 }},
		{"QuantizeQ4M", 0xa27bc938a7961870, QuantizeQ4M},
	} {
		h := fnv.New64a()
		q := make([]byte, QBlock)
		for i := range blocks {
			clear(q)
			d, o := c.f(q, &blocks[i])
			h.Write(q)
			h.Write([]byte{byte(d), byte(d >> 8), byte(o), byte(o >> 8)})
		}
		if got := h.Sum64(); got != c.want {
			t.Errorf("%s's codes, scales and offsets hash to %#x, want %#x", c.name, got, c.want)
		}
	}
}

// TestAbsMax: the largest magnitude by the magnitudes' bits is Go's float max over them, to
// the bit, NaNs (whose block takes the float max), infinities, zeros of both signs and
// subnormals included. Not portable where NaNs are (the NaN max returns), so this compares on
// the machine that runs it.
func TestAbsMax(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), math.Float32frombits(0x7fc00001), math.Float32frombits(0xffc00002),
		math.SmallestNonzeroFloat32, -math.MaxFloat32, math.MaxFloat32, 1e-40}
	for n := range 20000 {
		var x [QBlock]float32
		for i := range x {
			switch {
			case n%4 == 0:
				x[i] = math.Float32frombits(rng.Uint32())
			case rng.IntN(6) == 0:
				x[i] = special[rng.IntN(len(special))]
			default:
				x[i] = float32(rng.NormFloat64())
			}
		}
		var want float32
		for _, v := range x {
			want = max(want, abs32(v))
		}
		if got := absMax(&x); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("absMax of %v = %v (%#x), Go's max gives %v (%#x)", x, got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
}

// BenchmarkQuantizers times the portable block quantizers, which every backend without an
// assembly quantizer runs at load (arm64, AVX2 machines, the Metal backend's host side), in
// weights per second on one core.
func BenchmarkQuantizers(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	blocks := make([][QBlock]float32, 4096)
	for i := range blocks {
		randomBlock(rng, &blocks[i], 0.02, i%2 == 1)
	}
	q := make([]byte, QBlock)
	for _, c := range []struct {
		name string
		f    func(x *[QBlock]float32)
	}{
		{"Q8", func(x *[QBlock]float32) { QuantizeQ8(q, x) }},
		{"Q4", func(x *[QBlock]float32) { QuantizeQ4(q, x) }},
		{"Q4M", func(x *[QBlock]float32) { QuantizeQ4M(q, x) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				for i := range blocks {
					c.f(&blocks[i])
				}
			}
			b.ReportMetric(float64(len(blocks)*QBlock)/(b.Elapsed().Seconds()/float64(b.N))/1e6, "Mweights/s")
		})
	}
}
