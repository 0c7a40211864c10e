package app

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/janus-desktop/janus/compute"
)

// OpenBackend opens the compute backend a model runs on (name as Settings.Backend holds it,
// threads 0 for every core), so that the window and the CLI open theirs alike and model code
// never chooses one. The caller gives the model the same precision (model.Options.Precision,
// which also picks the KV cache's format), and closes the backend or hands it over
// (model.Options.OwnBackend). compute.Open's errors name the backend already and are returned
// as they are.
func OpenBackend(name string, threads int, precision string) (compute.Backend, error) {
	if threads < 0 {
		return nil, fmt.Errorf("threads %d is negative", threads)
	}
	if err := compute.CheckPrecision(precision); err != nil {
		return nil, err
	}
	return compute.Open(name, compute.Options{Threads: threads, Precision: precision})
}

// BackendChoice is one entry of the settings' backend list.
type BackendChoice struct {
	// Label is what the list shows ("Automatic", "CPU", "Metal").
	Label string
	// Value is what Settings.Backend and LoadOptions.Backend hold ("auto", "cpu", "metal").
	Value string
}

// BackendChoices lists "auto" and then the backends linked into the program that can run on
// this operating system, best first (compute.Names: the test-only simulated Metal device is
// not offered). A backend listed may still be unable to run on this machine (a Mac without a
// Metal device); loading with it then fails with an error that says so, while "auto" falls
// back to the next.
func BackendChoices() []BackendChoice {
	choices := []BackendChoice{{Label: "Automatic", Value: "auto"}}
	for _, n := range compute.Names() {
		if only, ok := backendSystem[n]; ok && only != runtime.GOOS {
			continue
		}
		choices = append(choices, BackendChoice{Label: backendTitle(n), Value: n})
	}
	return choices
}

// backendSystem names the operating system of the backends that run on one only. They
// register everywhere (so that asking for one elsewhere says why it cannot run), but a list
// of choices should not offer what can only fail. Opening a backend to find out is no
// answer: on a Mac, opening Metal compiles every pipeline.
var backendSystem = map[string]string{"metal": "darwin"}

// validBackend reports whether name is "auto" or a user-facing backend linked into the
// program, on any system: a settings file written on a Mac stays valid elsewhere.
func validBackend(name string) bool {
	return strings.EqualFold(name, "auto") || slices.ContainsFunc(compute.Names(), func(n string) bool { return strings.EqualFold(n, name) })
}

// backendTitle is a backend's name for people.
func backendTitle(name string) string {
	switch name {
	case "cpu":
		return "CPU"
	case "metal":
		return "Metal"
	case "metal-sim":
		return "Metal (simulated)"
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

// kernelTitles name the CPU backend's kernel sets (cpu.Backend.Kernels) for people; the
// generic Go kernels are not worth a mention.
var kernelTitles = map[string]string{"avx512": "AVX-512", "avx512+amx": "AVX-512 + AMX",
	"avx512+vdpbf16ps": "AVX-512 BF16", "avx2-fma": "AVX2", "neon": "NEON"}

// backendLabel describes a backend for people: "CPU · 8 threads · AVX-512",
// "Metal · Apple M2 Pro". It asks only what the backend offers through optional methods
// (Threads and Kernels of the CPU backend, Device of Metal's), so app names no backend
// package.
func backendLabel(be compute.Backend) string {
	parts := []string{backendTitle(be.Name())}
	if t, ok := be.(interface{ Threads() int }); ok {
		if n := t.Threads(); n == 1 {
			parts = append(parts, "1 thread")
		} else {
			parts = append(parts, fmt.Sprintf("%d threads", n))
		}
	}
	if k, ok := be.(interface{ Kernels() string }); ok {
		if title := kernelTitles[k.Kernels()]; title != "" {
			parts = append(parts, title)
		}
	}
	if d, ok := be.(interface{ Device() string }); ok {
		if name := d.Device(); name != "" {
			parts = append(parts, name)
		}
	}
	return strings.Join(parts, " · ")
}

// fastArithmetic names what the BF16 precision runs on with be (the CPU backend's
// BF16Kernels), for people; "" where it stays exact or the backend does not say.
func fastArithmetic(be compute.Backend) string {
	k, ok := be.(interface{ BF16Kernels() string })
	if !ok {
		return ""
	}
	switch k.BF16Kernels() {
	case "avx512+amx":
		return "AMX"
	case "avx512", "avx512+vdpbf16ps":
		return "AVX-512 BF16"
	}
	return ""
}
