package sample

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// refSampler is the straightforward implementation Sampler must agree with token for token:
// it sorts the whole vocabulary for top-k and again for top-p, and softmaxes every token.
type refSampler struct {
	p   Params
	rng *rand.Rand
}

func newRef(p Params, seed uint64) *refSampler {
	return &refSampler{p: p, rng: rand.New(rand.NewPCG(seed, seedStream))}
}

func (s *refSampler) next(logits []float32, previous []int32) int32 {
	scores := slices.Clone(logits)
	if pen := float32(s.p.RepetitionPenalty); pen != 0 && pen != 1 {
		seen := map[int32]bool{}
		for _, id := range previous {
			if id < 0 || int(id) >= len(scores) || seen[id] {
				continue
			}
			seen[id] = true
			if v := scores[id]; v < 0 {
				scores[id] = v * pen
			} else {
				scores[id] = v / pen
			}
		}
	}
	if s.p.Greedy() {
		return int32(Argmax(scores))
	}
	t := float32(s.p.Temperature)
	for i := range scores {
		scores[i] /= t
	}
	inf := float32(math.Inf(-1))
	if k := s.p.TopK; k > 0 && k < len(scores) {
		sorted := slices.Clone(scores)
		slices.SortFunc(sorted, func(a, b float32) int { return cmp.Compare(b, a) })
		kth := sorted[k-1]
		for i, v := range scores {
			if v < kth {
				scores[i] = inf
			}
		}
	}
	if p := float32(s.p.TopP); s.p.TopP > 0 && s.p.TopP < 1 {
		order := make([]int32, len(scores))
		for i := range order {
			order[i] = int32(i)
		}
		slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(scores[a], scores[b]) })
		sorted := make([]float32, len(order))
		for i, id := range order {
			sorted[i] = scores[id]
		}
		probs := refSoftmax(sorted)
		var cum float32
		for i, id := range order[:len(order)-1] {
			cum += probs[i]
			if cum <= 1-p {
				scores[id] = inf
			}
		}
	}
	probs := refSoftmax(scores)
	u := s.rng.Float64()
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
			return int32(i)
		}
	}
	return int32(last)
}

func refSoftmax(scores []float32) []float32 {
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

// randomRow draws logits of one of several shapes: smooth, quantised to few values (many
// ties, top-k and top-p cuts through tie groups), with -Inf entries, with signed zeros, or
// spread so wide that most probabilities are exactly 0 in float32.
func randomRow(rng *rand.Rand) []float32 {
	n := 1 + rng.IntN(300)
	if rng.IntN(20) == 0 {
		n = 2000 + rng.IntN(3000)
	}
	row := make([]float32, n)
	kind := rng.IntN(5)
	scale := math.Pow(10, 2*rng.Float64()-1) // 0.1 .. 10
	for i := range row {
		v := rng.NormFloat64() * scale
		switch kind {
		case 1:
			v = math.Round(v*2) / 2
		case 2:
			v = float64(rng.IntN(4))
		case 3:
			v *= 100
		}
		row[i] = float32(v)
	}
	if kind == 4 {
		for range 1 + n/4 {
			row[rng.IntN(n)] = float32(math.Inf(-1))
		}
		row[rng.IntN(n)] = 1 // at least one finite score
	}
	if kind == 2 && n > 2 {
		row[0], row[1] = float32(math.Copysign(0, -1)), 0
	}
	return row
}

// TestMatchesReference checks that Sampler draws exactly the tokens of the reference
// implementation for the same seed, over thousands of random rows and settings, three
// tokens per sampler so that the random stream and the repetition history carry on.
func TestMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(2024, 7))
	temps := []float64{0, 0.05, 0.1, 0.7, 1, 1.5, 4}
	topPs := []float64{0, 0.1, 0.5, 0.9, 0.95, 0.999, 0.99999999, 1}
	pens := []float64{0, 1, 1.1, 0.8, 2}
	const cases = 6000
	for c := range cases {
		row := randomRow(rng)
		n := len(row)
		ks := []int{0, 1, 2, 5, 50, max(n-1, 1), n, n + 3}
		p := Params{
			Temperature:       temps[rng.IntN(len(temps))],
			TopK:              ks[rng.IntN(len(ks))],
			TopP:              topPs[rng.IntN(len(topPs))],
			RepetitionPenalty: pens[rng.IntN(len(pens))],
		}
		seed := rng.Uint64()
		s, err := New(p, seed)
		if err != nil {
			t.Fatal(err)
		}
		ref := newRef(p, seed)
		var got, want []int32
		for range 3 {
			in := slices.Clone(row)
			g := s.Next(row, got)
			if !slices.Equal(in, row) {
				t.Fatal("Next modified its input")
			}
			got = append(got, g)
			want = append(want, ref.next(row, want))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("case %d: %+v seed %d over %d logits %s: tokens %v, the reference %v",
				c, p, seed, n, preview(row), got, want)
		}
	}
}

func preview(row []float32) string {
	if len(row) > 12 {
		return fmt.Sprintf("%v…", row[:12])
	}
	return fmt.Sprint(row)
}

// TestMatchesReferenceVocab repeats the comparison at Janus' vocabulary size with logits
// shaped like a language model's, for the demo settings.
func TestMatchesReferenceVocab(t *testing.T) {
	logits := benchLogits(102400, 9)
	for _, p := range []Params{
		{Temperature: 1, TopK: 50, TopP: 0.95},
		{Temperature: 0.1, TopP: 0.95},
		{Temperature: 1, TopP: 0.95},
		{Temperature: 1},
	} {
		s, err := New(p, 77)
		if err != nil {
			t.Fatal(err)
		}
		ref := newRef(p, 77)
		for step := range 8 {
			if g, w := s.Next(logits, nil), ref.next(logits, nil); g != w {
				t.Fatalf("%+v step %d: token %d, the reference %d", p, step, g, w)
			}
		}
	}
}

// FuzzMatchesReference compares Sampler with the reference on arbitrary rows whose scores
// stay numbers or -Inf after the penalty and temperature (the degenerate rows, where the
// reference always returned the last token, are TestDegenerateLogits' subject).
func FuzzMatchesReference(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 200, 9, 9, 9}, 0.7, 2, 0.9, 1.3, uint64(2))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 1.0, 1, 0.5, 0.0, uint64(3))
	f.Add([]byte{0, 0, 128, 255, 0, 0, 128, 63, 0, 0, 0, 128}, 0.1, 0, 0.95, 1.0, uint64(4))
	f.Fuzz(func(t *testing.T, raw []byte, temp float64, k int, p, pen float64, seed uint64) {
		if len(raw) < 4 || temp <= 0 {
			return
		}
		logits := make([]float32, len(raw)/4)
		for i := range logits {
			logits[i] = math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24)
		}
		params := Params{Temperature: temp, TopK: k, TopP: p, RepetitionPenalty: pen}
		s, err := New(params, seed)
		if err != nil {
			return
		}
		previous := []int32{0}
		if len(logits) > 1 {
			previous = append(previous, int32(len(logits)-1))
		}
		// The scores the filters see, computed as Next computes them.
		scores := slices.Clone(logits)
		if pf := float32(pen); pf != 0 && pf != 1 {
			for _, id := range previous {
				if v := scores[id]; v < 0 {
					scores[id] = v * pf
				} else {
					scores[id] = v / pf
				}
			}
		}
		finite := false
		for i := range scores {
			v := scores[i] / float32(temp)
			if v != v || math.IsInf(float64(v), 1) {
				return
			}
			finite = finite || !math.IsInf(float64(v), -1)
		}
		if !finite {
			return
		}
		if got, want := s.Next(logits, previous), newRef(params, seed).next(logits, previous); got != want {
			t.Fatalf("%+v seed %d over %v: token %d, the reference %d", params, seed, logits, got, want)
		}
	})
}
