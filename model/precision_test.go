package model

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/internal/fixtures"
)

// bf16Tolerances are the documented bounds of the BF16 precision mode on the tiny-a goldens
// (README, compute/cpu doc.go): max |diff| relative to the golden's largest magnitude (at
// least 1), as fixtures.Close measures it. The exact mode stays within 1e-4 (closeTo).
var bf16Tolerances = map[string]float64{
	"vision_features":         1e-2, // measured 4.5e-3 on the FMA tiles, 4.4e-3 on AMX
	"aligner_features":        1e-2, // 3.2e-3, AMX 3.3e-3
	"und_step_logits":         1e-2, // 2.2e-3 at most over the 16 steps (F16 cache), AMX 2.1e-3
	"gen_step0_logits_cond":   1e-2, // 2.3e-3 (F16 cache)
	"gen_step0_logits_uncond": 1e-2, // 4.2e-3 (F16 cache)
	"gen_logits_cfg_first3":   1e-2, // 2.5e-3
	"gen_decoded":             4e-2, // 1.7e-2, AMX 1.3e-2: pixels in [-1, 1] after 30 convolutions
}

// bf16Close checks got against a golden within its bf16Tolerances entry and logs the
// measured difference (the README's table quotes it).
func bf16Close(t *testing.T, stage, what string, got, want []float32) {
	t.Helper()
	tol := bf16Tolerances[stage]
	ok, diff, bound := fixtures.Close(got, want, tol)
	t.Logf("%s: max |diff| %.3g (bound %.3g, relative %.2g)", what, diff, bound, diff/bound*tol)
	if !ok {
		t.Errorf("%s: max |diff| %.3g > %.3g", what, diff, bound)
	}
}

// onBF16KernelSets runs test on the CPU's own choice of kernels and again capped to the
// AVX-512 set: where the CPU has AMX, the BF16 mode's products run on it by default and on
// the AVX-512 FMA tiles under the cap, two different summations that both must hold (where
// the CPU runs VDPBF16PS at full rate, AMD's, Linear and Conv2D run on those tiles by
// default, with the FMA tiles' bits).
func onBF16KernelSets(t *testing.T, test func(t *testing.T)) {
	for _, k := range []string{"auto", "avx512"} {
		t.Run("kernels="+k, func(t *testing.T) {
			t.Setenv("JANUS_CPU_KERNELS", k)
			test(t)
		})
	}
}

// loadBF16 loads tiny-a with Precision bf16 on the default backend, skipping where no
// backend runs that mode (the CPU without AVX512_BF16, Metal).
func loadBF16(t *testing.T) *tinyA {
	ta := loadTinyA(t, Options{Backend: defaultBackend(t, 2, compute.PrecisionBF16), Precision: compute.PrecisionBF16})
	p, ok := ta.m.Backend.(interface{ Precision() string })
	if !ok || p.Precision() != compute.PrecisionBF16 {
		t.Skipf("backend %s does not run the BF16 mode here", ta.m.Backend.Name())
	}
	return ta
}

// TestTinyABF16Understanding checks the BF16 mode on every understanding stage it affects
// (vision tower, aligner, every step's logits) within bf16Tolerances, and that greedy
// decoding gives the golden tokens.
func TestTinyABF16Understanding(t *testing.T) { onBF16KernelSets(t, tinyABF16Understanding) }

func tinyABF16Understanding(t *testing.T) {
	ta := loadBF16(t)
	m, be := ta.m, ta.m.Backend
	img, err := m.ReadImage(ta.image)
	if err != nil {
		t.Fatal(err)
	}
	px, err := m.Vision.Pixels(img.pixels)
	if err != nil {
		t.Fatal(err)
	}
	feats, err := m.Vision.Forward(context.Background(), px)
	if err != nil {
		t.Fatal(err)
	}
	bf16Close(t, "vision_features", "vision features", readAll(t, be, feats), fixtures.Float32s(t, filepath.Join(ta.dir, "vision_features.bin")))
	aligned := m.Aligner.Forward(feats)
	bf16Close(t, "aligner_features", "aligner features", readAll(t, be, aligned), fixtures.Float32s(t, filepath.Join(ta.dir, "aligner_features.bin")))
	be.Free(aligned)
	be.Free(feats)
	be.Free(px)

	steps := fixtures.Float32s(t, filepath.Join(ta.dir, "und_step_logits.bin"))
	vocab := m.Config.LLM.Vocab
	c := m.NewChat()
	defer c.Close()
	step := 0
	c.onLogits = func(l []float32) {
		if step < len(steps)/vocab {
			bf16Close(t, "und_step_logits", fmt.Sprintf("step %d logits", step), l, steps[step*vocab:(step+1)*vocab])
		}
		step++
	}
	res, err := c.Reply(context.Background(), ta.prompt, []*Image{img}, AnswerOptions{MaxNewTokens: 16}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := ta.g.Understanding.GreedyTokens; !slices.Equal(res.Tokens, want) {
		t.Errorf("tokens %v, want the goldens %v", res.Tokens, want)
	}
}

// TestTinyABF16Generation checks the BF16 mode on the generation goldens (step-0 logits of
// both CFG rows, the guided logits of steps 0-2, the decoded images) within bf16Tolerances,
// and that greedy generation gives the golden image tokens.
func TestTinyABF16Generation(t *testing.T) { onBF16KernelSets(t, tinyABF16Generation) }

func tinyABF16Generation(t *testing.T) {
	ta := loadBF16(t)
	c := &genCase{name: "tiny-a", dir: fixtures.Path(t, "models", "tiny-a"), golden: ta.dir, m: ta.m}
	fixtures.JSON(t, filepath.Join(c.golden, "golden.json"), &c.g)
	c.prompt = c.g.Generation.Conversation[0].Content
	gen := c.g.Generation
	cond, uncond, err := c.m.Prompt.GenerationIDs(c.prompt)
	if err != nil {
		t.Fatal(err)
	}
	opts := GenerateImageOptions{N: gen.ParallelSize, CFG: gen.CFGWeight}
	vocab := c.m.Config.GenHead.ImageTokenSize
	var step0Cond, step0Uncond, guided3 []float32
	g := &imageRun{m: c.m, opts: opts, cond: cond, uncond: uncond}
	g.observe = func(step int, raw, guided []float32) {
		if step == 0 {
			for i := range opts.N {
				step0Cond = append(step0Cond, raw[2*i*vocab:(2*i+1)*vocab]...)
				step0Uncond = append(step0Uncond, raw[(2*i+1)*vocab:(2*i+2)*vocab]...)
			}
		}
		if step < 3 {
			guided3 = append(guided3, guided...)
		}
	}
	tokens, err := g.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	bf16Close(t, "gen_step0_logits_cond", "step-0 conditional logits", step0Cond, c.bin(t, "gen_step0_logits_cond"))
	bf16Close(t, "gen_step0_logits_uncond", "step-0 unconditional logits", step0Uncond, c.bin(t, "gen_step0_logits_uncond"))
	bf16Close(t, "gen_logits_cfg_first3", "guided logits of steps 0-2", guided3, c.bin(t, "gen_logits_cfg_first3"))
	for i := range gen.ImageTokens {
		if !slices.Equal(tokens[i], gen.ImageTokens[i]) {
			t.Errorf("image %d tokens\n got %v\nwant %v", i, tokens[i], gen.ImageTokens[i])
		}
	}
	// The decoder on the golden tokens, so that its own error is what is measured.
	dec, err := c.m.VQ.Decode(context.Background(), gen.ImageTokens, nil)
	if err != nil {
		t.Fatal(err)
	}
	bf16Close(t, "gen_decoded", "decoded images", dec, c.bin(t, "gen_decoded"))
}
