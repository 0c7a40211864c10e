//go:build linux

package metalsim

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/cpu"
)

// opCase runs one op on a backend from host inputs and returns its output.
type opCase struct {
	name string
	tol  float64 // max |metal-cpu| / max(1, max|cpu|)
	run  func(be compute.Backend, in map[string][]float32) *compute.Tensor
	// inputs: name -> shape; weights named w* are uploaded as wdt.
	inputs map[string][]int
	wdt    compute.DType
}

func upload(be compute.Backend, name string, vals []float32, shape []int, wdt compute.DType) *compute.Tensor {
	if name[0] == 'w' && wdt != compute.F32 {
		raw := make([]byte, 4*len(vals))
		for i, v := range vals {
			u := math.Float32bits(v)
			raw[4*i], raw[4*i+1], raw[4*i+2], raw[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		}
		t, err := be.FromBytes(wdt, shape, compute.F32, raw)
		if err != nil {
			panic(err)
		}
		return t
	}
	return be.FromFloat32(vals, shape...)
}

// modelSizedCases are ops at the sizes Janus runs them (prefill, decode, the ViT, the VQ
// decoder), larger than the conformance suite's, with every weight dtype Linear takes.
func modelSizedCases() []opCase {
	in := func(be compute.Backend, m map[string][]float32, shapes map[string][]int, wdt compute.DType, name string) *compute.Tensor {
		return upload(be, name, m[name], shapes[name], wdt)
	}
	var cases []opCase
	for _, wdt := range []compute.DType{compute.F32, compute.F16, compute.BF16} {
		for _, mnk := range [][3]int{{1, 1000, 1024}, {2, 333, 520}, {40, 300, 512}, {577, 96, 64}} {
			m, n, k := mnk[0], mnk[1], mnk[2]
			shapes := map[string][]int{"x": {m, k}, "w": {n, k}, "bias": {n}}
			cases = append(cases, opCase{name: fmt.Sprintf("Linear %dx%dx%d %v", m, n, k, wdt), tol: 2e-6 * math.Sqrt(float64(k)),
				inputs: shapes, wdt: wdt,
				run: func(be compute.Backend, v map[string][]float32) *compute.Tensor {
					dst := be.New(compute.F32, m, n)
					be.Linear(dst, in(be, v, shapes, wdt, "x"), in(be, v, shapes, wdt, "w"), in(be, v, shapes, wdt, "bias"))
					return dst
				}})
		}
	}
	// Q8/Q4: the same codes and scales as the CPU's (Embedding is exact); Linear differs by
	// the CPU's int8 activations below 16 rows (hence the looser bound there) and by float32
	// rounding from 16 rows on, where the CPU dequantizes weight panels too.
	for _, wdt := range []compute.DType{compute.Q8, compute.Q4} {
		for _, mnk := range [][3]int{{1, 1000, 1024}, {2, 333, 512}, {7, 64, 2048}, {40, 300, 512}, {577, 96, 64}} {
			m, n, k := mnk[0], mnk[1], mnk[2]
			shapes := map[string][]int{"x": {m, k}, "w": {n, k}, "bias": {n}}
			tol := 2e-6 * math.Sqrt(float64(k))
			if m < 16 {
				tol = 1e-2
			}
			cases = append(cases, opCase{name: fmt.Sprintf("Linear %dx%dx%d %v", m, n, k, wdt), tol: tol, inputs: shapes, wdt: wdt,
				run: func(be compute.Backend, v map[string][]float32) *compute.Tensor {
					dst := be.New(compute.F32, m, n)
					be.Linear(dst, in(be, v, shapes, wdt, "x"), in(be, v, shapes, wdt, "w"), in(be, v, shapes, wdt, "bias"))
					return dst
				}})
		}
		shapes := map[string][]int{"w": {300, 2048}}
		cases = append(cases, opCase{name: fmt.Sprintf("Embedding 300x2048 %v", wdt), inputs: shapes, wdt: wdt,
			run: func(be compute.Backend, v map[string][]float32) *compute.Tensor {
				ids := []int32{0, 299, 17, 17, 150}
				dst := be.New(compute.F32, len(ids), 2048)
				be.Embedding(dst, in(be, v, shapes, wdt, "w"), ids)
				return dst
			}})
	}
	for _, p := range []struct {
		b, t, s, kvLen, qpos0, heads, kvHeads, hd int
		causal                                    bool
	}{
		{1, 100, 128, 100, 0, 8, 2, 64, true},  // prefill with GQA
		{2, 1, 300, 257, 256, 4, 4, 128, true}, // CFG decode step against a long cache
		{1, 577, 577, 577, 0, 2, 2, 64, false}, // ViT-sized full attention
		{1, 36, 36, 36, 0, 1, 1, 512, false},   // the VQ decoder's one 512-wide head
	} {
		shapes := map[string][]int{"q": {p.b, p.t, p.heads * p.hd}, "k": {p.b, p.s, p.kvHeads * p.hd}, "v": {p.b, p.s, p.kvHeads * p.hd}}
		cases = append(cases, opCase{name: fmt.Sprintf("Attention %+v", p), tol: 2e-6 * math.Sqrt(float64(p.hd)/64), inputs: shapes,
			run: func(be compute.Backend, v map[string][]float32) *compute.Tensor {
				dst := be.New(compute.F32, p.b, p.t, p.heads*p.hd)
				be.Attention(dst, in(be, v, shapes, 0, "q"), in(be, v, shapes, 0, "k"), in(be, v, shapes, 0, "v"), compute.AttentionParams{
					Heads: p.heads, KVHeads: p.kvHeads, HeadDim: p.hd, KVLen: p.kvLen, QPos0: p.qpos0, Causal: p.causal,
					Scale: float32(1 / math.Sqrt(float64(p.hd)))})
				return dst
			}})
	}
	for _, c := range []struct{ cin, cout, h, k, stride, pad int }{{32, 16, 24, 3, 1, 1}, {16, 32, 17, 1, 1, 0}, {8, 8, 20, 3, 2, 1}} {
		ho := (c.h+2*c.pad-c.k)/c.stride + 1
		shapes := map[string][]int{"x": {1, c.cin, c.h, c.h}, "w": {c.cout, c.cin, c.k, c.k}, "bias": {c.cout}}
		cases = append(cases, opCase{name: fmt.Sprintf("Conv2D %+v", c), tol: 2e-6 * math.Sqrt(float64(c.cin*c.k*c.k)), inputs: shapes,
			run: func(be compute.Backend, v map[string][]float32) *compute.Tensor {
				dst := be.New(compute.F32, 1, c.cout, ho, ho)
				be.Conv2D(dst, in(be, v, shapes, 0, "x"), in(be, v, shapes, 0, "w"), in(be, v, shapes, 0, "bias"),
					compute.Conv2DParams{Stride: c.stride, Pad: c.pad})
				return dst
			}})
	}
	gn := map[string][]int{"x": {2, 64, 12, 12}, "w": {64}, "bias": {64}}
	cases = append(cases, opCase{name: "GroupNorm 32 groups", tol: 1e-5, inputs: gn,
		run: func(be compute.Backend, v map[string][]float32) *compute.Tensor {
			dst := be.New(compute.F32, 2, 64, 12, 12)
			be.GroupNorm(dst, in(be, v, gn, 0, "x"), in(be, v, gn, 0, "w"), in(be, v, gn, 0, "bias"), 32, 1e-6)
			return dst
		}})
	ln := map[string][]int{"x": {5, 1024}, "w": {1024}, "bias": {1024}}
	cases = append(cases, opCase{name: "LayerNorm 1024", tol: 1e-5, inputs: ln,
		run: func(be compute.Backend, v map[string][]float32) *compute.Tensor {
			dst := be.New(compute.F32, 5, 1024)
			be.LayerNorm(dst, in(be, v, ln, 0, "x"), in(be, v, ln, 0, "w"), in(be, v, ln, 0, "bias"), 1e-6)
			return dst
		}})
	rms := map[string][]int{"x": {3, 2048}, "w": {2048}}
	cases = append(cases, opCase{name: "RMSNorm 2048", tol: 1e-5, inputs: rms,
		run: func(be compute.Backend, v map[string][]float32) *compute.Tensor {
			dst := be.New(compute.F32, 3, 2048)
			be.RMSNorm(dst, in(be, v, rms, 0, "x"), in(be, v, rms, 0, "w"), 1e-6)
			return dst
		}})
	act := map[string][]int{"x": {4, 1000}, "up": {4, 1000}}
	cases = append(cases, opCase{name: "GELU SiLU SwiGLU", tol: 1e-6, inputs: act,
		run: func(be compute.Backend, v map[string][]float32) *compute.Tensor {
			x, up := in(be, v, act, 0, "x"), in(be, v, act, 0, "up")
			g, s := be.New(compute.F32, 4, 1000), be.New(compute.F32, 4, 1000)
			be.GELU(g, x)
			be.SiLU(s, x)
			be.SwiGLU(up, x, up)
			be.Add(g, g, s)
			be.Mul(g, g, up)
			return g
		}})
	return cases
}

// TestVersusCPU runs model-sized ops on the simulated device, in forward and in reverse
// thread order, and on compute/cpu: the two orders must agree bit for bit (every reduction
// of the kernels has a fixed order, so only a missing barrier could make them differ) and
// both must match the CPU backend within float32 tolerance.
func TestVersusCPU(t *testing.T) {
	fwd, rev := openSim(t, Options{}), openSim(t, Options{Reverse: true})
	defer fwd.Close()
	defer rev.Close()
	ref := cpu.New(2)
	defer ref.Close()
	rng := rand.New(rand.NewPCG(9, 9))
	for _, c := range modelSizedCases() {
		t.Run(c.name, func(t *testing.T) {
			vals := map[string][]float32{}
			// Inputs in name order: the values each gets, and so the rounding, repeat run to run.
			for _, name := range slices.Sorted(maps.Keys(c.inputs)) {
				shape := c.inputs[name]
				n := 1
				for _, d := range shape {
					n *= d
				}
				v := make([]float32, n)
				for i := range v {
					v[i] = float32(rng.NormFloat64())
				}
				vals[name] = v
			}
			outs := make([][]float32, 3)
			for i, be := range []compute.Backend{ref, fwd, rev} {
				dst := c.run(be, vals)
				outs[i] = make([]float32, dst.Len())
				if err := be.Read(dst, outs[i]); err != nil {
					t.Fatalf("%s: %v", be.Name(), err)
				}
			}
			for i := range outs[1] {
				if math.Float32bits(outs[1][i]) != math.Float32bits(outs[2][i]) {
					t.Fatalf("forward and reverse thread order differ at %d: %v vs %v", i, outs[1][i], outs[2][i])
				}
			}
			var maxRef, maxDiff float64
			at := 0
			for i, w := range outs[0] {
				maxRef = max(maxRef, math.Abs(float64(w)))
				if d := math.Abs(float64(outs[1][i] - w)); d > maxDiff || math.IsNaN(d) {
					maxDiff, at = d, i
				}
			}
			t.Logf("max |metal-cpu| / max(1, max|cpu|) = %.3g (limit %.3g)", maxDiff/max(1, maxRef), c.tol)
			if !(maxDiff <= c.tol*max(1, maxRef)) {
				t.Fatalf("max |metal-cpu| %.3g at %d (%v vs %v), limit %.3g", maxDiff, at, outs[1][at], outs[0][at], c.tol*max(1, maxRef))
			}
		})
	}
}
