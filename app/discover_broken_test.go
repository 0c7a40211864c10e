package app_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
)

// TestDiscoverListsUnreadableConfig: a model folder whose config.json is not JSON is listed
// as incomplete with the reason, like any other broken folder, not left out; a valid config
// of another model is still left out.
func TestDiscoverListsUnreadableConfig(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		folder, config string
		listed         bool
		problem        string
	}{
		{"truncated", `{"model_type": "multi_mod`, true, "config.json"},
		{"not-json", "hidden_size = 64\n", true, "config.json"},
		{"empty", "", true, "config.json"},
		{"llama", `{"model_type": "llama", "architectures": ["LlamaForCausalLM"]}`, false, ""},
	}
	for _, tc := range tests {
		dir := filepath.Join(root, tc.folder)
		apptest.TinyA(t, dir)
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(tc.config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := app.Discover([]string{root})
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	for _, tc := range tests {
		var found *app.ModelEntry
		for i := range entries {
			if entries[i].Name == tc.folder {
				found = &entries[i]
			}
		}
		switch {
		case !tc.listed && found != nil:
			t.Errorf("%s: listed %+v", tc.folder, *found)
		case tc.listed && found == nil:
			t.Errorf("%s: not listed (entries %+v)", tc.folder, entries)
		case tc.listed && (found.Complete || !strings.Contains(found.Problem, tc.problem)):
			t.Errorf("%s: complete %v, problem %q; want incomplete with a problem naming %s", tc.folder, found.Complete, found.Problem, tc.problem)
		case tc.listed && (found.Family != "Janus-Pro" || found.Params == 0):
			// The rest of the folder is still described.
			t.Errorf("%s: family %q, params %d", tc.folder, found.Family, found.Params)
		}
	}
}

// TestInspectUnreadableConfig: Inspect describes a folder whose config.json is not a JSON
// object as an incomplete model, naming the file.
func TestInspectUnreadableConfig(t *testing.T) {
	for _, config := range []string{`{"model_type": `, `[1, 2]`, "\x00\x01"} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
		e, err := app.Inspect(dir)
		if err != nil || e.Complete || !strings.Contains(e.Problem, "config.json") {
			t.Errorf("config %q: Inspect = %+v, %v; want an incomplete entry naming config.json", config, e, err)
		}
	}
}

// TestDiscoverRefusesHugeCounts: a config asking for billions of layers is listed as
// incomplete with the reason; planning its weights first ran the process out of memory (a
// fatal error that no recover catches) at every start of the app.
func TestDiscoverRefusesHugeCounts(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "huge")
	apptest.TinyA(t, dir)
	path := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["language_config"].(map[string]any)["num_hidden_layers"] = 2000000000
	if raw, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	entries, err := app.Discover([]string{root})
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if len(entries) != 1 || entries[0].Complete || !strings.Contains(entries[0].Problem, "num_hidden_layers") {
		t.Fatalf("entries %+v, want the folder incomplete with a problem naming num_hidden_layers", entries)
	}
}

// TestInspectSummaries: a broken folder's problem is also said in one plain line for the
// window, by its kind: a weight file cut short, no weights, no tokenizer, weights of other
// shapes than the config's.
func TestInspectSummaries(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, dir string)
		want  string
	}{
		{"cut short", func(t *testing.T, dir string) { apptest.CutWeights(t, dir) }, "a weight file is cut short: probably an interrupted download or copy"},
		{"no weights", func(t *testing.T, dir string) {
			for _, f := range weightFilesIn(t, dir) {
				os.Remove(f)
			}
			os.Remove(filepath.Join(dir, "model.safetensors.index.json"))
		}, "it has no weight files"},
		{"a shard missing", func(t *testing.T, dir string) {
			if err := os.Remove(weightFilesIn(t, dir)[1]); err != nil {
				t.Fatal(err)
			}
		}, "a weight file is missing: probably an unfinished download"},
		{"no tokenizer", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "tokenizer.json")) }, "it has no tokenizer.json"},
		{"other shapes", func(t *testing.T, dir string) {
			raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			var cfg map[string]any
			if err := json.Unmarshal(raw, &cfg); err != nil {
				t.Fatal(err)
			}
			lang := cfg["language_config"].(map[string]any)
			lang["num_hidden_layers"] = lang["num_hidden_layers"].(float64) + 1
			raw, _ = json.Marshal(cfg)
			if err := os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "its weights do not match its config.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "m")
			apptest.TinyA(t, dir)
			tc.spoil(t, dir)
			e, err := app.Inspect(dir)
			if err != nil || e.Complete || !strings.HasPrefix(e.Summary, tc.want) || e.Problem == "" {
				t.Errorf("Inspect: complete %v, summary %q, problem %q, %v; want the summary %q", e.Complete, e.Summary, e.Problem, err, tc.want)
			}
		})
	}
}

// weightFilesIn lists the weight files of a model folder.
func weightFilesIn(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no weight files in %s (%v)", dir, err)
	}
	return files
}

// TestInspectStatus: files missing or cut short (what an unfinished download or copy leaves)
// make a folder incomplete; files present but unusable make it damaged, whatever else is
// missing, since downloading the rest would not mend them.
func TestInspectStatus(t *testing.T) {
	write := func(name, text string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// truncate replaces the first weight shard (a symlink to the fixture's) by its first half.
	truncate := func(t *testing.T, dir string) {
		shards, err := filepath.Glob(filepath.Join(dir, "model*.safetensors"))
		if err != nil || len(shards) == 0 {
			t.Fatalf("no weight shard in %s (%v)", dir, err)
		}
		raw, err := os.ReadFile(shards[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(shards[0]); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(shards[0], raw[:len(raw)/2], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name   string
		skip   []string
		break_ func(t *testing.T, dir string)
		want   string
	}{
		{"complete", nil, nil, "ok"},
		{"no tokenizer", []string{"tokenizer.json"}, nil, "incomplete"},
		{"no weights", []string{apptest.WeightFiles}, nil, "incomplete"},
		{"weights cut short", nil, truncate, "incomplete"},
		{"tokenizer not JSON", nil, write("tokenizer.json", `{"added_tokens": [`), "damaged"},
		{"config not a model's", nil, write("config.json", `{"model_type": "multi_modality", "language_config": {"hidden_size": -4}}`), "damaged"},
		{"no weights, tokenizer not JSON", []string{apptest.WeightFiles}, write("tokenizer.json", "{"), "damaged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "m")
			apptest.TinyA(t, dir, tc.skip...)
			if tc.break_ != nil {
				tc.break_(t, dir)
			}
			e, err := app.Inspect(dir)
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			if got := e.Status(); got != tc.want || e.Complete != (tc.want == "ok") {
				t.Errorf("status %q (complete %v, problem %q), want %q", got, e.Complete, e.Problem, tc.want)
			}
			if _, err := app.Find([]app.ModelEntry{e}, "m"); tc.want != "ok" && (err == nil || !strings.Contains(err.Error(), " is "+tc.want+": ")) {
				t.Errorf("Find: %v, want an error saying the model is %s", err, tc.want)
			}
		})
	}
}
