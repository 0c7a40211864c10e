package cpu

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
)

func randVals(rng *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32((rng.Float64()*2 - 1) * scale)
	}
	return v
}

func read(t *testing.T, be *Backend, x *Tensor) []float32 {
	t.Helper()
	out := make([]float32, x.Len())
	if err := be.Read(x, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// weightTensor stores w as dt and returns the tensor.
func weightTensor(t *testing.T, be *Backend, dt compute.DType, w []float32, shape ...int) *Tensor {
	t.Helper()
	wt, err := be.FromBytes(dt, shape, compute.F32, le(compute.F32, w))
	if err != nil {
		t.Fatal(err)
	}
	return wt
}

// TestConformance runs the compute conformance suite with every kernel set this CPU has,
// on three worker goroutines so that the ops split their work.
func TestConformance(t *testing.T) {
	for _, ks := range kernelSets() {
		t.Run(kernelName(ks), func(t *testing.T) {
			computetest.Run(t, func(*testing.T) compute.Backend { return New(3, WithKernels(ks)) })
		})
	}
}

// TestRegistered checks that the package registers itself and that Open passes Threads.
func TestRegistered(t *testing.T) {
	for _, name := range []string{"cpu", "auto", ""} {
		be, err := compute.Open(name, compute.Options{Threads: 3})
		if err != nil {
			t.Fatalf("Open(%q): %v", name, err)
		}
		if cb, ok := be.(*Backend); !ok || cb.Threads() != 3 {
			t.Errorf("Open(%q) = %T, want a cpu backend with 3 threads", name, be)
		}
		be.Close()
	}
	if !slices.Contains(compute.Names(), "cpu") {
		t.Errorf("compute.Names() = %v, want cpu among them", compute.Names())
	}
}

// kernelSets lists the kernel sets this machine runs: the portable Go kernels always, each
// assembly set too when the CPU has it.
func kernelSets() []Kernels {
	sets := []Kernels{KernelsGeneric}
	if simdBest() == simdNEON {
		return append(sets, KernelsNEON)
	}
	if simdBest() >= simdAVX2 {
		sets = append(sets, KernelsAVX2)
	}
	if simdBest() >= simdAVX512 {
		sets = append(sets, KernelsAVX512)
	}
	return sets
}

// TestKernelSelection checks that WithKernels and JANUS_CPU_KERNELS pick the set asked for,
// falling back to the widest set below it that this CPU runs.
func TestKernelSelection(t *testing.T) {
	// On arm64 the amd64 names pick the generic kernels, and neon is the best set; on amd64
	// neon picks the generic kernels.
	upTo := func(s simdSet) string {
		if simdBest() == simdNEON {
			return "generic"
		}
		return min(s, simdBest()).String()
	}
	neon := "generic"
	if simdBest() == simdNEON {
		neon = "neon"
	}
	for _, c := range []struct {
		name string
		env  string
		opt  []Option
		want string
	}{
		{"auto", "", nil, simdBest().String()},
		{"WithKernels(generic)", "", []Option{WithKernels(KernelsGeneric)}, "generic"},
		{"WithKernels(avx2)", "", []Option{WithKernels(KernelsAVX2)}, upTo(simdAVX2)},
		{"WithKernels(avx512)", "", []Option{WithKernels(KernelsAVX512)}, upTo(simdAVX512)},
		{"env generic", "generic", nil, "generic"},
		{"env avx2", "avx2", nil, upTo(simdAVX2)},
		{"env avx512", "avx512", nil, upTo(simdAVX512)},
		{"WithKernels(neon)", "", []Option{WithKernels(KernelsNEON)}, neon},
		{"env neon", "neon", nil, neon},
		{"option beats env", "avx2", []Option{WithKernels(KernelsAuto)}, simdBest().String()},
		{"env auto", "auto", nil, simdBest().String()},
		{"unknown env value", "bogus", nil, simdBest().String()},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("JANUS_CPU_KERNELS", c.env)
			be := New(1, c.opt...)
			defer be.Close()
			if got := be.Kernels(); got != c.want {
				t.Errorf("Kernels() = %q, want %q", got, c.want)
			}
		})
	}
}

func kernelName(ks Kernels) string {
	return New(1, WithKernels(ks)).Kernels()
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}
