package app

import (
	"context"
	"time"
)

// SetSaveEvery makes s save a streaming answer every d instead of every few seconds.
func (s *ChatSession) SetSaveEvery(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saveEvery = d
}

// StartJob runs work on a new goroutine with a context that Cancel (or ctx) cancels. work
// reports progress through report, which records it (Job.Progress) and passes it to
// onProgress when that is not nil.
func StartJob(ctx context.Context, work func(ctx context.Context, report func(Progress)) error, onProgress func(Progress)) *Job {
	j := newJob(ctx)
	go j.run(work, onProgress, nil)
	return j
}

// SaveChatUnlessDeleted is saveChat with no new images.
func (s *Store) SaveChatUnlessDeleted(c *ChatRecord) (saved bool, err error) {
	return s.saveChat(c, nil, "")
}

// ImportImage copies the image file at path into the store (content-addressed: importing
// the same bytes twice keeps one file) after checking it with CheckImageFile, and makes its
// thumbnail. Until a record mentions it, a Delete may remove it again (see SaveChat).
func (s *Store) ImportImage(path string) (ImageRef, error) {
	ref, data, err := readAttachment(path)
	if err != nil {
		return ImageRef{}, err
	}
	s.mu.Lock()
	err = s.put(ref, data)
	s.mu.Unlock()
	if err != nil {
		return ImageRef{}, err
	}
	if _, err := s.ThumbnailPath(ref); err != nil {
		return ImageRef{}, err
	}
	return ref, nil
}
