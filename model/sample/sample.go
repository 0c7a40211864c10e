// Package sample picks the next token from a row of logits the way Hugging Face's generate
// does for Janus: greedy argmax at temperature 0, otherwise repetition penalty, temperature,
// top-k and top-p filtering (in that order, always keeping at least one token), softmax and a
// draw from a seeded random source.
//
// It is hand-written rather than taken from a library because the exact HF semantics matter
// (which tokens survive a top-k tie, how top-p counts the cumulative mass, the sign-dependent
// repetition penalty) and no Go package reproduces them. The draw cannot match PyTorch's
// multinomial bit for bit; instead it is reproducible in Go: the same seed gives the same
// tokens (math/rand/v2 PCG).
//
// Cost per token: Next runs a few linear passes over the vocabulary and sorts only what
// top-p must order. Top-k finds the k-th largest logit with a k-element heap instead of
// sorting; top-p then orders only the survivors, and without top-k only the tokens whose
// probability is not exactly zero in float32. The sums are taken in the same order as a
// plain sort-everything implementation would take them, so the tokens drawn for a seed do
// not depend on these shortcuts. Large top-p sorts use a hand-written radix sort on the
// scores' bits rather than slices.Sort, which took nearly three times as long over a
// 102400-token vocabulary (BenchmarkSample). Buffers live in the Sampler and are reused.
//
// Logits that are NaN are never drawn (as in Argmax); +Inf logits share all the probability;
// when every logit is NaN or -Inf, Next returns the first token.
package sample

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Params are the user-facing sampling controls.
type Params struct {
	// Temperature divides the logits; 0 selects greedy decoding (argmax).
	Temperature float64
	// TopK keeps the K highest logits (ties with the K-th are kept, as in HF); 0 disables it.
	TopK int
	// TopP keeps the smallest set of tokens whose probability mass exceeds TopP; 1 (or 0,
	// meaning unset) disables it.
	TopP float64
	// RepetitionPenalty, when not 1 (or 0, meaning unset), makes tokens already generated less
	// likely: a positive logit is divided by it, a negative one multiplied (HF semantics).
	RepetitionPenalty float64
}

// Validate reports the first parameter outside its range: temperature finite and >= 0,
// top-k >= 0, top-p in (0, 1] or 0 for unset, repetition penalty finite and > 0 or 0 for
// unset. New calls it; a command line can call it to check flags before loading a model.
func (p Params) Validate() error {
	switch {
	case math.IsNaN(p.Temperature) || math.IsInf(p.Temperature, 0) || p.Temperature < 0:
		return &ParamError{"temperature", fmt.Sprint(p.Temperature), "must be finite and >= 0 (0 is greedy)"}
	case p.TopK < 0:
		return &ParamError{"top-k", fmt.Sprint(p.TopK), "must be >= 0 (0 disables it)"}
	case math.IsNaN(p.TopP) || p.TopP < 0 || p.TopP > 1:
		return &ParamError{"top-p", fmt.Sprint(p.TopP), "must be in (0, 1] (0 or 1 disables it)"}
	case math.IsNaN(p.RepetitionPenalty) || math.IsInf(p.RepetitionPenalty, 0) || p.RepetitionPenalty < 0:
		return &ParamError{"repetition penalty", fmt.Sprint(p.RepetitionPenalty), "must be finite and > 0 (0 or 1 disables it)"}
	}
	return nil
}

// ParamError is a generation parameter out of its range. It names the parameter apart from
// the problem so that a caller can say which of its own inputs to change (a command-line
// flag, a request field) without parsing the text.
type ParamError struct {
	// Param is the parameter's name in the message ("temperature", "top-p").
	Param string
	// Value is the value given, as text.
	Value string
	// Problem says what is wrong or wanted ("must be finite and >= 0 (0 is greedy)").
	Problem string
}

// Error names the parameter, its value and what is wrong with it.
func (e *ParamError) Error() string { return e.Param + " " + e.Value + " " + e.Problem }

// Greedy reports whether p selects argmax decoding.
func (p Params) Greedy() bool { return p.Temperature == 0 }

// Sampler picks tokens with fixed Params and its own random source. It is not safe for
// concurrent use.
type Sampler struct {
	p   Params
	rng *rand.Rand

	// Buffers reused by every Next.
	scores  []float32 // the logits after penalty and temperature
	cand    []int32   // tokens still in the running, ascending
	heap    []float32 // top-k's k largest scores
	keys    []uint64  // top-p's sort keys
	keysTmp []uint64  // the radix sort's second buffer
	exps    []float32 // top-p's exp(score - max) per token
	probs   []float32 // the final probabilities of cand
	penalty map[int32]bool
}

// seedStream is the PCG stream constant; any fixed value works, it only has to stay the same
// so that a seed keeps giving the same tokens across releases.
const seedStream = 0x4a616e7573 // "Janus"

// New returns a Sampler for p whose draws are determined by seed.
func New(p Params, seed uint64) (*Sampler, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Sampler{p: p, rng: rand.New(rand.NewPCG(seed, seedStream))}, nil
}

// Next returns the next token for one row of logits. previous are the tokens generated so far
// in this reply (what HF's repetition penalty sees when the prompt is given as embeddings, as
// Janus does). logits is not modified.
func (s *Sampler) Next(logits []float32, previous []int32) int32 {
	s.scores = append(s.scores[:0], logits...)
	scores := s.scores
	if pen := float32(s.p.RepetitionPenalty); pen != 0 && pen != 1 {
		s.applyPenalty(scores, previous, pen)
	}
	if s.p.Greedy() {
		return int32(Argmax(scores))
	}
	t := float32(s.p.Temperature)
	for i := range scores {
		scores[i] /= t
	}
	u := s.rng.Float64()
	cand := s.candidates(scores)
	if len(cand) == 0 {
		return 0
	}
	if k := s.p.TopK; k > 0 && k < len(cand) {
		cand = s.topK(scores, cand, k)
	}
	if p := s.p.TopP; p > 0 && p < 1 {
		cand = s.topP(scores, cand, float32(p))
	}
	return s.draw(scores, cand, u)
}

// applyPenalty rescales each distinct previous token once (HF gathers and scatters, so
// duplicates are penalised once).
func (s *Sampler) applyPenalty(scores []float32, previous []int32, pen float32) {
	if s.penalty == nil {
		s.penalty = make(map[int32]bool)
	}
	clear(s.penalty)
	for _, id := range previous {
		if id < 0 || int(id) >= len(scores) || s.penalty[id] {
			continue
		}
		s.penalty[id] = true
		if v := scores[id]; v < 0 {
			scores[id] = v * pen
		} else {
			scores[id] = v / pen
		}
	}
}

// Argmax returns the index of the largest value, the lowest index on ties (torch.argmax).
// NaN is never chosen over a number.
func Argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] || (x[best] != x[best] && v == v) {
			best = i
		}
	}
	return best
}

// candidates returns the tokens that can be drawn, in ascending order: those with a finite
// score or, when some score is +Inf, only those, whose scores it sets to 0 so that they
// share the probability equally.
func (s *Sampler) candidates(scores []float32) []int32 {
	inf := float32(math.Inf(1))
	cand := s.cand[:0]
	posInf := false
	for i, v := range scores {
		if v > -inf && v < inf {
			cand = append(cand, int32(i))
		} else if v == inf {
			posInf = true
		}
	}
	if posInf {
		cand = cand[:0]
		for i, v := range scores {
			if v == inf {
				scores[i] = 0
				cand = append(cand, int32(i))
			}
		}
	}
	s.cand = cand
	return cand
}

// topK keeps the candidates whose score is at least the k-th largest (so ties with the k-th
// survive), 0 < k < len(cand). A min-heap of the k largest scores finds the k-th in one pass;
// most scores lose against its root and cost one comparison.
func (s *Sampler) topK(scores []float32, cand []int32, k int) []int32 {
	h := s.heap[:0]
	for _, i := range cand[:k] {
		h = append(h, scores[i])
	}
	for j := k/2 - 1; j >= 0; j-- {
		siftDown(h, j)
	}
	for _, i := range cand[k:] {
		if v := scores[i]; v > h[0] {
			h[0] = v
			siftDown(h, 0)
		}
	}
	s.heap = h
	kth := h[0]
	kept := cand[:0]
	for _, i := range cand {
		if scores[i] >= kth {
			kept = append(kept, i)
		}
	}
	return kept
}

// siftDown restores the min-heap property of h below position j.
func siftDown(h []float32, j int) {
	for {
		c := 2*j + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && h[c+1] < h[c] {
			c++
		}
		if h[j] <= h[c] {
			return
		}
		h[j], h[c] = h[c], h[j]
		j = c
	}
}

// expZeroBelow bounds where float32(exp(d)) underflows to 0: every float32 d <= it does (the
// largest such d is -103.972084). topP skips the exponential for those scores.
const expZeroBelow = -103.98

// topP removes the low-probability tail, as HF does: with the tokens sorted by ascending
// score (ties by index), every token whose cumulative probability is <= 1-p goes, except the
// most likely one. Only the candidates with a non-zero float32 probability are sorted; the
// others have cumulative probability 0 and always go. The float64 normalising sum and the
// float32 cumulative sum run in the sorted order, as a full sort would run them, so the cut
// falls exactly where it would.
func (s *Sampler) topP(scores []float32, cand []int32, p float32) []int32 {
	if len(cand) < 2 {
		return cand
	}
	maxV := scores[cand[0]]
	for _, i := range cand {
		maxV = max(maxV, scores[i])
	}
	if len(s.exps) < len(scores) {
		s.exps = make([]float32, len(scores))
	}
	keys := s.keys[:0]
	for _, i := range cand {
		d := scores[i] - maxV
		if d <= expZeroBelow {
			continue
		}
		e := float32(math.Exp(float64(d)))
		if e == 0 {
			continue
		}
		s.exps[i] = e
		keys = append(keys, sortKey(scores[i], i))
	}
	s.keys = keys
	s.sortKeys(keys)
	var sum float64
	for _, k := range keys {
		sum += float64(s.exps[int32(k)])
	}
	inv := float32(1 / sum)
	var cum float32
	cut := len(keys) - 1 // the most likely token always stays
	for j, k := range keys[:len(keys)-1] {
		// The conversions round each product to float32, as a stored probability would
		// be, and keep the compiler from fusing it into the sum.
		cum += float32(s.exps[int32(k)] * inv)
		if cum > 1-p {
			cut = j
			break
		}
	}
	first := keys[cut]
	kept := cand[:0]
	for _, i := range cand {
		if sortKey(scores[i], i) >= first {
			kept = append(kept, i)
		}
	}
	return kept
}

// sortKey orders tokens by score, then index, as an ascending stable sort does: the float's
// bits mapped so that unsigned order is numeric order (-0 counted as +0, which compares
// equal to it), with the index in the low half.
func sortKey(v float32, i int32) uint64 {
	b := math.Float32bits(v)
	switch {
	case v == 0:
		b = 0x80000000
	case b&0x80000000 != 0:
		b = ^b
	default:
		b |= 0x80000000
	}
	return uint64(b)<<32 | uint64(uint32(i))
}

// sortKeys sorts top-p's keys. Their low halves, the token ids, already ascend (the
// candidates come in token order), so a stable sort on the high halves alone orders them
// fully: for long lists a least-significant-digit radix sort in three 11-bit passes, linear
// where a comparison sort of a whole vocabulary costs n·log n.
func (s *Sampler) sortKeys(keys []uint64) {
	if len(keys) < 512 {
		slices.Sort(keys)
		return
	}
	if cap(s.keysTmp) < len(keys) {
		s.keysTmp = make([]uint64, len(keys))
	}
	src, dst := keys, s.keysTmp[:len(keys)]
	var count [1 << radixBits]int
	for shift := 32; shift < 64; shift += radixBits {
		clear(count[:])
		for _, k := range src {
			count[(k>>shift)&(1<<radixBits-1)]++
		}
		if count[(src[0]>>shift)&(1<<radixBits-1)] == len(src) {
			continue // every key has this digit: the pass would not move anything
		}
		at := 0
		for d, c := range count {
			count[d] = at
			at += c
		}
		for _, k := range src {
			d := (k >> shift) & (1<<radixBits - 1)
			dst[count[d]] = k
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
}

// radixBits is the digit width of sortKeys: three passes cover the 32 bits of a score.
const radixBits = 11

// draw softmaxes the scores of cand (ascending tokens) in float32 and picks token i with
// probability probs[i] using the uniform number u in [0, 1).
func (s *Sampler) draw(scores []float32, cand []int32, u float64) int32 {
	maxV := scores[cand[0]]
	for _, i := range cand {
		maxV = max(maxV, scores[i])
	}
	probs := s.probs[:0]
	var sum float64
	for _, i := range cand {
		e := float32(math.Exp(float64(scores[i] - maxV)))
		probs = append(probs, e)
		sum += float64(e)
	}
	s.probs = probs
	inv := float32(1 / sum)
	var total float64
	for j := range probs {
		probs[j] = float32(probs[j] * inv)
		total += float64(probs[j])
	}
	target := u * total
	var cum float64
	last := cand[0]
	for j, p := range probs {
		if p <= 0 {
			continue
		}
		cum += float64(p)
		last = cand[j]
		if target < cum {
			return cand[j]
		}
	}
	return last
}
