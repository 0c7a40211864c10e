package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

// TestAddOffsetDots checks the offsets' part of Q4M products: every vector set this machine
// has gives offsetDotGo's bits for every row count (four rows a pass and the rows left over)
// and every row length (columns past a multiple of 16 in Go), with the results within
// float32 rounding of the exact dot products.
func TestAddOffsetDots(t *testing.T) {
	sets := []simdSet{simdNone}
	for s := simdNone + 1; s <= simdBest(); s++ {
		if offsetAsm(s) {
			sets = append(sets, s)
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, nb := range []int{1, 3, 8, 16, 64, 67, 176, 344} {
		for _, rows := range []int{1, 2, 3, 4, 5, 8, 9} {
			t.Run(fmt.Sprintf("nb=%d/rows=%d", nb, rows), func(t *testing.T) {
				o := make([]uint16, rows*nb)
				for i := range o {
					o[i] = compute.F32ToF16(float32(rng.NormFloat64() * 0.02))
				}
				xs := randVals(rng, nb, 4)
				base := randVals(rng, rows, 1)
				goD := append([]float32(nil), base...)
				addOffsetDots(simdNone, goD, o, xs)
				for r := range rows {
					var want, mag float64
					for b := range nb {
						p := float64(compute.F16ToF32(o[r*nb+b])) * float64(xs[b])
						want += p
						mag += math.Abs(p)
					}
					want += float64(base[r])
					if e := math.Abs(float64(goD[r]) - want); e > 1e-6*(mag+math.Abs(want)) {
						t.Errorf("row %d: %g, want %g", r, goD[r], want)
					}
				}
				for _, set := range sets[1:] {
					d := append([]float32(nil), base...)
					addOffsetDots(set, d, o, xs)
					if !sameBits(d, goD) {
						t.Errorf("%v kernel %v, Go %v", set, d, goD)
					}
				}
			})
		}
	}
}

// TestOffsetRowsG checks offsetRowsG, the grouped Q4M offsets of many-row products, against
// its Go model (each lane's blocks summed in order with fused multiply-adds, then added to
// d) bit for bit, for row counts around its passes of eight.
func TestOffsetRowsG(t *testing.T) {
	if !offsetRowsAsm(simdBest()) {
		t.Skip("no offsetRowsG in this build or on this CPU")
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for _, nb := range []int{1, 8, 64, 176} {
		for _, rows := range []int{1, 7, 8, 9, 17, 20} {
			o := make([]uint16, qGroupRows*nb)
			for i := range o {
				o[i] = compute.F32ToF16(float32(rng.NormFloat64() * 0.02))
			}
			xs := randVals(rng, rows*nb, 4)
			const ldd = 40
			d := randVals(rng, rows*ldd, 1)
			want := append([]float32(nil), d...)
			for i := range rows {
				for r := range qGroupRows {
					var s float32
					for b := range nb {
						s = float32(math.FMA(float64(compute.F16ToF32(o[b*qGroupRows+r])), float64(xs[i*nb+b]), float64(s)))
					}
					want[i*ldd+r] = s + want[i*ldd+r]
				}
			}
			offsetRowsGroupAsm(d, ldd, o, xs, nb, rows)
			if !sameBits(d, want) {
				t.Errorf("nb=%d rows=%d: kernel %v, model %v", nb, rows, d[:qGroupRows], want[:qGroupRows])
			}
		}
	}
}
