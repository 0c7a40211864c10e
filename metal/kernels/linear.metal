// Linear: dst[M,N] = x[M,K]·w[N,K]ᵀ (+ bias[N]), with F32, F16 or BF16 weights widened to
// float as they are read; sums in float32.
#include <metal_stdlib>
using namespace metal;

struct LinearParams {
  uint m, n, k;
  uint has_bias;  // 0: buffer(2) is a placeholder
};

// Matrix-vector (decode): up to MV_MAX_M rows of x. One SIMD group per output column n, its
// lanes striding over k so each weight row streams through once, coalesced; MV_SIMDGROUPS
// columns per threadgroup.
#define MV_MAX_M 8
#define MV_SIMDGROUPS 8

template <typename W>
inline void linear_mv(device const float* x, device const W* w, device const float* bias, device float* dst,
                      constant LinearParams& p, uint n, uint lane) {
  if (n >= p.n) {
    return;  // the whole SIMD group: n is the same on every lane
  }
  float acc[MV_MAX_M];
  for (uint r = 0; r < MV_MAX_M; r++) {
    acc[r] = 0.0f;
  }
  // Loops over rows run MV_MAX_M times with a guard, so the compiler unrolls them and keeps
  // acc in registers (a runtime trip count would index acc dynamically, through memory).
  device const W* row = w + n * p.k;
  for (uint k = lane; k < p.k; k += 32) {
    float wv = widen(row[k]);
    for (uint r = 0; r < MV_MAX_M; r++) {
      if (r < p.m) {
        acc[r] += x[r * p.k + k] * wv;
      }
    }
  }
  float b = p.has_bias != 0 ? bias[n] : 0.0f;
  for (uint r = 0; r < MV_MAX_M; r++) {
    if (r < p.m) {
      float s = simd_sum(acc[r]);
      if (lane == 0) {
        dst[r * p.n + n] = s + b;
      }
    }
  }
}

kernel void linear_mv_f32(device const float* x [[buffer(0)]], device const float* w [[buffer(1)]],
                          device const float* bias [[buffer(2)]], device float* dst [[buffer(3)]],
                          constant LinearParams& p [[buffer(4)]], uint3 group [[threadgroup_position_in_grid]],
                          uint sg [[simdgroup_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]]) {
  linear_mv(x, w, bias, dst, p, group.x * MV_SIMDGROUPS + sg, lane);
}

kernel void linear_mv_f16(device const float* x [[buffer(0)]], device const half* w [[buffer(1)]],
                          device const float* bias [[buffer(2)]], device float* dst [[buffer(3)]],
                          constant LinearParams& p [[buffer(4)]], uint3 group [[threadgroup_position_in_grid]],
                          uint sg [[simdgroup_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]]) {
  linear_mv(x, w, bias, dst, p, group.x * MV_SIMDGROUPS + sg, lane);
}

// linear_mv_bf16x4 is linear_mv for BF16 rows whose length is a multiple of 4 (every Janus
// layer): each lane reads 4 weights as one 8-byte load and 4 activations as one float4, so
// a SIMD group streams 256 contiguous bytes of the row per step. The row and x offsets are
// multiples of 8 and 16 bytes, since k is a multiple of 4.
inline void linear_mv_bf16x4(device const float* x, device const ushort* w, device const float* bias,
                             device float* dst, constant LinearParams& p, uint n, uint lane) {
  if (n >= p.n) {
    return;
  }
  float acc[MV_MAX_M];
  for (uint r = 0; r < MV_MAX_M; r++) {
    acc[r] = 0.0f;
  }
  uint k4 = p.k / 4;
  device const uint2* row = (device const uint2*)(w + n * p.k);
  for (uint j = lane; j < k4; j += 32) {
    uint2 v = row[j];
    float w0 = as_type<float>(v.x << 16), w1 = as_type<float>(v.x & 0xffff0000u);
    float w2 = as_type<float>(v.y << 16), w3 = as_type<float>(v.y & 0xffff0000u);
    for (uint r = 0; r < MV_MAX_M; r++) {
      if (r < p.m) {
        float4 xv = ((device const float4*)(x + r * p.k))[j];
        acc[r] += xv.x * w0 + xv.y * w1 + xv.z * w2 + xv.w * w3;
      }
    }
  }
  float b = p.has_bias != 0 ? bias[n] : 0.0f;
  for (uint r = 0; r < MV_MAX_M; r++) {
    if (r < p.m) {
      float s = simd_sum(acc[r]);
      if (lane == 0) {
        dst[r * p.n + n] = s + b;
      }
    }
  }
}

kernel void linear_mv_bf16(device const float* x [[buffer(0)]], device const ushort* w [[buffer(1)]],
                           device const float* bias [[buffer(2)]], device float* dst [[buffer(3)]],
                           constant LinearParams& p [[buffer(4)]], uint3 group [[threadgroup_position_in_grid]],
                           uint sg [[simdgroup_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]]) {
  if (p.k % 4 == 0) {
    linear_mv_bf16x4(x, w, bias, dst, p, group.x * MV_SIMDGROUPS + sg, lane);
  } else {
    linear_mv(x, w, bias, dst, p, group.x * MV_SIMDGROUPS + sg, lane);
  }
}

// Matrix-matrix (prefill, ViT, CFG batches): a MM_TILE×MM_TILE block of dst per threadgroup
// of 16×16 threads, each computing 2×2 outputs; x and w tiles of MM_KT columns of k are staged
// in threadgroup memory (padded by one column against bank conflicts).
#define MM_TILE 32
#define MM_KT 16
#define MM_PITCH (MM_KT + 1)

template <typename W>
inline void linear_mm(device const float* x, device const W* w, device const float* bias, device float* dst,
                      constant LinearParams& p, uint2 group, uint2 tid, threadgroup float* xs, threadgroup float* ws) {
  uint m0 = group.y * MM_TILE, n0 = group.x * MM_TILE;
  uint flat = tid.y * 16 + tid.x;
  float acc00 = 0.0f, acc01 = 0.0f, acc10 = 0.0f, acc11 = 0.0f;
  for (uint k0 = 0; k0 < p.k; k0 += MM_KT) {
    // 256 threads stage 2 × MM_TILE×MM_KT = 1024 values: two of x and two of w each.
    for (uint e = flat; e < MM_TILE * MM_KT; e += 256) {
      uint r = e / MM_KT, c = e % MM_KT;
      uint gm = m0 + r, gn = n0 + r, gk = k0 + c;
      xs[r * MM_PITCH + c] = gm < p.m && gk < p.k ? x[gm * p.k + gk] : 0.0f;
      ws[r * MM_PITCH + c] = gn < p.n && gk < p.k ? widen(w[gn * p.k + gk]) : 0.0f;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint c = 0; c < MM_KT; c++) {
      float x0 = xs[(2 * tid.y) * MM_PITCH + c], x1 = xs[(2 * tid.y + 1) * MM_PITCH + c];
      float w0 = ws[(2 * tid.x) * MM_PITCH + c], w1 = ws[(2 * tid.x + 1) * MM_PITCH + c];
      acc00 += x0 * w0;
      acc01 += x0 * w1;
      acc10 += x1 * w0;
      acc11 += x1 * w1;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);  // the tiles are overwritten next round
  }
  uint gm = m0 + 2 * tid.y, gn = n0 + 2 * tid.x;
  float b0 = 0.0f, b1 = 0.0f;
  if (p.has_bias != 0) {
    b0 = gn < p.n ? bias[gn] : 0.0f;
    b1 = gn + 1 < p.n ? bias[gn + 1] : 0.0f;
  }
  if (gm < p.m && gn < p.n) {
    dst[gm * p.n + gn] = acc00 + b0;
  }
  if (gm < p.m && gn + 1 < p.n) {
    dst[gm * p.n + gn + 1] = acc01 + b1;
  }
  if (gm + 1 < p.m && gn < p.n) {
    dst[(gm + 1) * p.n + gn] = acc10 + b0;
  }
  if (gm + 1 < p.m && gn + 1 < p.n) {
    dst[(gm + 1) * p.n + gn + 1] = acc11 + b1;
  }
}

kernel void linear_mm_f32(device const float* x [[buffer(0)]], device const float* w [[buffer(1)]],
                          device const float* bias [[buffer(2)]], device float* dst [[buffer(3)]],
                          constant LinearParams& p [[buffer(4)]], uint3 group [[threadgroup_position_in_grid]],
                          uint3 tid [[thread_position_in_threadgroup]]) {
  threadgroup float xs[MM_TILE * MM_PITCH];
  threadgroup float ws[MM_TILE * MM_PITCH];
  linear_mm(x, w, bias, dst, p, group.xy, tid.xy, xs, ws);
}

kernel void linear_mm_f16(device const float* x [[buffer(0)]], device const half* w [[buffer(1)]],
                          device const float* bias [[buffer(2)]], device float* dst [[buffer(3)]],
                          constant LinearParams& p [[buffer(4)]], uint3 group [[threadgroup_position_in_grid]],
                          uint3 tid [[thread_position_in_threadgroup]]) {
  threadgroup float xs[MM_TILE * MM_PITCH];
  threadgroup float ws[MM_TILE * MM_PITCH];
  linear_mm(x, w, bias, dst, p, group.xy, tid.xy, xs, ws);
}

kernel void linear_mm_bf16(device const float* x [[buffer(0)]], device const ushort* w [[buffer(1)]],
                           device const float* bias [[buffer(2)]], device float* dst [[buffer(3)]],
                           constant LinearParams& p [[buffer(4)]], uint3 group [[threadgroup_position_in_grid]],
                           uint3 tid [[thread_position_in_threadgroup]]) {
  threadgroup float xs[MM_TILE * MM_PITCH];
  threadgroup float ws[MM_TILE * MM_PITCH];
  linear_mm(x, w, bias, dst, p, group.xy, tid.xy, xs, ws);
}

// Embedding: dst[i, :] = table[ids[i], :], one thread per element of dst.
struct EmbeddingParams {
  uint count;  // ids
  uint dim;
};

template <typename W>
inline void embedding(device const W* table, device const int* ids, device float* dst, constant EmbeddingParams& p,
                      uint i) {
  if (i < p.count * p.dim) {
    uint r = i / p.dim, c = i % p.dim;
    dst[i] = widen(table[uint(ids[r]) * p.dim + c]);
  }
}

kernel void embedding_f32(device const float* table [[buffer(0)]], device const int* ids [[buffer(1)]],
                          device float* dst [[buffer(2)]], constant EmbeddingParams& p [[buffer(3)]],
                          uint i [[thread_position_in_grid]]) {
  embedding(table, ids, dst, p, i);
}

kernel void embedding_f16(device const half* table [[buffer(0)]], device const int* ids [[buffer(1)]],
                          device float* dst [[buffer(2)]], constant EmbeddingParams& p [[buffer(3)]],
                          uint i [[thread_position_in_grid]]) {
  embedding(table, ids, dst, p, i);
}

kernel void embedding_bf16(device const ushort* table [[buffer(0)]], device const int* ids [[buffer(1)]],
                           device float* dst [[buffer(2)]], constant EmbeddingParams& p [[buffer(3)]],
                           uint i [[thread_position_in_grid]]) {
  embedding(table, ids, dst, p, i);
}
