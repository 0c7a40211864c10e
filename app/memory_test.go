package app_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model"
	"github.com/janus-desktop/janus/model/config"
)

// A folder's footprint is what the engine holds once loaded with each weights setting, plus
// the working memory beside it: the figure the Models picker shows is the load's, Q8 and Q4
// included.
func TestFolderFootprintIsTheLoads(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	fp, err := app.FolderFootprint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fp.Working <= 0 {
		t.Fatalf("working memory %d", fp.Working)
	}
	for _, f := range []string{"", model.WeightsStored, model.WeightsQ8, model.WeightsQ4M, model.WeightsAuto} {
		t.Run("weights="+f, func(t *testing.T) {
			e, err := app.LoadEngine(context.Background(), dir, app.LoadOptions{Threads: 1, Weights: f}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if held, need := e.Info().MemoryBytes, fp.Need(f); need != held+fp.Working {
				t.Errorf("Need(%q) = %d, the engine holds %d and the working memory is %d", f, need, held, fp.Working)
			}
		})
	}
}

// The search sizes what it finds with FolderFootprint, and a folder of a release's name or
// its hub cache entry is a copy of it for the download screen.
func TestSearchFootprintAndCopy(t *testing.T) {
	home := t.TempDir()
	models := filepath.Join(home, "models")
	apptest.TinyA(t, filepath.Join(models, "Janus-Pro-1B"))
	apptest.TinyA(t, filepath.Join(models, "Janus-Pro-7B"), "tokenizer.json") // incomplete
	env := envWith(home, map[string]string{"JANUS_MODELS": models})
	s := app.SearchModels(env, nil)
	if s.Err != nil {
		t.Fatal(s.Err)
	}
	for _, tc := range []struct {
		repo string
		dir  string // "" for no copy
	}{
		{app.DefaultRepo, filepath.Join(models, "Janus-Pro-1B")},
		{"deepseek-ai/Janus-Pro-7B", ""},
		{"deepseek-ai/Janus-1.3B", ""},
	} {
		m, ok := s.Copy(tc.repo)
		if ok != (tc.dir != "") || m.Path != tc.dir {
			t.Errorf("Copy(%s) = %q, %v; want %q", tc.repo, m.Path, ok, tc.dir)
			continue
		}
		if !ok {
			continue
		}
		want, err := app.FolderFootprint(tc.dir)
		if err != nil {
			t.Fatal(err)
		}
		if m.Footprint.Need(model.WeightsQ8) != want.Need(model.WeightsQ8) || m.Footprint.Need("") != want.Need("") {
			t.Errorf("%s: the search's footprint %+v, FolderFootprint's %+v", tc.repo, m.Footprint, want)
		}
	}
}

// A footprint that is not known needs nothing said; a weights setting it does not size
// counts as stored.
func TestFootprintNeed(t *testing.T) {
	fp := app.Footprint{Working: 10, Weights: map[string]int64{model.WeightsStored: 100, model.WeightsQ8: 50}}
	for _, tc := range []struct {
		fp   app.Footprint
		f    string
		want int64
	}{
		{app.Footprint{}, model.WeightsStored, 0},
		{fp, "", 110},
		{fp, model.WeightsStored, 110},
		{fp, " Q8 ", 60},
		{fp, model.WeightsQ4, 110},
	} {
		if got := tc.fp.Need(tc.f); got != tc.want {
			t.Errorf("%+v.Need(%q) = %d, want %d", tc.fp, tc.f, got, tc.want)
		}
	}
}

// ConfigFootprint and FolderFootprint agree on a folder stored in BF16, as the releases are:
// the download screen's figures for a release are its copy's.
func TestConfigFootprintIsTheFolders(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	d, err := app.Describe(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.StoredDTypes) != 1 || d.StoredDTypes["BF16"] == 0 {
		t.Skipf("tiny-a is stored as %v, not BF16 alone", d.StoredDTypes)
	}
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	byConfig, err := app.ConfigFootprint(cfg)
	if err != nil {
		t.Fatal(err)
	}
	byFolder, err := app.FolderFootprint(dir)
	if err != nil {
		t.Fatal(err)
	}
	for f, n := range byFolder.Weights {
		if byConfig.Weights[f] != n {
			t.Errorf("weights %s: %d from the config, %d from the folder", f, byConfig.Weights[f], n)
		}
	}
	if byConfig.Working != byFolder.Working {
		t.Errorf("working memory %d from the config, %d from the folder", byConfig.Working, byFolder.Working)
	}
}
