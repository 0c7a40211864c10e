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
	"github.com/janus-desktop/janus/model/prompt"
)

// tinyAGolden is the part of golden/tiny-a/golden.json the understanding tests read.
type tinyAGolden struct {
	Preprocess struct {
		InputPNG string `json:"input_png"`
	} `json:"preprocess"`
	Understanding struct {
		PromptText   string  `json:"prompt_text"`
		InputIDs     []int32 `json:"input_ids"`
		GreedyTokens []int32 `json:"greedy_tokens"`
		GreedyText   string  `json:"greedy_text"`
	} `json:"understanding"`
}

type tinyA struct {
	m      *Model
	dir    string // golden folder
	g      tinyAGolden
	image  string // input PNG path
	prompt string // the question of the golden conversation
}

func loadTinyA(t testing.TB, opts Options) *tinyA {
	t.Helper()
	dir := fixtures.Path(t, "models", "tiny-a")
	gdir := fixtures.Path(t, "golden", "tiny-a")
	m, err := Load(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ta := &tinyA{m: m, dir: gdir, prompt: "Describe this image."}
	fixtures.JSON(t, filepath.Join(gdir, "golden.json"), &ta.g)
	ta.image = filepath.Join(gdir, filepath.FromSlash(ta.g.Preprocess.InputPNG))
	return ta
}

func readAll(t testing.TB, be compute.Backend, x *compute.Tensor) []float32 {
	t.Helper()
	out := make([]float32, x.Len())
	if err := be.Read(x, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func closeTo(t testing.TB, what string, got, want []float32) {
	t.Helper()
	if ok, diff, bound := fixtures.Close(got, want, 1e-4); !ok {
		t.Errorf("%s: max |diff| %.3g > %.3g (len %d vs %d)", what, diff, bound, len(got), len(want))
	}
}

// TestTinyAStages checks every stage of the understanding path against the goldens:
// preprocessing, vision tower, aligner, the templated and expanded prompt, and the input
// embeddings with the image rows spliced in.
func TestTinyAStages(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 2}, tinyAStages)
}

func tinyAStages(t *testing.T, be compute.Backend) {
	ta := loadTinyA(t, Options{Backend: be})
	m := ta.m
	img, err := m.ReadImage(ta.image)
	if err != nil {
		t.Fatal(err)
	}
	if want := fixtures.Float32s(t, filepath.Join(ta.dir, "pixel_values.bin")); !slices.Equal(img.pixels, want) {
		t.Fatal("pixel values differ from the golden (preprocessing should be bit-exact)")
	}
	px, err := m.Vision.Pixels(img.pixels)
	if err != nil {
		t.Fatal(err)
	}
	feats, err := m.Vision.Forward(context.Background(), px)
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "vision_features", readAll(t, be, feats), fixtures.Float32s(t, filepath.Join(ta.dir, "vision_features.bin")))
	aligned := m.Aligner.Forward(feats)
	closeTo(t, "aligner_features", readAll(t, be, aligned), fixtures.Float32s(t, filepath.Join(ta.dir, "aligner_features.bin")))

	c := m.NewChat()
	defer c.Close()
	msgs := []Message{{Text: ta.prompt, Images: []*Image{img}}, {Assistant: true}}
	text, err := m.Prompt.UnderstandingText([]prompt.Message{{Role: prompt.User, Text: ta.prompt, Images: 1}})
	if err != nil || text != ta.g.Understanding.PromptText {
		t.Errorf("prompt text\n got %q, %v\nwant %q", text, err, ta.g.Understanding.PromptText)
	}
	ids, slots, err := c.prompt(msgs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, ta.g.Understanding.InputIDs) {
		t.Fatalf("input ids\n got %v\nwant %v", ids, ta.g.Understanding.InputIDs)
	}
	// The embeddings the prefill sees: text rows from embed_tokens, image rows from the aligner.
	if _, err := c.encodeImages(context.Background(), slots); err != nil {
		t.Fatal(err)
	}
	x, err := m.LLM.Embed(ids, 1)
	if err != nil {
		t.Fatal(err)
	}
	first := slices.IndexFunc(slots, func(s slot) bool { return s.img != nil })
	be.CopyRows(x, first, c.features[img], 0, m.Config.Vision.Tokens)
	closeTo(t, "und_inputs_embeds", readAll(t, be, x), fixtures.Float32s(t, filepath.Join(ta.dir, "und_inputs_embeds.bin")))
}

// TestTinyAGreedy runs the whole understanding turn through the public API and compares
// every step's logits, the tokens and the streamed text with the goldens.
func TestTinyAGreedy(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 2}, tinyAGreedy)
}

func tinyAGreedy(t *testing.T, be compute.Backend) {
	ta := loadTinyA(t, Options{Backend: be})
	m := ta.m
	img, err := m.ReadImage(ta.image)
	if err != nil {
		t.Fatal(err)
	}
	steps := fixtures.Float32s(t, filepath.Join(ta.dir, "und_step_logits.bin"))
	vocab := m.Config.LLM.Vocab
	if last := fixtures.Float32s(t, filepath.Join(ta.dir, "und_last_logits.bin")); !slices.Equal(last, steps[:vocab]) {
		t.Fatal("golden und_last_logits is not row 0 of und_step_logits")
	}
	c := m.NewChat()
	defer c.Close()
	step := 0
	c.onLogits = func(l []float32) {
		if step < len(steps)/vocab {
			closeTo(t, fmt.Sprintf("und_step_logits row %d", step), l, steps[step*vocab:(step+1)*vocab])
		}
		step++
	}
	var streamed strings.Builder
	res, err := c.Reply(context.Background(), ta.prompt, []*Image{img}, AnswerOptions{MaxNewTokens: 16},
		func(s string) { streamed.WriteString(s) })
	if err != nil {
		t.Fatal(err)
	}
	u := ta.g.Understanding
	if !slices.Equal(res.Tokens, u.GreedyTokens) {
		t.Errorf("tokens %v, want %v", res.Tokens, u.GreedyTokens)
	}
	if res.Text != u.GreedyText || streamed.String() != u.GreedyText {
		t.Errorf("text %q, streamed %q, want %q", res.Text, streamed.String(), u.GreedyText)
	}
	if res.PromptTokens != len(u.InputIDs) || res.FinishReason != FinishLength || res.ImagesEncoded != 1 || step != 16 {
		t.Errorf("prompt tokens %d (want %d), finish %q, images %d, steps %d",
			res.PromptTokens, len(u.InputIDs), res.FinishReason, res.ImagesEncoded, step)
	}
}

// BenchmarkUnderstandTinyA times one understanding turn on tiny-a (vision tower, prefill of
// 235 positions, 16 greedy tokens) and reports the decoding speed.
func BenchmarkUnderstandTinyA(b *testing.B) {
	ta := loadTinyA(b, Options{Backend: defaultBackend(b, 0, "")})
	img, err := ta.m.ReadImage(ta.image)
	if err != nil {
		b.Fatal(err)
	}
	var decode, prefill float64
	var tokens int
	for b.Loop() {
		res, err := ta.m.Understand(context.Background(), ta.prompt, []*Image{img}, AnswerOptions{MaxNewTokens: 16}, nil)
		if err != nil {
			b.Fatal(err)
		}
		decode += res.Decode.Seconds()
		prefill += res.Prefill.Seconds()
		tokens += len(res.Tokens) - 1
	}
	b.ReportMetric(float64(tokens)/decode, "tokens/s")
	b.ReportMetric(prefill/float64(b.N)*1e3, "prefill-ms")
}

// TestAnswerOptionsValidate checks the options a command line can check before loading a
// model, and that Reply refuses the same ones.
func TestAnswerOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts AnswerOptions
		want string // part of the error; empty when valid
	}{
		{"zero value is greedy", AnswerOptions{}, ""},
		{"demo settings", AnswerOptions{Temperature: 0.1, TopP: 0.95, MaxNewTokens: 512}, ""},
		{"negative max tokens", AnswerOptions{MaxNewTokens: -1}, "max new tokens"},
		{"infinite temperature", AnswerOptions{Temperature: math.Inf(1)}, "temperature"},
		{"top-p above one", AnswerOptions{Temperature: 1, TopP: 1.5}, "top-p"},
		{"negative top-k", AnswerOptions{Temperature: 1, TopK: -1}, "top-k"},
		{"negative penalty", AnswerOptions{RepetitionPenalty: -2}, "repetition penalty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want an error about %s", err, tt.want)
			}
			// Reply fails before it needs the model.
			c := (&Model{}).NewChat()
			if _, err := c.Reply(context.Background(), "hi", nil, tt.opts, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Reply = %v, want an error about %s", err, tt.want)
			}
		})
	}
}
