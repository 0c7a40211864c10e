package api

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// gate is what every request passes before any route, the model's or the loading 503's:
// the Host a browser page cannot forge (DNS rebinding), no web page without a key too long
// to guess, CORS for those with one, and the API key. The loading answer keeps it too, so
// that no page learns even which model is loading.
type gate struct {
	key     []byte
	hosts   []string // Options.AllowedHosts, lower case
	desktop bool     // Options.Desktop: hints point at the app's Settings
}

// newGate is the gate of opts (APIKey, AllowedHosts, Desktop).
func newGate(opts Options) gate {
	var g gate
	// Trimmed as the header's key is (authorized): a key with a space or newline around it,
	// from a file or a paste, could otherwise never match.
	if key := strings.TrimSpace(opts.APIKey); key != "" {
		g.key = []byte(key)
	}
	for _, h := range opts.AllowedHosts {
		if h = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), ".")); h != "" {
			g.hosts = append(g.hosts, h)
		}
	}
	g.desktop = opts.Desktop
	return g
}

// pass answers r when the gate stops it (or it is a CORS preflight, answered here), and
// otherwise returns the route its path names. /health needs no key, for programs that check
// the server is up; a web page (one with an Origin) needs it, as for every route: the
// answer names the model and the queue.
func (g gate) pass(w http.ResponseWriter, r *http.Request) (path string, ok bool) {
	if !g.allowedHost(r) {
		writeError(w, &apiError{status: http.StatusMisdirectedRequest, typ: "invalid_request_error", code: "host_not_allowed",
			message: fmt.Sprintf("the Host header %q does not name this server: use 127.0.0.1, localhost or the address it listens on "+
				"(other names are refused, so that no web page can reach it through DNS rebinding%s)", truncate(r.Host, 80),
				g.hint("; janus serve --allow-host NAME allows one", ""))})
		return "", false
	}
	if len(g.key) < MinBrowserKeyLength && len(r.Header.Values("Origin")) > 0 {
		// Preflights too: without CORS headers the browser reports the failure itself.
		why := "the server has no API key"
		if g.key != nil {
			why = fmt.Sprintf("the server's API key is shorter than %d characters (a web page could guess it)", MinBrowserKeyLength)
		}
		writeError(w, &apiError{status: http.StatusForbidden, typ: "invalid_request_error", code: "origin_not_allowed",
			message: "requests from web pages (with an Origin header) are refused when " + why + ": " +
				g.hint(fmt.Sprintf("start it with an API key of %d characters or more to let a browser client in", MinBrowserKeyLength),
					fmt.Sprintf("set an API key of %d characters or more in Janus Desktop's Settings (Serve on localhost) to let a browser client in", MinBrowserKeyLength))})
		return "", false
	}
	if g.key != nil && g.crossOrigin(w, r) {
		return "", false
	}
	path = routePath(r.URL.Path)
	if path == "/health" && len(r.Header.Values("Origin")) == 0 {
		return path, true
	}
	if !g.authorized(r) {
		writeError(w, &apiError{status: http.StatusUnauthorized, typ: "authentication_error", code: "invalid_api_key",
			message: "missing or incorrect API key: send it as \"Authorization: Bearer KEY\" (" +
				g.hint("the key janus serve was started with", "the key in Janus Desktop's Settings, Serve on localhost") + ")"})
		return "", false
	}
	return path, true
}

// allowedHost reports whether r's Host header names the server as no other site can make a
// browser name it: localhost, a loopback address, the address the request arrived on (an IP
// address, which DNS cannot rebind), or one of Options.AllowedHosts. A page of
// attacker.example whose name was rebound to 127.0.0.1 sends Host: attacker.example.
func (g gate) allowedHost(r *http.Request) bool {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return false
	}
	if host == "localhost" || slices.Contains(g.hosts, host) {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	if ip.Unmap().IsLoopback() {
		return true
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	lip, err := netip.ParseAddrPort(local.String())
	return err == nil && lip.Addr().WithZone("").Unmap() == ip.WithZone("").Unmap()
}

// authorized checks the bearer key in constant time.
func (g gate) authorized(r *http.Request) bool {
	if g.key == nil {
		return true
	}
	h := r.Header.Get("Authorization")
	const scheme = "Bearer " // case-insensitive, as every HTTP auth scheme (RFC 9110)
	if len(h) < len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(h[len(scheme):])), g.key) == 1
}

// crossOrigin lets a browser page use a server that has an API key (the key, not the page's
// origin, is what guards it): every response to a request with an Origin allows that origin,
// and a preflight (OPTIONS with Access-Control-Request-Method, which never carries the key)
// is answered here with 204 and reports true. The openai JS client sends its own headers
// (x-stainless-*), so the headers a preflight asks for are allowed as asked.
func (g gate) crossOrigin(w http.ResponseWriter, r *http.Request) (answered bool) {
	h := w.Header()
	h.Add("Vary", "Origin") // the same URL answers with or without CORS headers
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", "Retry-After")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	allow := corsHeaders
	if asked := strings.Join(r.Header.Values("Access-Control-Request-Headers"), ","); headerList(asked) {
		allow = asked
	}
	h.Set("Access-Control-Allow-Headers", allow)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
	return true
}

// hint is the part of an error message that says what to do: cli for janus serve, desktop
// for the app's server ("" when the app has no such setting).
func (g gate) hint(cli, desktop string) string {
	if g.desktop {
		return desktop
	}
	return cli
}
