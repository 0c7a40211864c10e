// Package sim is the simulated Metal device: it runs the Metal backend's MSL kernels on the
// CPU, so the backend's Go code and the kernels themselves are tested on Linux, where no
// Metal compiler exists.
//
// The kernels' source (metal/kernels) is compiled, unchanged but for one rewrite of
// threadgroup array declarations, by clang as C++ against the project's shim: shim/metal_stdlib
// replaces <metal_stdlib> (address spaces, vector and half types, as_type, math, barriers
// and SIMD-group functions) and shim/msl_runtime.h runs each threadgroup's threads as fibers
// that switch only at barriers and SIMD-group calls. Generated glue binds each kernel's
// [[buffer(i)]] and thread-position parameters; the result is a shared library that Go
// loads with purego.Dlopen, so no cgo is involved. Libraries are cached under the user's
// cache folder by a hash of the sources, shim, compiler and flags.
//
// What it adds over a plain CPU port: threads run in forward or reverse order (a missing
// barrier changes the result), threadgroup memory starts as NaN, divergent barriers and
// SIMD-group calls are errors, a Sanitized build runs under AddressSanitizer and UBSan
// (out-of-bounds device reads point at the .metal line), and CheckAddressSpaces makes
// device, constant and threadgroup distinct clang address spaces, so mixing them fails as
// it does with Apple's compiler. What it cannot check: Metal compiler rules and limits, fast
// math and GPU precision, races between threadgroups (they run one after another), and speed.
//
// It is hand-written rather than built on a translator (SPIR-V Cross, naga): the kernels stay
// in MSL, the language the Mac compiles, and the scheduler is a few hundred lines.
package sim
