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

// ServeLoading answers on ln for the model called name until Handover.
func ServeLoading(ln net.Listener, name string) *Loading {
	l := &Loading{ln: &handoffListener{Listener: ln, stop: make(chan struct{})}, done: make(chan error, 1)}
	l.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	return l.ln.Listener, l.err
}

// Close stops answering and closes the address (serving was turned off, or the app closed,
// while a model loaded, or ResumeServing failed). Once ResumeServing has served on the
// address, Close must not be called.
func (l *Loading) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	ln, err := l.Handover(ctx)
	if cerr := ln.Close(); err == nil {
		err = cerr
	}
	return err
}

// handoffListener is a listener an http.Server can stop accepting on without closing it:
// handOver makes a blocked Accept return (through a deadline in the past), Close does
// nothing, and reopen clears the deadline for the next server.
type handoffListener struct {
	net.Listener
	stop chan struct{}
	once sync.Once
}

// deadliner is what TCP and Unix listeners have to end a blocked Accept.
type deadliner interface{ SetDeadline(time.Time) error }

func (l *handoffListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	select {
	case <-l.stop:
		if err != nil {
			return nil, net.ErrClosed
		}
	default:
	}
	return c, err
}

func (l *handoffListener) handOver() {
	l.once.Do(func() {
		close(l.stop)
		if d, ok := l.Listener.(deadliner); ok {
			d.SetDeadline(time.Now())
		}
	})
}

// Close is the http.Server's: the listener stays open for the next one.
func (l *handoffListener) Close() error {
	l.handOver()
	return nil
}

func (l *handoffListener) reopen() error {
	if d, ok := l.Listener.(deadliner); ok {
		return d.SetDeadline(time.Time{})
	}
	return nil
}
