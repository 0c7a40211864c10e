package tokenizer

import (
	"strings"
	"sync"
	"unicode/utf8"
)

// maxCachedWordLen bounds the words kept in the BPE cache; longer ones are rare and would
// only fill it.
const maxCachedWordLen = 256

// defaultCacheEntries bounds the BPE cache of one tokenizer (HF uses 10,000; words are short,
// so a larger bound costs little and helps long documents).
const defaultCacheEntries = 100_000

// mergeTarget is what a pair of adjacent symbols becomes: its rank (lower merges first) and
// the id of the merged token.
type mergeTarget struct {
	rank, id int32
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// bpeModel is a byte-pair-encoding model (HF models::bpe::BPE without dropout or byte
// fallback).
type bpeModel struct {
	vocab        map[string]int32
	tokens       []string // id-indexed vocab, "" where an id has no token
	merges       map[uint64]mergeTarget
	unk          int32 // -1 when there is no unknown token
	fuseUnk      bool
	prefix       string // continuing_subword_prefix ("" = none)
	suffix       string // end_of_word_suffix ("" = none)
	ignoreMerges bool
	// byteIDs[b] is the id of the byte-level character of byte b, or -1.
	byteIDs [256]int32

	cacheMu  sync.RWMutex
	cache    map[string][]int32
	cacheCap int
}

// symbol is one node of the doubly linked list a word is merged in.
type symbol struct {
	id         int32
	prev, next int32
	dead       bool
}

// candidate is a pending merge of the symbol at pos with its successor.
type candidate struct {
	rank, pos, id int32
}

// mergeQueue is a binary min-heap of candidates ordered by rank, then position, the order in
// which HF's BPE applies merges.
type mergeQueue []candidate

func (q mergeQueue) less(i, j int) bool {
	if q[i].rank != q[j].rank {
		return q[i].rank < q[j].rank
	}
	return q[i].pos < q[j].pos
}

func (q *mergeQueue) push(c candidate) {
	*q = append(*q, c)
	h := *q
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *mergeQueue) pop() candidate {
	h := *q
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}

// wordScratch holds the buffers one encode call reuses across words.
type wordScratch struct {
	symbols []symbol
	queue   mergeQueue
	char    []byte
}

// encodeWord appends the ids of one pre-tokenized word. raw says the word is raw text whose
// bytes stand for byte-level characters (see pipeline.rawBytes).
func (m *bpeModel) encodeWord(dst []int32, word string, raw bool, ws *wordScratch) []int32 {
	if word == "" {
		return dst
	}
	cacheable := len(word) <= maxCachedWordLen
	if cacheable {
		m.cacheMu.RLock()
		ids, ok := m.cache[word]
		m.cacheMu.RUnlock()
		if ok {
			return append(dst, ids...)
		}
	}
	start := len(dst)
	dst = m.tokenizeWord(dst, word, raw, ws)
	if cacheable {
		ids := append([]int32(nil), dst[start:]...)
		m.cacheMu.Lock()
		if len(m.cache) < m.cacheCap {
			m.cache[strings.Clone(word)] = ids
		}
		m.cacheMu.Unlock()
	}
	return dst
}

func (m *bpeModel) tokenizeWord(dst []int32, word string, raw bool, ws *wordScratch) []int32 {
	if m.ignoreMerges {
		key := word
		if raw {
			key = byteLevelString(word)
		}
		if id, ok := m.vocab[key]; ok {
			return append(dst, id)
		}
	}
	syms := ws.symbols[:0]
	unkID, unkPending := int32(-1), false
	add := func(id int32) {
		if unkPending {
			syms = append(syms, symbol{id: unkID})
			unkPending = false
		}
		syms = append(syms, symbol{id: id})
	}
	missing := func() {
		if m.unk < 0 {
			return // HF drops characters it cannot represent when there is no unk token
		}
		if unkPending && !m.fuseUnk {
			syms = append(syms, symbol{id: unkID})
		}
		unkID, unkPending = m.unk, true
	}
	if raw && m.prefix == "" && m.suffix == "" {
		for i := 0; i < len(word); i++ {
			if id := m.byteIDs[word[i]]; id >= 0 {
				add(id)
			} else {
				missing()
			}
		}
	} else {
		// General path: symbols are characters, with the subword prefix/suffix attached.
		n := len(word)
		if raw {
			n = len(word) // one character per byte
		} else {
			n = utf8.RuneCountInString(word)
		}
		pos := 0
		for i := 0; i < n; i++ {
			c := ws.char[:0]
			if i > 0 {
				c = append(c, m.prefix...)
			}
			if raw {
				c = utf8.AppendRune(c, byteChars[word[pos]])
				pos++
			} else {
				_, size := utf8.DecodeRuneInString(word[pos:])
				c = append(c, word[pos:pos+size]...)
				pos += size
			}
			if i == n-1 {
				c = append(c, m.suffix...)
			}
			ws.char = c
			if id, ok := m.vocab[string(c)]; ok {
				add(id)
			} else {
				missing()
			}
		}
	}
	if unkPending {
		syms = append(syms, symbol{id: unkID})
	}
	for i := range syms {
		syms[i].prev = int32(i) - 1
		syms[i].next = int32(i) + 1
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	m.mergeSymbols(syms, ws)
	for i := range syms {
		if !syms[i].dead {
			dst = append(dst, syms[i].id)
		}
	}
	ws.symbols = syms
	return dst
}

// mergeSymbols applies the merges in rank order, leftmost first, exactly like HF's
// Word::merge_all: a priority queue with lazy invalidation of stale candidates.
func (m *bpeModel) mergeSymbols(syms []symbol, ws *wordScratch) {
	q := ws.queue[:0]
	for i := 0; i+1 < len(syms); i++ {
		if t, ok := m.merges[pairKey(syms[i].id, syms[i+1].id)]; ok {
			q.push(candidate{t.rank, int32(i), t.id})
		}
	}
	for len(q) > 0 {
		top := q.pop()
		cur := &syms[top.pos]
		if cur.dead || cur.next < 0 {
			continue
		}
		right := syms[cur.next]
		if t, ok := m.merges[pairKey(cur.id, right.id)]; !ok || t.id != top.id {
			continue // the pair changed since this candidate was queued
		}
		cur.id = top.id
		syms[cur.next].dead = true
		cur.next = right.next
		if right.next >= 0 {
			syms[right.next].prev = top.pos
		}
		if cur.prev >= 0 {
			if t, ok := m.merges[pairKey(syms[cur.prev].id, cur.id)]; ok {
				q.push(candidate{t.rank, cur.prev, t.id})
			}
		}
		if cur.next >= 0 {
			if t, ok := m.merges[pairKey(cur.id, syms[cur.next].id)]; ok {
				q.push(candidate{t.rank, top.pos, t.id})
			}
		}
	}
	ws.queue = q
}
