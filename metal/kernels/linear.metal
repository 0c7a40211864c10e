// Linear: dst[M,N] = x[M,K]·w[N,K]ᵀ (+ bias[N]), with F32, F16 or BF16 weights widened to
// float as they are read; sums in float32. (Q8/Q4 weights: quant.metal.)
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
// of 16×16 threads, each computing 4×4 outputs strided by 16 (rows ty+16i, columns tx+16j,
// so neighbouring threads store neighbouring values); x and w tiles of MM_KT columns of k
// are staged in threadgroup memory, padded by one column so that the 16 threads of a row
// read 16 different banks.
#define MM_TILE 64
#define MM_KT 16
#define MM_PITCH (MM_KT + 1)

// DenseRows reads element (n, c) of an F32, F16 or BF16 weight matrix with rows of k
// elements as float; linear_mm takes any reader with this at() (quant.metal has the Q8/Q4
// ones), so the tile loop is written once.
template <typename W>
struct DenseRows {
  device const W* w;
  uint k;
  float at(uint n, uint c) const { return widen(w[n * k + c]); }
};

template <typename R>
inline void linear_mm(device const float* x, R rd, device const float* bias, device float* dst,
                      constant LinearParams& p, uint2 group, uint2 tid, threadgroup float* xs, threadgroup float* ws) {
  uint m0 = group.y * MM_TILE, n0 = group.x * MM_TILE;
  uint flat = tid.y * 16 + tid.x;
  float acc[4][4];
  for (uint i = 0; i < 4; i++) {
    for (uint j = 0; j < 4; j++) {
      acc[i][j] = 0.0f;
    }
  }
  for (uint k0 = 0; k0 < p.k; k0 += MM_KT) {
    // 256 threads stage 2 × MM_TILE×MM_KT values: four of x and four of w each.
    for (uint e = flat; e < MM_TILE * MM_KT; e += 256) {
      uint r = e / MM_KT, c = e % MM_KT;
      uint gm = m0 + r, gn = n0 + r, gk = k0 + c;
      xs[r * MM_PITCH + c] = gm < p.m && gk < p.k ? x[gm * p.k + gk] : 0.0f;
      ws[r * MM_PITCH + c] = gn < p.n && gk < p.k ? rd.at(gn, gk) : 0.0f;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint c = 0; c < MM_KT; c++) {
      float xv[4], wv[4];
      for (uint i = 0; i < 4; i++) {
        xv[i] = xs[(tid.y + 16 * i) * MM_PITCH + c];
        wv[i] = ws[(tid.x + 16 * i) * MM_PITCH + c];
      }
      for (uint i = 0; i < 4; i++) {
        for (uint j = 0; j < 4; j++) {
          acc[i][j] += xv[i] * wv[j];
        }
      }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);  // the tiles are overwritten next round
  }
  for (uint j = 0; j < 4; j++) {
    uint gn = n0 + tid.x + 16 * j;
    if (gn >= p.n) {
      continue;
    }
    float b = p.has_bias != 0 ? bias[gn] : 0.0f;
    for (uint i = 0; i < 4; i++) {
      uint gm = m0 + tid.y + 16 * i;
      if (gm < p.m) {
        dst[gm * p.n + gn] = acc[i][j] + b;
      }
    }
  }
}

kernel void linear_mm_f32(device const float* x [[buffer(0)]], device const float* w [[buffer(1)]],
                          device const float* bias [[buffer(2)]], device float* dst [[buffer(3)]],
                          constant LinearParams& p [[buffer(4)]], uint3 group [[threadgroup_position_in_grid]],
                          uint3 tid [[thread_position_in_threadgroup]]) {
  threadgroup float xs[MM_TILE * MM_PITCH];
  threadgroup float ws[MM_TILE * MM_PITCH];
  linear_mm(x, DenseRows<float>{w, p.k}, bias, dst, p, group.xy, tid.xy, xs, ws);
}

kernel void linear_mm_f16(device const float* x [[buffer(0)]], device const half* w [[buffer(1)]],
                          device const float* bias [[buffer(2)]], device float* dst [[buffer(3)]],
                          constant LinearParams& p [[buffer(4)]], uint3 group [[threadgroup_position_in_grid]],
                          uint3 tid [[thread_position_in_threadgroup]]) {
  threadgroup float xs[MM_TILE * MM_PITCH];
  threadgroup float ws[MM_TILE * MM_PITCH];
  linear_mm(x, DenseRows<half>{w, p.k}, bias, dst, p, group.xy, tid.xy, xs, ws);
}

kernel void linear_mm_bf16(device const float* x [[buffer(0)]], device const ushort* w [[buffer(1)]],
                           device const float* bias [[buffer(2)]], device float* dst [[buffer(3)]],
                           constant LinearParams& p [[buffer(4)]], uint3 group [[threadgroup_position_in_grid]],
                           uint3 tid [[thread_position_in_threadgroup]]) {
  threadgroup float xs[MM_TILE * MM_PITCH];
  threadgroup float ws[MM_TILE * MM_PITCH];
  linear_mm(x, DenseRows<ushort>{w, p.k}, bias, dst, p, group.xy, tid.xy, xs, ws);
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
