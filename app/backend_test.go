package app_test

import (
	"slices"
	"testing"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/compute"
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
	if want := append([]string{"auto"}, compute.Names()...); !slices.Equal(values, want) {
		t.Errorf("values %q, want %q", values, want)
	}
	if !slices.Contains(values, "cpu") || !slices.Contains(values, "metal") || slices.Contains(values, "metal-sim") {
		t.Errorf("values %q: want cpu and metal, not metal-sim", values)
	}
	if choices[0].Label != "Automatic" || !slices.Contains(choices, app.BackendChoice{Label: "CPU", Value: "cpu"}) {
		t.Errorf("labels %+v", choices)
	}
}
