package model

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/llm"
	"github.com/janus-desktop/janus/model/randweights"
)

// syntheticLogits builds the language model of cfg from seeded random weights (BF16 as
// released, quantized to quant when that is Q8 or Q4) on be and returns the next-token
// logits at every position of ids, [len(ids), vocab]: from one prefill of all of them, or
// with stepwise from one decoding step per token (one-row products, which the CPU runs with
// int8 activations for Q8/Q4 weights).
func syntheticLogits(tb testing.TB, be compute.Backend, cfg *config.Config, quant compute.DType, heavy, stepwise bool, ids []int32) []float32 {
	tb.Helper()
	src, err := randweights.New(cfg, be, randweights.Options{Seed: 11, MatrixDType: compute.BF16, Quantize: quant, HeavyTails: heavy})
	if err != nil {
		tb.Fatal(err)
	}
	m, err := llm.Load(be, src, cfg.LLM, true)
	src.Release()
	if err != nil {
		tb.Fatal(err)
	}
	defer m.Free()
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
// Q8 and Q4 weights from the same model with its BF16 weights computed in float32, over
// every position of a random 64-token prompt, for normal weights (randweights' default) and
// heavy-tailed ones with outlier norm channels (randweights.Options.HeavyTails), once through
// a prefill of the 64 tokens (dequantized weights, float32 activations) and once decoding
// them one by one (int8 activations). It reports KL-<format>-<weights>[-decode] in nats, and
// the share of positions whose argmax token is unchanged (top1-...).
// JANUS_KL_LAYERS=N keeps only N decoder layers (a quicker, shallower check).
//
//	go test ./model -run '^$' -bench QuantizedKL -benchtime 1x -timeout 60m
func BenchmarkQuantizedKL(b *testing.B) {
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
	defer be.Close()
	const positions = 64
	rng := rand.New(rand.NewPCG(5, 5))
	ids := make([]int32, positions)
	for i := range ids {
		ids[i] = int32(rng.IntN(cfg.LLM.Vocab))
	}
	vocab := cfg.LLM.Vocab
	for b.Loop() {
		for _, heavy := range []bool{false, true} {
			ref := syntheticLogits(b, be, cfg, compute.F32, heavy, false, ids)
			for _, run := range []struct {
				q        compute.DType
				stepwise bool
			}{{compute.Q8, false}, {compute.Q4, false}, {compute.Q8, true}, {compute.Q4, true}} {
				q := run.q
				got := syntheticLogits(b, be, cfg, q, heavy, run.stepwise, ids)
				var kl float64
				same := 0
				for p := range positions {
					r, g := ref[p*vocab:(p+1)*vocab], got[p*vocab:(p+1)*vocab]
					kl += klDivergence(r, g)
					if argmax(r) == argmax(g) {
						same++
					}
				}
				kl /= positions
				name := fmt.Sprintf("%v-%s", q, map[bool]string{false: "normal", true: "heavy"}[heavy])
				if run.stepwise {
					name += "-decode"
				}
				b.ReportMetric(kl, "KL-"+name)
				b.ReportMetric(float64(same)/positions, "top1-"+name)
				b.Logf("%s: mean KL %.4g nats, argmax unchanged at %d of %d positions (%d layers)", name, kl, same, positions, cfg.LLM.Layers)
				if kl != kl || kl < 0 {
					b.Errorf("%s: KL %v is not a divergence", name, kl)
				}
			}
		}
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
