package tokenizer

import (
	"math"

	"github.com/dlclark/regexp2/v2/syntax"
)

// A backtracking matcher for the regex constructs that pre-tokenizer patterns use: character
// classes and their loops, literals, alternation, optional groups, look-ahead, atomic groups
// and anchors. It runs on regexp2's own parse tree (so classes, \s, \p{..} and case folding
// mean exactly what they mean to regexp2) but avoids regexp2's per-call set-up and generic
// interpreter, which dominated encoding time for pipelines that run five Split patterns over
// many small pieces. Patterns using anything else (back-references, look-behind, general
// loops over groups, ...) are left to regexp2. Equality with regexp2 is checked by the golden
// tests and by a differential fuzz test (FuzzRegexMatcher).

type rxKind uint8

const (
	rxClass  rxKind = iota // one character class, repeated min..max times
	rxMulti                // a literal string
	rxAlt                  // ordered alternation
	rxLook                 // look-ahead (negate: negative)
	rxAtomic               // atomic group: first way the body matches, no backtracking into it
	rxBol                  // ^ with Multiline: start or after '\n'
	rxEol                  // $ with Multiline: end or before '\n'
	rxBegin                // \A
	rxEnd                  // \z
	rxEndZ                 // \Z and $ without Multiline: end, or before a final '\n'
	rxFail                 // matches nothing
	rxAccept               // end of the pattern (or of a look-ahead / atomic body)
)

type loopMode uint8

const (
	loopGreedy loopMode = iota
	loopLazy
	loopAtomic
)

// charClass tests runes against a regexp2 character set, ASCII through a bitmap.
type charClass struct {
	ascii  [2]uint64
	set    *syntax.CharSet // nil: single (or all but single, when negate)
	single rune
	negate bool
}

func (c *charClass) has(r rune) bool {
	if r >= 0 && r < 128 {
		return c.ascii[r>>6]&(1<<(uint(r)&63)) != 0
	}
	if c.set == nil {
		return (r == c.single) != c.negate
	}
	return c.set.Contains(r)
}

func (c *charClass) fillASCII() {
	for r := rune(0); r < 128; r++ {
		var in bool
		if c.set == nil {
			in = (r == c.single) != c.negate
		} else {
			in = c.set.Contains(r)
		}
		if in {
			c.ascii[r>>6] |= 1 << (uint(r) & 63)
		}
	}
}

func newSetClass(s *syntax.CharSet) *charClass {
	c := &charClass{set: s}
	c.fillASCII()
	return c
}

func newRuneClass(r rune, negate bool) *charClass {
	c := &charClass{single: r, negate: negate}
	c.fillASCII()
	return c
}

type rxNode struct {
	kind     rxKind
	cls      *charClass
	min, max int
	mode     loopMode
	str      []rune
	alts     []*rxNode
	body     *rxNode
	negate   bool
	next     *rxNode
}

// fastRegex is a compiled pattern for the backtracking matcher.
type fastRegex struct {
	root *rxNode
	// first lists the classes one of which the first character of any match belongs to;
	// nil when a match may be empty or start anywhere.
	first []*charClass
	// firstASCII is the union of first's ASCII bitmaps.
	firstASCII [2]uint64
}

// unsupportedOptions make the matcher decline a pattern: case folding at match time,
// right-to-left parts (look-behind) and ECMAScript semantics.
const unsupportedOptions = syntax.IgnoreCase | syntax.RightToLeft | syntax.ECMAScript

// compileFast builds the matcher for expr parsed with opts, or reports false when the pattern
// uses a construct it does not handle.
func compileFast(expr string, opts syntax.RegexOptions) (*fastRegex, bool) {
	tree, err := syntax.Parse(expr, syntax.ParseOptions{RegexOptions: opts})
	if err != nil {
		return nil, false
	}
	accept := &rxNode{kind: rxAccept}
	root, ok := buildNode(tree.Root, accept, 0)
	if !ok {
		return nil, false
	}
	f := &fastRegex{root: root}
	if classes, empty := firstClasses(tree.Root, 0); !empty && classes != nil {
		f.first = classes
		for _, c := range classes {
			f.firstASCII[0] |= c.ascii[0]
			f.firstASCII[1] |= c.ascii[1]
		}
	}
	return f, true
}

const maxTreeDepth = 64

func loopBounds(n *syntax.RegexNode) (int, int) {
	hi := n.N
	if hi < 0 || hi == math.MaxInt32 {
		hi = math.MaxInt
	}
	return n.M, hi
}

// buildNode translates n into matcher nodes that continue with next.
func buildNode(n *syntax.RegexNode, next *rxNode, depth int) (*rxNode, bool) {
	if depth > maxTreeDepth || n.Options&unsupportedOptions != 0 {
		return nil, false
	}
	child := func(i int, cont *rxNode) (*rxNode, bool) {
		if i >= len(n.Children) {
			return nil, false
		}
		return buildNode(n.Children[i], cont, depth+1)
	}
	classLoop := func(cls *charClass, mode loopMode) (*rxNode, bool) {
		lo, hi := loopBounds(n)
		if lo < 0 || hi < lo {
			return nil, false
		}
		return &rxNode{kind: rxClass, cls: cls, min: lo, max: hi, mode: mode, next: next}, true
	}
	switch n.T {
	case syntax.NtCapture, syntax.NtGroup:
		return child(0, next)
	case syntax.NtAtomic:
		body, ok := child(0, &rxNode{kind: rxAccept})
		if !ok {
			return nil, false
		}
		return &rxNode{kind: rxAtomic, body: body, next: next}, true
	case syntax.NtPosLook, syntax.NtNegLook:
		body, ok := child(0, &rxNode{kind: rxAccept})
		if !ok {
			return nil, false
		}
		return &rxNode{kind: rxLook, body: body, negate: n.T == syntax.NtNegLook, next: next}, true
	case syntax.NtConcatenate:
		cur := next
		for i := len(n.Children) - 1; i >= 0; i-- {
			var ok bool
			if cur, ok = child(i, cur); !ok {
				return nil, false
			}
		}
		return cur, true
	case syntax.NtAlternate:
		alt := &rxNode{kind: rxAlt, next: next}
		for i := range n.Children {
			a, ok := child(i, next)
			if !ok {
				return nil, false
			}
			alt.alts = append(alt.alts, a)
		}
		return alt, true
	case syntax.NtLoop, syntax.NtLazyloop:
		switch {
		case n.M == 1 && n.N == 1:
			return child(0, next)
		case n.M == 0 && n.N == 1:
			body, ok := child(0, next)
			if !ok {
				return nil, false
			}
			alts := []*rxNode{body, next}
			if n.T == syntax.NtLazyloop {
				alts[0], alts[1] = next, body
			}
			return &rxNode{kind: rxAlt, alts: alts, next: next}, true
		}
		return nil, false
	case syntax.NtOne:
		return &rxNode{kind: rxClass, cls: newRuneClass(n.Ch, false), min: 1, max: 1, next: next}, true
	case syntax.NtNotone:
		return &rxNode{kind: rxClass, cls: newRuneClass(n.Ch, true), min: 1, max: 1, next: next}, true
	case syntax.NtSet:
		if n.Set == nil {
			return nil, false
		}
		return &rxNode{kind: rxClass, cls: newSetClass(n.Set), min: 1, max: 1, next: next}, true
	case syntax.NtOneloop, syntax.NtOnelazy, syntax.NtOneloopatomic:
		return classLoop(newRuneClass(n.Ch, false), modeOf(n.T))
	case syntax.NtNotoneloop, syntax.NtNotonelazy, syntax.NtNotoneloopatomic:
		return classLoop(newRuneClass(n.Ch, true), modeOf(n.T))
	case syntax.NtSetloop, syntax.NtSetlazy, syntax.NtSetloopatomic:
		if n.Set == nil {
			return nil, false
		}
		return classLoop(newSetClass(n.Set), modeOf(n.T))
	case syntax.NtMulti:
		return &rxNode{kind: rxMulti, str: n.Str, next: next}, true
	case syntax.NtBol:
		return &rxNode{kind: rxBol, next: next}, true
	case syntax.NtEol:
		return &rxNode{kind: rxEol, next: next}, true
	case syntax.NtBeginning:
		return &rxNode{kind: rxBegin, next: next}, true
	case syntax.NtEnd:
		return &rxNode{kind: rxEnd, next: next}, true
	case syntax.NtEndZ:
		return &rxNode{kind: rxEndZ, next: next}, true
	case syntax.NtEmpty, syntax.NtUpdateBumpalong:
		// UpdateBumpalong only moves where regexp2 retries after a failure, where it has
		// proven that no match can start in between; results are the same without it.
		return next, true
	case syntax.NtNothing:
		return &rxNode{kind: rxFail}, true
	}
	return nil, false
}

func modeOf(t syntax.NodeType) loopMode {
	switch t {
	case syntax.NtOnelazy, syntax.NtNotonelazy, syntax.NtSetlazy:
		return loopLazy
	case syntax.NtOneloopatomic, syntax.NtNotoneloopatomic, syntax.NtSetloopatomic:
		return loopAtomic
	}
	return loopGreedy
}

// firstClasses returns classes that together contain the first character of every match of n
// and whether n can match the empty string; zero-width parts are treated as possibly empty,
// which keeps the answer a superset.
func firstClasses(n *syntax.RegexNode, depth int) ([]*charClass, bool) {
	if depth > maxTreeDepth {
		return nil, true
	}
	switch n.T {
	case syntax.NtOne:
		return []*charClass{newRuneClass(n.Ch, false)}, false
	case syntax.NtNotone:
		return []*charClass{newRuneClass(n.Ch, true)}, false
	case syntax.NtSet:
		return []*charClass{newSetClass(n.Set)}, false
	case syntax.NtOneloop, syntax.NtOnelazy, syntax.NtOneloopatomic:
		return []*charClass{newRuneClass(n.Ch, false)}, n.M == 0
	case syntax.NtNotoneloop, syntax.NtNotonelazy, syntax.NtNotoneloopatomic:
		return []*charClass{newRuneClass(n.Ch, true)}, n.M == 0
	case syntax.NtSetloop, syntax.NtSetlazy, syntax.NtSetloopatomic:
		return []*charClass{newSetClass(n.Set)}, n.M == 0
	case syntax.NtMulti:
		if len(n.Str) == 0 {
			return nil, true
		}
		return []*charClass{newRuneClass(n.Str[0], false)}, false
	case syntax.NtCapture, syntax.NtGroup, syntax.NtAtomic:
		if len(n.Children) == 0 {
			return nil, true
		}
		return firstClasses(n.Children[0], depth+1)
	case syntax.NtLoop, syntax.NtLazyloop:
		if len(n.Children) == 0 {
			return nil, true
		}
		c, empty := firstClasses(n.Children[0], depth+1)
		return c, empty || n.M == 0
	case syntax.NtConcatenate:
		var out []*charClass
		for _, ch := range n.Children {
			c, empty := firstClasses(ch, depth+1)
			out = append(out, c...)
			if !empty {
				return out, false
			}
		}
		return out, true
	case syntax.NtAlternate:
		var out []*charClass
		anyEmpty := false
		for _, ch := range n.Children {
			c, empty := firstClasses(ch, depth+1)
			out = append(out, c...)
			anyEmpty = anyEmpty || empty
		}
		return out, anyEmpty
	case syntax.NtNothing:
		return nil, false
	}
	return nil, true
}

// rxMachine runs a fastRegex over one input.
type rxMachine struct {
	in  []rune
	end int // end of the match found by the last successful run
}

// mayStart reports whether a match of f can start with r.
func (f *fastRegex) mayStart(r rune) bool {
	if f.first == nil {
		return true
	}
	if r >= 0 && r < 128 {
		return f.firstASCII[r>>6]&(1<<(uint(r)&63)) != 0
	}
	for _, c := range f.first {
		if c.has(r) {
			return true
		}
	}
	return false
}

// find returns the first match starting at or after from, as rune offsets.
func (f *fastRegex) find(m *rxMachine, from int) (start, end int, ok bool) {
	in := m.in
	for s := from; s <= len(in); s++ {
		if s < len(in) {
			if !f.mayStart(in[s]) {
				continue
			}
		} else if f.first != nil {
			break // a match needs at least one character
		}
		if m.run(f.root, s) {
			return s, m.end, true
		}
	}
	return 0, 0, false
}

// run reports whether the pattern continues to match from node n at pos.
func (m *rxMachine) run(n *rxNode, pos int) bool {
	in := m.in
	for {
		switch n.kind {
		case rxClass:
			if n.min == 1 && n.max == 1 {
				if pos < len(in) && n.cls.has(in[pos]) {
					pos++
					n = n.next
					continue
				}
				return false
			}
			limit := len(in) - pos
			if n.max < limit {
				limit = n.max
			}
			c := 0
			if n.mode == loopLazy {
				// Take the minimum first, then one more character per failed attempt.
				for c < n.min {
					if c >= limit || !n.cls.has(in[pos+c]) {
						return false
					}
					c++
				}
				for {
					if m.run(n.next, pos+c) {
						return true
					}
					if c >= limit || !n.cls.has(in[pos+c]) {
						return false
					}
					c++
				}
			}
			for c < limit && n.cls.has(in[pos+c]) {
				c++
			}
			if c < n.min {
				return false
			}
			if n.mode == loopAtomic {
				pos += c
				n = n.next
				continue
			}
			for ; c > n.min; c-- {
				if m.run(n.next, pos+c) {
					return true
				}
			}
			pos += n.min
			n = n.next
		case rxMulti:
			if len(in)-pos < len(n.str) {
				return false
			}
			for i, r := range n.str {
				if in[pos+i] != r {
					return false
				}
			}
			pos += len(n.str)
			n = n.next
		case rxAlt:
			last := len(n.alts) - 1
			for i := 0; i < last; i++ {
				if m.run(n.alts[i], pos) {
					return true
				}
			}
			n = n.alts[last]
		case rxLook:
			if m.run(n.body, pos) == n.negate {
				return false
			}
			n = n.next
		case rxAtomic:
			if !m.run(n.body, pos) {
				return false
			}
			pos = m.end
			n = n.next
		case rxBol:
			if pos != 0 && in[pos-1] != '\n' {
				return false
			}
			n = n.next
		case rxEol:
			if pos != len(in) && in[pos] != '\n' {
				return false
			}
			n = n.next
		case rxBegin:
			if pos != 0 {
				return false
			}
			n = n.next
		case rxEnd:
			if pos != len(in) {
				return false
			}
			n = n.next
		case rxEndZ:
			if pos != len(in) && !(pos == len(in)-1 && in[pos] == '\n') {
				return false
			}
			n = n.next
		case rxAccept:
			m.end = pos
			return true
		default: // rxFail
			return false
		}
	}
}
