package model

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
	"github.com/janus-desktop/janus/internal/fixtures"
	_ "github.com/janus-desktop/janus/internal/testbackends"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/checkpoint/checkpointtest"
	"github.com/janus-desktop/janus/model/vq/formulaweights"
	"github.com/janus-desktop/janus/model/weights"
)

func TestLoadOptions(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	tests := []struct {
		name     string
		opts     Options
		gen, und bool
		matrixDT compute.DType
	}{
		{"defaults keep BF16", Options{}, true, true, compute.BF16},
		{"widen matrices", Options{MatrixDType: "f32"}, true, true, compute.F32},
		{"convert to F16", Options{MatrixDType: "F16"}, true, true, compute.F16},
		{"understanding only", Options{SkipGeneration: true}, false, true, compute.BF16},
		{"generation only", Options{SkipUnderstanding: true}, true, false, compute.BF16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls, last, total int
			tt.opts.Backend = defaultBackend(t, 1, "")
			tt.opts.Progress = func(done, tot int) {
				if done < last || done > tot {
					t.Errorf("progress went %d → %d of %d", last, done, tot)
				}
				calls, last, total = calls+1, done, tot
			}
			m, err := Load(dir, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if last != total || calls < total {
				t.Errorf("progress ended at %d/%d after %d calls", last, total, calls)
			}
			if got := m.GenHead != nil && m.GenAligner != nil && m.GenEmbed != nil && m.VQ != nil; got != tt.gen {
				t.Errorf("generation parts loaded: %v, want %v", got, tt.gen)
			}
			if got := m.Vision != nil && m.Aligner != nil && m.LLM.Head != nil; got != tt.und {
				t.Errorf("understanding parts loaded: %v, want %v", got, tt.und)
			}
			if m.LLM.Layers[0].Q.DType != tt.matrixDT {
				t.Errorf("LLM matrix dtype %v, want %v", m.LLM.Layers[0].Q.DType, tt.matrixDT)
			}
			if tt.und && m.Vision.Blocks[0].FC1W.DType != tt.matrixDT {
				t.Errorf("ViT matrix dtype %v, want %v", m.Vision.Blocks[0].FC1W.DType, tt.matrixDT)
			}
			if m.LLM.Norm.DType != compute.F32 || tt.und && m.Vision.Blocks[0].QB.DType != compute.F32 {
				t.Error("norms and biases are not float32")
			}
			if m.eos != 257 || m.Prompt.ImageTokenID() != 259 || m.Tokenizer != m.Prompt.Tokenizer() {
				t.Errorf("eos %d, image token %d, tokenizer shared with the prompt builder: %v",
					m.eos, m.Prompt.ImageTokenID(), m.Tokenizer == m.Prompt.Tokenizer())
			}
		})
	}
}

// copyModel copies the tiny-a folder so a test can change or remove files.
func copyModel(t *testing.T) string {
	t.Helper()
	src := fixtures.Path(t, "models", "tiny-a")
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestLoadErrors(t *testing.T) {
	edit := func(file, from, to string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			p := filepath.Join(dir, file)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			s := strings.Replace(string(b), from, to, 1)
			if s == string(b) {
				t.Fatalf("%q not found in %s", from, file)
			}
			if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	both := func(a, b func(t *testing.T, dir string)) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) { a(t, dir); b(t, dir) }
	}
	noPad := both(edit("processor_config.json", `"pad_tag": "<｜▁pad▁｜>"`, `"pad_tag": "<no_pad>"`),
		edit("special_tokens_map.json", `"pad_token": "<｜▁pad▁｜>"`, `"pad_token": null`))
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		opts   Options
		want   string
	}{
		{"no weights", removeWeights, Options{}, "model.safetensors"},
		{"no tokenizer", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "tokenizer.json")) }, Options{}, "tokenizer"},
		{"wider MLP than the weights", edit("config.json", `"intermediate_size": 172`, `"intermediate_size": 200`), Options{}, "mlp.gate_proj"},
		{"image tokens disagree", edit("processor_config.json", `"num_image_tokens": 16`, `"num_image_tokens": 17`), Options{}, "num_image_tokens"},
		{"no image end token", edit("processor_config.json", `"<end_of_image>"`, `"<eoi>"`), Options{}, "<eoi>"},
		{"no image start token", edit("processor_config.json", `"<begin_of_image>"`, `"<boi>"`), Options{SkipGeneration: true}, "<boi>"},
		{"no pad for generation", noPad, Options{}, "<no_pad>"},
		{"no backend", nil, Options{}, "Options.Backend is nil"},
		{"bad matrix dtype", nil, Options{MatrixDType: "q4"}, "matrix dtype"},
		{"negative context", nil, Options{ContextLimit: -1}, "context limit"},
		{"no eos token", both(edit("special_tokens_map.json", `"eos_token": "<｜end▁of▁sentence｜>"`, `"eos_token": "<eos>"`),
			edit("tokenizer_config.json", `"eos_token": "<｜end▁of▁sentence｜>"`, `"eos_token": "<eos>"`)), Options{SkipGeneration: true}, "eos_token"},
		{"weight beyond F16", scaleWeight(f16Victim, 0, 1e5), Options{MatrixDType: "F16"}, f16Victim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyModel(t)
			if tt.change != nil {
				tt.change(t, dir)
			}
			if tt.name != "no backend" {
				tt.opts.Backend = defaultBackend(t, 0, "")
			}
			m, err := Load(dir, tt.opts)
			if err == nil {
				m.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
	// Only generation pads its prompts: understanding needs no pad token.
	dir := copyModel(t)
	noPad(t, dir)
	m, err := Load(dir, Options{Backend: defaultBackend(t, 1, ""), SkipGeneration: true})
	if err != nil {
		t.Fatalf("understanding-only load without a pad token: %v", err)
	}
	m.Close()
	// The weight that F16 cannot hold is fine in its stored BF16.
	dir = copyModel(t)
	scaleWeight(f16Victim, 0, 1e5)(t, dir)
	if m, err = Load(dir, Options{Backend: defaultBackend(t, 1, "")}); err != nil {
		t.Fatalf("BF16 load of a weight beyond F16's range: %v", err)
	}
	m.Close()
}

// f16Victim is a tiny-a matrix that scaleWeight makes too large for F16.
const f16Victim = "language_model.model.layers.1.mlp.down_proj.weight"

// removeWeights deletes a model folder's weights: one safetensors file, or shards and index.
func removeWeights(t *testing.T, dir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "model*.safetensors*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no weight files in %s (%v)", dir, err)
	}
	for _, f := range files {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
}

// scaleWeight rewrites dir's BF16 weights as one model.safetensors with element i of the
// named tensor set to v.
func scaleWeight(name string, i int, v float32) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		path := filepath.Join(dir, "model.safetensors")
		ck, err := checkpoint.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		var tensors []checkpointtest.Tensor
		for _, info := range ck.Tensors() {
			raw, err := ck.Raw(info.Name)
			if err != nil {
				t.Fatal(err)
			}
			data := slices.Clone(raw)
			if info.Name == name {
				if info.DType != checkpoint.BF16 {
					t.Fatalf("%s is stored as %s, not BF16", name, info.DType)
				}
				binary.LittleEndian.PutUint16(data[2*i:], uint16(math.Float32bits(v)>>16))
			}
			tensors = append(tensors, checkpointtest.Tensor{Name: info.Name, DType: info.DType, Shape: info.Shape, Data: data})
		}
		ck.Close()
		removeWeights(t, dir)
		if err := checkpointtest.WriteSafetensors(path, tensors, checkpointtest.Options{}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLoadMissingGenerationTensor checks that a checkpoint without a generation tensor
// fails a full load, naming the tensor, but loads for understanding only.
func TestLoadMissingGenerationTensor(t *testing.T) {
	dir, _ := undModel(t, "und-f32", undSafetensors)
	// Rewrite the checkpoint without gen_head's last layer.
	ws := filepath.Join("testdata", "understand", "und-f32", "weights.json")
	rows, err := formulaweights.Read(ws)
	if err != nil {
		t.Fatal(err)
	}
	kept := rows[:0]
	for _, w := range rows {
		if !strings.HasPrefix(w.Name, "gen_head.vision_head.") {
			kept = append(kept, w)
		}
	}
	writeUndCheckpoint(t, dir, kept, "F32", undSafetensors)
	_, err = Load(dir, Options{Backend: defaultBackend(t, 1, "")})
	var be *weights.BindError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "gen_head.vision_head.weight") {
		t.Fatalf("full load: error %v, want a BindError naming gen_head.vision_head.weight", err)
	}
	m, err := Load(dir, Options{Backend: defaultBackend(t, 1, ""), SkipGeneration: true})
	if err != nil {
		t.Fatalf("understanding-only load: %v", err)
	}
	m.Close()
}

// TestLoadHoldsOneCopy measures the live heap (after a forced collection) at every progress
// report while tiny-a loads: it must never exceed what the loaded model holds at the end by
// more than a little, which it would if the weights were staged in a second full copy.
func TestLoadHoldsOneCopy(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	live := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	be := defaultBackend(t, 1, "")
	base := live()
	var peak uint64
	m, err := Load(dir, Options{Backend: be, MatrixDType: "F32", Progress: func(done, _ int) {
		if done%4 == 0 { // a collection per tensor would make the test slow
			peak = max(peak, live())
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	final := live()
	if final <= base {
		t.Fatalf("heap did not grow while loading (%d → %d)", base, final)
	}
	held := final - base
	if peak > base && peak-base > held+held/10+1<<20 {
		t.Errorf("peak live heap during load %d bytes above the start, the loaded model holds %d", peak-base, held)
	}
	t.Logf("model holds %.1f MB, peak during load %.1f MB", float64(held)/1e6, float64(peak-base)/1e6)
	runtime.KeepAlive(m)
}

// editTokenizer rewrites the tokenizer files of the model folder dir: keep decides which
// added tokens of tokenizer.json stay (extra ones are appended) and which
// additional_special_tokens of special_tokens_map.json stay.
func editTokenizer(t *testing.T, dir string, keep func(content string) bool, extra ...map[string]any) {
	t.Helper()
	rewrite := func(name, key string, edit func(raw json.RawMessage) any) {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if doc[key], err = json.Marshal(edit(doc[key])); err != nil {
			t.Fatal(err)
		}
		if b, err = json.Marshal(doc); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rewrite("tokenizer.json", "added_tokens", func(raw json.RawMessage) any {
		var added []map[string]any
		if err := json.Unmarshal(raw, &added); err != nil {
			t.Fatal(err)
		}
		kept := slices.DeleteFunc(added, func(a map[string]any) bool { return !keep(a["content"].(string)) })
		return append(kept, extra...)
	})
	rewrite("special_tokens_map.json", "additional_special_tokens", func(raw json.RawMessage) any {
		var names []string
		if err := json.Unmarshal(raw, &names); err != nil {
			t.Fatal(err)
		}
		return slices.DeleteFunc(names, func(s string) bool { return !keep(s) })
	})
}

// TestLoadWithoutImageTag loads tiny-a with <image_placeholder> removed from its tokenizer,
// as Janus-1.3B ships it: the prompt builder adds it after the tokenizer's last id (264, as
// the removed 259 leaves a gap), and since image features overwrite the placeholder's
// embedding rows the answer equals the golden one. When the added id has no embedding row,
// loading fails with a clear error instead.
func TestLoadWithoutImageTag(t *testing.T) {
	const tag = "<image_placeholder>"
	noTag := func(s string) bool { return s != tag }
	t.Run("answers", func(t *testing.T) {
		dir := copyModel(t)
		editTokenizer(t, dir, noTag)
		ta, img := tinyAChat(t, Options{Backend: defaultBackend(t, 2, "")})
		m, err := Load(dir, Options{Backend: defaultBackend(t, 2, ""), SkipGeneration: true})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		image := m.Prompt.ImageTokenID()
		if image != 264 || !m.Tokenizer.IsSpecial(image) {
			t.Fatalf("added image tag has id %d (special %v), want special 264", image, m.Tokenizer.IsSpecial(image))
		}
		c := m.NewChat()
		defer c.Close()
		u := ta.g.Understanding
		want := slices.Clone(u.InputIDs)
		for i, id := range want {
			if id == ta.m.Prompt.ImageTokenID() {
				want[i] = image
			}
		}
		ids, _, err := c.prompt([]Message{{Text: ta.prompt, Images: []*Image{img}}})
		if err != nil || !slices.Equal(ids, want) {
			t.Fatalf("input ids %v, %v\nwant the golden's with the image id replaced: %v", ids, err, want)
		}
		steps := fixtures.Float32s(t, filepath.Join(ta.dir, "und_step_logits.bin"))
		vocab, step := m.Config.LLM.Vocab, 0
		c.onLogits = func(l []float32) {
			if (step+1)*vocab <= len(steps) {
				closeTo(t, fmt.Sprintf("step %d logits", step), l, steps[step*vocab:(step+1)*vocab])
			}
			step++
		}
		res, err := c.Reply(context.Background(), ta.prompt, []*Image{img}, AnswerOptions{MaxNewTokens: len(u.GreedyTokens)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Tokens, u.GreedyTokens) || res.Text != u.GreedyText || step != len(u.GreedyTokens) {
			t.Errorf("answer %v %q after %d steps, want %v %q", res.Tokens, res.Text, step, u.GreedyTokens, u.GreedyText)
		}
	})
	t.Run("no embedding row for the added tag", func(t *testing.T) {
		dir := copyModel(t)
		// A token at the last embedding row (383 of 384) pushes the added tag to 384.
		editTokenizer(t, dir, noTag, map[string]any{"id": 383, "content": "<last_row>", "special": true,
			"single_word": false, "lstrip": false, "rstrip": false, "normalized": false})
		m, err := Load(dir, Options{Backend: defaultBackend(t, 1, "")})
		if err == nil {
			m.Close()
			t.Fatal("loaded")
		}
		t.Log(err)
		for _, want := range []string{tag, "384 embedding rows", "lacks"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	})
}

// closeCounter is a caller's backend that counts its Close calls.
type closeCounter struct {
	compute.Backend
	closes int
}

func (c *closeCounter) Close() error {
	c.closes++
	return c.Backend.Close()
}

// defaultBackend opens the backend a test loads on when it does not run on every backend
// (computetest.Each): compute.Open("auto"), the best linked in (the CPU but on macOS), with
// threads per op and precision; the test closes it when it ends, after the models loaded on
// it (whose cleanups it registers later).
func defaultBackend(t testing.TB, threads int, precision string) compute.Backend {
	t.Helper()
	be, err := compute.Open("auto", compute.Options{Threads: threads, Precision: precision})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := be.Close(); err != nil {
			t.Errorf("close %s: %v", be.Name(), err)
		}
	})
	return be
}

// ownedBackend opens what defaultBackend does, for a test to hand to Load or LoadVQ
// (Options.OwnBackend), wrapped in a closeCounter: the test checks that it was closed once.
func ownedBackend(t testing.TB, threads int) *closeCounter {
	t.Helper()
	be, err := compute.Open("auto", compute.Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	return &closeCounter{Backend: be}
}

// TestCloseBackend: Close closes the backend Load was given to own, once, and leaves a
// backend the caller kept open.
func TestCloseBackend(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, caller compute.Backend) {
		be := &closeCounter{Backend: caller}
		m, err := Load(dir, Options{Backend: be, SkipGeneration: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if be.closes != 0 {
			t.Errorf("the caller's backend was closed %d times", be.closes)
		}
	})
	t.Run("own backend", func(t *testing.T) {
		be := ownedBackend(t, 2)
		m, err := Load(dir, Options{Backend: be, OwnBackend: true, SkipGeneration: true})
		if err != nil {
			t.Fatal(err)
		}
		if m.Backend != be || !m.ownBackend {
			t.Fatalf("backend %T, owned %v; want the one Load was given", m.Backend, m.ownBackend)
		}
		for i := range 2 { // a second Close must close nothing
			if err := m.Close(); err != nil {
				t.Fatalf("close %d: %v", i, err)
			}
		}
		if be.closes != 1 {
			t.Errorf("the backend the model owns was closed %d times, want once", be.closes)
		}
		if m.ownBackend {
			t.Error("the model still owns a backend after Close")
		}
	})
	t.Run("failed load", func(t *testing.T) {
		// The weight upload fails, after the model took the backend.
		bad := copyModel(t)
		scaleWeight(f16Victim, 0, 1e5)(t, bad)
		be := ownedBackend(t, 0)
		if _, err := Load(bad, Options{MatrixDType: "F16", Backend: be, OwnBackend: true}); err == nil {
			t.Fatal("Load of a weight beyond F16 as F16 succeeded")
		}
		if be == nil || be.closes != 1 {
			t.Errorf("a failed Load did not close the backend it owned once (%+v)", be)
		}
		// A check fails before the backend is used: Load closes it all the same.
		be = ownedBackend(t, 0)
		if _, err := Load(dir, Options{MatrixDType: "q4", Backend: be, OwnBackend: true}); err == nil {
			t.Fatal("Load with matrix dtype q4 succeeded")
		}
		if be.closes != 1 {
			t.Errorf("a Load failed in its checks closed the backend it owned %d times, want once", be.closes)
		}
	})
	t.Run("panicking load", func(t *testing.T) {
		// A backend out of memory panics (Metal's New): the panic reaches the caller (the
		// app's job recovers it) after the backend Load owned is closed.
		be := ownedBackend(t, 0)
		uploads := 0
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Error("the panic did not reach the caller")
				}
			}()
			Load(dir, Options{SkipGeneration: true, Backend: be, OwnBackend: true, uploaded: func(string, int, *compute.Tensor) {
				if uploads++; uploads == 3 {
					panic("out of memory")
				}
			}})
		}()
		if be == nil || be.closes != 1 {
			t.Errorf("a panicking Load did not close the backend it owned once (%+v)", be)
		}
	})
}

// TestLoadF64Checkpoint loads und-f32 stored as F64: every tensor is narrowed to float32 on
// upload (the formula values are exact in float32, so nothing is lost), Linear weights count
// as F32 for the default dtype policy, and the weights equal those of the BF16 checkpoint
// loaded with F32 matrices.
func TestLoadF64Checkpoint(t *testing.T) {
	src := filepath.Join("testdata", "understand", "und-f32")
	specs, err := formulaweights.Read(filepath.Join(src, "weights.json"))
	if err != nil {
		t.Fatal(err)
	}
	ref, f64 := t.TempDir(), t.TempDir()
	for _, dir := range []string{ref, f64} {
		if err := formulaweights.WriteModel(dir, src); err != nil {
			t.Fatal(err)
		}
	}
	tensors := make([]checkpointtest.Tensor, len(specs))
	for i, s := range specs {
		vals := s.Values()
		data := make([]byte, 8*len(vals))
		for j, v := range vals {
			binary.LittleEndian.PutUint64(data[8*j:], math.Float64bits(float64(v)))
		}
		tensors[i] = checkpointtest.Tensor{Name: s.Name, DType: checkpoint.F64, Shape: s.Shape, Data: data}
	}
	if err := checkpointtest.WriteSafetensors(filepath.Join(f64, "model.safetensors"), tensors, checkpointtest.Options{}); err != nil {
		t.Fatal(err)
	}
	want, err := Load(ref, Options{Backend: defaultBackend(t, 1, ""), MatrixDType: "F32"})
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	got, err := Load(f64, Options{Backend: defaultBackend(t, 1, "")})
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	read := func(m *Model, x *compute.Tensor) []float32 {
		out := make([]float32, x.Len())
		if err := m.Backend.Read(x, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		got, want *compute.Tensor
	}{
		{"embed_tokens (matrix)", got.LLM.Embedding, want.LLM.Embedding},
		{"layer 0 q_proj (matrix)", got.LLM.Layers[0].Q, want.LLM.Layers[0].Q},
		{"ViT block 0 k rows of qkv (matrix rows)", got.Vision.Blocks[0].KW, want.Vision.Blocks[0].KW},
		{"ViT block 0 v bias (float32 rows)", got.Vision.Blocks[0].VB, want.Vision.Blocks[0].VB},
		{"position embedding (float32)", got.Vision.PosEmbed, want.Vision.PosEmbed},
		{"gen_embed (matrix)", got.GenEmbed, want.GenEmbed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got.DType != compute.F32 || !slices.Equal(tc.got.Shape, tc.want.Shape) {
				t.Fatalf("%v, want F32%v", tc.got, tc.want.Shape)
			}
			if g, w := read(got, tc.got), read(want, tc.want); !slices.Equal(g, w) {
				t.Error("values differ from the BF16 checkpoint's")
			}
		})
	}
}

// TestLoadMemoryUsed: after Load, the backend's MemoryUsed is the bytes of the weights it
// uploaded, in the dtypes they were stored as; Close gives them all back.
func TestLoadMemoryUsed(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, be compute.Backend) {
		for _, dt := range []string{"", "F32"} {
			base := be.MemoryUsed()
			var uploaded int64
			m, err := Load(dir, Options{Backend: be, MatrixDType: dt, uploaded: func(_ string, _ int, w *compute.Tensor) {
				uploaded += int64(w.Len() * w.DType.Size())
			}})
			if err != nil {
				t.Fatal(err)
			}
			if got := be.MemoryUsed() - base; got != uploaded || got == 0 {
				t.Errorf("matrices %q: the backend holds %d bytes after Load, %d were uploaded", dt, got, uploaded)
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if got := be.MemoryUsed(); got != base {
				t.Errorf("matrices %q: the backend holds %d bytes after Close, %d before Load", dt, got, base)
			}
		}
	})
}
