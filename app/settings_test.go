package app_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/model"
)

func TestSettingsRoundTrip(t *testing.T) {
	s := openStore(t)
	st, problems, err := s.LoadSettings()
	if err != nil || len(problems) != 0 {
		t.Fatal(err, problems)
	}
	def := app.DefaultSettings()
	if st.Backend != "auto" || st.Threads != 0 || st.Weights != model.WeightsAuto || st.Generation.N != 1 || st.Generation.CFG != model.DefaultCFG ||
		st.Generation.Temperature != model.DefaultTemperature || st.Generation.FixedSeed ||
		st.Serve.Enabled || st.Serve.Port != app.DefaultServePort {
		t.Errorf("settings without a file = %+v, want the defaults %+v", st, def)
	}
	st.Backend, st.Threads, st.Weights = "cpu", 2, model.WeightsQ8
	st.Generation.N, st.Generation.FixedSeed, st.Generation.Seed, st.Generation.CFG = 4, true, 42, 3.5
	st.ModelFolders = []string{"/mnt/models"}
	st.LastModel = "/mnt/models/Janus-Pro-1B"
	st.Answer.Temperature = 0.1
	if err := s.SaveSettings(st); err != nil {
		t.Fatal(err)
	}
	got, problems, err := s.LoadSettings()
	if err != nil || len(problems) != 0 {
		t.Fatal(err, problems)
	}
	if got.Backend != "cpu" || got.Threads != 2 || got.Weights != model.WeightsQ8 || got.Generation.N != 4 || !got.Generation.FixedSeed || got.Generation.Seed != 42 ||
		got.Generation.CFG != 3.5 || got.ModelFolders[0] != "/mnt/models" || got.LastModel != st.LastModel || got.Answer.Temperature != 0.1 {
		t.Errorf("LoadSettings = %+v, want %+v", got, st)
	}
}

func TestSettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*app.Settings)
		want   string
	}{
		{"backend", func(s *app.Settings) { s.Backend = "cuda" }, "backend"},
		{"threads", func(s *app.Settings) { s.Threads = -1 }, "threads"},
		{"images", func(s *app.Settings) { s.Generation.N = 9 }, "number of images"},
		{"no images", func(s *app.Settings) { s.Generation.N = 0 }, "number of images"},
		{"cfg", func(s *app.Settings) { s.Generation.CFG = -1 }, "guidance"},
		{"temperature", func(s *app.Settings) { s.Generation.Temperature = -0.5 }, "temperature"},
		{"answer", func(s *app.Settings) { s.Answer.TopP = 2 }, "answer settings"},
		{"folder", func(s *app.Settings) { s.ModelFolders = []string{"relative/dir"} }, "absolute"},
		{"test-only backend", func(s *app.Settings) { s.Backend = "metal-sim" }, "backend"},
		{"port", func(s *app.Settings) { s.Serve.Port = 0 }, "serve port"},
		{"weights", func(s *app.Settings) { s.Weights = "q3" }, "weights"},
		{"weights case", func(s *app.Settings) { s.Weights = "Q8" }, "weights"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := app.DefaultSettings()
			tc.change(&st)
			err := st.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want an error about %s", err, tc.want)
			}
			if err := openStore(t).SaveSettings(st); err == nil {
				t.Error("SaveSettings wrote invalid settings")
			}
		})
	}
	for _, b := range []string{"auto", "cpu", "metal", "CPU"} {
		st := app.DefaultSettings()
		st.Backend = b
		if err := st.Validate(); err != nil {
			t.Errorf("backend %q: %v", b, err)
		}
	}
	for _, w := range append(model.WeightFormats(), "") {
		st := app.DefaultSettings()
		st.Weights = w
		if err := st.Validate(); err != nil {
			t.Errorf("weights %q: %v", w, err)
		}
	}
}

// TestSettingsFile checks how files that were not written by SaveSettings are read: missing
// fields get defaults; corrupt and invalid files are set aside.
func TestSettingsFile(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		check         func(t *testing.T, st app.Settings)
		problem       string // "" when the file is read
	}{
		{name: "partial", content: `{"version": 1, "threads": 3}`, check: func(t *testing.T, st app.Settings) {
			if st.Threads != 3 || st.Backend != "auto" || st.Generation.N != 1 || st.Generation.CFG != model.DefaultCFG {
				t.Errorf("partial file read as %+v", st)
			}
		}},
		{name: "partial generation", content: `{"version": 1, "generation": {"n": 2}}`, check: func(t *testing.T, st app.Settings) {
			if st.Generation.N != 2 || st.Generation.CFG != model.DefaultCFG || st.Generation.Temperature != model.DefaultTemperature {
				t.Errorf("partial generation read as %+v", st.Generation)
			}
		}},
		{name: "partial serve", content: `{"version": 1, "serve": {"enabled": true}}`, check: func(t *testing.T, st app.Settings) {
			if !st.Serve.Enabled || st.Serve.Port != app.DefaultServePort || st.Serve.Addr() != "127.0.0.1:8765" {
				t.Errorf("partial serve read as %+v", st.Serve)
			}
		}},
		// A file written before the weights setting existed loads with its default.
		{name: "before weights", content: `{"version": 1, "backend": "cpu", "threads": 2, "generation": {"n": 2}}`, check: func(t *testing.T, st app.Settings) {
			if st.Weights != model.WeightsAuto || st.Backend != "cpu" || st.Threads != 2 || st.Generation.N != 2 {
				t.Errorf("file without weights read as %+v", st)
			}
		}},
		{name: "bad weights", content: `{"version": 1, "weights": "int3"}`, problem: "weights"},
		{name: "bad precision", content: `{"version": 1, "precision": "fp8"}`, problem: "precision"},
		{name: "corrupt", content: `{"version": 1, "thr`, problem: "not valid JSON"},
		{name: "bad port", content: `{"version": 1, "serve": {"port": 70000}}`, problem: "serve.port"},
		{name: "invalid", content: `{"version": 1, "threads": -4}`, problem: "threads"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			path := filepath.Join(s.Root(), app.SettingsFile)
			os.WriteFile(path, []byte(tc.content), 0o644)
			st, problems, err := s.LoadSettings()
			if err != nil {
				t.Fatal(err)
			}
			if tc.problem == "" {
				if len(problems) != 0 {
					t.Fatalf("problems %v", problems)
				}
				tc.check(t, st)
				return
			}
			if len(problems) != 1 || !strings.Contains(problems[0].Error(), tc.problem) {
				t.Fatalf("problems = %v, want one about %q", problems, tc.problem)
			}
			if def := app.DefaultSettings(); st.Backend != def.Backend || st.Threads != def.Threads {
				t.Errorf("with a bad file LoadSettings = %+v, want the defaults", st)
			}
			if kept, _ := os.ReadFile(problems[0].MovedTo); string(kept) != tc.content {
				t.Errorf("the set-aside file holds %q", kept)
			}
			// In its place, the settings as they were used (repaired), for the next start.
			again, _, err := s.LoadSettings()
			if data, _ := os.ReadFile(path); string(data) == tc.content || err != nil || again.Threads != st.Threads || again.Backend != st.Backend {
				t.Errorf("settings.json after the repair: %q (%v)", data, err)
			}
		})
	}
}

// A settings file that a newer version wrote, or that cannot be read, is neither moved nor
// written over: the defaults come with an error, and saving is refused until it can be read.
func TestSettingsHeld(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, path string)
		want    string
	}{
		{"newer", func(t *testing.T, path string) {
			os.WriteFile(path, []byte(`{"version": 2, "backend": "cpu", "api_key": "mine"}`), 0o600)
		}, "newer Janus Desktop wrote it (version 2"}, // and the message ends "update Janus Desktop to use it"
		// A folder where the file should be stands for any file that cannot be read (as root,
		// permissions do not stop a read).
		{"unreadable", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
			// Opening the store again leaves the folder openable (a file's 0600 would not).
			if _, err := app.OpenStore(filepath.Dir(path)); err != nil {
				t.Fatal(err)
			}
			if st, _ := os.Stat(path); st.Mode().Perm() != 0o755 {
				t.Errorf("the folder in settings.json's place became %v", st.Mode().Perm())
			}
		}, "is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			path := filepath.Join(s.Root(), app.SettingsFile)
			tc.prepare(t, path)
			before, _ := os.ReadFile(path)
			st, problems, err := s.LoadSettings()
			var held *app.SettingsHeldError
			if !errors.As(err, &held) || !strings.Contains(err.Error(), tc.want) || len(problems) != 0 {
				t.Fatalf("LoadSettings = %v, %v; want a SettingsHeldError saying %q", problems, err, tc.want)
			}
			then := "once it can be read, restart"
			if tc.name == "newer" {
				then = "update Janus Desktop to use it"
			}
			if !strings.HasSuffix(err.Error(), then) {
				t.Errorf("the held file's message %q does not end with %q", err, then)
			}
			if st.Backend != app.DefaultSettings().Backend {
				t.Errorf("settings %+v, want the defaults", st)
			}
			if err := s.SaveSettings(st); !errors.As(err, &held) {
				t.Errorf("SaveSettings over a held file = %v, want it refused", err)
			}
			if after, _ := os.ReadFile(path); string(after) != string(before) {
				t.Errorf("the held file changed: %q, was %q", after, before)
			}
			entries, _ := os.ReadDir(s.Root())
			for _, e := range entries {
				if strings.Contains(e.Name(), ".corrupt") {
					t.Errorf("the held file was set aside as %s", e.Name())
				}
			}
			// Once the file can be read again, a new LoadSettings lets saving go on.
			os.RemoveAll(path)
			if _, _, err := s.LoadSettings(); err != nil {
				t.Fatal(err)
			}
			if err := s.SaveSettings(st); err != nil {
				t.Errorf("SaveSettings after the file was fixed: %v", err)
			}
		})
	}
}

// One bad value resets that setting only: the API key, the model folders and the drafts
// beside it are kept, and the file as it was is set aside.
func TestSettingsSalvage(t *testing.T) {
	s := openStore(t)
	path := filepath.Join(s.Root(), app.SettingsFile)
	content := `{"version": 1, "threads": "4", "weights": "int3", "model_folders": ["/models", "relative/models", "/more"],
		"serve": {"enabled": true, "port": 70000, "api_key": "a-key-of-mine"}, "drafts": {"chat": "half a question"}}`
	os.WriteFile(path, []byte(content), 0o600)
	st, problems, err := s.LoadSettings()
	if err != nil {
		t.Fatal(err)
	}
	def := app.DefaultSettings()
	if st.Threads != def.Threads || st.Weights != def.Weights {
		t.Errorf("bad values read as threads %d, weights %q; want the defaults", st.Threads, st.Weights)
	}
	if st.Serve.APIKey != "a-key-of-mine" || st.Serve.Port != def.Serve.Port || !st.Serve.Enabled ||
		!slices.Equal(st.ModelFolders, []string{"/models", "/more"}) || st.Drafts.Chat != "half a question" {
		t.Errorf("the good settings were not kept: %+v", st)
	}
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), "took their defaults: model_folders[1], serve.port, threads, weights; the others were kept") {
		t.Fatalf("problems = %v, want one naming serve.port, threads and weights", problems)
	}
	if kept, _ := os.ReadFile(problems[0].MovedTo); string(kept) != content {
		t.Errorf("the file as it was is not kept: %q", kept)
	}
	// The repaired settings are on disk at once: a quit before any change keeps them.
	again, problems, err := s.LoadSettings()
	if err != nil || len(problems) != 0 || again.Serve.APIKey != "a-key-of-mine" || again.Drafts.Chat != "half a question" {
		t.Errorf("after a second load: %+v, %v, %v", again, problems, err)
	}
}

// A file written by hand without the version mark ({"threads": 3}) is read as this
// version's, with no problem reported and nothing set aside (it was renamed .corrupt-… and
// a red notice said so until the first message); an invalid value in it is still repaired.
func TestSettingsWithoutVersion(t *testing.T) {
	s := openStore(t)
	path := filepath.Join(s.Root(), app.SettingsFile)
	os.WriteFile(path, []byte(`{"threads": 3}`), 0o600)
	st, problems, err := s.LoadSettings()
	if err != nil || st.Threads != 3 || len(problems) != 0 {
		t.Fatalf("LoadSettings = threads %d, problems %v, %v", st.Threads, problems, err)
	}
	if aside, _ := filepath.Glob(path + ".corrupt-*"); len(aside) != 0 {
		t.Errorf("set aside: %v", aside)
	}
	os.WriteFile(path, []byte(`{"threads": -4}`), 0o600)
	if st, problems, _ := s.LoadSettings(); len(problems) != 1 || st.Threads == -4 {
		t.Errorf("an invalid hand-written value: threads %d, problems %v", st.Threads, problems)
	}
}

// The window's answers sample with the filters the CLI and the API take when none is named
// (the official demo's top-p, Hugging Face's top-k): it sampled with neither, so one question
// at one temperature and seed was answered differently in the window. A top_p in
// settings.json is kept.
func TestAnswerSettingsSampleAsTheCLI(t *testing.T) {
	tests := []struct {
		in   app.AnswerSettings
		want model.AnswerOptions
	}{
		{app.AnswerSettings{}, model.AnswerOptions{TopP: model.DefaultTopP, TopK: model.DefaultTopK}},
		{app.AnswerSettings{MaxNewTokens: 300, Temperature: 0.7},
			model.AnswerOptions{MaxNewTokens: 300, Temperature: 0.7, TopP: model.DefaultTopP, TopK: model.DefaultTopK}},
		{app.AnswerSettings{Temperature: 1, TopP: 1}, model.AnswerOptions{Temperature: 1, TopP: 1, TopK: model.DefaultTopK}},
		{app.AnswerSettings{Temperature: 1, TopP: 0.5}, model.AnswerOptions{Temperature: 1, TopP: 0.5, TopK: model.DefaultTopK}},
	}
	for _, tt := range tests {
		if got := tt.in.Options(); got != tt.want {
			t.Errorf("%+v: options %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// LoadOptions writes each choice one way, so that settings that load alike compare equal (a
// window offered to load again for "" against "exact", or 2 threads against all 2 cores).
func TestSettingsLoadOptions(t *testing.T) {
	cores := runtime.NumCPU()
	defaults := app.LoadOptions{Name: "m", Backend: "auto", Weights: model.WeightsStored, Precision: app.PrecisionExact}
	fewer := defaults
	fewer.Threads = cores - 1
	tests := []struct {
		name string
		in   app.Settings
		want app.LoadOptions
	}{
		{"defaults", app.Settings{}, defaults},
		{"as written by hand", app.Settings{Backend: " CPU ", Weights: "Q8", Precision: "BF16"},
			app.LoadOptions{Name: "m", Backend: "cpu", Weights: model.WeightsQ8, Precision: app.PrecisionBF16}},
		{"every core", app.Settings{Threads: cores}, defaults},
		{"more than every core", app.Settings{Threads: cores + 3}, defaults},
		{"fewer cores", app.Settings{Threads: cores - 1}, fewer}, // 0 on one core: every core
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.LoadOptions("m"); got != tt.want {
				t.Errorf("%+v, want %+v", got, tt.want)
			}
		})
	}
}
