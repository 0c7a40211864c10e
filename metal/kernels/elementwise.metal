// Elementwise ops, one thread per element, FLAT_THREADS per threadgroup. Every kernel may
// run in place (dst the same buffer as x or a): each thread reads its inputs before it writes.
#include <metal_stdlib>
using namespace metal;

struct BinaryParams {
  uint n;  // elements of dst and a
  uint m;  // elements of b, repeated over a (m divides n)
};

kernel void add_f32(device const float* a [[buffer(0)]], device const float* b [[buffer(1)]],
                    device float* dst [[buffer(2)]], constant BinaryParams& p [[buffer(3)]],
                    uint i [[thread_position_in_grid]]) {
  if (i < p.n) {
    dst[i] = a[i] + b[i % p.m];
  }
}

kernel void mul_f32(device const float* a [[buffer(0)]], device const float* b [[buffer(1)]],
                    device float* dst [[buffer(2)]], constant BinaryParams& p [[buffer(3)]],
                    uint i [[thread_position_in_grid]]) {
  if (i < p.n) {
    dst[i] = a[i] * b[i % p.m];
  }
}

struct UnaryParams {
  uint n;
  float s;  // Scale's factor; unused by the activations
};

kernel void scale_f32(device const float* x [[buffer(0)]], device float* dst [[buffer(1)]],
                      constant UnaryParams& p [[buffer(2)]], uint i [[thread_position_in_grid]]) {
  if (i < p.n) {
    dst[i] = x[i] * p.s;
  }
}

kernel void copy_f32(device const float* x [[buffer(0)]], device float* dst [[buffer(1)]],
                     constant UnaryParams& p [[buffer(2)]], uint i [[thread_position_in_grid]]) {
  if (i < p.n) {
    dst[i] = x[i];
  }
}

// gelu_f32 is the exact GELU, 0.5·x·(1+erf(x/√2)), written as 0.5·x·erfc(-x/√2).
kernel void gelu_f32(device const float* x [[buffer(0)]], device float* dst [[buffer(1)]],
                     constant UnaryParams& p [[buffer(2)]], uint i [[thread_position_in_grid]]) {
  if (i < p.n) {
    float v = x[i];
    dst[i] = 0.5f * v * erfc_approx(-v * 0.70710678118654752f);
  }
}

// silu is x·sigmoid(x); the exponent is capped so that no infinity appears under fast math.
inline float silu(float v) { return v / (1.0f + exp(min(-v, 88.0f))); }

kernel void silu_f32(device const float* x [[buffer(0)]], device float* dst [[buffer(1)]],
                     constant UnaryParams& p [[buffer(2)]], uint i [[thread_position_in_grid]]) {
  if (i < p.n) {
    dst[i] = silu(x[i]);
  }
}

kernel void swiglu_f32(device const float* gate [[buffer(0)]], device const float* up [[buffer(1)]],
                       device float* dst [[buffer(2)]], constant UnaryParams& p [[buffer(3)]],
                       uint i [[thread_position_in_grid]]) {
  if (i < p.n) {
    dst[i] = silu(gate[i]) * up[i];
  }
}
