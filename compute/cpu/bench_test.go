package cpu

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

// report adds GFLOP/s and GB/s (bytes that must come from memory at least once) metrics.
func report(b *testing.B, flops, bytes float64) {
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(flops/sec/1e9, "GFLOP/s")
	b.ReportMetric(bytes/sec/1e9, "GB/s")
}

// eachThreads runs bench once single-threaded and once with a thread per usable CPU, on
// backends made with opts.
func eachThreads(b *testing.B, name string, bench func(b *testing.B, be *Backend), opts ...Option) {
	counts := []int{1}
	if n := runtime.GOMAXPROCS(0); n > 1 {
		counts = append(counts, n)
	}
	for _, threads := range counts {
		b.Run(fmt.Sprintf("%s/threads=%d", name, threads), func(b *testing.B) {
			be := New(threads, opts...)
			defer be.Close()
			bench(b, be)
		})
	}
}

// BenchmarkLinear times the float32 and BF16 weights' products of the exact precision, on
// every kernel set this CPU runs (the best set's names end in its own, as the others').
func BenchmarkLinear(b *testing.B) {
	for _, c := range []struct {
		m, k, n int
		dt      compute.DType
	}{
		{1, 2048, 5632, compute.BF16},
		{1, 2048, 5632, compute.F32},
		{4, 2048, 5632, compute.BF16},
		{630, 2048, 2048, compute.F32},
		{630, 2048, 2048, compute.BF16},
	} {
		for _, ks := range kernelSets() {
			eachThreads(b, fmt.Sprintf("%dx%dx%d_%v/%s", c.m, c.k, c.n, c.dt, kernelName(ks)), func(b *testing.B, be *Backend) {
				benchLinear(b, be, rand.New(rand.NewPCG(1, 1)), c.m, c.k, c.n, c.dt)
			}, WithKernels(ks))
		}
	}
}

// benchLinear times be.Linear of random x [m, k] by a random weight [n, k] stored as dt,
// and reports GFLOP/s and the GB/s of the bytes it must read at least once.
func benchLinear(b *testing.B, be *Backend, rng *rand.Rand, m, k, n int, dt compute.DType) {
	x := be.FromFloat32(randVals(rng, m*k, 1), m, k)
	w, err := be.FromBytes(dt, []int{n, k}, compute.F32, le(compute.F32, randVals(rng, n*k, 1)))
	if err != nil {
		b.Fatal(err)
	}
	dst := be.New(compute.F32, m, n)
	for b.Loop() {
		be.Linear(dst, x, w, nil)
	}
	report(b, 2*float64(m*k*n), float64(dt.Bytes(n*k)+4*(m*k+m*n)))
}

func BenchmarkConv2D(b *testing.B) {
	for _, c := range []struct{ cin, cout, hw, k, stride, pad int }{
		{128, 128, 96, 3, 1, 1},
		{3, 1024, 384, 16, 16, 0},
	} {
		eachThreads(b, fmt.Sprintf("%dx%d_%d-%d_at%d", c.k, c.k, c.cin, c.cout, c.hw), func(b *testing.B, be *Backend) {
			rng := rand.New(rand.NewPCG(1, 1))
			x := be.FromFloat32(randVals(rng, c.cin*c.hw*c.hw, 1), 1, c.cin, c.hw, c.hw)
			w := be.FromFloat32(randVals(rng, c.cout*c.cin*c.k*c.k, 0.1), c.cout, c.cin, c.k, c.k)
			bias := be.FromFloat32(randVals(rng, c.cout, 1), c.cout)
			ho := (c.hw+2*c.pad-c.k)/c.stride + 1
			dst := be.New(compute.F32, 1, c.cout, ho, ho)
			for b.Loop() {
				be.Conv2D(dst, x, w, bias, compute.Conv2DParams{Stride: c.stride, Pad: c.pad})
			}
			report(b, 2*float64(c.cout*ho*ho*c.cin*c.k*c.k), 4*float64(x.Len()+w.Len()+dst.Len()))
		})
	}
}

func BenchmarkAttention(b *testing.B) {
	for _, c := range []struct {
		name        string
		t, s, heads int
		causal      bool
		kv          compute.DType // of k and v: F16 is the BF16 precision's KV cache, Q8 --kv-cache q8's
	}{
		{"prefill_630_causal", 630, 630, 16, true, compute.F32},
		{"prefill_630_causal_f16", 630, 630, 16, true, compute.F16},
		{"decode_1_of_630", 1, 630, 16, true, compute.F32},
		{"decode_1_of_630_f16", 1, 630, 16, true, compute.F16},
		{"decode_1_of_630_q8", 1, 630, 16, true, compute.Q8},
		{"vit_576", 576, 576, 16, false, compute.F32},
	} {
		eachThreads(b, c.name, func(b *testing.B, be *Backend) {
			const hd = 128
			rng := rand.New(rand.NewPCG(1, 1))
			q := be.FromFloat32(randVals(rng, c.t*c.heads*hd, 1), 1, c.t, c.heads*hd)
			kv := func() *Tensor {
				t := be.FromFloat32(randVals(rng, c.s*c.heads*hd, 1), 1, c.s, c.heads*hd)
				if c.kv == compute.F32 {
					return t
				}
				h := be.New(c.kv, t.Shape...)
				be.CopyRows(h, 0, t, 0, c.s)
				return h
			}
			k, v := kv(), kv()
			dst := be.New(compute.F32, q.Shape...)
			p := compute.AttentionParams{Heads: c.heads, KVHeads: c.heads, HeadDim: hd, KVLen: c.s,
				QPos0: c.s - c.t, Causal: c.causal, Scale: 0.088}
			for b.Loop() {
				be.Attention(dst, q, k, v, p)
			}
			pairs := float64(c.t * c.s)
			if c.causal && c.t > 1 {
				pairs = float64(c.t*(c.t+1)/2 + c.t*(c.s-c.t))
			}
			report(b, 4*pairs*hd*float64(c.heads), 4*float64(q.Len()+dst.Len())+float64(c.kv.Bytes(k.Len())+c.kv.Bytes(v.Len())))
		})
	}
}

func BenchmarkElementwise(b *testing.B) {
	for _, c := range []struct {
		name string
		op   func(be *Backend, dst, x *Tensor)
	}{
		{"GELU", func(be *Backend, dst, x *Tensor) { be.GELU(dst, x) }},
		{"SiLU", func(be *Backend, dst, x *Tensor) { be.SiLU(dst, x) }},
	} {
		// A ViT MLP activation: 576 tokens × 4096.
		const n = 576 * 4096
		eachThreads(b, c.name, func(b *testing.B, be *Backend) {
			rng := rand.New(rand.NewPCG(1, 1))
			x := be.FromFloat32(randVals(rng, n, 3), n)
			dst := be.New(compute.F32, n)
			for b.Loop() {
				c.op(be, dst, x)
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(sec*1e9/n, "ns/element")
		})
	}
}

// BenchmarkAttentionDecodeLayers runs the Attention of one token step over the 24 layers'
// F16 caches of Janus-Pro-1B, in the BF16 mode that makes them (and over Q8 caches, about
// half the bytes, as --kv-cache q8 makes them): a generation step halfway
// through an image and at its end (two CFG rows, 312 and 600 positions, 123 and 236 MB of
// keys and values), four images' step halfway (eight rows, 491 MB) and a chat's decoding step
// after a prompt with an image (one row, 630 positions, 124 MB). All are beyond the caches,
// so GB/s is the rate at which a step's attention reads its cache, to set beside the
// machine's read bandwidth.
func BenchmarkAttentionDecodeLayers(b *testing.B) {
	const layers, heads, hd = 24, 16, 128
	for _, c := range []struct {
		name                string
		rows, capacity, len int
		kv                  compute.DType
	}{
		{"gen_2x312", 2, 640, 312, compute.F16},
		{"gen_2x600", 2, 640, 600, compute.F16},
		{"gen_8x312", 8, 640, 312, compute.F16}, // four images' guided step
		{"decode_1x630", 1, 660, 630, compute.F16},
		{"gen_2x600_q8", 2, 640, 600, compute.Q8},
		{"decode_1x630_q8", 1, 660, 630, compute.Q8},
	} {
		eachThreads(b, c.name, func(b *testing.B, be *Backend) {
			rng := rand.New(rand.NewPCG(1, 1))
			q := be.FromFloat32(randVals(rng, c.rows*heads*hd, 1), c.rows, 1, heads*hd)
			src := be.FromFloat32(randVals(rng, c.rows*c.capacity*heads*hd, 1), c.rows, c.capacity, heads*hd)
			var ks, vs []*Tensor
			for range layers {
				k, v := be.New(c.kv, c.rows, c.capacity, heads*hd), be.New(c.kv, c.rows, c.capacity, heads*hd)
				be.CopyRows(k, 0, src, 0, c.capacity)
				be.CopyRows(v, 0, src, 0, c.capacity)
				ks, vs = append(ks, k), append(vs, v)
			}
			dst := be.New(compute.F32, q.Shape...)
			p := compute.AttentionParams{Heads: heads, KVHeads: heads, HeadDim: hd, KVLen: c.len, QPos0: c.len - 1, Causal: true, Scale: 0.088}
			for b.Loop() {
				for l := range layers {
					be.Attention(dst, q, ks[l], vs[l], p)
				}
			}
			report(b, 4*float64(c.rows*c.len*hd*heads*layers), float64(2*c.kv.Bytes(c.rows*c.len*heads*hd)*layers))
		}, WithPrecision(PrecisionBF16)) // the mode whose caches are F16
	}
}
