// Package ctxtest has contexts for the tests of cancellation: a Stop that lands while a
// loop runs, at a step the test chooses, without timing.
package ctxtest

import "context"

// stopAfter is StopAfter's context.
type stopAfter struct {
	context.Context
	n int
}

// Err is nil for the first n calls, then context.Canceled.
func (s *stopAfter) Err() error {
	if s.n <= 0 {
		return context.Canceled
	}
	s.n--
	return nil
}

// StopAfter returns a context whose Err is nil for its first n calls and context.Canceled
// from then on: a loop that checks Err before each step stops after n steps. Its Done never
// closes; it is for code that polls Err. It is not safe for concurrent use.
func StopAfter(n int) context.Context {
	return &stopAfter{Context: context.Background(), n: n}
}
