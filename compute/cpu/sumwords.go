package cpu

import (
	"runtime"
	"sync"
	"time"
)

// SumWords returns the sum mod 2^64 of w, read with the widest vector loads the CPU has
// (AVX-512 or AVX2 on amd64). It is janus bench's memory bandwidth probe: a pass over an
// array far larger than the caches is then bound by memory, as the token steps' kernels
// are. A scalar loop, the probe before it, can be bound by its own arithmetic instead and
// read low, which makes every step look nearer its floor. For the same reason the vector
// loops prefetch the first two lines of the next page at the start of each page: the
// hardware prefetchers stop at every 4 KB page, and that prefetch starts their stream
// through the next one before the loads arrive, which read faster than the same loop without
// it and faster than a prefetch of every line (docs/performance.md, "The bandwidth probe"
// and "Page kicks" in "What the speed rests on").
// Elsewhere (arm64 included, which has no vector version yet) it is a scalar loop, with
// four sums.
func SumWords(w []uint64) uint64 {
	s, n := sumWordsVector(w)
	var a, b, c, d uint64
	p := w[n:]
	for len(p) >= 4 {
		a += p[0]
		b += p[1]
		c += p[2]
		d += p[3]
		p = p[4:]
	}
	for _, v := range p {
		a += v
	}
	return s + a + b + c + d
}

// ReadRate reads w once with threads goroutines, each summing its share with SumWords, and
// returns the rate in GB/s: one pass of janus bench's bandwidth probe, and what
// BenchmarkLinearQLayers sets its products beside.
func ReadRate(w []uint64, threads int) float64 {
	threads = max(1, threads)
	sums := make([]uint64, threads)
	chunk := (len(w) + threads - 1) / threads
	var wg sync.WaitGroup
	t0 := time.Now()
	for t := range threads {
		lo, hi := min(t*chunk, len(w)), min((t+1)*chunk, len(w))
		wg.Go(func() { sums[t] = SumWords(w[lo:hi]) })
	}
	wg.Wait()
	rate := float64(8*len(w)) / time.Since(t0).Seconds() / 1e9
	runtime.KeepAlive(sums)
	return rate
}
