//go:build linux

package metal

import (
	"context"
	"errors"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
)

// openSim opens the Metal backend on the simulated device, skipping the test with a message
// when clang is not installed.
func openSim(t *testing.T, o SimOptions) *Backend {
	t.Helper()
	b, err := OpenSim(context.Background(), o)
	if errors.Is(err, compute.ErrUnavailable) {
		t.Skipf("skipping: %v (install clang to run the Metal kernels on the simulated device)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConformance runs the compute conformance suite through the Metal backend's Go code
// and kernels on the simulated device, threads in forward and in reverse order.
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts SimOptions
	}{
		{"forward", SimOptions{}},
		{"reverse", SimOptions{Reverse: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			computetest.Run(t, func(t *testing.T) compute.Backend { return openSim(t, tc.opts) })
		})
	}
}
