package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"unicode"
)

// Tokenizer encodes text to token ids and back. It is safe for concurrent use.
type Tokenizer struct {
	model      *bpeModel
	normalizer normalizer // nil: none
	pre        pipeline
	post       postProcessor
	dec        decoderChain

	added       []addedToken
	rawTokens   *tokenMatcher // added tokens with normalized=false, matched in the raw text
	normTokens  *tokenMatcher // normalized=true, matched in the normalized text
	addedByText map[string]int32

	idToToken []string // "" where an id has no token
	literal   []bool   // decoded as its own text, outside the decoder (added tokens)
	special   []bool   // skipped by Decode(..., skipSpecial=true)
	names     specialNames
	// configSpecial are the token texts the config files name as special.
	configSpecial []string

	states sync.Pool // *encodeState, so that buffers survive between Encode calls
}

// specialNames are the texts transformers knows the special tokens by; empty when unknown.
type specialNames struct {
	bos, eos, pad, unk string
}

func isWhiteSpace(r rune) bool { return unicode.IsSpace(r) }

func (t *Tokenizer) buildAdded(list []addedTokenJSON) error {
	seen := make(map[string]bool, len(list))
	for i, a := range list {
		if a.ID == nil {
			return fmt.Errorf("added token %d (%q) has no id", i, a.Content)
		}
		if *a.ID < 0 || *a.ID > maxTokenID {
			return fmt.Errorf("added token %q has id %d out of range", a.Content, *a.ID)
		}
		if a.Content == "" || seen[a.Content] {
			continue // HF ignores empty added tokens; a repeated text keeps its first entry
		}
		seen[a.Content] = true
		tok := addedToken{
			content:    a.Content,
			id:         int32(*a.ID),
			special:    a.Special,
			singleWord: a.SingleWord,
			lstrip:     a.LStrip,
			rstrip:     a.RStrip,
			// HF's AddedToken defaults normalized to !special when the field is absent.
			normalized: !a.Special,
		}
		if a.Normalized != nil {
			tok.normalized = *a.Normalized
		}
		t.added = append(t.added, tok)
	}
	t.indexAdded()
	return nil
}

// indexAdded builds the matchers and the text index of t.added.
func (t *Tokenizer) indexAdded() {
	t.rawTokens = newTokenMatcher()
	t.normTokens = newTokenMatcher()
	t.addedByText = make(map[string]int32, len(t.added))
	for i, tok := range t.added {
		t.addedByText[tok.content] = tok.id
		if tok.normalized {
			text := tok.content
			if t.normalizer != nil {
				text = t.normalizer.normalize(text)
			}
			t.normTokens.insert(text, int32(i))
		} else {
			t.rawTokens.insert(tok.content, int32(i))
		}
	}
}

// AddSpecialTokens returns a tokenizer that also knows the given texts as special added
// tokens, as transformers' add_special_tokens does (Janus' processor adds its image tag this
// way when a tokenizer lacks it): texts the tokenizer already knows keep their ids, new ones
// get ids from VocabSize() upwards. t itself is not changed.
func (t *Tokenizer) AddSpecialTokens(contents ...string) *Tokenizer {
	n := &Tokenizer{
		model: t.model, normalizer: t.normalizer, pre: t.pre, post: t.post, dec: t.dec,
		names: t.names, configSpecial: t.configSpecial,
		added: append([]addedToken(nil), t.added...),
	}
	next := int32(t.VocabSize())
	known := make(map[string]bool)
	for _, c := range contents {
		if _, ok := t.TokenID(c); ok || c == "" || known[c] {
			continue
		}
		known[c] = true
		n.added = append(n.added, addedToken{content: c, id: next, special: true})
		next++
	}
	n.indexAdded()
	n.finish()
	n.markSpecial(n.configSpecial)
	return n
}

// finish builds the id-indexed tables once vocab and added tokens are known.
func (t *Tokenizer) finish() {
	n := len(t.model.tokens)
	for _, a := range t.added {
		n = max(n, int(a.id)+1)
	}
	t.idToToken = make([]string, n)
	copy(t.idToToken, t.model.tokens)
	t.literal = make([]bool, n)
	t.special = make([]bool, n)
	for _, a := range t.added {
		t.idToToken[a.id] = a.content
		t.literal[a.id] = true
		t.special[a.id] = a.special
		// transformers.js decodes any token whose text is an added token's text literally.
		if id, ok := t.model.vocab[a.content]; ok {
			t.literal[id] = true
		}
	}
}

// postProcessor adds special tokens around an encoded sequence when add_special is requested.
type postProcessor struct {
	prefix, suffix []int32
}

func (t *Tokenizer) buildPostProcessor(raw json.RawMessage, depth int) (postProcessor, error) {
	var p postProcessor
	if depth > maxNesting {
		return p, errors.New("post-processor sequence nested too deeply")
	}
	c, err := parseComponent(raw, "post-processor")
	if err != nil {
		return p, err
	}
	switch c.Type {
	case "ByteLevel":
		return p, nil // only adjusts offsets, which this package does not report
	case "Sequence":
		for i, sub := range c.Processors {
			inner, err := t.buildPostProcessor(sub, depth+1)
			if err != nil {
				return p, fmt.Errorf("sequence item %d: %w", i, err)
			}
			p.prefix = append(append([]int32(nil), inner.prefix...), p.prefix...)
			p.suffix = append(p.suffix, inner.suffix...)
		}
		return p, nil
	case "TemplateProcessing":
		seen := false
		for i, item := range c.Single {
			switch {
			case item.Sequence != nil:
				if item.Sequence.ID != "A" {
					continue // $B has no place in a single-sequence template
				}
				if seen {
					return p, errors.New("TemplateProcessing single template holds $A twice")
				}
				seen = true
			case item.SpecialToken != nil:
				st, ok := c.SpecialTokens[item.SpecialToken.ID]
				if !ok {
					return p, fmt.Errorf("TemplateProcessing item %d names special token %q missing from special_tokens", i, item.SpecialToken.ID)
				}
				ids := make([]int32, len(st.IDs))
				for j, id := range st.IDs {
					if id < 0 || id > maxTokenID {
						return p, fmt.Errorf("TemplateProcessing special token %q has id %d out of range", item.SpecialToken.ID, id)
					}
					ids[j] = int32(id)
				}
				if seen {
					p.suffix = append(p.suffix, ids...)
				} else {
					p.prefix = append(p.prefix, ids...)
				}
			default:
				return p, fmt.Errorf("TemplateProcessing item %d is neither SpecialToken nor Sequence", i)
			}
		}
		if !seen {
			return p, errors.New("TemplateProcessing single template has no $A")
		}
		return p, nil
	case "BertProcessing", "RobertaProcessing":
		cls, err := templatePair(c.Cls, "cls")
		if err != nil {
			return p, fmt.Errorf("%s: %w", c.Type, err)
		}
		sep, err := templatePair(c.Sep, "sep")
		if err != nil {
			return p, fmt.Errorf("%s: %w", c.Type, err)
		}
		return postProcessor{prefix: []int32{cls}, suffix: []int32{sep}}, nil
	}
	return p, fmt.Errorf("post-processor type %q is not supported", c.Type)
}

// templatePair reads the ["token", id] pairs of BertProcessing / RobertaProcessing.
func templatePair(raw json.RawMessage, name string) (int32, error) {
	var pair []json.RawMessage
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return 0, fmt.Errorf("%s is not a [token, id] pair", name)
	}
	var id int64
	if err := json.Unmarshal(pair[1], &id); err != nil || id < 0 || id > maxTokenID {
		return 0, fmt.Errorf("%s id is not a valid token id", name)
	}
	return int32(id), nil
}

// encodeState holds the buffers of one Encode call.
type encodeState struct {
	words []string
	pre   pipelineScratch
	word  wordScratch
}

// Encode returns the token ids of text. With addSpecial, the post-processor's special tokens
// are added (for Janus: the BOS in front), as transformers' tokenizer.encode(text) does by
// default; without it the result equals encode(text, add_special_tokens=False).
func (t *Tokenizer) Encode(text string, addSpecial bool) []int32 {
	st, _ := t.states.Get().(*encodeState)
	if st == nil {
		st = new(encodeState)
	}
	defer func() {
		clear(st.words) // do not keep the caller's text alive through the pool
		st.words = st.words[:0]
		t.states.Put(st)
	}()
	ids := make([]int32, 0, len(text)/3+4)
	if addSpecial {
		ids = append(ids, t.post.prefix...)
	}
	t.rawTokens.split(text, t.added, func(piece string, tok int32) {
		if tok >= 0 {
			ids = append(ids, t.added[tok].id)
			return
		}
		if t.normalizer != nil {
			piece = t.normalizer.normalize(piece)
		}
		t.normTokens.split(piece, t.added, func(p string, tok int32) {
			if tok >= 0 {
				ids = append(ids, t.added[tok].id)
				return
			}
			st.words = t.pre.run(st.words[:0], p, &st.pre)
			for _, w := range st.words {
				ids = t.model.encodeWord(ids, w, t.pre.rawBytes, &st.word)
			}
		})
	})
	if addSpecial {
		ids = append(ids, t.post.suffix...)
	}
	return ids
}

// TokenID returns the id of a token given by its text (added tokens first, as HF does).
func (t *Tokenizer) TokenID(s string) (int32, bool) {
	if id, ok := t.addedByText[s]; ok {
		return id, true
	}
	id, ok := t.model.vocab[s]
	return id, ok
}

// IDToken returns the text of a token (byte-level tokens in their alphabet form).
func (t *Tokenizer) IDToken(id int32) (string, bool) {
	if id < 0 || int(id) >= len(t.idToToken) || t.idToToken[id] == "" {
		return "", false
	}
	return t.idToToken[id], true
}

// IsSpecial reports whether id is a special token: an added token flagged special, or one
// named as bos/eos/pad/unk/additional special token by the model folder's config files.
func (t *Tokenizer) IsSpecial(id int32) bool {
	return id >= 0 && int(id) < len(t.special) && t.special[id]
}

// IsAdded reports whether id is an added token (matched whole in text before BPE).
func (t *Tokenizer) IsAdded(id int32) bool {
	tok, ok := t.IDToken(id)
	if !ok {
		return false
	}
	added, ok := t.addedByText[tok]
	return ok && added == id
}

// VocabSize is one more than the largest id the tokenizer defines (vocab or added token):
// the number of embedding rows it needs at least. Ids below it may still have no token.
func (t *Tokenizer) VocabSize() int { return len(t.idToToken) }

func (t *Tokenizer) namedID(name string) (int32, bool) {
	if name == "" {
		return -1, false
	}
	return t.TokenID(name)
}

// BOS returns the beginning-of-sequence token id named by the model folder's config.
func (t *Tokenizer) BOS() (int32, bool) { return t.namedID(t.names.bos) }

// EOS returns the end-of-sequence token id named by the model folder's config.
func (t *Tokenizer) EOS() (int32, bool) { return t.namedID(t.names.eos) }

// Pad returns the padding token id named by the model folder's config.
func (t *Tokenizer) Pad() (int32, bool) { return t.namedID(t.names.pad) }

// Unk returns the unknown token id named by the model folder's config.
func (t *Tokenizer) Unk() (int32, bool) { return t.namedID(t.names.unk) }

// SpecialPrefix returns the ids Encode(…, true) puts before the text (for Janus: the BOS).
func (t *Tokenizer) SpecialPrefix() []int32 { return append([]int32(nil), t.post.prefix...) }

// SpecialSuffix returns the ids Encode(…, true) puts after the text.
func (t *Tokenizer) SpecialSuffix() []int32 { return append([]int32(nil), t.post.suffix...) }
