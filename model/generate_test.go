package model

import (
	"context"
	"errors"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/imageproc"
	"github.com/janus-desktop/janus/model/vq/formulaweights"
)

// genGolden is what the generation tests read from a golden.json (the shared tiny-a one and
// the generated ones in testdata/generate).
type genGolden struct {
	Generation struct {
		Prompt         string                     `json:"prompt"`
		Conversation   []struct{ Content string } `json:"conversation"`
		PromptText     string                     `json:"prompt_text"`
		InputIDs       []int32                    `json:"input_ids"`
		UncondInputIDs []int32                    `json:"uncond_input_ids"`
		CFGWeight      float64                    `json:"cfg_weight"`
		ParallelSize   int                        `json:"parallel_size"`
		ImageTokens    [][]int32                  `json:"image_tokens"`
		PNG            []string                   `json:"png"`
		ImageU8Sum     []int64                    `json:"image_u8_sum"` // per image, the sum of its 8-bit RGB values
	} `json:"generation"`
	Files map[string]struct {
		File  string `json:"file"`
		Shape []int  `json:"shape"`
	} `json:"files"`
}

// genCase is a model with generation goldens.
type genCase struct {
	name   string
	m      *Model
	dir    string // the model folder
	golden string // folder of golden.json and the .bin files
	g      genGolden
	prompt string
}

func (c *genCase) bin(t testing.TB, name string) []float32 {
	t.Helper()
	f, ok := c.g.Files[name]
	if !ok {
		t.Fatalf("%s: golden %s missing from golden.json", c.name, name)
	}
	return fixtures.Float32s(t, filepath.Join(c.golden, f.File))
}

// genOptions loads on be, or on the default backend with two threads when be is nil.
func genOptions(t testing.TB, be compute.Backend) Options {
	if be == nil {
		be = defaultBackend(t, 2, "")
	}
	return Options{Backend: be}
}

// genTinyA loads tiny-a on be (nil: the default backend).
func genTinyA(t testing.TB, be compute.Backend) *genCase {
	t.Helper()
	dir := fixtures.Path(t, "models", "tiny-a")
	c := &genCase{name: "tiny-a", dir: dir, golden: fixtures.Path(t, "golden", "tiny-a")}
	fixtures.JSON(t, filepath.Join(c.golden, "golden.json"), &c.g)
	c.prompt = c.g.Generation.Conversation[0].Content
	m, err := Load(dir, genOptions(t, be))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	c.m = m
	return c
}

// genVariants are the generated models of testdata/generate and the checkpoint each is
// written as (the fixtures hold formulas, not weights).
var genVariants = []struct {
	name   string
	dtype  string // "" for formulaweights.WriteModel's BF16 safetensors
	format undFormat
}{
	{"gen-b", "", undSafetensors},
	{"gen-c", "", undSafetensors},
	{"gen-d", "", undSafetensors},
	{"gen-e", "F16", undPyTorch},
}

// genVariant loads one of the generated models of testdata/generate on the default backend.
func genVariant(t testing.TB, name string) *genCase { return genVariantOn(t, name, nil) }

// genVariantOn loads one of the generated models of testdata/generate on be (nil: the
// default backend).
func genVariantOn(t testing.TB, name string, be compute.Backend) *genCase {
	t.Helper()
	return genVariantWith(t, name, genOptions(t, be))
}

// genVariantWith loads one of the generated models of testdata/generate with opts.
func genVariantWith(t testing.TB, name string, opts Options) *genCase {
	t.Helper()
	src := filepath.Join("testdata", "generate", name)
	dir := t.TempDir()
	if err := formulaweights.WriteModel(dir, src); err != nil {
		t.Fatal(err)
	}
	for _, v := range genVariants {
		if v.name != name || v.dtype == "" {
			continue
		}
		// Replace the BF16 safetensors by the variant's own checkpoint.
		if err := os.Remove(filepath.Join(dir, "model.safetensors")); err != nil {
			t.Fatal(err)
		}
		ws, err := formulaweights.Read(filepath.Join(src, "weights.json"))
		if err != nil {
			t.Fatal(err)
		}
		writeUndCheckpoint(t, dir, ws, v.dtype, v.format)
	}
	c := &genCase{name: name, dir: dir, golden: src}
	fixtures.JSON(t, filepath.Join(src, "golden.json"), &c.g)
	c.prompt = c.g.Generation.Prompt
	m, err := Load(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	c.m = m
	return c
}

func genCases(t *testing.T, be compute.Backend) []*genCase {
	cases := []*genCase{}
	if _, ok := fixtures.Find("models", "tiny-a"); ok {
		cases = append(cases, genTinyA(t, be))
	}
	for _, v := range genVariants {
		cases = append(cases, genVariantOn(t, v.name, be))
	}
	return cases
}

// TestGenerateGolden runs greedy CFG generation on tiny-a and on the generated models of
// other shapes (Janus-1.3B prompts, 2 and 3 images in parallel, 1–3 VQ levels, a 10×10 grid
// from F16 weights in a PyTorch .bin) and compares
// every golden: prompt ids, step-0 logits of both rows, the guided logits of the first three
// steps, every image token, the decoded images and (tiny-a) the PNG, on every backend.
func TestGenerateGolden(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 2}, generateGolden)
}

func generateGolden(t *testing.T, be compute.Backend) {
	for _, c := range genCases(t, be) {
		t.Run(c.name, func(t *testing.T) {
			gen := c.g.Generation
			if got := c.m.Prompt.GenerationText(c.prompt); got != gen.PromptText {
				t.Fatalf("prompt text %q, want %q", got, gen.PromptText)
			}
			cond, uncond, err := c.m.Prompt.GenerationIDs(c.prompt)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cond, gen.InputIDs) || !slices.Equal(uncond, gen.UncondInputIDs) {
				t.Fatalf("prompt ids\n got %v / %v\nwant %v / %v", cond, uncond, gen.InputIDs, gen.UncondInputIDs)
			}

			opts := GenerateImageOptions{N: gen.ParallelSize, CFG: gen.CFGWeight}
			n := opts.N
			vocab := c.m.Config.GenHead.ImageTokenSize
			var step0Cond, step0Uncond, guided3 []float32
			g := &imageRun{m: c.m, opts: opts, cond: cond, uncond: uncond}
			g.observe = func(step int, raw, guided []float32) {
				if step == 0 {
					for i := range n {
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
			closeTo(t, "step-0 conditional logits", step0Cond, c.bin(t, "gen_step0_logits_cond"))
			closeTo(t, "step-0 unconditional logits", step0Uncond, c.bin(t, "gen_step0_logits_uncond"))
			closeTo(t, "guided logits of steps 0-2", guided3, c.bin(t, "gen_logits_cfg_first3"))
			for i := range gen.ImageTokens {
				if !slices.Equal(tokens[i], gen.ImageTokens[i]) {
					t.Fatalf("image %d tokens\n got %v\nwant %v", i, tokens[i], gen.ImageTokens[i])
				}
			}
			dec, err := c.m.VQ.Decode(context.Background(), tokens, nil)
			if err != nil {
				t.Fatal(err)
			}
			closeTo(t, "decoded images", dec, c.bin(t, "gen_decoded"))
			s := c.m.VQ.Params().ImageSize
			for i, name := range gen.PNG {
				img, err := imageproc.Postprocess(dec[i*3*s*s:(i+1)*3*s*s], s, s)
				if err != nil {
					t.Fatal(err)
				}
				fixtures.ComparePNG(t, img, filepath.Join(c.golden, name))
			}
			// The generated variants have no PNG; the 8-bit images' sums stand for it. A value
			// within the decode tolerance can round the other way (as ComparePNG allows), so
			// the sum may be off by a few, not by one in 64 values.
			for i, want := range gen.ImageU8Sum {
				img, err := imageproc.Postprocess(dec[i*3*s*s:(i+1)*3*s*s], s, s)
				if err != nil {
					t.Fatal(err)
				}
				var sum int64
				for p, v := range img.Pix {
					if p%4 != 3 { // RGB, not alpha
						sum += int64(v)
					}
				}
				if d := sum - want; d > int64(3*s*s/64) || -d > int64(3*s*s/64) {
					t.Errorf("image %d: 8-bit RGB sum %d, want %d", i, sum, want)
				}
			}
		})
	}
}

// TestGenerateImagesGreedy runs the public entry point greedily on a model with two images
// in parallel and checks tokens, images and the result's bookkeeping, on every backend.
func TestGenerateImagesGreedy(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 2}, generateImagesGreedy)
}

func generateImagesGreedy(t *testing.T, be compute.Backend) {
	c := genVariantOn(t, "gen-b", be)
	opts := DefaultImageOptions()
	opts.N, opts.Temperature = 2, 0
	res, err := c.m.GenerateImages(context.Background(), c.prompt, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Images) != 2 || len(res.Tokens) != 2 || res.PromptTokens != len(c.g.Generation.InputIDs) {
		t.Fatalf("%d images, %d grids, %d prompt tokens", len(res.Images), len(res.Tokens), res.PromptTokens)
	}
	for i := range res.Tokens {
		if !slices.Equal(res.Tokens[i], c.g.Generation.ImageTokens[i]) {
			t.Fatalf("image %d tokens differ from the golden", i)
		}
		if s := c.m.VQ.Params().ImageSize; res.Images[i].Bounds() != image.Rect(0, 0, s, s) {
			t.Fatalf("image %d is %v", i, res.Images[i].Bounds())
		}
	}
	if res.TokensPerSecond() <= 0 || res.Generate <= 0 || res.Decode <= 0 {
		t.Fatalf("timings: %v generate, %v decode, %.1f tokens/s", res.Generate, res.Decode, res.TokensPerSecond())
	}
}

// TestGenerateImagesSampling: sampling is reproducible from the seed, image i has its own
// stream (seed+i), and another seed gives other images.
func TestGenerateImagesSampling(t *testing.T) {
	c := genVariant(t, "gen-c")
	ctx := context.Background()
	run := func(n int, seed uint64, mod func(*GenerateImageOptions)) [][]int32 {
		t.Helper()
		opts := DefaultImageOptions()
		opts.N, opts.Seed = n, seed
		if mod != nil {
			mod(&opts)
		}
		g := &imageRun{m: c.m, opts: opts}
		var err error
		if g.cond, g.uncond, err = c.m.Prompt.GenerationIDs(c.prompt); err != nil {
			t.Fatal(err)
		}
		tokens, err := g.run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return tokens
	}
	a := run(2, 7, nil)
	if b := run(2, 7, nil); !slices.EqualFunc(a, b, slices.Equal) {
		t.Fatal("the same seed gave different tokens")
	}
	if slices.Equal(a[0], a[1]) {
		t.Fatal("the two images of one run have the same tokens: their random streams are not distinct")
	}
	if single := run(1, 8, nil); !slices.Equal(single[0], a[1]) {
		t.Fatalf("image 1 of seed 7 differs from image 0 of seed 8:\n%v\n%v", a[1], single[0])
	}
	if other := run(1, 1234, nil); slices.Equal(other[0], a[0]) {
		t.Fatal("another seed gave the same tokens")
	}
	topK1 := run(1, 99, func(o *GenerateImageOptions) { o.TopK = 1 })
	if !slices.Equal(topK1[0], c.g.Generation.ImageTokens[0]) {
		t.Fatal("top-k 1 sampling differs from greedy decoding")
	}
}

// TestGenerateImagesProgress checks the per-token reports and the previews.
func TestGenerateImagesProgress(t *testing.T) {
	c := genVariant(t, "gen-b")
	opts := DefaultImageOptions()
	opts.N, opts.PreviewEvery = 2, 3
	grid := c.m.Config.VQ.Grid
	var reports []ImageProgress
	if _, err := c.m.GenerateImages(context.Background(), c.prompt, opts, func(p ImageProgress) {
		reports = append(reports, p)
	}); err != nil {
		t.Fatal(err)
	}
	total := grid * grid
	// Then the decode: a report before it and one after each of its stages.
	stages := 2 * c.m.VQ.Stages()
	if len(reports) != total+1+stages {
		t.Fatalf("%d reports, want %d tokens, then %d decode stages and the start", len(reports), total, stages)
	}
	for i, p := range reports[total:] {
		if p.DecodeStage != i || p.DecodeStages != stages || p.Token != total || p.Tokens != total || p.Images != 2 || p.Preview != nil {
			t.Fatalf("decode report %d: %+v", i, p)
		}
	}
	reports = reports[:total]
	var previewRows []int
	for i, p := range reports {
		if p.Token != i+1 || p.Tokens != total || p.Images != 2 || p.DecodeStages != 0 {
			t.Fatalf("report %d: %+v", i, p)
		}
		if i > 0 && (p.TokensPerSecond <= 0 || p.Elapsed <= 0) {
			t.Fatalf("report %d has no speed: %+v", i, p)
		}
		if p.Preview != nil {
			previewRows = append(previewRows, p.PreviewRows)
			if len(p.Preview) != 2 || p.PreviewRows*grid != p.Token || p.PreviewRowPixels != c.m.VQ.Params().Downsample() {
				t.Fatalf("preview at token %d: %d images, %d rows of %d px", p.Token, len(p.Preview), p.PreviewRows, p.PreviewRowPixels)
			}
		}
	}
	// grid 8, every 3 rows: after rows 3 and 6 (not after the last row: the result follows)
	if !slices.Equal(previewRows, []int{3, 6}) {
		t.Fatalf("previews after rows %v, want [3 6]", previewRows)
	}
}

// TestPreviewFill: undecided rows repeat the last completed row.
func TestPreviewFill(t *testing.T) {
	c := genVariant(t, "gen-d")
	grid := c.m.Config.VQ.Grid
	tokens := make([]int32, 2*grid)
	for i := range tokens {
		tokens[i] = int32(i % 7)
	}
	want := make([]int32, grid*grid)
	copy(want, tokens)
	for r := 2; r < grid; r++ {
		copy(want[r*grid:], tokens[grid:2*grid])
	}
	g := &imageRun{m: c.m, opts: GenerateImageOptions{N: 1}}
	got, err := g.preview(context.Background(), [][]int32{tokens}, 2, grid)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := c.m.VQ.DecodeToImages(context.Background(), [][]int32{want}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got[0].Pix, ref[0].Pix) {
		t.Fatal("preview differs from the decode of the grid with the last row repeated")
	}
}

func TestGenerateImagesCancel(t *testing.T) {
	c := genVariant(t, "gen-b")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	last := 0
	_, err := c.m.GenerateImages(ctx, c.prompt, DefaultImageOptions(), func(p ImageProgress) {
		last = p.Token
		if p.Token == 5 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("GenerateImages after cancel = %v, want context.Canceled", err)
	}
	if last != 5 {
		t.Fatalf("generation went on to token %d after cancelling at 5", last)
	}
	// the model is usable afterwards
	opts := DefaultImageOptions()
	opts.Temperature = 0
	res, err := c.m.GenerateImages(context.Background(), c.prompt, opts, nil)
	if err != nil || !slices.Equal(res.Tokens[0], c.g.Generation.ImageTokens[0]) {
		t.Fatalf("generation after a cancelled one: %v", err)
	}
}

func TestGenerateImagesBadOptions(t *testing.T) {
	c := genVariant(t, "gen-d")
	tests := []struct {
		name string
		mod  func(*GenerateImageOptions)
		want string
	}{
		{"negative n", func(o *GenerateImageOptions) { o.N = -1 }, "negative"},
		{"too many", func(o *GenerateImageOptions) { o.N = MaxImages + 1 }, "exceeds"},
		{"negative temperature", func(o *GenerateImageOptions) { o.Temperature = -1 }, "temperature"},
		{"top-p above 1", func(o *GenerateImageOptions) { o.TopP = 1.5 }, "top-p"},
		{"negative top-k", func(o *GenerateImageOptions) { o.TopK = -2 }, "top-k"},
		{"negative preview", func(o *GenerateImageOptions) { o.PreviewEvery = -1 }, "preview"},
		{"cfg NaN", func(o *GenerateImageOptions) { o.CFG = math.NaN() }, "guidance NaN"},
		{"cfg infinite", func(o *GenerateImageOptions) { o.CFG = math.Inf(-1) }, "guidance -Inf"},
		{"cfg negative", func(o *GenerateImageOptions) { o.CFG = -1 }, "guidance -1 must be a number of 0 or more"},
		{"temperature NaN", func(o *GenerateImageOptions) { o.Temperature = math.NaN() }, "temperature"},
		{"top-p NaN", func(o *GenerateImageOptions) { o.TopP = math.NaN() }, "top-p"},
		{"zero value", func(o *GenerateImageOptions) { *o = GenerateImageOptions{} }, ""},
		{"most images", func(o *GenerateImageOptions) { o.N = MaxImages }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := DefaultImageOptions()
			tt.mod(&opts)
			// Validate needs no model; GenerateImages checks the same before running.
			err := opts.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.want)
			}
			if _, err := c.m.GenerateImages(context.Background(), c.prompt, opts, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("GenerateImages = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestGenerateImagesWithoutGeneration(t *testing.T) {
	m := genVariantWith(t, "gen-d", Options{SkipGeneration: true, Backend: defaultBackend(t, 1, "")}).m
	if _, err := m.GenerateImages(context.Background(), "x", DefaultImageOptions(), nil); !errors.Is(err, ErrNoGeneration) {
		t.Fatalf("GenerateImages = %v, want ErrNoGeneration", err)
	}
}

// TestGenerateWithoutUnderstanding: a model loaded for generation only (no ViT, aligner or
// lm_head) generates the golden tokens, and refuses a chat with ErrNoUnderstanding.
func TestGenerateWithoutUnderstanding(t *testing.T) {
	c := genVariantWith(t, "gen-b", Options{SkipUnderstanding: true, Backend: defaultBackend(t, 2, "")})
	m, g := c.m, c.g
	if m.Vision != nil || m.Aligner != nil || m.LLM.Head != nil {
		t.Fatal("the understanding networks were loaded")
	}
	opts := DefaultImageOptions()
	opts.Temperature = 0
	res, err := m.GenerateImages(context.Background(), g.Generation.Prompt, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Tokens[0], g.Generation.ImageTokens[0]) {
		t.Fatal("tokens differ from the golden")
	}
	if _, err := m.Understand(context.Background(), "what is this?", nil, AnswerOptions{}, nil); !errors.Is(err, ErrNoUnderstanding) {
		t.Fatalf("Understand = %v, want ErrNoUnderstanding", err)
	}
	if _, err := Load(c.dir, Options{SkipUnderstanding: true, SkipGeneration: true, Backend: defaultBackend(t, 0, "")}); err == nil {
		t.Fatal("Load skipping both tasks succeeded")
	}
}

func BenchmarkGenerateTinyA(b *testing.B) {
	c := genTinyA(b, nil)
	opts := DefaultImageOptions()
	opts.Temperature = 0
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.m.GenerateImages(ctx, c.prompt, opts, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLoadVQ loads the decoder alone and decodes a golden grid like the full model does.
func TestLoadVQ(t *testing.T) {
	src := filepath.Join("testdata", "generate", "gen-c")
	dir := t.TempDir()
	if err := formulaweights.WriteModel(dir, src); err != nil {
		t.Fatal(err)
	}
	var g genGolden
	fixtures.JSON(t, filepath.Join(src, "golden.json"), &g)
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, be compute.Backend) {
		d, err := LoadVQ(dir, Options{Backend: be})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Free()
		dec, err := d.Decode(context.Background(), g.Generation.ImageTokens, nil)
		if err != nil {
			t.Fatal(err)
		}
		closeTo(t, "decoded images", dec, fixtures.Float32s(t, filepath.Join(src, g.Files["gen_decoded"].File)))
	})
	// On a backend handed to it: the decoder owns it and Free closes it.
	opened := ownedBackend(t, 1)
	d, err := LoadVQ(dir, Options{Backend: opened, OwnBackend: true})
	if err != nil {
		t.Fatal(err)
	}
	if opened.closes != 0 {
		t.Fatalf("LoadVQ closed the backend of the decoder it returned")
	}
	d.Free()
	if opened.closes != 1 {
		t.Fatalf("Free closed the backend the decoder owned %d times, want once", opened.closes)
	}
	// A caller's backend stays open.
	be, err := compute.Open("auto", compute.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	caller := &closeCounter{Backend: be}
	if d, err = LoadVQ(dir, Options{Backend: caller}); err != nil {
		t.Fatal(err)
	}
	d.Free()
	if caller.closes != 0 {
		t.Fatalf("Free closed the caller's backend")
	}

	// The folder is checked before the backend is needed: no Backend still gets this error.
	if _, err := LoadVQ(t.TempDir(), Options{}); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Fatalf("LoadVQ of an empty folder = %v, want an error naming config.json", err)
	}
	opened = ownedBackend(t, 0)
	if _, err := LoadVQ(t.TempDir(), Options{Backend: opened, OwnBackend: true}); err == nil || opened.closes != 1 {
		t.Fatalf("LoadVQ of an empty folder = %v and closed the backend it owned %d times, want an error and once", err, opened.closes)
	}
	if _, err := LoadVQ(dir, Options{}); err == nil || !strings.Contains(err.Error(), "Options.Backend is nil") {
		t.Fatalf("LoadVQ without a backend = %v, want an error saying Options.Backend is nil", err)
	}
	if err := os.Remove(filepath.Join(dir, "model.safetensors")); err != nil {
		t.Fatal(err)
	}
	opened = ownedBackend(t, 0)
	if _, err := LoadVQ(dir, Options{Backend: opened, OwnBackend: true}); err == nil {
		t.Fatal("LoadVQ without weights succeeded")
	}
	if opened == nil || opened.closes != 1 {
		t.Fatalf("a failed LoadVQ closed the backend it owned %d times, want once", opened.closes)
	}
}

// longPrompt is a description of about n bytes (tiny-a's test vocabulary has one token per
// byte).
func longPrompt(n int) string {
	return strings.Repeat("a small red house by a lake, ", n/29+1)[:n]
}

// TestGeneratePrefillChunks: the prompt pass in chunks gives the logits of the pass in one
// piece, for chunks that divide the prompt, that do not, and the default. The prompt is just
// long enough for the default chunk of one image (512 positions) to split it.
func TestGeneratePrefillChunks(t *testing.T) {
	c := genTinyA(t, nil)
	cond, uncond, err := c.m.Prompt.GenerationIDs(longPrompt(600))
	if err != nil {
		t.Fatal(err)
	}
	step0 := func(chunk, n int) ([]float32, int) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var raw []float32
		chunks := 1
		g := &imageRun{m: c.m, opts: GenerateImageOptions{N: n, CFG: 5}, cond: cond, uncond: uncond, chunk: chunk}
		g.afterChunk = func(int, int) { chunks++ }
		g.observe = func(step int, r, _ []float32) {
			raw = slices.Clone(r)
			cancel() // step 0 is all this test needs
		}
		if _, err := g.run(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("run = %v, want the cancel after step 0", err)
		}
		return raw, chunks
	}
	whole, chunks := step0(len(cond), 1)
	if chunks != 1 {
		t.Fatalf("a chunk of the whole prompt ran as %d chunks", chunks)
	}
	tests := []struct {
		name       string
		chunk, n   int
		wantChunks int
	}{
		{"default", 0, 1, (len(cond) + 511) / 512},
		{"dividing", len(cond) / 4, 1, 4 + min(1, len(cond)%4)},
		{"odd", 333, 1, (len(cond) + 332) / 333},
		{"two images", 0, 2, (len(cond) + 255) / 256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantChunks < 2 {
				t.Fatalf("the %d-position prompt is too short to split", len(cond))
			}
			got, chunks := step0(tt.chunk, tt.n)
			if chunks != tt.wantChunks {
				t.Fatalf("%d chunks, want %d", chunks, tt.wantChunks)
			}
			for i := range tt.n {
				row := got[i*len(whole) : (i+1)*len(whole)] // image i's conditional and unconditional rows
				if ok, diff, _ := fixtures.Close(row, whole, 1e-5); !ok {
					t.Fatalf("image %d: step-0 logits differ from the unchunked pass by %g", i, diff)
				}
			}
		})
	}
}

// TestGenerateCancelInPrefill: a cancel during a long prompt pass stops it after the chunk
// that is running, and the model generates normally afterwards.
func TestGenerateCancelInPrefill(t *testing.T) {
	c := genTinyA(t, nil)
	cond, uncond, err := c.m.Prompt.GenerationIDs(longPrompt(1200))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var chunks []int
	var cancelled time.Time
	g := &imageRun{m: c.m, opts: GenerateImageOptions{N: 2, CFG: 5}, cond: cond, uncond: uncond}
	g.afterChunk = func(done, total int) {
		chunks = append(chunks, done)
		if len(chunks) == 1 {
			cancelled = time.Now()
			cancel()
		}
	}
	g.observe = func(int, []float32, []float32) { t.Fatal("a step ran after the cancel") }
	start := time.Now()
	_, err = g.run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run = %v, want context.Canceled", err)
	}
	// Two images are four rows: chunks of at most 256 positions, of equal length.
	if want := evenChunk(len(cond), 256); len(chunks) != 1 || chunks[0] != want || want > 256 {
		t.Fatalf("chunks done %v, want the first %d positions only", chunks, want)
	}
	t.Logf("%d prompt tokens: first chunk %v, cancel to return %v", len(cond), cancelled.Sub(start), time.Since(cancelled))

	opts := DefaultImageOptions()
	opts.Temperature = 0
	res, err := c.m.GenerateImages(context.Background(), c.prompt, opts, nil)
	if err != nil || !slices.Equal(res.Tokens[0], c.g.Generation.ImageTokens[0]) {
		t.Fatalf("generation after a cancelled prompt pass: %v", err)
	}
}

// TestEvenChunk checks the prompt chunks' length: as few chunks as the limit allows, of
// equal length but the last, which may be shorter, never over the limit.
func TestEvenChunk(t *testing.T) {
	for _, tt := range []struct{ n, limit, want int }{
		{1, 512, 1}, {512, 512, 512}, {513, 512, 257}, {630, 512, 315}, {1024, 512, 512},
		{1025, 512, 342}, {9, 4, 3}, {10, 4, 4}, {7, 1, 1}, {0, 512, 512},
	} {
		got := evenChunk(tt.n, tt.limit)
		if got != tt.want {
			t.Errorf("evenChunk(%d, %d) = %d, want %d", tt.n, tt.limit, got, tt.want)
		}
		if chunks := (tt.n + got - 1) / got; got > tt.limit || chunks != (tt.n+tt.limit-1)/tt.limit {
			t.Errorf("evenChunk(%d, %d) = %d: %d chunks, not the fewest", tt.n, tt.limit, got, chunks)
		}
	}
	if got := PrefillChunk(630); got != 315 {
		t.Errorf("a chat prefills 630 positions in chunks of %d, want 315", got)
	}
}
