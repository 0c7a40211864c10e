// RoPE and fused attention.
#include <metal_stdlib>
using namespace metal;

struct RopeParams {
  uint rows;  // B·T
  uint t;     // rows per batch entry; row r has position pos0 + r % t (pos0 is in the table)
  uint heads;
  uint half_dim;
};

// rope_f32 rotates the pairs (x[i], x[i+half]) of every head in place, one thread per pair.
// tab[t][0..half) holds cos and tab[t][half..2·half) sin of each row's angles, computed on
// the host exactly as the CPU backend does (float64 cos/sin of float32 angles).
kernel void rope_f32(device float* x [[buffer(0)]], device const float* tab [[buffer(1)]],
                     constant RopeParams& p [[buffer(2)]], uint gid [[thread_position_in_grid]]) {
  uint total = p.rows * p.heads * p.half_dim;
  if (gid >= total) {
    return;
  }
  uint i = gid % p.half_dim, rh = gid / p.half_dim;
  uint r = rh / p.heads;
  device float* v = x + rh * 2 * p.half_dim;
  device const float* cs = tab + (r % p.t) * 2 * p.half_dim;
  float a = v[i], c = v[i + p.half_dim];
  float cosv = cs[i], sinv = cs[p.half_dim + i];
  v[i] = a * cosv - c * sinv;
  v[i + p.half_dim] = c * cosv + a * sinv;
}

struct AttentionParams {
  uint t;         // query rows per batch entry
  uint s;         // rows of the k and v tensors per batch entry (cache capacity)
  uint heads, kv_heads, head_dim;
  uint kv_len;    // valid rows of k and v
  uint qpos0;     // absolute position of query row 0
  uint causal;
  float scale;
};

// Threadgroup geometry: one threadgroup per (query row, head, batch entry) of ATT_SIMDGROUPS
// SIMD groups; head_dim up to ATT_MAX_HEAD_DIM (the VQ decoder's single 512-wide head).
#define ATT_SIMDGROUPS 4
#define ATT_THREADS (ATT_SIMDGROUPS * 32)
#define ATT_MAX_HEAD_DIM 512
#define ATT_DIMS_PER_LANE (ATT_MAX_HEAD_DIM / 32)

// attention: each SIMD group takes chunks of 32 keys in turn (lane j scores key c0+j) and
// keeps an online softmax: running max m, running sum l and the weighted sum of values, each
// lane owning dims lane, lane+32, ... The SIMD groups' states are merged at the end. The max
// starts from the first chunk's own maximum, not from -INFINITY, so no infinity arithmetic
// happens even under fast math; -FLT_MAX only stands in for lanes past the last key. KV is
// float (attention_f32) or half (attention_f16, an F16 KV cache): the same code, every key
// and value widened exactly on load, so both give the same result on the same values.
template <typename KV>
inline void attention(device const float* q, device const KV* k, device const KV* v, device float* dst,
                      constant AttentionParams& p, uint3 group, uint tid, uint sg, uint lane,
                      threadgroup float* qs, threadgroup float* ps, threadgroup float* accs,
                      threadgroup float* ms, threadgroup float* ls) {
  uint row = group.x, h = group.y, b = group.z;
  uint hd = p.head_dim, qw = p.heads * hd, kvw = p.kv_heads * hd;
  uint kh = h / (p.heads / p.kv_heads);
  device const float* qrow = q + (b * p.t + row) * qw + h * hd;
  for (uint d = tid; d < hd; d += ATT_THREADS) {
    qs[d] = qrow[d];
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);

  uint n = p.causal != 0 ? p.qpos0 + row + 1 : p.kv_len;
  device const KV* kb = k + b * p.s * kvw + kh * hd;
  device const KV* vb = v + b * p.s * kvw + kh * hd;
  float m = 0.0f, l = 0.0f;  // l stays 0 until the SIMD group's first chunk
  float acc[ATT_DIMS_PER_LANE];
  for (uint i = 0; i < ATT_DIMS_PER_LANE; i++) {
    acc[i] = 0.0f;
  }
  for (uint c0 = sg * 32; c0 < n; c0 += ATT_THREADS) {
    uint j = c0 + lane;
    bool valid = j < n;
    float s = 0.0f;
    if (valid) {
      device const KV* kr = kb + j * kvw;
      for (uint d = 0; d < hd; d++) {
        s += qs[d] * widen(kr[d]);
      }
      s *= p.scale;
    }
    float cm = simd_max(valid ? s : -FLT_MAX);
    float mnew = l == 0.0f ? cm : max(m, cm);
    float e = valid ? exp(s - mnew) : 0.0f;
    float corr = l == 0.0f ? 0.0f : exp(m - mnew);
    l = l * corr + simd_sum(e);
    m = mnew;
    ps[sg * 32 + lane] = e;
    simdgroup_barrier(mem_flags::mem_threadgroup);
    uint cn = min(32u, n - c0);
    for (uint i = 0; i < ATT_DIMS_PER_LANE; i++) {
      uint d = lane + 32 * i;
      if (d < hd) {
        float a = acc[i] * corr;
        for (uint jj = 0; jj < cn; jj++) {
          a += ps[sg * 32 + jj] * widen(vb[(c0 + jj) * kvw + d]);
        }
        acc[i] = a;
      }
    }
    simdgroup_barrier(mem_flags::mem_threadgroup);  // ps is overwritten by the next chunk
  }
  if (lane == 0) {
    ms[sg] = m;
    ls[sg] = l;
  }
  for (uint i = 0; i < ATT_DIMS_PER_LANE; i++) {
    uint d = lane + 32 * i;
    if (d < hd) {
      accs[sg * ATT_MAX_HEAD_DIM + d] = acc[i];
    }
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);

  float mx = 0.0f;
  bool any = false;
  for (uint g = 0; g < ATT_SIMDGROUPS; g++) {
    if (ls[g] > 0.0f) {
      mx = any ? max(mx, ms[g]) : ms[g];
      any = true;
    }
  }
  float den = 0.0f;
  for (uint g = 0; g < ATT_SIMDGROUPS; g++) {
    if (ls[g] > 0.0f) {
      den += ls[g] * exp(ms[g] - mx);
    }
  }
  device float* orow = dst + (b * p.t + row) * qw + h * hd;
  for (uint d = tid; d < hd; d += ATT_THREADS) {
    float num = 0.0f;
    for (uint g = 0; g < ATT_SIMDGROUPS; g++) {
      if (ls[g] > 0.0f) {
        num += accs[g * ATT_MAX_HEAD_DIM + d] * exp(ms[g] - mx);
      }
    }
    orow[d] = num / den;
  }
}

kernel void attention_f32(device const float* q [[buffer(0)]], device const float* k [[buffer(1)]],
                          device const float* v [[buffer(2)]], device float* dst [[buffer(3)]],
                          constant AttentionParams& p [[buffer(4)]], uint3 group [[threadgroup_position_in_grid]],
                          uint tid [[thread_index_in_threadgroup]], uint sg [[simdgroup_index_in_threadgroup]],
                          uint lane [[thread_index_in_simdgroup]]) {
  threadgroup float qs[ATT_MAX_HEAD_DIM];
  threadgroup float ps[ATT_THREADS];
  threadgroup float accs[ATT_SIMDGROUPS * ATT_MAX_HEAD_DIM];
  threadgroup float ms[ATT_SIMDGROUPS];
  threadgroup float ls[ATT_SIMDGROUPS];
  attention(q, k, v, dst, p, group, tid, sg, lane, qs, ps, accs, ms, ls);
}

kernel void attention_f16(device const float* q [[buffer(0)]], device const half* k [[buffer(1)]],
                          device const half* v [[buffer(2)]], device float* dst [[buffer(3)]],
                          constant AttentionParams& p [[buffer(4)]], uint3 group [[threadgroup_position_in_grid]],
                          uint tid [[thread_index_in_threadgroup]], uint sg [[simdgroup_index_in_threadgroup]],
                          uint lane [[thread_index_in_simdgroup]]) {
  threadgroup float qs[ATT_MAX_HEAD_DIM];
  threadgroup float ps[ATT_THREADS];
  threadgroup float accs[ATT_SIMDGROUPS * ATT_MAX_HEAD_DIM];
  threadgroup float ms[ATT_SIMDGROUPS];
  threadgroup float ls[ATT_SIMDGROUPS];
  attention(q, k, v, dst, p, group, tid, sg, lane, qs, ps, accs, ms, ls);
}
