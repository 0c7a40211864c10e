package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
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
	return serveListener(t, s, ln)
}

func serveListener(t *testing.T, s *Server, ln net.Listener) string {
	t.Helper()
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
		"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"messa", // body stalls
		"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le",                                                             // headers stall
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
	waitFor(t, "the queue to drain", func() bool { busy, w, a := s.queue.state(); return !busy && w == 0 && a == 0 })
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

// TestClientStopsReading: a client that keeps its connection open but stops reading a stream
// is dropped after WriteTimeout, and its job is cancelled.
func TestClientStopsReading(t *testing.T) {
	s, err := NewServer(tinyA(t), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Limits: Limits{WriteTimeout: 200 * time.Millisecond, MaxTokens: 20000}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Small socket buffers on both sides stand for a slow link: the writes of a client that
	// does not read block after a few kilobytes instead of megabytes.
	ts := &testServer{Server: s, url: "http://" + serveListener(t, s, smallSendBuffers{ln})}
	jobs := recordJobs(ts)
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	// A question whose greedy answer on tiny-a never ends (found by trying).
	land, _ := fixtureImage(t, "synthetic_landscape_150x100.png")
	body := `{"stream": true, "max_tokens": 20000, "messages": [{"role": "user", "content": [` +
		`{"type": "image_url", "image_url": {"url": "` + dataURL(land) + `"}}, {"type": "text", "text": "what?"}]}]}`
	req := "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	// Never read: the job must end on its own, cancelled, before its 20000 tokens.
	select {
	case rep := <-jobs.ch:
		if !errors.Is(rep.err, context.Canceled) || rep.tokens >= 20000 {
			t.Errorf("job ended with %v after %d tokens, want cancelled early", rep.err, rep.tokens)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the job still runs two minutes after its client stopped reading")
	}
}

// smallSendBuffers gives every accepted connection a small send buffer.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

// TestRun: Run serves on the address until its context ends, then returns nil.
func TestRun(t *testing.T) {
	s, err := NewServer(tinyA(t), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a port that was free a moment ago
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, addr) }()
	ts := &testServer{Server: s, url: "http://" + addr}
	waitFor(t, "the server to answer", func() bool {
		resp, err := http.Get(ts.url + "/health")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	chatOK(t, ts, map[string]any{"max_tokens": 2, "messages": []any{userMsg("hi")}})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if _, err := http.Get(ts.url + "/health"); err == nil {
		t.Error("the server still answers after Run returned")
	}
	if err := s.Run(context.Background(), "nonsense"); err == nil {
		t.Error("Run on a bad address did not fail")
	}
}

// TestShutdownBeforeServe: a Serve that starts after Shutdown returns at once instead of
// serving forever.
func TestShutdownBeforeServe(t *testing.T) {
	s, err := NewServer(tinyA(t), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve after Shutdown: %v", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("the listener is still open")
	}
}

// TestShutdownAnswersQueued: a request still waiting for its turn when the server shuts
// down (the app replacing its model) is answered 503 with Retry-After at once, while the
// running one still has Shutdown's time to finish, and a 503 when it has not; both were
// dropped with an empty reply.
func TestShutdownAnswersQueued(t *testing.T) {
	s, err := NewServer(tinyA(t), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + serveOn(t, s) + "/v1/chat/completions"
	held := make(chan struct{})
	s.hooks.onText = func(ctx context.Context, n int) {
		if n == 1 {
			close(held)
			<-ctx.Done()
		}
	}
	type answer struct {
		resp *http.Response
		body []byte
		err  error
		at   time.Time
	}
	// post from a goroutine of its own, which may not end the test.
	post := func(body any) <-chan answer {
		ch := make(chan answer, 1)
		go func() {
			raw, _ := json.Marshal(body)
			resp, err := http.Post(url, "application/json", bytes.NewReader(raw))
			if err != nil {
				ch <- answer{err: err, at: time.Now()}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			ch <- answer{resp, b, err, time.Now()}
		}()
		return ch
	}
	running := post(map[string]any{"max_tokens": 50, "messages": []any{userMsg("hi")}})
	<-held
	queued := post(map[string]any{"max_tokens": 5, "messages": []any{userMsg("and me?")}})
	waitFor(t, "the second request to queue", func() bool { _, w, _ := s.queue.state(); return w == 1 })
	const grace = 2 * time.Second
	start := time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		s.Shutdown(ctx)
	}()
	a := <-queued
	if a.err != nil {
		t.Fatalf("the queued request: %v", a.err)
	}
	if waited := a.at.Sub(start); waited > grace/2 {
		t.Errorf("the queued request was answered after %v, not at once (Shutdown's grace is %v)", waited, grace)
	}
	checkError(t, "queued at shutdown", a.resp, a.body, 503, "shutting_down", "")
	if a.resp.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After on the 503")
	}
	// The running one, cancelled once the grace is over, is told why (its connection was
	// closed first, an empty reply).
	a = <-running
	if a.err != nil {
		t.Fatalf("the running request: %v", a.err)
	}
	checkError(t, "running at shutdown", a.resp, a.body, 503, "shutting_down", "")
}

// TestRoutePaths: a base URL without /v1, a doubled or trailing slash reach the routes.
func TestRoutePaths(t *testing.T) {
	ts := newTestServer(t, Options{})
	for _, p := range []string{"/models", "/v1/models/", "//v1//models", "/v1/./models"} {
		resp, body := ts.get(t, p)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"object":"list"`) {
			t.Errorf("GET %s: %d %s", p, resp.StatusCode, body)
		}
	}
	resp, body := ts.post(t, "/chat/completions", map[string]any{"max_tokens": 2, "messages": []any{userMsg("hi")}})
	if resp.StatusCode != 200 {
		t.Errorf("POST /chat/completions: %d %s", resp.StatusCode, body)
	}
	for p, want := range map[string]string{"/v1//chat/completions/": "/v1/chat/completions", "/images/generations": "/v1/images/generations",
		"/health": "/health", "/": "/", "/v1": "/v1", "/modelsx": "/modelsx"} {
		if got := routePath(p); got != want {
			t.Errorf("routePath(%q) = %q, want %q", p, got, want)
		}
	}
}

// TestFilePath: percent-encoded file URLs and those naming localhost decode; a raw path with
// characters a URL would read otherwise ("%", "?", "#") is taken as it is.
func TestFilePath(t *testing.T) {
	for url, want := range map[string]string{
		"file:///tmp/my%20pictures/a.png":    "/tmp/my pictures/a.png",
		"file://localhost/tmp/a.png":         "/tmp/a.png",
		"file:///tmp/a.png":                  "/tmp/a.png",
		"file:///tmp/100%.png":               "/tmp/100%.png",
		"file:///tmp/a#1.png":                "/tmp/a#1.png",
		"file:///tmp/what?.png":              "/tmp/what?.png",
		"file://otherhost/tmp/a.png":         "otherhost/tmp/a.png",
		"file:///tmp/%E6%97%A5%E6%9C%AC.png": "/tmp/日本.png",
	} {
		if got := filePath(url); got != want {
			t.Errorf("filePath(%q) = %q, want %q", url, got, want)
		}
	}
}
