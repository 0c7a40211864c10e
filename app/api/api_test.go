package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model"
)

// The tiny-a model is loaded once: every server of the package's tests shares it, as the
// app's servers share the app's model.
var (
	tinyOnce  sync.Once
	tinyModel *model.Model
	tinyErr   error
)

// loadOwning loads the model folder dir with opts on a backend of its own, as janus serve
// does: app.OpenBackend("auto") with threads per op and opts.Precision, which the model closes.
func loadOwning(dir string, threads int, opts model.Options) (*model.Model, error) {
	be, err := app.OpenBackend("auto", threads, opts.Precision)
	if err != nil {
		return nil, err
	}
	opts.Backend, opts.OwnBackend = be, true
	return model.Load(dir, opts)
}

func tinyA(t testing.TB) *model.Model {
	t.Helper()
	dir := fixtures.Path(t, "models", "tiny-a")
	tinyOnce.Do(func() { tinyModel, tinyErr = loadOwning(dir, 2, model.Options{}) })
	if tinyErr != nil {
		t.Fatalf("load tiny-a: %v", tinyErr)
	}
	return tinyModel
}

// testServer is a Server behind a real HTTP server on 127.0.0.1.
type testServer struct {
	*Server
	url string
}

func newTestServer(t *testing.T, opts Options) *testServer {
	t.Helper()
	m := tinyA(t)
	if opts.ModelName == "" {
		opts.ModelName = "tiny-a"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := NewServer(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.Close()
		s.Shutdown(context.Background())
	})
	return &testServer{Server: s, url: hs.URL}
}

// post sends body (a value to encode, or a string sent as is) and returns the response
// with its body read.
func (ts *testServer) post(t *testing.T, path string, body any, header ...string) (*http.Response, []byte) {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, ts.url+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

func (ts *testServer) get(t *testing.T, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response of %s: %v", req.URL.Path, err)
	}
	return resp, body
}

func decodeJSON[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %s: %v", truncate(string(body), 300), err)
	}
	return v
}

// sseEvents splits an event stream into its events' data (and names, "" when unnamed).
func sseEvents(t *testing.T, body []byte) (names, data []string) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	name := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			names = append(names, name)
			data = append(data, strings.TrimPrefix(line, "data: "))
		case line == "":
			name = ""
		default:
			t.Fatalf("unexpected line in event stream: %q", truncate(line, 100))
		}
	}
	return names, data
}

// fixtureImage returns a fixture PNG's bytes and path.
func fixtureImage(t *testing.T, name string) ([]byte, string) {
	t.Helper()
	path := fixtures.Path(t, "inputs", name)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw, path
}

func dataURL(raw []byte) string {
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(raw)
}

// copyFile copies src into dir and returns the new path.
func copyFile(t *testing.T, src, dir string) string {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(dst, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// newHTTPServer serves s on 127.0.0.1 for the test and returns its URL.
func newHTTPServer(t *testing.T, s *Server) string {
	t.Helper()
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.Close()
		s.Shutdown(context.Background())
	})
	return hs.URL
}
