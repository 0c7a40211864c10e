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

func TestGoldenEncodeDecode(t *testing.T) {
	for _, name := range vocabularies {
		t.Run(name, func(t *testing.T) {
			tok, golden := loadFixtureTokenizer(t, name)
			if len(golden) != 296 {
				t.Fatalf("golden has %d lines, want 296", len(golden))
			}
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
		})
	}
}
