//go:build darwin

package metal

import (
	"errors"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
)

// open opens the backend on this Mac's GPU, skipping when the machine has none (a CI
// virtual machine without Metal).
func open(t *testing.T) *Backend {
	t.Helper()
	b, err := Open()
	if errors.Is(err, compute.ErrUnavailable) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err) // a compile or pipeline error: the kernels do not build on this device
	}
	return b
}

// TestPipelinesCompile compiles the kernel library with Apple's compiler and makes every
// pipeline (Open does both), which nothing on Linux can check.
func TestPipelinesCompile(t *testing.T) {
	b := open(t)
	defer b.Close()
	if len(b.pipes) != len(kernelNames) {
		t.Fatalf("%d pipelines for %d kernels", len(b.pipes), len(kernelNames))
	}
	t.Logf("device %s: %d pipelines", b.Device(), len(b.pipes))
}

// TestConformance runs the compute conformance suite on the real device.
func TestConformance(t *testing.T) {
	computetest.Run(t, func(t *testing.T) compute.Backend { return open(t) })
}

// TestNoLeaks runs 100 decode-like steps and checks that every buffer but the live tensors
// and every command buffer was released.
func TestNoLeaks(t *testing.T) {
	b := open(t)
	defer b.Close()
	const d, vocab = 256, 300
	w := b.New(compute.BF16, vocab, d)
	norm := b.New(compute.F32, d)
	x := make([]float32, d)
	out := make([]float32, vocab)
	var baseBuffers, baseCmds int64
	for step := range 101 {
		if step == 1 {
			// After one step the staging arena holds its chunk; every later step reuses it.
			baseBuffers, baseCmds, _ = b.Live()
		}
		x[step%d] = float32(step)
		in := b.FromFloat32(x, 1, d)
		h := b.New(compute.F32, 1, d)
		logits := b.New(compute.F32, 1, vocab)
		b.RMSNorm(h, in, norm, 1e-6)
		b.Embedding(h, b.Reshape(w, vocab, d), []int32{int32(step % vocab)})
		b.Linear(logits, h, w, nil)
		b.Free(in)
		b.Free(h)
		if err := b.Read(logits, out); err != nil {
			t.Fatal(err)
		}
		b.Free(logits)
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	buffers, cmds, _ := b.Live()
	if buffers != baseBuffers || cmds != baseCmds {
		t.Fatalf("after 100 steps: %d buffers and %d command buffers alive, want %d and %d",
			buffers, cmds, baseBuffers, baseCmds)
	}
}
