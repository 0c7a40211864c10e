package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

// BenchmarkLinearQLayers runs the Linear products of one token step of Janus-Pro-1B's
// language model (24 layers of q, k, v, o, gate, up and down) one after the other, with 1 or
// 2 input rows: 1.31 GB of Q8 weights (0.69 GB of Q4), far beyond the caches, so GB/s is the
// rate at which the products alone read the weights, to set beside the whole step's (janus
// bench) and the machine's read bandwidth.
func BenchmarkLinearQLayers(b *testing.B) {
	const layers, d, ff = 24, 2048, 5632
	shapes := [][2]int{{d, d}, {d, d}, {d, d}, {d, d}, {ff, d}, {ff, d}, {d, ff}}
	for _, dt := range []compute.DType{compute.Q8, compute.Q4} {
		for _, m := range []int{1, 2} {
			eachThreads(b, fmt.Sprintf("%v/rows=%d", dt, m), func(b *testing.B, be *Backend) {
				rng := rand.New(rand.NewPCG(1, 1))
				vals := le(compute.F32, randVals(rng, ff*d, 1))
				in := map[int]*Tensor{d: be.FromFloat32(randVals(rng, m*d, 1), m, d), ff: be.FromFloat32(randVals(rng, m*ff, 1), m, ff)}
				out := map[int]*Tensor{d: be.New(compute.F32, m, d), ff: be.New(compute.F32, m, ff)}
				var ws []*Tensor
				defer func() {
					for _, w := range ws {
						be.Free(w)
					}
				}()
				var bytes, weights int
				for range layers {
					for _, s := range shapes {
						w, err := be.FromBytes(dt, []int{s[0], s[1]}, compute.F32, vals[:4*s[0]*s[1]])
						if err != nil {
							b.Fatal(err)
						}
						ws = append(ws, w)
						bytes += dt.Bytes(s[0] * s[1])
						weights += s[0] * s[1]
					}
				}
				for b.Loop() {
					for _, w := range ws {
						be.Linear(out[w.Shape[0]], in[w.Shape[1]], w, nil)
					}
				}
				report(b, float64(2*m*weights), float64(bytes))
			})
		}
	}
}
