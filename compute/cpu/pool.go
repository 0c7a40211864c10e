package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// pool is a fixed set of worker goroutines that share the chunks of one parallel loop with
// the goroutine that issued it. Chunks are claimed dynamically, but each chunk always covers
// the same index range whatever the thread count, so results do not depend on scheduling.
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
	next   atomic.Int64
	wg     sync.WaitGroup
	left   atomic.Int32 // helpers not done yet, for polling before wg.Wait
	mu     sync.Mutex
	failed any
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
		j.work()
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

func (j *job) work() {
	defer func() {
		if r := recover(); r != nil {
			j.mu.Lock()
			if j.failed == nil {
				j.failed = r
			}
			j.mu.Unlock()
			// Let the others drain quickly.
			j.next.Store(int64(j.n))
		}
	}()
	for {
		lo := int(j.next.Add(int64(j.chunk))) - j.chunk
		if lo >= j.n {
			return
		}
		j.fn(lo, min(lo+j.chunk, j.n))
	}
}

// run calls fn over [0,n) split into chunks of chunk indices (the last may be shorter), on up
// to p.threads goroutines, and returns when all are done. A panic inside fn is re-raised in
// the caller.
func (p *pool) run(n, chunk int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	chunk = max(chunk, 1)
	chunks := (n + chunk - 1) / chunk
	if p.threads <= 1 || chunks == 1 {
		for lo := 0; lo < n; lo += chunk {
			fn(lo, min(lo+chunk, n))
		}
		return
	}
	j := &job{fn: fn, n: n, chunk: chunk}
	helpers := min(p.threads-1, chunks-1)
	j.wg.Add(helpers)
	j.left.Store(int32(helpers))
	for range helpers {
		p.jobs <- j
	}
	j.work()
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
