package api

import (
	"encoding/json"
	"net/http"
)

// stream writes server-sent events. The first failed write (the client left, or stopped
// reading for WriteTimeout) calls cancel, so the job behind the stream stops within a step.
type stream struct {
	w      http.ResponseWriter
	cancel func()
	err    error
}

// startStream sends the event-stream headers.
func startStream(w http.ResponseWriter, cancel func()) *stream {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // proxies must not hold events back
	if r, ok := w.(*response); ok {
		r.streaming = true
	}
	extendWrite(w)
	w.WriteHeader(http.StatusOK)
	s := &stream{w: w, cancel: cancel}
	s.flush()
	return s
}

// event sends v as one event, named when name is not "".
func (s *stream) event(name string, v any) {
	if s.err != nil {
		return
	}
	raw, err := json.Marshal(v)
	if err != nil {
		s.fail(err)
		return
	}
	s.write(eventBytes(name, raw))
}

// done sends the final [DONE] event.
func (s *stream) done() { s.write([]byte("data: [DONE]\n\n")) }

func (s *stream) write(b []byte) {
	if s.err != nil {
		return
	}
	extendWrite(s.w)
	if _, err := s.w.Write(b); err != nil {
		s.fail(err)
		return
	}
	s.flush()
}

func (s *stream) flush() {
	if err := http.NewResponseController(s.w).Flush(); err != nil {
		s.fail(err)
	}
}

func (s *stream) fail(err error) {
	if s.err == nil {
		s.err = err
		if s.cancel != nil {
			s.cancel()
		}
	}
}

func eventBytes(name string, data []byte) []byte {
	var b []byte
	if name != "" {
		b = append(append(append(b, "event: "...), name...), '\n')
	}
	b = append(append(b, "data: "...), data...)
	return append(b, '\n', '\n')
}

// writeEvent sends one event on a stream already started (after a panic: best effort).
func writeEvent(w http.ResponseWriter, name string, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		return
	}
	extendWrite(w)
	if _, err := w.Write(eventBytes(name, raw)); err == nil {
		_ = http.NewResponseController(w).Flush()
	}
}
