package app_test

import (
	"runtime"
	"slices"
	"testing"

	"github.com/janus-desktop/janus/app"
)

// TestBackendChoices: "auto" first, then the linked backends (this test links cpu and
// metal), never the test-only simulated device; each choice validates as a setting.
func TestBackendChoices(t *testing.T) {
	choices := app.BackendChoices()
	var values []string
	for _, c := range choices {
		values = append(values, c.Value)
		st := app.DefaultSettings()
		st.Backend = c.Value
		if err := st.Validate(); err != nil {
			t.Errorf("choice %+v does not validate: %v", c, err)
		}
	}
	want := []string{"auto", "cpu"}
	if runtime.GOOS == "darwin" {
		want = []string{"auto", "metal", "cpu"}
	}
	if !slices.Equal(values, want) {
		t.Errorf("values %q, want %q (metal only on macOS, never metal-sim)", values, want)
	}
	// A settings file written on a Mac stays valid elsewhere: Metal is a valid setting
	// everywhere it is linked, though offered only on macOS.
	st := app.DefaultSettings()
	st.Backend = "metal"
	if err := st.Validate(); err != nil {
		t.Errorf("backend metal: %v", err)
	}
	if choices[0].Label != "Automatic" || !slices.Contains(choices, app.BackendChoice{Label: "CPU", Value: "cpu"}) {
		t.Errorf("labels %+v", choices)
	}
}
