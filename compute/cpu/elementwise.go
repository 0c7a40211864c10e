package cpu

import (
	"math"

	"github.com/janus-desktop/janus/compute"
)

// Add computes dst = a + b with b repeated over a (len(b) must divide len(a)).
func (b *Backend) Add(dst, a, bt *Tensor) { b.binary("Add", dst, a, bt, false) }

// Mul computes dst = a * b with b repeated over a.
func (b *Backend) Mul(dst, a, bt *Tensor) { b.binary("Mul", dst, a, bt, true) }

func (b *Backend) binary(op string, dst, a, bt *Tensor, mul bool) {
	d, x, y := f32(op, "dst", dst), f32(op, "a", a), f32(op, "b", bt)
	check(len(d) == len(x), op, "dst %v and a %v differ in length", dst, a)
	check(len(y) > 0 && len(x)%len(y) == 0, op, "b %v does not tile a %v", bt, a)
	check(!overlaps(d, y) || len(y) == len(x) && &d[0] == &y[0], op, "dst overlaps b")
	n, m := len(x), len(y)
	b.pool.run(n, b.pool.grain(n, 1), func(lo, hi int) {
		for lo < hi {
			j := lo % m
			cnt := min(hi-lo, m-j)
			dd := d[lo : lo+cnt]
			xx, yy := x[lo:lo+len(dd)], y[j:j+len(dd)] // lengths the compiler sees as dd's
			if mul {
				for i := range dd {
					dd[i] = xx[i] * yy[i]
				}
			} else {
				for i := range dd {
					dd[i] = xx[i] + yy[i]
				}
			}
			lo += cnt
		}
	})
}

// Scale computes dst = x * s.
func (b *Backend) Scale(dst, x *Tensor, s float32) {
	b.unary("Scale", dst, x, func(d, x []float32) {
		for i, v := range x {
			d[i] = v * s
		}
	})
}

// GELU applies 0.5·x·(1+erf(x/√2)). The generic kernels evaluate it in float64 and round
// once; the assembly ones use a float32 erfc form within 5e-7 relative of the exact function
// over the whole range (TestVectorExp), more accurate than 1+erf for negative x.
func (b *Backend) GELU(dst, x *Tensor) {
	if b.simd != simdNone {
		b.unary("GELU", dst, x, geluSIMD)
		return
	}
	b.unary("GELU", dst, x, func(d, x []float32) {
		for i, v := range x {
			f := float64(v)
			d[i] = float32(0.5 * f * (1 + math.Erf(f*(1/math.Sqrt2))))
		}
	})
}

// SiLU applies x·sigmoid(x) = x/(1+e^-x), evaluated in float64 and rounded once, or with
// the assembly kernels in float32 around the vector exp (within a few ulps).
func (b *Backend) SiLU(dst, x *Tensor) {
	if b.simd != simdNone {
		b.unary("SiLU", dst, x, siluSIMD)
		return
	}
	b.unary("SiLU", dst, x, func(d, x []float32) {
		for i, v := range x {
			d[i] = silu(v)
		}
	})
}

func silu(v float32) float32 {
	f := float64(v)
	return float32(f / (1 + math.Exp(-f)))
}

// SwiGLU computes dst = silu(gate) * up; the product is rounded from float32 operands like
// torch's separate ops.
func (b *Backend) SwiGLU(dst, gate, up *Tensor) {
	d, g, u := f32("SwiGLU", "dst", dst), f32("SwiGLU", "gate", gate), f32("SwiGLU", "up", up)
	check(len(d) == len(g) && len(g) == len(u), "SwiGLU", "dst %v, gate %v and up %v differ in length", dst, gate, up)
	b.pool.run(len(d), b.pool.grain(len(d), 16), func(lo, hi int) {
		dd, gg, uu := d[lo:hi], g[lo:hi], u[lo:hi]
		if b.simd != simdNone {
			// Through a buffer, as dst may be up.
			var buf [256]float32
			for i := 0; i < len(dd); i += len(buf) {
				s := buf[:min(len(buf), len(dd)-i)]
				siluSIMD(s, gg[i:i+len(s)])
				for k, v := range s {
					dd[i+k] = v * uu[i+k]
				}
			}
			return
		}
		for i := range dd {
			dd[i] = silu(gg[i]) * uu[i]
		}
	})
}

// unary runs an elementwise kernel over matching dst and x (dst may be x).
func (b *Backend) unary(op string, dst, x *Tensor, kernel func(d, x []float32)) {
	d, s := f32(op, "dst", dst), f32(op, "x", x)
	check(len(d) == len(s), op, "dst %v and x %v differ in length", dst, x)
	b.pool.run(len(d), b.pool.grain(len(d), 16), func(lo, hi int) {
		kernel(d[lo:hi], s[lo:hi])
	})
}

// Embedding copies rows ids[i] of table[V,D] into dst[len(ids), D], widening F16/BF16.
func (b *Backend) Embedding(dst, table *Tensor, ids []int32) {
	d := f32("Embedding", "dst", dst)
	if table != nil && table.DType.Quantized() {
		w := quantized("Embedding", "table", table)
		check(len(d) == len(ids)*w.k && dst.Dim(-1) == w.k, "Embedding", "dst %v for %d ids of width %d", dst, len(ids), w.k)
		for i, id := range ids {
			check(id >= 0 && int(id) < w.n, "Embedding", "id %d at %d is outside [0,%d)", id, i, w.n)
		}
		b.embeddingQuantized(d, w, ids)
		return
	}
	tf, th, bf16 := weight("Embedding", "table", table)
	check(len(table.Shape) == 2, "Embedding", "table %v is not [V, D]", table)
	v, dim := table.Shape[0], table.Shape[1]
	check(len(d) == len(ids)*dim && dst.Dim(-1) == dim, "Embedding", "dst %v for %d ids of width %d", dst, len(ids), dim)
	for i, id := range ids {
		check(id >= 0 && int(id) < v, "Embedding", "id %d at %d is outside [0,%d)", id, i, v)
	}
	b.pool.run(len(ids), b.pool.grain(len(ids), dim), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := int(ids[i]) * dim
			if tf != nil {
				copy(d[i*dim:(i+1)*dim], tf[row:row+dim])
			} else {
				widen(d[i*dim:(i+1)*dim], th[row:row+dim], bf16)
			}
		}
	})
}

// CopyRows copies src[b, srcAt:srcAt+n, :] to dst[b, dstAt:dstAt+n, :] for every b. An F16
// dst (a KV cache) takes F32 rows rounded to nearest even and saturated at ±65504 (f16.go),
// or F16 rows as they are (a cache growing); a Q8 dst takes F32 rows quantized
// (quantizeRowQ8) or Q8 rows as they are.
func (b *Backend) CopyRows(dst *Tensor, dstAt int, src *Tensor, srcAt, n int) {
	const op = "CopyRows"
	batch, dt, dim := btd(op, "dst", dst)
	sb, st, sd := btd(op, "src", src)
	check(sb == batch && sd == dim, op, "dst %v and src %v differ in B or D", dst, src)
	if n < 0 || dstAt < 0 || srcAt < 0 || dstAt+n > dt || srcAt+n > st { // check would box the ints every step
		fail(op, "rows [%d,%d) of src %v to [%d,%d) of dst %v are out of range", srcAt, srcAt+n, src, dstAt, dstAt+n, dst)
	}
	// On every thread, a row at a time, whatever the batch: the rows written are most often a
	// cache's pages' first touch, and the page faults cost more than the copy or the rounding,
	// at about twice the rate on two threads as on one. One row runs on the caller.
	units := batch * n
	each := func(row func(to, from int)) {
		b.pool.run(units, (units+b.pool.threads-1)/b.pool.threads, func(lo, hi int) {
			for u := lo; u < hi; u++ {
				bi, t := u/n, u%n
				row((bi*dt+dstAt+t)*dim, (bi*st+srcAt+t)*dim)
			}
		})
	}
	switch {
	case dst.DType == compute.Q8 && src.DType == compute.Q8:
		dq, ds := q8Cache(op, "dst", dst)
		sq, ss := q8Cache(op, "src", src)
		check(dst.Buf != src.Buf, op, "dst and src share a buffer") // rows are copied in parallel
		each(func(to, from int) {
			copy(dq[to:to+dim], sq[from:from+dim])
			copy(ds[to/qBlock:(to+dim)/qBlock], ss[from/qBlock:(from+dim)/qBlock])
		})
	case dst.DType == compute.Q8:
		dq, ds := q8Cache(op, "dst", dst)
		s := f32(op, "src", src)
		each(func(to, from int) { b.quantizeRowQ8(dq[to:to+dim], ds[to/qBlock:(to+dim)/qBlock], s[from:from+dim]) })
	case dst.DType == compute.F16 && src.DType == compute.F16:
		d, s := f16s(op, "dst", dst), f16s(op, "src", src)
		check(dst.Buf != src.Buf, op, "dst and src share a buffer") // rows are copied in parallel
		each(func(to, from int) { copy(d[to:to+dim], s[from:from+dim]) })
	case dst.DType == compute.F16:
		d, s := f16s(op, "dst", dst), f32(op, "src", src)
		each(func(to, from int) { narrowF16(b.simd, d[to:to+dim], s[from:from+dim]) })
	default:
		d, s := f32(op, "dst", dst), f32(op, "src", src)
		check(!overlaps(d, s), op, "dst overlaps src") // rows are copied in parallel
		each(func(to, from int) { copy(d[to:to+dim], s[from:from+dim]) })
	}
}

// Transpose swaps the last two dimensions of x into dst (which must not overlap x).
func (b *Backend) Transpose(dst, x *Tensor) {
	d, s := f32("Transpose", "dst", dst), f32("Transpose", "x", x)
	check(len(x.Shape) >= 2, "Transpose", "x %v has fewer than two dimensions", x)
	r, c := x.Dim(-2), x.Dim(-1)
	check(len(dst.Shape) == len(x.Shape) && dst.Dim(-2) == c && dst.Dim(-1) == r && len(d) == len(s),
		"Transpose", "dst %v is not x %v with the last two dimensions swapped", dst, x)
	check(!overlaps(d, s), "Transpose", "dst overlaps x")
	for i := 0; i < len(x.Shape)-2; i++ {
		check(dst.Shape[i] == x.Shape[i], "Transpose", "dst %v and x %v differ in leading dimensions", dst, x)
	}
	if r == 0 || c == 0 {
		return
	}
	mats := len(s) / (r * c)
	// Tiles of 32×32 keep both the reads and the writes within a few cache lines.
	const tile = 32
	rt := (r + tile - 1) / tile
	b.pool.run(mats*rt, b.pool.grain(mats*rt, tile*c), func(lo, hi int) {
		for job := lo; job < hi; job++ {
			m, i0 := job/rt, (job%rt)*tile
			in, out := s[m*r*c:(m+1)*r*c], d[m*r*c:(m+1)*r*c]
			i1 := min(i0+tile, r)
			for j0 := 0; j0 < c; j0 += tile {
				j1 := min(j0+tile, c)
				for i := i0; i < i1; i++ {
					row := in[i*c : (i+1)*c]
					for j := j0; j < j1; j++ {
						out[j*r+i] = row[j]
					}
				}
			}
		}
	})
}

// Upsample2x repeats every pixel of x[N,C,H,W] into a 2×2 block of dst[N,C,2H,2W].
func (b *Backend) Upsample2x(dst, x *Tensor) {
	d, s := f32("Upsample2x", "dst", dst), f32("Upsample2x", "x", x)
	check(len(x.Shape) == 4, "Upsample2x", "x %v is not [N, C, H, W]", x)
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	check(len(dst.Shape) == 4 && dst.Shape[0] == n && dst.Shape[1] == c && dst.Shape[2] == 2*h && dst.Shape[3] == 2*w,
		"Upsample2x", "dst %v is not [%d, %d, %d, %d]", dst, n, c, 2*h, 2*w)
	check(!overlaps(d, s), "Upsample2x", "dst overlaps x")
	rows := n * c * h
	b.pool.run(rows, b.pool.grain(rows, 4*w), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			in := s[r*w : (r+1)*w]
			o0 := d[2*r*2*w : (2*r+1)*2*w]
			for j, v := range in {
				o0[2*j] = v
				o0[2*j+1] = v
			}
			copy(d[(2*r+1)*2*w:(2*r+2)*2*w], o0)
		}
	})
}
