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
	jobs    chan *job
	// spin is how long goroutines poll before they sleep (spinFor), 0 when the pool has more
	// threads than the scheduler runs at once: a poller would then hold a CPU that a
	// goroutine with work is waiting for.
	spin time.Duration
}

// job is one parallel loop: indices [0,n) in chunks of size chunk.
type job struct {
	fn     func(lo, hi int)
	n      int
	chunk  int
	runs   []chunkRun   // by slot: the issuing goroutine's first, then each helper's
	joined atomic.Int32 // helpers that have taken a slot
	wg     sync.WaitGroup
	left   atomic.Int32 // helpers not done yet, for polling before wg.Wait
	mu     sync.Mutex
	failed any
}

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
	p := &pool{threads: threads}
	if threads <= runtime.GOMAXPROCS(0) {
		p.spin = spinFor
	}
	if threads > 1 {
		p.jobs = make(chan *job, threads)
		for range threads - 1 {
			go worker(p.jobs, p.spin)
		}
	}
	return p
}

func worker(jobs <-chan *job, spin time.Duration) {
	for {
		j, ok := receive(jobs, spin)
		if !ok {
			return
		}
		j.work(int(j.joined.Add(1)))
		j.left.Add(-1)
		j.wg.Done()
	}
}

// spinFor is how long a worker or the issuing goroutine polls before it sleeps: a token step
// is a few hundred ops of 0.1-0.3 ms each, and waking a sleeping goroutine for each of them
// took about a third of a step's time.
const spinFor = 100 * time.Microsecond

// receive takes the next job, polling for spin before it blocks on the channel.
func receive(jobs <-chan *job, spin time.Duration) (*job, bool) {
	start := time.Now()
	for i := 0; spin > 0; i++ {
		select {
		case j, ok := <-jobs:
			return j, ok
		default:
		}
		if i%64 == 63 && time.Since(start) > spin {
			break
		}
	}
	j, ok := <-jobs
	return j, ok
}

// close stops the workers; the pool must not be used afterwards.
func (p *pool) close() {
	if p.jobs != nil {
		close(p.jobs)
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
	j := &job{fn: fn, n: n, chunk: chunk, runs: make([]chunkRun, helpers+1)}
	for i := range j.runs {
		j.runs[i].v.Store(uint64(i*chunks/len(j.runs))<<32 | uint64((i+1)*chunks/len(j.runs)))
	}
	j.wg.Add(helpers)
	j.left.Store(int32(helpers))
	for range helpers {
		p.jobs <- j
	}
	j.work(0)
	// Every chunk is claimed. A helper that has not yet received the job would find nothing
	// to do, and waiting for it to wake up and say so can take longer than the whole op (a
	// parked goroutine, a descheduled thread): take its entry back instead. run is never
	// called concurrently, so every entry in the channel is this job's.
takeBack:
	for range helpers {
		select {
		case <-p.jobs:
			j.left.Add(-1)
			j.wg.Done()
		default:
			break takeBack
		}
	}
	// The helpers usually finish within microseconds of this goroutine: poll before sleeping.
	start := time.Now()
	for i := 0; p.spin > 0 && j.left.Load() > 0; i++ {
		if i%64 == 63 && time.Since(start) > p.spin {
			break
		}
	}
	j.wg.Wait()
	if j.failed != nil {
		panic(j.failed)
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
