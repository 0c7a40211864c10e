// Package metal is the Metal backend: compute.Backend implemented with Metal compute
// shaders on Apple GPUs, reached through github.com/ebitengine/purego's objc package, so the
// package needs no cgo and cross-compiles from Linux.
//
// The backend's own code (buffers, pipeline choice, dispatch geometry, argument indices,
// encoding order, synchronisation) is written against the small device interface of
// metal/internal/gpu. Two devices implement it:
//   - metal/internal/mtl, the real one (darwin): Metal through purego/objc;
//   - metal/internal/sim, the simulated one (linux, for tests and debugging): the very same
//     MSL sources (metal/kernels) compiled by clang as C++ against the project's shim header
//     into a shared library that Go loads with purego.Dlopen, run by a cooperative
//     threadgroup scheduler on the CPU.
//
// Backends registered in package compute: "metal" (every system; it opens only on macOS
// with a Metal device, elsewhere its error wraps compute.ErrUnavailable) and, on Linux,
// "metal-sim" (compute.TestOnly: opened by name only, never by "auto"). The simulated
// device reads JANUS_METAL_SIM_REVERSE=1 (run threads in reverse order) and
// JANUS_METAL_SIM_SANITIZE=1 (the ASan/UBSan build; the process must preload the ASan
// runtime).
//
// Host data passed to an op (Embedding's ids, RoPE's table, Write's data) is copied into the
// command buffer or a staging buffer before the op returns, as the compute contract asks.
// Kernels are hand-written rather than generated: there are few of them, and each must
// match compute/cpu's arithmetic closely (see metal/kernels).
package metal
