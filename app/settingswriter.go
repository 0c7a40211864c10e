package app

import "sync"

// SettingsWriter saves settings off the caller's goroutine, one write at a time, and always
// the latest: a Save made while a write runs replaces any Save still waiting, so settings
// saved from several places in quick succession cannot land on disk out of order (an older
// snapshot written last). The window keeps one per store.
type SettingsWriter struct {
	store *Store

	mu   sync.Mutex
	idle *sync.Cond
	// next is the snapshot to write once the running write ends; dones are the callbacks
	// of the Saves it stands for.
	next    *Settings
	dones   []func(error)
	running bool
}

// NewSettingsWriter makes a writer saving to store.
func NewSettingsWriter(store *Store) *SettingsWriter {
	w := &SettingsWriter{store: store}
	w.idle = sync.NewCond(&w.mu)
	return w
}

// Save queues a copy of st to be written and returns at once: the caller may change st's
// maps and slices right after (the writer encoded the window's own map while the window
// deleted from it, a crash). done, when not nil, is called on the writer's goroutine with
// the result of the write that stored st or a later Save's settings (which replaced it).
func (w *SettingsWriter) Save(st Settings, done func(error)) {
	st = st.Clone()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.next = &st
	if done != nil {
		w.dones = append(w.dones, done)
	}
	if !w.running {
		w.running = true
		go w.run()
	}
}

// run writes the newest snapshot until none waits.
func (w *SettingsWriter) run() {
	w.mu.Lock()
	for w.next != nil {
		st, dones := *w.next, w.dones
		w.next, w.dones = nil, nil
		w.mu.Unlock()
		err := w.store.SaveSettings(st)
		for _, done := range dones {
			done(err)
		}
		w.mu.Lock()
	}
	w.running = false
	w.idle.Broadcast()
	w.mu.Unlock()
}

// Flush waits until every Save so far is written (at shutdown, so that the last choice is
// kept).
func (w *SettingsWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.running {
		w.idle.Wait()
	}
}
