package tokenizer

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
)

// gpt2Pattern is the pre-tokenization regex of GPT-2, used by ByteLevel when use_regex is set.
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// compileRegex compiles a pattern the way Hugging Face tokenizers does with Oniguruma's default
// syntax: '^' and '$' match at line boundaries (Ruby semantics, regexp2's Multiline), '\s' is
// Unicode White_Space (which regexp2 uses outside RE2/ECMAScript mode), look-around is allowed.
// The backtracking stack is left unbounded so that matching cannot fail on long inputs; its size
// is bounded by the input length for the patterns tokenizers use.
func compileRegex(expr string) (*regexp2.Regexp, error) {
	re, err := regexp2.Compile(expr, regexp2.Multiline, regexp2.OptionMaxBacktrackingStackSize(-1))
	if err != nil {
		return nil, fmt.Errorf("compile regex %q: %w", expr, err)
	}
	return re, nil
}

// span is a byte range of a piece; match tells whether the pattern matched it.
type span struct {
	start, end int
	match      bool
}

// splitBehavior says what Split does with the matched parts (HF SplitDelimiterBehavior).
type splitBehavior int

const (
	behaviorIsolated splitBehavior = iota
	behaviorRemoved
	behaviorMergedWithPrevious
	behaviorMergedWithNext
	behaviorContiguous
)

func parseBehavior(s string) (splitBehavior, error) {
	switch s {
	case "Isolated", "isolated":
		return behaviorIsolated, nil
	case "Removed", "removed":
		return behaviorRemoved, nil
	case "MergedWithPrevious", "merged_with_previous":
		return behaviorMergedWithPrevious, nil
	case "MergedWithNext", "merged_with_next":
		return behaviorMergedWithNext, nil
	case "Contiguous", "contiguous":
		return behaviorContiguous, nil
	}
	return 0, fmt.Errorf("unknown split behavior %q", s)
}

// applyBehavior turns the alternating matched/unmatched spans of a piece into the pieces
// Hugging Face's NormalizedString::split keeps, dropping empty ones.
func applyBehavior(dst []string, s string, spans []span, b splitBehavior) []string {
	type part struct {
		start, end int
		remove     bool
	}
	var buf [32]part
	parts := buf[:0]
	switch b {
	case behaviorIsolated:
		for _, sp := range spans {
			parts = append(parts, part{sp.start, sp.end, false})
		}
	case behaviorRemoved:
		for _, sp := range spans {
			parts = append(parts, part{sp.start, sp.end, sp.match})
		}
	case behaviorContiguous:
		prev := false
		for _, sp := range spans {
			if sp.match == prev && len(parts) > 0 {
				parts[len(parts)-1].end = sp.end
			} else {
				parts = append(parts, part{sp.start, sp.end, false})
			}
			prev = sp.match
		}
	case behaviorMergedWithPrevious:
		prev := false
		for _, sp := range spans {
			if sp.match && !prev && len(parts) > 0 {
				parts[len(parts)-1].end = sp.end
			} else {
				parts = append(parts, part{sp.start, sp.end, false})
			}
			prev = sp.match
		}
	case behaviorMergedWithNext:
		// Walk backwards so that a match joins the piece after it.
		prev := false
		for i := len(spans) - 1; i >= 0; i-- {
			sp := spans[i]
			if sp.match && !prev && len(parts) > 0 {
				parts[len(parts)-1].start = sp.start
			} else {
				parts = append(parts, part{sp.start, sp.end, false})
			}
			prev = sp.match
		}
		for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
	}
	for _, p := range parts {
		if !p.remove && p.end > p.start {
			dst = append(dst, s[p.start:p.end])
		}
	}
	return dst
}

// preTokenizer splits one piece of normalized text into smaller pieces.
type preTokenizer interface {
	split(dst []string, s string) []string
}

// regexSplit is HF's Split pre-tokenizer (and the regex stage of ByteLevel).
type regexSplit struct {
	re       *regexp2.Regexp // nil when literal is used
	literal  string
	behavior splitBehavior
	invert   bool
}

func (r *regexSplit) spans(s string) []span {
	var out []span
	prev := 0
	add := func(start, end int) {
		if prev != start {
			out = append(out, span{prev, start, r.invert})
		}
		out = append(out, span{start, end, !r.invert})
		prev = end
	}
	if r.re != nil {
		idx, err := r.re.FindAllStringIndex(s, -1)
		if err != nil {
			// Only a timeout or stack limit can fail a match, and both are disabled
			// (compileRegex); keep the piece whole rather than lose text.
			idx = nil
		}
		for _, m := range idx {
			add(m[0], m[1])
		}
	} else if r.literal != "" {
		for i := 0; ; {
			j := strings.Index(s[i:], r.literal)
			if j < 0 {
				break
			}
			add(i+j, i+j+len(r.literal))
			i += j + len(r.literal)
		}
	}
	if prev != len(s) {
		out = append(out, span{prev, len(s), r.invert})
	}
	return out
}

func (r *regexSplit) split(dst []string, s string) []string {
	return applyBehavior(dst, s, r.spans(s), r.behavior)
}

// runeSplit splits where a character predicate holds (HF's Fn(char) -> bool patterns: every
// such character is a match of its own).
type runeSplit struct {
	pred     func(rune) bool
	behavior splitBehavior
}

func (r *runeSplit) split(dst []string, s string) []string {
	var buf [64]span
	spans := buf[:0]
	prev := 0
	for i := 0; i < len(s); {
		c, n := utf8.DecodeRuneInString(s[i:])
		if r.pred(c) {
			if prev != i {
				spans = append(spans, span{prev, i, false})
			}
			spans = append(spans, span{i, i + n, true})
			prev = i + n
		}
		i += n
	}
	if prev != len(s) {
		spans = append(spans, span{prev, len(s), false})
	}
	return applyBehavior(dst, s, spans, r.behavior)
}

// isNumeric is Rust's char::is_numeric: general categories Nd, Nl and No.
func isNumeric(r rune) bool { return unicode.IsNumber(r) }

// isPunctuation is HF's Punctuation test: ASCII punctuation or any Unicode P category.
func isPunctuation(r rune) bool {
	if r < utf8.RuneSelf {
		return (r >= '!' && r <= '/') || (r >= ':' && r <= '@') || (r >= '[' && r <= '`') || (r >= '{' && r <= '~')
	}
	return unicode.IsPunct(r)
}

// byteLevel is HF's ByteLevel pre-tokenizer. When it is the last step, mapping the pieces to
// the byte-level alphabet is left to the BPE model, which reads their bytes directly.
type byteLevel struct {
	addPrefixSpace bool
	regex          *regexSplit // nil unless use_regex
	mapChars       bool
}

func (b *byteLevel) split(dst []string, s string) []string {
	if b.addPrefixSpace && (len(s) == 0 || s[0] != ' ') {
		s = " " + s
	}
	start := len(dst)
	if b.regex != nil {
		dst = b.regex.split(dst, s)
	} else if s != "" {
		dst = append(dst, s)
	}
	if b.mapChars {
		for i := start; i < len(dst); i++ {
			dst[i] = byteLevelString(dst[i])
		}
	}
	return dst
}

// pipeline runs the pre-tokenizer steps in order over every piece.
type pipeline struct {
	steps []preTokenizer
	// rawBytes is set when the last step is ByteLevel: the words are then raw text whose bytes
	// the model maps to the byte-level alphabet itself.
	rawBytes bool
}

// run appends the words of s to dst; scratch is reused between calls.
func (p *pipeline) run(dst []string, s string, scratch *[2][]string) []string {
	if len(p.steps) == 0 {
		if s != "" {
			dst = append(dst, s)
		}
		return dst
	}
	cur := append(scratch[0][:0], s)
	next := scratch[1][:0]
	for i, step := range p.steps {
		if i == len(p.steps)-1 {
			for _, piece := range cur {
				dst = step.split(dst, piece)
			}
			break
		}
		next = next[:0]
		for _, piece := range cur {
			next = step.split(next, piece)
		}
		cur, next = next, cur
	}
	scratch[0], scratch[1] = cur[:0], next[:0]
	return dst
}
