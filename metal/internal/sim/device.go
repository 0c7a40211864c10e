//go:build linux

package sim

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/janus-desktop/janus/metal/internal/gpu"
)

// Options configure a simulated device.
type Options struct {
	// Variant picks the optimized or the sanitized build of the kernels.
	Variant Variant
	// Reverse runs the threadgroups of every dispatch, and the threads within each barrier
	// phase, in reverse order: a kernel that misses a barrier then gives another result.
	Reverse bool
}

// Stats counts what the backend asked of the device, for tests of its encoding.
type Stats struct {
	// CommandBuffers is the number of command buffers committed, Dispatches the number of
	// kernel dispatches they held.
	CommandBuffers, Dispatches int64
	// Buffers is the number of device buffers allocated and not yet released.
	Buffers int64
}

// Device is the simulated Metal device: the kernels compiled by clang into a shared
// library, loaded with purego (no cgo) and run on the CPU by the shim's scheduler.
type Device struct {
	lib     *library
	kernels map[string]int
	reverse bool
	clang   string

	commits, dispatches, buffers atomic.Int64

	mu   sync.Mutex
	last chan struct{} // completion of the last committed command buffer
}

var _ gpu.Device = (*Device)(nil)

// library is the loaded shared library's entry points.
type library struct {
	alloc    func(n uintptr) unsafe.Pointer
	free     func(p unsafe.Pointer)
	count    func() int32
	name     func(i int32) string
	dispatch func(k int32, args, sizes unsafe.Pointer, nargs int32, dims unsafe.Pointer, reverse int32, errBuf unsafe.Pointer, errLen int32) int32
}

// Open builds (or finds in the cache) the library for src and loads it.
func Open(ctx context.Context, src string, o Options) (*Device, error) {
	clang, err := FindCompiler()
	if err != nil {
		return nil, err
	}
	path, err := Build(ctx, clang, src, o.Variant)
	if err != nil {
		return nil, err
	}
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, fmt.Errorf("load the simulated device %s: %w", path, err)
	}
	lib := &library{}
	purego.RegisterLibFunc(&lib.alloc, h, "janus_sim_alloc")
	purego.RegisterLibFunc(&lib.free, h, "janus_sim_free")
	purego.RegisterLibFunc(&lib.count, h, "janus_sim_kernel_count")
	purego.RegisterLibFunc(&lib.name, h, "janus_sim_kernel_name")
	purego.RegisterLibFunc(&lib.dispatch, h, "janus_sim_dispatch")
	d := &Device{lib: lib, kernels: map[string]int{}, reverse: o.Reverse, clang: clang}
	for i := range lib.count() {
		d.kernels[lib.name(i)] = int(i)
	}
	return d, nil
}

// Name describes the device.
func (d *Device) Name() string {
	order := "forward"
	if d.reverse {
		order = "reverse"
	}
	return fmt.Sprintf("simulated Metal device (%s, %s order)", d.clang, order)
}

// WorkingSet is 0: the simulated device's buffers are the host's memory.
func (d *Device) WorkingSet() int64 { return 0 }

// Stats returns the counts so far.
func (d *Device) Stats() Stats {
	return Stats{CommandBuffers: d.commits.Load(), Dispatches: d.dispatches.Load(), Buffers: d.buffers.Load()}
}

// Close does nothing: the library stays loaded for the life of the process, as dlopen'd
// code may not be unloaded while Go holds function values into it.
func (d *Device) Close() error { return nil }

// buffer is device memory from the library's allocator, so ASan knows its exact size.
type buffer struct {
	dev  *Device
	p    unsafe.Pointer
	size int
}

// NewBuffer allocates size zeroed bytes.
func (d *Device) NewBuffer(size int) (gpu.Buffer, error) {
	if size < 0 {
		return nil, fmt.Errorf("simulated device: buffer of %d bytes", size)
	}
	p := d.lib.alloc(uintptr(size))
	if p == nil {
		return nil, fmt.Errorf("simulated device: out of memory for %d bytes", size)
	}
	d.buffers.Add(1)
	return &buffer{dev: d, p: p, size: size}, nil
}

// Contents, Size and Release implement gpu.Buffer.
func (b *buffer) Contents() unsafe.Pointer { return b.p }
func (b *buffer) Size() int                { return b.size }

func (b *buffer) Release() {
	if b.p != nil {
		b.dev.lib.free(b.p)
		b.p = nil
		b.dev.buffers.Add(-1)
	}
}

type pipeline struct {
	name  string
	index int
}

// Name, MaxThreads and SIMDWidth implement gpu.Pipeline.
func (p *pipeline) Name() string    { return p.name }
func (p *pipeline) MaxThreads() int { return 1024 }
func (p *pipeline) SIMDWidth() int  { return 32 }

// Pipeline looks the kernel up in the library.
func (d *Device) Pipeline(name string) (gpu.Pipeline, error) {
	i, ok := d.kernels[name]
	if !ok {
		return nil, fmt.Errorf("simulated device: no kernel %q in the library", name)
	}
	return &pipeline{name: name, index: i}, nil
}

// dispatch is one recorded dispatch with its bindings.
type dispatch struct {
	kernel int
	name   string
	args   []uintptr
	sizes  []uintptr
	dims   [6]uint32
}

// commandBuffer records dispatches and runs them on a goroutine when committed (after the
// command buffers committed before it), so the host really does run ahead of the "device"
// until it waits.
type commandBuffer struct {
	dev      *Device
	pipe     *pipeline
	args     []uintptr
	sizes    []uintptr
	list     []dispatch
	bytes    []unsafe.Pointer // setBytes copies, freed when the command buffer completes
	done     chan struct{}
	err      error
	commited bool
}

// NewCommandBuffer starts recording.
func (d *Device) NewCommandBuffer() (gpu.CommandBuffer, error) {
	return &commandBuffer{dev: d}, nil
}

func (c *commandBuffer) bind(i int, p uintptr, size int) {
	for len(c.args) <= i {
		c.args = append(c.args, 0)
		c.sizes = append(c.sizes, 0)
	}
	c.args[i], c.sizes[i] = p, uintptr(size)
}

// SetPipeline, SetBuffer, SetBytes, Dispatch, Commit and Wait implement gpu.CommandBuffer.
func (c *commandBuffer) SetPipeline(p gpu.Pipeline) { c.pipe = p.(*pipeline) }

func (c *commandBuffer) SetBuffer(b gpu.Buffer, off, i int) {
	buf := b.(*buffer)
	if buf.p == nil {
		panic("simulated device: SetBuffer of a released buffer")
	}
	if off < 0 || off > buf.size {
		panic(fmt.Sprintf("simulated device: offset %d outside a buffer of %d bytes", off, buf.size))
	}
	c.bind(i, uintptr(buf.p)+uintptr(off), buf.size-off)
}

func (c *commandBuffer) SetBytes(data []byte, i int) {
	if len(data) > 4096 {
		panic(fmt.Sprintf("simulated device: setBytes of %d bytes (Metal allows 4 KB)", len(data)))
	}
	p := c.dev.lib.alloc(uintptr(len(data)))
	copy(unsafe.Slice((*byte)(p), len(data)), data)
	c.bytes = append(c.bytes, p)
	c.bind(i, uintptr(p), len(data))
}

func (c *commandBuffer) Dispatch(groups, threads [3]int) {
	if c.pipe == nil {
		panic("simulated device: Dispatch without a pipeline")
	}
	var dims [6]uint32
	for i := range 3 {
		if groups[i] < 0 || threads[i] < 1 || groups[i] > 1<<31 {
			panic(fmt.Sprintf("simulated device: dispatch of %v groups of %v threads", groups, threads))
		}
		dims[i], dims[3+i] = uint32(groups[i]), uint32(threads[i])
	}
	c.list = append(c.list, dispatch{kernel: c.pipe.index, name: c.pipe.name,
		args: append([]uintptr(nil), c.args...), sizes: append([]uintptr(nil), c.sizes...), dims: dims})
}

func (c *commandBuffer) Commit() {
	if c.commited {
		panic("simulated device: command buffer committed twice")
	}
	c.commited = true
	c.done = make(chan struct{})
	c.dev.commits.Add(1)
	c.dev.dispatches.Add(int64(len(c.list)))
	// Command buffers of one queue run in commit order: each starts when the previous one
	// has completed.
	c.dev.mu.Lock()
	prev := c.dev.last
	c.dev.last = c.done
	c.dev.mu.Unlock()
	go func() {
		defer close(c.done)
		if prev != nil {
			<-prev
		}
		c.err = c.run()
	}()
}

// run executes the dispatches in order; the first failure ends the command buffer, as a
// Metal command buffer stops with an error status.
func (c *commandBuffer) run() error {
	errBuf := make([]byte, 1024)
	var pin runtime.Pinner
	defer pin.Unpin()
	for _, d := range c.list {
		if d.dims[0]*d.dims[1]*d.dims[2] == 0 {
			continue
		}
		args, sizes := d.args, d.sizes
		if len(args) == 0 {
			args, sizes = []uintptr{0}, []uintptr{0}
		}
		pin.Pin(&args[0])
		pin.Pin(&sizes[0])
		pin.Pin(&d.dims[0])
		pin.Pin(&errBuf[0])
		rev := int32(0)
		if c.dev.reverse {
			rev = 1
		}
		if c.dev.lib.dispatch(int32(d.kernel), unsafe.Pointer(&args[0]), unsafe.Pointer(&sizes[0]), int32(len(d.args)),
			unsafe.Pointer(&d.dims[0]), rev, unsafe.Pointer(&errBuf[0]), int32(len(errBuf))) != 0 {
			msg := string(errBuf)
			if i := strings.IndexByte(msg, 0); i >= 0 {
				msg = msg[:i]
			}
			return fmt.Errorf("simulated device: %s", msg)
		}
	}
	return nil
}

func (c *commandBuffer) Wait() error {
	if !c.commited {
		return errors.New("simulated device: Wait before Commit")
	}
	<-c.done
	for _, p := range c.bytes {
		c.dev.lib.free(p)
	}
	c.bytes = nil
	return c.err
}
