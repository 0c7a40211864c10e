package cpu

import (
	"math"

	"github.com/janus-desktop/janus/compute"
)

// RoPE rotates x[B,T,heads*headDim] in place, rotate-half layout: for i < headDim/2 the pair
// (x[i], x[i+headDim/2]) turns by angle pos·inv_freq[i]. The frequencies, angles, cos and sin
// are float32 as in transformers: inv_freq = 1/theta^(float32(2i)/headDim), angle =
// float32(pos)·inv_freq.
func (b *Backend) RoPE(x *Tensor, heads, headDim, pos0 int, theta float32) {
	s := f32("RoPE", "x", x)
	check(len(x.Shape) == 3, "RoPE", "x %v is not [B, T, heads*headDim]", x)
	check(headDim > 0 && headDim%2 == 0 && x.Shape[2] == heads*headDim, "RoPE",
		"x %v does not hold %d heads of even size %d", x, heads, headDim)
	check(pos0 >= 0, "RoPE", "negative start position %d", pos0)
	batch, t, half := x.Shape[0], x.Shape[1], headDim/2
	invFreq := make([]float32, half)
	for i := range invFreq {
		e := float32(2*i) / float32(headDim)
		invFreq[i] = 1 / float32(math.Pow(float64(theta), float64(e)))
	}
	// cos/sin per position, shared by every head and batch row.
	tab := make([]float32, 2*t*half)
	b.pool.run(t, b.pool.grain(t, 40*half), func(lo, hi int) {
		for ti := lo; ti < hi; ti++ {
			pos := float32(pos0 + ti)
			row := tab[2*ti*half : 2*(ti+1)*half]
			for i, f := range invFreq {
				a := float64(pos * f)
				row[i] = float32(math.Cos(a))
				row[half+i] = float32(math.Sin(a))
			}
		}
	})
	rows := batch * t
	b.pool.run(rows, b.pool.grain(rows, 4*heads*headDim), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			ti := r % t
			cs, sn := tab[2*ti*half:(2*ti+1)*half], tab[(2*ti+1)*half:2*(ti+1)*half]
			for h := range heads {
				v := s[(r*heads+h)*headDim : (r*heads+h+1)*headDim]
				x1, x2 := v[:half], v[half:]
				for i := range x1 {
					a, c := x1[i], x2[i]
					// Separate roundings (no fused multiply-add), as torch's
					// x*cos + rotate_half(x)*sin.
					x1[i] = float32(a*cs[i]) - float32(c*sn[i])
					x2[i] = float32(c*cs[i]) + float32(a*sn[i])
				}
			}
		}
	})
}

// Attention computes softmax(q·kᵀ·scale [+ causal mask])·v per head; see
// compute.AttentionParams for the layout.
func (b *Backend) Attention(dst, q, k, v *Tensor, p compute.AttentionParams) {
	const op = "Attention"
	d, qs := f32(op, "dst", dst), f32(op, "q", q)
	ks, vs := f32(op, "k", k), f32(op, "v", v)
	check(p.Heads > 0 && p.KVHeads > 0 && p.Heads%p.KVHeads == 0, op, "%d heads do not share %d kv heads", p.Heads, p.KVHeads)
	check(p.HeadDim > 0, op, "head size %d", p.HeadDim)
	check(len(q.Shape) == 3 && q.Shape[2] == p.Heads*p.HeadDim, op, "q %v is not [B, T, %d]", q, p.Heads*p.HeadDim)
	batch, t := q.Shape[0], q.Shape[1]
	kvw := p.KVHeads * p.HeadDim
	check(len(k.Shape) == 3 && k.Shape[0] == batch && k.Shape[2] == kvw, op, "k %v is not [%d, S, %d]", k, batch, kvw)
	check(len(v.Shape) == 3 && v.Shape[0] == batch && v.Shape[1] == k.Shape[1] && v.Shape[2] == kvw, op, "v %v does not match k %v", v, k)
	sCap := k.Shape[1]
	check(p.KVLen > 0 && p.KVLen <= sCap, op, "KVLen %d outside (0, %d]", p.KVLen, sCap)
	check(p.QPos0 >= 0, op, "negative QPos0 %d", p.QPos0)
	check(!p.Causal || p.QPos0+t <= p.KVLen, op, "causal query rows up to position %d but only %d keys", p.QPos0+t-1, p.KVLen)
	check(len(d) == len(qs) && len(dst.Shape) == 3 && dst.Shape[0] == batch && dst.Shape[1] == t, op, "dst %v is not q's shape %v", dst, q)
	check(!overlaps(d, ks) && !overlaps(d, vs), op, "dst overlaps k or v")

	hd, group := p.HeadDim, p.Heads/p.KVHeads
	qw := p.Heads * hd
	rows := batch * p.Heads * t
	b.pool.run(rows, b.pool.grain(rows, 2*p.KVLen*hd), func(lo, hi int) {
		scores := make([]float32, p.KVLen)
		acc := make([]float32, hd)
		for r := lo; r < hi; r++ {
			ti := r % t
			h := (r / t) % p.Heads
			bi := r / (t * p.Heads)
			kh := h / group
			qrow := qs[(bi*t+ti)*qw+h*hd : (bi*t+ti)*qw+(h+1)*hd]
			n := p.KVLen
			if p.Causal {
				n = p.QPos0 + ti + 1
			}
			kbase := bi*sCap*kvw + kh*hd
			mx := float32(math.Inf(-1))
			for j := range n {
				kr := ks[kbase+j*kvw : kbase+j*kvw+hd]
				sc := dot1x1(0, qrow, kr) * p.Scale
				scores[j] = sc
				mx = max(mx, sc)
			}
			var sum float32
			for j := range n {
				e := float32(math.Exp(float64(scores[j] - mx)))
				scores[j] = e
				sum += e
			}
			// Normalise the probabilities first, as torch's softmax does, then weight v.
			inv := 1 / sum
			clear(acc)
			for j := range n {
				vr := vs[kbase+j*kvw : kbase+j*kvw+hd]
				pj := scores[j] * inv
				for i, x := range vr {
					acc[i] += pj * x
				}
			}
			copy(d[(bi*t+ti)*qw+h*hd:(bi*t+ti)*qw+(h+1)*hd], acc)
		}
	})
}
