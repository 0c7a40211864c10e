package hub

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/janus-desktop/janus/app/hub/hubtest"
)

func TestSameOrigin(t *testing.T) {
	hub, _ := url.Parse("https://huggingface.co")
	for _, tt := range []struct {
		url  string
		want bool
	}{
		{"https://huggingface.co/api/models/x", true},
		{"https://HuggingFace.co:443/x", true},
		{"http://huggingface.co/x", false},       // plain http: anyone on the path reads it
		{"https://huggingface.co:8443/x", false}, // another service on the same host
		{"https://cdn-lfs.huggingface.co/x", false},
		{"https://huggingface.co.evil.example/x", false},
	} {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := sameOrigin(u, hub); got != tt.want {
			t.Errorf("sameOrigin(%s, %s) = %v, want %v", tt.url, hub, got, tt.want)
		}
	}
}

// authLog records the Authorization header of each request by path.
type authLog struct {
	mu   sync.Mutex
	seen map[string]string
}

func (a *authLog) record(r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen[r.URL.Path] = r.Header.Get("Authorization")
}

func (a *authLog) get(path string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v, ok := a.seen[path]
	return v, ok
}

// TestTokenNotAfterDowngrade: from an https hub, the token follows relative redirects, but
// not to another port of the same host, not to plain http, and not even back to the hub once
// a redirect went through plain http.
func TestTokenNotAfterDowngrade(t *testing.T) {
	log := &authLog{seen: map[string]string{}}
	var hubURL string
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.record(r)
		http.Redirect(w, r, hubURL+"/back", http.StatusFound)
	}))
	defer plain.Close()
	hub := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.record(r)
		switch r.URL.Path {
		case "/start":
			http.Redirect(w, r, "/relative", http.StatusFound)
		case "/relative":
			http.Redirect(w, r, plain.URL+"/plain", http.StatusFound)
		default:
			w.Write([]byte("ok"))
		}
	}))
	defer hub.Close()
	hubURL = hub.URL
	c := &Client{Endpoint: hub.URL, Token: "hf_secret", HTTP: hub.Client()}
	resp, err := c.do(context.Background(), c.newHTTP(), http.MethodGet, hub.URL+"/start", nil)
	if err != nil {
		t.Fatal(err)
	}
	drain(resp.Response)
	for _, tt := range []struct {
		path  string
		token bool
	}{{"/start", true}, {"/relative", true}, {"/plain", false}, {"/back", false}} {
		auth, ok := log.get(tt.path)
		if !ok {
			t.Errorf("%s was not requested", tt.path)
			continue
		}
		if got := auth == "Bearer hf_secret"; got != tt.token || (!tt.token && auth != "") {
			t.Errorf("%s: Authorization %q, want the token %v", tt.path, auth, tt.token)
		}
	}
}

// TestPullCaseCollision: a repository listing two names that would be one file on a
// case-insensitive disk (or a file where a folder is) is refused before anything is
// fetched.
func TestPullCaseCollision(t *testing.T) {
	s := hubtest.New(t)
	s.AddRepo(testRepo, map[string][]byte{"config.json": []byte("{}"), "Config.json": []byte("{}")})
	c := newTestClient(t, s)
	_, err := c.Pull(context.Background(), testRepo, PullOptions{})
	if err == nil || !strings.Contains(err.Error(), "differ only in case") {
		t.Fatalf("pull of colliding names: %v", err)
	}
	blobs, _ := filepath.Glob(filepath.Join(c.Cache, RepoFolder(testRepo), "blobs", "*"))
	if len(blobs) != 0 {
		t.Errorf("blobs fetched before the names were refused: %v", blobs)
	}

	for _, tt := range []struct {
		names []string
		ok    bool
	}{
		{[]string{"a/b.json", "a/c.json", "b.json"}, true},
		{[]string{"a/b.json", "A/c.json"}, false},
		{[]string{"Model.safetensors", "model.SAFETENSORS"}, false},
		{[]string{"a", "a/b"}, false},
		{[]string{"a/b", "a"}, false},
		{[]string{"x.json", "x.json"}, false},
		{[]string{"Ünï.json", "üNÏ.json"}, false},
	} {
		ps := pathSet{}
		var err error
		for _, n := range tt.names {
			if err = ps.add(n); err != nil {
				break
			}
		}
		if (err == nil) != tt.ok {
			t.Errorf("%q: %v, want ok=%v", tt.names, err, tt.ok)
		}
	}
}
