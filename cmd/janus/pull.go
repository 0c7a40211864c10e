package main

// janus pull [--revision R] [--json] [REPO]
//
// Downloads a model repository from the Hugging Face hub into the Hugging Face cache (as
// app/hub does for the app), resuming what an earlier pull left, then prints the --model
// name to use. REPO is a hub id (deepseek-ai/Janus-Pro-7B) or the name of a known model
// (janus-pro-7b); without it, deepseek-ai/Janus-Pro-1B. Progress goes to stderr; Ctrl-C
// stops the download, and the same command continues it.
//
// The --json output is one object: repo, revision, commit, path (the snapshot folder),
// files, bytes, downloaded (bytes fetched by this run), from_cache, and model (what to give
// --model). Progress and errors stay text on stderr, as with every command's --json: a
// failure is the exit status and its one line.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/hub"
	"github.com/janus-desktop/janus/model"
)

// hubCacheOrder is where the hub cache is, in the order app.Env.HFHubCache looks, for -h.
func hubCacheOrder() []string {
	return []string{"$HF_HUB_CACHE", "$HUGGINGFACE_HUB_CACHE", "$HF_HOME/hub", "$XDG_CACHE_HOME/huggingface/hub", "~/.cache/huggingface/hub"}
}

// pullResult is the --json output of pull.
type pullResult struct {
	Repo       string `json:"repo"`
	Revision   string `json:"revision"`
	Commit     string `json:"commit"`
	Path       string `json:"path"`
	Files      int    `json:"files"`
	Bytes      int64  `json:"bytes"`
	Downloaded int64  `json:"downloaded"`
	FromCache  bool   `json:"from_cache"`
	Model      string `json:"model"`
}

// pullCommand is the pull entry of the command table.
func pullCommand(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	return pullWith(ctx, args, app.EnvFromOS(), stdout, stderr)
}

// pullWith is pullCommand in the environment env describes.
func pullWith(ctx context.Context, args []string, env app.Env, stdout, stderr io.Writer) error {
	var known []string
	for _, m := range app.KnownModels() {
		known = append(known, fmt.Sprintf("  %-26s %9s download, about %s of memory (estimates)", m.Repo, app.PreciseBytes(m.DownloadBytes), app.PreciseBytes(m.Footprint.Need(model.WeightsStored))))
	}
	fs := newFlagSet("pull", stdout, stderr, "janus pull [--revision R] [--json] [REPO]",
		append([]string{
			"Download a model from Hugging Face into the Hugging Face cache, continuing an interrupted download.",
			"The cache is " + strings.Join(hubCacheOrder(), ", else ") + ".",
			"REPO defaults to " + app.DefaultRepo + "; HF_TOKEN, HF_ENDPOINT and HF_HUB_OFFLINE are honoured. Known models:",
		}, known...)...)
	rev := fs.String("revision", "main", "branch, tag or commit to download")
	asJSON := fs.Bool("json", false, "print the result as one JSON object on stdout (progress and errors still go to stderr as text)")
	// The repository may come before or after the flags.
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	repo := app.DefaultRepo
	if fs.NArg() > 0 {
		repo = fs.Arg(0)
		if err := parseArgs(fs, fs.Args()[1:], "give one repository"); err != nil {
			return err
		}
	}
	repo = knownRepo(repo)
	if strings.TrimSpace(*rev) == "" {
		return errors.New("--revision is empty: give a branch, tag or commit (main unless given)")
	}

	c := hub.FromEnv(env)
	bar := newPullBar(stderr)
	snap, err := c.Pull(ctx, repo, hub.PullOptions{Revision: *rev, Progress: bar.update})
	bar.done()
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "janus pull: stopped; run the same command to continue the download\n")
		return stopSaid{err}
	}
	if err != nil {
		return err
	}
	if snap.FromCache {
		// Without the hub, only the files tell whether the copy is whole.
		if e, err := app.Inspect(snap.Path); err == nil && !e.Complete {
			return fmt.Errorf("the cached copy of %s at %s (%s) is incomplete and the hub cannot be asked (offline or unreachable): %s", snap.Repo, snap.Revision, snap.Path, e.Problem)
		}
	}
	// The repository id finds the model when discovery resolves it to this snapshot (the
	// revision refs/main names, in a cache discovery searches); otherwise the folder does.
	use := snap.Path
	if dir, err := resolveModelIn(snap.Repo, app.DefaultRoots(env)); err == nil && dir == snap.Path {
		use = snap.Repo
	}
	if *asJSON {
		return writeJSON(stdout, pullResult{snap.Repo, snap.Revision, snap.Commit, snap.Path, snap.Files,
			snap.Bytes, snap.Downloaded, snap.FromCache, use}, false)
	}
	return printPulled(stdout, snap, use)
}

// printPulled says on w what the pull of snap did, and how to use it (--model use).
func printPulled(w io.Writer, snap *hub.Snapshot, use string) error {
	ew := &errWriter{w: w}
	switch {
	case snap.Unreachable != nil:
		ew.printf("%s at %s (commit %s) is in the cache; the hub could not be reached, so it is used as it is: %s\n", snap.Repo, snap.Revision, snap.Commit, snap.Path)
	case snap.FromCache:
		ew.printf("%s at %s (commit %s) is in the cache (the hub was not asked): %s\n", snap.Repo, snap.Revision, snap.Commit, snap.Path)
	case snap.Downloaded == 0:
		ew.printf("%s at %s (commit %s) was already downloaded: %s\n", snap.Repo, snap.Revision, snap.Commit, snap.Path)
	default:
		ew.printf("downloaded %s of %s at %s (commit %s, %d files, %s): %s\n", app.PreciseBytes(snap.Downloaded),
			snap.Repo, snap.Revision, snap.Commit, snap.Files, app.PreciseBytes(snap.Bytes), snap.Path)
	}
	ew.printf("use it with --model %s, e.g.: janus understand --model %s --image photo.jpg --prompt \"What is in the picture?\"\n", quoteArg(use), quoteArg(use))
	return ew.err
}

// knownRepo turns the short name of a known model ("janus-pro-7b") into its hub id.
func knownRepo(name string) string {
	if m, ok := app.FindKnown(name); ok {
		return m.Repo
	}
	return name
}

// quoteArg quotes a path for a shell when it needs it.
func quoteArg(s string) string {
	if strings.ContainsAny(s, " \t'\"$`\\!*?&;|<>()[]{}#~") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}

// pullBar draws download progress on stderr: in place on a terminal, a line every 10%
// otherwise (logs and pipes).
type pullBar struct {
	w        io.Writer
	terminal bool
	lastTick int64
	drawn    bool
	status   string
}

func newPullBar(w io.Writer) *pullBar {
	return &pullBar{w: w, terminal: isTerminal(w), lastTick: -1}
}

func (b *pullBar) update(p hub.Progress) {
	if p.Status != b.status {
		b.status = p.Status
		if p.Status != "" {
			b.clear()
			fmt.Fprintln(b.w, "pull: "+p.Status)
		}
	}
	if p.Bytes == 0 {
		return
	}
	stats := fmt.Sprintf("%s / %s  %d/%d files", app.PreciseBytes(p.BytesDone), app.PreciseBytes(p.Bytes), p.FilesDone, p.Files)
	if p.Rate > 0 && !p.Done {
		stats += fmt.Sprintf("  %s/s", app.PreciseBytes(int64(p.Rate)))
		if p.Remaining >= 0 {
			stats += "  " + formatDuration(p.Remaining) + " left"
		}
	}
	if b.terminal {
		const width = 30
		fill := int(p.BytesDone * width / p.Bytes)
		fmt.Fprintf(b.w, "\r[%s%s] %s\033[K", strings.Repeat("#", fill), strings.Repeat("-", width-fill), stats)
		b.drawn = true
		return
	}
	if tick := p.BytesDone * 10 / p.Bytes; tick != b.lastTick {
		b.lastTick = tick
		fmt.Fprintf(b.w, "pull %s: %3d%%  %s\n", p.Repo, p.BytesDone*100/p.Bytes, stats)
	}
}

func (b *pullBar) clear() {
	if b.terminal && b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
		b.drawn = false
	}
}

func (b *pullBar) done() {
	if b.terminal && b.drawn {
		fmt.Fprintln(b.w)
	}
}
