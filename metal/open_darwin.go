//go:build darwin

package metal

import (
	"errors"
	"fmt"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/metal/internal/mtl"
	"github.com/janus-desktop/janus/metal/kernels"
)

// Open opens the Metal backend on the system's Apple GPU: it compiles the kernels and every
// pipeline, so a backend that opens can run every op. Without a Metal device, or with only
// other GPUs (an Intel Mac's), or one that runs narrower SIMD groups, the error wraps
// compute.ErrUnavailable: the CPU is the better backend there.
func Open() (*Backend, error) {
	dev, err := mtl.Open(kernels.Source())
	if errors.Is(err, mtl.ErrNoDevice) || errors.Is(err, mtl.ErrNotAppleGPU) {
		return nil, fmt.Errorf("metal: %w: %w", err, compute.ErrUnavailable)
	}
	if err != nil {
		return nil, fmt.Errorf("metal: %w", err)
	}
	b, err := New("metal", dev)
	if err != nil {
		dev.Close()
		return nil, err
	}
	return b, nil
}

// Live returns the Metal buffers and command buffers alive on the backend's device, for
// leak tests; ok is false on another device.
func (b *Backend) Live() (buffers, commandBuffers int64, ok bool) {
	d, ok := b.dev.(*mtl.Device)
	if !ok {
		return 0, 0, false
	}
	buffers, commandBuffers = d.Live()
	return buffers, commandBuffers, true
}
