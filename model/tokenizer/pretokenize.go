package tokenizer

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
	"github.com/dlclark/regexp2/v2/syntax"
)

// gpt2Pattern is the pre-tokenization regex of GPT-2, used by ByteLevel when use_regex is set.
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// regexOptions are the options HF's Oniguruma patterns need in regexp2: '^' and '$' match at
// line boundaries as in Oniguruma's default (Ruby) syntax. '\s' is Unicode White_Space, which
// regexp2 uses outside RE2/ECMAScript mode, as Oniguruma does.
const regexOptions = regexp2.Multiline

// compiledRegex is a pattern ready to search: the fast matcher when it supports the pattern,
// regexp2 otherwise.
type compiledRegex struct {
	fast *fastRegex
	re   *regexp2.Regexp
}

// compileRegex compiles a pattern the way Hugging Face tokenizers does with Oniguruma. For
// regexp2 the backtracking stack is left unbounded so that matching cannot fail on long
// inputs; its size is bounded by the input length for the patterns tokenizers use.
func compileRegex(expr string) (*compiledRegex, error) {
	if f, ok := compileFast(expr, syntax.RegexOptions(regexOptions)); ok {
		return &compiledRegex{fast: f}, nil
	}
	re, err := regexp2.Compile(expr, regexOptions, regexp2.OptionMaxBacktrackingStackSize(-1))
	if err != nil {
		return nil, fmt.Errorf("compile regex %q: %w", expr, err)
	}
	return &compiledRegex{re: re}, nil
}

// eachMatch calls fn with the rune offsets of every match in runes, skipping empty matches
// that directly follow a match, like the onig crate's find_iter that HF uses.
func (c *compiledRegex) eachMatch(runes []rune, m *rxMachine, fn func(start, end int)) {
	lastEnd := -1
	if c.fast != nil {
		m.in = runes
		for pos := 0; pos <= len(runes); {
			s, e, ok := c.fast.find(m, pos)
			if !ok {
				break
			}
			if e == s {
				pos = s + 1
				if s == lastEnd {
					continue
				}
			} else {
				pos = e
			}
			fn(s, e)
			lastEnd = e
		}
		m.in = nil
		return
	}
	// Only a timeout or the stack limit can fail a regexp2 match, and both are disabled;
	// should it happen anyway, the text not yet searched stays one piece.
	_ = c.re.FindRunesMatches(runes, 0, func(v regexp2.MatchView) bool {
		idx, n, _ := v.GroupRange(0)
		if n == 0 && idx == lastEnd {
			return true
		}
		lastEnd = idx + n
		fn(idx, idx+n)
		return true
	})
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

// part is a piece a Split keeps or removes.
type part struct {
	start, end int
	remove     bool
}

// applyBehavior turns the alternating matched/unmatched spans of a piece into the pieces
// Hugging Face's NormalizedString::split keeps, dropping empty ones.
func applyBehavior(dst []string, s string, spans []span, b splitBehavior, sc *splitScratch) []string {
	parts := sc.parts[:0]
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
		// HF folds from the end: a match joins the piece after it unless that one is a match.
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
	sc.parts = parts
	return dst
}

// preTokenizer splits one piece of normalized text into smaller pieces.
type preTokenizer interface {
	split(dst []string, s string, sc *splitScratch) []string
}

// regexSplit is HF's Split pre-tokenizer (and the regex stage of ByteLevel).
type regexSplit struct {
	re       *compiledRegex // nil when literal is used
	literal  string
	behavior splitBehavior
	invert   bool
}

// splitScratch holds buffers reused by the splitting steps of one encode call.
type splitScratch struct {
	runes   []rune
	spans   []span
	parts   []part
	machine rxMachine
}

// spans returns the matched and unmatched parts of s in order, as HF's Pattern::find_matches
// (with Invert applied): empty matches directly after a match are skipped, like the onig
// crate's find_iter.
func (r *regexSplit) spans(s string, sc *splitScratch) []span {
	out := sc.spans[:0]
	prev := 0
	add := func(start, end int) {
		if prev != start {
			out = append(out, span{prev, start, r.invert})
		}
		out = append(out, span{start, end, !r.invert})
		prev = end
	}
	if r.re != nil {
		runes := sc.runes[:0]
		for _, c := range s { // invalid bytes become one U+FFFD each, as in regexp2
			runes = append(runes, c)
		}
		sc.runes = runes
		// Rune indexes grow monotonically, so byte offsets are tracked incrementally.
		runePos, bytePos := 0, 0
		toByte := func(ri int) int {
			for runePos < ri {
				_, n := utf8.DecodeRuneInString(s[bytePos:])
				bytePos += n
				runePos++
			}
			return bytePos
		}
		r.re.eachMatch(runes, &sc.machine, func(rs, re int) {
			start := toByte(rs)
			add(start, toByte(re))
		})
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
	sc.spans = out
	return out
}

func (r *regexSplit) split(dst []string, s string, sc *splitScratch) []string {
	return applyBehavior(dst, s, r.spans(s, sc), r.behavior, sc)
}

// runeSplit splits where a character predicate holds (HF's Fn(char) -> bool patterns: every
// such character is a match of its own).
type runeSplit struct {
	pred     func(rune) bool
	behavior splitBehavior
}

func (r *runeSplit) split(dst []string, s string, sc *splitScratch) []string {
	spans := sc.spans[:0]
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
	sc.spans = spans
	return applyBehavior(dst, s, spans, r.behavior, sc)
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

func (b *byteLevel) split(dst []string, s string, sc *splitScratch) []string {
	if b.addPrefixSpace && (len(s) == 0 || s[0] != ' ') {
		s = " " + s
	}
	start := len(dst)
	if b.regex != nil {
		dst = b.regex.split(dst, s, sc)
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

// pipelineScratch holds the buffers of pipeline.run reused across calls.
type pipelineScratch struct {
	pieces [2][]string
	split  splitScratch
}

// run appends the words of s to dst.
func (p *pipeline) run(dst []string, s string, ps *pipelineScratch) []string {
	if len(p.steps) == 0 {
		if s != "" {
			dst = append(dst, s)
		}
		return dst
	}
	cur := append(ps.pieces[0][:0], s)
	next := ps.pieces[1][:0]
	for i, step := range p.steps {
		if i == len(p.steps)-1 {
			for _, piece := range cur {
				dst = step.split(dst, piece, &ps.split)
			}
			break
		}
		next = next[:0]
		for _, piece := range cur {
			next = step.split(next, piece, &ps.split)
		}
		cur, next = next, cur
	}
	ps.pieces[0], ps.pieces[1] = cur[:0], next[:0]
	return dst
}
