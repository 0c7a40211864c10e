package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/hub"
	"github.com/janus-desktop/janus/app/hub/hubtest"
)

const pullRepo = "deepseek-ai/Janus-Pro-1B"

// pullEnv points the process environment at an empty home, a hub cache in it and the
// test hub s, as a new user's machine would be; it returns the cache folder.
func pullEnv(t *testing.T, s *hubtest.Server) string {
	home := t.TempDir()
	cache := filepath.Join(home, "hf", "hub")
	for k, v := range map[string]string{
		"HOME": home, "XDG_DATA_HOME": filepath.Join(home, "data"), "XDG_CACHE_HOME": filepath.Join(home, "cache"),
		"HF_HUB_CACHE": cache, "HF_HOME": filepath.Join(home, "hf"), "HF_ENDPOINT": s.URL,
		"JANUS_MODELS": "", "HF_TOKEN": "", "HUGGING_FACE_HUB_TOKEN": "", "HF_HUB_OFFLINE": "", "HF_TOKEN_PATH": "",
	} {
		t.Setenv(k, v)
	}
	return cache
}

// understandGolden answers the tiny-a golden question with --model model and checks the
// reference's greedy answer. It goes through run, whose signature every command shares.
func understandGolden(t *testing.T, model string) {
	t.Helper()
	args, g := tinyAArgs(t)
	args[1] = model
	var out, errOut bytes.Buffer
	if code := run(context.Background(), append([]string{"understand"}, args...), nil, &out, &errOut); code != 0 {
		t.Fatalf("understand --model %s: exit %d (stderr %q)", model, code, errOut.String())
	}
	if got, want := out.String(), g.Understanding.GreedyText+"\n"; got != want {
		t.Errorf("understand --model %s answered %q, want %q", model, got, want)
	}
}

// TestPullThenUnderstand: `janus pull` fetches a model from the hub, prints the name to
// use, and that name loads the model, which answers as the reference does.
func TestPullThenUnderstand(t *testing.T) {
	s := hubtest.New(t)
	commit := s.AddTinyA(t, pullRepo)
	cache := pullEnv(t, s)

	var out, errOut bytes.Buffer
	if err := pullCommand(context.Background(), []string{pullRepo}, nil, &out, &errOut); err != nil {
		t.Fatalf("pull: %v\n%s", err, errOut.String())
	}
	snap := filepath.Join(cache, hub.RepoFolder(pullRepo), "snapshots", commit)
	if !strings.Contains(out.String(), "downloaded 9.82 MB of "+pullRepo+" at main (commit "+commit+", 8 files, 9.82 MB): "+snap) ||
		!strings.Contains(out.String(), "use it with --model "+pullRepo+",") {
		t.Errorf("pull printed %q, want the download and the --model name", out.String())
	}
	if !strings.Contains(errOut.String(), "pull "+pullRepo+": 100%  9.82 MB / 9.82 MB  8/8 files") {
		t.Errorf("progress %q, want a line at 100%%", errOut.String())
	}
	understandGolden(t, pullRepo)
	understandGolden(t, "janus-pro-1b") // the name `janus models` shows works too

	// Again, by short name, with JSON: nothing to download.
	out.Reset()
	if err := pullCommand(context.Background(), []string{"janus-pro-1b", "--json"}, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var res pullResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, out.String())
	}
	if res.Repo != pullRepo || res.Commit != commit || res.Path != snap || res.Downloaded != 0 || res.Model != pullRepo || res.Files != 8 {
		t.Errorf("--json %+v", res)
	}

	// Offline, the cached copy is used without asking the hub.
	t.Setenv("HF_HUB_OFFLINE", "1")
	before := len(s.Requests())
	out.Reset()
	if err := pullCommand(context.Background(), []string{pullRepo}, nil, &out, &errOut); err != nil || !strings.Contains(out.String(), "the hub was not asked") {
		t.Errorf("offline pull: %v, %q", err, out.String())
	}
	if len(s.Requests()) != before {
		t.Errorf("offline pull asked the hub")
	}
}

// A cached copy used because the hub could not be reached is not said to be one the hub
// was not asked about (hub's tests check that Pull tells the two apart).
func TestPrintPulledUnreachable(t *testing.T) {
	var out bytes.Buffer
	snap := &hub.Snapshot{Repo: pullRepo, Revision: "main", Commit: "abc", Path: "/c/snap", FromCache: true, Unreachable: errors.New("connection refused")}
	if err := printPulled(&out, snap, pullRepo); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "the hub could not be reached, so it is used as it is: /c/snap") || strings.Contains(s, "not asked") {
		t.Errorf("printed %q", s)
	}
}

// TestPullOtherRevision: a revision other than the one refs/main names is found by its
// folder, so pull prints that.
func TestPullOtherRevision(t *testing.T) {
	s := hubtest.New(t)
	commit := s.AddTinyA(t, pullRepo)
	cache := pullEnv(t, s)
	// An older copy of the model that refs/main names.
	old := filepath.Join(cache, hub.RepoFolder(pullRepo))
	if err := os.MkdirAll(filepath.Join(old, "snapshots", strings.Repeat("a", 40)), 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(old, "refs"), 0o755)
	os.WriteFile(filepath.Join(old, "refs", "main"), []byte(strings.Repeat("a", 40)), 0o644)
	var out, errOut bytes.Buffer
	if err := pullCommand(context.Background(), []string{"--revision", commit, "--json", pullRepo}, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var res pullResult
	json.Unmarshal(out.Bytes(), &res)
	if res.Model != res.Path || res.Commit != commit {
		t.Errorf("--json %+v, want the snapshot folder as the model name", res)
	}
}

// TestPullHelp: -h lists the cache folders in the order the code tries them, and says that
// --json leaves errors as text on stderr.
func TestPullHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := pullWith(context.Background(), []string{"-h"}, app.Env{}, &out, &errOut); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("pull -h: %v", err)
	}
	help := strings.Join(strings.Fields(out.String()), " ")
	order := hubCacheOrder()
	for _, want := range []string{strings.Join(order, ", else "), "errors still go to stderr as text"} {
		if !strings.Contains(help, want) {
			t.Errorf("pull -h does not say %q:\n%s", want, out.String())
		}
	}
	// Each place is the one used when it and every later one are set.
	for i, place := range order {
		vars := map[string]string{}
		home := ""
		expand := func(p string) string {
			if rest, ok := strings.CutPrefix(p, "~"); ok {
				home = "/home/u"
				return home + rest
			}
			name, rest, _ := strings.Cut(strings.TrimPrefix(p, "$"), "/")
			vars[name] = "/v/" + name
			return filepath.Join(vars[name], rest)
		}
		want := expand(place)
		for _, later := range order[i+1:] {
			expand(later)
		}
		env := app.Env{GOOS: "linux", Home: home, Getenv: func(k string) string { return vars[k] }}
		if got := env.HFHubCache(); got != want {
			t.Errorf("with %v and home %q the cache is %s; -h says %s", vars, home, got, want)
		}
	}
}

func TestPullCommandErrors(t *testing.T) {
	s := hubtest.New(t)
	s.AddTinyA(t, pullRepo)
	pullEnv(t, s)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown repo", []string{"deepseek-ai/Janus-Pro-3B"}, nil, "repository deepseek-ai/Janus-Pro-3B not found"},
		{"two repos", []string{pullRepo, "x/y"}, nil, "give one repository"},
		{"bad id", []string{"nothing"}, nil, "want ORG/NAME"},
		{"offline", []string{pullRepo}, map[string]string{"HF_HUB_OFFLINE": "1"}, "offline and not in the cache"},
		{"bad flag", []string{"--rev", "x"}, nil, "flag provided but not defined"},
		{"empty revision", []string{"--revision", " ", pullRepo}, nil, "--revision is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var out, errOut bytes.Buffer
			err := pullCommand(context.Background(), tt.args, nil, &out, &errOut)
			if err == nil || !strings.Contains(err.Error()+errOut.String(), tt.want) {
				t.Errorf("error %v (stderr %q), want %q", err, errOut.String(), tt.want)
			}
		})
	}
}

// TestPullInterrupted: Ctrl-C (a cancelled context) stops the download and says how to
// continue; the next pull continues it.
func TestPullInterrupted(t *testing.T) {
	s := hubtest.New(t)
	commit := s.AddTinyA(t, pullRepo)
	pullEnv(t, s)
	stalled := make(chan struct{})
	s.SetFault("model.safetensors", &hubtest.Fault{StallAfter: 2_000_000, Stalled: stalled})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-stalled; cancel() }()
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"pull", pullRepo}, nil, &out, &errOut)
	if code != 130 || !strings.Contains(errOut.String(), "run the same command to continue") || strings.Contains(errOut.String(), "cancelled") {
		t.Fatalf("exit code %d, stderr %q: want 130 and one line saying how to continue", code, errOut.String())
	}
	// Offline, the unfinished copy is not passed off as a model.
	t.Setenv("HF_HUB_OFFLINE", "1")
	err := pullCommand(context.Background(), []string{pullRepo, "--revision", commit}, nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "holds an unfinished download of it: unset it to continue") {
		t.Errorf("offline pull of the unfinished commit: %v", err)
	}
	t.Setenv("HF_HUB_OFFLINE", "")
	out.Reset()
	if err := pullCommand(context.Background(), []string{pullRepo, "--json"}, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var res pullResult
	json.Unmarshal(out.Bytes(), &res)
	if res.Downloaded >= res.Bytes || res.Downloaded == 0 {
		t.Errorf("second pull downloaded %d of %d bytes, want only what the first left", res.Downloaded, res.Bytes)
	}
}

// cacheTree lists a repository's cache folder: every path, with the target of symlinks.
func cacheTree(t *testing.T, dir string) []string {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Type()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			rel += " -> " + target
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// hfjsScript drives @huggingface/hub: "scan CACHE" prints scanCacheDir's result, "download
// HUB REPO CACHE" runs snapshotDownload; the last line of output is the JSON answer.
const hfjsScript = `
import { scanCacheDir, snapshotDownload } from "@huggingface/hub";
const [mode, ...a] = process.argv.slice(2);
if (mode === "scan") {
  const info = await scanCacheDir(a[0]);
  console.log("\n" + JSON.stringify({
    warnings: info.warnings.map(String),
    repos: info.repos.map(r => ({ id: r.id, filesCount: r.filesCount, size: r.size,
      revisions: r.revisions.map(v => ({ commitOid: v.commitOid, refs: v.refs, path: v.path,
        files: v.files.map(f => ({ path: f.path, blob: f.blob.path, size: f.blob.size })) })) })) }));
} else {
  const path = await snapshotDownload({ repo: a[1], hubUrl: a[0], cacheDir: a[2] });
  console.log("\n" + JSON.stringify({ path }));
}
`

// TestHubJSInterop checks that our cache and the one the hub's JavaScript client
// (@huggingface/hub, installed with npm into a temporary folder) writes are one: its
// scanCacheDir reads what `janus pull` wrote, and a model its snapshotDownload fetched
// from the test hub is found by `janus models` and answers through --model ORG/NAME.
func TestHubJSInterop(t *testing.T) {
	// CI sets JANUS_REQUIRE_HFJS_TEST, so there the test fails rather than skips.
	skip := t.Skipf
	if os.Getenv("JANUS_REQUIRE_HFJS_TEST") != "" {
		skip = t.Fatalf
	}
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if errNode != nil || errNpm != nil {
		skip("node and npm are needed to check the cache against @huggingface/hub (.ci/run installs them)")
	}
	s := hubtest.New(t)
	commit := s.AddTinyA(t, pullRepo)
	files := hubtest.TinyAFiles(t)
	cache := pullEnv(t, s)

	js := t.TempDir()
	install := exec.Command(npm, "install", "--no-audit", "--no-fund", "--no-save", "--prefix", js, "@huggingface/hub@2")
	install.Dir = js
	if out, err := install.CombinedOutput(); err != nil {
		skip("npm could not install @huggingface/hub (no access to the npm registry?): %v\n%s", err, out)
	}
	script := filepath.Join(js, "hfjs.mjs")
	if err := os.WriteFile(script, []byte(hfjsScript), 0o644); err != nil {
		t.Fatal(err)
	}
	runJS := func(v any, args ...string) {
		t.Helper()
		cmd := exec.Command(node, append([]string{script}, args...)...)
		cmd.Dir = js
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("node %v: %v\n%s%s", args, err, out, stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), v); err != nil {
			t.Fatalf("node %v printed %q: %v", args, out, err)
		}
	}

	// 1. Theirs reads ours.
	var out, errOut bytes.Buffer
	if err := pullCommand(context.Background(), []string{pullRepo}, nil, &out, &errOut); err != nil {
		t.Fatalf("pull: %v\n%s", err, errOut.String())
	}
	var scan struct {
		Warnings []string
		Repos    []struct {
			ID         struct{ Name, Type string }
			FilesCount int
			Size       int64
			Revisions  []struct {
				CommitOid string
				Refs      []string
				Path      string
				Files     []struct {
					Path, Blob string
					Size       int64
				}
			}
		}
	}
	runJS(&scan, "scan", cache)
	var total int64
	for _, d := range files {
		total += int64(len(d))
	}
	if len(scan.Warnings) != 0 || len(scan.Repos) != 1 {
		t.Fatalf("scanCacheDir of our cache: %+v", scan)
	}
	r := scan.Repos[0]
	if r.ID.Name != pullRepo || r.ID.Type != "model" || r.FilesCount != len(files) || r.Size != total || len(r.Revisions) != 1 {
		t.Errorf("scanCacheDir repo %+v, want %s with %d files, %d bytes, one revision", r, pullRepo, len(files), total)
	} else {
		v := r.Revisions[0]
		if v.CommitOid != commit || !slices.Equal(v.Refs, []string{"main"}) || len(v.Files) != len(files) {
			t.Errorf("scanCacheDir revision %+v, want commit %s with ref main", v, commit)
		}
		for _, f := range v.Files {
			if data, ok := files[filepath.Base(f.Path)]; !ok || int64(len(data)) != f.Size || filepath.Dir(f.Blob) != filepath.Join(cache, hub.RepoFolder(pullRepo), "blobs") {
				t.Errorf("scanCacheDir file %+v", f)
			}
		}
	}

	// 2. Ours reads theirs: snapshotDownload into another cache, from the test hub.
	theirs := filepath.Join(t.TempDir(), "hub")
	var dl struct{ Path string }
	runJS(&dl, "download", s.URL, pullRepo, theirs)
	if dl.Path != filepath.Join(theirs, hub.RepoFolder(pullRepo), "snapshots", commit) {
		t.Errorf("snapshotDownload returned %s", dl.Path)
	}
	// The two clients wrote the same files, blob names and relative links.
	ourTree := cacheTree(t, filepath.Join(cache, hub.RepoFolder(pullRepo)))
	theirTree := cacheTree(t, filepath.Join(theirs, hub.RepoFolder(pullRepo)))
	if !slices.Equal(ourTree, theirTree) {
		t.Errorf("cache layouts differ:\nours:   %q\ntheirs: %q", ourTree, theirTree)
	}
	ref, _ := os.ReadFile(filepath.Join(theirs, hub.RepoFolder(pullRepo), "refs", "main"))
	if string(ref) != commit {
		t.Errorf("their refs/main %q", ref)
	}
	out.Reset()
	if code := run(context.Background(), []string{"models", "--json", "--dir", theirs}, nil, &out, &errOut); code != 0 {
		t.Fatalf("janus models: exit %d: %s", code, errOut.String())
	}
	var listed struct{ Models []app.ModelEntry }
	json.Unmarshal(out.Bytes(), &listed)
	if len(listed.Models) != 1 || listed.Models[0].Repo != pullRepo || !listed.Models[0].Complete || listed.Models[0].Path != dl.Path {
		t.Errorf("janus models of their cache: %+v", listed.Models)
	}
	t.Setenv("HF_HUB_CACHE", theirs)
	understandGolden(t, pullRepo)
}

func TestPullBar(t *testing.T) {
	steps := []hub.Progress{
		{Repo: pullRepo, Status: "waiting for another download of " + pullRepo + " to finish", Remaining: -1},
		{Repo: pullRepo, Remaining: -1},
		{Repo: pullRepo, Bytes: 4_000_000_000, BytesDone: 1_000_000_000, Files: 8, FilesDone: 1, Rate: 50e6, Remaining: 60 * 1e9},
		{Repo: pullRepo, Bytes: 4_000_000_000, BytesDone: 1_100_000_000, Files: 8, FilesDone: 1, Rate: 50e6, Remaining: 58 * 1e9, Status: "retrying in 1s after: 503"},
		{Repo: pullRepo, Bytes: 4_000_000_000, BytesDone: 4_000_000_000, Files: 8, FilesDone: 8, Rate: 50e6, Done: true},
	}
	tests := []struct {
		name     string
		terminal bool
		want     string
	}{
		{"log", false, "pull: waiting for another download of deepseek-ai/Janus-Pro-1B to finish\n" +
			"pull deepseek-ai/Janus-Pro-1B:  25%  1.00 GB / 4.00 GB  1/8 files  50.00 MB/s  1:00 left\n" +
			"pull: retrying in 1s after: 503\n" +
			"pull deepseek-ai/Janus-Pro-1B: 100%  4.00 GB / 4.00 GB  8/8 files\n"},
		{"terminal", true, "pull: waiting for another download of deepseek-ai/Janus-Pro-1B to finish\n" +
			"\r[#######-----------------------] 1.00 GB / 4.00 GB  1/8 files  50.00 MB/s  1:00 left\033[K" +
			"\r\033[Kpull: retrying in 1s after: 503\n" +
			"\r[########----------------------] 1.10 GB / 4.00 GB  1/8 files  50.00 MB/s  0:58 left\033[K" +
			"\r[##############################] 4.00 GB / 4.00 GB  8/8 files\033[K\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			b := newPullBar(&buf)
			b.terminal = tt.terminal
			for _, p := range steps {
				b.update(p)
			}
			b.done()
			if buf.String() != tt.want {
				t.Errorf("bar wrote\n%q\nwant\n%q", buf.String(), tt.want)
			}
		})
	}
}

// TestPullRepairsCutShort: weights in the cache cut short (the loader says to download them
// again with janus pull) are fetched again by janus pull, and the model then answers.
func TestPullRepairsCutShort(t *testing.T) {
	s := hubtest.New(t)
	s.AddTinyA(t, pullRepo)
	cache := pullEnv(t, s)
	var out, errOut bytes.Buffer
	if err := pullCommand(context.Background(), []string{pullRepo}, nil, &out, &errOut); err != nil {
		t.Fatalf("pull: %v\n%s", err, errOut.String())
	}
	blobs, err := filepath.Glob(filepath.Join(cache, hub.RepoFolder(pullRepo), "blobs", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var biggest string
	var size int64
	for _, b := range blobs {
		if st, err := os.Stat(b); err == nil && st.Size() > size {
			biggest, size = b, st.Size()
		}
	}
	if err := os.Truncate(biggest, size/3); err != nil {
		t.Fatal(err)
	}
	var understandErr bytes.Buffer
	args, _ := tinyAArgs(t)
	args[1] = pullRepo
	if code := run(context.Background(), append([]string{"understand"}, args...), nil, &bytes.Buffer{}, &understandErr); code == 0 ||
		!strings.Contains(understandErr.String(), "janus pull") {
		t.Fatalf("understand with the weights cut short: exit %d, stderr %q; want it to say janus pull", code, understandErr.String())
	}
	out.Reset()
	if err := pullCommand(context.Background(), []string{pullRepo}, nil, &out, &errOut); err != nil {
		t.Fatalf("pull again: %v\n%s", err, errOut.String())
	}
	if want := "downloaded " + app.PreciseBytes(size-size/3) + " of " + pullRepo; !strings.Contains(out.String(), want) {
		t.Errorf("pull again printed %q, want %q", out.String(), want)
	}
	understandGolden(t, pullRepo)
}
