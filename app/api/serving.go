package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"

	"github.com/janus-desktop/janus/app"
)

// Serving is the server the app runs on its loaded model while the "Serve on localhost"
// setting is on (app.Settings.Serve). It shares the model with the window's chats and
// generations: each waits for the others' turn on the engine, and each can be stopped while
// it waits.
type Serving struct {
	s    *Server
	ln   *handoffListener // its Close leaves the port open, for Pause
	addr string
	done chan struct{}

	mu  sync.Mutex
	err error
}

// StartServing serves the API on engine's model at addr (app.ServeSettings.Addr, or
// "127.0.0.1:0" for any free port) until ctx ends (then requests in flight get
// ShutdownGrace) or Stop is called. engine must be one
// LoadEngine returned (an app.SharedModel); stop the server before closing the engine. opts
// are as for NewServer (APIKey, Software for the PNGs' text chunks, OtherModels, ...), except
// that ModelName defaults to the engine's name and Turn is always the engine's.
func StartServing(ctx context.Context, engine app.Engine, addr string, opts Options) (*Serving, error) {
	s, name, err := servingServer(engine, opts)
	if err != nil {
		return nil, err
	}
	ln, err := Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("serve %s: %w", name, err)
	}
	return startOn(ctx, s, name, ln), nil
}

// ResumeServing serves engine's model, as StartServing does, on the address l answers on
// (the one Pause kept): l stops answering once the model is served. On an error the address
// stays l's: Close it then.
func ResumeServing(ctx context.Context, engine app.Engine, l *Loading, opts Options) (*Serving, error) {
	s, name, err := servingServer(engine, opts)
	if err != nil {
		return nil, err
	}
	hctx, cancel := context.WithTimeout(ctx, ShutdownGrace)
	defer cancel()
	ln, err := l.Handover(hctx)
	if err != nil {
		return nil, fmt.Errorf("serve %s: %w", name, err)
	}
	return startOn(ctx, s, name, ln), nil
}

// servingServer is the Server StartServing makes for engine, and the model's name.
func servingServer(engine app.Engine, opts Options) (*Server, string, error) {
	shared, ok := engine.(app.SharedModel)
	if !ok || shared.Model() == nil {
		return nil, "", errors.New("serve: this engine has no model to share (load a model first)")
	}
	info := engine.Info()
	if opts.ModelName == "" {
		opts.ModelName = info.Name
	}
	if repo := app.RepoOf(info.Dir); repo != "" && !slices.Contains(opts.ModelAliases, repo) {
		// A client set up with the repository id reaches the model, as with janus serve.
		opts.ModelAliases = append(slices.Clone(opts.ModelAliases), repo)
	}
	opts.Turn = shared.Turn
	s, err := NewServer(shared.Model(), opts)
	if err != nil {
		return nil, "", fmt.Errorf("serve %s: %w", info.Name, err)
	}
	return s, info.Name, nil
}

// startOn serves s, the model called name, on raw until ctx ends or Stop.
func startOn(ctx context.Context, s *Server, name string, raw net.Listener) *Serving {
	ln := newHandoff(raw)
	v := &Serving{s: s, ln: ln, addr: raw.Addr().String(), done: make(chan struct{})}
	// As janus serve (RunListener): requests in flight get ShutdownGrace, not forever.
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
		defer cancel()
		v.Stop(sctx)
	})
	go func() {
		defer close(v.done)
		defer stop()
		err := s.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		if err != nil {
			s.log.Error("api server stopped", "addr", v.addr, "err", err)
			ln.shut() // stopped on its own: nothing will Pause it
		} else {
			s.log.Info("stopped serving the OpenAI-compatible API", "model", name, "url", v.URL()) // as its start is told
		}
		v.mu.Lock()
		v.err = err
		v.mu.Unlock()
	}()
	s.log.Info("serving the OpenAI-compatible API", "model", name, "url", v.URL())
	return v
}

// Addr is the address the server listens on (with the port chosen when addr asked for 0).
func (v *Serving) Addr() string { return v.addr }

// URL is the API's base URL, what OpenAI-compatible tools take: http://ADDR/v1 (as BaseURL).
func (v *Serving) URL() string {
	url, _ := BaseURL(v.addr)
	return url
}

// Stop stops the server: requests in flight may finish until ctx ends, then their jobs are
// cancelled (within one step) and answered 503. It returns once the server has stopped, up
// to a second after ctx ends; the engine stays loaded. Stopping twice does nothing more.
func (v *Serving) Stop(ctx context.Context) error {
	err := v.s.Shutdown(ctx)
	<-v.done
	v.ln.shut() // the handoff listener's Close left it open
	return err
}

// Pause stops serving the model as Stop does, but keeps the address: every request then
// gets 503 model_loading, naming the model called next that is loading, with Retry-After,
// until the Loading is given to ResumeServing or closed (behind the same Host, Origin and
// key checks). A model switch in the app tells
// clients to retry instead of refusing their connections. After Pause, v is stopped: do not
// Stop it (that would close the address under the Loading).
func (v *Serving) Pause(ctx context.Context, next string) (*Loading, error) {
	err := v.s.Shutdown(ctx)
	<-v.done
	if rerr := v.ln.reopen(); rerr != nil {
		v.ln.shut()
		return nil, rerr
	}
	return serveLoading(v.ln, next, v.s.gate), err
}

// Done is closed when the server has stopped.
func (v *Serving) Done() <-chan struct{} { return v.done }

// Err is why the server stopped on its own (nil after Stop, or while it runs).
func (v *Serving) Err() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.err
}
