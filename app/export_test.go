package app

import "time"

// SetSaveEvery makes s save a streaming answer every d instead of every few seconds.
func (s *ChatSession) SetSaveEvery(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saveEvery = d
}
