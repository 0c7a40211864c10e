package tokenizer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
)

// vocabularies are the five fixture tokenizers with golden encodings.
var vocabularies = []string{"deepseek-llm", "deepseek_v3", "llama3", "qwen3", "gpt4o"}

type goldenLine struct {
	Text    string  `json:"text"`
	IDs     []int32 `json:"ids"`
	Decoded string  `json:"decoded"`
}

// readGolden reads a golden-<name>.jsonl file, split on '\n' only as its README asks.
func readGolden(t testing.TB, path string) []goldenLine {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var out []goldenLine
	for i, line := range bytes.Split(data, []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var g goldenLine
		if err := json.Unmarshal(line, &g); err != nil {
			t.Fatalf("%s line %d: %v", path, i+1, err)
		}
		out = append(out, g)
	}
	return out
}

// loadFixtureTokenizer loads one of the fixture vocabularies (folder form) or skips.
func loadFixtureTokenizer(t testing.TB, name string) (*Tokenizer, []goldenLine) {
	t.Helper()
	dir := fixtures.Path(t, "tokenizers", name)
	tok, err := Load(dir)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	golden := readGolden(t, filepath.Join(filepath.Dir(dir), "golden-"+name+".jsonl"))
	return tok, golden
}

// TestFixtureVocabularies loads each of the five fixture vocabularies once (a load is the
// costly part) and runs every check that needs a real vocabulary on it.
func TestFixtureVocabularies(t *testing.T) {
	checks := []struct {
		name  string
		check func(t *testing.T, name string, tok *Tokenizer, golden []goldenLine)
	}{
		{"golden encode and decode", checkGolden},
		{"merge strategies agree", checkMergeStrategies},
		{"special tokens as transformers", checkSpecialTokens},
		{"stream decoder matches Decode", checkStreamDecoder},
	}
	for _, name := range vocabularies {
		t.Run(name, func(t *testing.T) {
			tok, golden := loadFixtureTokenizer(t, name)
			if len(golden) != 296 {
				t.Fatalf("golden has %d lines, want 296", len(golden))
			}
			for _, c := range checks {
				t.Run(c.name, func(t *testing.T) { c.check(t, name, tok, golden) })
			}
		})
	}
}

// checkGolden encodes and decodes every golden line.
func checkGolden(t *testing.T, _ string, tok *Tokenizer, golden []goldenLine) {
	bad := 0
	for i, g := range golden {
		ids := tok.Encode(g.Text, false)
		if !slices.Equal(ids, g.IDs) {
			bad++
			if bad <= 5 {
				t.Errorf("line %d %q:\n got %v\nwant %v", i+1, g.Text, ids, g.IDs)
			}
		}
		if got := tok.Decode(g.IDs, false); got != g.Decoded {
			bad++
			if bad <= 5 {
				t.Errorf("line %d decode:\n got %q\nwant %q", i+1, got, g.Decoded)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d mismatches", bad)
	}
}

// TestJanusProConfigOnBaseVocabulary puts Janus-Pro-1B's reconstructed config files beside the
// DeepSeek-LLM base tokenizer.json and checks the spec's example (§7.2): BOS first, no EOS.
func TestJanusProConfigOnBaseVocabulary(t *testing.T) {
	src := fixtures.Path(t, "tokenizers", "deepseek-llm", "tokenizer.json")
	cfgDir := fixtures.Path(t, "real-configs", "janus-pro-1b")
	dir := t.TempDir()
	for from, to := range map[string]string{
		src: "tokenizer.json",
		filepath.Join(cfgDir, "tokenizer_config.json"):   "tokenizer_config.json",
		filepath.Join(cfgDir, "special_tokens_map.json"): "special_tokens_map.json",
	} {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{100000, 17464, 11, 946, 418, 340, 30}
	if got := tok.Encode("Hello, how are you?", true); !slices.Equal(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
	if bos, ok := tok.BOS(); !ok || bos != 100000 {
		t.Errorf("BOS = %d, %v", bos, ok)
	}
	if eos, ok := tok.EOS(); !ok || eos != 100001 {
		t.Errorf("EOS = %d, %v", eos, ok)
	}
	// The base vocabulary has no pad token; the name comes from the config.
	if _, ok := tok.Pad(); ok {
		t.Error("the base vocabulary has no <｜▁pad▁｜>")
	}
}

// checkMergeStrategies checks that the linear-scan merge of short words and the heap merge
// of long ones give the same tokens, on every word of the golden corpus.
func checkMergeStrategies(t *testing.T, _ string, tok *Tokenizer, golden []goldenLine) {
	var ps pipelineScratch
	var ws wordScratch
	for _, g := range golden {
		for _, word := range tok.pre.run(nil, g.Text, &ps) {
			ids := tok.model.initialSymbols(nil, word, tok.pre.rawBytes, &ws)
			small := tok.model.mergeSmall(slices.Clone(ids), &ws)
			syms := make([]symbol, len(ids))
			for i, id := range ids {
				syms[i] = symbol{id: id, prev: int32(i) - 1, next: int32(i) + 1}
			}
			if len(syms) == 0 {
				continue
			}
			syms[len(syms)-1].next = -1
			tok.model.mergeSymbols(syms, &ws)
			var heap []int32
			for _, s := range syms {
				if !s.dead {
					heap = append(heap, s.id)
				}
			}
			if !slices.Equal(small, heap) {
				t.Fatalf("word %q: linear %v, heap %v", word, small, heap)
			}
		}
	}
}

// checkSpecialTokens checks Encode(text, true) for the fixture folders against what the
// tokenizers README says transformers does: LlamaTokenizerFast with add_bos_token prepends
// the BOS; the other classes keep their ByteLevel (or no) post-processor.
func checkSpecialTokens(t *testing.T, name string, tok *Tokenizer, golden []goldenLine) {
	prefix, ok := map[string][]int32{"deepseek-llm": {100000}, "deepseek_v3": {0}, "llama3": nil, "qwen3": nil, "gpt4o": nil}[name]
	if !ok {
		t.Fatalf("no expected prefix for %s", name)
	}
	for _, g := range golden[:20] {
		want := append(slices.Clone(prefix), g.IDs...)
		if got := tok.Encode(g.Text, true); !slices.Equal(got, want) {
			t.Errorf("Encode(%q, true) = %v, want %v", g.Text, got, want)
		}
	}
}
