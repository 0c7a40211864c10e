package app_test

import (
	"errors"
	"runtime"
	"slices"
	"strings"
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

// TestOpenBackend: the backend named opens with the threads and precision asked; a bad name,
// thread count or precision, or a backend this machine cannot run, is an error that says so.
func TestOpenBackend(t *testing.T) {
	be, err := app.OpenBackend("cpu", 2, compute.PrecisionBF16)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	if be.Name() != "cpu" {
		t.Errorf("backend %q, want cpu", be.Name())
	}
	if th, ok := be.(interface{ Threads() int }); !ok || th.Threads() != 2 {
		t.Errorf("the cpu backend does not run 2 threads per op (%T)", be)
	}
	// The CPU backend runs BF16 where its kernels can (else exact): as compute.Open's would.
	ref, err := compute.Open("cpu", compute.Options{Threads: 2, Precision: compute.PrecisionBF16})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	type precision interface{ Precision() string }
	if p, ok := be.(precision); !ok || p.Precision() != ref.(precision).Precision() {
		t.Errorf("the cpu backend was not opened with the bf16 precision (%T)", be)
	}
	auto, err := app.OpenBackend("", 0, "")
	if err != nil {
		t.Fatalf("auto: %v", err)
	}
	auto.Close()
	for _, tc := range []struct {
		name, backend string
		threads       int
		precision     string
		want          string
	}{
		{"unknown backend", "tpu", 0, "", `unknown backend "tpu"`},
		{"negative threads", "cpu", -1, "", "threads -1"},
		{"unknown precision", "cpu", 0, "fp8", `precision "fp8"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be, err := app.OpenBackend(tc.backend, tc.threads, tc.precision)
			if err == nil {
				be.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
	if runtime.GOOS != "darwin" {
		if _, err := app.OpenBackend("metal", 0, ""); !errors.Is(err, compute.ErrUnavailable) {
			t.Errorf("metal off macOS: %v, want compute.ErrUnavailable", err)
		}
	}
}
