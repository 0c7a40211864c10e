package cpu

import (
	"math/rand/v2"
	"testing"
)

// TestSumWords checks the vector sums against a plain loop over lengths around the vector
// loops' steps, with words whose sum wraps.
func TestSumWords(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	w := make([]uint64, 1000)
	for i := range w {
		w[i] = rng.Uint64()
	}
	for _, n := range []int{0, 1, 3, 15, 16, 17, 31, 32, 33, 64, 100, 1000} {
		var want uint64
		for _, v := range w[:n] {
			want += v
		}
		if got := SumWords(w[:n]); got != want {
			t.Errorf("SumWords of %d words = %#x, want %#x", n, got, want)
		}
		if _, covered := sumWordsVector(w[:n]); covered > n || covered%16 != 0 {
			t.Errorf("the vector loop covered %d of %d words", covered, n)
		}
	}
}

// BenchmarkSumWords reads 512 MB, beyond the caches, with one goroutine: the read rate of
// one core, which janus bench's probe adds up over its goroutines.
func BenchmarkSumWords(b *testing.B) {
	w := make([]uint64, 64<<20)
	for i := range w {
		w[i] = uint64(i)
	}
	for b.Loop() { // b.Loop keeps the call from being optimized away
		SumWords(w)
	}
	b.ReportMetric(float64(8*len(w))/(b.Elapsed().Seconds()/float64(b.N))/1e9, "GB/s")
}
