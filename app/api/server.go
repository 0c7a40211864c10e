package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/model"
)

// Defaults of Options and Limits.
const (
	DefaultMaxQueue     = 16                    // requests waiting behind the running one
	DefaultBodyBytes    = 32 << 20              // a request body: a few large base64 images
	DefaultImageBytes   = 16 << 20              // one encoded image
	DefaultImagePixels  = 50_000_000            // one decoded image: a 50 MP photo takes 200 MB
	DefaultImageSide    = 16384                 // one decoded image's width or height
	DefaultImagesPerReq = 8                     // images in all the turns of a chat request
	DefaultMaxTokens    = model.MaxAnswerTokens // the largest max_tokens, as the app's answer length
	DefaultPromptBytes  = 64 << 10              // the text of a request
	DefaultReadTimeout  = time.Minute
	DefaultWriteTimeout = time.Minute
)

// MaxImagesPerGeneration bounds n of an image generation request: the app's own limit for a
// run (app.MaxCanvasImages), below the engine's model.MaxImages, so that a request takes what
// a run in the window takes.
const MaxImagesPerGeneration = app.MaxCanvasImages

// Limits bound what one request may ask for; zero fields take the defaults above.
type Limits struct {
	// BodyBytes bounds a request body (413 beyond).
	BodyBytes int64
	// ImageBytes bounds one encoded image (413 beyond); ImagePixels and ImageSide bound its
	// decoded size (413 beyond), checked from the header before any pixel is decoded.
	ImageBytes  int64
	ImagePixels int64
	ImageSide   int
	// ImagesPerRequest bounds the images of all the turns of one chat request.
	ImagesPerRequest int
	// MaxTokens bounds max_tokens of a chat request.
	MaxTokens int
	// PromptBytes bounds the text of a request (all messages, or the image prompt).
	PromptBytes int
	// ReadTimeout bounds reading a request's headers and body; WriteTimeout bounds each write
	// of a response (a client that stops reading is dropped and its job cancelled). A job
	// itself may run as long as it needs.
	ReadTimeout, WriteTimeout time.Duration
}

func (l Limits) withDefaults() Limits {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.BodyBytes, DefaultBodyBytes)
	def(&l.ImageBytes, DefaultImageBytes)
	def(&l.ImagePixels, DefaultImagePixels)
	defInt(&l.ImageSide, DefaultImageSide)
	defInt(&l.ImagesPerRequest, DefaultImagesPerReq)
	defInt(&l.MaxTokens, DefaultMaxTokens)
	defInt(&l.PromptBytes, DefaultPromptBytes)
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = DefaultReadTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = DefaultWriteTimeout
	}
	return l
}

// Options configure a Server.
type Options struct {
	// ModelName is the loaded model's id in /v1/models and in responses (requests may also
	// call it "default"); "" means "janus".
	ModelName string
	// ModelAliases are other names requests may give the loaded model (its Hugging Face
	// repository id, the name `janus models` lists when ModelName is spelled as the user
	// typed it), so that a client set up with any of them reaches it. They are compared
	// without case, as ModelName is.
	ModelAliases []string
	// OtherModels are models found on this machine but not loaded: /v1/models lists them as
	// not loaded, and a request naming one gets a 404 saying so.
	OtherModels []string
	// APIKey, when not empty, is required as "Authorization: Bearer KEY" on every route but
	// /health; when it is MinBrowserKeyLength long or more, browser pages that have it may
	// call the server (CORS: preflights are answered, responses allow the page's origin).
	// Otherwise requests that carry an Origin header (sent by web browsers) are refused with
	// 403, so that no web page can use the model, or guess a short key. Spaces and newlines
	// around it are dropped, as around the key a request sends.
	APIKey string
	// AllowedHosts are further names the Host header may carry (a machine name other
	// computers reach the server by, "mybox.local"), compared without case or port. Loopback
	// names and addresses and the address a request arrived on are always accepted; any
	// other Host gets 421, which keeps DNS rebinding pages out.
	AllowedHosts []string
	// MaxQueue is the number of requests that may wait behind the running one (0:
	// DefaultMaxQueue); more get 429 with Retry-After.
	MaxQueue int
	// ImageFolder, when not empty, lets chat requests name image files inside it (a path or
	// file:// URL); otherwise only data: URLs are accepted.
	ImageFolder string
	// Desktop marks the server of the desktop app's "Serve on localhost": its errors then
	// point at the app's Settings and model picker, not at janus serve's flags.
	Desktop bool
	// Software is the Software text chunk of generated PNGs ("Janus Desktop VERSION"; ""
	// means "Janus Desktop").
	Software string
	// MaxMemoryBytes is passed to image generation (see model.GenerateImageOptions).
	MaxMemoryBytes int64
	// Limits bound requests.
	Limits Limits
	// Logger receives one line per request and every failure (nil: slog.Default()).
	Logger *slog.Logger
	// Turn, when not nil, is called before each job runs on the model, and the release it
	// returns when the job ends. An app that runs its own tasks on the same model passes its
	// turn-taking here, so that its tasks and the server's wait for each other where either
	// can be cancelled (the model's own lock ignores contexts). Turn returns ctx's error when
	// ctx ends first.
	Turn func(ctx context.Context) (release func(), err error)
}

// Server is the OpenAI-compatible HTTP API over one loaded model. It is an http.Handler, so
// it can be mounted on any server; Serve and Run run it on its own http.Server with the
// timeouts of its Limits. The model is shared, not owned: Shutdown leaves it open.
type Server struct {
	m       *model.Model
	name    string
	aliases []string
	others  []string
	gate
	folder string // the image folder, absolute ("" for none)
	// folderReal is folder with symlinks resolved, when that differs.
	folderReal string
	soft       string
	maxMem     int64
	lim        Limits
	log        *slog.Logger
	queue      *queue
	created    time.Time

	// conv is the cached conversation; only the job holding the queue touches it, and
	// convMu lets Shutdown release it safely. images are its images, which requests look up
	// before their turn.
	convMu sync.Mutex
	conv   conversation
	images imageCache
	// decoding is held while a request decodes an image: requests decode before they wait
	// for the model, so without it every admitted request could hold a large photo's
	// pixels at once (hundreds of MB each).
	decoding chan struct{}

	httpMu sync.Mutex
	http   *http.Server
	closed bool // Shutdown was called: Serve returns at once

	// base ends when Shutdown gives up waiting: every job's context derives from it too,
	// so jobs stop within a step even when the Server is mounted on someone else's
	// http.Server.
	base     context.Context
	stopBase context.CancelFunc
	// draining ends when Shutdown starts: requests still waiting for their turn are answered
	// 503 at once, while the running one gets Shutdown's time to finish.
	draining  context.Context
	stopDrain context.CancelFunc

	turn func(ctx context.Context) (func(), error)

	hooks testHooks
}

// testHooks let tests hold a job at a known point.
type testHooks struct {
	// onText is called after each streamed piece of an answer with the pieces so far and the
	// context the answer checks between its steps. (The job's context is its parent: a
	// cancel sets the parent's error before it reaches the child, so a hook that waited on
	// the job's could see the answer take a few more steps.)
	onText func(ctx context.Context, pieces int)
	// onStep is called after each image generation step.
	onStep func(ctx context.Context, p model.ImageProgress)
	// jobDone is called when a job ends with what it produced and its error.
	jobDone func(kind string, tokens int, err error)
}

// NewServer returns a server for m.
func NewServer(m *model.Model, opts Options) (*Server, error) {
	if m == nil {
		return nil, errors.New("api server: no model")
	}
	if opts.MaxQueue < 0 {
		return nil, fmt.Errorf("api server: max queue %d is negative", opts.MaxQueue)
	}
	if opts.APIKey != "" && strings.TrimSpace(opts.APIKey) == "" {
		// Trimmed to nothing it would serve without a key, which its caller did not ask for.
		return nil, errors.New("api server: the API key is only whitespace")
	}
	if opts.MaxQueue == 0 {
		opts.MaxQueue = DefaultMaxQueue
	}
	s := &Server{
		m: m, name: opts.ModelName, aliases: opts.ModelAliases, others: opts.OtherModels, soft: opts.Software, gate: newGate(opts), maxMem: opts.MaxMemoryBytes,
		lim: opts.Limits.withDefaults(), log: opts.Logger, queue: newQueue(opts.MaxQueue), created: time.Now(),
	}
	if s.name == "" {
		s.name = "janus"
	}
	s.turn = opts.Turn
	if s.soft == "" {
		s.soft = "Janus Desktop"
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if opts.ImageFolder != "" {
		abs, err := filepath.Abs(opts.ImageFolder)
		if err != nil {
			return nil, fmt.Errorf("api server: image folder %s: %w", opts.ImageFolder, err)
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("api server: image folder %s is not a folder", opts.ImageFolder)
		}
		s.folder = abs
		// A path may name the folder through its real location (macOS's /private/var for
		// /var): both spellings are accepted, and os.Root still keeps reads inside.
		if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
			s.folderReal = real
		}
	}
	s.decoding = make(chan struct{}, 1)
	s.base, s.stopBase = context.WithCancel(context.Background())
	s.draining, s.stopDrain = context.WithCancel(context.Background())
	return s, nil
}

// Serve answers requests on ln until Shutdown; it returns http.ErrServerClosed then. It may
// be called once.
func (s *Server) Serve(ln net.Listener) error {
	s.httpMu.Lock()
	if s.closed {
		s.httpMu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	if s.http != nil {
		s.httpMu.Unlock()
		return errors.New("api server: already serving")
	}
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: min(10*time.Second, s.lim.ReadTimeout),
		ReadTimeout:       s.lim.ReadTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	srv := s.http
	s.httpMu.Unlock()
	return srv.Serve(ln)
}

// Run listens on addr (as Listen) and serves until ctx ends, as RunListener.
func (s *Server) Run(ctx context.Context, addr string) error {
	ln, err := Listen(addr)
	if err != nil {
		return err
	}
	return s.RunListener(ctx, ln)
}

// ShutdownGrace is how long Run and RunListener let requests in flight finish once their
// context ends, before their jobs are cancelled (see Shutdown).
const ShutdownGrace = 5 * time.Second

// RunListener serves on ln until ctx ends, then shuts down, giving requests in flight
// ShutdownGrace to finish.
func (s *Server) RunListener(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	err := s.Shutdown(sctx)
	<-errc
	return err
}

// shutdownAnswerTime is how long Shutdown waits, once its grace is over and the jobs are
// cancelled, for their handlers to answer before it closes their connections: a job stops
// within a step.
const shutdownAnswerTime = time.Second

// Shutdown answers the requests waiting for their turn, and new ones, with 503 and
// Retry-After at once; stops the HTTP server (if Serve runs), letting the running job finish
// until ctx ends; then cancels the jobs still running (they stop within a step), gives their
// handlers up to shutdownAnswerTime more to answer 503 before the connections close, and
// releases the cached conversation. The model stays open. A Server serves once: to
// serve again (the app's setting switched off and on), make a new one.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopDrain()
	s.httpMu.Lock()
	srv := s.http
	s.closed = true
	s.httpMu.Unlock()
	var err error
	if srv != nil {
		if err = srv.Shutdown(ctx); err != nil {
			// The grace is over. Cancel the jobs still running before their connections close,
			// so that a client still there is told why (503) instead of finding the connection
			// gone, and give their handlers a moment to say it.
			s.stopBase()
			answer, cancel := context.WithTimeout(context.Background(), shutdownAnswerTime)
			_ = srv.Shutdown(answer) // the handlers' answers are all that is waited for here
			cancel()
			srv.Close()
		}
	}
	s.stopBase()
	// The job holding the conversation, if any, ends within one step of stopBase.
	s.convMu.Lock()
	s.conv.release()
	s.convMu.Unlock()
	s.images.keep(nil)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return nil // requests were cut off, as asked
	}
	return err
}

// response records what was sent, so a panic after the headers does not send them twice,
// and lets writes extend the connection's write deadline.
type response struct {
	http.ResponseWriter
	writeTimeout time.Duration
	status       int
	streaming    bool
}

func (r *response) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *response) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *response) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// extendWrite gives the next write WriteTimeout from now: a client that stops reading is
// dropped after that long, while a job that thinks for minutes between writes is not.
func extendWrite(w http.ResponseWriter) {
	if r, ok := w.(*response); ok && r.writeTimeout > 0 {
		_ = http.NewResponseController(r.ResponseWriter).SetWriteDeadline(time.Now().Add(r.writeTimeout))
	}
}

// ServeHTTP routes a request. A panic anywhere below becomes a 500 (or an error event on a
// stream already started) and a log line with the stack; the client never sees the stack.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rw := &response{ResponseWriter: w, writeTimeout: s.lim.WriteTimeout}
	start := time.Now()
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("api: panic while serving", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			e := internalError("internal error while serving %s %s", r.Method, r.URL.Path)
			switch {
			case rw.status == 0:
				writeError(rw, e)
			case rw.streaming:
				writeEvent(rw, "error", e.body())
			}
		}
		s.log.Info("api", "method", r.Method, "path", r.URL.Path, "status", rw.status, "seconds", time.Since(start).Seconds())
	}()
	s.route(rw, r)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	path, ok := s.pass(w, r)
	if !ok {
		return
	}
	if path == "/health" {
		if allowMethod(w, r, http.MethodGet) {
			s.health(w)
		}
		return
	}
	switch {
	case path == "/v1/models":
		if allowMethod(w, r, http.MethodGet) {
			s.listModels(w)
		}
	case strings.HasPrefix(path, "/v1/models/"):
		if allowMethod(w, r, http.MethodGet) {
			s.getModel(w, strings.TrimPrefix(path, "/v1/models/"))
		}
	case path == "/v1/chat/completions":
		if allowMethod(w, r, http.MethodPost) {
			s.chatCompletions(w, r)
		}
	case path == "/v1/images/generations":
		if allowMethod(w, r, http.MethodPost) {
			s.imageGenerations(w, r)
		}
	default:
		writeError(w, notFound("unknown_url", "unknown request URL: %s %s (this server has GET /v1/models, POST /v1/chat/completions, POST /v1/images/generations, GET /health)",
			r.Method, path))
	}
}

// routePath is the route a request's path names: cleaned (a doubled or trailing slash
// dropped), and under /v1 when a client's base URL left that out.
func routePath(p string) string {
	p = path.Clean("/" + p)
	for _, root := range []string{"/models", "/chat", "/images"} {
		if p == root || strings.HasPrefix(p, root+"/") {
			return "/v1" + p
		}
	}
	return p
}

// MinBrowserKeyLength is the shortest API key with which browser pages (requests with an
// Origin) may call the server: any page the user opens can try keys and read 401 from 200,
// so a key a page may try must be too long to guess.
const MinBrowserKeyLength = 16

// corsMaxAge is how long a browser may cache a preflight's answer (Chrome caps it at 2 h).
const corsMaxAge = "7200"

// corsHeaders are the request headers a preflight allows when it names none (or names them
// in a form that is not a plain list of header names).
const corsHeaders = "Authorization, Content-Type"

// headerList reports whether s is a short, non-empty comma-separated list of header names.
func headerList(s string) bool {
	if strings.TrimSpace(s) == "" || len(s) > 2048 {
		return false
	}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			return false
		}
		for _, c := range name {
			if !(c == '-' || c == '_' || c == '.' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')) {
				return false
			}
		}
	}
	return true
}

// allowMethod answers 405 unless r uses method.
func allowMethod(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method || (method == http.MethodGet && r.Method == http.MethodHead) {
		return true
	}
	w.Header().Set("Allow", method)
	writeError(w, &apiError{status: http.StatusMethodNotAllowed, typ: "invalid_request_error", code: "method_not_allowed",
		message: fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, method)})
	return false
}

// jsonBody answers 415 unless r says its body is JSON, uncompressed. A web page can post a
// form or text/plain to any address without the browser asking first; application/json it
// cannot.
func jsonBody(w http.ResponseWriter, r *http.Request) bool {
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		writeError(w, &apiError{status: http.StatusUnsupportedMediaType, typ: "invalid_request_error", code: "unsupported_media_type",
			message: fmt.Sprintf("the request's Content-Encoding is %s: send the JSON body uncompressed", truncate(ce, 40))})
		return false
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == "application/json" {
		return true
	}
	if ct == "" {
		ct = "none"
	}
	writeError(w, &apiError{status: http.StatusUnsupportedMediaType, typ: "invalid_request_error", code: "unsupported_media_type",
		message: fmt.Sprintf("the request's Content-Type is %s: send the JSON body with Content-Type: application/json", truncate(ct, 80))})
	return false
}

// loaded reports whether a request's model names the loaded model: its name or an alias
// (any case), or "default".
func (s *Server) loaded(name string) bool {
	same := func(n string) bool { return strings.EqualFold(name, n) }
	return same(s.name) || same("default") || slices.ContainsFunc(s.aliases, same)
}

// checkModel accepts the loaded model's name or aliases (any case), "default" or nothing.
func (s *Server) checkModel(name string) *apiError {
	if name == "" || s.loaded(name) {
		return nil
	}
	for _, o := range s.others {
		if strings.EqualFold(name, o) {
			return notFound("model_not_found", "model %q is on this machine but not loaded: this server runs %q (%s)", name, s.name,
				s.hint("restart janus serve with --model "+o, "load "+o+" in Janus Desktop's Models"))
		}
	}
	return notFound("model_not_found", "the model %q does not exist: this server runs %q (or say \"default\")", name, s.name)
}

// modelObject is one entry of /v1/models.
type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	// Loaded is an extension: whether requests can use the model now.
	Loaded bool `json:"loaded"`
}

func (s *Server) models() []modelObject {
	list := []modelObject{{ID: s.name, Object: "model", Created: s.created.Unix(), OwnedBy: "janus-desktop", Loaded: true}}
	for _, o := range s.others {
		if !s.loaded(o) {
			list = append(list, modelObject{ID: o, Object: "model", OwnedBy: "janus-desktop"})
		}
	}
	return list
}

func (s *Server) listModels(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": s.models()})
}

func (s *Server) getModel(w http.ResponseWriter, id string) {
	if id != "" && s.loaded(id) {
		id = s.name
	}
	for _, m := range s.models() {
		if strings.EqualFold(m.ID, id) {
			writeJSON(w, http.StatusOK, m)
			return
		}
	}
	writeError(w, notFound("model_not_found", "the model %q does not exist", id))
}

// health reports that the server is up, its model and its queue.
func (s *Server) health(w http.ResponseWriter) {
	busy, waiting, _ := s.queue.state()
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "model": s.name, "busy": busy, "waiting": waiting})
}

// admit counts a request into the queue or answers 429 (503 once Shutdown has begun).
func (s *Server) admit(w http.ResponseWriter) *ticket {
	if s.draining.Err() != nil {
		writeError(w, shuttingDown("the server is shutting down"))
		return nil
	}
	t, retry, ok := s.queue.admit()
	if !ok {
		writeError(w, queueFull(s.queue.limit-1, retry))
		return nil
	}
	return t
}

// shuttingDown is the 503 of a request the server will not run because Shutdown has begun:
// the app replacing its model serves again in a few seconds, hence Retry-After.
func shuttingDown(message string) *apiError {
	return &apiError{status: http.StatusServiceUnavailable, typ: "server_error", code: "shutting_down", message: message, retryAfter: 5}
}

// queueFull is the 429 of a full queue: waiting requests wait behind the running one, and a
// place should free up in about retry seconds.
func queueFull(waiting, retry int) *apiError {
	queued := "1 request is"
	if waiting != 1 {
		queued = fmt.Sprintf("%d requests are", waiting)
	}
	secs := "1 second"
	if retry != 1 {
		secs = fmt.Sprintf("%d seconds", retry)
	}
	// "waiting", not "queued": a place is taken from the first byte of a request's body, so
	// some may still be sending theirs.
	return &apiError{status: http.StatusTooManyRequests, typ: "rate_limit_error", code: "queue_full", retryAfter: retry,
		message: fmt.Sprintf("the server is busy: %s waiting (or still being sent) behind the running one; retry in about %s", queued, secs)}
}

// readJSON reads the body (bounded) into v.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any) *apiError {
	if r.ContentLength > s.lim.BodyBytes {
		return tooLarge("", "the request body has %d bytes; the limit is %d", r.ContentLength, s.lim.BodyBytes)
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.lim.BodyBytes))
	if err != nil {
		if me := (*http.MaxBytesError)(nil); errors.As(err, &me) {
			return tooLarge("", "the request body is over the limit of %d bytes", me.Limit)
		}
		return badRequest("", "read the request body: %v", err)
	}
	// net/http clears the read deadline once the body is read and watches the connection,
	// cancelling the request's context when the client leaves: that is what stops a job
	// (TestLongJobOutlivesReadTimeout and TestCancelOnDisconnect check both).
	if len(bytes.TrimSpace(raw)) == 0 {
		return badRequest("", "the request body is empty: send a JSON object")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return badRequest("", "the body is not valid JSON (at byte %d): %v", se.Offset, err)
		case errors.As(err, &te):
			if te.Field == "" {
				return badRequest("", "the body must be a JSON object, not %s", te.Value)
			}
			want := jsonKind(te.Type.String())
			if strings.HasPrefix(te.Value, "number") && (want == "an integer" || want == "a number") {
				// A number it cannot hold: too large, or (for an integer) not written whole.
				return badRequest(te.Field, "field %s: %s is not %s this server can hold (out of range, or not whole)",
					te.Field, truncate(strings.TrimPrefix(te.Value, "number "), 40), want)
			}
			return badRequest(te.Field, "field %s: got a JSON %s, want %s", te.Field, te.Value, want)
		}
		return badRequest("", "the body is not a valid request: %v", err)
	}
	return checkFieldNames(raw, v)
}

// ignoredFields are OpenAI's request fields this server takes and does without: they change
// nothing a client can see from Janus (a user id, storage, metadata) or ask for what every
// answer here already is (one tool-less choice). Other unknown names are let through too,
// as local OpenAI-compatible servers do, unless they look like a misspelt field.
var ignoredFields = []string{
	"user", "store", "metadata", "service_tier", "parallel_tool_calls", "tools", "functions",
	"frequency_penalty", "presence_penalty", "prediction", "reasoning_effort", "web_search_options",
	"safety_identifier", "prompt_cache_key", "verbosity", "quality", "style", "moderation", "input_fidelity",
	// Other servers' sampling and routing fields, which clients set up for them send here.
	"top_a", "min_p", "typical_p", "min_tokens", "models", "route", "provider", "transforms",
	"repeat_penalty", "mirostat", "num_ctx", "num_predict", "keep_alive", "options",
}

// checkFieldNames refuses a body whose top-level field names are a field's in another case
// (encoding/json takes them, so "MAX_TOKENS" counted) or one or two letters from a field's
// ("max_token" was ignored, and the answer ran to the default length): a client's mistake
// silently changed what it got. v is the request struct raw was decoded into.
func checkFieldNames(raw []byte, v any) *apiError {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return nil // not an object: Unmarshal into v said so already
	}
	known := append(jsonFieldNames(reflect.TypeOf(v)), ignoredFields...)
	for name := range fields {
		if slices.Contains(known, name) {
			continue
		}
		for _, k := range known {
			if strings.EqualFold(name, k) {
				return badRequest(name, "unknown field %q: field names are lower case (%q)", truncate(name, 40), k)
			}
		}
		// One letter off a name of four or more, two off a long one: closer than the
		// names clients really send come to each other.
		most := 1
		if len(name) >= 8 {
			most = 2
		}
		for _, k := range known {
			if len(name) >= 4 && editDistance(name, k) <= most {
				return badRequest(name, "unknown field %q: did you mean %q?", truncate(name, 40), k)
			}
		}
	}
	return nil
}

// jsonFieldNames are the JSON names of the fields of the struct t points to.
func jsonFieldNames(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// editDistance is the Levenshtein distance of a and b (bytes; field names are ASCII).
func editDistance(a, b string) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// jsonKind names a Go type as JSON does.
func jsonKind(goType string) string {
	t := strings.TrimLeft(goType, "*")
	switch {
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	}
	return "an object"
}

// serveJob is the life of a request that runs on the model (kind "chat" or "image"): a JSON
// Content-Type (or 415), a place in the queue (or 429), the body read, checked and its images
// decoded by parse before it waits, then its turn on the model, then run. A client that leaves while queued gets
// nothing: there is nobody to answer.
func serveJob[Req, Job any](s *Server, w http.ResponseWriter, r *http.Request, kind string,
	parse func(context.Context, *Req) (Job, *apiError), run func(http.ResponseWriter, context.Context, Job)) {
	if !jsonBody(w, r) {
		return
	}
	t := s.admit(w)
	if t == nil {
		return
	}
	defer t.done()
	var req Req
	if e := s.readJSON(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	job, e := parse(r.Context(), &req)
	if err := r.Context().Err(); err != nil {
		s.jobDone(kind, 0, err) // the client left while its images were decoded
		return
	}
	if e != nil {
		writeError(w, e)
		return
	}
	release, err := s.waitTurn(r.Context(), t)
	if err != nil {
		if s.draining.Err() != nil && r.Context().Err() == nil {
			writeError(w, shuttingDown("the server is stopping (the model is being replaced or the server turned off) before this request's turn: retry in a moment"))
		}
		s.jobDone(kind, 0, err)
		return
	}
	defer release()
	run(w, r.Context(), job)
}

// waitTurn waits for t's place in the queue, then for the model (Options.Turn), and
// returns what ends the turn.
func (s *Server) waitTurn(reqCtx context.Context, t *ticket) (func(), error) {
	ctx, stop := s.jobContext(reqCtx)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer context.AfterFunc(s.draining, cancel)()
	defer cancel()
	if err := t.wait(ctx); err != nil {
		return nil, err
	}
	if s.turn == nil {
		return func() {}, nil
	}
	release, err := s.turn(ctx)
	if err != nil {
		return nil, err
	}
	return release, nil
}

// cancelled reports whether a failed job ended because its context did, answering for it:
// a client that left gets nothing (nobody is there), one still there while the server shuts
// down gets a 503, as an event when its stream st has started.
func (s *Server) cancelled(w http.ResponseWriter, reqCtx, ctx context.Context, st *stream) bool {
	if ctx.Err() == nil {
		return false
	}
	if s.base.Err() != nil && reqCtx.Err() == nil {
		sendError(w, st, "", shuttingDown("the server shut down during the request"))
	}
	return true
}

// sendError answers e: as the response, or as an event named event (the unnamed data event
// OpenAI's chat streams use, or "error") once the stream st has started.
func sendError(w http.ResponseWriter, st *stream, event string, e *apiError) {
	if st != nil {
		st.event(event, e.body())
		return
	}
	writeError(w, e)
}

// jobContext is the context of a job: it ends when the client leaves or the server shuts
// down.
func (s *Server) jobContext(reqCtx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(reqCtx)
	stop := context.AfterFunc(s.base, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// newID returns prefix followed by 24 random hex digits.
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
