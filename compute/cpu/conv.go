package cpu

import "github.com/janus-desktop/janus/compute"

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
	check(!overlaps(d, xs), op, "dst overlaps x")
	planes := n * cout
	b.pool.run(planes, 1, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			ni, co := pl/cout, pl%cout
			out := d[pl*ho*wo : (pl+1)*ho*wo]
			for oy := range ho {
				for ox := range wo {
					var s float32
					for ci := range cin {
						in := xs[(ni*cin+ci)*h*wd : (ni*cin+ci+1)*h*wd]
						wk := ws[(co*cin+ci)*kh*kw : (co*cin+ci+1)*kh*kw]
						for ky := range kh {
							iy := oy*p.Stride - p.Pad + ky
							if iy < 0 || iy >= h {
								continue
							}
							for kx := range kw {
								ix := ox*p.Stride - p.Pad + kx
								if ix < 0 || ix >= wd {
									continue
								}
								s += in[iy*wd+ix] * wk[ky*kw+kx]
							}
						}
					}
					if bs != nil {
						s += bs[co]
					}
					out[oy*wo+ox] = s
				}
			}
		}
	})
}
