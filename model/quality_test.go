package model

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/llm"
	"github.com/janus-desktop/janus/model/randweights"
	"github.com/janus-desktop/janus/model/weights"
)

// syntheticLogits builds the language model of cfg from the seeded random weights opts
// describes (randweights.Options: BF16 as released, quantized to Q8, Q4 or Q4M, or rounded by an
// Uploaded hook) on be and returns the next-token logits at every position of ids, [len(ids),
// vocab]: from one prefill of all of them, or with stepwise from one decoding step per token
// (one-row products, which the CPU runs with int8 activations for quantized weights), with a
// KV cache of dtype kv.
func syntheticLogits(tb testing.TB, be compute.Backend, cfg *config.Config, opts randweights.Options, stepwise bool, kv compute.DType, ids []int32) []float32 {
	tb.Helper()
	src, err := randweights.New(Plan(cfg), be, opts)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := llm.Load(be, src, cfg.LLM, true)
	src.Release()
	if err != nil {
		tb.Fatal(err)
	}
	defer m.Free()
	m.KVDType = kv
	c, err := m.NewCache(1, len(ids))
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Free()
	if stepwise {
		var out []float32
		for _, id := range ids {
			x, err := m.Embed([]int32{id}, 1)
			if err != nil {
				tb.Fatal(err)
			}
			h, err := m.Forward(x, c)
			if err != nil {
				tb.Fatal(err)
			}
			l := m.Logits(h)
			out = append(out, readAll(tb, be, l)...)
			for _, t := range []*compute.Tensor{x, h, l} {
				be.Free(t)
			}
		}
		return out
	}
	x, err := m.Embed(ids, 1)
	if err != nil {
		tb.Fatal(err)
	}
	h, err := m.Forward(x, c)
	if err != nil {
		tb.Fatal(err)
	}
	l := m.Logits(h)
	out := readAll(tb, be, l)
	for _, t := range []*compute.Tensor{x, h, l} {
		be.Free(t)
	}
	return out
}

// BenchmarkQuantizedKL measures the mean KL divergence of the next-token distributions of a
// synthetic language model with Janus-Pro-1B's shapes (../shared/fixtures/real-configs) with
// Q8, Q4 and Q4M weights from the same model with its BF16 weights computed in float32, over
// every position of a random 64-token prompt, for normal weights (randweights' default) and
// heavy-tailed ones with outlier norm channels (randweights.Options.HeavyTails), once through
// a prefill of the 64 tokens (dequantized weights, float32 activations) and once decoding
// them one by one (int8 activations). It reports KL-<format>-<weights>[-decode] in nats, and
// the share of positions whose argmax token is unchanged (top1-...).
// JANUS_KL_LAYERS=N keeps only N decoder layers (a quicker, shallower check).
//
//	go test ./model -run '^$' -bench QuantizedKL -benchtime 1x -timeout 60m
func BenchmarkQuantizedKL(b *testing.B) {
	cfg, be, ids := klSetup(b)
	for b.Loop() {
		for _, heavy := range []bool{false, true} {
			opts := randweights.Options{Seed: 11, MatrixDType: compute.BF16, HeavyTails: heavy}
			ref := syntheticLogits(b, be, cfg, opts, false, compute.F32, ids)
			for _, run := range []struct {
				q        compute.DType
				stepwise bool
			}{{compute.Q8, false}, {compute.Q4, false}, {compute.Q4M, false}, {compute.Q8, true}, {compute.Q4, true}, {compute.Q4M, true}} {
				opts.Quantize = run.q
				name := fmt.Sprintf("%v-%s", run.q, map[bool]string{false: "normal", true: "heavy"}[heavy])
				if run.stepwise {
					name += "-decode"
				}
				reportKL(b, name, cfg, ref, syntheticLogits(b, be, cfg, opts, run.stepwise, compute.F32, ids))
			}
		}
	}
}

// BenchmarkKVCacheKL measures what the KV cache's dtype costs, as BenchmarkQuantizedKL does
// the weights': the mean KL divergence of the synthetic Janus-Pro-1B language model's
// next-token distributions with an F16 and with a Q8 cache from the same model with a
// float32 cache (BF16 weights computed in float32 throughout), over every position of the
// random 64-token prompt, for normal and heavy-tailed weights, through a prefill (whose
// attention reads the cache each chunk wrote) and decoding the tokens one by one. It
// reports KL-kv<dtype>-<weights>[-decode] and top1-... JANUS_KL_LAYERS=N keeps N decoder
// layers.
//
//	go test ./model -run '^$' -bench KVCacheKL -benchtime 1x -timeout 60m
func BenchmarkKVCacheKL(b *testing.B) {
	cfg, be, ids := klSetup(b)
	for b.Loop() {
		for _, heavy := range []bool{false, true} {
			opts := randweights.Options{Seed: 11, MatrixDType: compute.BF16, HeavyTails: heavy}
			for _, stepwise := range []bool{false, true} {
				ref := syntheticLogits(b, be, cfg, opts, stepwise, compute.F32, ids)
				for _, kv := range []compute.DType{compute.F16, compute.Q8} {
					name := fmt.Sprintf("kv%v-%s", kv, map[bool]string{false: "normal", true: "heavy"}[heavy])
					if stepwise {
						name += "-decode"
					}
					reportKL(b, name, cfg, ref, syntheticLogits(b, be, cfg, opts, stepwise, kv, ids))
				}
			}
		}
	}
}

// klSetup reads Janus-Pro-1B's config (JANUS_KL_LAYERS=N keeps N decoder layers), opens a
// CPU backend that closes with the benchmark, and draws the random 64-token prompt whose
// every position the KL benchmarks compare.
func klSetup(b *testing.B) (*config.Config, compute.Backend, []int32) {
	cfg, err := config.Load(fixtures.Path(b, "real-configs", "janus-pro-1b"))
	if err != nil {
		b.Fatal(err)
	}
	if v := os.Getenv("JANUS_KL_LAYERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > cfg.LLM.Layers {
			b.Fatalf("JANUS_KL_LAYERS=%q: want 1..%d", v, cfg.LLM.Layers)
		}
		cfg.LLM.Layers = n
	}
	be, err := compute.Open("cpu", compute.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close() })
	rng := rand.New(rand.NewPCG(5, 5))
	ids := make([]int32, 64)
	for i := range ids {
		ids[i] = int32(rng.IntN(cfg.LLM.Vocab))
	}
	return cfg, be, ids
}

// reportKL reports the mean KL divergence of got's next-token distributions from ref's
// over their positions (KL-name, in nats) and the share of positions whose argmax token is
// unchanged (top1-name), and logs both.
func reportKL(b *testing.B, name string, cfg *config.Config, ref, got []float32) {
	vocab := cfg.LLM.Vocab
	positions := len(ref) / vocab
	var kl float64
	same := 0
	for p := range positions {
		r, g := ref[p*vocab:(p+1)*vocab], got[p*vocab:(p+1)*vocab]
		kl += klDivergence(r, g)
		if argmax(r) == argmax(g) {
			same++
		}
	}
	kl /= float64(positions)
	b.ReportMetric(kl, "KL-"+name)
	b.ReportMetric(float64(same)/float64(positions), "top1-"+name)
	b.Logf("%s: mean KL %.4g nats, argmax unchanged at %d of %d positions (%d layers)", name, kl, same, positions, cfg.LLM.Layers)
	if kl != kl || kl < 0 {
		b.Errorf("%s: KL %v is not a divergence", name, kl)
	}
}

// argmax is the index of the largest value (the first one on ties).
func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// BenchmarkQ4SchemesKL measures what a 4-bit format with a minimum would buy: the mean KL
// divergence, as BenchmarkQuantizedKL's prefill, of the synthetic Janus-Pro-1B language model
// whose quantizable matrices were rounded through each scheme (and back to float32) before
// the float32 forward pass, against the same model with its BF16 weights:
//
//   - q4: this engine's Q4 (compute.QuantizeQ4: a scale per block of 32, codes -8..7);
//   - q4min: a scale and a minimum per block, codes 0..15 over the block's range, both F16
//     (ggml's Q4_1);
//   - q4m: compute.QuantizeQ4M, the same stored as an offset from the middle code and refitted
//     by least squares.
//
// Only the prefill is measured: no kernel reads the other schemes. JANUS_KL_LAYERS=N keeps N
// decoder layers.
//
//	go test ./model -run '^$' -bench Q4SchemesKL -benchtime 1x -timeout 60m
func BenchmarkQ4SchemesKL(b *testing.B) {
	cfg, be, ids := klSetup(b)
	schemes := []struct {
		name  string
		round func(x []float32)
	}{
		{"q4", roundQ4},
		{"q4min", roundQ4Min},
		{"q4m", roundQ4M},
	}
	for b.Loop() {
		for _, heavy := range []bool{false, true} {
			ref := syntheticLogits(b, be, cfg, roundedWeights(b, be, heavy, nil), false, compute.F32, ids)
			for _, sc := range schemes {
				got := syntheticLogits(b, be, cfg, roundedWeights(b, be, heavy, sc.round), false, compute.F32, ids)
				reportKL(b, sc.name+map[bool]string{false: "-normal", true: "-heavy"}[heavy], cfg, ref, got)
			}
		}
	}
}

// roundedWeights describes the random weights of syntheticLogits as float32 matrices
// holding the released BF16 values, each quantizable matrix's blocks of 32 then put through
// round (nil: none) before the model binds them.
func roundedWeights(tb testing.TB, be compute.Backend, heavy bool, round func([]float32)) randweights.Options {
	rw, ok := be.(compute.RowWriter)
	if !ok {
		tb.Fatalf("backend %s cannot rewrite a tensor's rows", be.Name())
	}
	return randweights.Options{Seed: 11, MatrixDType: compute.F32, HeavyTails: heavy,
		Uploaded: func(name string, _ int, t *compute.Tensor) {
			if !weights.Quantizable(name) || len(t.Shape) != 2 || t.Shape[1]%compute.QBlock != 0 {
				return
			}
			v := make([]float32, t.Len())
			if err := be.Read(t, v); err != nil {
				tb.Fatal(err)
			}
			raw := make([]byte, 4*len(v))
			for i := range v {
				v[i] = compute.BF16ToF32(compute.F32ToBF16(v[i]))
				if round != nil && i%compute.QBlock == compute.QBlock-1 {
					round(v[i+1-compute.QBlock : i+1])
				}
			}
			for i, x := range v {
				binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
			}
			if err := rw.WriteRows(t, 0, compute.F32, raw); err != nil {
				tb.Fatal(err)
			}
		}}
}

// roundQ4 replaces a block by its Q4 values (compute.QuantizeQ4, then d·(code-8)).
func roundQ4(x []float32) {
	var blk [compute.QBlock]float32
	copy(blk[:], x)
	var q [compute.QBlock / 2]byte
	d := compute.F16ToF32(compute.QuantizeQ4(q[:], &blk))
	for j, c := range q {
		x[j] = d * float32(int(c&15)-8)
		x[j+compute.QBlock/2] = d * float32(int(c>>4)-8)
	}
}

// roundQ4Min replaces a block by its values with a scale d and a minimum m, both F16, and
// codes 0..15 over the block's range: d·code + m.
func roundQ4Min(x []float32) {
	f16 := func(v float32) float32 { return compute.F16ToF32(compute.F32ToF16(v)) }
	lo, hi := x[0], x[0]
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	d, m := f16((hi-lo)/15), f16(lo)
	for i, v := range x {
		c := float32(0)
		if d != 0 {
			c = min(15, max(0, float32(math.Round(float64((v-m)/d)))))
		}
		x[i] = d*c + m
	}
}

// roundQ4M replaces a block by its compute.QuantizeQ4M values, d·(code-8) + o.
func roundQ4M(x []float32) {
	var blk [compute.QBlock]float32
	copy(blk[:], x)
	var q [compute.QBlock / 2]byte
	ds, offs := compute.QuantizeQ4M(q[:], &blk)
	d, o := compute.F16ToF32(ds), compute.F16ToF32(offs)
	for j, c := range q {
		x[j] = d*float32(int(c&15)-8) + o
		x[j+compute.QBlock/2] = d*float32(int(c>>4)-8) + o
	}
}
