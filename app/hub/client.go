package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/janus-desktop/janus/app"
)

// DefaultEndpoint is the hub that HF_ENDPOINT replaces.
const DefaultEndpoint = "https://huggingface.co"

// Errors a pull can wrap, for errors.Is; the messages around them say what to do.
var (
	// ErrNotFound: the repository, revision or file does not exist (or is private and no
	// token was given: the hub answers 401 then, wrapped as ErrAuth).
	ErrNotFound = errors.New("not found on the hub")
	// ErrAuth: the hub wants a token, or refused the one given.
	ErrAuth = errors.New("token missing or refused")
	// ErrOffline: HF_HUB_OFFLINE is set and the cache has no copy of the revision.
	ErrOffline = errors.New("offline and not in the cache")
	// ErrNoSpace: the cache's disk has less room than the download needs (an
	// *app.NoSpaceError says how much).
	ErrNoSpace = app.ErrNoSpace
	// ErrChecksum: a downloaded file does not match the hub's checksum.
	ErrChecksum = app.ErrChecksum
)

// HubError is an error answer of the hub (app.HubError, where DownloadProblem words it),
// with the X-Error-Code and X-Error-Message headers it sends ("RepoNotFound",
// "Repository not found"); it unwraps to ErrNotFound or ErrAuth.
type HubError = app.HubError

// Client fetches repositories from one hub into one cache. The zero value is not usable;
// FromEnv makes one the way the hub's own clients configure themselves.
type Client struct {
	// Endpoint is the hub's base URL (HF_ENDPOINT, default https://huggingface.co).
	Endpoint string
	// EndpointSource says where Endpoint came from ("HF_ENDPOINT"; "" for the default or
	// one set in code): a hub that cannot be reached is then named with it, since the
	// setting is the likely mistake.
	EndpointSource string
	// Token is sent as a bearer token ("" sends none), only to Endpoint's own scheme, host
	// and port: never to the CDN or another port a redirect leads to, and never again once
	// a redirect from an https hub went through plain http.
	Token string
	// TokenSource says where Token came from ("HF_TOKEN", a file), for error messages.
	TokenSource string
	// Cache is the hub cache folder (app.Env.HFHubCache).
	Cache string
	// Offline makes Pull use the cache only (HF_HUB_OFFLINE).
	Offline bool
	// HTTP sends the requests; nil means a client of each pull's own, with connection and
	// header timeouts. Redirects are followed by Pull itself, whatever HTTP's policy.
	HTTP *http.Client
	// FreeSpace reports the bytes available to an unprivileged user on the disk holding
	// dir; nil means the operating system's answer. Tests inject a small one.
	FreeSpace func(dir string) (int64, error)
	// Attempts bounds the tries of one request that fails without making progress (a network
	// error, a 5xx or 429 answer, a refusal of the file server the hub redirected to); 0
	// means 6.
	Attempts int
	// Backoff is the wait before the first retry, doubled for each further one up to 30 s;
	// 0 means 1 s.
	Backoff time.Duration
	// StallTimeout cancels a body read that receives nothing for this long (then retried);
	// 0 means 60 s.
	StallTimeout time.Duration
	// Log receives retries and other notable events; nil logs nothing.
	Log *slog.Logger
}

// FromEnv configures a client as huggingface_hub does from the environment env describes:
// HF_ENDPOINT, HF_TOKEN (or the older HUGGING_FACE_HUB_TOKEN, else the token file
// HF_TOKEN_PATH or HF_HOME/token that `huggingface-cli login` writes), HF_HUB_OFFLINE, and
// the cache folder app.Env.HFHubCache resolves.
func FromEnv(env app.Env) *Client {
	get := func(k string) string {
		if env.Getenv == nil {
			return ""
		}
		return env.Getenv(k)
	}
	c := &Client{Endpoint: DefaultEndpoint, Cache: env.HFHubCache()}
	if e := strings.TrimRight(get("HF_ENDPOINT"), "/"); e != "" {
		c.Endpoint, c.EndpointSource = e, "HF_ENDPOINT"
	}
	for _, k := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"} {
		if t := strings.TrimSpace(get(k)); t != "" {
			c.Token, c.TokenSource = t, k
			break
		}
	}
	if c.Token == "" {
		path := get("HF_TOKEN_PATH")
		if path == "" {
			if home := hfHome(env, get); home != "" {
				path = filepath.Join(home, "token")
			}
		}
		if raw, err := os.ReadFile(path); path != "" && err == nil {
			if t := strings.TrimSpace(string(raw)); t != "" {
				c.Token, c.TokenSource = t, path
			}
		}
	}
	switch strings.ToUpper(strings.TrimSpace(get("HF_HUB_OFFLINE"))) {
	case "1", "ON", "YES", "TRUE":
		c.Offline = true
	}
	return c
}

// hfHome is HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.
func hfHome(env app.Env, get func(string) string) string {
	if d := get("HF_HOME"); d != "" {
		return d
	}
	if d := get("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "huggingface")
	}
	if env.Home == "" {
		return ""
	}
	return filepath.Join(env.Home, ".cache", "huggingface")
}

// newHTTP returns the HTTP client of one pull: HTTP, or one with connection and header
// timeouts, made to return redirects to do, which follows them itself (the first answer
// carries the hub's headers, and the token must not follow to another host).
func (c *Client) newHTTP() *http.Client {
	if c.HTTP != nil {
		nc := *c.HTTP
		nc.CheckRedirect = noRedirects
		return &nc
	}
	return &http.Client{CheckRedirect: noRedirects, Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		ResponseHeaderTimeout: 60 * time.Second,
		TLSHandshakeTimeout:   20 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
	}}
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func (c *Client) log() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

func (c *Client) attempts() int {
	if c.Attempts <= 0 {
		return 6
	}
	return c.Attempts
}

func (c *Client) backoff(try int) time.Duration {
	d := c.Backoff
	if d <= 0 {
		d = time.Second
	}
	for range try {
		d *= 2
		if d >= 30*time.Second {
			return 30 * time.Second
		}
	}
	return d
}

func (c *Client) stallTimeout() time.Duration {
	if c.StallTimeout <= 0 {
		return 60 * time.Second
	}
	return c.StallTimeout
}

// response is the final answer to a request, with the headers of the hub's last answer:
// the hub redirects within itself with relative locations (resolve-cache), and to its CDN
// with absolute ones; its answer before the CDN carries X-Linked-Etag and X-Repo-Commit.
type response struct {
	*http.Response
	first http.Header
}

// retryable marks errors worth another try: network failures, 5xx and 429 answers, and a
// file server's refusals. after is how long the server asked to be left alone (Retry-After),
// 0 when it did not say.
type retryable struct {
	err   error
	after time.Duration
}

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

// do sends one request, following up to 10 redirects itself. The token goes only to the
// hub's own origin (sameOrigin), and never again once a redirect led to plain http from an
// https hub: a network that can see that request could also have made the redirect.
// Answers of 400 and above become errors, retryable for 5xx and 429 (the hub's rate limit),
// as network errors are, and for every refusal of a file server the hub redirected to; the
// caller closes the body of a successful answer.
func (c *Client) do(ctx context.Context, hc *http.Client, method, rawURL string, header http.Header) (*response, error) {
	hub, err := url.Parse(c.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("hub endpoint %q: %w", c.Endpoint, err)
	}
	var first http.Header
	onHub := true       // until an absolute redirect leaves the hub, as huggingface_hub tells
	downgraded := false // a hop went to http from an https hub
	for range 10 {
		req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
		if err != nil {
			return nil, err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		req.Header.Set("User-Agent", "janus-desktop")
		if strings.EqualFold(hub.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https") {
			downgraded = true
		}
		if c.Token != "" && !downgraded && sameOrigin(req.URL, hub) {
			req.Header.Set("Authorization", "Bearer "+c.Token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if c.EndpointSource != "" && sameOrigin(req.URL, hub) {
				err = &app.ServerError{Server: c.hubName(), Err: err}
			}
			return nil, retryable{err: err} // a *url.Error: it names the method and the URL
		}
		if onHub {
			first = resp.Header
		}
		switch resp.StatusCode {
		case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
			http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			loc, err := resp.Location()
			drain(resp)
			if err != nil {
				return nil, fmt.Errorf("%s %s: redirect without a location: %w", method, rawURL, err)
			}
			if u, err := url.Parse(resp.Header.Get("Location")); err == nil && u.IsAbs() {
				onHub = false
			}
			rawURL = loc.String()
			continue
		}
		if resp.StatusCode >= 400 && resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
			herr := c.hubError(resp, rawURL)
			drain(resp)
			after := retryAfter(resp.Header.Get("Retry-After"), time.Now())
			if !sameOrigin(req.URL, hub) {
				// The file server a download was sent to (the CDN): its refusals (a signed
				// address expired, an object not there yet) are not the hub's word on the
				// repository or the token, and the hub signs a new address on the next try.
				herr.FileServer, herr.Kind = req.URL.Host, nil
				return nil, retryable{err: herr, after: after}
			}
			if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
				return nil, retryable{err: herr, after: after}
			}
			return nil, herr
		}
		return &response{resp, first}, nil
	}
	return nil, fmt.Errorf("%s %s: more than 10 redirects", method, rawURL)
}

// hubName names the hub for people: "Hugging Face", or the endpoint and where it was set
// ("the hub at http://127.0.0.1:9 (set by HF_ENDPOINT)").
func (c *Client) hubName() string {
	if strings.TrimRight(c.Endpoint, "/") == DefaultEndpoint {
		return "Hugging Face"
	}
	name := "the hub at " + c.Endpoint
	if c.EndpointSource != "" {
		name += " (set by " + c.EndpointSource + ")"
	}
	return name
}

// sameOrigin reports whether u has hub's scheme, host and port (an absent port being the
// scheme's default): the token is the hub's, and another port of the same host may be
// another service.
func sameOrigin(u, hub *url.URL) bool {
	return strings.EqualFold(u.Scheme, hub.Scheme) && strings.EqualFold(u.Hostname(), hub.Hostname()) &&
		portOf(u) == portOf(hub)
}

// portOf is u's port, or its scheme's default.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// hubError reads the hub's X-Error-Code and X-Error-Message headers (or a JSON "error"
// body's text) from an error answer.
func (c *Client) hubError(resp *http.Response, u string) *HubError {
	e := &HubError{Status: resp.StatusCode, Code: resp.Header.Get("X-Error-Code"), Message: resp.Header.Get("X-Error-Message"),
		URL: u, Hub: c.hubName()}
	if resp.Request != nil && resp.Request.Header.Get("Authorization") != "" {
		e.TokenSource = c.TokenSource
		if e.TokenSource == "" {
			e.TokenSource = "the program"
		}
	}
	if e.Message == "" {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 300 {
			e.Message = e.Message[:300] + "…"
		}
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		e.Kind = ErrAuth
	case http.StatusNotFound:
		e.Kind = ErrNotFound
	}
	return e
}

// maxRetryAfter bounds the wait a server's Retry-After asks for: a longer one is waited
// this long, and the tries left then tell whether it was long enough.
const maxRetryAfter = 5 * time.Minute

// retryAfter reads a Retry-After header, seconds or an HTTP date, as a wait from now (0
// when absent, unreadable or past), at most maxRetryAfter.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		d = time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second // no overflow
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// dnsNotFoundAttempts bounds the tries of a request whose host name does not resolve.
const dnsNotFoundAttempts = 2

// retry runs f until it succeeds, fails with an error that is not retryable, or has
// failed Attempts times in a row without progress (f reports progress by returning
// progressed true, which resets the count). It waits with exponential backoff between
// tries, or as long as a Retry-After asked when that is longer, and reports each retry
// through note.
func (c *Client) retry(ctx context.Context, what string, note func(string), f func() (progressed bool, err error)) error {
	fails := 0
	for {
		progressed, err := f()
		if err == nil {
			return nil
		}
		var r retryable
		if !errors.As(err, &r) || ctx.Err() != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if progressed {
			fails = 0
		}
		fails++
		limit := c.attempts()
		var dns *net.DNSError
		if errors.As(r.err, &dns) && dns.IsNotFound {
			// A name the resolver says does not exist (offline, or a mistyped HF_ENDPOINT)
			// is asked once more, not for half a minute of backoff.
			limit = min(limit, dnsNotFoundAttempts)
		}
		if fails >= limit {
			return &app.GaveUpError{What: what, Tries: fails, Err: r.err}
		}
		wait := max(c.backoff(fails-1), r.after) // sooner than asked only prolongs a rate limit
		c.log().Warn("hub request failed; retrying", "what", what, "err", r.err, "wait", wait)
		if note != nil {
			// The problem first, a sentence of its own: "retrying in 4s: The server…" had
			// a capital in mid-line.
			note(fmt.Sprintf("%s — retrying in %s", strings.TrimSuffix(app.DownloadProblem(r.err), "."), wait.Round(100*time.Millisecond)))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
