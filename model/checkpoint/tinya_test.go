package checkpoint_test

import (
	"bytes"
	"flag"
	"os"
	"slices"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/checkpoint/checkpointtest"
)

// writeTinyA rewrites the repository's copy of tiny-a's weights from the shared fixtures:
// go test ./model/checkpoint -run TestTinyAInRepo -write-tiny-a
var writeTinyA = flag.Bool("write-tiny-a", false, "rewrite testdata/fixtures/models/tiny-a's shards from the shared fixtures")

// tinyAShards is how many files the repository's copy of tiny-a's 9.8 MB of weights is cut
// into: the repository keeps no file over maxRepoFile.
const (
	tinyAShards = 3
	maxRepoFile = 5_000_000
)

// TestTinyAInRepo checks that the repository's tiny-a (testdata/fixtures/models/tiny-a, in
// the sharded layout Hugging Face uses for the released Janus-Pro-7B) holds exactly the
// tensors of the shared fixtures' single model.safetensors: names, order, dtypes, shapes and
// bytes. The goldens were made from that file, so this is what lets a clone without the
// shared fixtures run them.
func TestTinyAInRepo(t *testing.T) {
	repo := fixtures.RepoPath(t, "models", "tiny-a")
	shared, ok := fixtures.Shared("models", "tiny-a", "model.safetensors")
	if !ok {
		shared = ""
	}
	if *writeTinyA {
		if shared == "" {
			t.Fatal("-write-tiny-a needs the shared fixtures (../shared/fixtures or $JANUS_FIXTURES)")
		}
		writeTinyAShards(t, shared, repo)
	}

	got, err := checkpoint.Open(repo)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if n := len(got.Files()); n != tinyAShards {
		t.Errorf("repository tiny-a has %d weight files, want %d shards", n, tinyAShards)
	}
	for _, f := range got.Files() {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > maxRepoFile {
			t.Errorf("%s is %d bytes: the repository keeps no file over %d", f, st.Size(), maxRepoFile)
		}
	}
	if shared == "" {
		t.Skip("shared fixtures absent: the repository's tiny-a loads, but is not compared with ../shared/fixtures/models/tiny-a")
	}
	want, err := checkpoint.Open(shared)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	gt, wt := got.Tensors(), want.Tensors()
	if len(gt) != len(wt) {
		t.Fatalf("repository tiny-a has %d tensors, shared %d", len(gt), len(wt))
	}
	for i, w := range wt {
		g := gt[i]
		if g.Name != w.Name || g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) {
			t.Errorf("tensor %d: repository %s %s %v, shared %s %s %v", i, g.Name, g.DType, g.Shape, w.Name, w.DType, w.Shape)
			continue
		}
		gb, err := got.Raw(g.Name)
		if err != nil {
			t.Fatal(err)
		}
		wb, err := want.Raw(w.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(gb, wb) {
			t.Errorf("tensor %s: bytes differ from the shared fixtures", w.Name)
		}
	}
}

// writeTinyAShards cuts the shared checkpoint into the repository's shards, keeping the
// tensor order and the header metadata the reference wrote.
func writeTinyAShards(t *testing.T, src, dir string) {
	ck, err := checkpoint.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	var tensors []checkpointtest.Tensor
	for _, info := range ck.Tensors() {
		raw, err := ck.Raw(info.Name)
		if err != nil {
			t.Fatal(err)
		}
		tensors = append(tensors, checkpointtest.Tensor{Name: info.Name, DType: info.DType, Shape: info.Shape, Data: bytes.Clone(raw)})
	}
	if _, err := checkpointtest.WriteSharded(dir, checkpointtest.Safetensors, tensors, tinyAShards,
		checkpointtest.Options{Metadata: map[string]string{"format": "pt"}}); err != nil {
		t.Fatal(err)
	}
}
