package app_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"github.com/janus-desktop/janus/app"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/janus-desktop/janus/app/apptest"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/checkpoint/checkpointtest"
	"github.com/janus-desktop/janus/model/weights/weightstest"
)

// release fills dst with the released configs of preset (a real-configs folder) and a
// sparse checkpoint in shards shards, plus the DeepSeek-LLM tokenizer when withTokenizer.
func release(t *testing.T, dst, preset string, shards int, withTokenizer bool) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	src := fixtures.Path(t, "real-configs", preset)
	if err := weightstest.WriteRelease(dst, src, checkpointtest.Safetensors, shards, nil); err != nil {
		t.Fatal(err)
	}
	if withTokenizer {
		tok := fixtures.Path(t, "tokenizers", "deepseek-llm", "tokenizer.json")
		if err := os.Symlink(tok, filepath.Join(dst, "tokenizer.json")); err != nil {
			t.Fatal(err)
		}
	}
}

// editConfig rewrites dir/config.json with change applied to its top-level object.
func editConfig(t *testing.T, dir string, change func(map[string]any)) {
	t.Helper()
	p := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	if raw, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p); err != nil { // the copy may be read-only like the fixture
		t.Fatal(err)
	}
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// safetensorsParams counts the elements in a safetensors file from its header, read here
// independently of the checkpoint package.
func safetensorsParams(t *testing.T, path string) int64 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(raw[:8])
	var header map[string]struct {
		Shape []int64 `json:"shape"`
	}
	if err := json.Unmarshal(raw[8:8+n], &header); err != nil {
		t.Fatal(err)
	}
	var total int64
	for name, h := range header {
		if name == "__metadata__" {
			continue
		}
		p := int64(1)
		for _, d := range h.Shape {
			p *= d
		}
		total += p
	}
	return total
}

// keysParams counts the elements of a release's keys.json.
func keysParams(t *testing.T, preset string) int64 {
	t.Helper()
	tensors, err := weightstest.ReadKeys(fixtures.Path(t, "real-configs", preset, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, ts := range tensors {
		p := int64(1)
		for _, d := range ts.Shape {
			p *= int64(d)
		}
		total += p
	}
	return total
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// want is what a test expects of one entry; zero Params or WeightBytes are not checked.
type want struct {
	name, repo, path, family string
	complete                 bool
	problems                 []string // substrings of Problem
	params, bytes            int64
}

func TestDiscover(t *testing.T) {
	// tiny-a's weights: one file or shards, whichever the fixture holds.
	tinyWeights, err := filepath.Glob(filepath.Join(fixtures.Path(t, "models", "tiny-a"), "model*.safetensors"))
	if err != nil || len(tinyWeights) == 0 {
		t.Fatalf("no weights in the tiny-a fixture (%v)", err)
	}
	var tinyParams, tinyBytes int64
	for _, f := range tinyWeights {
		tinyParams += safetensorsParams(t, f)
		tinyBytes += fileSize(t, f)
	}
	// Layouts the tests build more than once.
	janus13 := func(t *testing.T, dir string) want {
		release(t, dir, "janus-1.3b", 2, true)
		bytes := fileSize(t, filepath.Join(dir, "model-00001-of-00002.safetensors")) +
			fileSize(t, filepath.Join(dir, "model-00002-of-00002.safetensors"))
		return want{family: "Janus", complete: true, params: keysParams(t, "janus-1.3b"), bytes: bytes}
	}

	tests := []struct {
		name string
		// build lays out the roots' content under tmp and returns the roots and the entries
		// expected, paths relative to tmp.
		build func(t *testing.T, tmp string) ([]string, []want)
	}{
		{"plain folders one and two levels deep; deeper and non-model folders ignored; unreadable config listed", func(t *testing.T, tmp string) ([]string, []want) {
			root := filepath.Join(tmp, "models")
			apptest.TinyA(t, filepath.Join(root, "tiny-a"))
			w := janus13(t, filepath.Join(root, "deepseek-ai", "Janus-1.3B"))
			w.name, w.path = "Janus-1.3B", "models/deepseek-ai/Janus-1.3B"
			apptest.TinyA(t, filepath.Join(root, "a", "b", "too-deep"))
			writeFile(t, filepath.Join(root, "notes", "readme.txt"), "not a model")
			writeFile(t, filepath.Join(root, "llama", "config.json"), `{"model_type": "llama", "architectures": ["LlamaForCausalLM"]}`)
			writeFile(t, filepath.Join(root, "llama", "model.safetensors"), "x")
			writeFile(t, filepath.Join(root, "badjson", "config.json"), `{"model_type": "multi_modality"`)
			writeFile(t, filepath.Join(root, "badjson", "model.safetensors"), "x")
			writeFile(t, filepath.Join(root, "config-is-a-folder", "config.json", "x"), "x")
			apptest.TinyA(t, filepath.Join(root, ".hidden", "tiny"))
			return []string{root}, []want{
				{name: "badjson", path: "models/badjson", family: "unknown", problems: []string{"config.json", "missing tokenizer.json"}},
				w,
				{name: "tiny-a", path: "models/tiny-a", family: "Janus-Pro", complete: true, params: tinyParams, bytes: tinyBytes}}
		}},
		{"a root that is itself a model folder", func(t *testing.T, tmp string) ([]string, []want) {
			apptest.TinyA(t, filepath.Join(tmp, "Janus-Tiny"))
			return []string{filepath.Join(tmp, "Janus-Tiny")}, []want{
				{name: "Janus-Tiny", path: "Janus-Tiny", family: "Janus-Pro", complete: true, params: tinyParams, bytes: tinyBytes}}
		}},
		{"hub cache: refs/main picks the snapshot; other repos ignored", func(t *testing.T, tmp string) ([]string, []want) {
			hub := filepath.Join(tmp, "hub")
			apptest.TinyA(t, filepath.Join(tmp, "old"), "tokenizer.json")
			apptest.ToHFCache(t, filepath.Join(tmp, "old"), hub, "deepseek-ai/Janus-Pro-1B", "0000old", false)
			apptest.TinyA(t, filepath.Join(tmp, "new"))
			apptest.ToHFCache(t, filepath.Join(tmp, "new"), hub, "deepseek-ai/Janus-Pro-1B", "1111main", true)
			writeFile(t, filepath.Join(tmp, "llama", "config.json"), `{"model_type": "llama"}`)
			writeFile(t, filepath.Join(tmp, "llama", "model.safetensors"), "x")
			apptest.ToHFCache(t, filepath.Join(tmp, "llama"), hub, "meta-llama/Llama-2-7b", "2222", true)
			apptest.TinyA(t, filepath.Join(hub, "datasets--someone--janus-set", "snapshots", "3333"))
			apptest.TinyA(t, filepath.Join(hub, ".locks", "models--x--y"))
			return []string{hub}, []want{{
				name: "Janus-Pro-1B", repo: "deepseek-ai/Janus-Pro-1B", family: "Janus-Pro", complete: true,
				path:   "hub/models--deepseek-ai--Janus-Pro-1B/snapshots/1111main",
				params: tinyParams, bytes: tinyBytes,
			}}
		}},
		{"hub cache without refs/main: the newest snapshot, broken here", func(t *testing.T, tmp string) ([]string, []want) {
			hub := filepath.Join(tmp, "huggingface", "hub") // HF_HOME given as the root
			apptest.TinyA(t, filepath.Join(tmp, "a"))
			repo := apptest.ToHFCache(t, filepath.Join(tmp, "a"), hub, "deepseek-ai/Janus-Pro-7B", "aaaa", false)
			apptest.TinyA(t, filepath.Join(tmp, "b"), "tokenizer.json")
			apptest.ToHFCache(t, filepath.Join(tmp, "b"), hub, "deepseek-ai/Janus-Pro-7B", "bbbb", false)
			// A refs/main that points out of snapshots/ is ignored like a missing one.
			writeFile(t, filepath.Join(repo, "refs", "main"), "..")
			old := time.Now().Add(-time.Hour)
			if err := os.Chtimes(filepath.Join(repo, "snapshots", "aaaa"), old, old); err != nil {
				t.Fatal(err)
			}
			return []string{filepath.Join(tmp, "huggingface")}, []want{{
				name: "Janus-Pro-7B", repo: "deepseek-ai/Janus-Pro-7B", family: "unknown",
				path:     "huggingface/hub/models--deepseek-ai--Janus-Pro-7B/snapshots/bbbb",
				problems: []string{"missing tokenizer.json"}, params: tinyParams, bytes: tinyBytes,
			}}
		}},
		{"missing shard of a sharded checkpoint", func(t *testing.T, tmp string) ([]string, []want) {
			dir := filepath.Join(tmp, "Janus-Pro-1B")
			release(t, dir, "janus-pro-1b", 2, true)
			if err := os.Remove(filepath.Join(dir, "model-00002-of-00002.safetensors")); err != nil {
				t.Fatal(err)
			}
			return []string{tmp}, []want{{
				name: "Janus-Pro-1B", path: "Janus-Pro-1B", family: "Janus",
				problems: []string{"model-00002-of-00002.safetensors"},
				bytes:    fileSize(t, filepath.Join(dir, "model-00001-of-00002.safetensors")),
			}}
		}},
		{"missing tokenizer and a missing tensor", func(t *testing.T, tmp string) ([]string, []want) {
			dir := filepath.Join(tmp, "pro")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			src := fixtures.Path(t, "real-configs", "janus-pro-1b")
			drop := func(ts []checkpointtest.Tensor) []checkpointtest.Tensor { return ts[1:] }
			if err := weightstest.WriteRelease(dir, src, checkpointtest.Safetensors, 0, drop); err != nil {
				t.Fatal(err)
			}
			keys, err := weightstest.ReadKeys(filepath.Join(src, "keys.json"))
			if err != nil {
				t.Fatal(err)
			}
			return []string{tmp}, []want{{
				name: "pro", path: "pro", family: "unknown",
				problems: []string{keys[0].Name, "missing tokenizer.json"},
				bytes:    fileSize(t, filepath.Join(dir, "model.safetensors")),
			}}
		}},
		{"config error; identified by architectures alone", func(t *testing.T, tmp string) ([]string, []want) {
			apptest.TinyA(t, filepath.Join(tmp, "no-llm"))
			editConfig(t, filepath.Join(tmp, "no-llm"), func(m map[string]any) { delete(m, "language_config") })
			apptest.TinyA(t, filepath.Join(tmp, "no-type"))
			editConfig(t, filepath.Join(tmp, "no-type"), func(m map[string]any) { delete(m, "model_type") })
			return []string{tmp}, []want{
				{name: "no-llm", path: "no-llm", family: "Janus-Pro", problems: []string{"language_config"}, params: tinyParams, bytes: tinyBytes},
				{name: "no-type", path: "no-type", family: "Janus-Pro", complete: true, params: tinyParams, bytes: tinyBytes},
			}
		}},
		{"no weights yet: plain folder and unfinished hub download", func(t *testing.T, tmp string) ([]string, []want) {
			apptest.TinyA(t, filepath.Join(tmp, "models", "half"), apptest.WeightFiles)
			apptest.TinyA(t, filepath.Join(tmp, "src"), apptest.WeightFiles)
			repo := apptest.ToHFCache(t, filepath.Join(tmp, "src"), filepath.Join(tmp, "hub"), "deepseek-ai/Janus-1.3B", "cafe", true)
			writeFile(t, filepath.Join(repo, "blobs", "0123abcd.incomplete"), "partial")
			return []string{filepath.Join(tmp, "models"), filepath.Join(tmp, "hub")}, []want{
				{name: "half", path: "models/half", family: "Janus-Pro", problems: []string{"no weight files"}},
				{name: "Janus-1.3B", repo: "deepseek-ai/Janus-1.3B", path: "hub/models--deepseek-ai--Janus-1.3B/snapshots/cafe",
					family: "Janus-Pro", problems: []string{"no weight files", "unfinished"}},
			}
		}},
		{"symlinked folders followed, each model listed once", func(t *testing.T, tmp string) ([]string, []want) {
			root := filepath.Join(tmp, "models")
			apptest.TinyA(t, filepath.Join(root, "a"))
			apptest.TinyA(t, filepath.Join(tmp, "elsewhere", "tiny"))
			if err := os.Symlink(filepath.Join(root, "a"), filepath.Join(root, "b")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(tmp, "elsewhere", "tiny"), filepath.Join(root, "c")); err != nil {
				t.Fatal(err)
			}
			// The same root twice and a root inside another find nothing new.
			return []string{root, root, filepath.Join(root, "a")}, []want{
				{name: "a", path: "models/a", family: "Janus-Pro", complete: true},
				{name: "c", path: "models/c", family: "Janus-Pro", complete: true},
			}
		}},
		{"roots in the order given; missing roots skipped", func(t *testing.T, tmp string) ([]string, []want) {
			apptest.TinyA(t, filepath.Join(tmp, "z", "m1"))
			apptest.TinyA(t, filepath.Join(tmp, "a", "m2"))
			return []string{filepath.Join(tmp, "missing"), filepath.Join(tmp, "z"), filepath.Join(tmp, "a")}, []want{
				{name: "m1", path: "z/m1", family: "Janus-Pro", complete: true},
				{name: "m2", path: "a/m2", family: "Janus-Pro", complete: true},
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			roots, wants := tc.build(t, tmp)
			got, err := app.Discover(roots)
			if err != nil {
				t.Fatalf("Discover: %v", err)
			}
			if len(got) != len(wants) {
				t.Fatalf("found %d models, want %d: %+v", len(got), len(wants), got)
			}
			for i, w := range wants {
				checkEntry(t, tmp, got[i], w)
			}
		})
	}
}

func checkEntry(t *testing.T, tmp string, e app.ModelEntry, w want) {
	t.Helper()
	if e.Name != w.name || e.Repo != w.repo || e.Family != w.family || e.Complete != w.complete {
		t.Errorf("entry %+v:\nwant name %q repo %q family %q complete %v", e, w.name, w.repo, w.family, w.complete)
	}
	if p := filepath.Join(tmp, filepath.FromSlash(w.path)); e.Path != p {
		t.Errorf("%s: path %s, want %s", e.Name, e.Path, p)
	}
	if w.complete != (e.Problem == "") {
		t.Errorf("%s: complete %v with problem %q", e.Name, e.Complete, e.Problem)
	}
	for _, p := range w.problems {
		if !strings.Contains(e.Problem, p) {
			t.Errorf("%s: problem %q does not mention %q", e.Name, e.Problem, p)
		}
	}
	if w.params != 0 && e.Params != w.params {
		t.Errorf("%s: %d params, want %d", e.Name, e.Params, w.params)
	}
	if w.bytes != 0 && e.WeightBytes != w.bytes {
		t.Errorf("%s: %d weight bytes, want %d", e.Name, e.WeightBytes, w.bytes)
	}
}

// TestDiscoverBadRoots checks that unusable roots are reported while the models of the
// other roots are still returned.
func TestDiscoverBadRoots(t *testing.T) {
	tmp := t.TempDir()
	apptest.TinyA(t, filepath.Join(tmp, "good", "tiny"))
	file := filepath.Join(tmp, "a-file")
	writeFile(t, file, "x")
	got, err := app.Discover([]string{file, filepath.Join(tmp, "missing"), filepath.Join(tmp, "good")})
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("error %v does not name the file root %s", err, file)
	}
	if err != nil && strings.Contains(err.Error(), "missing") {
		t.Errorf("a missing root is reported: %v", err)
	}
	if len(got) != 1 || got[0].Name != "tiny" {
		t.Errorf("found %+v, want the one model of the good root", got)
	}
}

// A hub cache snapshot inspected by its path (the model used last, outside the folders
// searched) is named by its repository, not by the commit its folder is named after.
func TestInspectSnapshotNamed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "models--deepseek-ai--Janus-Pro-1B", "snapshots", "8adc403e2b949edfd32fb4a1")
	apptest.TinyA(t, dir)
	e, err := app.Inspect(dir)
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "Janus-Pro-1B" || e.Repo != "deepseek-ai/Janus-Pro-1B" {
		t.Errorf("a snapshot inspected by its path is named %q (repository %q)", e.Name, e.Repo)
	}
}

func TestInspectNotModel(t *testing.T) {
	tmp := t.TempDir()
	for _, tc := range []struct{ name, config string }{
		{"no-config", ""},
		{"llama", `{"model_type": "llama", "architectures": ["LlamaForCausalLM"]}`},
		{"type-not-string", `{"model_type": 7, "architectures": "MultiModalityCausalLM"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(tmp, tc.name)
			writeFile(t, filepath.Join(dir, "model.safetensors"), "x")
			if tc.config != "" {
				writeFile(t, filepath.Join(dir, "config.json"), tc.config)
			}
			if _, err := app.Inspect(dir); !errors.Is(err, app.ErrNotModel) {
				t.Errorf("Inspect: %v, want ErrNotModel", err)
			}
		})
	}
}

func TestFind(t *testing.T) {
	entries := []app.ModelEntry{
		{Name: "Janus-Pro-1B", Path: "/user/Janus-Pro-1B", Problem: "missing tokenizer.json"},
		{Name: "Janus-Pro-1B", Repo: "deepseek-ai/Janus-Pro-1B", Path: "/hub/pro1b", Complete: true},
		{Name: "Janus-Pro-7B", Path: "/user/Janus-Pro-7B", Complete: true},
		{Name: "Janus-Pro-7B", Repo: "deepseek-ai/Janus-Pro-7B", Path: "/hub/pro7b", Complete: true},
		{Name: "Janus-1.3B", Repo: "deepseek-ai/Janus-1.3B", Path: "/hub/13b", Problem: "no weight files"},
		{Name: "janus-pro-7b", Path: "/other/janus-pro-7b", Complete: true},
	}
	tests := []struct {
		name, arg string
		path      string   // "" when an error is expected
		errHas    []string // substrings of the error
		noModel   bool     // the error wraps ErrNoModel
	}{
		{"exact name", "Janus-Pro-7B", "/user/Janus-Pro-7B", nil, false},
		{"any case", "janus-pro-7b", "/user/Janus-Pro-7B", nil, false},
		{"repo id", "DeepSeek-AI/Janus-Pro-7B", "/hub/pro7b", nil, false},
		{"complete one preferred over an earlier broken one", "janus-pro-1b", "/hub/pro1b", nil, false},
		{"only broken ones", "janus-1.3b", "", []string{"incomplete", "no weight files", "/hub/13b"}, false},
		{"unknown lists the names", "janus-2", "", []string{`"janus-2"`, "Janus-1.3B, Janus-Pro-1B, Janus-Pro-7B"}, true},
		{"path-like names are not names", "deepseek-ai/Janus-Pro", "", []string{"known models"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := app.Find(entries, tc.arg)
			if tc.path != "" {
				if err != nil || e.Path != tc.path {
					t.Fatalf("Find(%q) = %s, %v; want %s", tc.arg, e.Path, err, tc.path)
				}
				return
			}
			if err == nil {
				t.Fatalf("Find(%q) = %s, want an error", tc.arg, e.Path)
			}
			for _, s := range tc.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if errors.Is(err, app.ErrNoModel) != tc.noModel {
				t.Errorf("errors.Is(%v, ErrNoModel) = %v", err, !tc.noModel)
			}
		})
	}
	if _, err := app.Find(nil, "x"); !errors.Is(err, app.ErrNoModel) || !strings.Contains(err.Error(), "no models found") {
		t.Errorf("Find on no entries: %v", err)
	}
}
