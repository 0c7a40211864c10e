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
package sample

import (
	"cmp"
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

// Validate reports the first parameter outside its range.
func (p Params) Validate() error {
	switch {
	case math.IsNaN(p.Temperature) || p.Temperature < 0:
		return fmt.Errorf("temperature %v must be >= 0", p.Temperature)
	case p.TopK < 0:
		return fmt.Errorf("top-k %d must be >= 0", p.TopK)
	case math.IsNaN(p.TopP) || p.TopP < 0 || p.TopP > 1:
		return fmt.Errorf("top-p %v must be in [0, 1]", p.TopP)
	case math.IsNaN(p.RepetitionPenalty) || p.RepetitionPenalty < 0:
		return fmt.Errorf("repetition penalty %v must be > 0 (0 means unset)", p.RepetitionPenalty)
	}
	return nil
}

// Greedy reports whether p selects argmax decoding.
func (p Params) Greedy() bool { return p.Temperature == 0 }

// Sampler picks tokens with fixed Params and its own random source. It is not safe for
// concurrent use.
type Sampler struct {
	p       Params
	rng     *rand.Rand
	scores  []float32
	order   []int32
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
	if s.p.TopK > 0 {
		topK(scores, s.p.TopK)
	}
	if s.p.TopP > 0 && s.p.TopP < 1 {
		s.topP(scores, float32(s.p.TopP))
	}
	probs := softmax(scores)
	return int32(draw(probs, s.rng.Float64()))
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

// topK sets every score below the k-th largest to -Inf; scores equal to the k-th survive.
func topK(scores []float32, k int) {
	if k >= len(scores) {
		return
	}
	sorted := slices.Clone(scores)
	slices.SortFunc(sorted, func(a, b float32) int { return cmp.Compare(b, a) })
	kth := sorted[k-1]
	inf := float32(math.Inf(-1))
	for i, v := range scores {
		if v < kth {
			scores[i] = inf
		}
	}
}

// topP removes the low-probability tail: sorted ascending, every token whose cumulative
// probability is <= 1-p goes, except the most likely one.
func (s *Sampler) topP(scores []float32, p float32) {
	s.order = s.order[:0]
	for i := range scores {
		s.order = append(s.order, int32(i))
	}
	order := s.order
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(scores[a], scores[b]) })
	sorted := make([]float32, len(order))
	for i, id := range order {
		sorted[i] = scores[id]
	}
	probs := softmax(sorted)
	var cum float32
	inf := float32(math.Inf(-1))
	for i, id := range order[:len(order)-1] {
		cum += probs[i]
		if cum <= 1-p {
			scores[id] = inf
		}
	}
}

// softmax returns a new slice of probabilities in float32; -Inf scores get probability 0.
func softmax(scores []float32) []float32 {
	maxV := float32(math.Inf(-1))
	for _, v := range scores {
		maxV = max(maxV, v)
	}
	out := make([]float32, len(scores))
	var sum float64
	for i, v := range scores {
		e := float32(math.Exp(float64(v - maxV)))
		out[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range out {
		out[i] *= inv
	}
	return out
}

// draw picks index i with probability probs[i] using the uniform number u in [0, 1).
func draw(probs []float32, u float64) int {
	var total float64
	for _, p := range probs {
		total += float64(p)
	}
	target := u * total
	var cum float64
	last := 0
	for i, p := range probs {
		if p <= 0 {
			continue
		}
		cum += float64(p)
		last = i
		if target < cum {
			return i
		}
	}
	return last
}
