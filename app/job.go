package app

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Progress is how far a job has come.
type Progress struct {
	// Done of Total steps are finished (weights uploaded, tokens generated, ...).
	Done, Total int
	// Rate is the speed in the job's own unit per second (images/s for generation, tokens/s
	// for answers); 0 while unknown.
	Rate float64
	// Elapsed is the time since the job started; Remaining estimates the time left (0 while
	// unknown).
	Elapsed, Remaining time.Duration
	// Status, when not "", says why the job is not moving: a download waiting for another
	// download of the same model, or retrying after a network error.
	Status string
}

// Fraction is Done/Total, between 0 and 1 (0 while Total is unknown).
func (p Progress) Fraction() float64 {
	if p.Total <= 0 {
		return 0
	}
	return min(1, max(0, float64(p.Done)/float64(p.Total)))
}

// Job is a long task running on its own goroutine: loading a model, answering, generating.
// Callbacks given to the functions that start jobs are called one at a time off the
// caller's goroutine (on the job's, or a download's progress timer), so a window must hand
// them to its UI goroutine (fyne.Do) before touching widgets. A Job's methods may be called
// from any goroutine.
type Job struct {
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	err      error
	progress Progress
}

// newJob makes a job whose context derives from ctx; run starts it.
func newJob(ctx context.Context) (j *Job) {
	if ctx == nil {
		ctx = context.Background()
	}
	j = &Job{done: make(chan struct{})}
	j.ctx, j.cancel = context.WithCancel(ctx)
	return j
}

// run runs work and then finish (when not nil, with work's error, before Done closes, so
// that whatever finish records is visible once Done is).
func (j *Job) run(work func(ctx context.Context, report func(Progress)) error, onProgress func(Progress), finish func(error)) {
	start := time.Now()
	report := func(p Progress) {
		if p.Elapsed == 0 {
			p.Elapsed = time.Since(start)
		}
		j.mu.Lock()
		j.progress = p
		j.mu.Unlock()
		if onProgress != nil {
			onProgress(p)
		}
	}
	err := func() (err error) {
		// A panic in work would take the whole app down with the job: report it instead.
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("internal error: %v", r)
			}
		}()
		return work(j.ctx, report)
	}()
	j.mu.Lock()
	j.err = err
	j.mu.Unlock()
	if finish != nil {
		finish(err)
	}
	j.cancel()
	close(j.done)
}

// Cancel asks the job to stop; it returns at once, and Done closes when the job has stopped.
// Cancelling a finished job does nothing.
func (j *Job) Cancel() { j.cancel() }

// Done is closed when the job has finished, failed or stopped after Cancel.
func (j *Job) Done() <-chan struct{} { return j.done }

// Wait waits for the job to end and returns Err.
func (j *Job) Wait() error { <-j.done; return j.Err() }

// Err is the job's error once Done is closed (context.Canceled after Cancel); nil before.
func (j *Job) Err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// Progress is the last progress the job reported.
func (j *Job) Progress() Progress {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.progress
}
