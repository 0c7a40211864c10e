package api

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestCrossSite: a web page cannot drive the server. A DNS rebinding page names its own host
// (421), a cross-site request carries an Origin (403 without a key), and a form or text/plain
// post is not JSON (415); loopback names, the address a request arrived on and
// Options.AllowedHosts are accepted, and an Origin is accepted once a key guards the server.
func TestCrossSite(t *testing.T) {
	open := newTestServer(t, Options{AllowedHosts: []string{"MyBox.local."}})
	keyed := newTestServer(t, Options{APIKey: "open-sesame-1234567"})
	port := open.url[strings.LastIndex(open.url, ":"):]
	chatBody := `{"max_tokens": 2, "messages": [{"role": "user", "content": "hi"}]}`
	json := "application/json"
	cases := []struct {
		name         string
		ts           *testServer
		method, path string
		host, origin string
		contentType  string
		auth         string
		status       int
		code         string
	}{
		{"rebinding: chat", open, "POST", "/v1/chat/completions", "attacker.example" + port, "", json, "", 421, "host_not_allowed"},
		{"rebinding: models", open, "GET", "/v1/models", "attacker.example" + port, "", "", "", 421, "host_not_allowed"},
		{"rebinding: health", open, "GET", "/health", "attacker.example", "", "", "", 421, "host_not_allowed"},
		{"rebinding with a key", keyed, "GET", "/v1/models", "attacker.example", "", "", "Bearer open-sesame-1234567", 421, "host_not_allowed"},
		{"a name under localhost", open, "GET", "/v1/models", "evil.localhost" + port, "", "", "", 421, "host_not_allowed"},
		{"another IP", open, "GET", "/v1/models", "192.0.2.7" + port, "", "", "", 421, "host_not_allowed"},
		{"the review's curl", open, "POST", "/v1/chat/completions", "attacker.example", "http://attacker.example", "text/plain", "", 421, "host_not_allowed"},
		{"cross-site page", open, "POST", "/v1/chat/completions", "127.0.0.1" + port, "http://attacker.example", json, "", 403, "origin_not_allowed"},
		{"cross-site GET", open, "GET", "/v1/models", "127.0.0.1" + port, "http://attacker.example", "", "", 403, "origin_not_allowed"},
		{"null origin", open, "POST", "/v1/chat/completions", "localhost" + port, "null", json, "", 403, "origin_not_allowed"},
		{"text/plain", open, "POST", "/v1/chat/completions", "127.0.0.1" + port, "", "text/plain", "", 415, "unsupported_media_type"},
		{"form", open, "POST", "/v1/images/generations", "127.0.0.1" + port, "", "application/x-www-form-urlencoded", "", 415, "unsupported_media_type"},
		{"multipart", open, "POST", "/v1/chat/completions", "127.0.0.1" + port, "", "multipart/form-data; boundary=x", "", 415, "unsupported_media_type"},
		{"no content type", open, "POST", "/v1/chat/completions", "127.0.0.1" + port, "", "", "", 415, "unsupported_media_type"},
		{"127.0.0.1", open, "POST", "/v1/chat/completions", "127.0.0.1" + port, "", json, "", 200, ""},
		{"localhost", open, "GET", "/v1/models", "localhost" + port, "", "", "", 200, ""},
		{"LOCALHOST. without port", open, "GET", "/health", "LOCALHOST.", "", "", "", 200, ""},
		{"::1", open, "GET", "/v1/models", "[::1]" + port, "", "", "", 200, ""},
		{"127.0.0.2", open, "GET", "/v1/models", "127.0.0.2", "", "", "", 200, ""},
		{"allowed host", open, "GET", "/v1/models", "mybox.LOCAL" + port, "", "", "", 200, ""},
		{"charset", open, "POST", "/v1/chat/completions", "localhost" + port, "", "application/json; charset=utf-8", "", 200, ""},
		{"origin with a key", keyed, "POST", "/v1/chat/completions", "127.0.0.1", "http://localhost:3000", json, "Bearer open-sesame-1234567", 200, ""},
		{"scheme in lower case", keyed, "POST", "/v1/chat/completions", "127.0.0.1", "", json, "bearer open-sesame-1234567", 200, ""},
		{"scheme in capitals", keyed, "GET", "/v1/models", "127.0.0.1", "", "", "BEARER open-sesame-1234567", 200, ""},
		{"no scheme", keyed, "GET", "/v1/models", "127.0.0.1", "", "", "open-sesame-1234567", 401, "invalid_api_key"},
		{"origin with a wrong key", keyed, "POST", "/v1/chat/completions", "127.0.0.1", "http://attacker.example", json, "Bearer guess", 401, "invalid_api_key"},
		// A page needs the key for /health too: it tells which model is loaded and whether
		// the server is busy (a program without an Origin does not).
		{"health from a page without the key", keyed, "GET", "/health", "127.0.0.1", "http://attacker.example", "", "", 401, "invalid_api_key"},
		{"health from a page with the key", keyed, "GET", "/health", "127.0.0.1", "http://localhost:3000", "", "Bearer open-sesame-1234567", 200, ""},
		{"health without an origin", keyed, "GET", "/health", "127.0.0.1", "", "", "", 200, ""},
	}
	for _, c := range cases {
		var body *bytes.Reader
		if c.method == "POST" {
			body = bytes.NewReader([]byte(chatBody))
		} else {
			body = bytes.NewReader(nil)
		}
		if c.path == "/v1/images/generations" {
			body = bytes.NewReader([]byte(`{"prompt": "x"}`))
		}
		req, err := http.NewRequest(c.method, c.ts.url+c.path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = c.host
		for k, v := range map[string]string{"Origin": c.origin, "Content-Type": c.contentType, "Authorization": c.auth} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		resp, out := do(t, req)
		if c.status == 200 {
			if resp.StatusCode != 200 {
				t.Errorf("%s: status %d, want 200: %s", c.name, resp.StatusCode, out)
			}
			continue
		}
		checkError(t, c.name, resp, out, c.status, c.code, "")
	}
}

// TestAllowedHost: the Host header may name the address the request arrived on (a LAN
// address when the server listens on one, or on all of them); other addresses are refused.
func TestAllowedHost(t *testing.T) {
	s := &Server{}
	lan := &net.TCPAddr{IP: net.ParseIP("192.168.1.5"), Port: 8765}
	lan6 := &net.TCPAddr{IP: net.ParseIP("fd00::5"), Port: 8765}
	for _, c := range []struct {
		host  string
		local net.Addr
		want  bool
	}{
		{"192.168.1.5:8765", lan, true},
		{"192.168.1.5", lan, true},
		{"192.168.1.6:8765", lan, false},
		{"[fd00::5]:8765", lan6, true},
		{"[::ffff:192.168.1.5]:8765", lan, true},
		{"mybox:8765", lan, false},
		{"", lan, false},
		{"192.168.1.5:8765", nil, false}, // mounted where the local address is unknown
		{"127.0.0.1:1", nil, true},
	} {
		r := httptest.NewRequest("GET", "/v1/models", nil)
		r.Host = c.host
		if c.local != nil {
			r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, c.local))
		}
		if got := s.allowedHost(r); got != c.want {
			t.Errorf("Host %q arriving on %v: allowed %v, want %v", c.host, c.local, got, c.want)
		}
	}
}

// TestCORS: a server with a key is usable from a browser page. Its preflight (OPTIONS with
// Access-Control-Request-Method, never carrying the key) gets 204 with the CORS headers,
// allowing the headers asked for (the openai JS client's x-stainless-*); every response to a
// request with an Origin, errors and streams included, allows that origin. Without a key a
// browser request, preflight included, still gets 403 and no CORS headers.
func TestCORS(t *testing.T) {
	open := newTestServer(t, Options{})
	keyed := newTestServer(t, Options{APIKey: "open-sesame-1234567"})
	const page = "http://localhost:5173"
	stainless := "authorization,content-type,x-stainless-arch,x-stainless-lang,x-stainless-os,x-stainless-package-version,x-stainless-retry-count,x-stainless-runtime,x-stainless-runtime-version,x-stainless-timeout"
	chat := `{"max_tokens": 2, "messages": [{"role": "user", "content": "hi"}]}`
	cases := []struct {
		name         string
		ts           *testServer
		method, path string
		header       map[string]string
		body         string
		status       int
		acao         string // want Access-Control-Allow-Origin ("": absent)
		allowHeaders string // want Access-Control-Allow-Headers ("": not checked)
		contentType  string // want this Content-Type ("": not checked)
	}{
		{"preflight", keyed, "OPTIONS", "/v1/chat/completions",
			map[string]string{"Origin": page, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": stainless},
			"", 204, page, stainless, ""},
		{"preflight of a GET", keyed, "OPTIONS", "/v1/models",
			map[string]string{"Origin": page, "Access-Control-Request-Method": "GET"}, "", 204, page, corsHeaders, ""},
		{"preflight with odd headers", keyed, "OPTIONS", "/v1/chat/completions",
			map[string]string{"Origin": page, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "a b, (c)"},
			"", 204, page, corsHeaders, ""},
		{"preflight without a key", open, "OPTIONS", "/v1/chat/completions",
			map[string]string{"Origin": page, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
			"", 403, "", "", "application/json"},
		{"chat from a page", keyed, "POST", "/v1/chat/completions",
			map[string]string{"Origin": page, "Authorization": "Bearer open-sesame-1234567", "Content-Type": "application/json"}, chat, 200, page, "", "application/json"},
		{"stream from a page", keyed, "POST", "/v1/chat/completions",
			map[string]string{"Origin": page, "Authorization": "Bearer open-sesame-1234567", "Content-Type": "application/json"},
			`{"stream": true, "max_tokens": 2, "messages": [{"role": "user", "content": "hi"}]}`, 200, page, "", "text/event-stream"},
		{"models from a page", keyed, "GET", "/v1/models", map[string]string{"Origin": page, "Authorization": "Bearer open-sesame-1234567"}, "", 200, page, "", ""},
		{"wrong key from a page", keyed, "POST", "/v1/chat/completions",
			map[string]string{"Origin": page, "Authorization": "Bearer guess", "Content-Type": "application/json"}, chat, 401, page, "", "application/json"},
		{"bad request from a page", keyed, "POST", "/v1/chat/completions",
			map[string]string{"Origin": page, "Authorization": "Bearer open-sesame-1234567", "Content-Type": "application/json"}, `{"messages": []}`, 400, page, "", "application/json"},
		{"chat from a page without a key", open, "POST", "/v1/chat/completions",
			map[string]string{"Origin": page, "Content-Type": "application/json"}, chat, 403, "", "", "application/json"},
		{"no origin", keyed, "GET", "/v1/models", map[string]string{"Authorization": "Bearer open-sesame-1234567"}, "", 200, "", "", ""},
		{"OPTIONS that is not a preflight", keyed, "OPTIONS", "/v1/models", map[string]string{"Origin": page}, "", 401, page, "", ""},
	}
	for _, c := range cases {
		req, err := http.NewRequest(c.method, c.ts.url+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		resp, body := do(t, req)
		h := resp.Header
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, resp.StatusCode, c.status, body)
		}
		if got := h.Get("Access-Control-Allow-Origin"); got != c.acao {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", c.name, got, c.acao)
		}
		if c.acao != "" && !slices.Contains(h.Values("Vary"), "Origin") {
			t.Errorf("%s: Vary %q does not name Origin", c.name, h.Values("Vary"))
		}
		if c.contentType != "" && h.Get("Content-Type") != c.contentType {
			t.Errorf("%s: Content-Type %q, want %q", c.name, h.Get("Content-Type"), c.contentType)
		}
		if c.status != 204 {
			continue
		}
		if got := h.Get("Access-Control-Allow-Headers"); got != c.allowHeaders {
			t.Errorf("%s: Access-Control-Allow-Headers %q, want %q", c.name, got, c.allowHeaders)
		}
		if got := h.Get("Access-Control-Allow-Methods"); got != "GET, POST, OPTIONS" {
			t.Errorf("%s: Access-Control-Allow-Methods %q", c.name, got)
		}
		if h.Get("Access-Control-Max-Age") == "" || len(body) != 0 {
			t.Errorf("%s: Max-Age %q, body %q", c.name, h.Get("Access-Control-Max-Age"), body)
		}
	}
}

// TestShortKeyKeepsPagesOut: with a key shorter than MinBrowserKeyLength a web page could
// guess it, so pages stay refused (403, no CORS headers) while programs use the key.
func TestShortKeyKeepsPagesOut(t *testing.T) {
	ts := newTestServer(t, Options{APIKey: "short"})
	resp, body := ts.get(t, "/v1/models", "Authorization", "Bearer short", "Origin", "http://localhost:5173")
	checkError(t, "a page with a short key", resp, body, 403, "origin_not_allowed", "")
	if !strings.Contains(string(body), "16 characters") || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("the refusal: %s, ACAO %q", body, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	if resp, body := ts.get(t, "/v1/models", "Authorization", "Bearer short"); resp.StatusCode != 200 {
		t.Errorf("a program with the short key: %d %s", resp.StatusCode, body)
	}
}
