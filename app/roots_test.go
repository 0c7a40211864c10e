package app

import (
	"path/filepath"
	"slices"
	"testing"
)

func TestDefaultRoots(t *testing.T) {
	tests := []struct {
		name string
		goos string
		home string
		vars map[string]string
		want []string
	}{
		{"linux defaults", "linux", "/home/u", nil,
			[]string{"/home/u/.local/share/janus-desktop/models", "/home/u/.cache/huggingface/hub"}},
		{"linux XDG folders", "linux", "/home/u", map[string]string{"XDG_DATA_HOME": "/data", "XDG_CACHE_HOME": "/cache"},
			[]string{"/data/janus-desktop/models", "/cache/huggingface/hub"}},
		{"a relative XDG_DATA_HOME is ignored, as the XDG spec says", "freebsd", "/home/u", map[string]string{"XDG_DATA_HOME": "data"},
			[]string{"/home/u/.local/share/janus-desktop/models", "/home/u/.cache/huggingface/hub"}},
		{"macOS", "darwin", "/Users/u", nil,
			[]string{"/Users/u/Library/Application Support/Janus Desktop/models", "/Users/u/.cache/huggingface/hub"}},
		{"HF_HOME", "darwin", "/Users/u", map[string]string{"HF_HOME": "/hf", "XDG_CACHE_HOME": "/cache"},
			[]string{"/Users/u/Library/Application Support/Janus Desktop/models", "/hf/hub"}},
		{"HF_HUB_CACHE wins over HF_HOME", "linux", "/home/u", map[string]string{"HF_HUB_CACHE": "/hubcache", "HF_HOME": "/hf"},
			[]string{"/home/u/.local/share/janus-desktop/models", "/hubcache"}},
		{"the older HUGGINGFACE_HUB_CACHE", "linux", "/home/u", map[string]string{"HUGGINGFACE_HUB_CACHE": "/old"},
			[]string{"/home/u/.local/share/janus-desktop/models", "/old"}},
		{"JANUS_MODELS replaces the defaults", "linux", "/home/u", map[string]string{"JANUS_MODELS": "/m1::/m2", "HF_HOME": "/hf"},
			[]string{"/m1", "/m2"}},
		{"JANUS_MODELS on Windows splits at semicolons", "windows", `C:\Users\u`, map[string]string{"JANUS_MODELS": `C:\m1;D:\m2`},
			[]string{`C:\m1`, `D:\m2`}},
		{"no home: only what variables name", "linux", "", map[string]string{"HF_HOME": "/hf"},
			[]string{"/hf/hub"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := Env{GOOS: tc.goos, Home: tc.home, Getenv: func(k string) string { return tc.vars[k] }}
			got := DefaultRoots(env)
			want := tc.want
			if tc.goos != "windows" {
				want = make([]string, len(tc.want))
				for i, w := range tc.want {
					want[i] = filepath.FromSlash(w)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("DefaultRoots = %q, want %q", got, want)
			}
		})
	}
}

func TestUserModelsDirWindows(t *testing.T) {
	env := Env{GOOS: "windows", Home: "/u", Getenv: func(k string) string {
		if k == "LOCALAPPDATA" {
			return "/local"
		}
		return ""
	}}
	if got, want := env.UserModelsDir(), filepath.Join("/local", "Janus Desktop", "models"); got != want {
		t.Errorf("UserModelsDir = %q, want %q", got, want)
	}
	env.Getenv = nil
	if got, want := env.UserModelsDir(), filepath.Join("/u", "AppData", "Local", "Janus Desktop", "models"); got != want {
		t.Errorf("UserModelsDir without LOCALAPPDATA = %q, want %q", got, want)
	}
}
