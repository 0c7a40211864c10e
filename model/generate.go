package model

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"time"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model/prompt"
	"github.com/janus-desktop/janus/model/sample"
)

// Defaults of the official generation_inference.py.
const (
	DefaultCFG         = 5.0
	DefaultTemperature = 1.0
)

// GenerateImageOptions control image generation. Start from DefaultImageOptions: in the
// zero value CFG 0 means "unconditional only" and temperature 0 greedy decoding.
type GenerateImageOptions struct {
	// N is the number of images generated together (the official parallel_size); 0 means 1.
	N int
	// CFG is the classifier-free guidance weight w: logits = uncond + w·(cond − uncond).
	CFG float64
	// Temperature divides the guided logits before sampling; 0 picks the most likely token
	// (argmax), which is deterministic.
	Temperature float64
	// TopK and TopP filter the guided logits before sampling (0 disables each). The official
	// code uses neither.
	TopK int
	TopP float64
	// Seed fixes the draws. Image i uses its own random stream seeded with Seed+i, so image i
	// of a run equals the single image of a run with seed Seed+i (on a backend whose rows do
	// not depend on the batch, as the CPU backend's do).
	Seed uint64
	// PreviewEvery, when positive, makes a preview every PreviewEvery completed rows of the
	// token grid (see ImageProgress.Preview).
	PreviewEvery int
}

// DefaultImageOptions are the settings of the official script for one image: CFG 5,
// temperature 1, no top-k / top-p.
func DefaultImageOptions() GenerateImageOptions {
	return GenerateImageOptions{N: 1, CFG: DefaultCFG, Temperature: DefaultTemperature}
}

func (o GenerateImageOptions) sampling() sample.Params {
	return sample.Params{Temperature: o.Temperature, TopK: o.TopK, TopP: o.TopP}
}

// validate reports the first option no generation could run with.
func (o GenerateImageOptions) validate() error {
	switch {
	case o.N < 0:
		return fmt.Errorf("image count %d is negative", o.N)
	case o.N > MaxImages:
		return fmt.Errorf("image count %d exceeds %d", o.N, MaxImages)
	case math.IsNaN(o.CFG) || math.IsInf(o.CFG, 0):
		return fmt.Errorf("cfg weight %v is not a number", o.CFG)
	case o.PreviewEvery < 0:
		return fmt.Errorf("preview interval %d is negative", o.PreviewEvery)
	}
	return o.sampling().Validate()
}

// MaxImages caps GenerateImageOptions.N: every image costs two rows of KV cache.
const MaxImages = 64

// ImageProgress reports one generation step.
type ImageProgress struct {
	// Token image tokens of Tokens are decided for every image.
	Token, Tokens int
	// Images is the number of images generated together.
	Images int
	// TokensPerSecond counts the tokens of all images per second since the first step
	// (which also ran the prompt), leaving out the time spent on previews; 0 until the second
	// step.
	TokensPerSecond float64
	// Elapsed is the time since generation started; Remaining estimates the time to the
	// last token at the current speed (previews and the final decode are not included).
	Elapsed, Remaining time.Duration
	// Preview, when not nil, holds one preview per image: the grid decoded with its
	// PreviewRows completed rows and every undecided row filled with a copy of the last
	// completed row (so the preview continues the picture downwards instead of showing an
	// arbitrary token). A caller can dim the image below PreviewRows*PreviewRowPixels.
	Preview          []*image.NRGBA
	PreviewRows      int
	PreviewRowPixels int
}

// ImageResult is the outcome of GenerateImages.
type ImageResult struct {
	// Images are the generated pictures, ImageSize×ImageSize RGB.
	Images []*image.NRGBA
	// Tokens holds each image's token grid, row-major (token k at row k/grid, column k%grid).
	Tokens [][]int32
	// Seed is the seed the draws used.
	Seed uint64
	// PromptTokens is the length of the templated prompt.
	PromptTokens int
	// Generate is the time of the token loop (with previews); Decode the final VQ decode.
	Generate, Decode time.Duration
}

// TokensPerSecond is the token loop's speed over all images.
func (r *ImageResult) TokensPerSecond() float64 {
	n := 0
	for _, t := range r.Tokens {
		n += len(t)
	}
	if r.Generate <= 0 {
		return 0
	}
	return float64(n) / r.Generate.Seconds()
}

// ErrNoGeneration is returned by the generation entry points of a model loaded with
// Options.SkipGeneration.
var ErrNoGeneration = errors.New("the model was loaded without its image generation networks")

// GenerateImages generates images of what description says, as the official generation
// script does (spec §9): the conditional and unconditional prompt rows m.Prompt builds for
// every image run through the language model together, each step mixes their gen_head logits
// with the CFG weight, samples one token per image, and feeds it back through gen_embed and
// gen_aligner; the token grids are then decoded by the VQ decoder. progress, when not nil, is
// called after every step. ctx stops the run between two steps (or two decoder stages).
func (m *Model) GenerateImages(ctx context.Context, description string, opts GenerateImageOptions, progress func(ImageProgress)) (*ImageResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.VQ == nil || m.GenHead == nil || m.GenAligner == nil || m.GenEmbed == nil {
		return nil, ErrNoGeneration
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.N == 0 {
		opts.N = 1
	}
	cond, uncond, err := m.Prompt.GenerationIDs(description)
	if err != nil {
		return nil, fmt.Errorf("generation prompt: %w", err)
	}
	g := &imageRun{m: m, opts: opts, cond: cond, uncond: uncond, progress: progress}
	start := time.Now()
	tokens, err := g.run(ctx)
	if err != nil {
		return nil, err
	}
	res := &ImageResult{Tokens: tokens, Seed: opts.Seed, PromptTokens: len(cond), Generate: time.Since(start)}
	start = time.Now()
	if res.Images, err = m.VQ.DecodeToImages(ctx, tokens, nil); err != nil {
		return nil, fmt.Errorf("decode images: %w", err)
	}
	res.Decode = time.Since(start)
	return res, m.Backend.Sync()
}

// imageRun is the state of one token loop.
type imageRun struct {
	m            *Model
	opts         GenerateImageOptions
	cond, uncond []int32
	progress     func(ImageProgress)
	// observe, when not nil, sees every step's raw gen_head logits [2N, V] (rows interleaved
	// conditional, unconditional) and the guided logits [N, V]; the golden tests use it.
	observe func(step int, raw, guided []float32)
	// previewTime is the time spent decoding previews, left out of the token speed.
	previewTime time.Duration
}

// run returns the token grids of the N images.
func (g *imageRun) run(ctx context.Context) ([][]int32, error) {
	m, be := g.m, g.m.Backend
	n, rows := g.opts.N, 2*g.opts.N
	cfg := m.Config
	total := cfg.VQ.ImageTokens
	vocab := cfg.GenHead.ImageTokenSize
	if m.VQ.Params().Tokens() != total {
		return nil, fmt.Errorf("the VQ decoder takes %d tokens per image but the config generates %d", m.VQ.Params().Tokens(), total)
	}
	if vocab > cfg.VQ.CodebookSize || vocab > cfg.GenEmbed.Size {
		return nil, fmt.Errorf("gen_head scores %d image tokens but the codebook has %d and gen_embed %d rows",
			vocab, cfg.VQ.CodebookSize, cfg.GenEmbed.Size)
	}
	l := len(g.cond)
	if limit := m.contextLimit; limit > 0 && l+total-1 > limit {
		return nil, fmt.Errorf("the prompt has %d tokens; with %d image tokens that exceeds the context of %d positions",
			l, total, limit)
	}

	samplers := make([]*sample.Sampler, n)
	for i := range samplers {
		s, err := sample.New(g.opts.sampling(), g.opts.Seed+uint64(i))
		if err != nil {
			return nil, err
		}
		samplers[i] = s
	}

	promptRows, err := prompt.CFGRows(g.cond, g.uncond, n)
	if err != nil {
		return nil, err
	}
	x, err := m.LLM.Embed(slices.Concat(promptRows...), rows)
	if err != nil {
		return nil, fmt.Errorf("embed the prompt: %w", err)
	}
	// The last token's embedding is never run, so the cache needs L + total - 1 positions.
	cache, err := m.LLM.NewCache(rows, l+total-1)
	if err != nil {
		be.Free(x)
		return nil, err
	}
	defer cache.Free()

	grids := make([][]int32, n)
	for i := range grids {
		grids[i] = make([]int32, 0, total)
	}
	raw := make([]float32, rows*vocab)
	guided := make([]float32, n*vocab)
	next := make([]int32, rows)
	genDim := cfg.GenEmbed.Dim
	grid := cfg.VQ.Grid
	w := float32(g.opts.CFG)
	start := time.Now()
	var firstStep time.Time
	for step := range total {
		if err := ctx.Err(); err != nil {
			be.Free(x)
			return nil, err
		}
		h, err := m.LLM.Forward(x, cache)
		be.Free(x)
		if err != nil {
			return nil, fmt.Errorf("image token %d: %w", step, err)
		}
		last := m.LLM.Last(h)
		be.Free(h)
		logits := m.GenHead.Forward(last)
		be.Free(last)
		err = be.Read(logits, raw)
		be.Free(logits)
		if err != nil {
			return nil, fmt.Errorf("image token %d: read logits: %w", step, err)
		}
		for i := range n {
			c, u, out := raw[2*i*vocab:(2*i+1)*vocab], raw[(2*i+1)*vocab:(2*i+2)*vocab], guided[i*vocab:(i+1)*vocab]
			for j := range out {
				// The explicit conversion keeps the product rounded to float32 as in torch
				// (no fused multiply-add).
				out[j] = u[j] + float32(w*(c[j]-u[j]))
			}
			tok := samplers[i].Next(out, nil)
			grids[i] = append(grids[i], tok)
			next[2*i], next[2*i+1] = tok, tok
		}
		if g.observe != nil {
			g.observe(step, raw, guided)
		}
		if step == 0 {
			firstStep = time.Now()
		}
		if step+1 < total {
			e := be.New(compute.F32, rows, 1, genDim)
			be.Embedding(be.Reshape(e, rows, genDim), m.GenEmbed, next)
			x = m.GenAligner.Forward(e)
			be.Free(e)
		}
		if g.progress != nil {
			if err := g.report(ctx, step+1, total, grid, grids, start, firstStep); err != nil {
				return nil, err
			}
		}
	}
	return grids, nil
}

// report calls the progress callback for step done, with a preview when one is due.
func (g *imageRun) report(ctx context.Context, done, total, grid int, grids [][]int32, start, firstStep time.Time) error {
	n := g.opts.N
	p := ImageProgress{Token: done, Tokens: total, Images: n, Elapsed: time.Since(start)}
	if done > 1 {
		perStep := (time.Since(firstStep) - g.previewTime).Seconds() / float64(done-1)
		p.TokensPerSecond = float64(n) / perStep
		p.Remaining = time.Duration(float64(total-done) * perStep * float64(time.Second))
	}
	if k := g.opts.PreviewEvery; k > 0 && done%grid == 0 && done < total && (done/grid)%k == 0 {
		t0 := time.Now()
		previews, err := g.preview(ctx, grids, done/grid, grid)
		g.previewTime += time.Since(t0)
		if err != nil {
			return err
		}
		p.Preview, p.PreviewRows = previews, done/grid
		p.PreviewRowPixels = g.m.VQ.Params().Downsample()
	}
	g.progress(p)
	return nil
}

// preview decodes the first rows completed rows of every grid, with each later row a copy
// of the last completed one.
func (g *imageRun) preview(ctx context.Context, grids [][]int32, rows, grid int) ([]*image.NRGBA, error) {
	filled := make([][]int32, len(grids))
	for i, t := range grids {
		f := make([]int32, grid*grid)
		copy(f, t[:rows*grid])
		lastRow := t[(rows-1)*grid : rows*grid]
		for r := rows; r < grid; r++ {
			copy(f[r*grid:(r+1)*grid], lastRow)
		}
		filled[i] = f
	}
	imgs, err := g.m.VQ.DecodeToImages(ctx, filled, nil)
	if err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	return imgs, nil
}
