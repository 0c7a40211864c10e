package sample

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchLogits draws a row of logits shaped like a language model's: roughly normal with a
// standard deviation of 3 and a handful of clear favourites.
func benchLogits(vocab int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 3))
	out := make([]float32, vocab)
	for i := range out {
		out[i] = float32(3 * rng.NormFloat64())
	}
	for range 5 {
		out[rng.IntN(vocab)] += 12
	}
	return out
}

// BenchmarkSample times one Next over Janus' text vocabulary (102400) with the settings of
// the official demos and the usual variants.
func BenchmarkSample(b *testing.B) {
	const vocab = 102400
	logits := benchLogits(vocab, 1)
	previous := []int32{5, 17, 900, 4096}
	for _, p := range []Params{
		{Temperature: 1, TopK: 50, TopP: 0.95},
		{Temperature: 0.1, TopP: 0.95},
		{Temperature: 1, TopP: 0.95},
		{Temperature: 1},
		{Temperature: 0.7, TopK: 50, RepetitionPenalty: 1.1},
	} {
		b.Run(fmt.Sprintf("vocab=%d/T=%g/k=%d/p=%g/pen=%g", vocab, p.Temperature, p.TopK, p.TopP, p.RepetitionPenalty), func(b *testing.B) {
			s, err := New(p, 1)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				s.Next(logits, previous)
			}
		})
	}
}
