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
