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
// This package registers "metal" in package compute on every system: it opens only on
// macOS with a Metal device; elsewhere its error wraps compute.ErrUnavailable, so "auto"
// falls back to the CPU. On Linux the package links no purego, so programs stay statically
// linked. The simulated device is the backend "metal-sim" of package metal/metalsim (test
// only, never chosen by "auto").
//
// Host data passed to an op (Embedding's ids, RoPE's cos/sin table, Write's data while
// work is queued) is copied into a staging arena before the op returns, as the compute
// contract asks; the arena's buffers are reused step after step. RoPE's table is computed on
// the host exactly as compute/cpu computes it, so both backends rotate by the same values.
// Kernels are hand-written MSL rather than generated or translated: there are few of them,
// and each must match compute/cpu's arithmetic closely (see metal/kernels). Weights are
// copied once into shared buffers at load (no newBufferWithBytesNoCopy: checkpoint tensors
// are not page-aligned inside safetensors and PyTorch files).
//
// Q8/Q4 weights are quantized on the host with a copy of compute/cpu's quantizer, so both
// backends hold the same codes; the kernels multiply them with float32 activations rather
// than the int8 ones of the CPU's few-row kernels (within the conformance suite's bound).
//
// An F16 KV cache (the BF16 precision's) is a half buffer: copy_rows_f32_f16 narrows rows
// into it (nearest even, saturated at ±65504 as on the CPU) and attention_f16, the same
// template as attention_f32, widens each key and value as it loads it, so both give the
// same result on the same values.
package metal
