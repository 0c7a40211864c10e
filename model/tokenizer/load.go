package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// fileJSON is the part of tokenizer.json the tokenizer uses.
type fileJSON struct {
	AddedTokens   []addedTokenJSON `json:"added_tokens"`
	Normalizer    json.RawMessage  `json:"normalizer"`
	PreTokenizer  json.RawMessage  `json:"pre_tokenizer"`
	PostProcessor json.RawMessage  `json:"post_processor"`
	Decoder       json.RawMessage  `json:"decoder"`
	Model         *modelJSON       `json:"model"`
}

type addedTokenJSON struct {
	ID         *int64 `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized *bool  `json:"normalized"`
	Special    bool   `json:"special"`
}

type modelJSON struct {
	Type                    string           `json:"type"`
	Dropout                 *float64         `json:"dropout"`
	UnkToken                *string          `json:"unk_token"`
	ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
	FuseUnk                 bool             `json:"fuse_unk"`
	ByteFallback            bool             `json:"byte_fallback"`
	IgnoreMerges            bool             `json:"ignore_merges"`
	Vocab                   map[string]int32 `json:"vocab"`
	Merges                  json.RawMessage  `json:"merges"`
}

// componentJSON holds the fields of every normalizer, pre-tokenizer, post-processor and
// decoder type this package understands; "type" says which ones apply.
type componentJSON struct {
	Type string `json:"type"`

	Normalizers   []json.RawMessage `json:"normalizers"`
	Pretokenizers []json.RawMessage `json:"pretokenizers"`
	Processors    []json.RawMessage `json:"processors"`
	Decoders      []json.RawMessage `json:"decoders"`

	Pattern  *patternJSON    `json:"pattern"`
	Content  json.RawMessage `json:"content"`
	Behavior string          `json:"behavior"`
	Invert   bool            `json:"invert"`

	AddPrefixSpace   *bool `json:"add_prefix_space"`
	UseRegex         *bool `json:"use_regex"`
	IndividualDigits bool  `json:"individual_digits"`

	StripLeft  bool   `json:"strip_left"`
	StripRight bool   `json:"strip_right"`
	Prepend    string `json:"prepend"`
	Start      int    `json:"start"`
	Stop       int    `json:"stop"`

	Single        []templateItemJSON                  `json:"single"`
	SpecialTokens map[string]templateSpecialTokenJSON `json:"special_tokens"`
	Sep           json.RawMessage                     `json:"sep"`
	Cls           json.RawMessage                     `json:"cls"`
}

type patternJSON struct {
	Regex  *string `json:"Regex"`
	String *string `json:"String"`
}

type templateItemJSON struct {
	SpecialToken *struct {
		ID string `json:"id"`
	} `json:"SpecialToken"`
	Sequence *struct {
		ID string `json:"id"`
	} `json:"Sequence"`
}

type templateSpecialTokenJSON struct {
	ID  string  `json:"id"`
	IDs []int64 `json:"ids"`
}

// isNull reports whether a raw JSON value is absent or null.
func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

func parseComponent(raw json.RawMessage, what string) (*componentJSON, error) {
	var c componentJSON
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return &c, nil
}

// Load reads a tokenizer. path is either a tokenizer.json file, used on its own as Hugging
// Face's tokenizers library would, or a model folder holding tokenizer.json, whose
// tokenizer_config.json and special_tokens_map.json are then read as transformers'
// AutoTokenizer would (special-token names, add_bos_token / add_eos_token).
func Load(path string) (*Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	file := path
	var cfg *transformersConfig
	if st.IsDir() {
		file = filepath.Join(path, "tokenizer.json")
		cfg, err = readTransformersConfig(path)
		if err != nil {
			return nil, err
		}
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	t, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", file, err)
	}
	if cfg != nil {
		if err := t.applyConfig(cfg); err != nil {
			return nil, fmt.Errorf("load tokenizer config in %s: %w", path, err)
		}
	}
	return t, nil
}

// Parse builds a tokenizer from the contents of a tokenizer.json file alone.
func Parse(data []byte) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("decode tokenizer.json: %w", err)
	}
	if f.Model == nil {
		return nil, errors.New("tokenizer.json has no model")
	}
	t := &Tokenizer{}
	var err error
	if t.model, err = buildBPE(f.Model); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if !isNull(f.Normalizer) {
		if t.normalizer, err = buildNormalizer(f.Normalizer, 0); err != nil {
			return nil, fmt.Errorf("normalizer: %w", err)
		}
	}
	if !isNull(f.PreTokenizer) {
		if err = t.pre.build(f.PreTokenizer); err != nil {
			return nil, fmt.Errorf("pre_tokenizer: %w", err)
		}
	}
	if err = t.buildAdded(f.AddedTokens); err != nil {
		return nil, fmt.Errorf("added_tokens: %w", err)
	}
	if !isNull(f.PostProcessor) {
		if t.post, err = t.buildPostProcessor(f.PostProcessor, 0); err != nil {
			return nil, fmt.Errorf("post_processor: %w", err)
		}
	}
	if isNull(f.Decoder) {
		t.dec.joinWithSpace = true
	} else if err = t.dec.build(f.Decoder, 0); err != nil {
		return nil, fmt.Errorf("decoder: %w", err)
	}
	t.finish()
	return t, nil
}

// maxNesting bounds Sequence nesting so that hostile files cannot exhaust the stack.
const maxNesting = 32

func buildBPE(m *modelJSON) (*bpeModel, error) {
	if m.Type != "" && m.Type != "BPE" {
		return nil, fmt.Errorf("model type %q is not supported (only BPE)", m.Type)
	}
	if m.Vocab == nil {
		return nil, errors.New("BPE model has no vocab")
	}
	if m.Dropout != nil && *m.Dropout > 0 {
		return nil, fmt.Errorf("BPE dropout %v is not supported (inference needs none)", *m.Dropout)
	}
	if m.ByteFallback {
		return nil, errors.New("BPE byte_fallback is not supported (byte-level vocabularies need none)")
	}
	b := &bpeModel{
		vocab:        m.Vocab,
		merges:       make(map[uint64]mergeTarget),
		unk:          -1,
		fuseUnk:      m.FuseUnk,
		ignoreMerges: m.IgnoreMerges,
		cache:        make(map[string][]int32),
		cacheCap:     defaultCacheEntries,
	}
	if m.ContinuingSubwordPrefix != nil {
		b.prefix = *m.ContinuingSubwordPrefix
	}
	if m.EndOfWordSuffix != nil {
		b.suffix = *m.EndOfWordSuffix
	}
	for tok, id := range m.Vocab {
		if id < 0 || id > maxTokenID {
			return nil, fmt.Errorf("vocab entry %q has id %d out of range", tok, id)
		}
	}
	for i := range b.byteIDs {
		b.byteIDs[i] = -1
		if id, ok := b.vocab[string(byteChars[i])]; ok {
			b.byteIDs[i] = id
		}
	}
	if m.UnkToken != nil && *m.UnkToken != "" {
		id, ok := b.vocab[*m.UnkToken]
		if !ok {
			return nil, fmt.Errorf("unk_token %q is not in the vocab", *m.UnkToken)
		}
		b.unk = id
	}
	pairs, err := parseMerges(m.Merges)
	if err != nil {
		return nil, err
	}
	for rank, p := range pairs {
		a, ok := b.vocab[p[0]]
		if !ok {
			return nil, fmt.Errorf("merge %d: token %q is not in the vocab", rank+1, p[0])
		}
		c, ok := b.vocab[p[1]]
		if !ok {
			return nil, fmt.Errorf("merge %d: token %q is not in the vocab", rank+1, p[1])
		}
		merged := p[0] + strings.TrimPrefix(p[1], b.prefix)
		id, ok := b.vocab[merged]
		if !ok {
			return nil, fmt.Errorf("merge %d: merged token %q is not in the vocab", rank+1, merged)
		}
		// A repeated pair keeps its last rank, as HF's HashMap collection does.
		b.merges[pairKey(a, c)] = mergeTarget{rank: int32(rank), id: id}
	}
	return b, nil
}

// maxTokenID bounds ids so that id-indexed tables stay allocatable; real vocabularies use
// well under a million.
const maxTokenID = 1<<24 - 1

// parseMerges reads merges in either form HF writes: "a b" strings or ["a", "b"] pairs.
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var asStrings []string
	if err := json.Unmarshal(raw, &asStrings); err == nil {
		out := make([][2]string, 0, len(asStrings))
		for i, line := range asStrings {
			if strings.HasPrefix(line, "#version") {
				continue
			}
			a, b, ok := strings.Cut(line, " ")
			if !ok || strings.Contains(b, " ") {
				return nil, fmt.Errorf("merge %d (%q) is not two tokens separated by one space", i+1, line)
			}
			out = append(out, [2]string{a, b})
		}
		return out, nil
	}
	var asPairs [][]string
	if err := json.Unmarshal(raw, &asPairs); err != nil {
		return nil, fmt.Errorf("merges are neither \"a b\" strings nor [a, b] pairs: %w", err)
	}
	out := make([][2]string, len(asPairs))
	for i, p := range asPairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("merge %d has %d parts, want 2", i+1, len(p))
		}
		out[i] = [2]string{p[0], p[1]}
	}
	return out, nil
}

func buildNormalizer(raw json.RawMessage, depth int) (normalizer, error) {
	if depth > maxNesting {
		return nil, errors.New("normalizer sequence nested too deeply")
	}
	c, err := parseComponent(raw, "normalizer")
	if err != nil {
		return nil, err
	}
	switch c.Type {
	case "NFC":
		return unicodeForm{norm.NFC}, nil
	case "NFD":
		return unicodeForm{norm.NFD}, nil
	case "NFKC":
		return unicodeForm{norm.NFKC}, nil
	case "NFKD":
		return unicodeForm{norm.NFKD}, nil
	case "Sequence":
		var seq normalizerSequence
		for i, sub := range c.Normalizers {
			n, err := buildNormalizer(sub, depth+1)
			if err != nil {
				return nil, fmt.Errorf("sequence item %d: %w", i, err)
			}
			if n != nil {
				seq = append(seq, n)
			}
		}
		if len(seq) == 0 {
			return nil, nil
		}
		return seq, nil
	case "Replace":
		pat, err := buildPattern(c.Pattern, behaviorIsolated, false)
		if err != nil {
			return nil, fmt.Errorf("Replace: %w", err)
		}
		var content string
		if err := json.Unmarshal(c.Content, &content); err != nil {
			return nil, fmt.Errorf("Replace content: %w", err)
		}
		return replaceNormalizer{pattern: pat, content: content}, nil
	case "Prepend":
		return prependNormalizer{c.Prepend}, nil
	case "Strip":
		return stripNormalizer{left: c.StripLeft, right: c.StripRight}, nil
	case "ByteLevel":
		return byteLevelNormalizer{}, nil
	}
	return nil, fmt.Errorf("normalizer type %q is not supported", c.Type)
}

func buildPattern(p *patternJSON, b splitBehavior, invert bool) (*regexSplit, error) {
	if p == nil {
		return nil, errors.New("missing pattern")
	}
	r := &regexSplit{behavior: b, invert: invert}
	switch {
	case p.Regex != nil:
		re, err := compileRegex(*p.Regex)
		if err != nil {
			return nil, err
		}
		r.re = re
	case p.String != nil:
		r.literal = *p.String
	default:
		return nil, errors.New("pattern is neither Regex nor String")
	}
	return r, nil
}

// build fills the pipeline from a pre_tokenizer description; Sequences are flattened, which
// does not change their meaning.
func (p *pipeline) build(raw json.RawMessage) error {
	if err := p.add(raw, 0); err != nil {
		return err
	}
	if n := len(p.steps); n > 0 {
		if bl, ok := p.steps[n-1].(*byteLevel); ok {
			bl.mapChars = false
			p.rawBytes = true
		}
	}
	return nil
}

func (p *pipeline) add(raw json.RawMessage, depth int) error {
	if depth > maxNesting {
		return errors.New("pre-tokenizer sequence nested too deeply")
	}
	c, err := parseComponent(raw, "pre-tokenizer")
	if err != nil {
		return err
	}
	switch c.Type {
	case "Sequence":
		for i, sub := range c.Pretokenizers {
			if err := p.add(sub, depth+1); err != nil {
				return fmt.Errorf("sequence item %d: %w", i, err)
			}
		}
		return nil
	case "Split":
		b, err := parseBehavior(c.Behavior)
		if err != nil {
			return fmt.Errorf("Split: %w", err)
		}
		r, err := buildPattern(c.Pattern, b, c.Invert)
		if err != nil {
			return fmt.Errorf("Split: %w", err)
		}
		p.steps = append(p.steps, r)
	case "ByteLevel":
		bl := &byteLevel{addPrefixSpace: true, mapChars: true}
		if c.AddPrefixSpace != nil {
			bl.addPrefixSpace = *c.AddPrefixSpace
		}
		if c.UseRegex == nil || *c.UseRegex {
			re, err := compileRegex(gpt2Pattern)
			if err != nil {
				return err
			}
			bl.regex = &regexSplit{re: re, behavior: behaviorIsolated}
		}
		p.steps = append(p.steps, bl)
	case "Digits":
		b := behaviorContiguous
		if c.IndividualDigits {
			b = behaviorIsolated
		}
		p.steps = append(p.steps, &runeSplit{pred: isNumeric, behavior: b})
	case "Punctuation":
		b := behaviorIsolated
		if c.Behavior != "" {
			if b, err = parseBehavior(c.Behavior); err != nil {
				return fmt.Errorf("Punctuation: %w", err)
			}
		}
		p.steps = append(p.steps, &runeSplit{pred: isPunctuation, behavior: b})
	case "WhitespaceSplit":
		p.steps = append(p.steps, &runeSplit{pred: isWhiteSpace, behavior: behaviorRemoved})
	case "Whitespace":
		re, err := compileRegex(`\w+|[^\w\s]+`)
		if err != nil {
			return err
		}
		p.steps = append(p.steps, &regexSplit{re: re, behavior: behaviorRemoved, invert: true})
	default:
		return fmt.Errorf("pre-tokenizer type %q is not supported", c.Type)
	}
	return nil
}
