//go:build linux

package metalsim

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
	"github.com/janus-desktop/janus/metal"
	"github.com/janus-desktop/janus/metal/internal/sim"
)

// openSim opens the Metal backend on the simulated device, skipping the test with a message
// when clang is not installed.
func openSim(t *testing.T, o Options) *metal.Backend {
	t.Helper()
	b, err := Open(context.Background(), o)
	if errors.Is(err, compute.ErrUnavailable) {
		t.Skipf("skipping: %v", err)
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
		opts Options
	}{
		{"forward", Options{}},
		{"reverse", Options{Reverse: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			computetest.Run(t, func(t *testing.T) compute.Backend { return openSim(t, tc.opts) })
		})
	}
}

// TestConformanceSanitized runs the conformance suite on the AddressSanitizer/UBSan build
// of the kernels, in a child process that preloads the ASan runtime; any finding aborts the
// child and fails the test.
func TestConformanceSanitized(t *testing.T) {
	if os.Getenv("JANUS_METAL_SANITIZE_CHILD") == "1" {
		computetest.Run(t, func(t *testing.T) compute.Backend { return openSim(t, Options{Sanitize: true, Reverse: true}) })
		return
	}
	clang, err := sim.FindCompiler()
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	rt, err := sim.SanitizerRuntime(clang)
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestConformanceSanitized$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "JANUS_METAL_SANITIZE_CHILD=1", "LD_PRELOAD="+rt,
		"ASAN_OPTIONS=detect_leaks=0:abort_on_error=1", "UBSAN_OPTIONS=print_stacktrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "Sanitizer") || !strings.Contains(string(out), "--- PASS: TestConformanceSanitized/Attention") {
		t.Fatalf("sanitized conformance run failed (%v):\n%s", err, out)
	}
}

// TestStepSubmittedAtRead encodes a decoder-layer-like sequence of ops, fewer than the
// dispatches after which a command buffer is committed early, and checks that nothing is
// submitted until the result is read, and then exactly one command buffer (a model's step,
// with hundreds of dispatches, is committed every splitDispatches: TestSplitCommandBuffers).
func TestStepSubmittedAtRead(t *testing.T) {
	b := openSim(t, Options{})
	defer b.Close()
	const d, hd, heads, vocab = 64, 16, 4, 50
	rng := rand.New(rand.NewPCG(1, 2))
	rnd := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 0.3)
		}
		return v
	}
	table := b.FromFloat32(rnd(vocab*d), vocab, d)
	norm := b.FromFloat32(rnd(d), d)
	wqkv := b.FromFloat32(rnd(3*d*d), 3*d, d)
	wout := b.FromFloat32(rnd(vocab*d), vocab, d)
	kc, vc := b.New(compute.F32, 1, 8, d), b.New(compute.F32, 1, 8, d)
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	before, _ := Stats(b)

	x, h, qkv := b.New(compute.F32, 1, 1, d), b.New(compute.F32, 1, 1, d), b.New(compute.F32, 1, 1, 3*d)
	q, att, logits := b.New(compute.F32, 1, 1, d), b.New(compute.F32, 1, 1, d), b.New(compute.F32, 1, vocab)
	b.Embedding(x, table, []int32{7})
	b.RMSNorm(h, x, norm, 1e-6)
	b.Linear(qkv, h, wqkv, nil)
	b.Transpose(b.New(compute.F32, 1, 3*d, 1), qkv) // a layout op in the same stream
	q3 := b.Reshape(qkv, 1, 3, d)
	b.CopyRows(kc, 0, q3, 1, 1)
	b.CopyRows(vc, 0, q3, 2, 1)
	b.CopyRows(q, 0, q3, 0, 1)
	b.RoPE(q, heads, hd, 0, 10000)
	b.Attention(att, q, kc, vc, compute.AttentionParams{Heads: heads, KVHeads: heads, HeadDim: hd, KVLen: 1, Causal: true, Scale: 0.25})
	b.Add(att, att, x)
	b.Linear(logits, b.Reshape(att, 1, d), wout, nil)
	mid, _ := Stats(b)
	if mid.CommandBuffers != before.CommandBuffers {
		t.Fatalf("%d command buffers submitted before the read", mid.CommandBuffers-before.CommandBuffers)
	}
	out := make([]float32, vocab)
	if err := b.Read(logits, out); err != nil {
		t.Fatal(err)
	}
	after, _ := Stats(b)
	if got := after.CommandBuffers - before.CommandBuffers; got != 1 {
		t.Fatalf("the step took %d command buffers, want 1", got)
	}
	if got := after.Dispatches - before.Dispatches; got != 11 {
		t.Errorf("the step took %d dispatches, want 11 (one per op)", got)
	}
	nonzero := false
	for _, v := range out {
		nonzero = nonzero || v != 0
	}
	if !nonzero {
		t.Fatal("the logits are all zero")
	}
}

// TestNoLeaks runs 100 decode-like steps (staged ids, RoPE tables, writes, frees while ops
// are queued) and checks that the device holds the same buffers after them as after the
// first: freed tensors are released and the staging arena is reused, not grown.
func TestNoLeaks(t *testing.T) {
	b := openSim(t, Options{})
	defer b.Close()
	const d, vocab = 64, 70
	table := b.New(compute.BF16, vocab, d)
	norm := b.New(compute.F32, d)
	out := make([]float32, vocab)
	var base int64
	for step := range 101 {
		if step == 1 {
			s, _ := Stats(b)
			base = s.Buffers
		}
		x, h := b.New(compute.F32, 1, 1, d), b.New(compute.F32, 1, 1, d)
		logits := b.New(compute.F32, 1, vocab)
		b.Embedding(x, table, []int32{int32(step % vocab)})
		b.Write(h, make([]float32, d))
		b.RMSNorm(h, x, norm, 1e-6)
		b.RoPE(h, 4, 16, step, 10000)
		b.Free(x)
		b.Linear(logits, b.Reshape(h, 1, d), table, nil)
		b.Free(h)
		if err := b.Read(logits, out); err != nil {
			t.Fatal(err)
		}
		b.Free(logits)
	}
	s, _ := Stats(b)
	if s.Buffers != base {
		t.Fatalf("%d device buffers after 100 more steps, %d after the first", s.Buffers, base)
	}
	if b.MemoryUsed() != int64(vocab*d*2+d*4) {
		t.Fatalf("MemoryUsed %d, want the two weights' %d bytes", b.MemoryUsed(), vocab*d*2+d*4)
	}
}
