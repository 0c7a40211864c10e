package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// byteVocab returns a vocab with the 256 byte-level characters at ids 0..255 (id = byte) and
// the given extra tokens, written as plain text and converted to the alphabet, from id 256.
func byteVocab(extra ...string) map[string]int {
	v := make(map[string]int)
	for b := 0; b < 256; b++ {
		v[string(byteChars[b])] = b
	}
	for _, e := range extra {
		if _, ok := v[byteLevelString(e)]; !ok {
			v[byteLevelString(e)] = len(v)
		}
	}
	return v
}

// byteMerges converts plain-text merge pairs to "a b" lines in the byte-level alphabet.
func byteMerges(pairs ...[2]string) []string {
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = byteLevelString(p[0]) + " " + byteLevelString(p[1])
	}
	return out
}

// tokenizerJSON builds a tokenizer.json; model holds the BPE fields, parts the top-level
// pipeline entries (normalizer, pre_tokenizer, added_tokens, ...).
func tokenizerJSON(t testing.TB, model map[string]any, parts map[string]any) []byte {
	t.Helper()
	m := map[string]any{"type": "BPE"}
	for k, v := range model {
		m[k] = v
	}
	doc := map[string]any{"model": m}
	for k, v := range parts {
		doc[k] = v
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustParse(t testing.TB, data []byte) *Tokenizer {
	t.Helper()
	tok, err := Parse(data)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return tok
}

// byteLevelPre is the usual final pre-tokenizer step.
var byteLevelPre = map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}

// idsOf encodes each text with the vocab of tok, token by token, for building expectations.
func idsOf(t testing.TB, tok *Tokenizer, tokens ...string) []int32 {
	t.Helper()
	var out []int32
	for _, s := range tokens {
		id, ok := tok.TokenID(s)
		if !ok {
			if id, ok = tok.TokenID(byteLevelString(s)); !ok {
				t.Fatalf("no token %q", s)
			}
		}
		out = append(out, id)
	}
	return out
}

func TestMergeForms(t *testing.T) {
	vocab := byteVocab("ab", "bc", "abc")
	pairs := [][2]string{{"a", "b"}, {"b", "c"}, {"ab", "c"}}
	asPairs := make([][]string, len(pairs))
	for i, p := range pairs {
		asPairs[i] = []string{byteLevelString(p[0]), byteLevelString(p[1])}
	}
	reversed := [][2]string{{"b", "c"}, {"a", "b"}, {"ab", "c"}}
	tests := []struct {
		name   string
		merges any
		text   string
		want   []string
	}{
		{"strings", byteMerges(pairs...), "abc", []string{"abc"}},
		{"pairs", asPairs, "abc", []string{"abc"}},
		{"rank decides", byteMerges(reversed...), "abc", []string{"a", "bc"}},
		{"version header skipped", append([]string{"#version: 0.2"}, byteMerges(pairs...)...), "abc", []string{"abc"}},
		{"leftmost first on ties", byteMerges([2]string{"a", "a"}), "aaa", []string{"aa", "a"}},
		{"no merges", []string{}, "abc", []string{"a", "b", "c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := vocab
			if tc.name == "leftmost first on ties" {
				v = byteVocab("aa")
			}
			tok := mustParse(t, tokenizerJSON(t, map[string]any{"vocab": v, "merges": tc.merges},
				map[string]any{"pre_tokenizer": byteLevelPre, "decoder": map[string]any{"type": "ByteLevel"}}))
			if got, want := tok.Encode(tc.text, false), idsOf(t, tok, tc.want...); !slices.Equal(got, want) {
				t.Errorf("Encode(%q) = %v, want %v", tc.text, got, want)
			}
			if got := tok.Decode(tok.Encode(tc.text, false), false); got != tc.text {
				t.Errorf("round trip %q -> %q", tc.text, got)
			}
		})
	}
}

func TestIgnoreMerges(t *testing.T) {
	// "abc" is in the vocab but no merge builds it.
	for _, ignore := range []bool{false, true} {
		tok := mustParse(t, tokenizerJSON(t, map[string]any{
			"vocab": byteVocab("ab", "abc"), "merges": byteMerges([2]string{"a", "b"}), "ignore_merges": ignore,
		}, map[string]any{"pre_tokenizer": byteLevelPre}))
		want := idsOf(t, tok, "ab", "c")
		if ignore {
			want = idsOf(t, tok, "abc")
		}
		if got := tok.Encode("abc", false); !slices.Equal(got, want) {
			t.Errorf("ignore_merges=%v: Encode = %v, want %v", ignore, got, want)
		}
	}
}

func TestUnknownCharacters(t *testing.T) {
	// A character-level BPE (no byte-level alphabet) with and without an unknown token.
	vocab := map[string]int{"<unk>": 0, "a": 1, "b": 2, "ab": 3}
	merges := []string{"a b"}
	tests := []struct {
		name  string
		model map[string]any
		text  string
		want  []int32
	}{
		// Dropped characters leave a and b adjacent, so they merge.
		{"no unk drops", map[string]any{}, "axyb", []int32{3}},
		{"unk each", map[string]any{"unk_token": "<unk>"}, "axyab", []int32{1, 0, 0, 3}},
		{"unk fused", map[string]any{"unk_token": "<unk>", "fuse_unk": true}, "axyab", []int32{1, 0, 3}},
		{"unk blocks merge", map[string]any{"unk_token": "<unk>"}, "axb", []int32{1, 0, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			model := map[string]any{"vocab": vocab, "merges": merges}
			for k, v := range tc.model {
				model[k] = v
			}
			tok := mustParse(t, tokenizerJSON(t, model, nil))
			if got := tok.Encode(tc.text, false); !slices.Equal(got, tc.want) {
				t.Errorf("Encode(%q) = %v, want %v", tc.text, got, tc.want)
			}
		})
	}
}

func TestSubwordPrefixAndSuffix(t *testing.T) {
	vocab := map[string]int{"a": 0, "##b": 1, "##c": 2, "a##b": 3, "ab": 4, "b": 5, "c</w>": 6, "##c</w>": 7}
	tests := []struct {
		name   string
		model  map[string]any
		merges []string
		text   string
		want   []int32
	}{
		// With a prefix, the merged token is a + b without b's prefix.
		{"prefix", map[string]any{"continuing_subword_prefix": "##"}, []string{"a ##b"}, "abc", []int32{4, 2}},
		{"suffix", map[string]any{"end_of_word_suffix": "</w>"}, nil, "abc", []int32{0, 5, 6}},
		{"both", map[string]any{"continuing_subword_prefix": "##", "end_of_word_suffix": "</w>"}, nil, "ac", []int32{0, 7}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			model := map[string]any{"vocab": vocab, "merges": tc.merges}
			for k, v := range tc.model {
				model[k] = v
			}
			tok := mustParse(t, tokenizerJSON(t, model, nil))
			if got := tok.Encode(tc.text, false); !slices.Equal(got, tc.want) {
				t.Errorf("Encode(%q) = %v, want %v", tc.text, got, tc.want)
			}
		})
	}
}

// preTokenize runs only the pre-tokenizer of a tokenizer built from the given description.
func preTokenize(t *testing.T, pre any, text string) []string {
	t.Helper()
	tok := mustParse(t, tokenizerJSON(t, map[string]any{"vocab": byteVocab(), "merges": []string{}},
		map[string]any{"pre_tokenizer": pre}))
	var ps pipelineScratch
	return tok.pre.run(nil, text, &ps)
}

func TestSplitBehaviors(t *testing.T) {
	// The expectations are those of HF's own NormalizedString::split tests.
	dash := map[string]any{"String": "-"}
	tests := []struct {
		behavior string
		pattern  map[string]any
		invert   bool
		text     string
		want     []string
	}{
		{"Removed", dash, false, "The-final--countdown", []string{"The", "final", "countdown"}},
		{"Isolated", dash, false, "The-final--countdown", []string{"The", "-", "final", "-", "-", "countdown"}},
		{"MergedWithPrevious", dash, false, "The-final--countdown", []string{"The-", "final-", "-", "countdown"}},
		{"MergedWithNext", dash, false, "The-final--countdown", []string{"The", "-final", "-", "-countdown"}},
		{"Contiguous", dash, false, "The-final--countdown", []string{"The", "-", "final", "--", "countdown"}},
		// Inverted, the matches are what is kept: Removed drops the text between them.
		{"Removed", map[string]any{"Regex": `\w+`}, true, "The-final--countdown", []string{"The", "final", "countdown"}},
		{"Isolated", map[string]any{"Regex": `\s+$`}, false, "a b  ", []string{"a b", "  "}},
		{"Isolated", map[string]any{"Regex": `\s+(?!\S)|\s+`}, false, "a   b", []string{"a", "  ", " ", "b"}},
		{"Removed", map[string]any{"Regex": `\s+`}, true, "  x  ", []string{"  ", "  "}},
		{"Isolated", map[string]any{"String": "ab"}, false, "xababy", []string{"x", "ab", "ab", "y"}},
	}
	for _, tc := range tests {
		t.Run(tc.behavior, func(t *testing.T) {
			pre := map[string]any{"type": "Split", "pattern": tc.pattern, "behavior": tc.behavior, "invert": tc.invert}
			if got := preTokenize(t, pre, tc.text); !slices.Equal(got, tc.want) {
				t.Errorf("split %q = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestPreTokenizers(t *testing.T) {
	tests := []struct {
		name string
		pre  any
		text string
		want []string
	}{
		{"digits individual", map[string]any{"type": "Digits", "individual_digits": true}, "a123b4", []string{"a", "1", "2", "3", "b", "4"}},
		{"digits contiguous", map[string]any{"type": "Digits"}, "a123b4", []string{"a", "123", "b", "4"}},
		{"digits are Unicode numeric", map[string]any{"type": "Digits", "individual_digits": true}, "x٣½Ⅻ", []string{"x", "٣", "½", "Ⅻ"}},
		{"byte level with regex and prefix space", map[string]any{"type": "ByteLevel"}, "Hello world's 42", []string{" Hello", " world", "'s", " 42"}},
		{"byte level prefix per piece", map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"String": "|"}, "behavior": "Removed"},
			map[string]any{"type": "ByteLevel", "add_prefix_space": true, "use_regex": false},
		}}, "a|b", []string{" a", " b"}},
		{"byte level not last maps characters", map[string]any{"type": "Sequence", "pretokenizers": []any{
			byteLevelPre,
			map[string]any{"type": "Split", "pattern": map[string]any{"String": "Ġ"}, "behavior": "MergedWithNext"},
		}}, "a b", []string{"a", "Ġb"}},
		{"whitespace split", map[string]any{"type": "WhitespaceSplit"}, " a\tb\u3000c ", []string{"a", "b", "c"}},
		{"punctuation", map[string]any{"type": "Punctuation"}, "a,b!", []string{"a", ",", "b", "!"}},
		{"whitespace", map[string]any{"type": "Whitespace"}, "hi, you!", []string{"hi", ",", "you", "!"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := preTokenize(t, tc.pre, tc.text); !slices.Equal(got, tc.want) {
				t.Errorf("pre-tokenize %q = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestNormalizers(t *testing.T) {
	tests := []struct {
		name       string
		normalizer any
		text, want string
	}{
		{"NFC", map[string]any{"type": "NFC"}, "e\u0301 \u212a", "\u00e9 K"},
		{"NFKC", map[string]any{"type": "NFKC"}, "ﬁ x² ｱ", "fi x2 ア"},
		{"NFD", map[string]any{"type": "NFD"}, "\u00e9", "e\u0301"},
		{"NFKD", map[string]any{"type": "NFKD"}, "ﬁ\u00e9", "fie\u0301"},
		{"empty sequence", map[string]any{"type": "Sequence", "normalizers": []any{}}, "e\u0301", "e\u0301"},
		{"sequence", map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "Strip", "strip_left": true, "strip_right": true},
			map[string]any{"type": "Replace", "pattern": map[string]any{"String": " "}, "content": "_"},
			map[string]any{"type": "Prepend", "prepend": ">"},
		}}, "  a b  ", ">a_b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := mustParse(t, tokenizerJSON(t, map[string]any{"vocab": byteVocab(), "merges": []string{}},
				map[string]any{"normalizer": tc.normalizer, "pre_tokenizer": byteLevelPre, "decoder": map[string]any{"type": "ByteLevel"}}))
			if got := tok.Decode(tok.Encode(tc.text, false), false); got != tc.want {
				t.Errorf("normalized %q = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestAddedTokens(t *testing.T) {
	added := func(content string, flags map[string]bool) map[string]any {
		a := map[string]any{"id": 300 + len(content), "content": content, "special": true, "normalized": false}
		for k, v := range flags {
			a[k] = v
		}
		return a
	}
	tests := []struct {
		name       string
		tokens     []map[string]any
		normalizer any
		text       string
		want       []string // tokens, added ones by content
	}{
		{"plain", []map[string]any{added("<x>", nil)}, nil, "a<x>b", []string{"a", "<x>", "b"}},
		{"longest first", []map[string]any{added("<x>", nil), added("<x><y>", nil)}, nil, "<x><y><x>", []string{"<x><y>", "<x>"}},
		{"lstrip", []map[string]any{added("<x>", map[string]bool{"lstrip": true})}, nil, "a  <x> b", []string{"a", "<x>", " ", "b"}},
		{"rstrip", []map[string]any{added("<x>", map[string]bool{"rstrip": true})}, nil, "a  <x>  b", []string{"a", " ", " ", "<x>", "b"}},
		{"single word rejected", []map[string]any{added("<x>", map[string]bool{"single_word": true})}, nil, "a<x>", []string{"a", "<", "x", ">"}},
		{"single word accepted", []map[string]any{added("<x>", map[string]bool{"single_word": true})}, nil, "a <x>.", []string{"a", " ", "<x>", "."}},
		{"raw match before normalizer", []map[string]any{added("x²", nil)}, map[string]any{"type": "NFKC"}, "x²x²", []string{"x²", "x²"}},
		{"normalized token matches normalized text", []map[string]any{added("x2", map[string]bool{"normalized": true})},
			map[string]any{"type": "NFKC"}, "ax²", []string{"a", "x2"}},
		{"normalized token pattern is normalized", []map[string]any{added("x²", map[string]bool{"normalized": true})},
			map[string]any{"type": "NFKC"}, "x2", []string{"x²"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := mustParse(t, tokenizerJSON(t, map[string]any{"vocab": byteVocab(), "merges": []string{}},
				map[string]any{"added_tokens": tc.tokens, "normalizer": tc.normalizer, "pre_tokenizer": byteLevelPre}))
			if got, want := tok.Encode(tc.text, false), idsOf(t, tok, tc.want...); !slices.Equal(got, want) {
				t.Errorf("Encode(%q) = %v, want %v (%q)", tc.text, got, want, tc.want)
			}
		})
	}
}

func TestPostProcessors(t *testing.T) {
	template := map[string]any{"type": "TemplateProcessing",
		"single": []any{
			map[string]any{"SpecialToken": map[string]any{"id": "<s>", "type_id": 0}},
			map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
			map[string]any{"SpecialToken": map[string]any{"id": "</s>", "type_id": 0}},
		},
		"special_tokens": map[string]any{"<s>": map[string]any{"id": "<s>", "ids": []int{300}}, "</s>": map[string]any{"id": "</s>", "ids": []int{301}}},
	}
	tests := []struct {
		name string
		post any
		want []int32
	}{
		{"none", nil, []int32{'a'}},
		{"byte level", map[string]any{"type": "ByteLevel"}, []int32{'a'}},
		{"template", template, []int32{300, 'a', 301}},
		{"sequence", map[string]any{"type": "Sequence", "processors": []any{map[string]any{"type": "ByteLevel"}, template}}, []int32{300, 'a', 301}},
		{"roberta", map[string]any{"type": "RobertaProcessing", "cls": []any{"<s>", 300}, "sep": []any{"</s>", 301}}, []int32{300, 'a', 301}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := mustParse(t, tokenizerJSON(t, map[string]any{"vocab": byteVocab(), "merges": []string{}},
				map[string]any{"post_processor": tc.post, "pre_tokenizer": byteLevelPre}))
			if got := tok.Encode("a", true); !slices.Equal(got, tc.want) {
				t.Errorf("Encode(a, true) = %v, want %v", got, tc.want)
			}
			if got := tok.Encode("a", false); !slices.Equal(got, []int32{'a'}) {
				t.Errorf("Encode(a, false) = %v", got)
			}
		})
	}
}

// writeModelFolder writes a tokenizer folder with the given files.
func writeModelFolder(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestConfigFiles(t *testing.T) {
	base := string(tokenizerJSON(t, map[string]any{"vocab": byteVocab(), "merges": []string{}}, map[string]any{
		"pre_tokenizer": byteLevelPre,
		"added_tokens": []any{
			map[string]any{"id": 300, "content": "<s>", "special": true},
			map[string]any{"id": 301, "content": "</s>", "special": true},
			map[string]any{"id": 302, "content": "<pad>", "special": true},
			map[string]any{"id": 303, "content": "<extra>", "special": false},
		},
	}))
	tests := []struct {
		name         string
		config, smap string
		wantIDs      []int32
		bos, eos     int32
		pad          int32 // -1: none
		extraSpecial bool
	}{
		{"llama defaults add BOS", `{"tokenizer_class": "LlamaTokenizerFast", "bos_token": {"content": "<s>"}, "eos_token": "</s>"}`, "",
			[]int32{300, 'a'}, 300, 301, -1, false},
		{"llama with EOS", `{"tokenizer_class": "LlamaTokenizer", "add_bos_token": true, "add_eos_token": true, "bos_token": "<s>", "eos_token": "</s>"}`, "",
			[]int32{300, 'a', 301}, 300, 301, -1, false},
		{"llama without BOS", `{"tokenizer_class": "LlamaTokenizerFast", "add_bos_token": false, "bos_token": "<s>", "eos_token": "</s>"}`, "",
			[]int32{'a'}, 300, 301, -1, false},
		{"other class keeps file", `{"tokenizer_class": "GPT2Tokenizer", "bos_token": "<s>", "eos_token": "</s>"}`, "",
			[]int32{'a'}, 300, 301, -1, false},
		{"pad from special tokens map", `{"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "pad_token": null}`,
			`{"pad_token": "<pad>", "additional_special_tokens": ["<extra>"]}`, []int32{300, 'a'}, 300, 301, 302, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"tokenizer.json": base, "tokenizer_config.json": tc.config}
			if tc.smap != "" {
				files["special_tokens_map.json"] = tc.smap
			}
			tok, err := Load(writeModelFolder(t, files))
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.Encode("a", true); !slices.Equal(got, tc.wantIDs) {
				t.Errorf("Encode(a, true) = %v, want %v", got, tc.wantIDs)
			}
			if id, ok := tok.BOS(); !ok || id != tc.bos {
				t.Errorf("BOS = %d, %v", id, ok)
			}
			if id, ok := tok.EOS(); !ok || id != tc.eos {
				t.Errorf("EOS = %d, %v", id, ok)
			}
			if id, ok := tok.Pad(); (tc.pad < 0 && ok) || (tc.pad >= 0 && id != tc.pad) {
				t.Errorf("Pad = %d, %v, want %d", id, ok, tc.pad)
			}
			if got := tok.IsSpecial(303); got != tc.extraSpecial {
				t.Errorf("IsSpecial(<extra>) = %v, want %v", got, tc.extraSpecial)
			}
		})
	}
}

func TestLoadFileIgnoresConfig(t *testing.T) {
	dir := filepath.Join("testdata", "bytelevel")
	fromDir, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fromFile.BOS(); ok {
		t.Error("a bare tokenizer.json should not know the BOS by name")
	}
	if id, ok := fromDir.Pad(); !ok || id != 278 {
		t.Errorf("Pad from special_tokens_map = %d, %v, want 278", id, ok)
	}
	note, _ := fromDir.TokenID("<note>")
	if !fromDir.IsSpecial(note) || fromFile.IsSpecial(note) {
		t.Error("<note> is special only through special_tokens_map.json")
	}
	if got := fromFile.Decode([]int32{note, 'x'}, true); got != "<note>x" {
		t.Errorf("a non-special added token must survive skipSpecial: %q", got)
	}
	if !fromDir.IsAdded(note) || fromDir.IsAdded('a') {
		t.Error("IsAdded wrong")
	}
	if got, want := fromDir.Encode("Hello world", true), fromFile.Encode("Hello world", true); !slices.Equal(got, want) {
		t.Errorf("the template post-processor should apply to both: %v vs %v", got, want)
	}
}

func TestAccessors(t *testing.T) {
	tok, err := Load(filepath.Join("testdata", "bytelevel"))
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.VocabSize(); got != 281 {
		t.Errorf("VocabSize = %d, want 281", got)
	}
	id, ok := tok.TokenID("Ġworld")
	if !ok {
		t.Fatal("no Ġworld")
	}
	if s, ok := tok.IDToken(id); !ok || s != "Ġworld" {
		t.Errorf("IDToken(%d) = %q, %v", id, s, ok)
	}
	for _, bad := range []int32{-1, 281, 1 << 30} {
		if _, ok := tok.IDToken(bad); ok {
			t.Errorf("IDToken(%d) should fail", bad)
		}
	}
	if got := tok.SpecialPrefix(); !slices.Equal(got, []int32{276}) {
		t.Errorf("SpecialPrefix = %v", got)
	}
	if got := tok.SpecialSuffix(); len(got) != 0 {
		t.Errorf("SpecialSuffix = %v", got)
	}
	if got := tok.Encode(" the world", false); !slices.Equal(got, idsOf(t, tok, " the", " world")) {
		t.Errorf("merges not applied: %v", got)
	}
}

func TestDecode(t *testing.T) {
	tok, err := Load(filepath.Join("testdata", "bytelevel"))
	if err != nil {
		t.Fatal(err)
	}
	zh := []byte("中")
	tests := []struct {
		name        string
		ids         []int32
		skipSpecial bool
		want        string
	}{
		{"special kept", []int32{276, 'h', 'i', 277}, false, "<|bos|>hi<|eos|>"},
		{"special skipped", []int32{276, 'h', 'i', 277}, true, "hi"},
		{"additional special token skipped", []int32{280, 'x'}, true, "x"},
		{"ids without token", []int32{'a', 5000, -3, 'b'}, false, "ab"},
		{"character split over tokens", []int32{int32(zh[0]), int32(zh[1]), int32(zh[2])}, false, "中"},
		{"truncated character", []int32{int32(zh[0]), int32(zh[1])}, false, "\uFFFD"},
		{"truncated before added token", []int32{int32(zh[0]), 279, int32(zh[2])}, false, "\uFFFD<image>\uFFFD"},
		{"empty", nil, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tok.Decode(tc.ids, tc.skipSpecial); got != tc.want {
				t.Errorf("Decode = %q, want %q", got, tc.want)
			}
			if got := streamDecode(tok, tc.ids, tc.skipSpecial); got != tc.want {
				t.Errorf("stream decode = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDecoders(t *testing.T) {
	vocab := map[string]int{"▁a": 0, "b": 1, "▁▁c": 2}
	tests := []struct {
		name    string
		decoder any
		want    string
	}{
		{"none joins with spaces", nil, "▁a b ▁▁c"},
		{"replace", map[string]any{"type": "Replace", "pattern": map[string]any{"String": "▁"}, "content": " "}, " ab  c"},
		{"sequence with strip and fuse", map[string]any{"type": "Sequence", "decoders": []any{
			map[string]any{"type": "Replace", "pattern": map[string]any{"String": "▁"}, "content": " "},
			map[string]any{"type": "Strip", "content": " ", "start": 1, "stop": 0},
			map[string]any{"type": "Fuse"},
		}}, "ab c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := mustParse(t, tokenizerJSON(t, map[string]any{"vocab": vocab, "merges": []string{}},
				map[string]any{"decoder": tc.decoder}))
			ids := []int32{0, 1, 2}
			if got := tok.Decode(ids, false); got != tc.want {
				t.Errorf("Decode = %q, want %q", got, tc.want)
			}
			if got := streamDecode(tok, ids, false); got != tc.want {
				t.Errorf("stream decode = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLossyUTF8(t *testing.T) {
	// Expected values follow the Unicode "maximal subpart" practice, as Rust's
	// String::from_utf8_lossy and WHATWG's TextDecoder produce them.
	const r = "\uFFFD"
	tests := []struct {
		in, want string
	}{
		{"abc", "abc"},
		{"\xe4\xb8\xad", "中"},
		{"\xe4\xb8", r},
		{"\xe4\xb8A", r + "A"},
		{"\xed\xa0\x80", r + r + r},
		{"\xc0\xaf", r + r},
		{"\xf4\x90\x80\x80", r + r + r + r},
		{"\xe0\x80\xaf", r + r + r},
		{"\xf0\x9f\x98", r},
		{"\xf0\x9f\x98\x80\xff", "😀" + r},
		{"\x80\x80", r + r},
	}
	for _, tc := range tests {
		if got := string(appendLossy(nil, []byte(tc.in))); got != tc.want {
			t.Errorf("lossy(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	valid := func(parts map[string]any, model map[string]any) string {
		m := map[string]any{"vocab": byteVocab(), "merges": []string{}}
		for k, v := range model {
			m[k] = v
		}
		return string(tokenizerJSON(t, m, parts))
	}
	tests := []struct {
		name, doc, want string
	}{
		{"empty", "", "not a JSON object"},
		{"truncated", `{"model": {"vocab": {"a": 0`, "JSON"},
		{"trailing", valid(nil, nil) + " x", "after the document"},
		{"no model", `{"normalizer": null}`, "not a tokenizer.json"},
		{"wrong model", valid(nil, map[string]any{"type": "WordPiece"}), "not supported"},
		{"negative id", `{"model": {"vocab": {"a": -1}}}`, "out of range"},
		{"huge id", `{"model": {"vocab": {"a": 99999999999}}}`, "out of range"},
		{"merge not in vocab", valid(nil, map[string]any{"merges": []string{"x y"}}), "not in the vocab"},
		{"merge bad form", valid(nil, map[string]any{"merges": []string{"abc"}}), "one space"},
		{"merge bad pair", valid(nil, map[string]any{"merges": [][]string{{"a"}}}), "want 2"},
		{"unk missing", valid(nil, map[string]any{"unk_token": "<unk>"}), "unk_token"},
		{"dropout", valid(nil, map[string]any{"dropout": 0.1}), "dropout"},
		{"byte fallback", valid(nil, map[string]any{"byte_fallback": true}), "byte_fallback"},
		{"bad regex", valid(map[string]any{"pre_tokenizer": map[string]any{"type": "Split", "pattern": map[string]any{"Regex": "("}, "behavior": "Isolated"}}, nil), "regex"},
		{"bad behavior", valid(map[string]any{"pre_tokenizer": map[string]any{"type": "Split", "pattern": map[string]any{"String": "x"}, "behavior": "Sideways"}}, nil), "behavior"},
		{"unknown pre-tokenizer", valid(map[string]any{"pre_tokenizer": map[string]any{"type": "Mystery"}}, nil), "Mystery"},
		{"unknown normalizer", valid(map[string]any{"normalizer": map[string]any{"type": "Mystery"}}, nil), "Mystery"},
		{"unknown decoder", valid(map[string]any{"decoder": map[string]any{"type": "Mystery"}}, nil), "Mystery"},
		{"decoder after byte level", valid(map[string]any{"decoder": map[string]any{"type": "Sequence", "decoders": []any{
			map[string]any{"type": "ByteLevel"}, map[string]any{"type": "Strip", "content": " ", "start": 1}}}}, nil), "after ByteLevel"},
		{"template without sequence", valid(map[string]any{"post_processor": map[string]any{"type": "TemplateProcessing", "single": []any{}}}, nil), "no $A"},
		{"template unknown token", valid(map[string]any{"post_processor": map[string]any{"type": "TemplateProcessing", "single": []any{
			map[string]any{"SpecialToken": map[string]any{"id": "<s>"}}, map[string]any{"Sequence": map[string]any{"id": "A"}}}}}, nil), "special_tokens"},
		{"added token without id", valid(map[string]any{"added_tokens": []any{map[string]any{"content": "x"}}}, nil), "no id"},
		{"deep nesting", `{"model": ` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`, "JSON"},
		{"bad escape", `{"model": {"vocab": {"\q": 0}}}`, "escape"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing path accepted")
	}
	dir := writeModelFolder(t, map[string]string{"tokenizer_config.json": "{}"})
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "tokenizer.json") {
		t.Errorf("folder without tokenizer.json: %v", err)
	}
	src, err := os.ReadFile(filepath.Join("testdata", "bytelevel", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]string{
		"bad config JSON":   `{"bos_token": `,
		"bad token entry":   `{"bos_token": 5}`,
		"BOS not a token":   `{"tokenizer_class": "LlamaTokenizerFast", "bos_token": "<nope>"}`,
		"EOS not a token":   `{"add_eos_token": true, "eos_token": "<nope>"}`,
		"BOS asked, absent": `{"add_bos_token": true}`,
	} {
		dir := writeModelFolder(t, map[string]string{"tokenizer.json": string(src), "tokenizer_config.json": cfg})
		if _, err := Load(dir); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestAddSpecialTokens(t *testing.T) {
	tok, err := Load(filepath.Join("testdata", "bytelevel"))
	if err != nil {
		t.Fatal(err)
	}
	ext := tok.AddSpecialTokens("<image>", "<new>", "<new>", "")
	id, ok := ext.TokenID("<new>")
	if !ok || id != int32(tok.VocabSize()) {
		t.Fatalf("<new> = %d, %v, want id %d", id, ok, tok.VocabSize())
	}
	if ext.VocabSize() != tok.VocabSize()+1 {
		t.Errorf("VocabSize = %d, want %d", ext.VocabSize(), tok.VocabSize()+1)
	}
	if old, _ := tok.TokenID("<image>"); old != 279 {
		t.Errorf("existing token moved: %d", old)
	}
	if _, ok := tok.TokenID("<new>"); ok {
		t.Error("the original tokenizer changed")
	}
	if got := ext.Encode("a<new>b", false); !slices.Equal(got, []int32{'a', id, 'b'}) {
		t.Errorf("Encode with the new token = %v", got)
	}
	if !ext.IsSpecial(id) || ext.Decode([]int32{id, 'x'}, true) != "x" {
		t.Error("the new token should be special")
	}
	note, _ := ext.TokenID("<note>")
	if !ext.IsSpecial(note) {
		t.Error("config-named special tokens must stay special")
	}
}
