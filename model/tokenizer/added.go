package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// addedToken is one entry of tokenizer.json's added_tokens.
type addedToken struct {
	content    string
	id         int32
	special    bool
	singleWord bool
	lstrip     bool
	rstrip     bool
	normalized bool
}

// trieNode is a node of the byte trie of added-token texts.
type trieNode struct {
	children map[byte]int32
	token    int32 // index into the token list, -1 when no token ends here
}

// tokenMatcher finds added tokens in text, leftmost-longest first, as HF's Aho-Corasick
// automaton (MatchKind::LeftmostLongest) does. A trie walked from each candidate position is
// enough: added-token lists are small and most positions are rejected by the first byte.
type tokenMatcher struct {
	nodes []trieNode
	first [256]bool
}

func newTokenMatcher() *tokenMatcher {
	return &tokenMatcher{nodes: []trieNode{{token: -1}}}
}

func (m *tokenMatcher) insert(text string, token int32) {
	if text == "" {
		return
	}
	m.first[text[0]] = true
	n := int32(0)
	for i := 0; i < len(text); i++ {
		c := text[i]
		if m.nodes[n].children == nil {
			m.nodes[n].children = make(map[byte]int32)
		}
		next, ok := m.nodes[n].children[c]
		if !ok {
			next = int32(len(m.nodes))
			m.nodes = append(m.nodes, trieNode{token: -1})
			m.nodes[n].children[c] = next
		}
		n = next
	}
	m.nodes[n].token = token
}

func (m *tokenMatcher) empty() bool { return len(m.nodes) == 1 }

// longestAt returns the longest token starting at s[pos:], as (end, token index).
func (m *tokenMatcher) longestAt(s string, pos int) (end int, token int32) {
	token = -1
	n := int32(0)
	for i := pos; i < len(s); i++ {
		next, ok := m.nodes[n].children[s[i]]
		if !ok {
			break
		}
		n = next
		if t := m.nodes[n].token; t >= 0 {
			end, token = i+1, t
		}
	}
	return end, token
}

// split calls emit for the consecutive pieces of s: text between tokens with token -1, and
// every accepted token occurrence with its index. It follows HF's AddedVocabulary::find_matches
// including single_word, lstrip and rstrip.
func (m *tokenMatcher) split(s string, tokens []addedToken, emit func(piece string, token int32)) {
	if m.empty() {
		emit(s, -1)
		return
	}
	offset := 0 // end of the last emitted piece
	for pos := 0; pos < len(s); {
		if !m.first[s[pos]] {
			pos++
			continue
		}
		end, ti := m.longestAt(s, pos)
		if ti < 0 {
			pos++
			continue
		}
		start, stop := pos, end
		pos = end
		tok := &tokens[ti]
		if tok.singleWord {
			startOK := start == 0 || !endsWithWordChar(s[:start])
			stopOK := stop == len(s) || !startsWithWordChar(s[stop:])
			if !startOK || !stopOK {
				continue
			}
		}
		if tok.lstrip {
			start = max(len(strings.TrimRightFunc(s[:start], unicode.IsSpace)), offset)
		}
		if tok.rstrip {
			stop = len(s) - len(strings.TrimLeftFunc(s[stop:], unicode.IsSpace))
			pos = stop // never let the next token overlap the stripped spaces
		}
		if offset < start {
			emit(s[offset:start], -1)
		}
		emit(s[start:stop], ti)
		offset = stop
	}
	if offset < len(s) || len(s) == 0 {
		emit(s[offset:], -1)
	}
}

// isWordChar is the Unicode \w of Rust's regex crate, which HF uses for single_word:
// Alphabetic, marks, decimal digits, connector punctuation and the joiners.
func isWordChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_Alphabetic, r) ||
		unicode.IsMark(r) || unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Pc, r) ||
		r == 0x200C || r == 0x200D
}

func endsWithWordChar(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return s != "" && isWordChar(r)
}

func startsWithWordChar(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && isWordChar(r)
}
