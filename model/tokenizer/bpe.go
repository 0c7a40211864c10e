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

// candidate is a pending merge of the symbol at pos with its successor into id. The key packs
// rank and position so that one comparison orders candidates.
type candidate struct {
	key uint64 // rank<<32 | pos
	id  int32
}

func newCandidate(rank, pos, id int32) candidate {
	return candidate{key: uint64(uint32(rank))<<32 | uint64(uint32(pos)), id: id}
}

func (c candidate) pos() int32 { return int32(uint32(c.key)) }

// mergeQueue is a binary min-heap of candidates ordered by rank, then position, the order in
// which HF's BPE applies merges.
type mergeQueue []candidate

func (q mergeQueue) less(i, j int) bool { return q[i].key < q[j].key }

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
	ids     []int32
	symbols []symbol
	queue   mergeQueue
	ranks   []int32
	targets []int32
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
	ids := m.initialSymbols(ws.ids[:0], word, raw, ws)
	ws.ids = ids
	if len(ids) <= smallWord {
		return append(dst, m.mergeSmall(ids, ws)...)
	}
	syms := ws.symbols[:0]
	for i, id := range ids {
		syms = append(syms, symbol{id: id, prev: int32(i) - 1, next: int32(i) + 1})
	}
	syms[len(syms)-1].next = -1
	m.mergeSymbols(syms, ws)
	for i := range syms {
		if !syms[i].dead {
			dst = append(dst, syms[i].id)
		}
	}
	ws.symbols = syms
	return dst
}

// initialSymbols appends the ids of the word's characters (HF's Word before merging): with
// the subword prefix on all but the first and the suffix on the last, unknown characters
// replaced by the unk token (consecutive ones fused when fuse_unk) or dropped without one.
func (m *bpeModel) initialSymbols(ids []int32, word string, raw bool, ws *wordScratch) []int32 {
	pendingUnk := false
	emit := func(id int32, known bool) {
		if known {
			if pendingUnk {
				ids = append(ids, m.unk)
				pendingUnk = false
			}
			ids = append(ids, id)
			return
		}
		if m.unk < 0 {
			return // HF drops characters it cannot represent when there is no unk token
		}
		if pendingUnk && !m.fuseUnk {
			ids = append(ids, m.unk)
		}
		pendingUnk = true
	}
	if raw && m.prefix == "" && m.suffix == "" {
		for i := 0; i < len(word); i++ {
			id := m.byteIDs[word[i]]
			emit(id, id >= 0)
		}
	} else {
		n := len(word) // raw: one character per byte
		if !raw {
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
			id, ok := m.vocab[string(c)]
			emit(id, ok)
		}
	}
	if pendingUnk {
		ids = append(ids, m.unk)
	}
	return ids
}

// smallWord is the length up to which mergeSmall is used: for short words a linear scan over
// cached pair ranks beats the heap.
const smallWord = 48

// noMerge marks a pair without a merge in mergeSmall's rank table.
const noMerge = int32(1<<31 - 1)

// mergeSmall merges ids in place and returns them. It applies, like mergeSymbols, the pair of
// lowest rank first and the leftmost of equal ones, so both give the same result.
func (m *bpeModel) mergeSmall(ids []int32, ws *wordScratch) []int32 {
	if len(ids) < 2 {
		return ids
	}
	ranks := ws.ranks[:0]
	targets := ws.targets[:0]
	for i := 0; i+1 < len(ids); i++ {
		t, ok := m.merges[pairKey(ids[i], ids[i+1])]
		if !ok {
			t.rank = noMerge
		}
		ranks = append(ranks, t.rank)
		targets = append(targets, t.id)
	}
	pairAt := func(i int) {
		t, ok := m.merges[pairKey(ids[i], ids[i+1])]
		if !ok {
			t.rank = noMerge
		}
		ranks[i], targets[i] = t.rank, t.id
	}
	for {
		best, bestRank := -1, noMerge
		for i, r := range ranks {
			if r < bestRank {
				best, bestRank = i, r
			}
		}
		if best < 0 {
			break
		}
		ids[best] = targets[best]
		ids = append(ids[:best+1], ids[best+2:]...)
		ranks = append(ranks[:best], ranks[best+1:]...)
		targets = append(targets[:best], targets[best+1:]...)
		if best > 0 {
			pairAt(best - 1)
		}
		if best < len(ids)-1 {
			pairAt(best)
		}
	}
	ws.ranks, ws.targets = ranks, targets
	return ids
}

// mergeSymbols applies the merges in rank order, leftmost first, exactly like HF's
// Word::merge_all: a priority queue with lazy invalidation of stale candidates.
func (m *bpeModel) mergeSymbols(syms []symbol, ws *wordScratch) {
	q := ws.queue[:0]
	for i := 0; i+1 < len(syms); i++ {
		if t, ok := m.merges[pairKey(syms[i].id, syms[i+1].id)]; ok {
			q.push(newCandidate(t.rank, int32(i), t.id))
		}
	}
	for len(q) > 0 {
		top := q.pop()
		pos := top.pos()
		cur := &syms[pos]
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
			syms[right.next].prev = pos
		}
		if cur.prev >= 0 {
			if t, ok := m.merges[pairKey(syms[cur.prev].id, cur.id)]; ok {
				q.push(newCandidate(t.rank, cur.prev, t.id))
			}
		}
		if cur.next >= 0 {
			if t, ok := m.merges[pairKey(cur.id, syms[cur.next].id)]; ok {
				q.push(newCandidate(t.rank, pos, t.id))
			}
		}
	}
	ws.queue = q
}
