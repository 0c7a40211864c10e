package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Loading answers on a listener while the model a Server will serve is still loading
// (a minute for the large ones): every request gets 503 with Retry-After, so that a client
// started beside the server (an editor probing /health) is told to come back instead of
// hanging in the connection queue. Handover then gives the listener to the Server.
type Loading struct {
	ln   *handoffListener
	srv  *http.Server
	done chan error

	once sync.Once // Handover's work, done once; later calls return its result
	err  error
}

// ServeLoading answers on ln for the model called name until Handover. opts are those the
// model's Server will have: their Host, Origin and API key checks hold meanwhile too.
func ServeLoading(ln net.Listener, name string, opts Options) *Loading {
	return serveLoading(ln, name, newGate(opts))
}

// serveLoading is ServeLoading behind g.
func serveLoading(ln net.Listener, name string, g gate) *Loading {
	l := &Loading{ln: newHandoff(ln), done: make(chan error, 1)}
	l.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := g.pass(w, r); !ok {
				return
			}
			e := &apiError{status: http.StatusServiceUnavailable, typ: "server_error", code: "model_loading",
				message: fmt.Sprintf("the model %s is loading: retry in a moment", name), retryAfter: 2}
			writeError(w, e)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { l.done <- l.srv.Serve(l.ln) }()
	return l
}

// Handover stops answering and returns the listener, open, for Server.Serve or RunListener:
// requests in flight finish first (a 503 is quick), within ctx; connections that sent
// nothing by then (a browser's preconnect) are closed rather than keep the address. The
// listener comes back with an error too, for Close. Later calls return the first's result.
func (l *Loading) Handover(ctx context.Context) (net.Listener, error) {
	l.once.Do(func() {
		l.ln.handOver()
		if err := l.srv.Shutdown(ctx); err != nil { // closes l.ln, which leaves the listener open
			l.srv.Close()
		}
		if serr := <-l.done; !errors.Is(serr, http.ErrServerClosed) && !errors.Is(serr, net.ErrClosed) {
			l.err = serr
		}
		if err := l.ln.reopen(); err != nil && l.err == nil {
			l.err = err
		}
	})
	return l.ln, l.err
}

// Close stops answering and closes the address (serving was turned off, or the app closed,
// while a model loaded, or ResumeServing failed). Once ResumeServing has served on the
// address, Close must not be called.
func (l *Loading) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	_, err := l.Handover(ctx)
	if cerr := l.ln.shut(); err == nil {
		err = cerr
	}
	return err
}

// handoffListener is a listener that servers take turns on without closing it: handOver
// ends a server's turn (a blocked Accept returns, through a deadline in the past), Close is
// that for the http.Server, and reopen starts the next turn. A connection accepted as a turn
// ends is kept for the next server, not dropped (its client saw EOF), and shut closes the
// listener and what it kept once no server follows.
type handoffListener struct {
	net.Listener
	mu     sync.Mutex
	stop   chan struct{} // closed once this turn is over
	queued []net.Conn    // accepted as a turn ended: the next server's first
}

// newHandoff is ln as a handoffListener: ln itself when it is one (its kept connections go on
// to the next server).
func newHandoff(ln net.Listener) *handoffListener {
	if h, ok := ln.(*handoffListener); ok {
		return h
	}
	return &handoffListener{Listener: ln, stop: make(chan struct{})}
}

// deadliner is what TCP and Unix listeners have to end a blocked Accept.
type deadliner interface{ SetDeadline(time.Time) error }

// over reports whether stop is closed.
func over(stop chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	stop := l.stop
	if len(l.queued) > 0 && !over(stop) {
		c := l.queued[0]
		l.queued = l.queued[1:]
		l.mu.Unlock()
		return c, nil
	}
	l.mu.Unlock()
	if over(stop) {
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if over(stop) {
		if err == nil {
			l.mu.Lock()
			l.queued = append(l.queued, c)
			l.mu.Unlock()
		}
		return nil, net.ErrClosed
	}
	return c, err
}

func (l *handoffListener) handOver() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !over(l.stop) {
		close(l.stop)
		if d, ok := l.Listener.(deadliner); ok {
			d.SetDeadline(time.Now())
		}
	}
}

// Close is the http.Server's: the listener stays open for the next one.
func (l *handoffListener) Close() error {
	l.handOver()
	return nil
}

func (l *handoffListener) reopen() error {
	l.mu.Lock()
	l.stop = make(chan struct{})
	l.mu.Unlock()
	if d, ok := l.Listener.(deadliner); ok {
		return d.SetDeadline(time.Time{})
	}
	return nil
}

// shut closes the listener and the connections kept for a next server.
func (l *handoffListener) shut() error {
	l.handOver()
	l.mu.Lock()
	for _, c := range l.queued {
		c.Close()
	}
	l.queued = nil
	l.mu.Unlock()
	return l.Listener.Close()
}
