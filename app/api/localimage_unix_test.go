//go:build unix

package api

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestImagesCheckedBeforeTurn: a chat request's images are read and decoded before it waits
// for the model, so while the app holds the model (Options.Turn), a request with a broken
// image, a folder, or a FIFO (whose open would block until a writer comes) gets its 400 at
// once and never takes a turn; once the model is free, a good image is answered.
func TestImagesCheckedBeforeTurn(t *testing.T) {
	dir := t.TempDir()
	_, landPath := fixtureImage(t, "synthetic_landscape_150x100.png")
	good := copyFile(t, landPath, dir)
	fifo := filepath.Join(dir, "pipe.png")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	sub := filepath.Join(dir, "sub.png")
	if err := syscall.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{}, 1)
	var turns atomic.Int32
	ts := newTestServer(t, Options{ImageFolder: dir, Turn: func(ctx context.Context) (func(), error) {
		turns.Add(1)
		select {
		case gate <- struct{}{}:
			return func() { <-gate }, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}})
	gate <- struct{}{} // the app runs a long task
	for _, c := range []struct{ name, url string }{
		{"broken image", dataURL([]byte("not a picture"))},
		{"fifo", fifo},
		{"folder", sub},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a guard against a hang, not a timing
		raw := `{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "` + c.url + `"}}]}]}`
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.url+"/v1/chat/completions", strings.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		resp, body := do(t, req)
		cancel()
		checkError(t, c.name, resp, body, 400, "", "messages[0].content[0].image_url")
	}
	if n := turns.Load(); n != 0 {
		t.Errorf("requests with bad images asked for the model %d times", n)
	}
	<-gate // the app's task ends
	chatOK(t, ts, map[string]any{"max_tokens": 2, "messages": []any{userMsg("what?", good)}})
	if n := turns.Load(); n != 1 {
		t.Errorf("%d turns taken, want 1", n)
	}
}

// TestFileURLs: file URLs as clients make them (percent-encoded, with no host or localhost)
// name the file; another host is refused.
func TestFileURLs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my pictures")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	_, landPath := fixtureImage(t, "synthetic_landscape_150x100.png")
	good := copyFile(t, landPath, dir)
	ts := newTestServer(t, Options{ImageFolder: dir})
	encoded := (&url.URL{Scheme: "file", Path: good}).String() // "my%20pictures"
	if !strings.Contains(encoded, "%20") {
		t.Fatalf("the URL %q is not percent-encoded", encoded)
	}
	for _, u := range []string{encoded, "file://localhost" + (&url.URL{Path: good}).EscapedPath(), "file://" + good} {
		chatOK(t, ts, map[string]any{"max_tokens": 2, "messages": []any{userMsg("what?", u)}})
	}
	resp, body := ts.post(t, "/v1/chat/completions", map[string]any{"max_tokens": 2, "messages": []any{userMsg("what?", "file://otherhost"+good)}})
	checkError(t, "another host", resp, body, 400, "", "messages[0].content[0].image_url")
}
