package api

import (
	"context"
	"math"
	"sync"
	"time"
)

// queue runs one job at a time, in the order requests were complete (fully read and checked),
// and admits a bounded number of requests: the running one plus maxWaiting others, counting
// those whose bodies are still being read, so that a burst of clients cannot make the server
// hold more than that many request bodies. A request that is not admitted gets 429.
type queue struct {
	mu       sync.Mutex
	limit    int // admitted requests at most: running + waiting + being read
	admitted int
	busy     bool
	waiting  []chan struct{} // FIFO of requests ready to run; closing one hands it the model
	// avg is a moving average of job durations, and since when the running job has held
	// the model, for Retry-After.
	avg   time.Duration
	since time.Time
}

func newQueue(maxWaiting int) *queue {
	return &queue{limit: maxWaiting + 1, avg: time.Second}
}

// ticket is one admitted request.
type ticket struct {
	q       *queue
	running bool
	start   time.Time
	left    bool
}

// admit counts a request in, or reports false (and how many seconds to wait) when the queue
// is full.
func (q *queue) admit() (*ticket, int, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.admitted >= q.limit {
		return nil, q.retryAfterLocked(), false
	}
	q.admitted++
	return &ticket{q: q}, 0, true
}

// retryAfterLocked estimates the seconds until a place frees up: the other admitted
// requests (waiting, or still sending their bodies) at the recent average duration, and the
// running one (or the next to run) at that or at least as long again as it has run (the
// first job of a fresh server would otherwise be guessed at a second, and clients that
// honour Retry-After would give up while it runs).
func (q *queue) retryAfterLocked() int {
	running := q.avg
	if q.busy {
		running = max(running, time.Since(q.since))
	}
	// One admitted request is the running one, or the one that runs next.
	others := max(0, q.admitted-1)
	return max(1, int(math.Ceil(running.Seconds()+q.avg.Seconds()*float64(others))))
}

// wait blocks until the ticket's job may run (every earlier ticket has finished) or ctx ends;
// in the latter case the ticket leaves the queue and ctx's error is returned.
func (t *ticket) wait(ctx context.Context) error {
	q := t.q
	q.mu.Lock()
	if !q.busy {
		q.busy, t.running, t.start = true, true, time.Now()
		q.since = t.start
		q.mu.Unlock()
		return nil
	}
	ready := make(chan struct{})
	q.waiting = append(q.waiting, ready)
	q.mu.Unlock()
	select {
	case <-ready:
		t.running, t.start = true, time.Now()
		return nil
	case <-ctx.Done():
	}
	q.mu.Lock()
	for i, c := range q.waiting {
		if c == ready {
			q.waiting = append(q.waiting[:i], q.waiting[i+1:]...)
			q.mu.Unlock()
			return ctx.Err()
		}
	}
	q.mu.Unlock()
	// The model was handed over just as ctx ended: take it, so done passes it on.
	<-ready
	t.running, t.start = true, time.Now()
	return ctx.Err()
}

// done leaves the queue, handing the model to the next waiting ticket when this one held it.
// It may be called more than once.
func (t *ticket) done() {
	q := t.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if t.left {
		return
	}
	t.left = true
	q.admitted--
	if !t.running {
		return
	}
	q.avg = (3*q.avg + time.Since(t.start)) / 4
	if len(q.waiting) > 0 {
		next := q.waiting[0]
		q.waiting = q.waiting[1:]
		q.since = time.Now()
		close(next) // still busy: the model passes straight to next
		return
	}
	q.busy = false
}

// state reports whether a job runs and how many wait behind it (for /health).
func (q *queue) state() (busy bool, waiting, admitted int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.busy, len(q.waiting), q.admitted
}
