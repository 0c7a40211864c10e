package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"golang.org/x/text/unicode/norm"
)

// fileJSON is the part of tokenizer.json the tokenizer uses besides the model.
type fileJSON struct {
	AddedTokens   []addedTokenJSON
	Normalizer    json.RawMessage
	PreTokenizer  json.RawMessage
	PostProcessor json.RawMessage
	Decoder       json.RawMessage
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

// modelJSON is tokenizer.json's "model"; vocab and merges are parsed by the scanner.
type modelJSON struct {
	Type                    string
	Dropout                 *float64
	UnkToken                *string
	ContinuingSubwordPrefix *string
	EndOfWordSuffix         *string
	FuseUnk                 bool
	ByteFallback            bool
	IgnoreMerges            bool
	Vocab                   map[string]int32
	Tokens                  []string        // id-indexed vocab, "" where an id has no token
	Merges                  json.RawMessage // raw JSON array, parsed once the vocab is known
}

// field returns where the model field key is decoded to, or nil for fields not used.
func (m *modelJSON) field(key string) any {
	switch key {
	case "type":
		return &m.Type
	case "dropout":
		return &m.Dropout
	case "unk_token":
		return &m.UnkToken
	case "continuing_subword_prefix":
		return &m.ContinuingSubwordPrefix
	case "end_of_word_suffix":
		return &m.EndOfWordSuffix
	case "fuse_unk":
		return &m.FuseUnk
	case "byte_fallback":
		return &m.ByteFallback
	case "ignore_merges":
		return &m.IgnoreMerges
	}
	return nil
}

// scanFile splits tokenizer.json into its parts, validating the whole document.
func scanFile(data []byte) (*fileJSON, *modelJSON, error) {
	sc := &jsonScanner{data: data}
	var f fileJSON
	var m *modelJSON
	if sc.peek() != '{' {
		return nil, nil, errors.New("tokenizer.json is not a JSON object")
	}
	err := sc.object(0, func(key string) error {
		switch key {
		case "model":
			if sc.isNullAt() {
				m = nil
				return nil
			}
			m = &modelJSON{}
			return sc.object(1, func(mk string) error {
				switch mk {
				case "vocab":
					if sc.isNullAt() {
						m.Vocab, m.Tokens = nil, nil
						return nil
					}
					v, tokens, err := sc.parseVocab()
					if err != nil {
						return fmt.Errorf("model.vocab: %w", err)
					}
					m.Vocab, m.Tokens = v, tokens
					return nil
				case "merges":
					raw, err := sc.rawValue(2)
					m.Merges = raw
					return err
				}
				raw, err := sc.rawValue(2)
				if err != nil {
					return err
				}
				if dst := m.field(mk); dst != nil {
					if err := json.Unmarshal(raw, dst); err != nil {
						return fmt.Errorf("model.%s: %w", mk, err)
					}
				}
				return nil
			})
		case "added_tokens":
			raw, err := sc.rawValue(1)
			if err != nil {
				return err
			}
			f.AddedTokens = nil
			if err := json.Unmarshal(raw, &f.AddedTokens); err != nil {
				return fmt.Errorf("added_tokens: %w", err)
			}
			return nil
		}
		raw, err := sc.rawValue(1)
		switch key {
		case "normalizer":
			f.Normalizer = raw
		case "pre_tokenizer":
			f.PreTokenizer = raw
		case "post_processor":
			f.PostProcessor = raw
		case "decoder":
			f.Decoder = raw
		}
		return err
	})
	if err == nil {
		err = sc.end()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("decode tokenizer.json: %w", err)
	}
	return &f, m, nil
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
		if st.IsDir() && errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("load tokenizer: %s has no tokenizer.json: %w", path, fs.ErrNotExist)
		}
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
	f, model, err := scanFile(data)
	if err != nil {
		return nil, err
	}
	if model == nil {
		return nil, errors.New("no \"model\" in it: not a tokenizer.json")
	}
	t := &Tokenizer{}
	if t.model, err = buildBPE(model); err != nil {
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
		vocab:  m.Vocab,
		tokens: m.Tokens,
		// Every merge line takes at least 6 bytes of JSON.
		merges:       make(map[uint64]mergeTarget, len(m.Merges)/12),
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
	if !isNull(m.Merges) {
		if err := b.buildMerges(m.Merges); err != nil {
			return nil, fmt.Errorf("merges: %w", err)
		}
	}
	return b, nil
}

// mergeText locates one merge's two token texts in a shared buffer.
type mergeText struct {
	a0, a1, b0, b1 int32
}

// resolvedMerge is one merge with its token ids.
type resolvedMerge struct {
	a, b, id int32
}

// buildMerges fills the merge table. Scanning is sequential; the three vocab lookups per merge,
// which dominate loading (each a likely cache miss in a 100,000-entry map), run on all cores.
func (b *bpeModel) buildMerges(raw json.RawMessage) error {
	var (
		buf   []byte
		texts []mergeText
	)
	sc := &jsonScanner{data: raw}
	err := sc.parseMerges(func(rank int, left, right []byte) error {
		t := mergeText{a0: int32(len(buf))}
		buf = append(buf, left...)
		t.a1, t.b0 = int32(len(buf)), int32(len(buf))
		buf = append(buf, right...)
		t.b1 = int32(len(buf))
		texts = append(texts, t)
		if len(buf) > math.MaxInt32/2 {
			return errors.New("merges too large")
		}
		return nil
	})
	if err != nil {
		return err
	}
	out := make([]resolvedMerge, len(texts))
	workers := min(runtime.GOMAXPROCS(0), len(texts)/4096+1)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := len(texts)*w/workers, len(texts)*(w+1)/workers
		wg.Go(func() { errs[w] = b.resolveMerges(buf, texts[lo:hi], out[lo:hi], lo) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for rank, r := range out {
		// A repeated pair keeps its last rank, as HF's HashMap collection does.
		b.merges[pairKey(r.a, r.b)] = mergeTarget{rank: int32(rank), id: r.id}
	}
	return nil
}

// resolveMerges looks up the ids of merges first..first+len(texts)-1.
func (b *bpeModel) resolveMerges(buf []byte, texts []mergeText, out []resolvedMerge, first int) error {
	var merged []byte
	prefix := []byte(b.prefix)
	for i, t := range texts {
		left, right := buf[t.a0:t.a1], buf[t.b0:t.b1]
		a, ok := b.vocab[string(left)]
		if !ok {
			return fmt.Errorf("merge %d: token %q is not in the vocab", first+i+1, left)
		}
		c, ok := b.vocab[string(right)]
		if !ok {
			return fmt.Errorf("merge %d: token %q is not in the vocab", first+i+1, right)
		}
		merged = append(append(merged[:0], left...), bytes.TrimPrefix(right, prefix)...)
		id, ok := b.vocab[string(merged)]
		if !ok {
			return fmt.Errorf("merge %d: merged token %q is not in the vocab", first+i+1, merged)
		}
		out[i] = resolvedMerge{a, c, id}
	}
	return nil
}

// maxTokenID bounds ids so that id-indexed tables stay allocatable; real vocabularies use
// well under a million.
const maxTokenID = 1<<22 - 1

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
