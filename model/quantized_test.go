package model

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/llm"
)

// klDivergence is KL(p‖q) in nats of the softmax distributions of two logit rows: how much
// the quantized model's next-token distribution q loses against the reference p.
func klDivergence(ref, got []float32) float64 {
	logSoftmax := func(l []float32) []float64 {
		m := float64(slices.Max(l))
		var s float64
		for _, v := range l {
			s += math.Exp(float64(v) - m)
		}
		out := make([]float64, len(l))
		for i, v := range l {
			out[i] = float64(v) - m - math.Log(s)
		}
		return out
	}
	lp, lq := logSoftmax(ref), logSoftmax(got)
	var kl float64
	for i := range lp {
		kl += math.Exp(lp[i]) * (lp[i] - lq[i])
	}
	return kl
}

// TestTinyAQuantized runs the golden understanding turn of tiny-a with Q8, Q4 and Q4M weights
// on every backend and measures the mean KL divergence of each step's next-token distribution
// from the float32 goldens over the steps where the tokens still agree. Q8 must give the
// golden greedy tokens; each must stay under a KL bound set about ten times above what was
// measured (README, "Quantized weights"). The same holds of a Q8 KV cache, alone and with the
// quantized weights that take it by default, where the backend takes it.
func TestTinyAQuantized(t *testing.T) {
	for _, tc := range []struct {
		weights, kvCache, precision string
		sameTokens                  bool
		maxKL                       float64
	}{
		// The weights alone, with a float32 cache.
		{WeightsQ8, KVCacheF32, "", true, 1e-3},
		{WeightsQ4, KVCacheF32, "", false, 0.2},
		{WeightsQ4M, KVCacheF32, "", false, 0.1},
		// The cache alone.
		{WeightsStored, KVCacheQ8, "", true, 3e-5},
		// As auto chooses the cache: Q8 weights keep a float32 one, 4-bit weights take Q8.
		{WeightsQ8, KVCacheAuto, "", true, 1e-3},
		{WeightsQ4, KVCacheAuto, "", false, 0.2},
		// The BF16 mode (its prompt's quantized products on the int8 kernels where it
		// runs on VDPBF16PS), with the cache auto gives it.
		{WeightsQ8, KVCacheAuto, compute.PrecisionBF16, true, 1e-3},
	} {
		name := tc.weights + "/kv-" + tc.kvCache
		if tc.precision != "" {
			name += "/" + tc.precision
		}
		t.Run(name, func(t *testing.T) {
			computetest.Each(t, compute.Options{Threads: 2, Precision: tc.precision}, func(t *testing.T, be compute.Backend) {
				qc, ok := be.(compute.Q8Cache)
				q8Cache := ok && qc.Q8Cache()
				if tc.kvCache == KVCacheQ8 && !q8Cache {
					t.Skipf("%s does not take Q8 KV caches", be.Name())
				}
				ta := loadTinyA(t, Options{Backend: be, Weights: tc.weights, KVCache: tc.kvCache, Precision: tc.precision})
				m := ta.m
				if q, ok := quantFormats[tc.weights]; ok && m.LLM.Layers[0].Q.DType != q.dt {
					t.Fatalf("q_proj is %v", m.LLM.Layers[0].Q.DType)
				}
				wantKV := compute.F32
				switch {
				case tc.kvCache == KVCacheQ8 || tc.kvCache == KVCacheAuto && q8Cache && tc.weights != WeightsQ8:
					wantKV = compute.Q8
				case tc.kvCache == KVCacheAuto && tc.precision != "":
					wantKV = llm.CacheDType(tc.precision)
				}
				if m.LLM.KVDType != wantKV {
					t.Fatalf("KV cache of %v, want %v", m.LLM.KVDType, wantKV)
				}
				if dt := m.Vision.Blocks[0].FC1W.DType; dt != compute.BF16 {
					t.Errorf("the ViT's fc1 is %v, want it kept BF16", dt)
				}
				img, err := m.ReadImage(ta.image)
				if err != nil {
					t.Fatal(err)
				}
				steps := fixtures.Float32s(t, filepath.Join(ta.dir, "und_step_logits.bin"))
				vocab := m.Config.LLM.Vocab
				var kls []float64
				c := m.NewChat()
				defer c.Close()
				c.onLogits = func(l []float32) {
					if i := len(kls); i < len(steps)/vocab {
						kls = append(kls, klDivergence(steps[i*vocab:(i+1)*vocab], l))
					}
				}
				res, err := c.Reply(context.Background(), ta.prompt, []*Image{img}, AnswerOptions{MaxNewTokens: 16}, nil)
				if err != nil {
					t.Fatal(err)
				}
				want := ta.g.Understanding.GreedyTokens
				agree := 0
				for agree < len(want) && agree < len(res.Tokens) && res.Tokens[agree] == want[agree] {
					agree++
				}
				if tc.sameTokens && agree != len(want) {
					t.Errorf("tokens %v, want the goldens %v", res.Tokens, want)
				}
				// Steps 0..agree see the golden prefix, so their distributions are comparable.
				n := min(agree+1, len(kls))
				var mean float64
				for _, v := range kls[:n] {
					mean += v
				}
				mean /= float64(n)
				t.Logf("%s: mean KL %.3g nats over %d steps (tokens agree for %d of %d)", name, mean, n, agree, len(want))
				if !(mean <= tc.maxKL) {
					t.Errorf("mean KL %.3g over %d steps, want at most %.3g", mean, n, tc.maxKL)
				}
			})
		})
	}
}

// TestTinyAQuantizedGeneration measures what Q8, Q4 and Q4M weights (the language model and
// gen_head) cost image generation on tiny-a: the mean KL divergence of the step-0
// distributions over image tokens, both CFG rows of every image, from the float32 goldens
// (the later steps follow sampled tokens, so only step 0 compares whatever the weights),
// under a bound about ten times above what was measured (README, "Quantized weights").
// With Q8 the greedy image tokens must be the goldens.
func TestTinyAQuantizedGeneration(t *testing.T) {
	for _, tc := range []struct {
		weights    string
		sameTokens bool
		maxKL      float64
	}{
		{WeightsQ8, true, 5e-4},
		{WeightsQ4, false, 0.06},
		{WeightsQ4M, false, 0.06},
	} {
		t.Run(tc.weights, func(t *testing.T) {
			computetest.Each(t, compute.Options{Threads: 2}, func(t *testing.T, be compute.Backend) {
				ta := loadTinyA(t, Options{Backend: be, Weights: tc.weights})
				if dt, want := ta.m.GenHead.Layers[len(ta.m.GenHead.Layers)-1].W.DType, quantFormats[tc.weights].dt; dt != want {
					t.Fatalf("gen_head's output layer is %v", dt)
				}
				c := &genCase{name: "tiny-a", dir: fixtures.Path(t, "models", "tiny-a"), golden: ta.dir, m: ta.m}
				fixtures.JSON(t, filepath.Join(c.golden, "golden.json"), &c.g)
				gen := c.g.Generation
				cond, uncond, err := c.m.Prompt.GenerationIDs(gen.Conversation[0].Content)
				if err != nil {
					t.Fatal(err)
				}
				opts := GenerateImageOptions{N: gen.ParallelSize, CFG: gen.CFGWeight}
				var step0 []float32 // per image: its conditional row, then its unconditional one
				g := &imageRun{m: c.m, opts: opts, cond: cond, uncond: uncond}
				g.observe = func(step int, raw, guided []float32) {
					if step == 0 {
						step0 = append(step0, raw...)
					}
				}
				tokens, err := g.run(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				vocab := c.m.Config.GenHead.ImageTokenSize
				wantCond, wantUncond := c.bin(t, "gen_step0_logits_cond"), c.bin(t, "gen_step0_logits_uncond")
				var mean float64
				for i := range opts.N {
					mean += klDivergence(wantCond[i*vocab:(i+1)*vocab], step0[2*i*vocab:(2*i+1)*vocab])
					mean += klDivergence(wantUncond[i*vocab:(i+1)*vocab], step0[(2*i+1)*vocab:(2*i+2)*vocab])
				}
				mean /= float64(2 * opts.N)
				same := 0
				for i := range gen.ImageTokens {
					if slices.Equal(tokens[i], gen.ImageTokens[i]) {
						same++
					}
				}
				t.Logf("%s: mean KL %.3g nats over the step-0 rows of %d images; %d of %d images have the golden tokens", tc.weights, mean, opts.N, same, len(gen.ImageTokens))
				if !(mean <= tc.maxKL) {
					t.Errorf("mean KL %.3g, want at most %.3g", mean, tc.maxKL)
				}
				if tc.sameTokens && same != len(gen.ImageTokens) {
					t.Errorf("%d of %d images have the golden tokens, want all", same, len(gen.ImageTokens))
				}
			})
		})
	}
}

// TestWeightsUnknown: an unknown weights format is refused before anything loads, with an
// error listing the formats.
func TestWeightsUnknown(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	if _, err := Load(dir, Options{Weights: "q5"}); err == nil || !strings.Contains(err.Error(), "q8") {
		t.Errorf("Load with weights q5: %v, want an error listing the formats", err)
	}
}

// TestChooseWeights checks the machine default: the stored format while it fits in 60% of
// the memory, then Q8, then Q4M, then Q4, and the stored format when the memory is unknown.
func TestChooseWeights(t *testing.T) {
	const gb = int64(1e9)
	sizes := map[string]int64{WeightsStored: 15 * gb, WeightsQ8: 8 * gb, WeightsQ4M: 47 * gb / 10, WeightsQ4: 42 * gb / 10}
	bytes := func(f string) int64 { return sizes[f] }
	for _, tc := range []struct {
		ram  int64
		want string
	}{
		{32 * gb, WeightsStored},
		{25 * gb, WeightsStored},
		{24 * gb, WeightsQ8},
		{14 * gb, WeightsQ8},
		{12 * gb, WeightsQ4M},
		{8 * gb, WeightsQ4M},
		{7 * gb, WeightsQ4},
		{4 * gb, WeightsQ4},
		{0, WeightsStored},
	} {
		got, why := ChooseWeights(tc.ram, bytes)
		if got != tc.want || why == "" {
			t.Errorf("ChooseWeights(%d GB) = %q (%q), want %q", tc.ram/gb, got, why, tc.want)
		}
		if tc.ram > 0 && !strings.Contains(why, fmt.Sprintf("%.1f GB", float64(sizes[got])/1e9)) && got != WeightsQ4 {
			t.Errorf("ChooseWeights(%d GB): reason %q does not give %s's size", tc.ram/gb, why, got)
		}
	}
}

// TestQuantizedBatchMatchesSingles: with Q8, Q4 and Q4M weights on the CPU backend, image i of a
// batch has the tokens its seed gives alone, so a batch is a faster way to the same
// pictures. tiny-a's samples rarely turn on the last bits, so the bits themselves are pinned
// where they are made: TestGrouped (the row groups every released model's matrices are
// stored in), TestLinearQAMXRows and TestInt8PairsMatchSingles (compute/cpu).
func TestQuantizedBatchMatchesSingles(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	prompt := genTinyA(t, nil).prompt
	for _, weights := range []string{WeightsQ8, WeightsQ4, WeightsQ4M} {
		t.Run(weights, func(t *testing.T) {
			m, err := Load(dir, Options{Backend: defaultBackend(t, 2, ""), Weights: weights})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			gen := func(n int, seed uint64) [][]int32 {
				opts := DefaultImageOptions()
				opts.N, opts.Seed = n, seed
				res, err := m.GenerateImages(context.Background(), prompt, opts, nil)
				if err != nil {
					t.Fatal(err)
				}
				return res.Tokens
			}
			batch := gen(8, 7) // sixteen guided rows: the most the int8 kernels take
			for i := range batch {
				if single := gen(1, 7+uint64(i)); !slices.Equal(single[0], batch[i]) {
					t.Errorf("image %d of a batch of 8 (seed 7) differs from seed %d alone", i, 7+i)
				}
			}
		})
	}
}
