package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
)

// envWith describes a Linux machine with home folder home and the variables vars.
func envWith(home string, vars map[string]string) app.Env {
	return app.Env{GOOS: "linux", Home: home, Getenv: func(k string) string { return vars[k] }}
}

func TestSearchRoots(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".cache", "huggingface", "hub"), 0o755)
	extra := filepath.Join(home, "mine")
	roots := app.SearchRoots(envWith(home, nil), []string{extra, extra})
	want := []app.SearchRoot{
		{Path: filepath.Join(home, ".local", "share", "janus-desktop", "models"), Location: app.LocationApp, Exists: false},
		{Path: filepath.Join(home, ".cache", "huggingface", "hub"), Location: app.LocationHFCache, Exists: true},
		{Path: extra, Location: app.LocationUser, Exists: false},
	}
	if len(roots) != len(want) {
		t.Fatalf("SearchRoots = %+v, want %+v", roots, want)
	}
	for i := range want {
		if roots[i] != want[i] {
			t.Errorf("root %d = %+v, want %+v", i, roots[i], want[i])
		}
	}
	env := envWith(home, map[string]string{"JANUS_MODELS": "/a:/b"})
	roots = app.SearchRoots(env, nil)
	if len(roots) != 2 || roots[0].Path != "/a" || roots[1].Location != app.LocationEnv {
		t.Errorf("with JANUS_MODELS: %+v", roots)
	}
}

func TestSearchModels(t *testing.T) {
	home := t.TempDir()
	env := envWith(home, nil)
	appDir := env.UserModelsDir()
	apptest.TinyA(t, filepath.Join(appDir, "tiny-a"))
	tmp := t.TempDir()
	apptest.TinyA(t, filepath.Join(tmp, "pro"))
	apptest.ToHFCache(t, filepath.Join(tmp, "pro"), env.HFHubCache(), "deepseek-ai/Janus-Pro-1B", "abc123", true)
	mine := filepath.Join(home, "mine")
	apptest.TinyA(t, filepath.Join(mine, "broken"), "tokenizer.json")

	s := app.SearchModels(env, []string{mine})
	if s.Err != nil {
		t.Fatal(s.Err)
	}
	got := map[string]app.ModelChoice{}
	for _, m := range s.Models {
		got[m.Name] = m
	}
	for _, tc := range []struct {
		name     string
		loc      app.Location
		complete bool
	}{
		{"tiny-a", app.LocationApp, true},
		{"Janus-Pro-1B", app.LocationHFCache, true},
		{"broken", app.LocationUser, false},
	} {
		m, ok := got[tc.name]
		if !ok {
			t.Errorf("%s not found in %+v", tc.name, s.Models)
			continue
		}
		if m.Location != tc.loc || m.Complete != tc.complete || m.WeightBytes == 0 {
			t.Errorf("%s: %+v", tc.name, m)
		}
		if need := m.Footprint.Need(""); tc.complete != (need > 0) {
			t.Errorf("%s: memory needed %d", tc.name, need)
		}
	}
	if len(s.Usable()) != 2 {
		t.Errorf("Usable = %d models, want 2", len(s.Usable()))
	}
}

func TestNoModelText(t *testing.T) {
	home := t.TempDir()
	env := envWith(home, nil)
	s := app.SearchModels(env, nil)
	if len(s.Models) != 0 || len(s.Usable()) != 0 {
		t.Fatalf("models in an empty home: %+v", s.Models)
	}
	text := s.NoModelText()
	for _, want := range []string{
		"No Janus model was found",
		env.UserModelsDir() + " (app folder, not there)",
		env.HFHubCache() + " (Hugging Face cache, not there)",
		"huggingface-cli download deepseek-ai/Janus-Pro-1B",
		"add the folder that holds your models with Add folder…",
		"Janus-Pro-1B is a 4.2 GB download that suits most computers; Janus-Pro-7B (14.8 GB) draws and reads better and needs 16.5 GB of memory.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("NoModelText lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "….") {
		t.Errorf("NoModelText ends a line with four dots:\n%s", text)
	}
}

// With no model named, the default model is used when it is complete, though the sorted
// list puts Janus-1.3B first; else the first complete one.
func TestPreferred(t *testing.T) {
	old := app.ModelEntry{Name: "Janus-1.3B", Repo: "deepseek-ai/Janus-1.3B", Path: "/c/1.3b", Complete: true}
	pro := app.ModelEntry{Name: "Janus-Pro-1B", Repo: app.DefaultRepo, Path: "/c/pro", Complete: true}
	cut := pro
	cut.Complete = false
	mine := app.ModelEntry{Name: "mine", Path: "/m/mine", Complete: true}
	for _, c := range []struct {
		name    string
		entries []app.ModelEntry
		want    string // "" for none
	}{
		{"the default", []app.ModelEntry{old, pro, mine}, "/c/pro"},
		{"the default cut short", []app.ModelEntry{old, cut, mine}, "/c/1.3b"},
		{"a folder alone", []app.ModelEntry{cut, mine}, "/m/mine"},
		{"the default in a folder", []app.ModelEntry{old, mine, {Name: "Janus-Pro-1B", Path: "/m/Janus-Pro-1B", Complete: true}}, "/m/Janus-Pro-1B"},
		{"none complete", []app.ModelEntry{cut}, ""},
		{"none", nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := app.Preferred(c.entries)
			if ok != (c.want != "") || got.Path != c.want {
				t.Errorf("Preferred = %q, %v; want %q", got.Path, ok, c.want)
			}
			var s app.ModelSearch
			for _, e := range c.entries {
				s.Models = append(s.Models, app.ModelChoice{ModelEntry: e})
			}
			if m, ok := s.Preferred(); ok != (c.want != "") || m.Path != c.want {
				t.Errorf("ModelSearch.Preferred = %q, %v; want %q", m.Path, ok, c.want)
			}
		})
	}
}

// StartModel loads the folder asked for, else the model used last (found by the search or
// not), else the preferred one, and says why the model used last is not the one loaded.
func TestStartModel(t *testing.T) {
	dir := t.TempDir()
	found := filepath.Join(dir, "found")
	apptest.TinyA(t, found)
	outside := filepath.Join(dir, "outside")
	apptest.TinyA(t, outside)
	cut := filepath.Join(dir, "cut")
	apptest.TinyA(t, cut)
	apptest.CutWeights(t, cut)
	unreadable := filepath.Join(dir, "unreadable")
	apptest.TinyA(t, unreadable)
	if err := os.WriteFile(filepath.Join(unreadable, "config.json"), []byte("{not json\nat all"), 0o644); err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(dir, "gone")
	entry := func(path string) app.ModelChoice {
		e, err := app.Inspect(path)
		if err != nil {
			t.Fatal(err)
		}
		return app.ModelChoice{ModelEntry: e}
	}
	search := app.ModelSearch{Models: []app.ModelChoice{entry(cut), entry(found)}}
	tests := []struct {
		name              string
		search            app.ModelSearch
		requested, last   string
		wantPath, wantFor string // wantFor: a piece of LastProblem ("" for none)
	}{
		{"asked for", search, outside, found, outside, ""},
		{"asked for, found", search, found, "", found, ""},
		{"the last, found", search, "", found, found, ""},
		{"the last, outside the search", search, "", outside, outside, ""},
		{"the last is gone", search, "", gone, found, "is no longer there"},
		{"the last is cut short", search, "", cut, found, "the model used last, cannot be loaded"},
		{"the last's config is broken", search, "", unreadable, found, "config.json cannot be used"},
		{"the last is a file", search, "", filepath.Join(found, "config.json"), found, "cannot be read"},
		{"none used", search, "", "", found, ""},
		{"none to load", app.ModelSearch{Models: []app.ModelChoice{entry(cut)}}, "", gone, "", "is no longer there"},
		{"nothing at all", app.ModelSearch{}, "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.search.StartModel(tt.requested, tt.last)
			if got.Path != tt.wantPath {
				t.Errorf("loads %q, want %q", got.Path, tt.wantPath)
			}
			if got.Path != "" && got.Name != filepath.Base(got.Path) {
				t.Errorf("calls %s %q", got.Path, got.Name)
			}
			if tt.wantFor == "" && got.LastProblem != "" || !strings.Contains(got.LastProblem, tt.wantFor) {
				t.Errorf("says %q, want it to say %q", got.LastProblem, tt.wantFor)
			}
			if strings.Contains(got.LastProblem, "\n") {
				t.Errorf("says %q over lines", got.LastProblem)
			}
		})
	}
}
