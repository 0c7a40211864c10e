// Helpers every Janus kernel file may use. The kernel files are concatenated in name order
// into one source, so this file comes first.
#include <metal_stdlib>
using namespace metal;

// Threads per threadgroup of the one-dimensional kernels (elementwise, copies, layouts).
#define FLAT_THREADS 256

// widen reads a weight element as float: F32 as is, F16 through half, BF16 stored as ushort
// (the top half of a float32), so every Apple GPU runs it without bfloat support.
inline float widen(float x) { return x; }
inline float widen(half x) { return float(x); }
inline float widen(ushort x) { return as_type<float>(uint(x) << 16); }

// erfc_approx is the complementary error function with a relative error below 1.2e-7
// (Numerical Recipes' Chebyshev fit), since MSL has no erf. It stays accurate for large
// arguments, where 1 - erf would cancel.
inline float erfc_approx(float x) {
  float z = fabs(x);
  float t = 1.0f / (1.0f + 0.5f * z);
  float poly = -1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f +
               t * (-0.18628806f + t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f +
               t * (-0.82215223f + t * 0.17087277f))))))));
  float r = t * exp(min(-z * z + poly, 0.0f));
  return x >= 0.0f ? r : 2.0f - r;
}

// group_sum returns the sum of v over the whole threadgroup, the same value on every
// thread, adding the SIMD groups' partial sums in a fixed order. partial holds one float per
// SIMD group; every thread of the group must call it.
inline float group_sum(float v, threadgroup float* partial, uint sg, uint lane, uint nsg) {
  float s = simd_sum(v);
  if (lane == 0) {
    partial[sg] = s;
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);
  float total = 0.0f;
  for (uint i = 0; i < nsg; i++) {
    total += partial[i];
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);  // partial is reused by the next call
  return total;
}
