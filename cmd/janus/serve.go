package main

// janus serve [--model NAME|DIR] [--addr 127.0.0.1:PORT] [--api-key KEY] [--max-queue N]
//             [--allow-images-from DIR] [--allow-host NAME,...] [--max-memory GB] [--threads N]
//             [--backend auto|cpu|metal]
//
// Serves the model over a local OpenAI-compatible HTTP API (package app/api): GET /v1/models,
// POST /v1/chat/completions, POST /v1/images/generations, GET /health. It listens on the
// loopback interface unless --addr names another; then it warns when no API key is set,
// since anyone who can reach the port can use the model. The key may also come from the
// JANUS_API_KEY environment variable, which keeps it out of the process list. Web pages the
// user's browser opens cannot use it (app/api's package doc): requests must name the server
// as localhost, a loopback address or the address they arrive on (other machine names only
// with --allow-host), must not come from a page (an Origin header) unless a key is set, and
// must post JSON as application/json. Without --model Janus-Pro-1B is served when it is
// complete, else the first complete model `janus models` lists. The port is opened before the model loads, so a busy port is told
// at once. Ctrl-C stops the server, giving requests in flight a few seconds.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/api"
	"github.com/janus-desktop/janus/model"
)

// DefaultServeAddr is where janus serve listens without --addr.
const DefaultServeAddr = "127.0.0.1:8765"

// runServe implements the serve subcommand (its log goes to stderr; stdin is unused, stdout
// takes -h only).
func runServe(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	return serve(ctx, args, stdout, stderr, app.DefaultRoots(app.EnvFromOS()), nil)
}

// serve is runServe with the model search roots given and ready, when not nil, called with
// the address the server listens on (tests use port 0).
func serve(ctx context.Context, args []string, stdout, stderr io.Writer, roots []string, ready func(addr string)) error {
	fs := newFlagSet("serve", stdout, stderr, "janus serve [--model NAME|DIR] [--addr 127.0.0.1:PORT] [--api-key KEY] [flags]",
		"Serve the model over a local OpenAI-compatible API (chat about images, image generation).")
	var mf modelFlags
	mf.register(fs)
	addr := fs.String("addr", DefaultServeAddr, "address to listen on; anything but loopback lets other machines in")
	apiKey := fs.String("api-key", "", "require this key (Authorization: Bearer KEY); default $JANUS_API_KEY, else none")
	maxQueue := fs.Int("max-queue", api.DefaultMaxQueue, "requests that may wait behind the running one; more get 429")
	imageDir := fs.String("allow-images-from", "", "let chat requests name image files in this folder (otherwise only data: URLs)")
	allowHosts := fs.String("allow-host", "", "comma-separated host names clients may use besides localhost and the listening address (mybox.local); others get 421")
	maxMemory := fs.Float64("max-memory", 0, "GB an image generation may allocate besides the weights (0: 80% of memory less the model; negative: no check)")
	if err := parseArgs(fs, args, ""); err != nil {
		return err
	}
	if err := mf.checkOptions(); err != nil {
		return err
	}
	if *maxQueue < 1 {
		return fmt.Errorf("--max-queue %d must be at least 1", *maxQueue)
	}
	if math.IsNaN(*maxMemory) || math.IsInf(*maxMemory, 0) {
		return fmt.Errorf("--max-memory %v is not a number of GB", *maxMemory)
	}
	loopback, err := isLoopback(*addr)
	if err != nil {
		return err
	}
	keyFrom := "--api-key"
	if *apiKey == "" {
		*apiKey, keyFrom = os.Getenv("JANUS_API_KEY"), "JANUS_API_KEY"
	}
	if *apiKey != "" && strings.TrimSpace(*apiKey) == "" {
		// Trimmed to nothing it would serve without a key, which the user did not ask for.
		return fmt.Errorf("%s is only whitespace: give a key, or leave it unset to serve without one", keyFrom)
	}
	if *imageDir != "" {
		if st, err := os.Stat(*imageDir); err != nil || !st.IsDir() {
			return fmt.Errorf("--allow-images-from %s is not a folder", *imageDir)
		}
	}
	entries, _ := app.Discover(roots) // for --model NAME and the list of other models; unreadable folders are skipped
	if mf.dir == "" {
		e, ok := app.Preferred(entries)
		if !ok {
			return fmt.Errorf("no model found: %s, or give --model DIR ('janus models' lists where it looked)", pullHint())
		}
		mf.dir, mf.name = e.Path, e.Name
	}
	if mf.name == "" {
		// Named as `janus generate` names it in its PNGs: what --model said.
		arg := mf.dir
		if mf.dir, err = resolveModelIn(arg, roots); err != nil {
			return err
		}
		mf.name = modelName(arg)
	}
	aliases, others := modelNames(entries, mf.dir, mf.name)

	// The port is opened before the model loads (which may take a minute): a busy port is
	// told at once.
	ln, err := api.Listen(*addr)
	if err != nil {
		return listenProblem(err)
	}
	defer ln.Close() // RunListener closes it too; this covers the failures before it

	fmt.Fprintf(stderr, "loading %s from %s\n", mf.name, mf.dir)
	p := newLoadProgress(stderr, mf.name)
	mem := int64(*maxMemory * 1e9)
	if *maxMemory < 0 {
		mem = -1
	}
	opts := api.Options{
		ModelName: mf.name, ModelAliases: aliases, OtherModels: others, APIKey: *apiKey, MaxQueue: *maxQueue, ImageFolder: *imageDir, AllowedHosts: hostList(*allowHosts),
		Software: app.Software(version), MaxMemoryBytes: mem, Logger: slog.New(slog.NewTextHandler(stderr, nil)),
	}
	loading := api.ServeLoading(ln, mf.name, opts) // meanwhile clients are told to retry
	m, err := mf.loadModel(model.Options{Progress: p.update, Context: ctx})
	p.end()
	err = withLoadHint(err, mf.name)
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	ln2, herr := loading.Handover(hctx)
	cancel()
	if err != nil {
		return err
	}
	defer m.Close()
	if herr != nil {
		return fmt.Errorf("serve: %w", herr)
	}
	ln = ln2
	s, err := api.NewServer(m, opts)
	if err != nil {
		return err
	}
	if !loopback && *apiKey == "" {
		fmt.Fprintf(stderr, "warning: %s is reachable from other machines and no --api-key is set: anyone who can reach it can use the model\n", *addr)
	}
	url, all := api.BaseURL(ln.Addr().String())
	fmt.Fprintf(stderr, "serving %s on %s (OpenAI-compatible; Ctrl-C stops)\n", mf.name, url)
	if all {
		fmt.Fprintf(stderr, "it listens on all interfaces: other machines use this machine's address with port %d (a host name needs --allow-host)\n",
			ln.Addr().(*net.TCPAddr).Port)
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	err = s.RunListener(ctx, ln)
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "stopped")
	}
	return err
}

// modelNames sorts the models found (entries) for the server of the model in dir, served as
// name (what --model said, as `janus generate` names it in its PNGs): aliases are the other
// names of that model (the name `janus models` lists, its Hugging Face repository id), which
// requests may use too, and others the complete models not loaded.
func modelNames(entries []app.ModelEntry, dir, name string) (aliases, others []string) {
	known := func(n string) bool {
		same := func(a string) bool { return strings.EqualFold(a, n) }
		return same(name) || slices.ContainsFunc(aliases, same) || slices.ContainsFunc(others, same)
	}
	for _, e := range entries {
		if sameDir(e.Path, dir) {
			for _, n := range []string{e.Name, e.Repo} {
				if n != "" && !known(n) {
					aliases = append(aliases, n)
				}
			}
		}
	}
	for _, e := range entries {
		if e.Complete && !sameDir(e.Path, dir) && !known(e.Name) { // a second copy is listed once
			others = append(others, e.Name)
		}
	}
	return aliases, others
}

// hostList splits --allow-host's comma-separated names.
func hostList(s string) []string {
	var hosts []string
	for _, h := range strings.Split(s, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// listenProblem is api.Listen's err as janus serve tells it: what may hold a busy port, and
// the flag that picks another.
func listenProblem(err error) error {
	if api.AddressInUse(err) {
		return fmt.Errorf("%w (another `janus serve`, or the desktop app's API switch, which also defaults to %d?): choose another with --addr",
			err, app.DefaultServePort)
	}
	return fmt.Errorf("--addr: %w", err)
}

// isLoopback reports whether addr (host:port) listens on the loopback interface only, or
// says what is wrong with it.
func isLoopback(addr string) (bool, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("--addr %s: want HOST:PORT, e.g. %s", addr, DefaultServeAddr)
	}
	if port == "" {
		return false, fmt.Errorf("--addr %s: no port", addr)
	}
	if err := api.CheckPort(port); err != nil {
		return false, fmt.Errorf("--addr %s: %w", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback(), nil
}

// sameDir reports whether a and b name the same folder.
func sameDir(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}
