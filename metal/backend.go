package metal

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/metal/internal/gpu"
)

// Tensor is compute.Tensor; the alias keeps signatures short.
type Tensor = compute.Tensor

// Backend implements compute.Backend on a gpu.Device. It is used by one goroutine at a time,
// as the compute contract expects.
//
// Ops are encoded into an open command buffer and nothing is waited for until the host needs
// a result: Read and Sync commit it and wait, so a model step has one wait. The open command
// buffer is committed, without waiting, every splitDispatches dispatches and once it holds
// splitWork of heavy work (a long prefill, the VQ decoder). The host touches a buffer's
// shared memory directly only when nothing is queued; otherwise host data goes through a
// staging arena and frees wait for the next wait.
type Backend struct {
	name  string
	dev   gpu.Device
	pipes map[string]gpu.Pipeline

	cb       gpu.CommandBuffer   // the open command buffer, nil when none is being encoded
	work     float64             // estimated floating-point operations encoded into cb
	encoded  int                 // dispatches encoded into cb
	splitN   int                 // dispatches after which cb is committed (splitDispatches; tests lower it)
	split    float64             // work after which cb is committed (splitWork; tests lower it)
	inflight []gpu.CommandBuffer // committed, not yet waited for, in commit order
	deferred []gpu.Buffer        // released once every command buffer so far has completed
	arena    arena               // host data of the queued ops
	err      error               // first failure since the last Sync
	used     int64               // bytes of live tensors
}

// splitWork is the estimated work (floating-point operations) after which the open command
// buffer is committed and a new one started, without waiting: a long prefill or VQ decode
// then runs as several command buffers of a fraction of a second each, below macOS's limit
// on how long one command buffer may occupy a GPU that also draws the screen. A decode step
// stays far below it.
const splitWork = 32e9

// splitDispatches is the number of dispatches after which the open command buffer is
// committed, so that the GPU starts on a step's first layers while the host encodes the
// rest: encoding a dispatch costs the host a few microseconds through purego, and a token
// step has hundreds, which would otherwise all be encoded before the GPU began. llama.cpp's
// Metal backend splits a graph's encoding the same way.
const splitDispatches = 64

// arena holds the host data ops read (Embedding's ids, RoPE's table, Write's values) in a
// few shared buffers reused from one command buffer to the next, so a step allocates no
// device memory: chunks fill up while a command buffer is encoded and are rewound when it
// has completed.
type arena struct {
	chunks  []gpu.Buffer
	cur, at int // chunk and byte offset of the next allocation
}

// staged is a region of an arena chunk, bound with its offset.
type staged struct {
	gpu.Buffer
	off int
}

// Arena geometry: chunks of 256 KB (larger for one big table); regions aligned to 256 bytes,
// the strictest buffer-offset alignment Metal asks for.
const (
	arenaChunk = 256 << 10
	stageAlign = 256
)

var _ compute.Backend = (*Backend)(nil)

// buffer is a tensor's storage; handles from Reshape share it.
type buffer struct {
	gpu   gpu.Buffer
	bytes int
	freed bool
	// view: gpu is a region of another tensor's buffer (View), which alone owns the memory.
	view bool
}

// region is part of another buffer, a view's storage: bound with its offset, its contents
// from there.
type region struct {
	gpu.Buffer // the parent's
	off, size  int
}

func (r region) Contents() unsafe.Pointer { return unsafe.Add(r.Buffer.Contents(), r.off) }
func (r region) Size() int                { return r.size }
func (r region) Release()                 {} // the parent owns the memory

var _ compute.Viewer = (*Backend)(nil)

// View returns a tensor over elements [off, off+n) of the F32 tensor t (compute.Viewer): a
// region of t's Metal buffer, bound with its offset. Freeing it releases nothing.
func (b *Backend) View(t *Tensor, off int, shape ...int) *Tensor {
	n := checkShape("View", shape)
	g := b.f32("View", "t", t)
	if off < 0 || off+n > t.Len() || off%compute.ViewAlign != 0 {
		panic(fmt.Sprintf("metal: View: elements [%d, %d) are outside %v or not aligned to %d", off, off+n, t, compute.ViewAlign))
	}
	r := region{Buffer: g, off: 4 * off, size: 4 * n}
	if p, ok := g.(region); ok { // a view of a view: one offset into the owner
		r.Buffer, r.off = p.Buffer, p.off+4*off
	}
	return &Tensor{Shape: append([]int(nil), shape...), DType: compute.F32, Buf: &buffer{gpu: r, bytes: 4 * n, view: true}}
}

// kernelNames are the pipelines the backend uses; New compiles every one of them up front, so
// a backend that opens can run every op.
var kernelNames = []string{
	"add_f32", "mul_f32", "scale_f32", "copy_f32", "gelu_f32", "silu_f32", "swiglu_f32",
	"linear_mv_f32", "linear_mv_f16", "linear_mv_bf16", "linear_mm_f32", "linear_mm_f16", "linear_mm_bf16",
	"linear_mv_q8", "linear_mv_q4", "linear_mv_q4m", "linear_mm_q8", "linear_mm_q4", "linear_mm_q4m",
	"embedding_f32", "embedding_f16", "embedding_bf16", "embedding_q8", "embedding_q4", "embedding_q4m",
	"layer_norm_f32", "rms_norm_f32", "group_norm_f32",
	"rope_f32", "attention_f32", "attention_f16",
	"copy_rows_f32", "copy_rows_f32_f16", "copy_rows_f16", "transpose_f32", "conv2d_f32", "upsample2x_f32",
}

// Geometry shared with the kernels' #defines.
const (
	flatThreads  = 256 // FLAT_THREADS
	mvMaxM       = 8   // MV_MAX_M
	mvSIMDGroups = 8   // MV_SIMDGROUPS
	mmTile       = 64  // MM_TILE, with 16×16 threads
	normThreads  = 256 // NORM_THREADS
	attThreads   = 128 // ATT_THREADS
	attMaxHead   = 512 // ATT_MAX_HEAD_DIM
	maxElements  = 1 << 31
)

// New makes a backend named name on dev, compiling every pipeline it uses and checking that
// each runs 32-wide SIMD groups and the threadgroup size the backend dispatches (a
// register-heavy kernel may be limited below 1024 threads).
func New(name string, dev gpu.Device) (*Backend, error) {
	b := &Backend{name: name, dev: dev, pipes: map[string]gpu.Pipeline{}, split: splitWork, splitN: splitDispatches}
	for _, k := range kernelNames {
		p, err := dev.Pipeline(k)
		if err != nil {
			return nil, fmt.Errorf("metal: pipeline %s: %w", k, err)
		}
		// A GPU the kernels cannot run on leaves the backend unavailable, so that "auto"
		// quietly takes the CPU (some Intel Macs' GPUs have narrower SIMD groups).
		if p.SIMDWidth() != 32 {
			return nil, fmt.Errorf("metal: pipeline %s runs SIMD groups of %d threads; the kernels need 32: %w", k, p.SIMDWidth(), compute.ErrUnavailable)
		}
		need := 256
		if k == "attention_f32" || k == "attention_f16" {
			need = attThreads
		}
		if p.MaxThreads() < need {
			return nil, fmt.Errorf("metal: pipeline %s runs at most %d threads per threadgroup; the backend dispatches %d: %w",
				k, p.MaxThreads(), need, compute.ErrUnavailable)
		}
		b.pipes[k] = p
	}
	return b, nil
}

// Name reports the name the backend was opened as ("metal", "metal-sim").
func (b *Backend) Name() string { return b.name }

// Device describes the device the backend drives.
func (b *Backend) Device() string { return b.dev.Name() }

// GPU is the device the backend drives, for device-specific tests (leaks, encoding counts).
func (b *Backend) GPU() gpu.Device { return b.dev }

// MemoryUsed is the bytes of the tensors allocated and not freed.
func (b *Backend) MemoryUsed() int64 { return b.used }

// MemoryBudget is the GPU's working set (compute.MemoryBudget): past it every command
// buffer pages, or fails for want of memory, although the machine has more.
func (b *Backend) MemoryBudget() int64 { return b.dev.WorkingSet() }

var _ compute.MemoryBudget = (*Backend)(nil)

func checkShape(op string, shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("metal: %s: negative dimension in shape %v", op, shape))
		}
		n *= d
	}
	if n >= maxElements {
		panic(fmt.Sprintf("metal: %s: shape %v has more than 2³¹ elements", op, shape))
	}
	return n
}

func (b *Backend) alloc(dt compute.DType, shape []int) (*Tensor, error) {
	n := checkShape("New", shape)
	size := dt.Bytes(n)
	g, err := b.dev.NewBuffer(size)
	if err != nil {
		return nil, fmt.Errorf("metal: allocate %v%v: %w", dt, shape, err)
	}
	b.used += int64(size)
	return &Tensor{Shape: append([]int(nil), shape...), DType: dt, Buf: &buffer{gpu: g, bytes: size}}, nil
}

// New allocates a zeroed tensor. Running out of device memory panics, as Go's allocator
// does for the CPU backend.
func (b *Backend) New(dt compute.DType, shape ...int) *Tensor {
	if dt > compute.Q4M {
		panic(fmt.Sprintf("metal: New: unknown dtype %v", dt))
	}
	if dt.Quantized() {
		if err := quantShapeErr(dt, shape); err != nil {
			panic(err)
		}
	}
	t, err := b.alloc(dt, shape)
	if err != nil {
		panic(err)
	}
	return t
}

// FromBytes allocates a tensor of dtype dt from raw elements of dtype src, converting (or
// quantizing, for Q8/Q4) on the host as it copies into the new buffer (no op uses it yet, so
// no wait is needed).
func (b *Backend) FromBytes(dt compute.DType, shape []int, src compute.DType, raw []byte) (*Tensor, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("metal: tensor shape %v has a negative dimension", shape)
		}
		n *= d
	}
	if dt.Quantized() {
		if err := quantShapeErr(dt, shape); err != nil {
			return nil, err
		}
	}
	if src > compute.BF16 || dt > compute.Q4M {
		return nil, fmt.Errorf("metal: unknown dtype %v or %v", src, dt)
	}
	if len(raw) != n*src.Size() {
		return nil, fmt.Errorf("metal: %d bytes of %v for shape %v, want %d", len(raw), src, shape, n*src.Size())
	}
	if n >= maxElements {
		return nil, fmt.Errorf("metal: tensor shape %v has more than 2³¹ elements", shape)
	}
	t, err := b.alloc(dt, shape)
	if err != nil {
		return nil, err
	}
	if dt.Quantized() {
		quantize(contents(t), dt, n, 0, raw, src)
	} else {
		convert(contents(t), dt, raw, src, n)
	}
	return t, nil
}

var _ compute.RowWriter = (*Backend)(nil)

// Alloc is New returning an allocation failure (out of device memory) or a Q8/Q4 shape whose
// rows are not whole blocks as an error.
func (b *Backend) Alloc(dt compute.DType, shape []int) (*Tensor, error) {
	if dt > compute.Q4M {
		return nil, fmt.Errorf("metal: unknown tensor dtype %v", dt)
	}
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("metal: tensor shape %v has a negative dimension", shape)
		}
	}
	if dt.Quantized() {
		if err := quantShapeErr(dt, shape); err != nil {
			return nil, err
		}
	}
	return b.alloc(dt, shape)
}

// WriteRows fills rows [r0, r0+n) of t from n rows of raw elements of dtype src, converting
// or quantizing them as FromBytes does, straight into the tensor's shared memory: t is a
// tensor Alloc just made, which no queued op uses.
func (b *Backend) WriteRows(t *Tensor, r0 int, src compute.DType, raw []byte) error {
	if buf, ok := t.Buf.(*buffer); !ok || buf.freed {
		return fmt.Errorf("metal: WriteRows: %v is freed or not a metal tensor", t)
	}
	e0, e1, err := compute.RowSpan(t, r0, src, len(raw))
	if err != nil {
		return fmt.Errorf("metal: WriteRows: %w", err)
	}
	mem := contents(t)
	if t.DType.Quantized() {
		quantize(mem, t.DType, t.Len(), e0/qBlock, raw, src)
		return nil
	}
	size := t.DType.Size()
	convert(mem[e0*size:e1*size], t.DType, raw, src, e1-e0)
	return nil
}

// contents is the tensor's shared memory as bytes.
func contents(t *Tensor) []byte {
	buf := t.Buf.(*buffer)
	if buf.bytes == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(buf.gpu.Contents()), buf.bytes)
}

func floats(t *Tensor) []float32 {
	buf := t.Buf.(*buffer)
	if buf.bytes == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(buf.gpu.Contents()), buf.bytes/4)
}

// FromFloat32 allocates an F32 tensor holding a copy of data.
func (b *Backend) FromFloat32(data []float32, shape ...int) *Tensor {
	if n := checkShape("FromFloat32", shape); n != len(data) {
		panic(fmt.Sprintf("metal: FromFloat32: %d values for shape %v", len(data), shape))
	}
	t := b.New(compute.F32, shape...)
	copy(floats(t), data)
	return t
}

// Write copies data into t after the ops issued before it: directly when the device is
// idle, else through a staging buffer and a copy kernel in the open command buffer.
func (b *Backend) Write(t *Tensor, data []float32) {
	live(b.name, "Write", "t", t, true)
	if len(data) != t.Len() {
		panic(fmt.Sprintf("metal: Write: %d values into %v", len(data), t))
	}
	if !b.busy() {
		copy(floats(t), data)
		return
	}
	stage := b.stage(len(data) * 4)
	copy(unsafe.Slice((*float32)(stage.contents()), len(data)), data)
	b.flat("copy_f32", len(data), []gpu.Buffer{stage, t.Buf.(*buffer).gpu}, u32(len(data)), 0)
}

// stage returns size bytes of the arena for host data that the op about to be encoded
// reads; they stay valid until the next wait.
func (b *Backend) stage(size int) staged {
	b.encoder()
	size = (max(size, 4) + stageAlign - 1) / stageAlign * stageAlign
	a := &b.arena
	for a.cur < len(a.chunks) && a.at+size > a.chunks[a.cur].Size() {
		a.cur, a.at = a.cur+1, 0
	}
	if a.cur == len(a.chunks) {
		g, err := b.dev.NewBuffer(max(arenaChunk, size))
		if err != nil {
			panic(fmt.Sprintf("metal: staging buffer of %d bytes: %v", size, err))
		}
		a.chunks = append(a.chunks, g)
	}
	s := staged{a.chunks[a.cur], a.at}
	a.at += size
	return s
}

// contents is the region's memory.
func (s staged) contents() unsafe.Pointer { return unsafe.Add(s.Contents(), s.off) }

// Read waits for the ops issued so far and copies t into dst, widening F16/BF16 and
// dequantizing Q8/Q4.
func (b *Backend) Read(t *Tensor, dst []float32) error {
	buf, ok := t.Buf.(*buffer)
	if !ok || buf.freed {
		return fmt.Errorf("metal: read %v: tensor was freed or is not a metal tensor", t)
	}
	if len(dst) != t.Len() {
		return fmt.Errorf("metal: read %v: destination holds %d values, want %d", t, len(dst), t.Len())
	}
	if err := b.flush(); err != nil {
		return err
	}
	if b.err != nil {
		return b.err
	}
	if t.DType.Quantized() {
		dequantize(dst, contents(t), t.DType)
	} else {
		widenInto(dst, contents(t), t.DType)
	}
	return nil
}

// Reshape returns a handle to t's buffer with another shape of the same length.
func (b *Backend) Reshape(t *Tensor, shape ...int) *Tensor {
	if n := checkShape("Reshape", shape); n != t.Len() {
		panic(fmt.Sprintf("metal: Reshape: %v to %v changes the length", t, shape))
	}
	return &Tensor{Shape: append([]int(nil), shape...), DType: t.DType, Buf: t.Buf}
}

// Free releases t's buffer (all handles of it), once queued ops are done with it.
func (b *Backend) Free(t *Tensor) {
	buf, ok := t.Buf.(*buffer)
	if !ok || buf.freed {
		return
	}
	buf.freed = true
	t.Buf = nil // as compute/cpu does: this handle no longer holds the buffer
	if buf.view {
		return
	}
	b.used -= int64(buf.bytes)
	if b.busy() {
		b.deferred = append(b.deferred, buf.gpu)
		return
	}
	buf.gpu.Release()
}

// busy reports whether ops are queued: then the host must not touch buffers they use.
func (b *Backend) busy() bool { return b.cb != nil || len(b.inflight) > 0 }

// commit submits the open command buffer without waiting for it.
func (b *Backend) commit() {
	if b.cb == nil {
		return
	}
	b.cb.Commit()
	b.inflight = append(b.inflight, b.cb)
	b.cb, b.work, b.encoded = nil, 0, 0
}

// Sync waits for every op issued so far and returns the first failure since the last Sync.
func (b *Backend) Sync() error {
	err := b.flush()
	if err == nil {
		err = b.err
	}
	b.err = nil
	return err
}

// flush commits the open command buffer and waits for everything committed: the one wait
// of a step. A device failure is kept for Read and Sync to report.
func (b *Backend) flush() error {
	b.commit()
	if len(b.inflight) == 0 {
		return nil
	}
	for _, cb := range b.inflight {
		if err := cb.Wait(); err != nil && b.err == nil {
			b.err = fmt.Errorf("metal: %w", err)
		}
	}
	clear(b.inflight)
	b.inflight = b.inflight[:0]
	for _, g := range b.deferred {
		g.Release()
	}
	clear(b.deferred)
	b.deferred = b.deferred[:0]
	b.arena.cur, b.arena.at = 0, 0
	return nil
}

// Close waits for queued work and releases the device; tensors must not be used afterwards.
func (b *Backend) Close() error {
	err := b.Sync()
	for _, g := range b.arena.chunks {
		g.Release()
	}
	b.arena = arena{}
	if cerr := b.dev.Close(); err == nil {
		err = cerr
	}
	return err
}

// encoder returns the open command buffer, starting one when the device is idle.
func (b *Backend) encoder() gpu.CommandBuffer {
	if b.cb == nil {
		cb, err := b.dev.NewCommandBuffer()
		if err != nil {
			panic(fmt.Sprintf("metal: new command buffer: %v", err))
		}
		b.cb = cb
	}
	return b.cb
}

// dispatchWork is dispatch for a heavy op: work estimates its floating-point operations, and
// the command buffer is committed once it holds more than splitWork.
func (b *Backend) dispatchWork(work float64, kernel string, groups, threads [3]int, bufs []gpu.Buffer, params []uint32) {
	b.work += work
	b.dispatch(kernel, groups, threads, bufs, params)
}

// dispatch encodes kernel over groups×threads with bufs bound at indices 0.. in order and
// the parameter words after them.
func (b *Backend) dispatch(kernel string, groups, threads [3]int, bufs []gpu.Buffer, params []uint32) {
	if groups[0]*groups[1]*groups[2] == 0 {
		return
	}
	p, ok := b.pipes[kernel]
	if !ok {
		panic("metal: no pipeline " + kernel)
	}
	cb := b.encoder()
	cb.SetPipeline(p)
	for i, g := range bufs {
		switch s := g.(type) {
		case staged:
			cb.SetBuffer(s.Buffer, s.off, i)
		case region:
			cb.SetBuffer(s.Buffer, s.off, i)
		default:
			cb.SetBuffer(g, 0, i)
		}
	}
	raw := make([]byte, 4*len(params))
	for i, w := range params {
		raw[4*i], raw[4*i+1], raw[4*i+2], raw[4*i+3] = byte(w), byte(w>>8), byte(w>>16), byte(w>>24)
	}
	cb.SetBytes(raw, len(bufs))
	cb.Dispatch(groups, threads)
	// Committed here alone, by either measure, so that the work counted is the open
	// command buffer's.
	if b.encoded++; b.encoded >= b.splitN || b.work > b.split {
		b.commit()
	}
}

// flat dispatches a one-thread-per-element kernel over n elements.
func (b *Backend) flat(kernel string, n int, bufs []gpu.Buffer, params ...uint32) {
	b.dispatch(kernel, [3]int{(n + flatThreads - 1) / flatThreads, 1, 1}, [3]int{flatThreads, 1, 1}, bufs, params)
}

// u32 converts a non-negative size to a parameter word.
func u32(n int) uint32 {
	if n < 0 || n >= maxElements {
		panic(fmt.Sprintf("metal: size %d does not fit the kernels' 32-bit indices", n))
	}
	return uint32(n)
}

func f32bits(f float32) uint32 { return math.Float32bits(f) }

func boolWord(v bool) uint32 {
	if v {
		return 1
	}
	return 0
}
