package metal

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/metal/internal/gpu"
)

// fakeDevice records what the backend asks of a device (it runs nothing), to test the
// backend's encoding and synchronisation without clang or a Mac.
type fakeDevice struct {
	workingSet int64
	log        []string
	nextBuf    int
	live       int
}

type fakeBuffer struct {
	d    *fakeDevice
	id   int
	mem  []byte
	gone bool
}

type fakePipeline string

type fakeCB struct {
	d         *fakeDevice
	id        int
	committed bool
}

func (d *fakeDevice) Name() string      { return "fake" }
func (d *fakeDevice) Close() error      { return nil }
func (d *fakeDevice) WorkingSet() int64 { return d.workingSet }
func (d *fakeDevice) NewBuffer(size int) (gpu.Buffer, error) {
	d.nextBuf++
	d.live++
	return &fakeBuffer{d: d, id: d.nextBuf, mem: make([]byte, max(size, 1))}, nil
}
func (d *fakeDevice) Pipeline(name string) (gpu.Pipeline, error) { return fakePipeline(name), nil }
func (d *fakeDevice) NewCommandBuffer() (gpu.CommandBuffer, error) {
	n := 0
	for _, e := range d.log {
		if strings.HasPrefix(e, "new cb") {
			n++
		}
	}
	d.log = append(d.log, fmt.Sprintf("new cb%d", n+1))
	return &fakeCB{d: d, id: n + 1}, nil
}

func (b *fakeBuffer) Contents() unsafe.Pointer { return unsafe.Pointer(&b.mem[0]) }
func (b *fakeBuffer) Size() int                { return len(b.mem) }
func (b *fakeBuffer) Release() {
	if b.gone {
		panic("buffer released twice")
	}
	b.gone = true
	b.d.live--
	b.d.log = append(b.d.log, fmt.Sprintf("release b%d", b.id))
}

func (p fakePipeline) Name() string    { return string(p) }
func (p fakePipeline) MaxThreads() int { return 1024 }
func (p fakePipeline) SIMDWidth() int  { return 32 }

func (c *fakeCB) SetPipeline(p gpu.Pipeline) {
	if c.committed {
		panic("encoding into a committed command buffer")
	}
	c.d.log = append(c.d.log, fmt.Sprintf("cb%d %s", c.id, p.Name()))
}
func (c *fakeCB) SetBuffer(b gpu.Buffer, off, i int) {
	if b.(*fakeBuffer).gone {
		panic("binding a released buffer")
	}
}
func (c *fakeCB) SetBytes(data []byte, i int)     {}
func (c *fakeCB) Dispatch(groups, threads [3]int) {}
func (c *fakeCB) Commit() {
	c.committed = true
	c.d.log = append(c.d.log, fmt.Sprintf("commit cb%d", c.id))
}
func (c *fakeCB) Wait() error {
	c.d.log = append(c.d.log, fmt.Sprintf("wait cb%d", c.id))
	return nil
}

func newFake(t *testing.T) (*Backend, *fakeDevice) {
	t.Helper()
	d := &fakeDevice{}
	b, err := New("fake", d)
	if err != nil {
		t.Fatal(err)
	}
	return b, d
}

// since returns the log entries after mark.
func since(d *fakeDevice, mark int) []string { return slices.Clone(d.log[mark:]) }

func TestEncodingDecodeStep(t *testing.T) {
	b, d := newFake(t)
	w := b.New(compute.BF16, 100, 64)
	x, h, y := b.New(compute.F32, 1, 64), b.New(compute.F32, 1, 64), b.New(compute.F32, 1, 100)
	mark := len(d.log)
	b.Embedding(x, w, []int32{3})
	b.RoPE(x, 4, 16, 5, 10000)
	b.Free(h) // queued ops do not use h, but frees wait for the step's wait anyway
	b.Linear(y, x, w, nil)
	out := make([]float32, 100)
	if err := b.Read(y, out); err != nil {
		t.Fatal(err)
	}
	got := since(d, mark)
	want := []string{"new cb1", "cb1 embedding_bf16", "cb1 rope_f32", "cb1 linear_mv_bf16", "commit cb1", "wait cb1"}
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Fatalf("log %q, want it to start %q", got, want)
	}
	if n := len(got) - len(want); n != 1 || !strings.HasPrefix(got[len(want)], "release b") {
		t.Fatalf("after the wait: %q, want one release (the freed tensor)", got[len(want):])
	}
}

func TestEncodingSplitsHeavyWork(t *testing.T) {
	b, d := newFake(t)
	// 2·M·N·K = 2·512·2048·2048 ≈ 4.3 GFLOP per Linear: a 7.5-Linear budget per command buffer.
	x, w, y := b.New(compute.F32, 512, 2048), b.New(compute.BF16, 2048, 2048), b.New(compute.F32, 512, 2048)
	mark := len(d.log)
	for range 20 {
		b.Linear(y, x, w, nil)
	}
	var commits, waits int
	for _, e := range since(d, mark) {
		commits += strings.Count(e, "commit")
		waits += strings.Count(e, "wait")
	}
	if commits != 2 || waits != 0 {
		t.Fatalf("20 heavy Linears: %d commits and %d waits before the read, want 2 and 0 (%q)", commits, waits, since(d, mark))
	}
	// Host data while work is queued goes through the arena and a copy kernel, not straight
	// into the buffer the queued ops read.
	b.Write(x, make([]float32, x.Len()))
	if last := d.log[len(d.log)-1]; !strings.HasSuffix(last, "copy_f32") {
		t.Fatalf("Write while busy: last log entry %q, want a copy_f32 dispatch", last)
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	got := since(d, mark)
	var order []string
	for _, e := range got {
		if strings.HasPrefix(e, "commit") || strings.HasPrefix(e, "wait") {
			order = append(order, e)
		}
	}
	if want := []string{"commit cb1", "commit cb2", "commit cb3", "wait cb1", "wait cb2", "wait cb3"}; !slices.Equal(order, want) {
		t.Fatalf("commits and waits %q, want %q", order, want)
	}
	// Idle again: Write goes straight to memory, encoding nothing.
	n := len(d.log)
	b.Write(x, make([]float32, x.Len()))
	if len(d.log) != n {
		t.Fatalf("Write while idle encoded %q", d.log[n:])
	}
}

// TestEncodingCommitsManyDispatches: a step of many light dispatches (a token step has
// hundreds) is committed every splitDispatches of them, so the GPU starts on its first
// layers while the host encodes the rest; still one wait, at the read.
func TestEncodingCommitsManyDispatches(t *testing.T) {
	b, d := newFake(t)
	x, y := b.New(compute.F32, 1, 64), b.New(compute.F32, 1, 64)
	mark := len(d.log)
	for range 2*splitDispatches + 10 {
		b.Add(y, x, y)
	}
	var before []string
	for _, e := range since(d, mark) {
		if strings.HasPrefix(e, "commit") || strings.HasPrefix(e, "wait") {
			before = append(before, e)
		}
	}
	if want := []string{"commit cb1", "commit cb2"}; !slices.Equal(before, want) {
		t.Fatalf("%d light dispatches: %q committed or waited for before the read, want %q", 2*splitDispatches+10, before, want)
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, e := range since(d, mark) {
		if strings.HasPrefix(e, "commit") || strings.HasPrefix(e, "wait") {
			order = append(order, e)
		}
	}
	if want := []string{"commit cb1", "commit cb2", "commit cb3", "wait cb1", "wait cb2", "wait cb3"}; !slices.Equal(order, want) {
		t.Fatalf("commits and waits %q, want %q", order, want)
	}
}

func TestCloseReleasesEverything(t *testing.T) {
	b, d := newFake(t)
	x := b.New(compute.F32, 8)
	b.Embedding(b.New(compute.F32, 2, 8), b.New(compute.F32, 4, 8), []int32{1, 2})
	b.Free(x)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// Two tensors were never freed (the caller's to free); the arena and x are released.
	if d.live != 2 {
		t.Fatalf("%d buffers alive after Close, want the 2 unfreed tensors", d.live)
	}
}

// narrowDevice is a GPU whose pipelines run SIMD groups of 16 (some Intel Macs' GPUs).
type narrowDevice struct{ fakeDevice }

type narrowPipeline struct{ fakePipeline }

func (narrowPipeline) SIMDWidth() int { return 16 }

func (d *narrowDevice) Pipeline(name string) (gpu.Pipeline, error) {
	return narrowPipeline{fakePipeline(name)}, nil
}

// A GPU the kernels cannot run on makes the backend unavailable (the CPU is then chosen
// without a warning), and the GPU's working set is the backend's memory budget.
func TestDeviceLimits(t *testing.T) {
	if _, err := New("metal", &narrowDevice{}); !errors.Is(err, compute.ErrUnavailable) {
		t.Errorf("New on a GPU with SIMD groups of 16 = %v, want ErrUnavailable", err)
	}
	b, err := New("metal", &fakeDevice{workingSet: 10_700_000_000})
	if err != nil {
		t.Fatal(err)
	}
	var be compute.Backend = b
	if mb, ok := be.(compute.MemoryBudget); !ok || mb.MemoryBudget() != 10_700_000_000 {
		t.Errorf("the backend's memory budget is not the GPU's working set")
	}
}
