// Package computetest checks that a compute.Backend keeps the compute contract: Run is the
// conformance suite every backend's tests call (every op on random inputs of odd and even
// sizes, every weight dtype an op takes, against a float64 reference; PyTorch's own float32
// outputs for every op; the memory and host-slice rules of the contract), and Each runs a
// network test once per backend linked into the test binary.
//
// The tolerances are the ones PyTorch's float32 CPU ops meet against the same float64
// references, scaled with the length of each sum; a GPU backend must meet them too, which
// rules out fast-math approximations of exp, erf and division.
//
// The package links no backend: a backend's own tests pass an open function to Run, and
// network tests get their backends from the registry (a blank import of
// internal/testbackends links them all).
package computetest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

// BackendsEnv names the environment variable that, when set, lists the backends Each runs
// on (comma-separated registry names, e.g. "cpu,metal-sim"); a backend listed there that
// cannot open fails the test instead of being skipped.
const BackendsEnv = "JANUS_TEST_BACKENDS"

// Backends lists the backends Each runs on: those BackendsEnv names, else every registered
// backend, test-only ones included.
func Backends() []string {
	if v := strings.TrimSpace(os.Getenv(BackendsEnv)); v != "" {
		var names []string
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
		return names
	}
	return compute.AllNames()
}

// Each runs fn as one subtest per backend of Backends, on a backend opened with opts for that
// subtest and closed after it and after the cleanups fn registered. A backend that reports compute.ErrUnavailable is skipped
// unless BackendsEnv asked for it; with no backend registered the test fails, since a
// network test that runs on nothing proves nothing.
func Each(t *testing.T, opts compute.Options, fn func(t *testing.T, be compute.Backend)) {
	t.Helper()
	names := Backends()
	if len(names) == 0 {
		t.Fatal("no compute backend is linked into the test binary (import _ \"github.com/janus-desktop/janus/internal/testbackends\")")
	}
	asked := os.Getenv(BackendsEnv) != ""
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			be, err := compute.Open(name, opts)
			if err != nil {
				if errors.Is(err, compute.ErrUnavailable) && !asked {
					t.Skip(err)
				}
				t.Fatal(err)
			}
			// A cleanup, not a defer, so that it runs after the cleanups fn registers (a
			// model that frees its weights on this backend).
			t.Cleanup(func() {
				if err := be.Close(); err != nil {
					t.Errorf("close %s: %v", name, err)
				}
			})
			fn(t, be)
		})
	}
}

// Run runs the conformance suite, one subtest per op or rule, each on a new backend from
// open, which Run closes when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) compute.Backend) {
	tests := []struct {
		name string
		run  func(t *testing.T, be compute.Backend)
	}{
		{"FromBytes", testFromBytes},
		{"FromBytesErrors", testFromBytesErrors},
		{"WriteRows", testWriteRows},
		{"ReshapeReadFree", testReshapeReadFree},
		{"View", testView},
		{"MemoryUsed", testMemoryUsed},
		{"HostSlicesCopied", testHostSlicesCopied},
		{"Ordering", testOrdering},
		{"InPlace", testInPlace},
		{"Linear", testLinear},
		{"LinearRandomShapes", testLinearRandomShapes},
		{"Linears", testLinears},
		{"Embedding", testEmbedding},
		{"Quantized", testQuantized},
		{"Elementwise", testElementwise},
		{"ElementwiseRepeatInPlace", testElementwiseRepeat},
		{"Norms", testNorms},
		{"GroupNorm", testGroupNorm},
		{"RoPE", testRoPE},
		{"Attention", testAttention},
		{"CopyRows", testCopyRows},
		{"CopyRowsF16", testCopyRowsF16},
		{"AttentionF16", testAttentionF16},
		{"CopyRowsQ8", testCopyRowsQ8},
		{"AttentionQ8", testAttentionQ8},
		{"Transpose", testTranspose},
		{"Upsample2x", testUpsample},
		{"Conv2D", testConv2D},
		{"TwoDimensionalForms", testTwoDimensionalForms},
		{"ShapeMismatchPanics", testShapeMismatchPanics},
		{"AgainstTorch", testAgainstTorch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := open(t)
			defer func() {
				if err := be.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			}()
			tt.run(t, be)
			if err := be.Sync(); err != nil {
				t.Errorf("Sync after %s: %v", tt.name, err)
			}
		})
	}
}

// randVals returns n values uniform in [-scale, scale).
func randVals(rng *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32((rng.Float64()*2 - 1) * scale)
	}
	return v
}

// read returns t's values, failing the test when the backend cannot read them.
func read(t *testing.T, be compute.Backend, x *compute.Tensor) []float32 {
	t.Helper()
	out := make([]float32, x.Len())
	if err := be.Read(x, out); err != nil {
		t.Fatalf("read %v: %v", x, err)
	}
	return out
}

// closeTo fails t when max|got-want| > tol·max(1, max|want|).
func closeTo(t *testing.T, name string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	var maxRef, maxDiff float64
	at := 0
	for i := range want {
		maxRef = max(maxRef, math.Abs(want[i]))
		if d := math.Abs(float64(got[i]) - want[i]); d > maxDiff || math.IsNaN(d) {
			maxDiff, at = d, i
		}
	}
	if !(maxDiff <= tol*max(1, maxRef)) {
		t.Errorf("%s: max |diff| %.3g at %d (got %v, want %v), limit %.3g", name, maxDiff, at, got[at], want[at], tol*max(1, maxRef))
	}
}

// Exact fails t unless got equals want bit for bit: the suite's check, for a backend's own
// tests.
func Exact(t *testing.T, name string, got, want []float32) {
	t.Helper()
	exact(t, name, got, want)
}

// exact fails t unless got equals want bit for bit.
func exact(t *testing.T, name string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] = %v, want %v", name, i, got[i], want[i])
		}
	}
}

func f64s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// weightTensor stores w as dt (rounded by the backend's FromBytes) and returns the tensor
// plus the values it holds, which the float64 reference then uses.
func weightTensor(t *testing.T, be compute.Backend, dt compute.DType, w []float32, shape ...int) (*compute.Tensor, []float64) {
	t.Helper()
	wt, err := be.FromBytes(dt, shape, compute.F32, le32(w))
	if err != nil {
		t.Fatal(err)
	}
	return wt, f64s(read(t, be, wt))
}

// dtypes are the weight dtypes Linear and Embedding take.
var dtypes = []compute.DType{compute.F32, compute.F16, compute.BF16}

// shapeName is a subtest name for a shape and dtype, e.g. "5x257_BF16".
func shapeName(shape []int, extra ...any) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = fmt.Sprint(d)
	}
	s := strings.Join(parts, "x")
	for _, e := range extra {
		s += fmt.Sprintf("_%v", e)
	}
	return s
}

// withShape returns shape with its last dimension replaced by last.
func withShape(shape []int, last int) []int {
	return append(slices.Clone(shape[:len(shape)-1]), last)
}
