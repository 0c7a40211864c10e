package model

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/vq/formulaweights"
	"github.com/janus-desktop/janus/model/weights"
)

func TestLoadOptions(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	tests := []struct {
		name     string
		opts     Options
		gen      bool
		matrixDT compute.DType
	}{
		{"defaults keep BF16", Options{Threads: 1}, true, compute.BF16},
		{"widen matrices", Options{Threads: 1, MatrixDType: "f32"}, true, compute.F32},
		{"convert to F16", Options{Threads: 1, MatrixDType: "F16"}, true, compute.F16},
		{"understanding only", Options{Threads: 1, SkipGeneration: true}, false, compute.BF16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls, last, total int
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
			if m.LLM.Layers[0].Q.DType != tt.matrixDT || m.Vision.Blocks[0].FC1W.DType != tt.matrixDT {
				t.Errorf("matrix dtypes %v, %v, want %v", m.LLM.Layers[0].Q.DType, m.Vision.Blocks[0].FC1W.DType, tt.matrixDT)
			}
			if m.LLM.Norm.DType != compute.F32 || m.Vision.Blocks[0].QB.DType != compute.F32 {
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
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		opts   Options
		want   string
	}{
		{"no weights", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "model.safetensors")) }, Options{}, "model.safetensors"},
		{"no tokenizer", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "tokenizer.json")) }, Options{}, "tokenizer"},
		{"wider MLP than the weights", edit("config.json", `"intermediate_size": 172`, `"intermediate_size": 200`), Options{}, "mlp.gate_proj"},
		{"image tokens disagree", edit("processor_config.json", `"num_image_tokens": 16`, `"num_image_tokens": 17`), Options{}, "num_image_tokens"},
		{"metal", nil, Options{BackendName: "metal"}, "Metal backend is not available yet"},
		{"bad matrix dtype", nil, Options{MatrixDType: "q4"}, "matrix dtype"},
		{"negative context", nil, Options{ContextLimit: -1}, "context limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyModel(t)
			if tt.change != nil {
				tt.change(t, dir)
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
	_, err = Load(dir, Options{Threads: 1})
	var be *weights.BindError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "gen_head.vision_head.weight") {
		t.Fatalf("full load: error %v, want a BindError naming gen_head.vision_head.weight", err)
	}
	m, err := Load(dir, Options{Threads: 1, SkipGeneration: true})
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
	base := live()
	var peak uint64
	m, err := Load(dir, Options{Threads: 1, MatrixDType: "F32", Progress: func(done, _ int) {
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
