package api

import (
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

// TestServeLoading: while the model loads, every request gets 503 model_loading with
// Retry-After; after Handover the same listener, still open, serves the model.
func TestServeLoading(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	loading := ServeLoading(ln, "tiny-a", Options{})
	for _, path := range []string{"/health", "/v1/models", "/v1/chat/completions"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s while loading: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		checkError(t, "GET "+path+" while loading", resp, body, 503, "model_loading", "")
		if resp.Header.Get("Retry-After") == "" {
			t.Errorf("GET %s while loading: no Retry-After", path)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ln2, err := loading.Handover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(tinyA(t), Options{ModelName: "tiny-a", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln2) }()
	defer func() {
		s.Shutdown(context.Background())
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	}()
	resp, err := http.Get(base + "/health")
	if err != nil {
		t.Fatalf("GET /health after the handover: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /health after the handover: %d", resp.StatusCode)
	}
}

// While the model loads, the gate holds as it will for the model: a Host that does not name
// the server (DNS rebinding), a web page without a long key, a request without the key are
// refused as the Server refuses them, without naming the model loading.
func TestServeLoadingKeepsTheGate(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	loading := ServeLoading(ln, "tiny-a", Options{APIKey: "short-key"})
	defer loading.Close()
	for _, c := range []struct {
		name    string
		path    string
		headers map[string]string
		status  int
		code    string
	}{
		{"another host", "/v1/models", map[string]string{"Host": "evil.example", "Authorization": "Bearer short-key"}, 421, "host_not_allowed"},
		{"a web page", "/health", map[string]string{"Origin": "http://evil.example"}, 403, "origin_not_allowed"},
		{"no key", "/v1/models", nil, 401, "invalid_api_key"},
		{"the key", "/v1/models", map[string]string{"Authorization": "Bearer short-key"}, 503, "model_loading"},
		{"health without a key", "/health", nil, 503, "model_loading"},
	} {
		req, _ := http.NewRequest(http.MethodGet, base+c.path, nil)
		for k, v := range c.headers {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		checkError(t, c.name, resp, body, c.status, c.code, "")
		if c.status != 503 && strings.Contains(string(body), "tiny-a") {
			t.Errorf("%s: the refusal names the model loading: %s", c.name, body)
		}
	}
}

// A connection that sends nothing (a browser's preconnect) does not keep Handover from the
// address past its ctx, nor make it fail; Handover again returns the same, and Close after
// it frees the address (it waited forever on a second Handover).
func TestLoadingHandoverIdleConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	loading := ServeLoading(ln, "tiny-a", Options{})
	idle, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	time.Sleep(50 * time.Millisecond) // accepted by the loading server
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	got, err := loading.Handover(ctx)
	if err != nil || got == nil || got.Addr().String() != ln.Addr().String() {
		t.Fatalf("Handover with an idle connection: %v, %v", got, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Handover took %v with a 200 ms ctx", d)
	}
	again, err := loading.Handover(context.Background())
	if again != got || err != nil {
		t.Errorf("a second Handover: %v, %v", again, err)
	}
	done := make(chan error, 1)
	go func() { done <- loading.Close() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close after Handover did not return")
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Error("the address still answers after Close")
	}
}
