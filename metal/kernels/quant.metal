// Block-quantized weights (Q8, Q4, Q4M): Linear and Embedding. A weight buffer holds the codes
// of every block of QBLOCK weights, rows back to back (QBLOCK bytes per block for Q8, QBLOCK/2
// for Q4 and Q4M: byte j holds weight j in its low nibble and j+QBLOCK/2 in its high one),
// then one F16 scale per block in the same order, then (Q4M) one F16 offset per block; a
// weight is scale·code (Q8, code in [-127,127]), scale·(code-8) (Q4) or scale·(code-8) +
// offset (Q4M). The weights are dequantized in registers as they are read and multiply
// float32 activations; every value is the product of its F16 scale and its code in float32
// (exact, so a fused multiply-add with the offset rounds as the host's separate add does), as
// the host's Read computes it, so Embedding gives Read's values exactly.
#include <metal_stdlib>
using namespace metal;

#define QBLOCK 32

// q_scales is the first F16 scale of a quantized buffer of rows rows of row_bytes bytes of
// codes (row_bytes a multiple of 16, so the scales are aligned).
inline device const half* q_scales(device const uchar* w, uint rows, uint row_bytes) {
  return (device const half*)(w + rows * row_bytes);
}

// q8_code is a Q8 code byte as a signed integer (char's signedness differs between targets).
inline int q8_code(uint b) { return int(b) - int((b & 128u) << 1); }

// Q8Rows reads element (n, c) of a Q8 matrix with rows of k weights (linear_mm's reader).
struct Q8Rows {
  device const uchar* q;
  device const half* s;
  uint k;
  float at(uint n, uint c) const {
    uint i = n * k + c;
    return float(s[i / QBLOCK]) * float(q8_code(q[i]));
  }
};

// Q4Rows reads element (n, c) of a Q4 matrix with rows of k weights, or of a Q4M matrix
// when o, its offsets, is not null.
struct Q4Rows {
  device const uchar* q;
  device const half* s;
  uint k;
  device const half* o;
  float at(uint n, uint c) const {
    uint i = n * k + c;
    uint blk = i / QBLOCK, j = i % QBLOCK;
    uint pair = q[blk * (QBLOCK / 2) + j % (QBLOCK / 2)];
    uint code = j < QBLOCK / 2 ? pair & 15u : pair >> 4;
    float v = float(s[blk]) * float(int(code) - 8);
    return o ? v + float(o[blk]) : v;
  }
};

// q4_offsets is the first F16 offset of a Q4M buffer of rows rows of k weights: after the
// codes and the scales.
inline device const half* q4_offsets(device const uchar* w, uint rows, uint k) {
  return q_scales(w, rows, k / 2) + rows * (k / QBLOCK);
}

// Matrix-vector (decode), as linear_mv: one SIMD group per output column n. mv_q8: each lane
// reads 4 codes as one 4-byte load (8 lanes cover a block, a SIMD group 128 contiguous
// bytes of the row per step) and 4 activations as one float4; the block's scale multiplies
// the 4-term sum. The row offset n·k and x's row offsets are multiples of 32 elements.
inline void mv_q8(device const float* x, device const uchar* w, device const float* bias, device float* dst,
                         constant LinearParams& p, uint n, uint lane) {
  if (n >= p.n) {
    return;  // the whole SIMD group
  }
  float acc[MV_MAX_M];
  for (uint r = 0; r < MV_MAX_M; r++) {
    acc[r] = 0.0f;
  }
  device const half* s = q_scales(w, p.n, p.k) + n * (p.k / QBLOCK);
  device const uint* row = (device const uint*)(w + n * p.k);
  uint k4 = p.k / 4;
  for (uint j = lane; j < k4; j += 32) {
    uint v = row[j];
    float d = float(s[j / (QBLOCK / 4)]);
    float c0 = float(q8_code(v & 255u)), c1 = float(q8_code((v >> 8) & 255u));
    float c2 = float(q8_code((v >> 16) & 255u)), c3 = float(q8_code(v >> 24));
    for (uint r = 0; r < MV_MAX_M; r++) {
      if (r < p.m) {
        float4 xv = ((device const float4*)(x + r * p.k))[j];
        acc[r] += d * (xv.x * c0 + xv.y * c1 + xv.z * c2 + xv.w * c3);
      }
    }
  }
  float b = p.has_bias != 0 ? bias[n] : 0.0f;
  for (uint r = 0; r < MV_MAX_M; r++) {
    if (r < p.m) {
      float sum = simd_sum(acc[r]);
      if (lane == 0) {
        dst[r * p.n + n] = sum + b;
      }
    }
  }
}

// mv_q4 is mv_q8 for Q4: each lane reads 4 code bytes (8 weights: 4 of the
// block's first half, their partners 16 further) as one 4-byte load, so 4 lanes cover a
// block; the activations come as two float4 (offsets multiples of 16 bytes). For Q4M (o, the
// offsets, not null) the lane adds the block's offset times the sum of its 8 activations.
inline void mv_q4(device const float* x, device const uchar* w, device const float* bias, device float* dst,
                         constant LinearParams& p, uint n, uint lane, device const half* o) {
  if (n >= p.n) {
    return;
  }
  float acc[MV_MAX_M];
  for (uint r = 0; r < MV_MAX_M; r++) {
    acc[r] = 0.0f;
  }
  device const half* s = q_scales(w, p.n, p.k / 2) + n * (p.k / QBLOCK);
  device const uint* row = (device const uint*)(w + n * (p.k / 2));
  uint k8 = p.k / 8;
  for (uint j = lane; j < k8; j += 32) {
    uint v = row[j];
    uint blk = j / 4, t = j % 4;
    float d = float(s[blk]);
    float off = o ? float(o[n * (p.k / QBLOCK) + blk]) : 0.0f;
    float l0 = float(int(v & 15u) - 8), l1 = float(int((v >> 8) & 15u) - 8);
    float l2 = float(int((v >> 16) & 15u) - 8), l3 = float(int((v >> 24) & 15u) - 8);
    float h0 = float(int((v >> 4) & 15u) - 8), h1 = float(int((v >> 12) & 15u) - 8);
    float h2 = float(int((v >> 20) & 15u) - 8), h3 = float(int(v >> 28) - 8);
    for (uint r = 0; r < MV_MAX_M; r++) {
      if (r < p.m) {
        device const float* xb = x + r * p.k + blk * QBLOCK + 4 * t;
        float4 xl = *(device const float4*)xb;
        float4 xh = *(device const float4*)(xb + QBLOCK / 2);
        acc[r] += d * (xl.x * l0 + xl.y * l1 + xl.z * l2 + xl.w * l3 + xh.x * h0 + xh.y * h1 + xh.z * h2 + xh.w * h3);
        if (o) {
          acc[r] += off * (((xl.x + xl.y) + (xl.z + xl.w)) + ((xh.x + xh.y) + (xh.z + xh.w)));
        }
      }
    }
  }
  float b = p.has_bias != 0 ? bias[n] : 0.0f;
  for (uint r = 0; r < MV_MAX_M; r++) {
    if (r < p.m) {
      float sum = simd_sum(acc[r]);
      if (lane == 0) {
        dst[r * p.n + n] = sum + b;
      }
    }
  }
}

kernel void linear_mv_q8(device const float* x [[buffer(0)]], device const uchar* w [[buffer(1)]],
                         device const float* bias [[buffer(2)]], device float* dst [[buffer(3)]],
                         constant LinearParams& p [[buffer(4)]], uint3 group [[threadgroup_position_in_grid]],
                         uint sg [[simdgroup_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]]) {
  mv_q8(x, w, bias, dst, p, group.x * MV_SIMDGROUPS + sg, lane);
}

kernel void linear_mv_q4(device const float* x [[buffer(0)]], device const uchar* w [[buffer(1)]],
                         device const float* bias [[buffer(2)]], device float* dst [[buffer(3)]],
                         constant LinearParams& p [[buffer(4)]], uint3 group [[threadgroup_position_in_grid]],
                         uint sg [[simdgroup_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]]) {
  mv_q4(x, w, bias, dst, p, group.x * MV_SIMDGROUPS + sg, lane, nullptr);
}

kernel void linear_mv_q4m(device const float* x [[buffer(0)]], device const uchar* w [[buffer(1)]],
                          device const float* bias [[buffer(2)]], device float* dst [[buffer(3)]],
                          constant LinearParams& p [[buffer(4)]], uint3 group [[threadgroup_position_in_grid]],
                          uint sg [[simdgroup_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]]) {
  mv_q4(x, w, bias, dst, p, group.x * MV_SIMDGROUPS + sg, lane, q4_offsets(w, p.n, p.k));
}

// Matrix-matrix: linear_mm's tiles, the weight tile dequantized as it is staged.
kernel void linear_mm_q8(device const float* x [[buffer(0)]], device const uchar* w [[buffer(1)]],
                         device const float* bias [[buffer(2)]], device float* dst [[buffer(3)]],
                         constant LinearParams& p [[buffer(4)]], uint3 group [[threadgroup_position_in_grid]],
                         uint3 tid [[thread_position_in_threadgroup]]) {
  threadgroup float xs[MM_TILE * MM_PITCH];
  threadgroup float ws[MM_TILE * MM_PITCH];
  linear_mm(x, Q8Rows{w, q_scales(w, p.n, p.k), p.k}, bias, dst, p, group.xy, tid.xy, xs, ws);
}

kernel void linear_mm_q4(device const float* x [[buffer(0)]], device const uchar* w [[buffer(1)]],
                         device const float* bias [[buffer(2)]], device float* dst [[buffer(3)]],
                         constant LinearParams& p [[buffer(4)]], uint3 group [[threadgroup_position_in_grid]],
                         uint3 tid [[thread_position_in_threadgroup]]) {
  threadgroup float xs[MM_TILE * MM_PITCH];
  threadgroup float ws[MM_TILE * MM_PITCH];
  linear_mm(x, Q4Rows{w, q_scales(w, p.n, p.k / 2), p.k, nullptr}, bias, dst, p, group.xy, tid.xy, xs, ws);
}

kernel void linear_mm_q4m(device const float* x [[buffer(0)]], device const uchar* w [[buffer(1)]],
                          device const float* bias [[buffer(2)]], device float* dst [[buffer(3)]],
                          constant LinearParams& p [[buffer(4)]], uint3 group [[threadgroup_position_in_grid]],
                          uint3 tid [[thread_position_in_threadgroup]]) {
  threadgroup float xs[MM_TILE * MM_PITCH];
  threadgroup float ws[MM_TILE * MM_PITCH];
  linear_mm(x, Q4Rows{w, q_scales(w, p.n, p.k / 2), p.k, q4_offsets(w, p.n, p.k)}, bias, dst, p, group.xy, tid.xy, xs, ws);
}

// Embedding from a quantized table[rows, dim]: one thread per element of dst; rows locates
// the scales after the codes.
struct QEmbeddingParams {
  uint count;  // ids
  uint dim;
  uint rows;
};

kernel void embedding_q8(device const uchar* table [[buffer(0)]], device const int* ids [[buffer(1)]],
                         device float* dst [[buffer(2)]], constant QEmbeddingParams& p [[buffer(3)]],
                         uint i [[thread_position_in_grid]]) {
  if (i < p.count * p.dim) {
    Q8Rows rd = {table, q_scales(table, p.rows, p.dim), p.dim};
    dst[i] = rd.at(uint(ids[i / p.dim]), i % p.dim);
  }
}

kernel void embedding_q4(device const uchar* table [[buffer(0)]], device const int* ids [[buffer(1)]],
                         device float* dst [[buffer(2)]], constant QEmbeddingParams& p [[buffer(3)]],
                         uint i [[thread_position_in_grid]]) {
  if (i < p.count * p.dim) {
    Q4Rows rd = {table, q_scales(table, p.rows, p.dim / 2), p.dim, nullptr};
    dst[i] = rd.at(uint(ids[i / p.dim]), i % p.dim);
  }
}

kernel void embedding_q4m(device const uchar* table [[buffer(0)]], device const int* ids [[buffer(1)]],
                          device float* dst [[buffer(2)]], constant QEmbeddingParams& p [[buffer(3)]],
                          uint i [[thread_position_in_grid]]) {
  if (i < p.count * p.dim) {
    Q4Rows rd = {table, q_scales(table, p.rows, p.dim / 2), p.dim, q4_offsets(table, p.rows, p.dim)};
    dst[i] = rd.at(uint(ids[i / p.dim]), i % p.dim);
  }
}
