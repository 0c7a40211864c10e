// Normalisations: one threadgroup of NORM_THREADS threads per row (LayerNorm, RMSNorm) or per
// (image, group) (GroupNorm). Moments are two-pass (mean, then squared deviations) in float,
// reduced through group_sum in a fixed order.
#include <metal_stdlib>
using namespace metal;

#define NORM_THREADS 256
#define NORM_SIMDGROUPS (NORM_THREADS / 32)

struct NormParams {
  uint rows;
  uint dim;     // elements per row (per group for GroupNorm)
  float eps;
  uint plane;   // GroupNorm: H·W; channels of one group are dim/plane
  uint groups;  // GroupNorm: groups per image
};

kernel void layer_norm_f32(device const float* x [[buffer(0)]], device const float* w [[buffer(1)]],
                           device const float* b [[buffer(2)]], device float* dst [[buffer(3)]],
                           constant NormParams& p [[buffer(4)]], uint3 group [[threadgroup_position_in_grid]],
                           uint tid [[thread_index_in_threadgroup]], uint sg [[simdgroup_index_in_threadgroup]],
                           uint lane [[thread_index_in_simdgroup]]) {
  threadgroup float partial[NORM_SIMDGROUPS];
  device const float* src = x + group.x * p.dim;
  device float* res = dst + group.x * p.dim;
  float s = 0.0f;
  for (uint i = tid; i < p.dim; i += NORM_THREADS) {
    s += src[i];
  }
  float mean = group_sum(s, partial, sg, lane, NORM_SIMDGROUPS) / float(p.dim);
  float q = 0.0f;
  for (uint i = tid; i < p.dim; i += NORM_THREADS) {
    float d = src[i] - mean;
    q += d * d;
  }
  float var = group_sum(q, partial, sg, lane, NORM_SIMDGROUPS) / float(p.dim);
  float rstd = 1.0f / sqrt(var + p.eps);
  float shift = -mean * rstd;
  for (uint i = tid; i < p.dim; i += NORM_THREADS) {
    res[i] = (src[i] * rstd + shift) * w[i] + b[i];
  }
}

kernel void rms_norm_f32(device const float* x [[buffer(0)]], device const float* w [[buffer(1)]],
                         device float* dst [[buffer(2)]], constant NormParams& p [[buffer(3)]],
                         uint3 group [[threadgroup_position_in_grid]], uint tid [[thread_index_in_threadgroup]],
                         uint sg [[simdgroup_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]]) {
  threadgroup float partial[NORM_SIMDGROUPS];
  device const float* src = x + group.x * p.dim;
  device float* res = dst + group.x * p.dim;
  float q = 0.0f;
  for (uint i = tid; i < p.dim; i += NORM_THREADS) {
    q += src[i] * src[i];
  }
  float ms = group_sum(q, partial, sg, lane, NORM_SIMDGROUPS) / float(p.dim) + p.eps;
  float rs = 1.0f / sqrt(ms);
  for (uint i = tid; i < p.dim; i += NORM_THREADS) {
    res[i] = w[i] * (src[i] * rs);
  }
}

// group_norm_f32: threadgroup g normalises the p.dim contiguous values of (image, group)
// g, then applies each channel's affine folded into one scale and shift, as torch does.
kernel void group_norm_f32(device const float* x [[buffer(0)]], device const float* w [[buffer(1)]],
                           device const float* b [[buffer(2)]], device float* dst [[buffer(3)]],
                           constant NormParams& p [[buffer(4)]], uint3 group [[threadgroup_position_in_grid]],
                           uint tid [[thread_index_in_threadgroup]], uint sg [[simdgroup_index_in_threadgroup]],
                           uint lane [[thread_index_in_simdgroup]]) {
  threadgroup float partial[NORM_SIMDGROUPS];
  device const float* src = x + group.x * p.dim;
  device float* res = dst + group.x * p.dim;
  float s = 0.0f;
  for (uint i = tid; i < p.dim; i += NORM_THREADS) {
    s += src[i];
  }
  float mean = group_sum(s, partial, sg, lane, NORM_SIMDGROUPS) / float(p.dim);
  float q = 0.0f;
  for (uint i = tid; i < p.dim; i += NORM_THREADS) {
    float d = src[i] - mean;
    q += d * d;
  }
  float var = group_sum(q, partial, sg, lane, NORM_SIMDGROUPS) / float(p.dim);
  float rstd = 1.0f / sqrt(var + p.eps);
  uint c0 = (group.x % p.groups) * (p.dim / p.plane);
  for (uint i = tid; i < p.dim; i += NORM_THREADS) {
    uint c = c0 + i / p.plane;
    float sc = rstd * w[c];
    float sh = b[c] - mean * sc;
    res[i] = src[i] * sc + sh;
  }
}
