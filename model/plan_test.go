package model

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/checkpoint/checkpointtest"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/vq/formulaweights"
	"github.com/janus-desktop/janus/model/weights"
	"github.com/janus-desktop/janus/model/weights/weightstest"
)

func loadConfig(t *testing.T, dir string) *config.Config {
	t.Helper()
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestPlanMatchesReleasedKeys: the plan of each release's config is its keys.json (the
// official state-dict order) without the tensors inference never reads.
func TestPlanMatchesReleasedKeys(t *testing.T) {
	for _, release := range []string{"janus-1.3b", "janus-pro-1b", "janus-pro-7b"} {
		t.Run(release, func(t *testing.T) {
			keys, err := weightstest.ReadKeys(fixtures.Path(t, "real-configs", release, "keys.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want []checkpointtest.Tensor
			for _, k := range keys {
				if !weights.Unused(k.Name) {
					want = append(want, k)
				}
			}
			plan := Plan(loadConfig(t, fixtures.Path(t, "real-configs", release)))
			if len(plan) != len(want) {
				t.Errorf("plan has %d tensors, the release runs %d", len(plan), len(want))
			}
			for i := range min(len(plan), len(want)) {
				if plan[i].Name != want[i].Name || !slices.Equal(plan[i].Shape, want[i].Shape) {
					t.Fatalf("tensor %d: plan %s %v, release %s %v", i, plan[i].Name, plan[i].Shape, want[i].Name, want[i].Shape)
				}
			}
		})
	}
}

// TestPlanMatchesTinyA: tiny-a stores every planned tensor in its shape, and nothing else
// but the tensors inference never reads.
func TestPlanMatchesTinyA(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	ck, err := checkpoint.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	stored := map[string][]int{}
	for _, ti := range ck.Tensors() {
		stored[ti.Name] = ti.Shape
	}
	for _, s := range Plan(loadConfig(t, dir)) {
		shape, ok := stored[s.Name]
		if !ok || !slices.Equal(shape, s.Shape) {
			t.Errorf("plan %s %v, stored %v (present %v)", s.Name, s.Shape, shape, ok)
		}
		delete(stored, s.Name)
	}
	for name := range stored {
		if !weights.Unused(name) {
			t.Errorf("stored tensor %s is neither planned nor known to be unused", name)
		}
	}
}

// generatedModels writes every generated fixture model of testdata/understand and
// testdata/generate as a checkpoint into a temporary folder, by name.
func generatedModels(t *testing.T) map[string]string {
	t.Helper()
	dirs := map[string]string{}
	for _, group := range []string{"understand", "generate"} {
		entries, err := os.ReadDir(filepath.Join("testdata", group))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			src := filepath.Join("testdata", group, e.Name())
			if _, err := os.Stat(filepath.Join(src, "weights.json")); !e.IsDir() || err != nil {
				continue
			}
			dst := t.TempDir()
			if err := formulaweights.WriteModel(dst, src); err != nil {
				t.Fatal(err)
			}
			dirs[e.Name()] = dst
		}
	}
	if len(dirs) < 6 {
		t.Fatalf("found %d generated models, want at least 6", len(dirs))
	}
	return dirs
}

// readSet records what Load uploads: for each tensor, the row ranges and the shape of a row.
type readSet map[string]*reads

type reads struct {
	rows  [][2]int // uploaded [r0, r1) of dimension 0, in order
	inner []int    // the other dimensions
	err   string
}

func (s readSet) record(name string, r0 int, t *compute.Tensor) {
	r := s[name]
	if r == nil {
		r = &reads{inner: slices.Clone(t.Shape[min(1, len(t.Shape)):])}
		s[name] = r
	}
	if len(t.Shape) == 0 { // a scalar: one "row"
		r.rows = append(r.rows, [2]int{0, 1})
		return
	}
	if !slices.Equal(r.inner, t.Shape[1:]) {
		r.err = fmt.Sprintf("uploads disagree on the row shape: %v and %v", r.inner, t.Shape[1:])
	}
	r.rows = append(r.rows, [2]int{r0, r0 + t.Shape[0]})
}

// shape assembles the tensor's shape from its uploads, which must cover rows [0, n) once
// each: a weight read twice would be held twice.
func (r *reads) shape() ([]int, error) {
	if r.err != "" {
		return nil, fmt.Errorf("%s", r.err)
	}
	rows := slices.Clone(r.rows)
	sort.Slice(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })
	next := 0
	for _, rg := range rows {
		if rg[0] != next {
			return nil, fmt.Errorf("rows uploaded %v do not cover [0, n) exactly once", r.rows)
		}
		next = rg[1]
	}
	if len(r.inner) == 0 && len(rows) == 1 && rows[0] == [2]int{0, 1} {
		return []int{}, nil // a scalar
	}
	return append([]int{next}, r.inner...), nil
}

// TestLoadReadsThePlan checks that Load uploads exactly the tensors Plan lists, each with the
// plan's shape and every row once, for tiny-a and each generated model (other ViT, projector,
// LLM and VQ shapes). The networks name their tensors in the walk Plan records, so this
// guards what Load adds: that with SkipGeneration it reads the plan without the generation
// parts, with SkipUnderstanding without the understanding ones (what the checks, the memory
// budget and the progress count from the plan), and that the ViT's split qkv reads every row
// once.
func TestLoadReadsThePlan(t *testing.T) {
	models := generatedModels(t)
	t.Run("tiny-a", func(t *testing.T) {
		checkPlan(t, fixtures.Path(t, "models", "tiny-a"))
	})
	for name, dir := range models {
		t.Run(name, func(t *testing.T) { checkPlan(t, dir) })
	}
}

func checkPlan(t *testing.T, dir string) {
	for _, opts := range []Options{{}, {SkipGeneration: true}, {SkipUnderstanding: true}} {
		skip := fmt.Sprintf("skip %v", opts.skipped())
		got := readSet{}
		opts.Backend, opts.uploaded = defaultBackend(t, 1, ""), got.record
		m, err := Load(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]int{}
		for _, s := range Plan(m.Config) {
			if !slices.Contains(opts.skipped(), s.Part) {
				want[s.Name] = s.Shape
			}
		}
		m.Close()
		if len(want) == 0 {
			t.Fatal("empty plan")
		}
		for n, shape := range want {
			r, ok := got[n]
			if !ok {
				t.Errorf("%s: planned %s %v was not read", skip, n, shape)
				continue
			}
			gotShape, err := r.shape()
			if err != nil {
				t.Errorf("%s: %s: %v", skip, n, err)
			} else if !slices.Equal(gotShape, shape) {
				t.Errorf("%s: %s read as %v, planned %v", skip, n, gotShape, shape)
			}
		}
		for n := range got {
			if _, ok := want[n]; !ok {
				t.Errorf("%s: read %s, which the plan does not list", skip, n)
			}
		}
	}
}
