package metal

import (
	"fmt"
	"unsafe"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/metal/internal/gpu"
)

// live returns t's buffer, panicking with the op and argument when t is nil, freed, not a
// metal tensor, or (f32 set) not F32: misuse is a programming error, as in compute/cpu.
func live(backend, op, arg string, t *Tensor, f32 bool) gpu.Buffer {
	if t == nil {
		panic(fmt.Sprintf("%s: %s: %s is nil", backend, op, arg))
	}
	buf, ok := t.Buf.(*buffer)
	if !ok {
		panic(fmt.Sprintf("%s: %s: %s %v has a %T buffer, not a metal one", backend, op, arg, t, t.Buf))
	}
	if buf.freed {
		panic(fmt.Sprintf("%s: %s: %s %v was freed", backend, op, arg, t))
	}
	if f32 && t.DType != compute.F32 {
		panic(fmt.Sprintf("%s: %s: %s is %v, want F32", backend, op, arg, t))
	}
	if buf.bytes != t.DType.Bytes(t.Len()) {
		panic(fmt.Sprintf("%s: %s: %s %v has a buffer of %d bytes", backend, op, arg, t, buf.bytes))
	}
	return buf.gpu
}

func (b *Backend) f32(op, arg string, t *Tensor) gpu.Buffer { return live(b.name, op, arg, t, true) }

func (b *Backend) check(ok bool, op, format string, args ...any) {
	if !ok {
		panic(fmt.Sprintf("%s: %s: %s", b.name, op, fmt.Sprintf(format, args...)))
	}
}

// sameBuffer reports whether two tensors share storage (in-place use).
func sameBuffer(a, c *Tensor) bool { return a.Buf.(*buffer) == c.Buf.(*buffer) || overlapping(a, c) }

// extent is where a tensor's bytes lie: its own Metal buffer, or a region of its parent's.
func extent(t *Tensor) (g gpu.Buffer, off, size int) {
	buf := t.Buf.(*buffer)
	if r, ok := buf.gpu.(region); ok {
		return r.Buffer, r.off, r.size
	}
	return buf.gpu, 0, buf.bytes
}

// overlapping reports whether two tensors' bytes overlap (views of one buffer, or one buffer).
func overlapping(a, c *Tensor) bool {
	ga, oa, sa := extent(a)
	gc, oc, sc := extent(c)
	return ga == gc && oa < oc+sc && oc < oa+sa
}

// sameRange reports whether two tensors hold exactly the same bytes.
func sameRange(a, c *Tensor) bool {
	ga, oa, sa := extent(a)
	gc, oc, sc := extent(c)
	return ga == gc && oa == oc && sa == sc
}

// weightKernel picks the F32, F16, BF16, Q8, Q4 or Q4M variant of a kernel family.
func weightKernel(family string, dt compute.DType) string {
	switch dt {
	case compute.F32:
		return family + "_f32"
	case compute.F16:
		return family + "_f16"
	case compute.BF16:
		return family + "_bf16"
	case compute.Q8:
		return family + "_q8"
	case compute.Q4:
		return family + "_q4"
	case compute.Q4M:
		return family + "_q4m"
	}
	panic(fmt.Sprintf("metal: %s: unknown weight dtype %v", family, dt))
}

// Linear computes dst[M,N] = x[M,K]·w[N,K]ᵀ (+ bias[N]): a SIMD group per output column for
// up to 8 rows (decode, CFG pairs), 64×64 tiles through threadgroup memory beyond. Q8/Q4
// weights are dequantized as they are read and multiply float32 activations (compute/cpu
// quantizes the activations of its few-row products to int8 instead; both stay within the
// conformance suite's bound for quantized weights).
func (b *Backend) Linear(dst, x, w, bias *Tensor) {
	const op = "Linear"
	gd, gx := b.f32(op, "dst", dst), b.f32(op, "x", x)
	gw := live(b.name, op, "w", w, false)
	b.check(len(w.Shape) == 2, op, "w %v is not [N, K]", w)
	n, k := w.Shape[0], w.Shape[1]
	b.check(!w.DType.Quantized() || k%qBlock == 0, op, "%v w %v: K is not a multiple of %d", w.DType, w, qBlock)
	b.check(len(x.Shape) > 0 && x.Dim(-1) == k, op, "x %v does not end in K=%d of w %v", x, k, w)
	m := x.Rows()
	b.check(len(dst.Shape) > 0 && dst.Dim(-1) == n && dst.Len() == m*n, op, "dst %v is not [%d, %d] for x %v and w %v", dst, m, n, x, w)
	b.check(!sameBuffer(dst, x), op, "dst overlaps x")
	gb, hasBias := gx, false // an unused placeholder binding when there is no bias
	if bias != nil {
		gb, hasBias = b.f32(op, "bias", bias), true
		b.check(bias.Len() == n, op, "bias %v does not have N=%d elements", bias, n)
	}
	if m == 0 || n == 0 {
		return
	}
	params := []uint32{u32(m), u32(n), u32(k), boolWord(hasBias)}
	bufs := []gpu.Buffer{gx, gw, gb, gd}
	work := 2 * float64(m) * float64(n) * float64(k)
	if m <= mvMaxM {
		b.dispatchWork(work, weightKernel("linear_mv", w.DType), [3]int{(n + mvSIMDGroups - 1) / mvSIMDGroups, 1, 1},
			[3]int{32 * mvSIMDGroups, 1, 1}, bufs, params)
		return
	}
	b.dispatchWork(work, weightKernel("linear_mm", w.DType), [3]int{(n + mmTile - 1) / mmTile, (m + mmTile - 1) / mmTile, 1},
		[3]int{16, 16, 1}, bufs, params)
}

// Embedding copies rows ids[i] of table[V,D] into dst[len(ids), D], widening F16/BF16 and
// dequantizing Q8/Q4 (the values Read gives). The ids are copied into the backend's staging
// arena before the op returns.
func (b *Backend) Embedding(dst, table *Tensor, ids []int32) {
	const op = "Embedding"
	gd := b.f32(op, "dst", dst)
	gt := live(b.name, op, "table", table, false)
	b.check(len(table.Shape) == 2, op, "table %v is not [V, D]", table)
	v, dim := table.Shape[0], table.Shape[1]
	b.check(dst.Len() == len(ids)*dim && dst.Dim(-1) == dim, op, "dst %v for %d ids of width %d", dst, len(ids), dim)
	for i, id := range ids {
		b.check(id >= 0 && int(id) < v, op, "id %d at %d is outside [0,%d)", id, i, v)
	}
	if len(ids) == 0 || dim == 0 {
		return
	}
	stage := b.stage(len(ids) * 4)
	copy(unsafe.Slice((*int32)(stage.contents()), len(ids)), ids)
	params := []uint32{u32(len(ids)), u32(dim)}
	if table.DType.Quantized() {
		b.check(dim%qBlock == 0, op, "%v table %v: D is not a multiple of %d", table.DType, table, qBlock)
		params = append(params, u32(v)) // the scales follow the codes of all v rows
	}
	b.flat(weightKernel("embedding", table.DType), len(ids)*dim, []gpu.Buffer{gt, stage, gd}, params...)
}

// Add computes dst = a + b with b repeated over a.
func (b *Backend) Add(dst, a, bt *Tensor) { b.binary("Add", "add_f32", dst, a, bt) }

// Mul computes dst = a * b with b repeated over a.
func (b *Backend) Mul(dst, a, bt *Tensor) { b.binary("Mul", "mul_f32", dst, a, bt) }

func (b *Backend) binary(op, kernel string, dst, a, bt *Tensor) {
	gd, ga, gb := b.f32(op, "dst", dst), b.f32(op, "a", a), b.f32(op, "b", bt)
	b.check(dst.Len() == a.Len(), op, "dst %v and a %v differ in length", dst, a)
	b.check(bt.Len() > 0 && a.Len()%bt.Len() == 0, op, "b %v does not tile a %v", bt, a)
	b.check(!sameBuffer(dst, bt) || bt.Len() == a.Len(), op, "dst overlaps b")
	b.flat(kernel, a.Len(), []gpu.Buffer{ga, gb, gd}, u32(a.Len()), u32(bt.Len()))
}

func (b *Backend) unary(op, kernel string, dst, x *Tensor, s float32) {
	gd, gx := b.f32(op, "dst", dst), b.f32(op, "x", x)
	b.check(dst.Len() == x.Len(), op, "dst %v and x %v differ in length", dst, x)
	b.flat(kernel, x.Len(), []gpu.Buffer{gx, gd}, u32(x.Len()), f32bits(s))
}

// Scale computes dst = x * s.
func (b *Backend) Scale(dst, x *Tensor, s float32) { b.unary("Scale", "scale_f32", dst, x, s) }

// GELU applies the exact (erf) GELU.
func (b *Backend) GELU(dst, x *Tensor) { b.unary("GELU", "gelu_f32", dst, x, 0) }

// SiLU applies x·sigmoid(x).
func (b *Backend) SiLU(dst, x *Tensor) { b.unary("SiLU", "silu_f32", dst, x, 0) }

// SwiGLU computes dst = silu(gate) * up.
func (b *Backend) SwiGLU(dst, gate, up *Tensor) {
	const op = "SwiGLU"
	gd, gg, gu := b.f32(op, "dst", dst), b.f32(op, "gate", gate), b.f32(op, "up", up)
	b.check(dst.Len() == gate.Len() && gate.Len() == up.Len(), op, "dst %v, gate %v and up %v differ in length", dst, gate, up)
	b.flat("swiglu_f32", dst.Len(), []gpu.Buffer{gg, gu, gd}, u32(dst.Len()), 0)
}

// LayerNorm normalises over the last dimension: (x-mean)/sqrt(var+eps)*w + b.
func (b *Backend) LayerNorm(dst, x, w, bias *Tensor, eps float32) {
	const op = "LayerNorm"
	gd, gx, gw, gb := b.f32(op, "dst", dst), b.f32(op, "x", x), b.f32(op, "w", w), b.f32(op, "b", bias)
	dim := x.Dim(-1)
	b.check(dst.Len() == x.Len(), op, "dst %v and x %v differ in length", dst, x)
	b.check(w.Len() == dim && bias.Len() == dim, op, "w %v and b %v must have %d elements", w, bias, dim)
	if dim == 0 {
		return
	}
	rows := x.Len() / dim
	b.dispatch("layer_norm_f32", [3]int{rows, 1, 1}, [3]int{normThreads, 1, 1}, []gpu.Buffer{gx, gw, gb, gd},
		[]uint32{u32(rows), u32(dim), f32bits(eps), 0, 0})
}

// RMSNorm normalises over the last dimension: x/sqrt(mean(x²)+eps)*w.
func (b *Backend) RMSNorm(dst, x, w *Tensor, eps float32) {
	const op = "RMSNorm"
	gd, gx, gw := b.f32(op, "dst", dst), b.f32(op, "x", x), b.f32(op, "w", w)
	dim := x.Dim(-1)
	b.check(dst.Len() == x.Len(), op, "dst %v and x %v differ in length", dst, x)
	b.check(w.Len() == dim, op, "w %v must have %d elements", w, dim)
	if dim == 0 {
		return
	}
	rows := x.Len() / dim
	b.dispatch("rms_norm_f32", [3]int{rows, 1, 1}, [3]int{normThreads, 1, 1}, []gpu.Buffer{gx, gw, gd},
		[]uint32{u32(rows), u32(dim), f32bits(eps), 0, 0})
}

// GroupNorm normalises x[N,C,H,W] over groups of C/groups channels, then applies w[C], b[C].
func (b *Backend) GroupNorm(dst, x, w, bias *Tensor, groups int, eps float32) {
	const op = "GroupNorm"
	gd, gx, gw, gb := b.f32(op, "dst", dst), b.f32(op, "x", x), b.f32(op, "w", w), b.f32(op, "b", bias)
	b.check(len(x.Shape) == 4, op, "x %v is not [N, C, H, W]", x)
	n, c := x.Shape[0], x.Shape[1]
	b.check(dst.Len() == x.Len(), op, "dst %v and x %v differ in length", dst, x)
	b.check(groups > 0 && c%groups == 0, op, "%d channels do not split into %d groups", c, groups)
	b.check(w.Len() == c && bias.Len() == c, op, "w %v and b %v must have %d elements", w, bias, c)
	plane := x.Shape[2] * x.Shape[3]
	per := c / groups * plane
	if per == 0 {
		return
	}
	b.dispatch("group_norm_f32", [3]int{n * groups, 1, 1}, [3]int{normThreads, 1, 1}, []gpu.Buffer{gx, gw, gb, gd},
		[]uint32{u32(n * groups), u32(per), f32bits(eps), u32(plane), u32(groups)})
}

// RoPE rotates x[B,T,heads*headDim] in place (rotate-half layout). The cos/sin table is made
// on the host exactly as compute/cpu makes it (float32 frequencies and angles, float64
// cos/sin), so both backends rotate by the same values; the GPU does the rotation.
func (b *Backend) RoPE(x *Tensor, heads, headDim, pos0 int, theta float32) {
	const op = "RoPE"
	gx := b.f32(op, "x", x)
	b.check(len(x.Shape) >= 2, op, "x %v is not [B, T, heads*headDim]", x)
	b.check(headDim > 0 && headDim%2 == 0 && x.Dim(-1) == heads*headDim, op,
		"x %v does not hold %d heads of even size %d", x, heads, headDim)
	b.check(pos0 >= 0, op, "negative start position %d", pos0)
	t, half := x.Dim(-2), headDim/2
	if t == 0 || x.Len() == 0 {
		return
	}
	rows := x.Rows()
	tab := b.stage(2 * t * half * 4)
	compute.RoPETable(unsafe.Slice((*float32)(tab.contents()), 2*t*half), headDim, pos0, 0, t, theta)
	b.flat("rope_f32", rows*heads*half, []gpu.Buffer{gx, tab}, u32(rows), u32(t), u32(heads), u32(half))
}

// btd reads a [B, T, D] shape; a [T, D] tensor is one batch row.
func (b *Backend) btd(op, arg string, x *Tensor) (bs, t, d int) {
	switch len(x.Shape) {
	case 2:
		return 1, x.Shape[0], x.Shape[1]
	case 3:
		return x.Shape[0], x.Shape[1], x.Shape[2]
	}
	panic(fmt.Sprintf("%s: %s: %s %v is not [B, T, D] or [T, D]", b.name, op, arg, x))
}

// Attention computes softmax(q·kᵀ·scale [+ causal mask])·v per head, fused: one threadgroup
// per query row and head.
func (b *Backend) Attention(dst, q, k, v *Tensor, p compute.AttentionParams) {
	const op = "Attention"
	gd, gq := b.f32(op, "dst", dst), b.f32(op, "q", q)
	gk, gv, kernel := b.kv(op, k, v)
	b.check(p.Heads > 0 && p.KVHeads > 0 && p.Heads%p.KVHeads == 0, op, "%d heads do not share %d kv heads", p.Heads, p.KVHeads)
	b.check(p.HeadDim > 0 && p.HeadDim <= attMaxHead, op, "head size %d outside 1..%d", p.HeadDim, attMaxHead)
	batch, t, qw := b.btd(op, "q", q)
	b.check(qw == p.Heads*p.HeadDim, op, "q %v is not [B, T, %d]", q, p.Heads*p.HeadDim)
	kvw := p.KVHeads * p.HeadDim
	kb, sCap, kw := b.btd(op, "k", k)
	b.check(kb == batch && kw == kvw, op, "k %v is not [%d, S, %d]", k, batch, kvw)
	vb, vs, vw := b.btd(op, "v", v)
	b.check(vb == kb && vs == sCap && vw == kw, op, "v %v does not match k %v", v, k)
	b.check(p.KVLen > 0 && p.KVLen <= sCap, op, "KVLen %d outside (0, %d]", p.KVLen, sCap)
	b.check(p.QPos0 >= 0, op, "negative QPos0 %d", p.QPos0)
	b.check(!p.Causal || p.QPos0+t <= p.KVLen, op, "causal query rows up to position %d but only %d keys", p.QPos0+t-1, p.KVLen)
	db, dt, _ := b.btd(op, "dst", dst)
	b.check(dst.Len() == q.Len() && db == batch && dt == t, op, "dst %v is not q's shape %v", dst, q)
	b.check(!sameBuffer(dst, k) && !sameBuffer(dst, v) && !sameBuffer(dst, q), op, "dst overlaps q, k or v")
	work := 4 * float64(batch) * float64(p.Heads) * float64(t) * float64(p.KVLen) * float64(p.HeadDim)
	b.dispatchWork(work, kernel, [3]int{t, p.Heads, batch}, [3]int{attThreads, 1, 1}, []gpu.Buffer{gq, gk, gv, gd},
		[]uint32{u32(t), u32(sCap), u32(p.Heads), u32(p.KVHeads), u32(p.HeadDim), u32(p.KVLen), u32(p.QPos0),
			boolWord(p.Causal), f32bits(p.Scale)})
}

// kv returns the buffers of Attention's k and v, F32 or F16 (a KV cache) alike, and the
// kernel that reads them.
func (b *Backend) kv(op string, k, v *Tensor) (gk, gv gpu.Buffer, kernel string) {
	b.check(k != nil && v != nil && k.DType == v.DType, op, "k %v and v %v differ in dtype", k, v)
	if k.DType == compute.F16 {
		return live(b.name, op, "k", k, false), live(b.name, op, "v", v, false), "attention_f16"
	}
	return b.f32(op, "k", k), b.f32(op, "v", v), "attention_f32"
}

// CopyRows copies src[b, srcAt:srcAt+n, :] to dst[b, dstAt:dstAt+n, :] for every b. An F16
// dst (a KV cache) takes F32 rows rounded to nearest even and saturated at ±65504, or F16
// rows as they are.
func (b *Backend) CopyRows(dst *Tensor, dstAt int, src *Tensor, srcAt, n int) {
	const op = "CopyRows"
	kernel := "copy_rows_f32"
	var gd, gs gpu.Buffer
	switch {
	case dst != nil && dst.DType == compute.F16 && src != nil && src.DType == compute.F16:
		gd, gs, kernel = live(b.name, op, "dst", dst, false), live(b.name, op, "src", src, false), "copy_rows_f16"
	case dst != nil && dst.DType == compute.F16:
		gd, gs, kernel = live(b.name, op, "dst", dst, false), b.f32(op, "src", src), "copy_rows_f32_f16"
	default:
		gd, gs = b.f32(op, "dst", dst), b.f32(op, "src", src)
	}
	batch, dt, dim := b.btd(op, "dst", dst)
	sb, st, sd := b.btd(op, "src", src)
	b.check(sb == batch && sd == dim, op, "dst %v and src %v differ in B or D", dst, src)
	b.check(n >= 0 && dstAt >= 0 && srcAt >= 0 && dstAt+n <= dt && srcAt+n <= st, op,
		"rows [%d,%d) of src %v to [%d,%d) of dst %v are out of range", srcAt, srcAt+n, src, dstAt, dstAt+n, dst)
	b.check(!sameBuffer(dst, src), op, "dst is src")
	b.flat(kernel, batch*n*dim, []gpu.Buffer{gs, gd}, u32(batch), u32(n), u32(dim), u32(dt), u32(dstAt), u32(st), u32(srcAt))
}

// Transpose swaps the last two dimensions of x into dst.
func (b *Backend) Transpose(dst, x *Tensor) {
	const op = "Transpose"
	gd, gx := b.f32(op, "dst", dst), b.f32(op, "x", x)
	b.check(len(x.Shape) >= 2, op, "x %v has fewer than two dimensions", x)
	r, c := x.Dim(-2), x.Dim(-1)
	b.check(len(dst.Shape) == len(x.Shape) && dst.Dim(-2) == c && dst.Dim(-1) == r && dst.Len() == x.Len(),
		op, "dst %v is not x %v with the last two dimensions swapped", dst, x)
	for i := 0; i < len(x.Shape)-2; i++ {
		b.check(dst.Shape[i] == x.Shape[i], op, "dst %v and x %v differ in leading dimensions", dst, x)
	}
	b.check(!sameBuffer(dst, x), op, "dst overlaps x")
	if r == 0 || c == 0 {
		return
	}
	b.flat("transpose_f32", x.Len(), []gpu.Buffer{gx, gd}, u32(x.Len()/(r*c)), u32(r), u32(c))
}

// Conv2D computes dst[N,Cout,Ho,Wo] from x[N,Cin,H,W] and w[Cout,Cin,kh,kw] (+ b[Cout]).
func (b *Backend) Conv2D(dst, x, w, bias *Tensor, p compute.Conv2DParams) {
	const op = "Conv2D"
	gd, gx, gw := b.f32(op, "dst", dst), b.f32(op, "x", x), b.f32(op, "w", w)
	b.check(len(x.Shape) == 4, op, "x %v is not [N, Cin, H, W]", x)
	b.check(len(w.Shape) == 4, op, "w %v is not [Cout, Cin, kh, kw]", w)
	n, cin, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	cout, kh, kw := w.Shape[0], w.Shape[2], w.Shape[3]
	b.check(w.Shape[1] == cin, op, "w %v does not take the %d channels of x %v", w, cin, x)
	b.check(p.Stride > 0 && p.Pad >= 0, op, "stride %d, pad %d", p.Stride, p.Pad)
	b.check(h+2*p.Pad >= kh && wd+2*p.Pad >= kw, op, "kernel %dx%d larger than padded input %v", kh, kw, x)
	ho, wo := (h+2*p.Pad-kh)/p.Stride+1, (wd+2*p.Pad-kw)/p.Stride+1
	b.check(len(dst.Shape) == 4 && dst.Shape[0] == n && dst.Shape[1] == cout && dst.Shape[2] == ho && dst.Shape[3] == wo,
		op, "dst %v is not [%d, %d, %d, %d]", dst, n, cout, ho, wo)
	gb, hasBias := gx, false
	if bias != nil {
		gb, hasBias = b.f32(op, "b", bias), true
		b.check(bias.Len() == cout, op, "b %v does not have %d elements", bias, cout)
	}
	if overlapping(dst, x) {
		b.check(sameRange(dst, x) && p.Stride == 1 && cout == cin && ho == h && wo == wd,
			op, "dst overlaps x, and is not x of a convolution that keeps its shape")
		b.convInPlace(x, gw, gb, hasBias, n, cin, h, wd, kh, kw, p.Pad)
		return
	}
	b.conv(gx, gw, gb, gd, hasBias, convShape{n: n, cin: cin, h: h, w: wd, cout: cout, kh: kh, kw: kw,
		ho: ho, wo: wo, stride: p.Stride, pad: p.Pad, padTop: p.Pad, hValid: h})
}

// convShape is conv2d_f32's geometry (Conv2DParams in layout.metal).
type convShape struct {
	n, cin, h, w, cout, kh, kw, ho, wo, stride, pad int
	padTop, hValid                                  int // pad and h, but in a band of convInPlace
}

// conv dispatches conv2d_f32 from gx into gd.
func (b *Backend) conv(gx, gw, gb, gd gpu.Buffer, hasBias bool, s convShape) {
	out := s.n * s.cout * s.ho * s.wo
	work := 2 * float64(out) * float64(s.cin*s.kh*s.kw)
	b.dispatchWork(work, "conv2d_f32", [3]int{(out + flatThreads - 1) / flatThreads, 1, 1}, [3]int{flatThreads, 1, 1},
		[]gpu.Buffer{gx, gw, gb, gd}, []uint32{u32(s.n), u32(s.cin), u32(s.h), u32(s.w), u32(s.cout),
			u32(s.kh), u32(s.kw), u32(s.ho), u32(s.wo), u32(s.stride), u32(s.pad), boolWord(hasBias),
			u32(s.padTop), u32(s.hValid)})
}

// convInPlace is Conv2D with dst = x[n, c, h, wd] for a convolution that keeps the shape: the
// kernel reads neighbours other threads overwrite, so it runs a band of output rows at a
// time from a copy of the input rows the band reads (its window clipped to them, so the same
// terms in the same order: the same bits), and the band's output goes back once the next
// band's input has been copied out. Bands of an eighth of the image and at least pad rows:
// two band buffers instead of a second image, as the CPU does it.
func (b *Backend) convInPlace(x *Tensor, gw, gb gpu.Buffer, hasBias bool, n, c, h, wd, kh, kw, pad int) {
	rows := min(h, max(pad, 1, (h+7)/8))
	in, out := b.New(compute.F32, n*c, rows+kh-1, wd), b.New(compute.F32, n*c, rows, wd)
	defer b.Free(in)
	defer b.Free(out)
	planes := b.Reshape(x, n*c, h, wd)
	// copyIn copies the rows band r0..r0+m reads into in and returns how many it copied and
	// how many rows of padding the band has above them (pad for the first band, else 0).
	copyIn := func(r0, m int) (rowsIn, padTop int) {
		top, bottom := max(0, r0-pad), min(h, r0+m+pad)
		b.CopyRows(in, 0, planes, top, bottom-top)
		return bottom - top, pad - (r0 - top)
	}
	rowsIn, padTop := copyIn(0, rows)
	for r0 := 0; r0 < h; r0 += rows {
		m := min(rows, h-r0)
		band := b.View(out, 0, n*c, m, wd)
		b.conv(b.f32("Conv2D", "in", in), gw, gb, b.f32("Conv2D", "out", band), hasBias, convShape{n: n, cin: c, h: rows + kh - 1,
			w: wd, cout: c, kh: kh, kw: kw, ho: m, wo: wd, stride: 1, pad: pad, padTop: padTop, hValid: rowsIn})
		if next := r0 + rows; next < h {
			rowsIn, padTop = copyIn(next, min(rows, h-next))
		}
		b.CopyRows(planes, r0, band, 0, m)
	}
}

// Upsample2x repeats every pixel of x[N,C,H,W] into a 2×2 block of dst[N,C,2H,2W].
func (b *Backend) Upsample2x(dst, x *Tensor) {
	const op = "Upsample2x"
	gd, gx := b.f32(op, "dst", dst), b.f32(op, "x", x)
	b.check(len(x.Shape) == 4, op, "x %v is not [N, C, H, W]", x)
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	b.check(len(dst.Shape) == 4 && dst.Shape[0] == n && dst.Shape[1] == c && dst.Shape[2] == 2*h && dst.Shape[3] == 2*w,
		op, "dst %v is not [%d, %d, %d, %d]", dst, n, c, 2*h, 2*w)
	b.check(!sameBuffer(dst, x), op, "dst overlaps x")
	b.flat("upsample2x_f32", dst.Len(), []gpu.Buffer{gx, gd}, u32(n*c), u32(h), u32(w))
}
