package cpu

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/janus-desktop/janus/compute"
)

// BenchmarkLinearQLayers runs the Linear products of one token step of Janus-Pro-1B's language
// model (24 layers of q, k, v, o, gate, up and down), as the step issues them (q, k and v in
// one Linears, gate and up in another), with 1, 2, 4 or 8 input rows (a chat's token, the
// guided step of one, two or four images), and with BF16 and F32 weights for one row: 1.31 GB
// of Q8 weights (0.69 GB of Q4, 2.47 of BF16, 4.93 of F32), far beyond the caches, so GB/s is
// the rate at which the products alone read the weights, to set beside
// the whole step's (janus bench) and the machine's read bandwidth. Before each pass the probe
// of janus bench reads 256 MB with as many threads (ReadRate), and of-probe is the median of
// each pass's rate over the probe's just before: on a machine whose bandwidth changes from
// minute to minute (README, "The bandwidth probe") two builds compare by it, not by GB/s.
func BenchmarkLinearQLayers(b *testing.B) {
	probe := make([]uint64, 32<<20)
	for i := range probe {
		probe[i] = uint64(i)
	}
	const layers, d, ff = 24, 2048, 5632
	// One layer's products; those of one entry share their input.
	shapes := [][][2]int{{{d, d}, {d, d}, {d, d}}, {{d, d}}, {{ff, d}, {ff, d}}, {{d, ff}}}
	for _, dt := range []compute.DType{compute.Q8, compute.Q4, compute.Q4M, compute.BF16, compute.F32} {
		rows := []int{1, 2, 4, 8}
		if !dt.Quantized() {
			rows = rows[:1] // the one-row kernels (gemv); more rows go through the tiled products
		}
		for _, m := range rows {
			eachThreads(b, fmt.Sprintf("%v/rows=%d", dt, m), func(b *testing.B, be *Backend) {
				rng := rand.New(rand.NewPCG(1, 1))
				vals := le(compute.F32, randVals(rng, ff*d, 1))
				in := map[int]*Tensor{d: be.FromFloat32(randVals(rng, m*d, 1), m, d), ff: be.FromFloat32(randVals(rng, m*ff, 1), m, ff)}
				var steps [][]compute.Product
				var bytes, weights int
				defer func() {
					for _, ps := range steps {
						for _, p := range ps {
							be.Free(p.W)
							be.Free(p.Dst)
						}
					}
				}()
				for range layers {
					for _, group := range shapes {
						var ps []compute.Product
						for _, s := range group {
							w, err := be.FromBytes(dt, []int{s[0], s[1]}, compute.F32, vals[:4*s[0]*s[1]])
							if err != nil {
								b.Fatal(err)
							}
							ps = append(ps, compute.Product{Dst: be.New(compute.F32, m, s[0]), W: w})
							bytes += dt.Bytes(s[0] * s[1])
							weights += s[0] * s[1]
						}
						steps = append(steps, ps)
					}
				}
				var ratios []float64
				for b.Loop() {
					b.StopTimer()
					rate := ReadRate(probe, be.Threads())
					b.StartTimer()
					t0 := time.Now()
					for _, ps := range steps {
						compute.Linears(be, in[ps[0].W.Shape[1]], ps...)
					}
					ratios = append(ratios, float64(bytes)/time.Since(t0).Seconds()/1e9/rate)
				}
				report(b, float64(2*m*weights), float64(bytes))
				slices.Sort(ratios)
				b.ReportMetric(ratios[len(ratios)/2], "of-probe")
			})
		}
	}
}
