package main

// janus models [--json] [--dir DIR ...]
//
// Lists the Janus models on this machine: the app's models folder and the Hugging Face hub
// cache (or JANUS_MODELS, or the --dir folders), as app.Discover finds them, broken
// downloads included with what is wrong. It reads only config files, tokenizers and
// checkpoint headers.
//
// The --json output is one object (stable; new fields may be added):
//
//	roots   array   the folders searched, in order of preference
//	models  array   one object per model folder found:
//	  name          string  the name --model accepts ("Janus-Pro-1B")
//	  repo          string  the Hugging Face repository of a hub cache entry (absent otherwise)
//	  path          string  the model folder
//	  family        string  "Janus", "Janus-Pro" or "unknown" (no tokenizer)
//	  params        int     elements of every tensor in the checkpoint (0 if unreadable)
//	  weight_bytes  int     size of the weight files present
//	  complete      bool    config, weights and tokenizer present and consistent
//	  problem       string  what is wrong when not complete (absent otherwise)

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/janus-desktop/janus/app"
)

// modelsDirs collects repeated --dir flags.
type modelsDirs []string

func (d *modelsDirs) String() string { return strings.Join(*d, ", ") }

func (d *modelsDirs) Set(v string) error {
	if v == "" {
		return errors.New("empty folder")
	}
	*d = append(*d, v)
	return nil
}

// runModels implements the models subcommand. ctx is unused: discovery reads headers only
// and finishes in well under a second per model.
func runModels(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("models", stdout, stderr, "janus models [--json] [--dir DIR ...]",
		"List the Janus models found in the app's models folder and the Hugging Face cache",
		"(JANUS_MODELS, a list of folders separated like PATH, replaces both). A name shown",
		"here can be given to --model instead of a folder.")
	var dirs modelsDirs
	fs.Var(&dirs, "dir", "search this folder instead of the default ones (repeatable)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := parseArgs(fs, args, "folders go after --dir"); err != nil {
		return err
	}
	roots := []string(dirs)
	for _, d := range roots {
		st, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("--dir: %w", err)
		}
		if !st.IsDir() {
			return fmt.Errorf("--dir %s is a file, not a folder", d)
		}
	}
	if len(roots) == 0 {
		roots = app.DefaultRoots(app.EnvFromOS())
	}
	entries, err := app.Discover(roots)
	if err != nil {
		// Models of the readable folders are still worth listing.
		fmt.Fprintf(stderr, "janus models: warning: %v\n", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if entries == nil {
			entries = []app.ModelEntry{}
		}
		return enc.Encode(struct {
			Roots  []string         `json:"roots"`
			Models []app.ModelEntry `json:"models"`
		}{append([]string{}, roots...), entries})
	}
	return writeModelsText(stdout, roots, entries)
}

// writeModelsText prints the table, then what is wrong with each model that is not ok (a
// problem can be long, so it gets a line of its own instead of a column).
func writeModelsText(w io.Writer, roots []string, entries []app.ModelEntry) error {
	ew := &errWriter{w: w}
	if len(entries) == 0 {
		ew.println("no Janus models found; searched:")
		for _, r := range roots {
			note := ""
			if _, err := os.Stat(r); err != nil {
				note = "  (does not exist)"
			}
			ew.printf("  %s%s\n", r, note)
		}
		ew.println(pullHint())
		return ew.err
	}
	var t table
	t.right = []bool{false, false, true, true, false, false}
	t.add("name", "family", "params", "size", "status", "path")
	for _, e := range entries {
		t.add(e.Name, e.Family, modelsParamCount(e.Params), app.PreciseBytes(e.WeightBytes), e.Status(), e.Path)
	}
	t.write(ew, "")
	first := true
	for _, e := range entries {
		if e.Complete {
			continue
		}
		if first {
			ew.println()
			first = false
		}
		ew.printf("%s (%s): %s\n", e.Name, e.Path, e.Problem)
	}
	return ew.err
}

// modelsParamCount writes a parameter count as model cards do ("2.09B", "4.9M").
func modelsParamCount(n int64) string {
	f := float64(n)
	switch {
	case n == 0:
		return "-"
	case n < 1000:
		return fmt.Sprintf("%d", n)
	case f < 1e6:
		return fmt.Sprintf("%.1fK", f/1e3)
	case f < 1e9:
		return fmt.Sprintf("%.1fM", f/1e6)
	}
	return fmt.Sprintf("%.2fB", f/1e9)
}

// resolveModel turns a --model argument into a model folder, for the commands that load a
// model. An existing folder is returned as given (even one Discover would not list: the
// loader then says what is wrong with it). Anything else is taken as a model name, matched
// ignoring case against the names (or hub repositories, "deepseek-ai/Janus-Pro-1B") of the
// models app.Discover finds in app.DefaultRoots: JANUS_MODELS, else the app's models folder
// and the Hugging Face cache. So `--model janus-pro-1b` works for a model downloaded with
// huggingface-cli. An absolute path or one starting with "." is returned as given, existing or
// not. A name matching only incomplete downloads, or nothing, is an error that
// says what is wrong or lists the names known.
func resolveModel(arg string) (string, error) {
	return resolveModelIn(arg, app.DefaultRoots(app.EnvFromOS()))
}

// resolveModelIn is resolveModel searching roots.
func resolveModelIn(arg string, roots []string) (string, error) {
	if arg == "" {
		return "", errors.New("missing model folder or name")
	}
	st, statErr := os.Stat(arg)
	if statErr == nil {
		if !st.IsDir() {
			return "", fmt.Errorf("model %s is a file; give the folder that holds config.json and the weights, or a model name", arg)
		}
		return arg, nil
	}
	if filepath.IsAbs(arg) || strings.HasPrefix(arg, ".") {
		// Clearly a path, not a name.
		if errors.Is(statErr, os.ErrNotExist) {
			return "", fmt.Errorf("model folder %s does not exist", arg)
		}
		return "", fmt.Errorf("model folder: %w", statErr)
	}
	entries, discoverErr := app.Discover(roots)
	e, err := app.Find(entries, arg)
	if err == nil {
		return e.Path, nil
	}
	if !errors.Is(err, app.ErrNoModel) {
		if e.Repo != "" {
			// A download the hub cache holds part of: pull finishes it.
			return "", fmt.Errorf("%w (`janus pull %s` continues the download)", err, quoteArg(e.Repo))
		}
		return "", err
	}
	also := ""
	if discoverErr != nil {
		also = fmt.Sprintf(" (%v)", discoverErr)
	}
	if k, ok := app.FindKnown(arg); ok {
		return "", &notDownloadedError{name: arg, model: k, searched: roots, also: also}
	}
	if len(roots) == 0 {
		return "", fmt.Errorf("%q is not a folder, and %w: no model folders to search (set JANUS_MODELS)%s", arg, app.ErrNoModel, also)
	}
	return "", fmt.Errorf("%q is not a folder, and %w; searched %s%s", arg, err, strings.Join(roots, ", "), also)
}

// notDownloadedError is resolveModel's error for the name of a released model (app.KnownModels)
// that is not on this machine: the user most likely has not run `janus pull` yet, so it says
// that command. It is app.ErrNoModel for errors.Is.
type notDownloadedError struct {
	name     string
	model    app.KnownModel
	searched []string
	also     string
}

func (e *notDownloadedError) Error() string {
	where := "no model folders to search"
	if len(e.searched) > 0 {
		where = "searched " + strings.Join(e.searched, ", ")
	}
	return fmt.Sprintf("%s is not downloaded yet: download it with `janus pull %s` (about %s; %s)%s",
		e.name, quoteArg(e.name), app.PreciseBytes(e.model.DownloadBytes), where, e.also)
}

func (e *notDownloadedError) Unwrap() error { return app.ErrNoModel }

// pullHint says how to download a released model: the default by name, the others beside it.
func pullHint() string {
	var names []string
	for _, k := range app.KnownModels() {
		names = append(names, strings.ToLower(path.Base(k.Repo)))
	}
	return fmt.Sprintf("download one with 'janus pull %s' (or %s)", names[0], strings.Join(names[1:], ", "))
}
