package model

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/weights"
)

var updatePlans = flag.Bool("update-plans", false, "rewrite testdata/plan/ from today's Plan")

// planConfigs are the configurations the plan snapshots cover: tiny-a, the three releases and
// the generated test models (a linear aligner, depth-1 projectors, grouped-query attention).
func planConfigs(t *testing.T) map[string]string {
	dirs := map[string]string{"tiny-a": fixtures.Path(t, "models", "tiny-a")}
	for _, r := range []string{"janus-1.3b", "janus-pro-1b", "janus-pro-7b"} {
		dirs[r] = fixtures.Path(t, "real-configs", r)
	}
	for _, group := range []string{"understand", "generate"} {
		found, err := filepath.Glob(filepath.Join("testdata", group, "*", "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range found {
			dirs[filepath.Base(filepath.Dir(f))] = filepath.Dir(f)
		}
	}
	return dirs
}

// planText writes one spec a line: name, shape, part and kind.
func planText(specs []weights.Spec) string {
	var b strings.Builder
	for _, s := range specs {
		kind := "matrix"
		if s.Kind == weights.Dense {
			kind = "dense"
		}
		fmt.Fprintf(&b, "%s %v %s %s\n", s.Name, s.Shape, s.Part, kind)
	}
	return b.String()
}

// TestPlanSnapshots pins the plan (order, names, shapes, parts and kinds) of every config in
// planConfigs to testdata/plan/, which -update-plans rewrites.
func TestPlanSnapshots(t *testing.T) {
	for name, dir := range planConfigs(t) {
		t.Run(name, func(t *testing.T) {
			cfg, err := config.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			got := planText(Plan(cfg))
			file := filepath.Join("testdata", "plan", name+".txt")
			if *updatePlans {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
			for i := range min(len(gl), len(wl)) {
				if gl[i] != wl[i] {
					t.Fatalf("spec %d: got %q, want %q", i, gl[i], wl[i])
				}
			}
			if len(gl) != len(wl) {
				t.Fatalf("%d specs, want %d", len(gl)-1, len(wl)-1)
			}
		})
	}
}
