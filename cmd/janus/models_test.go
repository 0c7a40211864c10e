package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
)

// modelsLayout builds a models folder with a complete and a broken model, and a hub cache
// with one complete model; it returns the two roots and the three model folders.
func modelsLayout(t *testing.T) (root, hub string, paths []string) {
	tmp := t.TempDir()
	root, hub = filepath.Join(tmp, "models"), filepath.Join(tmp, "hub")
	complete, broken := filepath.Join(root, "Tiny-Pro"), filepath.Join(root, "tiny-broken")
	apptest.TinyA(t, complete)
	apptest.TinyA(t, broken, "tokenizer.json")
	src := filepath.Join(tmp, "download")
	apptest.TinyA(t, src)
	snap := filepath.Join(apptest.ToHFCache(t, src, hub, "deepseek-ai/Janus-Pro-1B", "abc123", true), "snapshots", "abc123")
	return root, hub, []string{complete, broken, snap}
}

func TestModelsText(t *testing.T) {
	root, hub, paths := modelsLayout(t)
	var stdout, stderr bytes.Buffer
	if err := runModels(context.Background(), []string{"--dir", root, "--dir", hub}, &stdout, &stderr); err != nil {
		t.Fatalf("models: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("want a header, 3 rows, a blank line and a problem line; got:\n%s", stdout.String())
	}
	pathCol := strings.Index(lines[0], "path")
	for i, want := range []struct{ name, family, status, path string }{
		{"Tiny-Pro", "Janus-Pro", "ok", paths[0]},
		{"tiny-broken", "unknown", "incomplete", paths[1]},
		{"Janus-Pro-1B", "Janus-Pro", "ok", paths[2]},
	} {
		row := lines[1+i]
		fields := strings.Fields(row) // the size is two fields: "9.81 MB"
		if len(fields) != 7 || fields[0] != want.name || fields[1] != want.family || fields[5] != want.status || fields[6] != want.path {
			t.Errorf("row %q, want name %s family %s status %s path %s", row, want.name, want.family, want.status, want.path)
		}
		if len(fields) == 7 && (fields[2] != "4.9M" || fields[3]+" "+fields[4] != "9.81 MB") {
			t.Errorf("row %q: params %s size %s %s, want tiny-a's 4.9M and 9.81 MB", row, fields[2], fields[3], fields[4])
		}
		if strings.Index(row, want.path) != pathCol {
			t.Errorf("row %q: path not aligned under the header at column %d", row, pathCol)
		}
	}
	if lines[4] != "" || !strings.HasPrefix(lines[5], "tiny-broken ("+paths[1]+"): ") || !strings.Contains(lines[5], "missing tokenizer.json") {
		t.Errorf("problem lines %q, want the broken model's problem", lines[4:])
	}
	if stderr.Len() != 0 {
		t.Errorf("unexpected stderr: %s", stderr.String())
	}
}

func TestModelsJSON(t *testing.T) {
	root, hub, paths := modelsLayout(t)
	var stdout, stderr bytes.Buffer
	if err := runModels(context.Background(), []string{"--json", "--dir", root, "--dir", hub}, &stdout, &stderr); err != nil {
		t.Fatalf("models: %v\n%s", err, stderr.String())
	}
	var got struct {
		Roots  []string
		Models []map[string]any
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if !slices.Equal(got.Roots, []string{root, hub}) {
		t.Errorf("roots %q, want %q", got.Roots, []string{root, hub})
	}
	if len(got.Models) != 3 {
		t.Fatalf("%d models, want 3: %s", len(got.Models), stdout.String())
	}
	for i, want := range []struct {
		name, repo string
		complete   bool
	}{{"Tiny-Pro", "", true}, {"tiny-broken", "", false}, {"Janus-Pro-1B", "deepseek-ai/Janus-Pro-1B", true}} {
		m := got.Models[i]
		repo, _ := m["repo"].(string)
		if m["name"] != want.name || repo != want.repo || m["path"] != paths[i] || m["complete"] != want.complete {
			t.Errorf("model %d: %v, want name %s repo %q path %s complete %v", i, m, want.name, want.repo, paths[i], want.complete)
		}
		if _, has := m["problem"]; has == want.complete {
			t.Errorf("model %d: problem field present %v with complete %v", i, has, want.complete)
		}
		if m["params"].(float64) <= 0 || m["weight_bytes"].(float64) <= 0 || m["family"] == "" {
			t.Errorf("model %d: missing params, weight_bytes or family: %v", i, m)
		}
	}
}

func TestModelsNoneFound(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"--dir", dir}, {"--json", "--dir", dir}} {
		var stdout, stderr bytes.Buffer
		if err := runModels(context.Background(), args, &stdout, &stderr); err != nil {
			t.Fatalf("models %q: %v", args, err)
		}
		out := stdout.String()
		if slices.Contains(args, "--json") {
			if want := `"models": []`; !strings.Contains(out, want) {
				t.Errorf("JSON output %s lacks %s", out, want)
			}
		} else if !strings.Contains(out, "no Janus models found") || !strings.Contains(out, dir) || !strings.Contains(out, "janus pull") {
			t.Errorf("output %q does not say nothing was found in %s, and how to download one", out, dir)
		}
	}
}

// TestModelsDefaultRoots checks that without --dir the command searches JANUS_MODELS.
func TestModelsDefaultRoots(t *testing.T) {
	root, hub, _ := modelsLayout(t)
	t.Setenv("JANUS_MODELS", hub+string(os.PathListSeparator)+root)
	var stdout, stderr bytes.Buffer
	if err := runModels(context.Background(), []string{"--json"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Roots  []string
		Models []app.ModelEntry
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Roots, []string{hub, root}) || len(got.Models) != 3 || got.Models[0].Name != "Janus-Pro-1B" {
		t.Errorf("roots %q and models %+v; want the hub first, then the models folder", got.Roots, got.Models)
	}
}

func TestModelsFlagErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--dir", filepath.Join(dir, "missing")}, "missing"},
		{[]string{"--dir", file}, "is a file"},
		{[]string{"--dir", ""}, "empty folder"},
		{[]string{dir}, "unexpected argument"},
		{[]string{"--bogus"}, "bogus"},
	} {
		var stdout, stderr bytes.Buffer
		err := runModels(context.Background(), tc.args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error()+stderr.String(), tc.want) {
			t.Errorf("models %q: error %v (stderr %q), want one mentioning %q", tc.args, err, stderr.String(), tc.want)
		}
	}
}

func TestResolveModel(t *testing.T) {
	root, hub, paths := modelsLayout(t)
	roots := []string{root, hub}
	file := filepath.Join(paths[0], "config.json")
	tests := []struct {
		arg     string
		want    string   // "" when an error is expected
		errHas  []string // substrings of the error
		noModel bool     // the error wraps app.ErrNoModel
	}{
		{arg: paths[1], want: paths[1]}, // a folder is taken as given, even a broken one
		{arg: "tiny-pro", want: paths[0]},
		{arg: "JANUS-PRO-1B", want: paths[2]},
		{arg: "deepseek-ai/janus-pro-1b", want: paths[2]},
		{arg: "tiny-broken", errHas: []string{"incomplete", "missing tokenizer.json"}},
		{arg: "janus-pro-7b", errHas: []string{"janus-pro-7b is not downloaded yet", "`janus pull janus-pro-7b`", "14.85 GB", root, hub}, noModel: true},
		{arg: "deepseek-ai/Janus-1.3B", errHas: []string{"not downloaded yet", "`janus pull deepseek-ai/Janus-1.3B`"}, noModel: true},
		{arg: "tiny-7b", errHas: []string{`"tiny-7b"`, "Janus-Pro-1B, tiny-broken, Tiny-Pro", root, hub}, noModel: true},
		{arg: file, errHas: []string{"is a file"}},
		{arg: filepath.Join(root, "missing"), errHas: []string{"model folder " + filepath.Join(root, "missing") + " does not exist"}},
		{arg: "./missing", errHas: []string{"model folder ./missing does not exist"}},
		{arg: "", errHas: []string{"missing"}},
	}
	for _, tc := range tests {
		got, err := resolveModelIn(tc.arg, roots)
		if tc.want != "" {
			if err != nil || got != tc.want {
				t.Errorf("resolveModel(%q) = %q, %v; want %q", tc.arg, got, err, tc.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("resolveModel(%q) = %q, want an error", tc.arg, got)
			continue
		}
		for _, s := range tc.errHas {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("resolveModel(%q): error %q does not mention %q", tc.arg, err, s)
			}
		}
		if errors.Is(err, app.ErrNoModel) != tc.noModel {
			t.Errorf("resolveModel(%q): errors.Is(%v, ErrNoModel) = %v", tc.arg, err, !tc.noModel)
		}
	}

	// A download the hub cache holds part of is named with the command that finishes it.
	partial := filepath.Join(t.TempDir(), "partial")
	apptest.TinyA(t, partial, "tokenizer.json")
	partialHub := filepath.Join(t.TempDir(), "hub")
	apptest.ToHFCache(t, partial, partialHub, "deepseek-ai/Janus-Pro-7B", "def456", true)
	_, err := resolveModelIn("janus-pro-7b", []string{partialHub})
	if err == nil || !strings.Contains(err.Error(), "incomplete") || !strings.Contains(err.Error(), "`janus pull deepseek-ai/Janus-Pro-7B` continues the download") {
		t.Errorf("a partial download: %v, want incomplete and the pull that continues it", err)
	}

	// resolveModel itself searches the default roots, here set by JANUS_MODELS.
	t.Setenv("JANUS_MODELS", hub)
	if got, err := resolveModel("janus-pro-1b"); err != nil || got != paths[2] {
		t.Errorf("resolveModel with JANUS_MODELS = %q, %v; want %q", got, err, paths[2])
	}
	if _, err := resolveModel("tiny-pro"); !errors.Is(err, app.ErrNoModel) {
		t.Errorf("resolveModel found a model outside JANUS_MODELS: %v", err)
	}
}

func TestModelsParamCount(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "-"}, {999, "999"}, {1500, "1.5K"}, {4_878_891, "4.9M"}, {2_089_297_547, "2.09B"}, {7_420_434_059, "7.42B"}} {
		if got := modelsParamCount(tc.n); got != tc.want {
			t.Errorf("modelsParamCount(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
