package cpu

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/janus-desktop/janus/compute"
	"golang.org/x/sys/cpu"
)

// Backend runs the compute ops on the CPU. It is safe for use by one goroutine at a time
// issuing ops in order, as the compute interface expects.
type Backend struct {
	pool        *pool
	cleanup     runtime.Cleanup // stops the workers when the Backend is collected
	scratch     sync.Pool       // *[]float32 buffers reused by the tiled ops
	bands       sync.Pool       // *[]float32 buffers of convInPlace, apart: they are larger
	band        int             // convInPlace's and convDirectAMX's bands in floats where a test sets them, else 0
	simd        simdSet         // the assembly kernel set in use, simdNone for the Go kernels
	qset        qSet            // the int8 kernel set of quantized Linear, qsetNone for Go
	groupPick   groupPick       // the grouped kernels among those of the same bits (q4Fours, q4Kicks, q8Far)
	bf16        bool            // many-row products in the BF16 mode (bf16.go)
	bf16dp      bool            // the BF16 mode's Linear and Conv2D on the VDPBF16PS tiles, not FMA
	int8AllRows bool            // the BF16 mode's Linear with quantized weights on the int8 kernels at any row count (int8Prompts)
	amx         bool            // the BF16 mode's products on the AMX tiles (amx.go)
	bf16Set     string          // the kernels the BF16 mode runs or would run here (BF16Kernels)
	hold        [2][]float32    // the BF16 mode's kept operand copies (held)
	kvHold      [2][]float32    // many-row Attention's widened F16 keys and values (widenCache)
	perTask     []float32       // the fast products' per-task buffers (taskBuffers)
	rope        ropeTab         // RoPE's last cos/sin table (ropeTable)
	qcall       *groupsCall     // the grouped quantized products' call state (groupsCall)
	used        *atomic.Int64   // bytes in live buffers, shared with them so Free counts down
	freed       *freedBytes     // bytes released since the last collection, shared with buffers
}

// buffer is the storage behind a Tensor's Buf, shared by the handles Reshape makes, so that
// Free through any of them releases it once and MemoryUsed counts it once.
type buffer struct {
	f []float32 // F32 tensors
	h []uint16  // F16 and BF16 tensors
	q []byte    // Q8, Q4 and Q4M codes (quant.go)
	s []uint16  // their F16 block scales
	o []uint16  // Q4M's F16 block offsets
	// groupK is the K of a quantized matrix [N, K] stored in groups of 16 rows
	// (quant_groups.go), 0 for one stored row after row.
	groupK int
	// huge: the storage was advised to take huge pages (adviseHugePages), advice that
	// release takes back.
	huge bool
	// view: the storage is part of another buffer's (View), which alone accounts for it.
	view  bool
	used  *atomic.Int64
	freed *freedBytes
}

// freedBytes counts the bytes Free has released since the last garbage collection it asked
// for. A model's weights live on the Go heap, and the collector only runs again when the heap
// has grown by as much as it holds (GOGC=100): with 4 GB of weights, freed activations (a
// VQ decode frees 0.2 GB of scratch per call) would pile up to gigabytes of garbage
// before a collection. So once a backend has freed gcAfterFreed bytes it starts one; marking
// is cheap here, as weights hold no pointers.
type freedBytes struct {
	n atomic.Int64
	// fresh is the bytes freed since the last collection started, collecting those freed
	// before collections that are still running started: together, the garbage not yet back
	// in the heap.
	fresh, collecting atomic.Int64
	used              *atomic.Int64 // the backend's live bytes, which set the threshold
	// inCache is set by beforeCache and cleared by every other allocation: a cache's
	// tensors come one after another, and growing one frees each old layer just before
	// it allocates the next, which must not return the pages again.
	inCache atomic.Bool
	// collect is a test's counter, run instead of every collection and told whether that
	// would have returned the free pages to the OS.
	collect func(returnPages bool)
}

// garbage is the bytes freed that no finished collection has returned to the heap.
func (f *freedBytes) garbage() int64 { return f.fresh.Load() + f.collecting.Load() }

// gc runs a collection, which returns the bytes freed before it started to the heap
// (runtime.GC), and with returnPages every free page of the heap to the OS
// (debug.FreeOSMemory).
func (f *freedBytes) gc(returnPages bool) {
	mine := f.fresh.Swap(0)
	f.collecting.Add(mine)
	switch {
	case f.collect != nil:
		f.collect(returnPages)
	case returnPages:
		debug.FreeOSMemory()
	default:
		runtime.GC()
	}
	f.collecting.Add(-mine)
}

// gcAfterFreed is how many freed bytes start a collection for a backend holding used bytes:
// 1/64 of them (mostly weights), from 16 MB to 256 MB. A collection costs CPU time, while
// freed scratch that waits for one (the vision tower's, a prompt's) is not reused by the next
// stage, whose allocations then add to the peak RSS: at 1/32 a prompt's scratch was never
// collected (docs/performance.md, "Collections" in "What the speed rests on").
func gcAfterFreed(used int64) int64 { return min(256<<20, max(16<<20, used/64)) }

// beforeAlloc collects, before an allocation of n bytes (at least gcAllocMin), the garbage
// of Free calls that no finished collection has returned yet, when there is at least as much
// of it as the allocation and at least gcBeforeAlloc: the stage that freed it (the vision
// tower before a prompt) has ended, and the next one would otherwise take fresh memory beside
// it. That includes garbage whose collection add started and has not finished: a VQ decode
// frees its scratch and the next one asks for it again at once. The collection runs in the
// caller, so the allocation reuses what it frees. Stages allocate their buffers up front, so
// this happens a few times a request, not per op.
func (f *freedBytes) beforeAlloc(n int64) {
	if f == nil {
		return
	}
	f.inCache.Store(false)
	if n < gcAllocMin {
		return
	}
	if p := f.garbage(); p >= gcBeforeAlloc && p >= n {
		f.n.Store(0)
		f.gc(false)
	}
}

// beforeHuge runs before New allocates an activation of hugeActivation bytes or more (the VQ
// decoder's): a collection that also returns every free page of the heap to the OS
// (debug.FreeOSMemory). The heap keeps freed pages resident, and a buffer this size rarely
// fits the holes the stage before left (a KV cache, a prompt's scratch), so it came on top of
// them: the VQ decode raised the peak resident memory by its whole scratch. It costs a
// collection (a millisecond with weights, which hold no pointers) and the page faults of
// memory that could have been reused (README, "What the speed rests on").
func (f *freedBytes) beforeHuge() {
	if f == nil {
		return
	}
	f.inCache.Store(false)
	f.n.Store(0)
	f.gc(true)
}

// beforeCache runs before New allocates a KV cache's tensor (hugeCache bytes or more of
// F16 or Q8): before the first of a run of them (a cache's layers), where there is garbage
// (gcBeforeAlloc or more), a collection that returns every free page to the OS. The heap
// keeps freed pages (a prompt's scratch, the vision tower's, the last cache) resident until
// its scavenger slowly returns them, so a cache placed in them keeps them all resident and
// one placed elsewhere adds to them; returned first, a cache's pages count only as its
// positions are written, and most requests never fill their cache (README, "What the speed
// rests on").
func (f *freedBytes) beforeCache() {
	if f == nil || f.inCache.Swap(true) {
		return
	}
	if f.garbage() >= gcBeforeAlloc {
		f.n.Store(0)
		f.gc(true)
	}
}

const (
	gcBeforeAlloc = 8 << 20 // the least garbage beforeAlloc collects, and beforeCache returns
	gcAllocMin    = 1 << 20 // the least allocation it collects for
)

func (f *freedBytes) add(n int64) {
	if f == nil {
		return
	}
	var used int64
	if f.used != nil {
		used = f.used.Load()
	}
	f.fresh.Add(n)
	if f.n.Add(n) >= gcAfterFreed(used) {
		f.n.Store(0)
		if f.collect != nil {
			f.gc(false) // in the caller, so that a test counts it at once
			return
		}
		go f.gc(false)
	}
}

func (bf *buffer) size() int64 {
	return int64(4*len(bf.f) + 2*len(bf.h) + len(bf.q) + 2*len(bf.s) + 2*len(bf.o))
}

// release returns the buffer's memory to the Go heap (once no slice of it is in use) and
// takes it off the owner's count; a second release does nothing.
func (bf *buffer) release() {
	if bf.f == nil && bf.h == nil && bf.q == nil {
		return
	}
	if bf.view {
		bf.f = nil
		return
	}
	n := bf.size()
	bf.used.Add(-n)
	if bf.huge {
		// The heap may hand this memory to small objects next, which huge pages would
		// round up to 2 MB each.
		bf.hugePageAdvice(false)
	}
	bf.f, bf.h, bf.q, bf.s, bf.o = nil, nil, nil, nil, nil
	bf.freed.add(n)
}

// Kernels selects the inner loops of the matrix ops (Linear, Conv2D, Attention).
type Kernels int

const (
	// KernelsAuto uses the widest assembly kernels the CPU has (AVX-512, else AVX2 and FMA
	// on amd64; NEON on arm64), else the portable Go ones.
	KernelsAuto Kernels = iota
	// KernelsGeneric always uses the portable Go kernels, which sum every dot product
	// strictly in order of k. The two sets round differently, so results differ in the last
	// bits; each is deterministic on its own.
	KernelsGeneric
	// KernelsAVX2 uses the AVX2+FMA kernels even where AVX-512 is available (the generic
	// ones where AVX2 is not).
	KernelsAVX2
	// KernelsAVX512 uses the AVX-512 tiles, like KernelsAuto but never wider (the best
	// available set where AVX-512 is not). Its dot products round differently from the
	// AVX2 set's (16 lanes instead of 8).
	KernelsAVX512
	// KernelsNEON uses the arm64 NEON kernels (with SDOT for Q8/Q4 where the CPU has it),
	// the generic ones on other architectures. On arm64 the amd64 names (KernelsAVX2,
	// KernelsAVX512) pick the generic kernels.
	KernelsNEON
)

// kernelsByEnv maps JANUS_CPU_KERNELS values to kernel sets; ok is false for any other value.
func kernelsByEnv(v string) (Kernels, bool) {
	switch v {
	case "auto":
		return KernelsAuto, true
	case "generic":
		return KernelsGeneric, true
	case "avx2":
		return KernelsAVX2, true
	case "avx512":
		return KernelsAVX512, true
	case "neon":
		return KernelsNEON, true
	}
	return KernelsAuto, false
}

// Option adjusts a Backend made by New.
type Option func(*options)

type options struct {
	kernels   Kernels
	precision Precision
}

// WithKernels picks the kernel set, overriding the JANUS_CPU_KERNELS environment variable.
func WithKernels(k Kernels) Option { return func(o *options) { o.kernels = k } }

var _ compute.Backend = (*Backend)(nil)

// New makes a CPU backend that uses up to threads goroutines per op; threads <= 0 means one
// per CPU the Go scheduler may use (runtime.GOMAXPROCS, which is runtime.NumCPU unless a
// container limit or GOMAXPROCS lowers it). Its workers stop when the Backend becomes
// unreachable or Close is called. JANUS_CPU_KERNELS=generic, avx2, avx512 or neon in the
// environment picks a kernel set like WithKernels (KernelsGeneric, KernelsAVX2,
// KernelsAVX512, KernelsNEON), to compare against or to rule a set out; any other value
// but auto is ignored with a warning (log/slog). Kernels names the set in use.
func New(threads int, opts ...Option) *Backend {
	o := options{kernels: KernelsAuto}
	if v := os.Getenv("JANUS_CPU_KERNELS"); v != "" {
		if k, ok := kernelsByEnv(v); ok {
			o.kernels = k
		} else {
			// A typo must not pass for a measurement of the set it meant to pick.
			slog.Warn("unknown JANUS_CPU_KERNELS value ignored (want auto, generic, avx2, avx512 or neon)",
				"value", v, "kernels", simdBest().String())
		}
	}
	for _, opt := range opts {
		opt(&o)
	}
	used := new(atomic.Int64)
	b := &Backend{pool: newPool(defaultThreads(threads)), used: used, freed: &freedBytes{used: used}}
	b.simd, b.qset = kernelCap(o.kernels)
	b.groupPick = groupPick{q4Fours: q4Fours(), q4Kicks: q4Kicks(), q8Far: q8Far()}
	if b.qset == qsetVNNI && o.kernels == KernelsAuto && hasAMXInt8() {
		// JANUS_CPU_KERNELS=avx512 keeps the VPDPBUSD kernels, to compare against.
		b.qset = qsetAMX
	}
	if hasBF16() && b.simd == simdAVX512 {
		b.bf16Set = "avx512"
		// JANUS_CPU_KERNELS=avx512 keeps the AVX-512 FMA tiles, to compare against.
		switch {
		case o.kernels != KernelsAuto:
		case hasAMX():
			b.bf16Set = "avx512+amx"
		case dotBF16Fast():
			b.bf16Set = "avx512+vdpbf16ps"
		}
	}
	if o.precision == PrecisionBF16 {
		b.bf16 = b.bf16Set != ""
		b.amx = b.bf16Set == "avx512+amx"
		b.bf16dp = b.bf16Set == "avx512+vdpbf16ps"
		b.int8AllRows = b.bf16dp && b.qset == qsetVNNI && int8Prompts()
		if !b.bf16 {
			// The caller asked for speed the machine cannot give: say why the products stay exact.
			slog.Warn("BF16 precision needs AVX512_BF16 and the AVX-512 kernels; using exact float32 products",
				"kernels", b.simd.String())
		}
	}
	b.cleanup = runtime.AddCleanup(b, func(p *pool) { p.close() }, b.pool)
	return b
}

// qsetAVX2Best is the best of the AVX2 int8 sets where the CPU runs them (qsetBest says
// whether it does): their AVX-VNNI variants where it has AVX-VNNI, which AVX-512 VNNI does
// not imply.
func qsetAVX2Best() qSet {
	if cpu.X86.HasAVXVNNI {
		return qsetAVXVNNI
	}
	return qsetAVX2
}

// kernelCap is the float and int8 kernel sets that k picks on this CPU.
func kernelCap(k Kernels) (simdSet, qSet) {
	best, qbest := simdBest(), qsetBest()
	if best == simdNEON {
		if k == KernelsAuto || k == KernelsNEON {
			return best, qbest
		}
		return simdNone, qsetNone
	}
	switch k {
	case KernelsAuto:
		return best, qbest
	case KernelsAVX2:
		return min(simdAVX2, best), min(qsetAVX2Best(), qbest)
	case KernelsAVX512:
		return min(simdAVX512, best), qbest
	}
	return simdNone, qsetNone
}

// Close stops the worker goroutines now instead of when the Backend is collected. The
// Backend keeps working afterwards, on the calling goroutine only.
func (b *Backend) Close() error {
	b.cleanup.Stop()
	b.pool.close()
	b.pool = newPool(1)
	return nil
}

// Threads is the number of goroutines an op may use.
func (b *Backend) Threads() int { return b.pool.threads }

// BF16Kernels names the kernels the BF16 mode runs on this machine, or would run in the
// exact mode: "avx512+amx", "avx512+vdpbf16ps" (Linear and Conv2D on the VDPBF16PS tiles,
// where they outrun the FMA tiles: dotBF16Fast), "avx512" (the FMA tiles), or "" where it
// is unavailable.
func (b *Backend) BF16Kernels() string { return b.bf16Set }

// Kernels names the kernel set in use: "avx512", "avx2-fma", "neon" or "generic", and
// "avx512+amx" or "avx512+vdpbf16ps" when the BF16 mode's products run on AMX or on the
// VDPBF16PS tiles.
func (b *Backend) Kernels() string {
	switch {
	case b.amx:
		return b.simd.String() + "+amx"
	case b.bf16dp:
		return b.simd.String() + "+vdpbf16ps"
	}
	return b.simd.String()
}

// Int8Kernels names the int8 kernel set of Linear with quantized weights: "avx512-vnni+amx"
// (several rows of a Q8 matrix not in row groups on the AMX int8 tiles, the rest VPDPBUSD),
// "avx512-vnni", "avx2-int8" ("avx2-int8+avx-vnni" where VPDPBUSD replaces two of its
// instructions, with the same bits), "neon-dotprod", "neon-int8" or "generic".
func (b *Backend) Int8Kernels() string { return b.qset.String() }

// Int8KernelsFor names the int8 kernels Linear runs with weights of dtype dt (Q8, Q4 or
// Q4M). The AMX tiles take only Q8 matrices that do not fill row groups (quant_groups.go),
// none of the released models', so with them this names the VNNI kernels the groups run on.
func (b *Backend) Int8KernelsFor(dt compute.DType) string {
	if b.qset == qsetAMX {
		return qsetVNNI.String()
	}
	return b.qset.String()
}

// Name reports "cpu".
func (b *Backend) Name() string { return "cpu" }

// MemoryUsed is the number of bytes in the buffers of this backend's live tensors.
func (b *Backend) MemoryUsed() int64 { return b.used.Load() }

// New allocates a zeroed tensor: a []float32 buffer for F32, a []uint16 one for F16/BF16,
// codes and scales (and Q4M's offsets) for the quantized dtypes, whose last dimension must be
// a multiple of compute.QBlock.
func (b *Backend) New(dt compute.DType, shape ...int) *Tensor {
	return b.newTensor(dt, shape, false)
}

// newTensor is New, for a weight that the caller fills (FromBytes, Alloc) when weight is set.
// Only activations of hugeActivation bytes or more (beforeHuge) and KV caches (beforeCache)
// give the heap's free pages back first: a loader's weights come one after the other, each
// reusing what the last one's reading freed.
func (b *Backend) newTensor(dt compute.DType, shape []int, weight bool) *Tensor {
	n := checkShape("New", shape)
	switch dt {
	case compute.F32, compute.F16, compute.BF16:
		switch size := int64(n) * int64(dt.Size()); {
		case weight:
			b.freed.beforeAlloc(size)
		case size >= hugeActivation:
			b.freed.beforeHuge()
		case dt == compute.F16 && size >= hugeCache:
			b.freed.beforeCache()
		default:
			b.freed.beforeAlloc(size)
		}
	case compute.Q8, compute.Q4, compute.Q4M:
		if !weight && dt == compute.Q8 && int64(dt.Bytes(n)) >= hugeCache {
			b.freed.beforeCache() // a Q8 KV cache, as an F16 one
		} else {
			b.freed.beforeAlloc(int64(n)) // about a byte a weight
		}
	}
	bf := &buffer{used: b.used, freed: b.freed}
	switch dt {
	case compute.F32:
		bf.f = make([]float32, n)
	case compute.F16, compute.BF16:
		bf.h = make([]uint16, n)
	case compute.Q8, compute.Q4, compute.Q4M:
		newQuantized(bf, dt, shape, n)
		if b.groupsFor(dt, shape) {
			bf.groupK = shape[1]
		}
	default:
		panic(fmt.Sprintf("cpu: New: unknown dtype %v", dt))
	}
	if bf.size() >= hugeActivation || (dt == compute.F16 || !weight && dt == compute.Q8) && bf.size() >= hugeCache {
		bf.adviseHugePages()
	}
	b.used.Add(bf.size())
	return &Tensor{Shape: append([]int(nil), shape...), DType: dt, Buf: bf}
}

// Tensor is compute.Tensor; the alias keeps signatures short.
type Tensor = compute.Tensor

func checkShape(op string, shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("cpu: %s: negative dimension in shape %v", op, shape))
		}
		n *= d
	}
	return n
}

// FromBytes allocates a tensor of dtype dt from raw little-endian elements of dtype src,
// converting as it copies (F32→BF16/F16 round to nearest even; widening is exact; Q8, Q4 and
// Q4M quantize each block of compute.QBlock values, on every worker).
func (b *Backend) FromBytes(dt compute.DType, shape []int, src compute.DType, raw []byte) (*Tensor, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("cpu: tensor shape %v has a negative dimension", shape)
		}
		n *= d
	}
	if src > compute.BF16 {
		return nil, fmt.Errorf("cpu: unknown source dtype %v", src)
	}
	if dt > compute.Q4M {
		return nil, fmt.Errorf("cpu: unknown tensor dtype %v", dt)
	}
	if len(raw) != n*src.Size() {
		return nil, fmt.Errorf("cpu: %d bytes of %v for shape %v, want %d", len(raw), src, shape, n*src.Size())
	}
	if dt.Quantized() {
		if len(shape) == 0 || shape[len(shape)-1]%compute.QBlock != 0 {
			return nil, fmt.Errorf("cpu: %v tensor of shape %v: the last dimension must be a multiple of %d", dt, shape, compute.QBlock)
		}
	}
	t := b.newTensor(dt, shape, true)
	t.Buf.(*buffer).adviseHugePages()
	b.fill(t, src, raw)
	return t, nil
}

var _ compute.RowWriter = (*Backend)(nil)

// Alloc is New returning an error for a quantized shape whose rows are not whole blocks (Go's
// allocator has no recoverable out-of-memory error to return), and asking for huge pages
// for the weight it will hold.
func (b *Backend) Alloc(dt compute.DType, shape []int) (*Tensor, error) {
	if dt > compute.Q4M {
		return nil, fmt.Errorf("cpu: unknown tensor dtype %v", dt)
	}
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("cpu: tensor shape %v has a negative dimension", shape)
		}
	}
	if dt.Quantized() && (len(shape) == 0 || shape[len(shape)-1]%compute.QBlock != 0) {
		return nil, fmt.Errorf("cpu: %v tensor of shape %v: the last dimension must be a multiple of %d", dt, shape, compute.QBlock)
	}
	t := b.newTensor(dt, shape, true)
	t.Buf.(*buffer).adviseHugePages()
	return t, nil
}

// hugeActivation is the smallest buffer New asks huge pages for.
const hugeActivation = 32 << 20

// hugeCache is the smallest F16 or Q8 buffer New asks huge pages for. The engine's F16
// tensors, and the Q8 ones New makes (weights come from FromBytes and Alloc), are KV caches, whose every token step writes a new position into each layer's keys and
// values: four images' cache faulted in 4 KB at a time, one page a row, layer and step, cost
// their generation seconds (docs/performance.md, "The Zen 5 round, evening"). A cache that is never filled
// holds at most one partly used huge page per row beyond 4 KB pages' worth.
const hugeCache = 4 << 20

// adviseHugePages asks for huge pages for the buffer's storage before it is first written
// (hugePageAdvice), once. FromBytes and Alloc, which loaders make weights with, call
// it, and New for buffers of 32 MB or more (the VQ decoder's activations, which its first
// decode otherwise faults in 4 KB at a time) and for KV caches (hugeCache). Smaller
// activations are left alone: advising those too raised the generation prompt pass's peak
// resident memory (docs/performance.md, "Huge pages" in "The Zen 5 round, afternoon").
func (bf *buffer) adviseHugePages() {
	if !bf.huge {
		bf.huge = true
		bf.hugePageAdvice(true)
	}
}

// hugePageAdvice asks for huge pages for the buffer's storage (on) or takes that back.
func (bf *buffer) hugePageAdvice(on bool) {
	hugePageAdvice(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(bf.f))), 4*len(bf.f)), on)
	hugePageAdvice(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(bf.h))), 2*len(bf.h)), on)
	hugePageAdvice(bf.q, on)
}

// WriteRows fills rows [r0, r0+n) of t from n rows of raw elements of dtype src, converting
// or quantizing them as FromBytes does.
func (b *Backend) WriteRows(t *Tensor, r0 int, src compute.DType, raw []byte) error {
	bf, ok := t.Buf.(*buffer)
	if !ok || bf.f == nil && bf.h == nil && bf.q == nil {
		return fmt.Errorf("cpu: WriteRows: %v is freed or not a cpu tensor", t)
	}
	e0, e1, err := compute.RowSpan(t, r0, src, len(raw))
	if err != nil {
		return fmt.Errorf("cpu: WriteRows: %w", err)
	}
	if bf.groupK != 0 {
		b.fromBytesQuantized(bf, t.DType, e0/qBlock, src, raw)
		return nil
	}
	b.fill(&Tensor{Shape: []int{e1 - e0}, DType: t.DType, Buf: bf.elements(t.DType, e0, e1)}, src, raw)
	return nil
}

// elements is a view of elements [e0, e1) of the buffer, a tensor of dtype dt; for the
// quantized dtypes, e0 and e1 must be multiples of qBlock (compute.RowSpan's ranges are).
func (bf *buffer) elements(dt compute.DType, e0, e1 int) *buffer {
	switch dt {
	case compute.F32:
		return &buffer{f: bf.f[e0:e1]}
	case compute.F16, compute.BF16:
		return &buffer{h: bf.h[e0:e1]}
	}
	codes := codeBytes(dt)
	b0, b1 := e0/qBlock, e1/qBlock
	v := &buffer{q: bf.q[b0*codes : b1*codes], s: bf.s[b0:b1]}
	if bf.o != nil {
		v.o = bf.o[b0:b1]
	}
	return v
}

// fill converts (or quantizes) raw elements of dtype src into every element of t, on the
// worker pool.
func (b *Backend) fill(t *Tensor, src compute.DType, raw []byte) {
	if t.DType.Quantized() {
		b.fromBytesQuantized(t.Buf.(*buffer), t.DType, 0, src, raw)
		return
	}
	n := t.Len()
	b.pool.run(n, b.pool.grain(n, 2), func(lo, hi int) {
		convertRaw(t, lo, hi, src, raw)
	})
}

// convertRaw fills elements [lo,hi) of t from raw, with one loop per conversion so the
// per-element work is a load, maybe a conversion and a store.
func convertRaw(t *Tensor, lo, hi int, src compute.DType, raw []byte) {
	bf := t.Buf.(*buffer)
	switch {
	case t.DType == compute.F32:
		dst := bf.f[lo:hi]
		switch src {
		case compute.F32:
			in := raw[4*lo : 4*hi]
			for i := range dst {
				dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(in[4*i:]))
			}
		case compute.BF16:
			in := raw[2*lo : 2*hi]
			for i := range dst {
				dst[i] = bf16ToF32(binary.LittleEndian.Uint16(in[2*i:]))
			}
		case compute.F16:
			in := raw[2*lo : 2*hi]
			for i := range dst {
				dst[i] = f16ToF32(binary.LittleEndian.Uint16(in[2*i:]))
			}
		}
	default:
		dst := bf.h[lo:hi]
		round := f32ToF16
		if t.DType == compute.BF16 {
			round = f32ToBF16
		}
		switch {
		case src == t.DType:
			in := raw[2*lo : 2*hi]
			for i := range dst {
				dst[i] = binary.LittleEndian.Uint16(in[2*i:])
			}
		case src == compute.F32:
			in := raw[4*lo : 4*hi]
			for i := range dst {
				dst[i] = round(math.Float32frombits(binary.LittleEndian.Uint32(in[4*i:])))
			}
		default: // F16 <-> BF16 through float32, which holds both exactly
			widenSrc := f16ToF32
			if src == compute.BF16 {
				widenSrc = bf16ToF32
			}
			in := raw[2*lo : 2*hi]
			for i := range dst {
				dst[i] = round(widenSrc(binary.LittleEndian.Uint16(in[2*i:])))
			}
		}
	}
}

// FromFloat32 allocates an F32 tensor holding a copy of data.
func (b *Backend) FromFloat32(data []float32, shape ...int) *Tensor {
	if n := checkShape("FromFloat32", shape); n != len(data) {
		panic(fmt.Sprintf("cpu: FromFloat32: %d values for shape %v", len(data), shape))
	}
	t := b.New(compute.F32, shape...)
	copy(t.Buf.(*buffer).f, data)
	return t
}

// Write copies data into the F32 tensor t.
func (b *Backend) Write(t *Tensor, data []float32) {
	d := f32("Write", "t", t)
	if len(data) != len(d) {
		panic(fmt.Sprintf("cpu: Write: %d values into %v", len(data), t))
	}
	copy(d, data)
}

// Read copies t into dst, widening F16/BF16 tensors. A dst of the wrong length or a freed
// tensor is an error.
func (b *Backend) Read(t *Tensor, dst []float32) error {
	if t.Buf == nil {
		return fmt.Errorf("cpu: read %v: tensor was freed", t)
	}
	bf, ok := t.Buf.(*buffer)
	if !ok {
		return fmt.Errorf("cpu: read %v: buffer %T is not a cpu buffer", t, t.Buf)
	}
	if bf.f == nil && bf.h == nil && bf.q == nil {
		return fmt.Errorf("cpu: read %v: tensor was freed", t)
	}
	if len(dst) != t.Len() {
		return fmt.Errorf("cpu: read %v: destination holds %d values, want %d", t, len(dst), t.Len())
	}
	switch {
	case t.DType == compute.F32:
		copy(dst, bf.f[:len(dst)])
	case bf.groupK != 0:
		w := qweight{dt: codesDType(t.DType), q: bf.q, s: bf.s, o: bf.o, k: bf.groupK, groups: true}
		for j := range len(dst) / bf.groupK {
			w.dequant(dst[j*bf.groupK:(j+1)*bf.groupK], j, 0)
		}
	case t.DType.Quantized():
		dequantizeRow(dst, codesDType(t.DType), bf.q, bf.s, bf.o, 0)
	default:
		widen(dst, bf.h, t.DType == compute.BF16)
	}
	return nil
}

// Reshape returns a handle to t's buffer with another shape of the same length.
func (b *Backend) Reshape(t *Tensor, shape ...int) *Tensor {
	if n := checkShape("Reshape", shape); n != t.Len() {
		panic(fmt.Sprintf("cpu: Reshape: %v to %v changes the length", t, shape))
	}
	return &Tensor{Shape: append([]int(nil), shape...), DType: t.DType, Buf: t.Buf}
}

var _ compute.Viewer = (*Backend)(nil)

// View returns a tensor over elements [off, off+n) of the F32 tensor t (compute.Viewer): a
// buffer of its own, which Free releases without touching t's memory or MemoryUsed.
func (b *Backend) View(t *Tensor, off int, shape ...int) *Tensor {
	n := checkShape("View", shape)
	parent := f32("View", "t", t)
	if off < 0 || off+n > len(parent) || off%compute.ViewAlign != 0 {
		panic(fmt.Sprintf("cpu: View: elements [%d, %d) are outside %v or not aligned to %d", off, off+n, t, compute.ViewAlign))
	}
	return &Tensor{Shape: append([]int(nil), shape...), DType: compute.F32, Buf: &buffer{f: parent[off : off+n : off+n], view: true}}
}

// Free releases t's buffer, which every handle Reshape made of it shares: the memory returns
// to the Go heap and leaves MemoryUsed. Freeing a freed tensor does nothing.
func (b *Backend) Free(t *Tensor) {
	if bf, ok := t.Buf.(*buffer); ok {
		bf.release()
	}
	t.Buf = nil
}

// Sync returns nil: ops finish before they return and the CPU has no device failures.
func (b *Backend) Sync() error { return nil }

// f32 returns t's float32 buffer, panicking with the op and argument name when t is not an
// F32 tensor of this backend.
func f32(op, arg string, t *Tensor) []float32 {
	if t == nil {
		panic(fmt.Sprintf("cpu: %s: %s is nil", op, arg))
	}
	bf, ok := t.Buf.(*buffer)
	if !ok || t.DType != compute.F32 {
		panic(fmt.Sprintf("cpu: %s: %s is %v (buffer %T), want an F32 cpu tensor", op, arg, t, t.Buf))
	}
	buf := bf.f
	if buf == nil && t.Len() > 0 {
		panic(fmt.Sprintf("cpu: %s: %s %v was freed", op, arg, t))
	}
	if len(buf) != t.Len() {
		panic(fmt.Sprintf("cpu: %s: %s %v has a buffer of %d elements", op, arg, t, len(buf)))
	}
	return buf
}

// weight returns t's buffer as float32 or uint16 (F16/BF16) for Linear and Embedding.
func weight(op, arg string, t *Tensor) (f []float32, h []uint16, bf16 bool) {
	if t == nil {
		panic(fmt.Sprintf("cpu: %s: %s is nil", op, arg))
	}
	switch t.DType {
	case compute.F32:
		return f32(op, arg, t), nil, false
	case compute.F16, compute.BF16:
		bf, ok := t.Buf.(*buffer)
		if !ok || len(bf.h) != t.Len() {
			panic(fmt.Sprintf("cpu: %s: %s is %v with buffer %T, want a cpu buffer", op, arg, t, t.Buf))
		}
		return nil, bf.h, t.DType == compute.BF16
	}
	panic(fmt.Sprintf("cpu: %s: %s has unknown dtype %v", op, arg, t.DType))
}

// check panics with a message naming the op when a shape condition fails. Its arguments
// are boxed, which allocates for strings and most ints, even when the condition holds: the
// checks of every token step's products test it themselves and call fail (see groupsCall).
func check(ok bool, op, format string, args ...any) {
	if !ok {
		fail(op, format, args...)
	}
}

// fail panics with a message naming the op.
func fail(op, format string, args ...any) {
	panic(fmt.Sprintf("cpu: %s: %s", op, fmt.Sprintf(format, args...)))
}

// overlaps reports whether two slices share memory; ops that cannot work in place use it.
func overlaps(a, b []float32) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	pa, pb := uintptr(unsafe.Pointer(unsafe.SliceData(a))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return pa < pb+uintptr(len(b))*4 && pb < pa+uintptr(len(a))*4
}
