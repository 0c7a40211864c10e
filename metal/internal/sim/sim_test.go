//go:build linux

package sim

import (
	"context"
	"errors"
	"testing"

	"github.com/janus-desktop/janus/metal/kernels"
)

// compiler returns clang++ or skips the test with a message.
func compiler(t *testing.T) string {
	t.Helper()
	c, err := FindCompiler()
	if errors.Is(err, ErrNoCompiler) {
		t.Skip("skipping: no clang++ on PATH; install clang to test the Metal kernels on the simulated device")
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestKernelsBuild(t *testing.T) {
	c := compiler(t)
	if _, err := Build(context.Background(), c, kernels.Source(), Optimized); err != nil {
		t.Fatal(err)
	}
}

func TestStrictAddressSpaces(t *testing.T) {
	c := compiler(t)
	ctx := context.Background()
	if err := CheckAddressSpaces(ctx, c, kernels.Source()); err != nil {
		t.Fatalf("the kernels fail the strict pass: %v", err)
	}
	// Each of these compiles with the plain shim but is an address-space error in real MSL.
	wrong := map[string]string{
		"device pointer to a thread parameter": `
inline float sum4(thread const float* v) { return v[0] + v[1] + v[2] + v[3]; }
kernel void k(device const float* x [[buffer(0)]], device float* y [[buffer(1)]], uint i [[thread_position_in_grid]]) {
  y[i] = sum4(x + i);
}`,
		"threadgroup array to a device parameter": `
inline void fill(device float* v, uint i) { v[i] = 1.0f; }
kernel void k(device float* y [[buffer(0)]], uint i [[thread_position_in_threadgroup]]) {
  threadgroup float tile[32];
  fill(tile, i);
  y[i] = tile[i];
}`,
		"constant buffer to a device parameter": `
inline float first(device const float* v) { return v[0]; }
kernel void k(constant float* c [[buffer(0)]], device float* y [[buffer(1)]], uint i [[thread_position_in_grid]]) {
  y[i] = first(c);
}`,
	}
	for name, body := range wrong {
		t.Run(name, func(t *testing.T) {
			src := "#include <metal_stdlib>\nusing namespace metal;\n" + body
			if err := checkSyntax(ctx, c, src, false); err != nil {
				t.Fatalf("the plain shim rejects the kernel too, so this case proves nothing: %v", err)
			}
			err := CheckAddressSpaces(ctx, c, src)
			if err == nil {
				t.Fatal("the strict pass accepted a kernel that mixes address spaces")
			}
			t.Logf("rejected as expected: %v", err)
		})
	}
}
