package cpu

import (
	"math/rand/v2"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
)

// runAllOps runs every op on fixed pseudo-random inputs with be and returns the outputs by
// op name. The shapes are large enough to split into many chunks and tiles.
func runAllOps(t *testing.T, be *Backend) map[string][]float32 {
	rng := rand.New(rand.NewPCG(42, 43))
	out := map[string][]float32{}
	keep := func(name string, x *Tensor) { out[name] = read(t, be, x) }
	f := func(scale float64, shape ...int) *Tensor {
		return be.FromFloat32(randVals(rng, prod(shape), scale), shape...)
	}

	for _, c := range []struct {
		name    string
		m, k, n int
		dt      compute.DType
	}{
		{"Linear decode BF16", 1, 2048, 300, compute.BF16},
		{"Linear 4 rows F16", 4, 600, 130, compute.F16},
		{"Linear 7 rows BF16", 7, 600, 131, compute.BF16},
		{"Linear prefill F32", 70, 1030, 150, compute.F32},
		{"Linear prefill BF16", 33, 520, 260, compute.BF16},
	} {
		x := f(1, c.m, c.k)
		w := weightTensor(t, be, c.dt, randVals(rng, c.n*c.k, 1), c.n, c.k)
		dst := be.New(compute.F32, c.m, c.n)
		be.Linear(dst, x, w, f(1, c.n))
		keep(c.name, dst)
	}

	x := f(3, 2, 64, 33, 20)
	dst := be.New(compute.F32, x.Shape...)
	be.GroupNorm(dst, x, f(1, 64), f(1, 64), 32, 1e-6)
	keep("GroupNorm", dst)
	be.SiLU(dst, x)
	keep("SiLU", dst)
	be.GELU(dst, x)
	keep("GELU", dst)
	up := be.New(compute.F32, 2, 64, 66, 40)
	be.Upsample2x(up, x)
	keep("Upsample2x", up)
	conv := be.New(compute.F32, 2, 40, 33, 20)
	be.Conv2D(conv, x, f(0.1, 40, 64, 3, 3), f(1, 40), compute.Conv2DParams{Stride: 1, Pad: 1})
	keep("Conv2D 3x3", conv)
	patch := be.New(compute.F32, 1, 24, 4, 2)
	be.Conv2D(patch, f(1, 1, 3, 64, 32), f(0.1, 24, 3, 16, 16), f(1, 24), compute.Conv2DParams{Stride: 16})
	keep("Conv2D patch", patch)

	rows := f(2, 3, 50, 256)
	n := be.New(compute.F32, rows.Shape...)
	be.LayerNorm(n, rows, f(1, 256), f(1, 256), 1e-6)
	keep("LayerNorm", n)
	be.RMSNorm(n, rows, f(1, 256), 1e-6)
	keep("RMSNorm", n)
	tr := be.New(compute.F32, 3, 256, 50)
	be.Transpose(tr, rows)
	keep("Transpose", tr)

	q, k, v := f(1, 2, 40, 4*32), f(1, 2, 64, 2*32), f(1, 2, 64, 2*32)
	be.RoPE(q, 4, 32, 10, 10000)
	keep("RoPE", q)
	att := be.New(compute.F32, q.Shape...)
	be.Attention(att, q, k, v, compute.AttentionParams{Heads: 4, KVHeads: 2, HeadDim: 32, KVLen: 55, QPos0: 15, Causal: true, Scale: 0.17})
	keep("Attention causal", att)
	be.Attention(att, q, k, v, compute.AttentionParams{Heads: 4, KVHeads: 2, HeadDim: 32, KVLen: 64, Scale: 0.17})
	keep("Attention full", att)

	for _, c := range []struct {
		name    string
		m, k, n int
		dt      compute.DType
	}{
		{"Linear decode Q8", 1, 2048, 300, compute.Q8},
		{"Linear CFG Q4", 2, 544, 130, compute.Q4},
		{"Linear 5 rows Q8", 5, 352, 70, compute.Q8},
		{"Linear CFG Q4M", 2, 2048, 160, compute.Q4M}, // the offsets' kernel: rows in fours, then one
	} {
		x := f(1, c.m, c.k)
		w := weightTensor(t, be, c.dt, randVals(rng, c.n*c.k, 1), c.n, c.k)
		dst := be.New(compute.F32, c.m, c.n)
		be.Linear(dst, x, w, f(1, c.n))
		keep(c.name, dst)
	}
	return out
}

func TestThreadCountDeterminism(t *testing.T) {
	for _, ks := range kernelSets() {
		t.Run(kernelName(ks), func(t *testing.T) {
			one := runAllOps(t, New(1, WithKernels(ks)))
			for _, threads := range []int{2, 4, 7} {
				many := runAllOps(t, New(threads, WithKernels(ks)))
				for name, want := range one {
					computetest.Exact(t, name+" with threads", many[name], want)
				}
			}
		})
	}
}
