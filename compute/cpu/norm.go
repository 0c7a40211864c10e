package cpu

import "math"

// LayerNorm normalises the rows of x over the last dimension: (x-mean)/sqrt(var+eps)*w + b
// with the biased variance. The moments are accumulated in float64 (two passes), which is at
// least as accurate as torch's float32 Welford.
func (b *Backend) LayerNorm(dst, x, w, bias *Tensor, eps float32) {
	d, s := f32("LayerNorm", "dst", dst), f32("LayerNorm", "x", x)
	wf, bf := f32("LayerNorm", "w", w), f32("LayerNorm", "b", bias)
	dim := x.Dim(-1)
	check(len(d) == len(s), "LayerNorm", "dst %v and x %v differ in length", dst, x)
	check(len(wf) == dim && len(bf) == dim, "LayerNorm", "w %v and b %v must have %d elements", w, bias, dim)
	if dim == 0 {
		return
	}
	rows := len(s) / dim
	b.pool.run(rows, b.pool.grain(rows, 4*dim), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			in, out := s[r*dim:(r+1)*dim], d[r*dim:(r+1)*dim]
			mean, rstd := moments(in, eps)
			// torch's kernel: (x*rstd + (-mean*rstd)) * w + b, all float32, each product
			// rounded (the conversions keep Go from fusing them on arm64).
			shift := float32(-float32(mean) * rstd)
			for i, v := range in {
				out[i] = float32((float32(v*rstd)+shift)*wf[i]) + bf[i]
			}
		}
	})
}

// moments returns the mean and 1/sqrt(var+eps) of v, the variance biased, computed in
// float64 and the reciprocal root rounded to float32. Each sum runs as four interleaved
// partial sums: one float64 chain costs 4 cycles an element, which made GroupNorm over the
// VQ decoder's 384² planes a fifth of its time.
func moments(v []float32, eps float32) (mean float64, rstd float32) {
	n4 := len(v) &^ 3
	var s [4]float64
	for i := 0; i < n4; i += 4 {
		q := v[i : i+4 : i+4]
		s[0] += float64(q[0])
		s[1] += float64(q[1])
		s[2] += float64(q[2])
		s[3] += float64(q[3])
	}
	for _, x := range v[n4:] {
		s[0] += float64(x)
	}
	mean = ((s[0] + s[2]) + (s[1] + s[3])) / float64(len(v))
	var sq [4]float64
	for i := 0; i < n4; i += 4 {
		q := v[i : i+4 : i+4]
		for l := range sq {
			dx := float64(q[l]) - mean
			sq[l] += float64(dx * dx) // rounded, not fused, as on amd64
		}
	}
	for _, x := range v[n4:] {
		dx := float64(x) - mean
		sq[0] += float64(dx * dx)
	}
	variance := ((sq[0] + sq[2]) + (sq[1] + sq[3])) / float64(len(v))
	return mean, float32(1 / math.Sqrt(variance+float64(eps)))
}

// RMSNorm computes w * (x * rsqrt(mean(x²)+eps)) per row, rounding like torch's float32
// ops: mean(x²) and the root each rounded to float32, then two float32 products.
func (b *Backend) RMSNorm(dst, x, w *Tensor, eps float32) {
	d, s := f32("RMSNorm", "dst", dst), f32("RMSNorm", "x", x)
	wf := f32("RMSNorm", "w", w)
	dim := x.Dim(-1)
	check(len(d) == len(s), "RMSNorm", "dst %v and x %v differ in length", dst, x)
	check(len(wf) == dim, "RMSNorm", "w %v must have %d elements", w, dim)
	if dim == 0 {
		return
	}
	rows := len(s) / dim
	b.pool.run(rows, b.pool.grain(rows, 3*dim), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			in, out := s[r*dim:(r+1)*dim], d[r*dim:(r+1)*dim]
			var sq float64
			for _, v := range in {
				sq += float64(float64(v) * float64(v)) // rounded, not fused, as on amd64
			}
			ms := float32(sq/float64(dim)) + eps
			rs := 1 / float32(math.Sqrt(float64(ms)))
			for i, v := range in {
				out[i] = wf[i] * float32(v*rs)
			}
		}
	})
}

// GroupNorm normalises x[N,C,H,W] per (n, group of C/groups channels) with the biased
// variance over C/groups·H·W values, then applies w[c], b[c].
func (b *Backend) GroupNorm(dst, x, w, bias *Tensor, groups int, eps float32) {
	d, s := f32("GroupNorm", "dst", dst), f32("GroupNorm", "x", x)
	wf, bf := f32("GroupNorm", "w", w), f32("GroupNorm", "b", bias)
	check(len(x.Shape) == 4, "GroupNorm", "x %v is not [N, C, H, W]", x)
	n, c := x.Shape[0], x.Shape[1]
	check(len(d) == len(s), "GroupNorm", "dst %v and x %v differ in length", dst, x)
	check(groups > 0 && c%groups == 0, "GroupNorm", "%d channels do not split into %d groups", c, groups)
	check(len(wf) == c && len(bf) == c, "GroupNorm", "w %v and b %v must have %d elements", w, bias, c)
	plane := x.Shape[2] * x.Shape[3]
	per := c / groups * plane
	if per == 0 {
		return
	}
	jobs := n * groups
	b.pool.run(jobs, 1, func(lo, hi int) {
		for g := lo; g < hi; g++ {
			in, out := s[g*per:(g+1)*per], d[g*per:(g+1)*per]
			mean, rstd := moments(in, eps)
			c0 := (g % groups) * (c / groups)
			for ci := range c / groups {
				// torch folds the affine into one scale and shift per channel.
				sc := rstd * wf[c0+ci]
				sh := bf[c0+ci] - float32(float32(mean)*sc)
				pi, po := in[ci*plane:(ci+1)*plane], out[ci*plane:(ci+1)*plane]
				for i, v := range pi {
					po[i] = float32(v*sc) + sh // rounded, not fused, on every architecture
				}
			}
		}
	})
}
