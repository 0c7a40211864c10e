package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// tokenTransform is a decoder step that rewrites each token on its own (Replace, Strip).
type tokenTransform interface {
	apply(tok string) string
}

type replaceDecoder struct {
	pattern *regexSplit
	content string
}

func (r replaceDecoder) apply(tok string) string {
	return replaceNormalizer(r).normalize(tok)
}

// stripDecoder removes up to start leading and stop trailing copies of one character.
type stripDecoder struct {
	char        rune
	start, stop int
}

func (s stripDecoder) apply(tok string) string {
	for i := 0; i < s.start; i++ {
		r, n := utf8.DecodeRuneInString(tok)
		if n == 0 || r != s.char {
			break
		}
		tok = tok[n:]
	}
	for i := 0; i < s.stop; i++ {
		r, n := utf8.DecodeLastRuneInString(tok)
		if n == 0 || r != s.char {
			break
		}
		tok = tok[:len(tok)-n]
	}
	return tok
}

// decoderChain is the decoder pipeline, restricted to the shapes whose output can be produced
// token by token: per-token transforms, then optionally ByteLevel (which turns the run of
// tokens between added tokens into bytes, decoded as UTF-8 together), then Fuse steps, which
// do not change the joined text.
type decoderChain struct {
	joinWithSpace bool // no decoder at all: HF joins the tokens with spaces
	transforms    []tokenTransform
	byteLevel     bool
}

func (d *decoderChain) build(raw json.RawMessage, depth int) error {
	if depth > maxNesting {
		return errors.New("decoder sequence nested too deeply")
	}
	c, err := parseComponent(raw, "decoder")
	if err != nil {
		return err
	}
	if d.byteLevel && c.Type != "Fuse" && c.Type != "Sequence" {
		return fmt.Errorf("decoder %q after ByteLevel is not supported", c.Type)
	}
	switch c.Type {
	case "Sequence":
		for i, sub := range c.Decoders {
			if err := d.build(sub, depth+1); err != nil {
				return fmt.Errorf("sequence item %d: %w", i, err)
			}
		}
	case "ByteLevel":
		if d.byteLevel {
			return errors.New("ByteLevel decoder twice is not supported")
		}
		d.byteLevel = true
	case "Fuse":
	case "Replace":
		pat, err := buildPattern(c.Pattern, behaviorIsolated, false)
		if err != nil {
			return fmt.Errorf("Replace: %w", err)
		}
		var content string
		if err := json.Unmarshal(c.Content, &content); err != nil {
			return fmt.Errorf("Replace content: %w", err)
		}
		d.transforms = append(d.transforms, replaceDecoder{pattern: pat, content: content})
	case "Strip":
		var content string
		if err := json.Unmarshal(c.Content, &content); err != nil || utf8.RuneCountInString(content) != 1 {
			return errors.New("Strip content is not a single character")
		}
		r, _ := utf8.DecodeRuneInString(content)
		if c.Start < 0 || c.Stop < 0 {
			return errors.New("Strip start/stop must not be negative")
		}
		d.transforms = append(d.transforms, stripDecoder{char: r, start: c.Start, stop: c.Stop})
	default:
		return fmt.Errorf("decoder type %q is not supported", c.Type)
	}
	return nil
}

func (d *decoderChain) transform(tok string) string {
	for _, tr := range d.transforms {
		tok = tr.apply(tok)
	}
	return tok
}

// keep returns the text of id if Decode should output it.
func (t *Tokenizer) keep(id int32, skipSpecial bool) (string, bool) {
	tok, ok := t.IDToken(id)
	if !ok || (skipSpecial && t.special[id]) {
		return "", false
	}
	return tok, true
}

// Decode returns the text of ids, like HF's decode with clean_up_tokenization_spaces=false.
// With skipSpecial, special tokens are left out. Ids without a token produce nothing. Added
// tokens are written as their text, not passed through the ByteLevel decoder (the behaviour
// of transformers.js that the goldens follow; see the package comment).
func (t *Tokenizer) Decode(ids []int32, skipSpecial bool) string {
	var out strings.Builder
	var run []byte // bytes of the current run of byte-level tokens
	first := true
	for _, id := range ids {
		tok, ok := t.keep(id, skipSpecial)
		if !ok {
			continue
		}
		switch {
		case t.dec.joinWithSpace:
			if !first {
				out.WriteByte(' ')
			}
			out.WriteString(tok)
		case t.literal[id]:
			out.Write(appendLossy(nil, run))
			run = run[:0]
			out.WriteString(tok)
		case t.dec.byteLevel:
			run = appendTokenBytes(run, t.dec.transform(tok))
		default:
			out.WriteString(t.dec.transform(tok))
		}
		first = false
	}
	out.Write(appendLossy(nil, run))
	return out.String()
}

// StreamDecoder turns ids into text one at a time for token-by-token output. It holds back
// the bytes of a character split across byte-level tokens until the character is complete, so
// the concatenation of everything Add and Flush return equals Decode of the whole sequence.
type StreamDecoder struct {
	t           *Tokenizer
	skipSpecial bool
	pending     []byte
	started     bool
}

// NewStreamDecoder returns a decoder for one sequence of ids.
func (t *Tokenizer) NewStreamDecoder(skipSpecial bool) *StreamDecoder {
	return &StreamDecoder{t: t, skipSpecial: skipSpecial}
}

// Add takes the next id and returns the text that became complete with it (often "").
func (d *StreamDecoder) Add(id int32) string {
	t := d.t
	tok, ok := t.keep(id, d.skipSpecial)
	if !ok {
		return ""
	}
	started := d.started
	d.started = true
	switch {
	case t.dec.joinWithSpace:
		if started {
			return " " + tok
		}
		return tok
	case t.literal[id]:
		out := string(appendLossy(nil, d.pending)) + tok
		d.pending = d.pending[:0]
		return out
	case t.dec.byteLevel:
		d.pending = appendTokenBytes(d.pending, t.dec.transform(tok))
		n := settledPrefix(d.pending)
		out := string(appendLossy(nil, d.pending[:n]))
		d.pending = append(d.pending[:0], d.pending[n:]...)
		return out
	default:
		return t.dec.transform(tok)
	}
}

// Flush returns what is still held back (an incomplete character becomes U+FFFD) and resets
// the decoder for a new sequence.
func (d *StreamDecoder) Flush() string {
	out := string(appendLossy(nil, d.pending))
	d.pending = d.pending[:0]
	d.started = false
	return out
}
