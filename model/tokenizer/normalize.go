package tokenizer

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// normalizer rewrites the text between added tokens before pre-tokenization.
type normalizer interface {
	normalize(s string) string
}

// unicodeForm is one of the NFC, NFD, NFKC, NFKD normalizers.
type unicodeForm struct{ form norm.Form }

func (u unicodeForm) normalize(s string) string { return u.form.String(s) }

// normalizerSequence applies its normalizers in order.
type normalizerSequence []normalizer

func (seq normalizerSequence) normalize(s string) string {
	for _, n := range seq {
		s = n.normalize(s)
	}
	return s
}

// replaceNormalizer is HF's Replace: every match of a pattern is replaced by content.
type replaceNormalizer struct {
	pattern *regexSplit
	content string
}

func (r replaceNormalizer) normalize(s string) string {
	var b strings.Builder
	var sc splitScratch
	for _, sp := range r.pattern.spans(s, &sc) {
		if sp.match {
			b.WriteString(r.content)
		} else {
			b.WriteString(s[sp.start:sp.end])
		}
	}
	return b.String()
}

// prependNormalizer is HF's Prepend: a fixed string before any non-empty text.
type prependNormalizer struct{ prefix string }

func (p prependNormalizer) normalize(s string) string {
	if s == "" {
		return s
	}
	return p.prefix + s
}

// stripNormalizer is HF's Strip: leading and/or trailing Unicode whitespace removed.
type stripNormalizer struct{ left, right bool }

func (st stripNormalizer) normalize(s string) string {
	if st.left {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
	}
	if st.right {
		s = strings.TrimRightFunc(s, unicode.IsSpace)
	}
	return s
}

// byteLevelNormalizer is HF's ByteLevel normalizer: the whole text in the byte-level alphabet.
type byteLevelNormalizer struct{}

func (byteLevelNormalizer) normalize(s string) string { return byteLevelString(s) }
