//go:build linux

package sim

import (
	"context"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unsafe"

	"github.com/janus-desktop/janus/metal/internal/gpu"
)

// probeSource holds kernels that exercise the scheduler, some deliberately wrong.
const probeSource = `#include <metal_stdlib>
using namespace metal;

// Reverses each threadgroup's 64 values through threadgroup memory.
kernel void reverse_ok(device const float* x [[buffer(0)]], device float* y [[buffer(1)]],
                       uint tid [[thread_index_in_threadgroup]], uint3 g [[threadgroup_position_in_grid]]) {
  threadgroup float t[64];
  t[tid] = x[g.x * 64 + tid];
  threadgroup_barrier(mem_flags::mem_threadgroup);
  y[g.x * 64 + tid] = t[63 - tid];
}

// The same without the barrier: a thread may read a slot before its owner wrote it.
kernel void reverse_no_barrier(device const float* x [[buffer(0)]], device float* y [[buffer(1)]],
                               uint tid [[thread_index_in_threadgroup]], uint3 g [[threadgroup_position_in_grid]]) {
  threadgroup float t[64];
  t[tid] = x[g.x * 64 + tid];
  y[g.x * 64 + tid] = t[63 - tid];
}

// Only some threads reach the barrier.
kernel void divergent_barrier(device float* y [[buffer(0)]], uint tid [[thread_index_in_threadgroup]]) {
  if (tid < 8) {
    threadgroup_barrier(mem_flags::mem_threadgroup);
  }
  y[tid] = 1.0f;
}

// Reads threadgroup memory nobody wrote.
kernel void uninitialised(device float* y [[buffer(0)]], uint tid [[thread_index_in_threadgroup]]) {
  threadgroup float t[64];
  y[tid] = t[tid] + 1.0f;
}

// SIMD-group reductions and shuffles over each SIMD group of a 96-thread group.
kernel void simd_ops(device const float* x [[buffer(0)]], device float* y [[buffer(1)]],
                     uint tid [[thread_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]]) {
  float v = x[tid];
  y[tid * 4 + 0] = simd_sum(v);
  y[tid * 4 + 1] = simd_max(v);
  y[tid * 4 + 2] = simd_shuffle_down(v, ushort(1));
  y[tid * 4 + 3] = simd_prefix_exclusive_sum(v);
}

// Lanes 16..31 of each SIMD group return first: the sum covers the 16 active lanes. The
// unrolled loop with a lane-0 store path is the shape an optimising compiler duplicates.
kernel void simd_partial(device const float* x [[buffer(0)]], device float* y [[buffer(1)]],
                         constant uint& rows [[buffer(2)]], uint tid [[thread_index_in_threadgroup]],
                         uint lane [[thread_index_in_simdgroup]]) {
  if (lane >= 16) {
    return;
  }
  for (uint r = 0; r < 4; r++) {
    if (r < rows) {
      float s = simd_sum(x[tid] * float(r + 1));
      if (lane == 0) {
        y[(tid / 32) * 4 + r] = s;
      }
    }
  }
}

// Reads one element past the end of x.
kernel void out_of_bounds(device const float* x [[buffer(0)]], device float* y [[buffer(1)]],
                          uint i [[thread_position_in_grid]]) {
  y[i] = x[i + 1];
}
`

func openProbe(t *testing.T, v Variant, reverse bool) *Device {
	t.Helper()
	compiler(t)
	d, err := Open(context.Background(), probeSource, Options{Variant: v, Reverse: reverse})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func floatsOf(b gpu.Buffer) []float32 {
	return unsafe.Slice((*float32)(b.Contents()), b.Size()/4)
}

// run dispatches kernel over groups of threads threads with x (if any) and a y of ny floats.
func run(t *testing.T, d *Device, kernel string, groups, threads int, x []float32, ny int) ([]float32, error) {
	t.Helper()
	p, err := d.Pipeline(kernel)
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := d.NewCommandBuffer()
	cb.SetPipeline(p)
	idx := 0
	var bufs []gpu.Buffer
	if x != nil {
		bx, _ := d.NewBuffer(4 * len(x))
		copy(floatsOf(bx), x)
		cb.SetBuffer(bx, 0, idx)
		idx++
		bufs = append(bufs, bx)
	}
	by, _ := d.NewBuffer(4 * ny)
	bufs = append(bufs, by)
	cb.SetBuffer(by, 0, idx)
	cb.Dispatch([3]int{groups, 1, 1}, [3]int{threads, 1, 1})
	cb.Commit()
	err = cb.Wait()
	out := append([]float32(nil), floatsOf(by)...)
	for _, b := range bufs {
		b.Release()
	}
	return out, err
}

func ramp(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(i)
	}
	return x
}

func TestSchedulerBarrier(t *testing.T) {
	x := ramp(128)
	for _, reverse := range []bool{false, true} {
		d := openProbe(t, Optimized, reverse)
		y, err := run(t, d, "reverse_ok", 2, 64, x, 128)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range y {
			if want := float32(i/64*64 + 63 - i%64); v != want {
				t.Fatalf("reverse=%v: y[%d] = %v, want %v", reverse, i, v, want)
			}
		}
	}
}

func TestSchedulerFindsMissingBarrier(t *testing.T) {
	x := ramp(64)
	fwd, err := run(t, openProbe(t, Optimized, false), "reverse_no_barrier", 1, 64, x, 64)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := run(t, openProbe(t, Optimized, true), "reverse_no_barrier", 1, 64, x, 64)
	if err != nil {
		t.Fatal(err)
	}
	differ := false
	for i := range fwd {
		if math.Float32bits(fwd[i]) != math.Float32bits(rev[i]) {
			differ = true
		}
	}
	if !differ {
		t.Fatalf("forward and reverse order agree on a kernel without its barrier: %v", fwd)
	}
	if !math.IsNaN(float64(fwd[0])) {
		t.Errorf("forward order: thread 0 read slot 63 before it was written, want the NaN poison, got %v", fwd[0])
	}
}

func TestSchedulerDivergentBarrier(t *testing.T) {
	_, err := run(t, openProbe(t, Optimized, false), "divergent_barrier", 1, 64, nil, 64)
	if err == nil || !strings.Contains(err.Error(), "divergent barrier") {
		t.Fatalf("got %v, want a divergent-barrier error", err)
	}
}

func TestSchedulerPoisonsThreadgroupMemory(t *testing.T) {
	y, err := run(t, openProbe(t, Optimized, false), "uninitialised", 1, 64, nil, 64)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range y {
		if !math.IsNaN(float64(v)) {
			t.Fatalf("y[%d] = %v read from unwritten threadgroup memory, want NaN", i, v)
		}
	}
}

func TestSchedulerSIMDGroups(t *testing.T) {
	const n = 96
	x := make([]float32, n)
	for i := range x {
		x[i] = float32((i*7)%13) - 6
	}
	y, err := run(t, openProbe(t, Optimized, true), "simd_ops", 1, n, x, 4*n)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		g := i / 32 * 32
		var sum, prefix float32
		mx := x[g]
		for j := g; j < g+32; j++ {
			sum += x[j]
			mx = max(mx, x[j])
			if j < i {
				prefix += x[j]
			}
		}
		down := x[i]
		if i%32 < 31 {
			down = x[i+1]
		}
		got := y[4*i : 4*i+4]
		if want := []float32{sum, mx, down, prefix}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
			t.Fatalf("thread %d: sum, max, shuffle_down, prefix = %v, want %v", i, got, want)
		}
	}
}

func TestSchedulerInactiveLanes(t *testing.T) {
	d := openProbe(t, Optimized, false)
	p, err := d.Pipeline("simd_partial")
	if err != nil {
		t.Fatal(err)
	}
	x := ramp(64)
	bx, _ := d.NewBuffer(4 * 64)
	by, _ := d.NewBuffer(4 * 8)
	defer bx.Release()
	defer by.Release()
	copy(floatsOf(bx), x)
	cb, _ := d.NewCommandBuffer()
	cb.SetPipeline(p)
	cb.SetBuffer(bx, 0, 0)
	cb.SetBuffer(by, 0, 1)
	cb.SetBytes([]byte{3, 0, 0, 0}, 2)
	cb.Dispatch([3]int{1, 1, 1}, [3]int{64, 1, 1})
	cb.Commit()
	if err := cb.Wait(); err != nil {
		t.Fatal(err)
	}
	y := floatsOf(by)
	for g := range 2 {
		var sum float32
		for i := g * 32; i < g*32+16; i++ {
			sum += x[i]
		}
		for r := range 4 {
			want := sum * float32(r+1)
			if r == 3 {
				want = 0 // rows = 3
			}
			if y[g*4+r] != want {
				t.Errorf("SIMD group %d row %d: %v, want %v", g, r, y[g*4+r], want)
			}
		}
	}
}

// TestCommandBuffersRunInOrder commits two command buffers, the second reading what the
// first writes, and waits for the second first: it must see the first's result.
func TestCommandBuffersRunInOrder(t *testing.T) {
	d := openProbe(t, Optimized, false)
	p, err := d.Pipeline("reverse_ok")
	if err != nil {
		t.Fatal(err)
	}
	bufs := make([]gpu.Buffer, 3)
	for i := range bufs {
		bufs[i], _ = d.NewBuffer(4 * 64)
		defer bufs[i].Release()
	}
	copy(floatsOf(bufs[0]), ramp(64))
	var cbs []gpu.CommandBuffer
	for i := range 2 {
		cb, _ := d.NewCommandBuffer()
		cb.SetPipeline(p)
		cb.SetBuffer(bufs[i], 0, 0)
		cb.SetBuffer(bufs[i+1], 0, 1)
		cb.Dispatch([3]int{1, 1, 1}, [3]int{64, 1, 1})
		cb.Commit()
		cbs = append(cbs, cb)
	}
	if err := cbs[1].Wait(); err != nil {
		t.Fatal(err)
	}
	if err := cbs[0].Wait(); err != nil {
		t.Fatal(err)
	}
	for i, v := range floatsOf(bufs[2]) {
		if v != float32(i) {
			t.Fatalf("reversed twice: z[%d] = %v, want %d", i, v, i)
		}
	}
}

// TestSanitizerFindsOutOfBounds runs the out-of-bounds kernel in a child process with the
// ASan runtime preloaded and expects AddressSanitizer to stop it.
func TestSanitizerFindsOutOfBounds(t *testing.T) {
	if os.Getenv("JANUS_SIM_OOB_CHILD") == "1" {
		d := openProbe(t, Sanitized, false)
		_, err := run(t, d, "out_of_bounds", 1, 64, ramp(64), 64)
		t.Fatalf("the out-of-bounds read was not caught (err %v)", err)
	}
	c := compiler(t)
	rt, err := SanitizerRuntime(c)
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSanitizerFindsOutOfBounds$", "-test.count=1")
	cmd.Env = append(os.Environ(), "JANUS_SIM_OOB_CHILD=1", "LD_PRELOAD="+rt, "ASAN_OPTIONS=detect_leaks=0")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "AddressSanitizer: heap-buffer-overflow") {
		t.Fatalf("want AddressSanitizer to report a heap-buffer-overflow, got err %v:\n%s", err, out)
	}
	if !strings.Contains(string(out), "out_of_bounds") {
		t.Errorf("the report does not name the kernel:\n%s", out)
	}
}
