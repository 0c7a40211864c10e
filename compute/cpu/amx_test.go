package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAMXKernel checks the AMX kernel against float64 sums of its packed operands: within
// two float32 roundings per chunk (plus two) of the absolute sum (AMX adds a chunk's 32 products more
// precisely than a float32 running sum, and not in a documented order, so there is no bit
// model to compare with), overwriting c. It checks the pair packing against packPairsGo.
func TestAMXKernel(t *testing.T) {
	if !New(1, WithPrecision(PrecisionBF16)).amx {
		t.Skip("no AMX BF16 tiles on this CPU or system")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	bf := func() uint16 { return bf16Bits(float32(rng.NormFloat64() * math.Exp(rng.NormFloat64()))) }
	for _, kc := range []int{0, 1, 3, 70} {
		a := make([]uint16, max(kc, 1)*amxChunkA)
		b := make([]uint32, max(kc, 1)*amxChunkB)
		for i := range a {
			a[i] = bf()
		}
		for i := range b {
			b[i] = uint32(bf()) | uint32(bf())<<16
		}
		got := make([]float32, amxRows*amxCols)
		for i := range got {
			got[i] = float32(i) // the kernel must overwrite, not accumulate
		}
		amxTile(kc, a, b, got, amxCols)
		for i := range amxRows {
			for j := range amxCols {
				var sum, abs float64
				for g := range kc {
					ar := a[g*amxChunkA+(i/16)*512+(i%16)*amxK:]
					bc := b[g*amxChunkB+(j/16)*256+j%16:]
					for q := range amxK / 2 {
						p := bc[q*16]
						for _, v := range []float64{
							float64(bfValue(ar[2*q])) * float64(bfValue(uint16(p))),
							float64(bfValue(ar[2*q+1])) * float64(bfValue(uint16(p>>16))),
						} {
							sum += v
							abs += math.Abs(v)
						}
					}
				}
				tol := float64(2*kc+2) * abs * 0x1p-24
				if v := float64(got[i*amxCols+j]); math.Abs(v-sum) > tol {
					t.Fatalf("kc %d: c[%d,%d] = %g, want %g ± %g", kc, i, j, v, sum, tol)
				}
			}
		}
	}
	for _, c := range []struct{ n, ldw, ldg int }{{1, 32, 256}, {5, 200, 512}, {64, 2048, 512}} {
		w := make([]uint16, 15*c.ldw+c.n*amxK)
		for i := range w {
			w[i] = uint16(rng.Uint32())
		}
		got, want := make([]uint32, (c.n-1)*c.ldg+256), make([]uint32, (c.n-1)*c.ldg+256)
		packPairs16(c.n, w, c.ldw, got, c.ldg)
		packPairsGo(c.n, w, c.ldw, want, c.ldg)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("pack %+v: p[%d] = %#x, model %#x", c, i, got[i], want[i])
			}
		}
	}
}
