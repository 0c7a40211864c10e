//go:build linux

package metalsim

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/metal"
	"github.com/janus-desktop/janus/metal/internal/sim"
	"github.com/janus-desktop/janus/metal/kernels"
)

// Options configure Open.
type Options struct {
	// Reverse runs threads and threadgroups in reverse order (a missing barrier shows).
	Reverse bool
	// Sanitize uses the AddressSanitizer/UBSan build of the kernels; the process must have
	// preloaded the ASan runtime (sim.SanitizerRuntime).
	Sanitize bool
}

// Open opens the Metal backend on the simulated device. Without clang the error wraps
// compute.ErrUnavailable.
func Open(ctx context.Context, o Options) (*metal.Backend, error) {
	v := sim.Optimized
	if o.Sanitize {
		v = sim.Sanitized
	}
	dev, err := sim.Open(ctx, kernels.Source(), sim.Options{Variant: v, Reverse: o.Reverse})
	if errors.Is(err, sim.ErrNoCompiler) {
		return nil, fmt.Errorf("metal-sim: %w: %w", err, compute.ErrUnavailable)
	}
	if err != nil {
		return nil, fmt.Errorf("metal-sim: %w", err)
	}
	return metal.New("metal-sim", dev)
}

// Stats returns the simulated device's counts of command buffers and dispatches, for tests
// of the backend's encoding; ok is false for a backend on another device.
func Stats(b *metal.Backend) (s sim.Stats, ok bool) {
	d, ok := b.GPU().(*sim.Device)
	if !ok {
		return sim.Stats{}, false
	}
	return d.Stats(), true
}

// init registers "metal-sim", a test and debugging backend that "auto" never picks.
func init() {
	compute.Register("metal-sim", compute.TestOnly, func(compute.Options) (compute.Backend, error) {
		return Open(context.Background(), Options{
			Reverse:  os.Getenv("JANUS_METAL_SIM_REVERSE") == "1",
			Sanitize: os.Getenv("JANUS_METAL_SIM_SANITIZE") == "1",
		})
	})
}
