//go:build darwin

package mtl

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/ebitengine/purego/objc"
	"github.com/janus-desktop/janus/metal/internal/gpu"
)

// ErrNoDevice is returned by Open when the system has no Metal device.
var ErrNoDevice = errors.New("no Metal device")

// ErrNotAppleGPU is returned by Open when no Metal device is an Apple GPU that shares the
// system's memory (an Intel Mac's Intel or AMD GPU, an eGPU): the kernels are written and
// checked for Apple's GPUs, a GPU with memory of its own would read every weight across
// PCIe at each token step, and on those Macs the CPU runs the model.
var ErrNotAppleGPU = errors.New("no Apple GPU")

// Metal constants used here.
const (
	storageModeShared = 0 // MTLResourceStorageModeShared (option bits 0)
	mathModeSafe      = 0 // MTLMathModeSafe (macOS 15)
	mathPrecise       = 1 // MTLMathFloatingPointFunctionsPrecise (macOS 15)
	statusError       = 5 // MTLCommandBufferStatusError
	maxSetBytes       = 4096
	gpuFamilyApple7   = 1007 // MTLGPUFamilyApple7: the M1 and every later Apple GPU

	// MTLCommandBufferError codes that call for other words than Metal's description.
	errorTimeout       = 2
	errorAccessRevoked = 4 // once called Blacklisted: the process made too many GPU errors
	errorNotPermitted  = 7
	errorOutOfMemory   = 8
)

// selectors holds the selectors, registered once per Open.
type selectors struct {
	alloc, initUTF8, release, retain, new, name, utf8, localizedDescription, objectAtIndex, count selector
	newCommandQueue, newLibrary, newFunction, newPipeline, newBuffer, contents, length            selector
	setFastMath, maxThreads, execWidth, commandBuffer, computeEncoder, setPipeline, setBuffer     selector
	setBytes, dispatch, endEncoding, commit, waitUntilCompleted, status, errorSel                 selector
	hasUnifiedMemory, workingSet, respondsTo, setMathMode, setMathFunctions                       selector
	supportsFamily, maxBufferLength, code                                                         selector
}

// Device is a Metal device with its command queue and the compiled kernel library.
type Device struct {
	m       msg
	s       selectors
	device  object
	queue   object
	library object
	name    string
	// workingSet is recommendedMaxWorkingSetSize, and maxBuffer maxBufferLength, read once.
	workingSet, maxBuffer int64

	pipelines []object

	buffers, commandBuffers atomic.Int64 // live objects, for the leak test
}

// pooled runs f inside an autorelease pool on a locked OS thread, so that objects Metal
// autoreleases while f runs are freed when it returns.
func (d *Device) pooled(f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pool := d.m.poolPush()
	defer d.m.poolPop(pool)
	f()
}

var _ gpu.Device = (*Device)(nil)

// Open finds the system's Apple GPU, makes a command queue and compiles src. No device at
// all is ErrNoDevice, devices that are not Apple GPUs ErrNotAppleGPU; a compile failure
// carries the compiler's log.
func Open(src string) (*Device, error) {
	// CoreGraphics first: Metal's device functions are reported to find nothing in
	// programs that are not app bundles without it.
	if _, err := purego.Dlopen("/System/Library/Frameworks/CoreGraphics.framework/CoreGraphics", purego.RTLD_GLOBAL|purego.RTLD_NOW); err != nil {
		return nil, fmt.Errorf("load CoreGraphics: %w", err)
	}
	if _, err := purego.Dlopen("/System/Library/Frameworks/Foundation.framework/Foundation", purego.RTLD_GLOBAL|purego.RTLD_NOW); err != nil {
		return nil, fmt.Errorf("load Foundation: %w", err)
	}
	metal, err := purego.Dlopen("/System/Library/Frameworks/Metal.framework/Metal", purego.RTLD_GLOBAL|purego.RTLD_NOW)
	if err != nil {
		return nil, fmt.Errorf("load Metal: %w", err)
	}
	libobjc, err := purego.Dlopen("/usr/lib/libobjc.A.dylib", purego.RTLD_GLOBAL|purego.RTLD_NOW)
	if err != nil {
		return nil, fmt.Errorf("load libobjc: %w", err)
	}
	send, err := purego.Dlsym(libobjc, "objc_msgSend")
	if err != nil {
		return nil, fmt.Errorf("find objc_msgSend: %w", err)
	}
	d := &Device{}
	m := &d.m
	m.register(send)
	purego.RegisterLibFunc(&m.poolPush, libobjc, "objc_autoreleasePoolPush")
	purego.RegisterLibFunc(&m.poolPop, libobjc, "objc_autoreleasePoolPop")
	d.registerSelectors()

	// MTLCopyAllDevices, not MTLCreateSystemDefaultDevice: on an Intel Mac with two GPUs
	// the default device is the discrete one, and asking for it switches the whole Mac to
	// that GPU (battery, heat) although the backend then declines it.
	var copyAll func() object
	purego.RegisterLibFunc(&copyAll, metal, "MTLCopyAllDevices")

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pool := m.poolPush()
	defer m.poolPop(pool)

	all := copyAll()
	if all == 0 {
		return nil, ErrNoDevice
	}
	var others []string
	for i := range m.uint(all, d.s.count) {
		dev := m.idUint(all, d.s.objectAtIndex, i)
		if d.appleGPU(dev) {
			d.device = dev
			m.id(dev, d.s.retain) // the array, which holds it, is released below
			break
		}
		others = append(others, m.str(m.id(dev, d.s.name), d.s.utf8))
	}
	m.void(all, d.s.release)
	if d.device == 0 {
		if len(others) == 0 {
			return nil, ErrNoDevice
		}
		return nil, fmt.Errorf("%s: %w", strings.Join(others, ", "), ErrNotAppleGPU)
	}
	d.name = m.str(m.id(d.device, d.s.name), d.s.utf8)
	d.workingSet = int64(m.uint(d.device, d.s.workingSet))
	d.maxBuffer = int64(m.uint(d.device, d.s.maxBufferLength))
	d.queue = m.id(d.device, d.s.newCommandQueue)
	if d.queue == 0 {
		d.Close()
		return nil, fmt.Errorf("metal %s: newCommandQueue failed", d.name)
	}
	if err := d.compile(src); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// appleGPU reports whether dev is an Apple GPU (MTLGPUFamilyApple7 or later) sharing the
// system's memory.
func (d *Device) appleGPU(dev object) bool {
	m := &d.m
	return m.boolSel(dev, d.s.respondsTo, d.s.supportsFamily) && m.boolInt(dev, d.s.supportsFamily, gpuFamilyApple7) &&
		m.boolean(dev, d.s.hasUnifiedMemory)
}

func (d *Device) registerSelectors() {
	r := func(name string) selector { return selector(objc.RegisterName(name)) }
	d.s = selectors{
		alloc: r("alloc"), initUTF8: r("initWithUTF8String:"), release: r("release"), retain: r("retain"),
		new: r("new"), name: r("name"), utf8: r("UTF8String"), localizedDescription: r("localizedDescription"),
		objectAtIndex: r("objectAtIndex:"), count: r("count"),
		newCommandQueue: r("newCommandQueue"), newLibrary: r("newLibraryWithSource:options:error:"),
		newFunction: r("newFunctionWithName:"), newPipeline: r("newComputePipelineStateWithFunction:error:"),
		newBuffer: r("newBufferWithLength:options:"), contents: r("contents"), length: r("length"),
		setFastMath: r("setFastMathEnabled:"), maxThreads: r("maxTotalThreadsPerThreadgroup"),
		execWidth: r("threadExecutionWidth"), commandBuffer: r("commandBuffer"),
		computeEncoder: r("computeCommandEncoder"), setPipeline: r("setComputePipelineState:"),
		setBuffer: r("setBuffer:offset:atIndex:"), setBytes: r("setBytes:length:atIndex:"),
		dispatch: r("dispatchThreadgroups:threadsPerThreadgroup:"), endEncoding: r("endEncoding"),
		commit: r("commit"), waitUntilCompleted: r("waitUntilCompleted"), status: r("status"), errorSel: r("error"),
		hasUnifiedMemory: r("hasUnifiedMemory"), workingSet: r("recommendedMaxWorkingSetSize"),
		respondsTo: r("respondsToSelector:"), setMathMode: r("setMathMode:"),
		setMathFunctions: r("setMathFloatingPointFunctions:"),
		supportsFamily:   r("supportsFamily:"), maxBufferLength: r("maxBufferLength"), code: r("code"),
	}
}

// nsString makes a retained NSString; the caller releases it.
func (d *Device) nsString(s string) object {
	str := d.m.id(object(objc.GetClass("NSString")), d.s.alloc)
	return d.m.idStr(str, d.s.initUTF8, s)
}

// nsError turns an NSError into a Go error with Metal's description.
func (d *Device) nsError(what string, e object) error {
	if e == 0 {
		return fmt.Errorf("metal %s: %s failed without an error", d.name, what)
	}
	return fmt.Errorf("metal %s: %s: %s", d.name, what, d.m.str(d.m.id(e, d.s.localizedDescription), d.s.utf8))
}

// commandBufferError is the error of a failed command buffer: Metal's description, after
// what it means to the user for the codes that need saying.
func (d *Device) commandBufferError(e object) error {
	if e == 0 {
		return d.nsError("command buffer", e)
	}
	what := "command buffer"
	switch d.m.uint(e, d.s.code) {
	case errorOutOfMemory:
		what = "the GPU ran out of memory (choose smaller weights or close other programs)"
	case errorTimeout:
		what = "macOS stopped a command buffer that ran too long"
	case errorAccessRevoked, errorNotPermitted:
		what = "macOS no longer lets this program use the GPU (after earlier GPU errors): quit and reopen it, or choose the CPU backend"
	}
	return d.nsError(what, e)
}

// compile builds the kernel library from source with fast math off. macOS 15 deprecates
// fastMathEnabled for two settings, the math mode (whose default on Apple silicon, relaxed,
// allows rewrites that change results) and the math functions (fast by default), so both
// are set where the framework has them: exp and division must round as the CPU's do.
func (d *Device) compile(src string) error {
	opts := d.m.id(object(objc.GetClass("MTLCompileOptions")), d.s.new)
	defer d.m.void(opts, d.s.release)
	d.m.voidBool(opts, d.s.setFastMath, false)
	if d.m.boolSel(opts, d.s.respondsTo, d.s.setMathMode) {
		d.m.voidInt(opts, d.s.setMathMode, mathModeSafe)
	}
	if d.m.boolSel(opts, d.s.respondsTo, d.s.setMathFunctions) {
		d.m.voidInt(opts, d.s.setMathFunctions, mathPrecise)
	}
	text := d.nsString(src)
	defer d.m.void(text, d.s.release)
	var nserr object
	d.library = d.m.library(d.device, d.s.newLibrary, text, opts, &nserr)
	if d.library == 0 {
		return d.nsError("compile the kernels", nserr)
	}
	return nil
}

// Name is the GPU's name, e.g. "Apple M2 Pro".
func (d *Device) Name() string { return d.name }

// WorkingSet is the device's recommendedMaxWorkingSetSize: about two thirds of the memory
// of a 16 GB Mac.
func (d *Device) WorkingSet() int64 { return d.workingSet }

// Live returns the buffers and command buffers made and not yet released, for leak tests.
func (d *Device) Live() (buffers, commandBuffers int64) {
	return d.buffers.Load(), d.commandBuffers.Load()
}

// Close releases the pipelines, library, queue and device, in a pool: releasing the last
// reference to one may autorelease objects of its own.
func (d *Device) Close() error {
	d.pooled(func() {
		for _, p := range d.pipelines {
			d.m.void(p, d.s.release)
		}
		d.pipelines = nil
		for _, o := range []*object{&d.library, &d.queue, &d.device} {
			if *o != 0 {
				d.m.void(*o, d.s.release)
				*o = 0
			}
		}
	})
	return nil
}

// buffer is an MTLBuffer in shared storage.
type buffer struct {
	d    *Device
	id   object
	p    unsafe.Pointer
	size int
}

// NewBuffer allocates size zeroed bytes of shared memory (Metal zeroes new buffers).
func (d *Device) NewBuffer(size int) (gpu.Buffer, error) {
	if size < 0 {
		return nil, fmt.Errorf("metal: buffer of %d bytes", size)
	}
	if d.maxBuffer > 0 && int64(size) > d.maxBuffer {
		return nil, fmt.Errorf("metal %s: a buffer of %d bytes (%.2f GB) is larger than this GPU's largest, %.2f GB (maxBufferLength)",
			d.name, size, float64(size)/1e9, float64(d.maxBuffer)/1e9)
	}
	var id object
	var p unsafe.Pointer
	d.pooled(func() {
		id = d.m.buffer(d.device, d.s.newBuffer, uint(max(size, 16)), storageModeShared) // Metal refuses length 0
		if id != 0 {
			p = d.m.ptr(id, d.s.contents)
		}
	})
	if id == 0 {
		return nil, fmt.Errorf("metal %s: cannot allocate a buffer of %d bytes", d.name, size)
	}
	d.buffers.Add(1)
	return &buffer{d: d, id: id, p: p, size: size}, nil
}

// Contents, Size and Release implement gpu.Buffer.
func (b *buffer) Contents() unsafe.Pointer { return b.p }
func (b *buffer) Size() int                { return b.size }

func (b *buffer) Release() {
	if b.id != 0 {
		b.d.pooled(func() { b.d.m.void(b.id, b.d.s.release) })
		b.id, b.p = 0, nil
		b.d.buffers.Add(-1)
	}
}

type pipeline struct {
	name       string
	id         object
	max, simdW int
}

// Name, MaxThreads and SIMDWidth implement gpu.Pipeline.
func (p *pipeline) Name() string    { return p.name }
func (p *pipeline) MaxThreads() int { return p.max }
func (p *pipeline) SIMDWidth() int  { return p.simdW }

// Pipeline compiles the named kernel into a compute pipeline.
func (d *Device) Pipeline(name string) (gpu.Pipeline, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pool := d.m.poolPush()
	defer d.m.poolPop(pool)
	str := d.nsString(name)
	defer d.m.void(str, d.s.release)
	fn := d.m.idID(d.library, d.s.newFunction, str)
	if fn == 0 {
		return nil, fmt.Errorf("metal %s: no kernel %q in the library", d.name, name)
	}
	defer d.m.void(fn, d.s.release)
	var nserr object
	id := d.m.pipeline(d.device, d.s.newPipeline, fn, &nserr)
	if id == 0 {
		return nil, d.nsError("pipeline "+name, nserr)
	}
	d.pipelines = append(d.pipelines, id)
	return &pipeline{name: name, id: id, max: int(d.m.uint(id, d.s.maxThreads)), simdW: int(d.m.uint(id, d.s.execWidth))}, nil
}

// commandBuffer is an MTLCommandBuffer with its one compute encoder. Both come
// autoreleased from Metal and are retained here, so that several command buffers can be in
// flight at once (pools pop in LIFO order, command buffers complete in commit order); every
// step that may autorelease (creation, each dispatch's encoding, commit, wait and the
// error's description) runs in its own autorelease pool on a locked OS thread. Go's threads
// never exit, so an object autoreleased outside a pool would never be freed.
type commandBuffer struct {
	d       *Device
	cb, enc object
	waited  bool

	// The bindings of the next dispatch, sent with it inside one pool (a pool per call
	// would cost more than the calls); the bytes are copied into arena, reused from one
	// dispatch to the next, so that a dispatch allocates nothing.
	pipe  object
	bufs  []bufBinding
	bytes []bytesBinding
	arena []byte
}

type bufBinding struct {
	buf        object
	off, index uint
}

// bytesBinding is arena[off:off+n] bound at index.
type bytesBinding struct {
	off, n int
	index  uint
}

// NewCommandBuffer makes a command buffer and its compute encoder.
func (d *Device) NewCommandBuffer() (gpu.CommandBuffer, error) {
	c := &commandBuffer{d: d}
	d.pooled(func() {
		c.cb = d.m.id(d.queue, d.s.commandBuffer)
		if c.cb == 0 {
			return
		}
		d.m.id(c.cb, d.s.retain)
		c.enc = d.m.id(c.cb, d.s.computeEncoder)
		if c.enc != 0 {
			d.m.id(c.enc, d.s.retain)
		} else {
			d.m.void(c.cb, d.s.release)
		}
	})
	if c.cb == 0 || c.enc == 0 {
		return nil, fmt.Errorf("metal %s: cannot make a command buffer and compute encoder", d.name)
	}
	d.commandBuffers.Add(1)
	return c, nil
}

// SetPipeline, SetBuffer, SetBytes, Dispatch, Commit and Wait implement gpu.CommandBuffer.
// The first three record; Dispatch encodes.
func (c *commandBuffer) SetPipeline(p gpu.Pipeline) { c.pipe = p.(*pipeline).id }

func (c *commandBuffer) SetBuffer(b gpu.Buffer, off, i int) {
	c.bufs = append(c.bufs, bufBinding{b.(*buffer).id, uint(off), uint(i)})
}

func (c *commandBuffer) SetBytes(data []byte, i int) {
	if len(data) > maxSetBytes {
		panic(fmt.Sprintf("metal: setBytes of %d bytes (at most %d)", len(data), maxSetBytes))
	}
	if len(data) == 0 {
		data = make([]byte, 4)
	}
	c.bytes = append(c.bytes, bytesBinding{len(c.arena), len(data), uint(i)})
	c.arena = append(c.arena, data...)
}

func (c *commandBuffer) Dispatch(groups, threads [3]int) {
	d := c.d
	d.pooled(func() {
		if c.pipe != 0 {
			d.m.voidID(c.enc, d.s.setPipeline, c.pipe)
			c.pipe = 0
		}
		for _, b := range c.bufs {
			d.m.setBuf(c.enc, d.s.setBuffer, b.buf, b.off, b.index)
		}
		for _, b := range c.bytes {
			// Metal copies the bytes during the call.
			d.m.setBytes(c.enc, d.s.setBytes, unsafe.Pointer(&c.arena[b.off]), uint(b.n), b.index)
		}
		d.m.dispatch(c.enc, d.s.dispatch,
			mtlSize{uint(groups[0]), uint(groups[1]), uint(groups[2])},
			mtlSize{uint(threads[0]), uint(threads[1]), uint(threads[2])})
	})
	runtime.KeepAlive(c.arena)
	clear(c.bufs)
	c.bufs = c.bufs[:0]
	c.bytes, c.arena = c.bytes[:0], c.arena[:0]
}

func (c *commandBuffer) Commit() {
	c.d.pooled(func() {
		c.d.m.void(c.enc, c.d.s.endEncoding)
		c.d.m.void(c.enc, c.d.s.release)
		c.enc = 0
		c.d.m.void(c.cb, c.d.s.commit)
	})
}

// Wait waits for completion, turns an error status into a Go error with Metal's
// description, and releases the command buffer.
func (c *commandBuffer) Wait() error {
	if c.waited {
		return errors.New("metal: Wait called twice")
	}
	c.waited = true
	var err error
	c.d.pooled(func() {
		c.d.m.void(c.cb, c.d.s.waitUntilCompleted)
		if c.d.m.uint(c.cb, c.d.s.status) == statusError {
			err = c.d.commandBufferError(c.d.m.id(c.cb, c.d.s.errorSel))
		}
		c.d.m.void(c.cb, c.d.s.release)
		c.cb = 0
	})
	c.d.commandBuffers.Add(-1)
	return err
}
