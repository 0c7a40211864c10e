// Package apptest helps test the app package and the window: it lays out model folders for
// tests of model discovery (a copy of the tiny-a fixture model, the Hugging Face cache layout
// as huggingface_hub writes it), and FakeEngine is a slow, cancellable app.Engine without a
// model.
package apptest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
)

// WeightFiles is a skip pattern of TinyA that matches the weights of tiny-a (its safetensors
// shards and their index), leaving a folder that is complete except for its weights.
const WeightFiles = "model*.safetensors*"

// TinyA fills dst with the tiny-a fixture model minus the files matching a pattern
// (filepath.Match) in skip. The weight shards are symlinks to the fixture's (they are never
// written); the other files, the shards' index included, are copies a test may edit.
func TinyA(t testing.TB, dst string, skip ...string) {
	t.Helper()
	src := fixtures.Path(t, "models", "tiny-a")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := f.Name()
		if slices.ContainsFunc(skip, func(p string) bool { ok, _ := filepath.Match(p, name); return ok }) {
			continue
		}
		if strings.HasSuffix(name, ".safetensors") {
			if err := os.Symlink(filepath.Join(src, name), filepath.Join(dst, name)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		raw, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// ToHFCache moves every file of src into the hub cache layout under hub: the content into
// models--ORG--NAME/blobs/, a relative symlink to it in snapshots/REV/ (as huggingface_hub
// makes them), and refs/main naming rev when main is set. It returns the repository folder;
// the model folder is its snapshots/REV.
func ToHFCache(t testing.TB, src, hub, repo, rev string, main bool) string {
	t.Helper()
	repoDir := filepath.Join(hub, "models--"+strings.ReplaceAll(repo, "/", "--"))
	snap := filepath.Join(repoDir, "snapshots", rev)
	for _, d := range []string{filepath.Join(repoDir, "blobs"), filepath.Join(repoDir, "refs"), snap} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		blob := rev + "-" + f.Name() // the hub names blobs by content hash; any unique name will do
		if err := os.Rename(filepath.Join(src, f.Name()), filepath.Join(repoDir, "blobs", blob)); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..", "..", "blobs", blob), filepath.Join(snap, f.Name())); err != nil {
			t.Fatal(err)
		}
	}
	if main {
		if err := os.WriteFile(filepath.Join(repoDir, "refs", "main"), []byte(rev), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return repoDir
}

// CutWeights replaces the weight files of a model folder TinyA made (links to the fixture's)
// with copies of their first halves, as an interrupted download or copy leaves them; the
// fixture's own files are not touched.
func CutWeights(t testing.TB, dir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no weight files in %s (%v)", dir, err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(f); err != nil { // the link, not the fixture
			t.Fatal(err)
		}
		if err := os.WriteFile(f, raw[:len(raw)/2], 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
