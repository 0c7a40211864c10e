package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/checkpoint/checkpointtest"
	"github.com/janus-desktop/janus/model/weights/weightstest"
)

func runInfoOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := runInfo(args, &out, &errOut); err != nil {
		t.Fatalf("janus info %v: %v (stderr %q)", args, err, errOut.String())
	}
	return out.String()
}

func infoJSON(t *testing.T, dir string) (*app.ModelInfo, map[string]any) {
	t.Helper()
	raw := runInfoOK(t, "--model", dir, "--json")
	var info app.ModelInfo
	if err := json.Unmarshal([]byte(raw), &info); err != nil {
		t.Fatalf("decode --json output: %v\n%s", err, raw)
	}
	var generic map[string]any
	if err := json.Unmarshal([]byte(raw), &generic); err != nil {
		t.Fatal(err)
	}
	return &info, generic
}

// wantLines checks that every pattern matches a line of the text output.
func wantLines(t *testing.T, text string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(`(?m)` + p).MatchString(text) {
			t.Errorf("output has no line matching %s:\n%s", p, text)
		}
	}
}

func TestInfoTinyA(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	info, generic := infoJSON(t, dir)

	// The counts come from the safetensors header: 420 tensors, 4,878,891 values; without
	// attn_pool, the VQ encoder, quant_conv and codebook_used, 2,962,115.
	if info.Params.Total != 4_878_891 || info.Params.Used != 2_962_115 || info.Params.Tensors != 420 {
		t.Errorf("params %+v, want total 4878891, used 2962115, 420 tensors", info.Params)
	}
	if info.Family != "Janus-Pro" || info.LLM.Hidden != 64 || info.LLM.Layers != 2 || info.LLM.Vocab != 384 ||
		info.Vision.Tokens != 16 || info.Vision.Width != 64 || info.VQ.ImageTokens != 36 || info.VQ.Ch != 32 ||
		info.Gen.HeadOutput != 256 || info.Aligner.OutputDim != 64 {
		t.Errorf("dimensions wrong: %+v", info)
	}
	if info.MemoryBytes["F32"] != 4*info.Params.Used {
		t.Errorf("F32 memory %d, want 4 bytes × %d params", info.MemoryBytes["F32"], info.Params.Used)
	}
	// The repository keeps tiny-a's weights as three shards (no file over 5 MB).
	shards := []app.FileInfo{{Name: "model-00001-of-00003.safetensors", Bytes: 3_307_744},
		{Name: "model-00002-of-00003.safetensors", Bytes: 3_357_974}, {Name: "model-00003-of-00003.safetensors", Bytes: 3_142_160}}
	if !slices.Equal(info.Files, shards) || info.StoredDTypes["BF16"] != info.Params.Used {
		t.Errorf("files %+v, dtypes %v", info.Files, info.StoredDTypes)
	}
	wantIDs := map[string]int{"bos": 256, "eos": 257, "pad": 258, "image": 259, "image_start": 260, "image_end": 261, "user": 262, "assistant": 263}
	if len(info.SpecialTokens) != len(wantIDs) {
		t.Errorf("%d special tokens, want %d", len(info.SpecialTokens), len(wantIDs))
	}
	for _, tok := range info.SpecialTokens {
		if tok.ID == nil || *tok.ID != wantIDs[tok.Role] {
			t.Errorf("%s token %q id %v, want %d", tok.Role, tok.Token, tok.ID, wantIDs[tok.Role])
		}
	}

	// The documented top-level fields, no more and no fewer.
	var keys []string
	for k := range generic {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"aligner", "compute", "default_weights", "default_weights_reason", "family", "files", "files_bytes", "gen", "llm", "memory_bytes", "model", "params",
		"preprocess", "special_tokens", "stored_dtypes", "torch_dtype", "unexpected_tensors", "unused", "vision", "vq"}
	if !slices.Equal(keys, want) {
		t.Errorf("JSON fields %v, want %v", keys, want)
	}

	text := runInfoOK(t, "--model", dir)
	wantLines(t, text,
		`^family\s+Janus-Pro$`,
		`^weights\s+BF16 \(config torch_dtype bfloat16\)$`,
		`^  model-00002-of-00003\.safetensors\s+3,357,974\s+bytes\s+\(3\.36 MB\)$`,
		`^  total\s+9,807,878\s+bytes\s+\(9\.81 MB\)$`,
		`^llm\s+21\s+148,288\s+LLaMA: hidden 64, 2 layers, 4 heads × 16 \(4 KV\), FFN 172, vocab 384`,
		`^used\s+260\s+2,962,115\s`,
		`^total\s+420\s+4,878,891\s`,
		`^  total\s+11\.85 MB\s+11\.29 MB\s+11\.15 MB\s+11\.07 MB\s+11\.08 MB$`, // Q8/Q4/Q4M apply to the LLM and gen_head only
		`^default --weights\s+stored on this machine: `,
		`^  bos\s+256\s+<｜begin▁of▁sentence｜>$`,
		`^  assistant\s+263\s+<\|Assistant\|>$`,
		`^image input 64 px \(min side 14\), 16 image tokens per image$`)
}

func fakeRelease(t *testing.T, release string, format checkpointtest.Format, shards int, edit func([]checkpointtest.Tensor) []checkpointtest.Tensor) string {
	t.Helper()
	dir := t.TempDir()
	if err := weightstest.WriteRelease(dir, fixtures.Path(t, "real-configs", release), format, shards, edit); err != nil {
		t.Fatal(err)
	}
	return dir
}

// addTinyTokenizer writes tiny-a's tokenizer.json into a reconstructed release folder (the
// release's own is not among the fixtures); without roles, its <|User|> and <|Assistant|>
// added tokens are dropped, as Janus-1.3B's tokenizer lacks them. The release's
// special_tokens_map.json and tokenizer_config.json name tokens tiny-a's tokenizer has.
func addTinyTokenizer(t *testing.T, dir string, roles bool) {
	t.Helper()
	raw, err := os.ReadFile(fixtures.Path(t, "models", "tiny-a", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !roles {
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		doc["added_tokens"] = slices.DeleteFunc(doc["added_tokens"].([]any), func(a any) bool {
			c := a.(map[string]any)["content"]
			return c == "<|User|>" || c == "<|Assistant|>"
		})
		if raw, err = json.Marshal(doc); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestInfoReleases(t *testing.T) {
	tests := []struct {
		release            string
		format             checkpointtest.Format
		shards             int
		files              []string
		family             string
		total, used        int64
		tensors            int
		hidden, inter, lay int
		textLines          []string
	}{
		{"janus-1.3b", checkpointtest.Safetensors, 0, []string{"model.safetensors"}, "Janus",
			2_089_297_547, 2_047_336_579, 882, 2048, 5632, 24,
			[]string{`^family\s+Janus$`, `^total\s+882\s+2,089,297,547\s`, `^  user\s+plain text\s+User$`, `^  assistant\s+plain text\s+Assistant$`}},
		{"janus-pro-1b", checkpointtest.PyTorch, 0, []string{"pytorch_model.bin"}, "Janus-Pro",
			2_089_297_547, 2_047_336_579, 882, 2048, 5632, 24,
			[]string{`^family\s+Janus-Pro$`, `^total\s+882\s+2,089,297,547\s`, `^  user\s+262\s+<\|User\|>$`}},
		{"janus-pro-7b", checkpointtest.PyTorch, 2, []string{"pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"}, "Janus-Pro",
			7_420_434_059, 7_378_473_091, 936, 4096, 11008, 30,
			[]string{`^total\s+936\s+7,420,434,059\s`, `^llm\s+273\s+6,910,365,696\s+LLaMA: hidden 4096, 30 layers, 32 heads × 128 \(32 KV\), FFN 11008, vocab 102,400`,
				`^  total\s+14,84\d,\d{3},\d{3}\s+bytes\s+\(14\.84 GB\)$`}},
	}
	for _, tc := range tests {
		t.Run(tc.release, func(t *testing.T) {
			dir := fakeRelease(t, tc.release, tc.format, tc.shards, nil)
			addTinyTokenizer(t, dir, tc.family == "Janus-Pro")
			start := time.Now()
			info, _ := infoJSON(t, dir)
			t.Logf("janus info --json on the sparse %s checkpoint: %v", tc.release, time.Since(start))
			if info.Family != tc.family || info.Params.Total != tc.total || info.Params.Used != tc.used || info.Params.Tensors != tc.tensors {
				t.Errorf("family %s, params %+v; want %s, total %d, used %d, %d tensors", info.Family, info.Params, tc.family, tc.total, tc.used, tc.tensors)
			}
			if info.LLM.Hidden != tc.hidden || info.LLM.Intermediate != tc.inter || info.LLM.Layers != tc.lay ||
				info.LLM.Heads != tc.hidden/128 || info.Aligner.OutputDim != tc.hidden || info.Vision.Layers != 24 || info.VQ.ImageTokens != 576 {
				t.Errorf("dimensions wrong: llm %+v aligner %+v", info.LLM, info.Aligner)
			}
			var names []string
			var size int64
			for _, f := range info.Files {
				names = append(names, f.Name)
				size += f.Bytes
			}
			if !slices.Equal(names, tc.files) || size != info.FilesBytes || size < 2*tc.total {
				t.Errorf("files %v (%d bytes, reported %d); want %v holding at least 2 bytes a parameter", names, size, info.FilesBytes, tc.files)
			}
			if len(info.StoredDTypes) != 1 || info.StoredDTypes["BF16"] != tc.used {
				t.Errorf("stored dtypes %v, want BF16 only", info.StoredDTypes)
			}
			// The release names its tokens; tiny-a's tokenizer gives their ids. Janus writes
			// its roles as plain text, which have no ids.
			wantIDs := map[string]int{"bos": 256, "eos": 257, "pad": 258, "image": 259, "image_start": 260, "image_end": 261, "user": 262, "assistant": 263}
			if tc.family == "Janus" {
				wantIDs["user"], wantIDs["assistant"] = -1, -1
			}
			if len(info.SpecialTokens) != 8 || info.SpecialTokens[0].Token != "<｜begin▁of▁sentence｜>" {
				t.Errorf("special tokens %+v", info.SpecialTokens)
			}
			for _, tok := range info.SpecialTokens {
				if want := wantIDs[tok.Role]; (want < 0) != (tok.ID == nil) || (tok.ID != nil && *tok.ID != want) {
					t.Errorf("%s token %q id %v, want %d (-1: none)", tok.Role, tok.Token, tok.ID, want)
				}
			}
			wantLines(t, runInfoOK(t, "--model", dir), tc.textLines...)
		})
	}
}

// TestInfoWithoutTokenizer: without tokenizer.json (the other tokenizer files alone do not
// make a tokenizer) the family is unknown and no tokens are listed.
func TestInfoWithoutTokenizer(t *testing.T) {
	dir := fakeRelease(t, "janus-pro-1b", checkpointtest.Safetensors, 0, nil)
	info, generic := infoJSON(t, dir)
	if info.Family != "unknown" || len(info.SpecialTokens) != 0 {
		t.Errorf("family %q, tokens %v; want unknown and none", info.Family, info.SpecialTokens)
	}
	if toks, ok := generic["special_tokens"].([]any); !ok || len(toks) != 0 {
		t.Errorf("special_tokens is %v, want an empty array", generic["special_tokens"])
	}
	wantLines(t, runInfoOK(t, "--model", dir), `^family\s+unknown \(no tokenizer\.json\)$`, `^special tokens: no tokenizer\.json in the folder$`)
}

func TestInfoErrors(t *testing.T) {
	tiny := fixtures.Path(t, "models", "tiny-a")
	configsOnly := t.TempDir()
	for _, f := range []string{"config.json", "preprocessor_config.json", "processor_config.json"} {
		raw, err := os.ReadFile(filepath.Join(tiny, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(configsOnly, f), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	missingTensor := fakeRelease(t, "janus-pro-1b", checkpointtest.Safetensors, 0, func(ts []checkpointtest.Tensor) []checkpointtest.Tensor {
		return slices.DeleteFunc(ts, func(x checkpointtest.Tensor) bool { return x.Name == "language_model.lm_head.weight" })
	})
	badConfig := fakeRelease(t, "janus-pro-1b", checkpointtest.Safetensors, 0, nil)
	cfgPath := filepath.Join(badConfig, "config.json")
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, bytes.Replace(raw, []byte(`"num_hidden_layers": 24`), []byte(`"num_hidden_layers": 0`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	badTokenizer := fakeRelease(t, "janus-pro-1b", checkpointtest.Safetensors, 0, nil)
	if err := os.WriteFile(filepath.Join(badTokenizer, "tokenizer.json"), []byte(`{"added_tokens": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := fakeRelease(t, "janus-pro-7b", checkpointtest.PyTorch, 2, nil)
	shard := filepath.Join(truncated, "pytorch_model-00001-of-00002.bin")
	if err := os.Truncate(shard, 1<<20); err != nil {
		t.Fatal(err)
	}

	cutShort := fakeRelease(t, "janus-pro-1b", checkpointtest.Safetensors, 0, nil)
	weightsFile := filepath.Join(cutShort, "model.safetensors")
	if st, err := os.Stat(weightsFile); err != nil {
		t.Fatal(err)
	} else if err := os.Truncate(weightsFile, st.Size()/2); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no model", nil, "missing --model DIR"},
		{"positional folder", []string{tiny}, "unexpected argument"},
		{"unknown flag", []string{"--model", tiny, "--yaml"}, "flag provided but not defined: -yaml"},
		{"no such folder", []string{"--model", filepath.Join(t.TempDir(), "nope")}, "nope does not exist"},
		{"a file", []string{"--model", filepath.Join(tiny, "config.json")}, "is a file"},
		{"empty folder", []string{"--model", t.TempDir()}, "config.json"},
		{"no weights", []string{"--model", configsOnly}, "no weights in folder"},
		{"missing tensor", []string{"--model", missingTensor}, "missing language_model.lm_head.weight [102400 2048]"},
		{"broken config", []string{"--model", badConfig}, "language_config.num_hidden_layers: must be positive"},
		{"malformed tokenizer.json", []string{"--model", badTokenizer}, "tokenizer.json"},
		{"truncated shard", []string{"--model", truncated}, "pytorch_model-00001-of-00002.bin"},
		{"cut-short safetensors", []string{"--model", cutShort}, "reach past the data area"},
		{"cut-short safetensors advice", []string{"--model", cutShort}, "shorter than its header says: probably an interrupted download or copy; download it again"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := runInfo(tc.args, &out, &errOut)
			if err == nil {
				t.Fatalf("no error; output:\n%s", out.String())
			}
			if !strings.Contains(err.Error()+errOut.String(), tc.want) {
				t.Errorf("error %q (stderr %q) does not mention %q", err, errOut.String(), tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("wrote to stdout on error: %q", out.String())
			}
		})
	}

	var out, errOut bytes.Buffer
	if err := runInfo([]string{"-h"}, &out, &errOut); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "usage: janus info") {
		t.Errorf("-h: err %v, stdout %q", err, out.String())
	}
}

// TestInfoFindsVocabularyTokens: a token that is a plain vocabulary entry of tokenizer.json,
// not an added token, still gets its id (transformers' vocab lookup sees both).
func TestInfoFindsVocabularyTokens(t *testing.T) {
	src := fixtures.Path(t, "models", "tiny-a")
	dir := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "tokenizer.json" {
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			added := doc["added_tokens"].([]any)
			doc["added_tokens"] = slices.DeleteFunc(added, func(a any) bool { return a.(map[string]any)["content"] == "<end_of_image>" })
			doc["model"].(map[string]any)["vocab"].(map[string]any)["<end_of_image>"] = 261
			if raw, err = json.Marshal(doc); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	info, _ := infoJSON(t, dir)
	for _, tok := range info.SpecialTokens {
		if tok.Role == "image_end" && (tok.ID == nil || *tok.ID != 261) {
			t.Errorf("<end_of_image> id %v, want 261 from the vocabulary", tok.ID)
		}
	}
}

// TestWithLoadHint: a checkpoint cut short gets the download advice, with the pull command of
// the model's name when it is a released one; other load errors are left as they are.
func TestWithLoadHint(t *testing.T) {
	cut := fmt.Errorf("read safetensors x: %w", checkpoint.ErrTruncated)
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"janus-pro-1b", cut, "download it again: `janus pull janus-pro-1b` (it resumes an interrupted download)"},
		{"my-model", cut, "download it again (`janus pull ORG/NAME`"},
		{"janus-pro-1b", errors.New("config.json: bad"), "config.json: bad"},
	}
	for _, tt := range tests {
		got := withLoadHint(tt.err, tt.name).Error()
		if !strings.Contains(got, tt.want) {
			t.Errorf("withLoadHint(%q, %q) = %q, want it to say %q", tt.err, tt.name, got, tt.want)
		}
	}
}
