package api

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serveOn runs s.Serve on a loopback port until the test ends and returns the address.
func serveOn(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// TestSlowClient: a client that sends its headers and then stalls is cut off after
// ReadTimeout; the test only bounds the wait generously, so a hung connection fails it.
func TestSlowClient(t *testing.T) {
	s, err := NewServer(tinyA(t), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Limits: Limits{ReadTimeout: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveOn(t, s)
	for _, stall := range []string{
		"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"messa", // body stalls
		"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Le",                           // headers stall
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(conn, stall); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		reply, err := io.ReadAll(bufio.NewReader(conn))
		conn.Close()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("%.40q: the server still holds the stalled connection after 30 s", stall)
		}
		if len(reply) > 0 && !strings.HasPrefix(string(reply), "HTTP/1.1 4") {
			t.Errorf("%.40q: reply %.80q", stall, reply)
		}
	}
	// The stalled requests hold no place in the queue, and the server still answers.
	if busy, waiting, admitted := s.queue.state(); busy || waiting != 0 || admitted != 0 {
		t.Errorf("after the stalled clients: busy %v, %d waiting, %d admitted", busy, waiting, admitted)
	}
	ts := &testServer{Server: s, url: "http://" + addr}
	chatOK(t, ts, map[string]any{"max_tokens": 2, "messages": []any{userMsg("hi")}})
}

// TestLongJobOutlivesReadTimeout: a job that runs longer than ReadTimeout is not cancelled
// by the connection's read deadline (it is cleared once the body is read).
func TestLongJobOutlivesReadTimeout(t *testing.T) {
	s, err := NewServer(tinyA(t), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Limits: Limits{ReadTimeout: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: s, url: "http://" + serveOn(t, s)}
	jobs := recordJobs(ts)
	ts.hooks.onText = func(_ context.Context, n int) {
		if n == 1 {
			time.Sleep(500 * time.Millisecond) // a slow step, well past ReadTimeout
		}
	}
	for _, stream := range []bool{false, true} {
		resp, body := ts.post(t, "/v1/chat/completions", map[string]any{"max_tokens": 4, "stream": stream, "messages": []any{userMsg("hi")}})
		if rep := <-jobs.ch; resp.StatusCode != 200 || rep.err != nil || rep.tokens == 0 {
			t.Errorf("stream %v: status %d, job %+v: %.200s", stream, resp.StatusCode, rep, body)
		}
	}
}

// TestShutdownCancelsJobs: Shutdown on a Server mounted elsewhere stops its running job
// within a step and refuses new requests with 503.
func TestShutdownCancelsJobs(t *testing.T) {
	ts := newTestServer(t, Options{})
	jobs := recordJobs(ts)
	held := make(chan struct{})
	ts.hooks.onText = func(ctx context.Context, n int) {
		if n == 1 {
			close(held)
			<-ctx.Done()
		}
	}
	result := make(chan *http.Response, 1)
	go func() {
		resp, _ := ts.post(t, "/v1/chat/completions", map[string]any{"max_tokens": 50, "messages": []any{userMsg("hi")}})
		result <- resp
	}()
	<-held
	if err := ts.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rep := <-jobs.ch; !errors.Is(rep.err, context.Canceled) {
		t.Errorf("job ended with %v", rep.err)
	}
	if resp := <-result; resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("the running request got %d, want 503", resp.StatusCode)
	}
	resp, body := ts.post(t, "/v1/chat/completions", map[string]any{"messages": []any{userMsg("hi")}})
	checkError(t, "after shutdown", resp, body, 503, "shutting_down", "")
}
