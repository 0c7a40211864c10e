package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// pool is a fixed set of worker goroutines that share the chunks of one parallel loop with
// the goroutine that issued it. Each chunk always covers the same index range whatever the
// thread count, so results do not depend on scheduling.
//
// Every goroutine of a loop owns one run of consecutive chunks and takes them front to back,
// then takes what is left of the others' runs from their ends, one chunk at a time. A thread
// thus reads its part of a weight matrix as one stream, which the hardware prefetchers
// follow from chunk to chunk; with one shared counter the two threads took alternate chunks,
// so every chunk started a new stream, and a token step's products read slower (README,
// "What the speed rests on"). Taking from the others' ends keeps the balance of a shared
// counter: a thread that starts late or is descheduled has its chunks done for it.
type pool struct {
	threads int
	// spin is how long goroutines poll before they sleep (spinFor), 0 (a few polls) when the
	// pool has more threads than the scheduler runs at once: a poller would then hold a CPU
	// that a goroutine with work is waiting for.
	spin time.Duration
	// offer is the loop the helpers may join, nil between loops; offers counts the loops
	// offered, which is what a waiting helper polls.
	offer   atomic.Pointer[job]
	offers  atomic.Uint64
	helpers []*helper
	closed  atomic.Bool
	// done wakes the issuing goroutine, when it sleeps, once the last helper of its loop ends.
	done chan struct{}
	// job is every loop's: run is never called concurrently, and a token step runs hundreds
	// of loops, whose allocations would otherwise each take fresh memory until the next
	// collection (see run).
	job job
}

// helper is a worker goroutine's parking place: it polls for an offer for spin, then sets
// parked and sleeps on wake until an issuing goroutine (or close) clears parked and sends.
type helper struct {
	parked atomic.Bool
	wake   chan struct{}
}

// job is one parallel loop: indices [0,n) in chunks of size chunk.
type job struct {
	pool   *pool
	fn     func(lo, hi int)
	n      int
	chunk  int
	runs   []chunkRun    // by slot: the issuing goroutine's first, then each helper's
	joined atomic.Int32  // helpers that have taken a slot
	state  atomic.Uint64 // helpers at work (the low 32 bits), jobClosed, jobWaited
	mu     sync.Mutex
	failed any
}

const (
	jobClosed = 1 << 32 // no helper may join any more
	jobWaited = 1 << 33 // the issuing goroutine sleeps on pool.done until the helpers end
	jobActive = 1<<32 - 1
)

// chunkRun is the chunks [front, back) of a run not yet taken, as front<<32 | back, so that
// the owner's take from the front and another's from the back cannot both get the last
// one. It fills a cache line, so that taking from one run does not slow the others'.
type chunkRun struct {
	v atomic.Uint64
	_ [56]byte
}

// take claims the run's first chunk (fromBack false) or its last, and reports it, or false
// when the run is empty.
func (r *chunkRun) take(fromBack bool) (int, bool) {
	for {
		v := r.v.Load()
		front, back := v>>32, v&(1<<32-1)
		if front >= back {
			return 0, false
		}
		if fromBack {
			if r.v.CompareAndSwap(v, front<<32|(back-1)) {
				return int(back - 1), true
			}
		} else if r.v.CompareAndSwap(v, (front+1)<<32|back) {
			return int(front), true
		}
	}
}

func newPool(threads int) *pool {
	p := &pool{threads: threads, done: make(chan struct{}, 1)}
	if threads <= runtime.GOMAXPROCS(0) {
		p.spin = spinFor
	}
	for range threads - 1 {
		h := &helper{wake: make(chan struct{}, 1)}
		p.helpers = append(p.helpers, h)
		go p.serve(h)
	}
	return p
}

// spinFor is how long a worker or the issuing goroutine polls before it sleeps: a token step
// is a few hundred ops of 0.1-0.3 ms each, and waking a sleeping goroutine for each of them
// took about a third of a step's time.
const spinFor = 100 * time.Microsecond

// serve is a worker goroutine: it joins each loop offered until the pool closes. It polls one
// counter, so an offer reaches a polling worker as one cache line, where a channel took its
// lock on both sides and the issuer took back entries no helper had received (README, "What
// the speed rests on").
func (p *pool) serve(h *helper) {
	var seen uint64
	for {
		start := time.Now()
		for i := 0; p.offers.Load() == seen; i++ {
			if p.closed.Load() {
				return
			}
			if i%64 != 63 || time.Since(start) <= p.spin {
				continue
			}
			// Sleep. Announce it first, then look again: an offer made before the announcement
			// is seen here, one made after it finds parked set and sends a wake-up.
			h.parked.Store(true)
			if p.offers.Load() != seen || p.closed.Load() {
				if !h.parked.CompareAndSwap(true, false) {
					<-h.wake // an issuer cleared parked first: take its wake-up
				}
			} else {
				<-h.wake
			}
			start, i = time.Now(), 0
		}
		if p.closed.Load() {
			return
		}
		seen = p.offers.Load()
		if j := p.offer.Load(); j != nil {
			j.help()
		}
	}
}

// wakeParked wakes every helper that sleeps.
func (p *pool) wakeParked() {
	for _, h := range p.helpers {
		if h.parked.Load() && h.parked.CompareAndSwap(true, false) {
			h.wake <- struct{}{}
		}
	}
}

// close stops the workers; the pool must not be used afterwards.
func (p *pool) close() {
	p.closed.Store(true)
	p.wakeParked()
}

// help joins j unless it is closed, works on it if j has a run for the slot it gets (a
// helper beyond them only joins and leaves), and wakes the issuing goroutine if it was the
// last at work and the issuer sleeps.
func (j *job) help() {
	for {
		s := j.state.Load()
		if s&jobClosed != 0 {
			return
		}
		if j.state.CompareAndSwap(s, s+1) {
			break
		}
	}
	if slot := int(j.joined.Add(1)); slot < len(j.runs) {
		j.work(slot)
	}
	if s := j.state.Add(^uint64(0)); s&jobActive == 0 && s&jobWaited != 0 {
		j.pool.done <- struct{}{}
	}
}

// work runs slot's own chunks in order, then takes the others' from their ends.
func (j *job) work(slot int) {
	defer func() {
		if r := recover(); r != nil {
			j.mu.Lock()
			if j.failed == nil {
				j.failed = r
			}
			j.mu.Unlock()
			// Let the others drain quickly.
			for i := range j.runs {
				j.runs[i].v.Store(0)
			}
		}
	}()
	for i := range j.runs {
		r := &j.runs[(slot+i)%len(j.runs)]
		for {
			c, ok := r.take(i > 0)
			if !ok {
				break
			}
			j.fn(c*j.chunk, min((c+1)*j.chunk, j.n))
		}
	}
}

// run calls fn over [0,n) split into chunks of chunk indices (the last may be shorter), on up
// to p.threads goroutines, and returns when all are done. A panic inside fn is re-raised in
// the caller.
func (p *pool) run(n, chunk int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	// A run's bounds are 32-bit chunk numbers (chunkRun).
	chunk = max(chunk, 1, int((uint64(n)+1<<31-1)>>31))
	chunks := (n + chunk - 1) / chunk
	if p.threads <= 1 || chunks == 1 {
		for lo := 0; lo < n; lo += chunk {
			fn(lo, min(lo+chunk, n))
		}
		return
	}
	helpers := min(p.threads-1, chunks-1)
	// The pool's one job is closed since the last loop, so a helper that still holds it
	// cannot join until the state is reset, after every field it reads: it then joins this
	// loop, as a helper should. Reusing it saves two allocations a loop: with a model's
	// weights on the Go heap the collector seldom runs, so a token step's garbage took fresh
	// pages, each a page fault (docs/performance.md, "Token steps' products allocate
	// nothing").
	j := &p.job
	if j.pool == nil {
		j.pool, j.runs = p, make([]chunkRun, p.threads)
	}
	j.fn, j.n, j.chunk, j.runs, j.failed = fn, n, chunk, j.runs[:helpers+1], nil
	j.joined.Store(0)
	for i := range j.runs {
		j.runs[i].v.Store(uint64(i*chunks/len(j.runs))<<32 | uint64((i+1)*chunks/len(j.runs)))
	}
	j.state.Store(0)
	p.offer.Store(j)
	p.offers.Add(1)
	p.wakeParked()
	j.work(0)
	// Every chunk is claimed: close the loop to helpers that have not joined yet, which
	// would find nothing to do (waiting for one to wake up and say so can take longer than
	// the whole op), and wait for those at work. run is never called concurrently.
	p.offer.Store(nil)
	s := j.state.Or(jobClosed) | jobClosed
	// The helpers usually finish within microseconds of this goroutine: poll before sleeping.
	start := time.Now()
	for i := 0; s&jobActive != 0; i++ {
		if i%64 == 63 && time.Since(start) > p.spin {
			if j.state.CompareAndSwap(s, s|jobWaited) {
				<-p.done
				break
			}
		}
		s = j.state.Load()
	}
	j.fn = nil // let the loop's closure go
	if failed := j.failed; failed != nil {
		j.failed = nil
		panic(failed)
	}
}

// grain picks a chunk size for n items of about cost units of work each, so that a chunk is
// worth dispatching (minWork units) and there are a few chunks per thread for balance.
func (p *pool) grain(n, cost int) int {
	const minWork = 1 << 14
	c := max(1, minWork/max(cost, 1))
	balanced := (n + 4*p.threads - 1) / (4 * p.threads)
	return max(c, balanced)
}

func defaultThreads(threads int) int {
	if threads <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return threads
}
