// Copies and image ops, one thread per element of dst.
#include <metal_stdlib>
using namespace metal;

struct CopyRowsParams {
  uint batch;
  uint n;            // rows copied per batch entry
  uint dim;
  uint dst_t, dst_at;
  uint src_t, src_at;
};

kernel void copy_rows_f32(device const float* src [[buffer(0)]], device float* dst [[buffer(1)]],
                          constant CopyRowsParams& p [[buffer(2)]], uint i [[thread_position_in_grid]]) {
  uint per = p.n * p.dim;
  if (i >= p.batch * per) {
    return;
  }
  uint b = i / per, rest = i % per;
  uint r = rest / p.dim, c = rest % p.dim;
  dst[(b * p.dst_t + p.dst_at + r) * p.dim + c] = src[(b * p.src_t + p.src_at + r) * p.dim + c];
}

// copy_rows_f32_f16 narrows float rows into an F16 tensor (a KV cache): nearest even, with
// magnitudes beyond 65504 (infinities included) saturated to it and NaN kept, as the CPU
// backend does. copy_rows_f16 copies F16 rows (a cache growing).
kernel void copy_rows_f32_f16(device const float* src [[buffer(0)]], device half* dst [[buffer(1)]],
                              constant CopyRowsParams& p [[buffer(2)]], uint i [[thread_position_in_grid]]) {
  uint per = p.n * p.dim;
  if (i >= p.batch * per) {
    return;
  }
  uint b = i / per, rest = i % per;
  uint r = rest / p.dim, c = rest % p.dim;
  float x = src[(b * p.src_t + p.src_at + r) * p.dim + c];
  dst[(b * p.dst_t + p.dst_at + r) * p.dim + c] = half(x != x ? x : clamp(x, -65504.0f, 65504.0f));
}

kernel void copy_rows_f16(device const half* src [[buffer(0)]], device half* dst [[buffer(1)]],
                          constant CopyRowsParams& p [[buffer(2)]], uint i [[thread_position_in_grid]]) {
  uint per = p.n * p.dim;
  if (i >= p.batch * per) {
    return;
  }
  uint b = i / per, rest = i % per;
  uint r = rest / p.dim, c = rest % p.dim;
  dst[(b * p.dst_t + p.dst_at + r) * p.dim + c] = src[(b * p.src_t + p.src_at + r) * p.dim + c];
}

struct TransposeParams {
  uint mats, rows, cols;  // x is mats × [rows, cols]
};

kernel void transpose_f32(device const float* x [[buffer(0)]], device float* dst [[buffer(1)]],
                          constant TransposeParams& p [[buffer(2)]], uint i [[thread_position_in_grid]]) {
  uint per = p.rows * p.cols;
  if (i >= p.mats * per) {
    return;
  }
  uint mat = i / per, rest = i % per;
  uint j = rest / p.rows, r = rest % p.rows;  // dst[mat][j][r] = x[mat][r][j]
  dst[i] = x[mat * per + r * p.cols + j];
}

struct Conv2DParams {
  uint n, cin, h, w;
  uint cout, kh, kw;
  uint ho, wo;
  uint stride, pad;
  uint has_bias;
  uint pad_top;  // the padding above row 0: pad, except in a band of an in-place convolution
  uint h_valid;  // the rows of x to read, h but in a band: rows from there on read as zeros
};

// conv2d_f32: direct convolution, one output value per thread, summed over ci, ky, kx in
// the weight's order. The window is clipped to the image once, so the inner loop has no
// bounds checks (padding contributes zeros, which are skipped).
kernel void conv2d_f32(device const float* x [[buffer(0)]], device const float* w [[buffer(1)]],
                       device const float* bias [[buffer(2)]], device float* dst [[buffer(3)]],
                       constant Conv2DParams& p [[buffer(4)]], uint i [[thread_position_in_grid]]) {
  uint pix = p.ho * p.wo;
  if (i >= p.n * p.cout * pix) {
    return;
  }
  uint img = i / (p.cout * pix), rest = i % (p.cout * pix);
  uint co = rest / pix, px = rest % pix;
  int y0 = int(px / p.wo * p.stride) - int(p.pad_top), x0 = int(px % p.wo * p.stride) - int(p.pad);
  uint ky0 = uint(max(0, -y0)), ky1 = uint(clamp(int(p.h_valid) - y0, 0, int(p.kh)));
  uint kx0 = uint(max(0, -x0)), kx1 = uint(clamp(int(p.w) - x0, 0, int(p.kw)));
  uint kn = kx1 > kx0 ? kx1 - kx0 : 0;
  device const float* image = x + img * p.cin * p.h * p.w;
  device const float* wk = w + co * p.cin * p.kh * p.kw;
  float acc = 0.0f;
  for (uint ci = 0; ci < p.cin; ci++) {
    for (uint ky = ky0; ky < ky1; ky++) {
      device const float* irow = image + (ci * p.h + uint(y0 + int(ky))) * p.w + uint(x0 + int(kx0));
      device const float* wrow = wk + (ci * p.kh + ky) * p.kw + kx0;
      for (uint kx = 0; kx < kn; kx++) {
        acc += irow[kx] * wrow[kx];
      }
    }
  }
  if (p.has_bias != 0) {
    acc += bias[co];
  }
  dst[i] = acc;
}

struct UpsampleParams {
  uint planes;  // N·C
  uint h, w;    // of x
};

kernel void upsample2x_f32(device const float* x [[buffer(0)]], device float* dst [[buffer(1)]],
                           constant UpsampleParams& p [[buffer(2)]], uint i [[thread_position_in_grid]]) {
  uint ow = 2 * p.w, per = 4 * p.h * p.w;
  if (i >= p.planes * per) {
    return;
  }
  uint plane = i / per, rest = i % per;
  uint oy = rest / ow, ox = rest % ow;
  dst[i] = x[plane * p.h * p.w + (oy / 2) * p.w + ox / 2];
}
