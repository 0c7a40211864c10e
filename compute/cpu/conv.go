package cpu

import (
	"unsafe"

	"github.com/janus-desktop/janus/compute"
)

// Conv2D computes dst[N,Cout,Ho,Wo] = conv(x[N,Cin,H,W], w[Cout,Cin,kh,kw]) (+ b[Cout]) with
// square stride and symmetric zero padding; Ho = (H+2·pad-kh)/stride+1.
func (b *Backend) Conv2D(dst, x, w, bias *Tensor, p compute.Conv2DParams) {
	const op = "Conv2D"
	d, xs, ws := f32(op, "dst", dst), f32(op, "x", x), f32(op, "w", w)
	check(len(x.Shape) == 4, op, "x %v is not [N, Cin, H, W]", x)
	check(len(w.Shape) == 4, op, "w %v is not [Cout, Cin, kh, kw]", w)
	n, cin, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	cout, kh, kw := w.Shape[0], w.Shape[2], w.Shape[3]
	check(w.Shape[1] == cin, op, "w %v does not take the %d channels of x %v", w, cin, x)
	check(p.Stride > 0 && p.Pad >= 0, op, "stride %d, pad %d", p.Stride, p.Pad)
	check(h+2*p.Pad >= kh && wd+2*p.Pad >= kw, op, "kernel %dx%d larger than padded input %v", kh, kw, x)
	ho, wo := (h+2*p.Pad-kh)/p.Stride+1, (wd+2*p.Pad-kw)/p.Stride+1
	check(len(dst.Shape) == 4 && dst.Shape[0] == n && dst.Shape[1] == cout && dst.Shape[2] == ho && dst.Shape[3] == wo,
		op, "dst %v is not [%d, %d, %d, %d]", dst, n, cout, ho, wo)
	var bs []float32
	if bias != nil {
		bs = f32(op, "b", bias)
		check(len(bs) == cout, op, "b %v does not have %d elements", bias, cout)
	}
	if len(d) == 0 {
		return
	}
	if overlaps(d, xs) {
		check(unsafe.SliceData(d) == unsafe.SliceData(xs) && len(d) == len(xs) && p.Stride == 1 && cout == cin && ho == h && wo == wd,
			op, "dst overlaps x, and is not x of a convolution that keeps its shape")
		b.convInPlace(d, w, bias, n, cin, h, wd, kh, kw, p.Pad)
		return
	}
	pix, kk := ho*wo, cin*kh*kw
	geo := convGeometry{cin: cin, h: h, w: wd, kh: kh, kw: kw, wo: wo, stride: p.Stride, pad: p.Pad}
	if b.amx && p.Stride == 1 {
		b.convDirectAMX(d, xs, ws, bs, n, cout, geo)
		return
	}
	if b.amx {
		b.convAMX(d, xs, ws, bs, n, cout, pix, kk, geo)
		return
	}
	if b.bf16 {
		b.convFast(d, xs, ws, bs, n, cout, pix, kk, geo)
		return
	}
	blocks := (pix + convPixels - 1) / convPixels
	b.pool.run(n*blocks, 1, func(lo, hi int) {
		col := b.getScratch(convPixels * min(kk, gemmK))
		defer b.putScratch(col)
		for task := lo; task < hi; task++ {
			img, p0 := task/blocks, (task%blocks)*convPixels
			p1 := min(p0+convPixels, pix)
			in := xs[img*cin*h*wd : (img+1)*cin*h*wd]
			out := d[img*cout*pix:]
			for k0 := 0; k0 < kk; k0 += gemmK {
				kl := min(gemmK, kk-k0)
				geo.im2col(col[:(p1-p0)*kl], in, p0, p1, k0, kl)
				b.tile(out[p0:], pix, ws[k0:], kk, col, kl, cout, p1-p0, kl, k0 > 0)
			}
			for co, bv := range bs {
				row := out[co*pix+p0 : co*pix+p1]
				storeBias(row, row, bv)
			}
		}
	})
}

// convInPlace computes Conv2D with dst = x, for a convolution that keeps the shape (stride 1,
// c channels in and out): a band of output rows at a time, each from a zero-padded copy of
// the input rows it reads, so that its own scratch is two bands instead of a second image.
// Band k's output goes back into the image once band k+1's input has been copied out: bands
// of at least pad rows, so no later band reads the rows it replaces. Every output value is the
// one the out-of-place convolution computes (the same patch, zeros where it pads, and the same
// kernels), bit for bit. The VQ decoder's top-level resblocks hold two activations of
// 384²×128 this way, not three (README, "What the speed rests on").
func (b *Backend) convInPlace(d []float32, w, bias *Tensor, n, c, h, wd, kh, kw, pad int) {
	band := convBandFloats
	if b.band > 0 {
		band = b.band
	}
	rows := min(h, max(pad, 1, band/(c*wd)))
	iw := wd + 2*pad
	// Both bands in one buffer, from a pool of their own: the tiles' pool would hand a band
	// request a smaller tile buffer, to be dropped, and made tens of MB of garbage a decode.
	size := c*(rows+kh-1)*iw + c*rows*wd
	buf, _ := b.bands.Get().(*[]float32)
	if buf == nil || cap(*buf) < size {
		buf = new(make([]float32, size))
	}
	defer b.bands.Put(buf)
	in, out := (*buf)[:c*(rows+kh-1)*iw], (*buf)[c*(rows+kh-1)*iw:size]
	// fill copies the input rows band r0..r0+m reads into in, zeros where it pads.
	fill := func(img []float32, r0, m int) {
		ih := m + kh - 1
		b.pool.run(c, 1, func(lo, hi int) {
			for ch := lo; ch < hi; ch++ {
				for y := range ih {
					row := in[(ch*ih+y)*iw : (ch*ih+y+1)*iw]
					sy := r0 - pad + y
					if sy < 0 || sy >= h {
						clear(row)
						continue
					}
					clear(row[:pad])
					copy(row[pad:], img[(ch*h+sy)*wd:(ch*h+sy+1)*wd])
					clear(row[pad+wd:])
				}
			}
		})
	}
	for i := range n {
		img := d[i*c*h*wd : (i+1)*c*h*wd]
		fill(img, 0, min(rows, h))
		for r0 := 0; r0 < h; r0 += rows {
			m := min(rows, h-r0)
			x := &Tensor{Shape: []int{1, c, m + kh - 1, iw}, DType: compute.F32, Buf: &buffer{f: in[:c*(m+kh-1)*iw], view: true}}
			y := &Tensor{Shape: []int{1, c, m, wd}, DType: compute.F32, Buf: &buffer{f: out[:c*m*wd], view: true}}
			b.Conv2D(y, x, w, bias, compute.Conv2DParams{Stride: 1})
			if next := r0 + rows; next < h {
				fill(img, next, min(rows, h-next))
			}
			b.pool.run(c, 1, func(lo, hi int) {
				for ch := lo; ch < hi; ch++ {
					copy(img[(ch*h+r0)*wd:(ch*h+r0+m)*wd], out[ch*m*wd:(ch+1)*m*wd])
				}
			})
		}
	}
}

// convBandFloats is about the floats of a band of output rows convInPlace computes at once:
// 4 MB, so that its two bands (8.6 MB at 384²×128) are an eighth of the image they save.
const convBandFloats = 1 << 20

// convPixels is the number of output pixels per Conv2D task; their im2col rows for one K
// block (convPixels×gemmK floats) stay in L2 while every output channel pair sweeps them.
const convPixels = 64

// convGeometry is the shape of one Conv2D for im2col.
type convGeometry struct {
	cin, h, w, kh, kw, wo, stride, pad int
}

// im2col writes, for output pixels p0..p1 of one image, the patch values k0..k0+kl (k runs
// over cin, ky, kx like the weight's columns) as rows of kl floats; padding reads as 0.
func (g convGeometry) im2col(col, in []float32, p0, p1, k0, kl int) {
	for p := p0; p < p1; p++ {
		row := col[(p-p0)*kl : (p-p0+1)*kl]
		oy, ox := p/g.wo, p%g.wo
		y0, x0 := oy*g.stride-g.pad, ox*g.stride-g.pad
		ci, r := k0/(g.kh*g.kw), k0%(g.kh*g.kw)
		ky, kx := r/g.kw, r%g.kw
		if y0 >= 0 && y0+g.kh <= g.h && x0 >= 0 && x0+g.kw <= g.w {
			// No padding in this pixel's patch: each run is a copy, without a bounds test per
			// value (which took most of an exact VQ decode's im2col).
			at := (ci*g.h+y0+ky)*g.w + x0
			for i := 0; i < kl; {
				run := min(g.kw-kx, kl-i)
				if run == 3 { // a 3×3 kernel's row, the VQ decoder's
					d, s := row[i:i+3:i+3], in[at+kx:at+kx+3:at+kx+3]
					d[0], d[1], d[2] = s[0], s[1], s[2]
				} else {
					dst, src := row[i:i+run], in[at+kx:at+kx+run]
					for t := range dst {
						dst[t] = src[t]
					}
				}
				i += run
				kx = 0
				at += g.w
				if ky++; ky == g.kh {
					ky = 0
					at += (g.h - g.kh) * g.w
				}
			}
			continue
		}
		for i := 0; i < kl; {
			// One run along kx for this (ci, ky): contiguous in the input row.
			run := min(g.kw-kx, kl-i)
			iy := y0 + ky
			dst := row[i : i+run]
			if iy < 0 || iy >= g.h {
				clear(dst)
			} else {
				src := in[(ci*g.h+iy)*g.w : (ci*g.h+iy+1)*g.w]
				for t := range dst {
					ix := x0 + kx + t
					if ix >= 0 && ix < g.w {
						dst[t] = src[ix]
					} else {
						dst[t] = 0
					}
				}
			}
			i += run
			kx = 0
			if ky++; ky == g.kh {
				ky = 0
				ci++
			}
		}
	}
}
