package app

import (
	"context"
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
}

// Fraction is Done/Total, between 0 and 1 (0 while Total is unknown).
func (p Progress) Fraction() float64 {
	if p.Total <= 0 {
		return 0
	}
	return min(1, max(0, float64(p.Done)/float64(p.Total)))
}

// Job is a long task running on its own goroutine: loading a model, answering, generating.
// Callbacks given to the functions that start jobs are called on the job's goroutine, never
// on the caller's, so a window must hand them to its UI goroutine (fyne.Do) before touching
// widgets. A Job's methods may be called from any goroutine.
type Job struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	err      error
	progress Progress
}

// StartJob runs work on a new goroutine with a context that Cancel (or ctx) cancels. work
// reports progress through report, which records it (Job.Progress) and passes it to
// onProgress when that is not nil.
func StartJob(ctx context.Context, work func(ctx context.Context, report func(Progress)) error, onProgress func(Progress)) *Job {
	panic("TODO")
}

// Cancel asks the job to stop; it returns at once, and Done closes when the job has stopped.
// Cancelling a finished job does nothing.
func (j *Job) Cancel() { panic("TODO") }

// Done is closed when the job has finished, failed or stopped after Cancel.
func (j *Job) Done() <-chan struct{} { return j.done }

// Wait waits for the job to end and returns Err.
func (j *Job) Wait() error { <-j.done; return j.Err() }

// Err is the job's error once Done is closed (context.Canceled after Cancel); nil before.
func (j *Job) Err() error { panic("TODO") }

// Progress is the last progress the job reported.
func (j *Job) Progress() Progress { panic("TODO") }
