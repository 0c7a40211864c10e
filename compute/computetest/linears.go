package computetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

// testLinears checks compute.Linears: each product equals the Linear of the same weights
// bit for bit, whether the backend runs them as one op (a MultiLinear) or not, for every
// weight dtype it takes, for one to three products of the same or of mixed dtypes, and for
// token-step (1, 2, 5 rows) and prompt (20 rows) inputs. The shapes include matrices of 16
// rows and 256 columns, which the CPU backend stores in row groups where its VNNI kernels
// run.
func testLinears(t *testing.T, be compute.Backend) {
	rng := rand.New(rand.NewPCG(91, 92))
	const k = 256
	dts := []compute.DType{compute.F32, compute.BF16}
	for _, dt := range quantDTypes {
		if w, ok := quantTensor(t, be, dt, make([]float32, 16*k), 16, k); ok {
			be.Free(w)
			dts = append(dts, dt)
		}
	}
	weight := func(dt compute.DType, n int) *compute.Tensor {
		w, err := be.FromBytes(dt, []int{n, k}, compute.F32, le32(randVals(rng, n*k, 1)))
		if err != nil {
			t.Fatalf("FromBytes %v [%d %d]: %v", dt, n, k, err)
		}
		return w
	}
	cases := [][]compute.DType{}
	for _, dt := range dts {
		cases = append(cases, []compute.DType{dt}, []compute.DType{dt, dt}, []compute.DType{dt, dt, dt})
	}
	cases = append(cases, dts, []compute.DType{dts[len(dts)-1], compute.F32})
	for _, m := range []int{1, 2, 5, 20} {
		x := be.FromFloat32(randVals(rng, m*k, 1), 1, m, k)
		for _, c := range cases {
			t.Run(fmt.Sprintf("rows=%d/%v", m, c), func(t *testing.T) {
				ps := make([]compute.Product, len(c))
				want := make([][]float32, len(c))
				for i, dt := range c {
					n := 16 * (i + 1) // products of different widths
					ps[i] = compute.Product{Dst: be.New(compute.F32, 1, m, n), W: weight(dt, n)}
					single := be.New(compute.F32, 1, m, n)
					be.Linear(single, x, ps[i].W, nil)
					want[i] = read(t, be, single)
					be.Free(single)
				}
				compute.Linears(be, x, ps...)
				for i, p := range ps {
					got := read(t, be, p.Dst)
					for j := range got {
						if math.Float32bits(got[j]) != math.Float32bits(want[i][j]) {
							t.Fatalf("product %d (%v) element %d: %g, Linear gives %g", i, c[i], j, got[j], want[i][j])
						}
					}
					be.Free(p.Dst)
					be.Free(p.W)
				}
			})
		}
		be.Free(x)
	}
}
