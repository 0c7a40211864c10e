package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
)

// testTokenizer is the tokenizer package's hand-made byte-level tokenizer.
var testTokenizer = filepath.Join("..", "..", "model", "tokenizer", "testdata", "bytelevel")

func TestTokenizeGolden(t *testing.T) {
	// deepseek-llm is Janus' base vocabulary; the file form is what --tokenizer FILE takes.
	path := fixtures.Path(t, "tokenizers", "golden-deepseek-llm.jsonl")
	file := fixtures.Path(t, "tokenizers", "deepseek-llm", "tokenizer.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var texts, idLines, decoded bytes.Buffer
	var want []string
	var wantDecoded []string
	for _, line := range bytes.Split(data, []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var g struct {
			Text    string          `json:"text"`
			IDs     json.RawMessage `json:"ids"`
			Decoded string          `json:"decoded"`
		}
		if err := json.Unmarshal(line, &g); err != nil {
			t.Fatal(err)
		}
		q, _ := json.Marshal(g.Text)
		texts.Write(append(q, '\n'))
		idLines.Write(append([]byte(g.IDs), '\n'))
		want = append(want, string(g.IDs))
		wantDecoded = append(wantDecoded, g.Decoded)
	}
	var out bytes.Buffer
	if err := runTokenize([]string{"--tokenizer", file}, &texts, &out, os.Stderr); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("%d output lines, want %d", len(got), len(want))
	}
	for i := range want {
		var g, w []int32
		if err := json.Unmarshal([]byte(got[i]), &g); err != nil {
			t.Fatalf("output line %d %q: %v", i+1, got[i], err)
		}
		json.Unmarshal([]byte(want[i]), &w)
		if !equalIDs(g, w) {
			t.Errorf("line %d: %s, want %s", i+1, got[i], want[i])
		}
	}
	if err := runTokenize([]string{"-tokenizer", filepath.Dir(file), "--decode"}, &idLines, &decoded, os.Stderr); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(decoded.String(), "\n"), "\n")
	if len(lines) != len(wantDecoded) {
		t.Fatalf("%d decoded lines, want %d", len(lines), len(wantDecoded))
	}
	for i, l := range lines {
		var s string
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatalf("decoded line %d %q: %v", i+1, l, err)
		}
		if s != wantDecoded[i] {
			t.Errorf("decoded line %d: %q, want %q", i+1, s, wantDecoded[i])
		}
	}
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTokenize(t *testing.T) {
	// Ids of the test tokenizer (see its testdata README): bytes are their own ids, the merged
	// tokens "he" 256, "Ġworld" 266 and "Hello" 270, the added tokens <|bos|> 276, <|eos|> 277.
	tests := []struct {
		name    string
		args    []string
		input   string
		want    string
		wantErr string
	}{
		{"encode", nil, "\"Hello world\"\n\"a<|bos|>b\"\r\n\"\"", "[270,266]\n[97,276,98]\n[]\n", ""},
		{"encode with BOS", []string{"--add-special"}, `"the"`, "[276,116,256]\n", ""},
		{"decode keeps specials and spaces", []string{"--decode"}, "[276,32,32,104,105,277]\n[]\n", "\"<|bos|>  hi<|eos|>\"\n\"\"\n", ""},
		{"decode skipping specials", []string{"--decode", "--skip-special"}, "[276,104,105,277]", "\"hi\"\n", ""},
		{"decode keeps < > & readable", []string{"--decode"}, "[60,38,62]", "\"<&>\"\n", ""},
		{"no input", nil, "", "", ""},
		{"bad string line", nil, "\"ok\"\nnot json\n", "[111,107]\n", `input line 2 is not a JSON string: each line must be text in double quotes, e.g. "Hello"`},
		{"unquoted text", nil, "Hello\n", "", `input line 1 is not a JSON string: each line must be text in double quotes, e.g. "Hello" (jq -R . quotes plain lines)`},
		{"bad escape", nil, `"a\q"`, "", `input line 1 is not a valid JSON string (write " and \ inside it as \" and \\): invalid character 'q'`},
		{"number instead of string", nil, "42", "", "input line 1 is not a JSON string: each line must be"},
		{"blank lines are skipped", nil, "\"a\"\n\n  \r\n\"b\"\n\n", "[97]\n[98]\n", ""},
		{"blank lines are skipped when decoding", []string{"--decode"}, "\n[97]\n\n[98]\n", "\"a\"\n\"b\"\n", ""},
		{"id beyond the vocabulary", []string{"--decode"}, "[97]\n[97,5000]", "\"a\"\n", "input line 2: id 5000 at index 1 is out of range"},
		{"bad ids", []string{"--decode"}, "[1,2]\n[1,\"x\"]", "\"\\u0001\\u0002\"\n", "input line 2 is not a JSON array of integer ids, e.g. [270,266]"},
		{"negative id", []string{"--decode"}, "[-1]", "", "out of range"},
		{"huge id", []string{"--decode"}, "[4294967296]", "", "out of range"},
		{"fractional id", []string{"--decode"}, "[1.5]", "", "input line 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"--tokenizer", testTokenizer}, tc.args...)
			err := runTokenize(args, strings.NewReader(tc.input), &out, &errOut)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("error %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
			}
			if out.String() != tc.want {
				t.Errorf("output %q, want %q", out.String(), tc.want)
			}
		})
	}
}

func TestTokenizeFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no tokenizer", nil, "--tokenizer is required"},
		{"folder without a tokenizer", []string{"--tokenizer", t.TempDir()}, "has no tokenizer.json"},
		{"missing tokenizer", []string{"--tokenizer", filepath.Join(t.TempDir(), "none")}, "none does not exist"},
		{"stray argument", []string{"--tokenizer", testTokenizer, "extra"}, "unexpected argument"},
		{"unknown flag", []string{"--nope"}, "nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var errOut bytes.Buffer
			err := runTokenize(tc.args, strings.NewReader(""), &bytes.Buffer{}, &errOut)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want one mentioning %q", err, tc.wantErr)
			}
			if errOut.Len() > 0 { // the error is the one line run prints, not the usage
				t.Errorf("stderr %q", errOut.String())
			}
		})
	}
	var out bytes.Buffer
	if err := runTokenize([]string{"-h"}, strings.NewReader(""), &out, &bytes.Buffer{}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
	if !strings.Contains(out.String(), "usage: janus tokenize") {
		t.Errorf("help text %q", out.String())
	}
}
