package model

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/checkpoint/checkpointtest"
	"github.com/janus-desktop/janus/model/llm"
	"github.com/janus-desktop/janus/model/prompt"
	"github.com/janus-desktop/janus/model/vq/formulaweights"
)

// The variants in testdata/understand are tiny models in shapes tiny-a does not cover, each
// with a two-turn greedy chat computed by the PyTorch reference (see the README there).
// Their weights are a formula (the format of model/vq/formulaweights), written here into a
// real checkpoint file in the variant's dtype and a chosen container.

type undGolden struct {
	WeightsDType string   `json:"weights_dtype"`
	Images       []string `json:"images"`
	Turns        []struct {
		Images       []string `json:"images"`
		Question     string   `json:"question"`
		MaxNewTokens int      `json:"max_new_tokens"`
		PromptText   string   `json:"prompt_text"`
		InputIDs     []int32  `json:"input_ids"`
		Tokens       []int32  `json:"tokens"`
		Text         string   `json:"text"`
		EOS          bool     `json:"eos"`
	} `json:"turns"`
}

// undF16 converts a float32 that F16 represents exactly (the formula guarantees it).
func undF16(f float32) uint16 {
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	a := math.Abs(float64(f))
	switch {
	case a == 0:
		return sign
	case a < 1.0/16384: // subnormal: a multiple of 2^-24
		return sign | uint16(a*(1<<24))
	}
	exp := int(bits>>23&0xff) - 127 + 15
	return sign | uint16(exp)<<10 | uint16(bits>>13&0x3ff)
}

func undEncode(vals []float32, dt checkpoint.DType) []byte {
	out := make([]byte, len(vals)*dt.Size())
	for i, v := range vals {
		switch dt {
		case checkpoint.F32:
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		case checkpoint.BF16:
			binary.LittleEndian.PutUint16(out[2*i:], uint16(math.Float32bits(v)>>16))
		case checkpoint.F16:
			binary.LittleEndian.PutUint16(out[2*i:], undF16(v))
		}
	}
	return out
}

type undFormat int

const (
	undSafetensors undFormat = iota
	undSharded
	undPyTorch
)

// undModel copies the variant's model files into a temporary folder and writes its weights
// there in the golden's dtype and the given container.
func undModel(t testing.TB, variant string, format undFormat) (string, undGolden) {
	t.Helper()
	src := filepath.Join("testdata", "understand", variant)
	var g undGolden
	fixtures.JSON(t, filepath.Join(src, "golden.json"), &g)
	ws, err := formulaweights.Read(filepath.Join(src, "weights.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []string{"config.json", "preprocessor_config.json", "processor_config.json",
		"special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeUndCheckpoint(t, dir, ws, g.WeightsDType, format)
	return dir, g
}

// writeUndCheckpoint writes the formula weights ws into dir as dtype in the given container.
func writeUndCheckpoint(t testing.TB, dir string, ws []formulaweights.Spec, dtype string, format undFormat) {
	t.Helper()
	dt := checkpoint.DType(dtype)
	tensors := make([]checkpointtest.Tensor, len(ws))
	for i, w := range ws {
		tensors[i] = checkpointtest.Tensor{Name: w.Name, DType: dt, Shape: w.Shape, Data: undEncode(w.Values(), dt)}
	}
	var err error
	switch format {
	case undSafetensors:
		err = checkpointtest.WriteSafetensors(filepath.Join(dir, "model.safetensors"), tensors, checkpointtest.Options{})
	case undSharded:
		_, err = checkpointtest.WriteSharded(dir, checkpointtest.Safetensors, tensors, 2, checkpointtest.Options{})
	case undPyTorch:
		err = checkpointtest.WritePyTorchZip(filepath.Join(dir, "pytorch_model.bin"), tensors, checkpointtest.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
}

var undVariants = []struct {
	name   string
	format undFormat
}{
	{"und-gqa", undSharded},
	{"und-13b", undPyTorch},
	{"und-f32", undSafetensors},
}

// TestVariantChats runs each variant's two-turn chat and checks every stage against the
// reference: vision and aligner features of all images, the templated and tokenized prompt
// of each turn, every step's logits, tokens and text; and that the second turn reused the
// first turn's KV cache and image features instead of recomputing them.
func TestVariantChats(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 2}, variantChats)
}

func variantChats(t *testing.T, be compute.Backend) {
	for _, v := range undVariants {
		t.Run(v.name, func(t *testing.T) {
			dir, g := undModel(t, v.name, v.format)
			m, err := Load(dir, Options{Backend: be})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			gdir := filepath.Join("testdata", "understand", v.name)
			images := map[string]*Image{}
			for _, name := range g.Images {
				if images[name], err = m.ReadImage(filepath.Join("testdata", "understand", "inputs", name+".png")); err != nil {
					t.Fatal(err)
				}
			}

			// Stage goldens for every image of the conversation, in order, as one batch.
			var pixels [][]float32
			for _, name := range g.Images {
				pixels = append(pixels, images[name].pixels)
			}
			px, err := m.Vision.Pixels(pixels...)
			if err != nil {
				t.Fatal(err)
			}
			feats, err := m.Vision.Forward(context.Background(), px)
			if err != nil {
				t.Fatal(err)
			}
			closeTo(t, "vision_features", readAll(t, m.Backend, feats), fixtures.Float32s(t, filepath.Join(gdir, "vision_features.bin")))
			closeTo(t, "aligner_features", readAll(t, m.Backend, m.Aligner.Forward(feats)), fixtures.Float32s(t, filepath.Join(gdir, "aligner_features.bin")))

			c := m.NewChat()
			defer c.Close()
			vocab := m.Config.LLM.Vocab
			encoded := 0
			for i, turn := range g.Turns {
				var imgs []*Image
				for _, name := range turn.Images {
					imgs = append(imgs, images[name])
				}
				msgs := append(c.History(), Message{Text: turn.Question, Images: imgs}, Message{Assistant: true})
				ids, _, err := c.prompt(msgs)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids, turn.InputIDs) {
					t.Fatalf("turn %d: input ids\n got %v\nwant %v", i, ids, turn.InputIDs)
				}
				steps := fixtures.Float32s(t, filepath.Join(gdir, fmt.Sprintf("turn%d_step_logits.bin", i)))
				step := 0
				c.onLogits = func(l []float32) {
					if (step+1)*vocab <= len(steps) {
						closeTo(t, fmt.Sprintf("turn %d step %d logits", i, step), l, steps[step*vocab:(step+1)*vocab])
					}
					step++
				}
				before := c.Stats()
				var streamed strings.Builder
				res, err := c.Reply(context.Background(), turn.Question, imgs, AnswerOptions{MaxNewTokens: turn.MaxNewTokens},
					func(s string) { streamed.WriteString(s) })
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(res.Tokens, turn.Tokens) || res.Text != turn.Text || streamed.String() != turn.Text {
					t.Errorf("turn %d: tokens %v text %q streamed %q, want %v %q", i, res.Tokens, res.Text, streamed.String(), turn.Tokens, turn.Text)
				}
				if (res.FinishReason == FinishEOS) != turn.EOS {
					t.Errorf("turn %d: finish %q, golden eos %v", i, res.FinishReason, turn.EOS)
				}
				// Work done: only new images through the vision tower, only the new suffix
				// of the prompt through the LLM.
				after := c.Stats()
				encoded += len(turn.Images)
				if res.ImagesEncoded != len(turn.Images) || after.ImagesEncoded != encoded {
					t.Errorf("turn %d: encoded %d images (chat total %d), want %d (%d)", i, res.ImagesEncoded, after.ImagesEncoded, len(turn.Images), encoded)
				}
				if got := after.PrefilledTokens - before.PrefilledTokens; got != res.PromptTokens-res.ReusedTokens {
					t.Errorf("turn %d: prefilled %d positions, want %d - %d reused", i, got, res.PromptTokens, res.ReusedTokens)
				}
				if i > 0 && res.ReusedTokens < len(g.Turns[i-1].InputIDs) {
					t.Errorf("turn %d reused %d positions, want at least the previous prompt's %d", i, res.ReusedTokens, len(g.Turns[i-1].InputIDs))
				}
			}
		})
	}
}

// tinyAChat prepares tiny-a, its golden image and a chat.
func tinyAChat(t *testing.T, opts Options) (*tinyA, *Image) {
	t.Helper()
	ta := loadTinyA(t, opts)
	img, err := ta.m.ReadImage(ta.image)
	if err != nil {
		t.Fatal(err)
	}
	return ta, img
}

// TestChatStops checks each way an answer ends early: cancellation (within one step, the
// history unchanged and the chat still usable), EOS, and a full context window.
func TestChatStops(t *testing.T) {
	ta, img := tinyAChat(t, Options{Backend: defaultBackend(t, 2, ""), ContextLimit: 240})
	m, u := ta.m, ta.g.Understanding
	greedy := AnswerOptions{MaxNewTokens: 16}

	t.Run("cancel", func(t *testing.T) {
		c := m.NewChat()
		defer c.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		step := 0
		c.onLogits = func([]float32) {
			if step == 2 {
				cancel()
			}
			step++
		}
		res, err := c.Reply(ctx, ta.prompt, []*Image{img}, greedy, nil)
		if !errors.Is(err, context.Canceled) || len(res.Tokens) != 3 || len(c.History()) != 0 {
			t.Fatalf("err %v after %d tokens, history %d; want Canceled after 3 tokens, empty history", err, len(res.Tokens), len(c.History()))
		}
		c.onLogits = nil
		res, err = c.Reply(context.Background(), ta.prompt, []*Image{img}, AnswerOptions{MaxNewTokens: 5}, nil)
		if err != nil || !slices.Equal(res.Tokens, u.GreedyTokens[:5]) {
			t.Errorf("after a cancelled turn: %v, tokens %v, want %v", err, res.Tokens, u.GreedyTokens[:5])
		}
		if res.ImagesEncoded != 0 || res.ReusedTokens != res.PromptTokens-1 {
			t.Errorf("retry encoded %d images and reused %d of %d positions, want 0 and all but the last", res.ImagesEncoded, res.ReusedTokens, res.PromptTokens)
		}
	})

	t.Run("eos", func(t *testing.T) {
		c := m.NewChat()
		defer c.Close()
		step := 0
		c.onLogits = func(l []float32) {
			if step == 2 {
				l[m.eos] = 1e9
			}
			step++
		}
		var streamed strings.Builder
		res, err := c.Reply(context.Background(), ta.prompt, []*Image{img}, greedy, func(s string) { streamed.WriteString(s) })
		if err != nil {
			t.Fatal(err)
		}
		want := append(slices.Clone(u.GreedyTokens[:2]), m.eos)
		if !slices.Equal(res.Tokens, want) || res.FinishReason != FinishEOS {
			t.Errorf("tokens %v finish %q, want %v eos", res.Tokens, res.FinishReason, want)
		}
		text := m.Tokenizer.Decode(u.GreedyTokens[:2], true)
		if res.Text != text || streamed.String() != text {
			t.Errorf("text %q streamed %q, want %q", res.Text, streamed.String(), text)
		}
		if h := c.History(); len(h) != 2 || h[1].Text != text || !h[1].Assistant {
			t.Errorf("history %+v", h)
		}
	})

	t.Run("context window", func(t *testing.T) {
		c := m.NewChat()
		defer c.Close()
		// 235 prompt positions leave 5 for fed tokens: 6 tokens in all.
		res, err := c.Reply(context.Background(), ta.prompt, []*Image{img}, greedy, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Tokens, u.GreedyTokens[:6]) || res.FinishReason != FinishContext {
			t.Errorf("tokens %v finish %q, want %v context", res.Tokens, res.FinishReason, u.GreedyTokens[:6])
		}
		_, err = c.Reply(context.Background(), "And now?", nil, greedy, nil)
		if !errors.Is(err, ErrContextFull) {
			t.Fatalf("second turn: error %v, want ErrContextFull", err)
		}
		var ce *ContextError
		if !errors.As(err, &ce) || ce.Window != 240 || ce.PromptTokens <= ce.Window || strings.Contains(err.Error(), "chat") {
			t.Errorf("second turn: %v (%+v), want a ContextError with the numbers and no advice", err, ce)
		}
		c.TrimHistory = true
		res, err = c.Reply(context.Background(), "And now?", nil, greedy, nil)
		if err != nil {
			t.Fatalf("with TrimHistory: %v", err)
		}
		if h := c.History(); len(h) != 2 || h[0].Text != "And now?" {
			t.Errorf("history after trimming: %+v", h)
		}
	})
}

func TestChatSampling(t *testing.T) {
	ta, img := tinyAChat(t, Options{Backend: defaultBackend(t, 2, "")})
	run := func(seed uint64) []int32 {
		c := ta.m.NewChat()
		defer c.Close()
		res, err := c.Reply(context.Background(), ta.prompt, []*Image{img},
			AnswerOptions{MaxNewTokens: 12, Temperature: 1.5, Seed: seed}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res.Tokens
	}
	a, b, other := run(3), run(3), run(4)
	if !slices.Equal(a, b) {
		t.Errorf("seed 3 gave %v then %v", a, b)
	}
	if slices.Equal(a, other) {
		t.Errorf("seeds 3 and 4 gave the same 12 sampled tokens %v", a)
	}
	if slices.Equal(a, ta.g.Understanding.GreedyTokens[:12]) {
		t.Errorf("temperature 1.5 gave the greedy answer")
	}
}

func TestChatRejects(t *testing.T) {
	ta, img := tinyAChat(t, Options{Backend: defaultBackend(t, 1, "")})
	foreign := &Image{pixels: make([]float32, 10)}
	tests := []struct {
		name     string
		question string
		images   []*Image
		opts     AnswerOptions
	}{
		{"image tag in the text", "look: <image_placeholder>", []*Image{img}, AnswerOptions{}},
		{"image of another size", "hi", []*Image{foreign}, AnswerOptions{}},
		{"nil image", "hi", []*Image{nil}, AnswerOptions{}},
		{"negative max tokens", "hi", nil, AnswerOptions{MaxNewTokens: -1}},
		{"bad top-p", "hi", nil, AnswerOptions{Temperature: 1, TopP: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ta.m.NewChat()
			defer c.Close()
			if _, err := c.Reply(context.Background(), tt.question, tt.images, tt.opts, nil); err == nil {
				t.Error("no error")
			}
			if len(c.History()) != 0 {
				t.Error("a rejected turn joined the history")
			}
		})
	}
}

// TestChatReset checks that a reset chat answers like a new one while reusing the cached
// system prompt.
func TestChatReset(t *testing.T) {
	ta, img := tinyAChat(t, Options{Backend: defaultBackend(t, 2, "")})
	c := ta.m.NewChat()
	defer c.Close()
	opts := AnswerOptions{MaxNewTokens: 4}
	if _, err := c.Reply(context.Background(), "Hello there.", nil, opts, nil); err != nil {
		t.Fatal(err)
	}
	c.Reset()
	res, err := c.Reply(context.Background(), ta.prompt, []*Image{img}, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Tokens, ta.g.Understanding.GreedyTokens[:4]) {
		t.Errorf("tokens %v, want %v", res.Tokens, ta.g.Understanding.GreedyTokens[:4])
	}
	system := len(ta.m.Tokenizer.Encode(prompt.DefaultSystemPrompt, true))
	if res.ReusedTokens < system || len(c.History()) != 2 {
		t.Errorf("reused %d positions (system prompt %d), history %d messages", res.ReusedTokens, system, len(c.History()))
	}
}

// TestChatFromHistory continues each variant's chat from its first turn, given as history:
// the second answer must equal the reference's, with every image encoded and nothing reused.
func TestChatFromHistory(t *testing.T) {
	for _, v := range undVariants {
		t.Run(v.name, func(t *testing.T) {
			dir, g := undModel(t, v.name, v.format)
			m, err := Load(dir, Options{Backend: defaultBackend(t, 2, ""), SkipGeneration: true})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			load := func(names []string) []*Image {
				var out []*Image
				for _, name := range names {
					img, err := m.ReadImage(filepath.Join("testdata", "understand", "inputs", name+".png"))
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, img)
				}
				return out
			}
			t0, t1 := g.Turns[0], g.Turns[1]
			c, err := m.NewChatFrom([]Message{{Text: t0.Question, Images: load(t0.Images)}, {Assistant: true, Text: t0.Text}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			res, err := c.Reply(context.Background(), t1.Question, load(t1.Images), AnswerOptions{MaxNewTokens: t1.MaxNewTokens}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Tokens, t1.Tokens) || res.PromptTokens != len(t1.InputIDs) {
				t.Errorf("tokens %v of a %d-token prompt, want %v of %d", res.Tokens, res.PromptTokens, t1.Tokens, len(t1.InputIDs))
			}
			if res.ImagesEncoded != len(g.Images) || res.ReusedTokens != 0 {
				t.Errorf("encoded %d images, reused %d positions; want %d and 0", res.ImagesEncoded, res.ReusedTokens, len(g.Images))
			}
		})
	}
	m := &Model{}
	for _, bad := range [][]Message{
		{{Text: "q"}},
		{{Assistant: true, Text: "a"}, {Text: "q"}},
		{{Text: "q"}, {Assistant: true, Text: "a", Images: []*Image{{}}}},
		{{Text: "q", Images: []*Image{nil}}, {Assistant: true}},
	} {
		if _, err := m.NewChatFrom(bad); err == nil {
			t.Errorf("history %+v accepted", bad)
		}
	}
}

// TestChatPromptPrefixes checks what the KV-cache reuse relies on: appending a turn to a
// conversation leaves the ids (and image slots) of the earlier turns unchanged, so each
// turn's prompt is a prefix of the next one's, for Janus-Pro role tokens (tiny-a) and
// Janus-1.3B plain-text roles (und-13b), with answers the template strips or that start with
// punctuation. A conversation ending with the question builds the same prompt as one ending
// with an empty assistant message.
func TestChatPromptPrefixes(t *testing.T) {
	und13b, _ := undModel(t, "und-13b", undPyTorch)
	models := []struct {
		name, dir string
	}{
		{"janus-pro roles", fixtures.Path(t, "models", "tiny-a")},
		{"janus-1.3b roles", und13b},
	}
	turns := []struct {
		question, answer string
		images           []string
	}{
		{"Describe this image.", "A red square.", []string{"square"}},
		{"And these?", "  spaced out \n\n", []string{"wide", "tall"}},
		{"Really?", "", nil},
		{"Why?", "...?! Because.", nil},
		{"  ", "line one\nline two", []string{"square"}},
		{"Numbers?", "\x1cÜnïcödé 数字 123\x1f", nil},
		{"Last one.", "ok", nil},
	}
	for _, mc := range models {
		t.Run(mc.name, func(t *testing.T) {
			m, err := Load(mc.dir, Options{Backend: defaultBackend(t, 1, ""), SkipGeneration: true})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			images := map[string]*Image{}
			for _, name := range []string{"square", "wide", "tall"} {
				if images[name], err = m.ReadImage(filepath.Join("testdata", "understand", "inputs", name+".png")); err != nil {
					t.Fatal(err)
				}
			}
			c := m.NewChat()
			defer c.Close()
			var history []Message
			var prevIDs []int32
			var prevSlots []slot
			for i, turn := range turns {
				var imgs []*Image
				for _, name := range turn.images {
					imgs = append(imgs, images[name])
				}
				question := Message{Text: turn.question, Images: imgs}
				ids, slots, err := c.prompt(append(slices.Clone(history), question))
				if err != nil {
					t.Fatal(err)
				}
				open, openSlots, err := c.prompt(append(slices.Clone(history), question, Message{Assistant: true}))
				if err != nil || !slices.Equal(ids, open) || !slices.Equal(slots, openSlots) {
					t.Fatalf("turn %d: the prompt differs with an explicit empty assistant message (%v)", i, err)
				}
				if len(ids) <= len(prevIDs) || !slices.Equal(ids[:len(prevIDs)], prevIDs) || !slices.Equal(slots[:len(prevSlots)], prevSlots) {
					t.Fatalf("turn %d: the previous prompt (%d ids) is not a prefix of this one (%d ids):\n%v\n%v",
						i, len(prevIDs), len(ids), prevIDs, ids)
				}
				images := 0
				for _, s := range slots {
					if s.img != nil && s.k == 0 {
						images++
					}
				}
				if want := countImages(history) + len(imgs); images != want {
					t.Errorf("turn %d: %d images in the slots, want %d", i, images, want)
				}
				prevIDs, prevSlots = ids, slots
				history = append(history, question, Message{Assistant: true, Text: turn.answer})
			}
		})
	}
}

func countImages(msgs []Message) int {
	n := 0
	for _, m := range msgs {
		n += len(m.Images)
	}
	return n
}

// TestChatReuse runs three turns on tiny-a and checks that each Reply reuses exactly the
// longest common prefix of what the KV cache holds (the previous prompt and the answer
// tokens fed back) and the new prompt, which covers at least the whole previous prompt.
func TestChatReuse(t *testing.T) {
	ta, img := tinyAChat(t, Options{Backend: defaultBackend(t, 2, "")})
	m := ta.m
	wide, err := m.ReadImage(filepath.Join("testdata", "understand", "inputs", "wide.png"))
	if err != nil {
		t.Fatal(err)
	}
	c := m.NewChat()
	defer c.Close()
	var cached []slot
	prevPrompt := 0
	for i, turn := range []struct {
		question string
		images   []*Image
	}{
		{ta.prompt, []*Image{img}},
		{"And this one?", []*Image{wide}},
		{"Thanks.", nil},
	} {
		ids, slots, err := c.prompt(append(c.History(), Message{Text: turn.question, Images: turn.images}))
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for want < len(cached) && want < len(slots) && cached[want] == slots[want] {
			want++
		}
		want = min(want, len(ids)-1)
		res, err := c.Reply(context.Background(), turn.question, turn.images, AnswerOptions{MaxNewTokens: 4}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.PromptTokens != len(ids) || res.ReusedTokens != want {
			t.Errorf("turn %d: reused %d of %d positions, want %d of %d", i, res.ReusedTokens, res.PromptTokens, want, len(ids))
		}
		if res.ReusedTokens < prevPrompt {
			t.Errorf("turn %d: reused %d positions, less than the previous prompt's %d", i, res.ReusedTokens, prevPrompt)
		}
		t.Logf("turn %d: reused %d of %d positions (previous prompt %d, answer %v)", i, res.ReusedTokens, len(ids), prevPrompt, res.Tokens)
		prevPrompt = len(ids)
		// The cache now holds the prompt and every answer token but the last (never fed).
		cached = slots
		for _, tok := range res.Tokens[:len(res.Tokens)-1] {
			cached = append(cached, slot{id: tok})
		}
	}
}

// TestChatTrimFreesFeatures checks that the image features of turns TrimHistory drops are
// released with them, and that an image still in the history keeps its features.
func TestChatTrimFreesFeatures(t *testing.T) {
	ta, img := tinyAChat(t, Options{Backend: defaultBackend(t, 2, ""), ContextLimit: 260})
	m := ta.m
	wide, err := m.ReadImage(filepath.Join("testdata", "understand", "inputs", "wide.png"))
	if err != nil {
		t.Fatal(err)
	}
	c := m.NewChat()
	defer c.Close()
	c.TrimHistory = true
	opts := AnswerOptions{MaxNewTokens: 4}
	turns := []struct {
		question string
		images   []*Image
		history  int      // messages after the turn: 2 when the earlier turns were dropped
		encoded  int      // images the turn runs through the vision tower
		kept     []*Image // images with features afterwards
	}{
		{ta.prompt, []*Image{img}, 2, 1, []*Image{img}},
		{"And this one?", []*Image{wide}, 2, 1, []*Image{wide}},
		{"Short.", nil, 4, 0, []*Image{wide}},
		{"And the first again?", []*Image{img}, 4, 1, []*Image{img}},
	}
	for i, turn := range turns {
		before := map[*Image]*compute.Tensor{}
		for k, v := range c.features {
			before[k] = v
		}
		res, err := c.Reply(context.Background(), turn.question, turn.images, opts, nil)
		if err != nil {
			t.Fatalf("turn %d: %v", i, err)
		}
		if h := len(c.History()); h != turn.history || res.ImagesEncoded != turn.encoded {
			t.Fatalf("turn %d: history %d messages, %d images encoded; want %d and %d (prompt %d of %d positions)",
				i, h, res.ImagesEncoded, turn.history, turn.encoded, res.PromptTokens, m.ContextLimit())
		}
		if len(c.features) != len(turn.kept) {
			t.Errorf("turn %d: features of %d images kept, want %d", i, len(c.features), len(turn.kept))
		}
		for _, k := range turn.kept {
			if c.features[k] == nil {
				t.Errorf("turn %d: an image of the history lost its features", i)
			}
		}
		for k, f := range before {
			if c.features[k] == nil && f.Buf != nil {
				t.Errorf("turn %d: the features of a dropped image were not freed", i)
			}
		}
	}
}

// A long answer length does not allocate its cache up front: the cache holds the prompt and
// answerRoom positions and grows as an answer goes past them, with the same tokens.
func TestChatCacheGrowsWithTheAnswer(t *testing.T) {
	ta, img := tinyAChat(t, Options{Backend: defaultBackend(t, 2, "")})
	short, err := ta.m.NewChat().Reply(context.Background(), ta.prompt, []*Image{img}, AnswerOptions{MaxNewTokens: 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := ta.m.NewChat()
	pieces, early, grown := 0, 0, 0
	res, err := c.Reply(ctx, ta.prompt, []*Image{img}, AnswerOptions{MaxNewTokens: 16000}, func(string) {
		pieces++
		switch pieces {
		case 2:
			early = c.cache.Capacity() - c.cache.Len()
		case answerRoom + 50: // past the first room: the cache has grown
			grown = c.cache.Capacity()
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Reply = %v, want it stopped", err)
	}
	if early > answerRoom {
		t.Errorf("room for %d more positions at the start of an answer of up to 16000, want at most %d", early, answerRoom)
	}
	if grown < c.cache.Len() {
		t.Errorf("the cache has %d positions for %d filled", grown, c.cache.Len())
	}
	if !slices.Equal(res.Tokens[:8], short.Tokens) {
		t.Errorf("tokens %v with a growing cache, want %v", res.Tokens[:8], short.Tokens)
	}
}

// TestChatRewrite: a conversation rewritten with its last answer cut short (a client's stop
// sequence) answers the next question as a new chat from that history does, reusing the
// cached positions before the cut; a history that is not question and answer pairs is refused.
func TestChatRewrite(t *testing.T) {
	ta, img := tinyAChat(t, Options{Backend: defaultBackend(t, 2, "")})
	opts := AnswerOptions{MaxNewTokens: 6}
	c := ta.m.NewChat()
	defer c.Close()
	first, err := c.Reply(context.Background(), ta.prompt, []*Image{img}, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	cut := ta.m.Tokenizer.Decode(first.Tokens[:2], true)
	history := []Message{{Text: ta.prompt, Images: []*Image{img}}, {Assistant: true, Text: cut}}
	if err := c.Rewrite(history); err != nil {
		t.Fatal(err)
	}
	got, err := c.Reply(context.Background(), "And then?", nil, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := ta.m.NewChatFrom(history)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	want, err := fresh.Reply(context.Background(), "And then?", nil, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Tokens, want.Tokens) || got.PromptTokens != want.PromptTokens {
		t.Errorf("after Rewrite: %v of a %d-token prompt; a new chat from the history: %v of %d", got.Tokens, got.PromptTokens, want.Tokens, want.PromptTokens)
	}
	if got.ReusedTokens < first.PromptTokens || got.ImagesEncoded != 0 {
		t.Errorf("after Rewrite reused %d positions (the first prompt had %d) and encoded %d images, want the first prompt reused and none encoded",
			got.ReusedTokens, first.PromptTokens, got.ImagesEncoded)
	}
	if err := c.Rewrite([]Message{{Text: "q"}}); err == nil {
		t.Error("Rewrite took a question without its answer")
	}
}

// A prompt's pass ended while a chunk runs keeps the chunks it finished (the stopped one
// ends between two layers, not at its end), and goes on from there to the logits of the
// whole pass.
func TestDecodeStepPromptResumes(t *testing.T) {
	ta := loadTinyA(t, Options{Backend: defaultBackend(t, 0, "")})
	m := ta.m
	ids := make([]int32, 600) // two chunks of 300
	for i := range ids {
		ids[i] = int32(1 + i%(m.Config.LLM.Vocab-1))
	}
	embed := func(x *compute.Tensor, at, end int) error { return m.LLM.EmbedInto(x, ids[at:end]) }
	run := func(cache *llm.Cache, from int, embed func(x *compute.Tensor, at, end int) error, ctx context.Context) ([]float32, int, error) {
		step := NewDecodeStep(m.Backend, m.LLM)
		t.Cleanup(step.Free)
		logits, done, err := step.Prompt(ctx, cache, from, len(ids), embed)
		return slices.Clone(logits), done, err
	}
	newCache := func() *llm.Cache {
		c, err := m.LLM.NewCache(1, len(ids))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Free)
		return c
	}

	want, done, err := run(newCache(), 0, embed, context.Background())
	if err != nil || done != len(ids) {
		t.Fatalf("the whole pass: %d positions, %v", done, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cache := newCache()
	_, done, err = run(cache, 0, func(x *compute.Tensor, at, end int) error {
		if at == 300 {
			cancel() // a stop while the second chunk runs: it ends before its layers do
		}
		return embed(x, at, end)
	}, ctx)
	if !errors.Is(err, context.Canceled) || done != 300 || cache.Len() != 300 {
		t.Fatalf("stopped in the second chunk: %d positions done, %d in the cache, %v; want 300, 300, canceled", done, cache.Len(), err)
	}
	got, done, err := run(cache, done, embed, context.Background())
	if err != nil || done != 300 {
		t.Fatalf("the rest: %d positions, %v", done, err)
	}
	closeTo(t, "logits after a resumed pass", got, want)
}
