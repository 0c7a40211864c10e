// Package gpu is the small device interface the Metal backend is written against, so that
// its own code (buffers, pipeline choice, dispatch geometry, argument indices, encoding
// order, synchronisation) does not know whether it drives a real Metal device (darwin,
// metal/internal/mtl) or the simulated one (linux, metal/internal/sim).
//
// The model is Metal's: shared-storage buffers the host reads and writes directly, compute
// pipelines looked up by kernel name, and command buffers holding one compute encoder whose
// dispatches run in order, each seeing the writes of the ones before it.
package gpu

import "unsafe"

// Device creates buffers, pipelines and command buffers.
type Device interface {
	// Name describes the device for logs ("Apple M2 Pro", "simulated (clang 14)").
	Name() string
	// WorkingSet is the bytes of buffers the device runs well with (Metal's
	// recommendedMaxWorkingSetSize), 0 when it has no such limit.
	WorkingSet() int64
	// NewBuffer allocates size zeroed bytes of memory the host and the device share.
	NewBuffer(size int) (Buffer, error)
	// Pipeline returns the compute pipeline of the named kernel, compiled once.
	Pipeline(name string) (Pipeline, error)
	// NewCommandBuffer starts a command buffer with one compute encoder.
	NewCommandBuffer() (CommandBuffer, error)
	// Close releases the device, its queue, library and pipelines.
	Close() error
}

// Buffer is device memory shared with the host.
type Buffer interface {
	// Contents is the buffer's memory, valid until Release; the host may only touch it when
	// no command buffer that uses the buffer is in flight.
	Contents() unsafe.Pointer
	// Size is the length in bytes.
	Size() int
	// Release frees the buffer.
	Release()
}

// Pipeline is a compiled compute kernel.
type Pipeline interface {
	// Name is the kernel's name.
	Name() string
	// MaxThreads is the largest threadgroup the pipeline can run.
	MaxThreads() int
	// SIMDWidth is the number of threads in a SIMD group (32 on every Apple GPU; the kernels
	// assume it).
	SIMDWidth() int
}

// CommandBuffer records dispatches for the device to run in order.
type CommandBuffer interface {
	// SetPipeline selects the kernel of the following dispatches.
	SetPipeline(p Pipeline)
	// SetBuffer binds b from byte offset off at argument index i ([[buffer(i)]]).
	SetBuffer(b Buffer, off, i int)
	// SetBytes binds a copy of data (at most 4 KB) at argument index i.
	SetBytes(data []byte, i int)
	// Dispatch runs groups threadgroups of threads threads each with the current bindings.
	Dispatch(groups, threads [3]int)
	// Commit ends encoding and submits the command buffer; it must not be changed after.
	Commit()
	// Wait blocks until the committed command buffer completes and returns its error, if
	// the device reported one. It releases the command buffer.
	Wait() error
}
