package cpu

import (
	"fmt"
	"math"

	"github.com/janus-desktop/janus/compute"
)

// RoPE rotates x[B,T,heads*headDim] in place, rotate-half layout: for i < headDim/2 the pair
// (x[i], x[i+headDim/2]) turns by angle pos·inv_freq[i]. The frequencies, angles, cos and sin
// are float32 as in transformers: inv_freq = 1/theta^(float32(2i)/headDim), angle =
// float32(pos)·inv_freq.
func (b *Backend) RoPE(x *Tensor, heads, headDim, pos0 int, theta float32) {
	s := f32("RoPE", "x", x)
	check(len(x.Shape) >= 2, "RoPE", "x %v is not [B, T, heads*headDim]", x)
	check(headDim > 0 && headDim%2 == 0 && x.Dim(-1) == heads*headDim, "RoPE",
		"x %v does not hold %d heads of even size %d", x, heads, headDim)
	check(pos0 >= 0, "RoPE", "negative start position %d", pos0)
	// A [T, D] tensor is one batch row; more leading dimensions are all batch.
	t, half := x.Dim(-2), headDim/2
	if t == 0 {
		return
	}
	batch := x.Rows() / t
	tab := b.ropeTable(headDim, pos0, t, theta)
	rows := batch * t
	b.pool.run(rows, b.pool.grain(rows, 4*heads*headDim), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			ti := r % t
			cs, sn := tab[2*ti*half:(2*ti+1)*half], tab[(2*ti+1)*half:2*(ti+1)*half]
			for h := range heads {
				v := s[(r*heads+h)*headDim : (r*heads+h+1)*headDim]
				x1 := v[:half]
				// Every slice as long as x1, so that the loop runs without bounds checks.
				x2, cs, sn := v[half:][:len(x1)], cs[:len(x1)], sn[:len(x1)]
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

// ropeTab is the cos/sin table RoPE built last and the arguments it was built for.
type ropeTab struct {
	headDim, pos0, t int
	theta            float32
	tab              []float32
}

// ropeTable returns the cos/sin table of t positions from pos0, shared by every head and batch
// row. It keeps the last one: a forward pass rotates q and k of every layer at the same
// positions, so a token step needs one table for its 2·layers calls instead of a table of sines
// and cosines each (README, "What the speed rests on"), and a prompt chunk one for all of its.
// The buffer is kept rather than fresh, which would be garbage at the peak of a prompt's
// memory.
func (b *Backend) ropeTable(headDim, pos0, t int, theta float32) []float32 {
	r := &b.rope
	n := 2 * t * (headDim / 2)
	if r.tab != nil && r.headDim == headDim && r.pos0 == pos0 && r.t == t && r.theta == theta {
		return r.tab[:n]
	}
	if cap(r.tab) < n {
		r.tab = make([]float32, n)
	}
	tab := r.tab[:n]
	r.tab = nil // invalid until filled: a panic in the loop leaves no half-built table
	b.pool.run(t, b.pool.grain(t, 20*headDim), func(lo, hi int) {
		compute.RoPETable(tab, headDim, pos0, lo, hi, theta)
	})
	*r = ropeTab{headDim: headDim, pos0: pos0, t: t, theta: theta, tab: tab}
	return tab
}

// Attention computes softmax(q·kᵀ·scale [+ causal mask])·v per head; see
// compute.AttentionParams for the layout.
func (b *Backend) Attention(dst, q, k, v *Tensor, p compute.AttentionParams) {
	const op = "Attention"
	d, qs := f32(op, "dst", dst), f32(op, "q", q)
	check(k != nil && v != nil && k.DType == v.DType, op, "k %v and v %v differ in dtype", k, v)
	var ks, vs []float32
	var kh, vh, kd, vd []uint16
	var kq, vq []byte
	switch k.DType {
	case compute.F16:
		kh, vh = f16s(op, "k", k), f16s(op, "v", v)
	case compute.Q8:
		kq, kd = q8Cache(op, "k", k)
		vq, vd = q8Cache(op, "v", v)
	default:
		ks, vs = f32(op, "k", k), f32(op, "v", v)
	}
	check(p.Heads > 0 && p.KVHeads > 0 && p.Heads%p.KVHeads == 0, op, "%d heads do not share %d kv heads", p.Heads, p.KVHeads)
	check(p.HeadDim > 0, op, "head size %d", p.HeadDim)
	batch, t, qw := btd(op, "q", q)
	check(qw == p.Heads*p.HeadDim, op, "q %v is not [B, T, %d]", q, p.Heads*p.HeadDim)
	kvw := p.KVHeads * p.HeadDim
	if kq != nil {
		checkQ8Geometry(op, kvw)
	}
	kb, sCap, kw := btd(op, "k", k)
	check(kb == batch && kw == kvw, op, "k %v is not [%d, S, %d]", k, batch, kvw)
	vb, vs2, vw := btd(op, "v", v)
	check(vb == kb && vs2 == sCap && vw == kw, op, "v %v does not match k %v", v, k)
	check(p.KVLen > 0 && p.KVLen <= sCap, op, "KVLen %d outside (0, %d]", p.KVLen, sCap)
	check(p.QPos0 >= 0, op, "negative QPos0 %d", p.QPos0)
	check(!p.Causal || p.QPos0+t <= p.KVLen, op, "causal query rows up to position %d but only %d keys", p.QPos0+t-1, p.KVLen)
	db, dt, _ := btd(op, "dst", dst)
	check(len(d) == len(qs) && db == batch && dt == t, op, "dst %v is not q's shape %v", dst, q)
	check(!overlaps(d, ks) && !overlaps(d, vs), op, "dst overlaps k or v")

	g := attnGeometry{AttentionParams: p, t: t, sCap: sCap}
	kr := kvRows{f: ks, h: kh, q: kq, s: kd, sCap: sCap, kvw: kvw}
	vr := kvRows{f: vs, h: vh, q: vq, s: vd, sCap: sCap, kvw: kvw}
	if t == 1 {
		b.attendOne(g, d, qs, kr, vr, batch)
		return
	}
	if ks == nil {
		// Many query rows use every key many times: widen (or dequantize) the valid rows
		// once (a small part of the products) and run the float32 paths on them.
		ks, vs = b.widenCache(0, kr, batch, p.KVLen), b.widenCache(1, vr, batch, p.KVLen)
		g.sCap = p.KVLen
	}
	if b.bf16 && t >= bf16MinRows {
		if b.amx {
			bufs := b.taskBuffers(attnAMXFloats(g))
			b.pool.run(batch*p.Heads, 1, func(lo, hi int) {
				i, cv := bufs.get()
				defer bufs.put(i)
				for task := lo; task < hi; task++ {
					b.attnAMX(g, d, qs, ks, vs, task/p.Heads, task%p.Heads, cv)
				}
			})
			return
		}
		b.pool.run(batch*p.Heads, 1, func(lo, hi int) {
			for task := lo; task < hi; task++ {
				b.attnFast(g, d, qs, ks, vs, task/p.Heads, task%p.Heads)
			}
		})
		return
	}
	blocks := (t + attnRows - 1) / attnRows
	b.pool.run(batch*p.Heads*blocks, 1, func(lo, hi int) {
		for task := lo; task < hi; task++ {
			blk := task % blocks
			h := (task / blocks) % p.Heads
			bi := task / (blocks * p.Heads)
			t0 := blk * attnRows
			t1 := min(t0+attnRows, t)
			if t1-t0 < 4 {
				b.rowsDirect(g, d, qs, ks, vs, bi, h, t0, t1)
			} else {
				b.attnBlock(g, d, qs, ks, vs, bi, h, t0, t1)
			}
		}
	})
}

// btd reads a [B, T, D] shape; a [T, D] tensor is one batch row. Other ranks panic.
func btd(op, arg string, x *Tensor) (b, t, d int) {
	switch len(x.Shape) {
	case 2:
		return 1, x.Shape[0], x.Shape[1]
	case 3:
		return x.Shape[0], x.Shape[1], x.Shape[2]
	}
	panic(fmt.Sprintf("cpu: %s: %s %v is not [B, T, D] or [T, D]", op, arg, x))
}

// attnRows is the number of query rows per Attention task.
const attnRows = 32

// attnGeometry is one Attention call's parameters plus the sizes derived from the shapes.
type attnGeometry struct {
	compute.AttentionParams
	t, sCap int
}

// keys is the number of keys query row ti attends to.
func (g *attnGeometry) keys(ti int) int {
	if g.Causal {
		return g.QPos0 + ti + 1
	}
	return g.KVLen
}

// softmaxRow turns scores[:n] into probabilities like torch's float32 softmax: subtract the
// max, exponentiate, multiply by the reciprocal of the sum. scores[n:] become 0. With simd
// set the exponentials come from the assembly vector exp (within 2 ulps of math.Exp, see
// TestVectorExp) rather than float64 math.Exp; the sum is in order either way.
func softmaxRow(scores []float32, n int, scale float32, simd bool) {
	mx := float32(math.Inf(-1))
	for j := range scores[:n] {
		scores[j] *= scale
		mx = max(mx, scores[j])
	}
	var sum float32
	if simd {
		expShiftSIMD(scores[:n], mx)
		for _, e := range scores[:n] {
			sum += e
		}
	} else {
		for j, sc := range scores[:n] {
			e := float32(math.Exp(float64(sc - mx)))
			scores[j] = e
			sum += e
		}
	}
	inv := 1 / sum
	for j := range scores[:n] {
		scores[j] *= inv
	}
	clear(scores[n:])
}

// attnBlock handles query rows t0..t1 of head h in batch row bi: it packs the head's keys and
// transposed values contiguously (rows of the cache are a whole KV row apart, which maps
// them onto few cache sets), then runs both products on the GEMM tile kernels.
func (b *Backend) attnBlock(g attnGeometry, d, qs, ks, vs []float32, bi, h, t0, t1 int) {
	hd := g.HeadDim
	qw, kvw := g.Heads*hd, g.KVHeads*hd
	kh := h / (g.Heads / g.KVHeads)
	n := g.keys(t1 - 1) // the most keys any row of the block uses
	buf := b.getScratch(2*n*hd + (t1-t0)*n)
	defer b.putScratch(buf)
	kp, vt, scores := buf[:n*hd], buf[n*hd:2*n*hd], buf[2*n*hd:]
	base := bi*g.sCap*kvw + kh*hd
	for j := range n {
		copy(kp[j*hd:(j+1)*hd], ks[base+j*kvw:base+j*kvw+hd])
		v := vs[base+j*kvw : base+j*kvw+hd]
		for i, x := range v {
			vt[i*n+j] = x
		}
	}
	q := qs[(bi*g.t+t0)*qw+h*hd:]
	b.tile(scores, n, q, qw, kp, hd, t1-t0, n, hd, false)
	for r := range t1 - t0 {
		softmaxRow(scores[r*n:(r+1)*n], g.keys(t0+r), g.Scale, b.simd != simdNone)
	}
	b.tile(d[(bi*g.t+t0)*qw+h*hd:], qw, scores, n, vt, n, t1-t0, hd, n, false)
}

// attnKeyBlock is the number of keys per task of attendOne's scores and per step of its
// weighted sums.
const attnKeyBlock = 32

// kvRows is a K or V tensor [B, sCap, kvw] as attendOne reads it: float32 (f), F16 (h), or
// Q8 (codes q, scales s).
type kvRows struct {
	f         []float32
	h         []uint16
	q         []byte
	s         []uint16
	sCap, kvw int
}

// block returns rows [s0, s1) of batch row bi, columns [c0, c0+w), as float32 rows ld
// apart: the tensor itself when it is float32, else a copy widened (or dequantized) into
// buf, (s1-s0)·w floats. attendOne asks for one KV head at a time, 16 KB for 32 keys of 128,
// which stays in L1 between the conversion and the kernel that reads it.
func (v kvRows) block(set simdSet, buf []float32, bi, s0, s1, c0, w int) (rows []float32, ld int) {
	switch {
	case v.f != nil:
		return v.f[(bi*v.sCap+s0)*v.kvw+c0:], v.kvw
	case v.q != nil:
		dequantRowsQ8(buf, v.q, v.s, v.kvw, bi*v.sCap+s0, bi*v.sCap+s1, c0, w)
	default:
		widenRowsF16(set, buf[:(s1-s0)*w], w, v.h[(bi*v.sCap+s0)*v.kvw+c0:], v.kvw)
	}
	return buf, w
}

// inRows reports whether attendOne reads v a cache row at a time with the kernels that widen
// or dequantize in registers (scoresRowF16 and accRowsF16, scoresRowQ8 and accRowsQ8) for
// heads of hd values, rather than a head's block of rows at a time through block.
func (v kvRows) inRows(set simdSet, hd int) bool {
	if hd%64 != 0 || hd > dotBlock {
		return false
	}
	return v.h != nil && attnRowsF16(set) || v.q != nil && attnRowsQ8(set)
}

// scoresRow sets c[h·ldc] = q[h·hd:]·(key of head h) for the heads heads of row j of batch
// row bi whose keys start at column c0, kstep columns apart (inRows), prefetching the keys
// two rows on.
func (v kvRows) scoresRow(hd int, q []float32, bi, j, c0, heads, kstep int, c []float32, ldc int) {
	at := (bi*v.sCap+j)*v.kvw + c0
	if v.q != nil {
		scoresRowQ8(hd, q, v.q[at:], v.s[at/qBlock:], heads, kstep, c, ldc, 2*v.kvw)
		return
	}
	scoresRowF16(hd, q, v.h[at:], heads, kstep, c, ldc, 2*v.kvw)
}

// accRows adds p[h·pstep+j]·(value j of head h) to out[h·hd:] for rows rows of batch row bi
// from s0, heads heads whose values start at column c0, vstep columns apart (inRows),
// prefetching the next block of rows.
func (v kvRows) accRows(hd int, p []float32, pstep, bi, s0, rows, c0, heads, vstep int, out []float32) {
	at := (bi*v.sCap+s0)*v.kvw + c0
	if v.q != nil {
		accRowsQ8(hd, p, pstep, v.q[at:], v.s[at/qBlock:], v.kvw, rows, heads, vstep, out, attnKeyBlock*v.kvw)
		return
	}
	accRowsF16(hd, p, pstep, v.h[at:], v.kvw, rows, heads, vstep, out, attnKeyBlock*v.kvw)
}

// widenCache returns rows [0, n) of every batch row of the F16 or Q8 cache v as float32
// [batch, n, kvw] in the Backend's kept buffer slot (0 keys, 1 values). Like the BF16 mode's
// held slots, each grows to the largest prompt and stays: a prompt's layers need one at a
// time, and fresh megabytes per layer would pile up as garbage the backend's collections do
// not see, until the heap doubles the weights (GOGC).
func (b *Backend) widenCache(slot int, v kvRows, batch, n int) []float32 {
	kvw := v.kvw
	if cap(b.kvHold[slot]) < batch*n*kvw {
		b.kvHold[slot] = make([]float32, batch*n*kvw)
	}
	out := b.kvHold[slot][:batch*n*kvw]
	rows := batch * n
	b.pool.run(rows, b.pool.grain(rows, kvw), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			at := (r/n*v.sCap + r%n) * kvw
			if v.q != nil {
				dequantizeRow(out[r*kvw:(r+1)*kvw], compute.Q8, v.q, v.s, nil, at/qBlock)
				continue
			}
			widenF16(b.simd, out[r*kvw:(r+1)*kvw], v.h[at:at+kvw])
		}
	})
	return out
}

// attendOne is Attention for one query per batch row (a decoding step). Walking one head's
// keys reads 512 bytes of every 8 KB cache row, which the hardware prefetchers do not
// follow; here each pass reads the cache rows front to back instead: the scores of every
// head for a block of keys, then the softmax of each head, then the weighted sums of the
// values by groups of heads, each walking the keys in blocks. Every score and every sum is
// the one rowsDirect computes (the same dot products; p_j·v_j added in order of j), so the
// results are bit for bit the same. An F16 or Q8 cache is read the same way, each KV head's
// block of rows widened (dequantized) into an L1-sized buffer just before the kernel reads
// it, except on the AVX-512 set: there the scores read it a row (every head) at a time and
// the weighted sums a block of rows at a time, each head's sums in registers (scoresRowF16
// and accRowsF16, scoresRowQ8 and accRowsQ8, which widen or dequantize in registers and
// prefetch the rows ahead), since a head's block widened into a buffer jumps a page at each
// row, and the hardware prefetchers do not follow that. Where a
// task has every head of a batch row (a guided step's two rows on two threads, or one
// thread), one pass per task computes its scores, softmax and sums, which saves the two
// passes' waits.
func (b *Backend) attendOne(g attnGeometry, d, qs []float32, ks, vs kvRows, batch int) {
	hd := g.HeadDim
	qw := g.Heads * hd
	group := g.Heads / g.KVHeads
	n := g.keys(0)
	simd := b.simd != simdNone
	scores := b.getScratch(batch * g.Heads * n)
	defer b.putScratch(scores)
	// Where the kernels for it run, an F16 or Q8 cache is read without a widened copy: the
	// scores a row (every head) at a time, the weighted sums a block of rows at a time.
	inRows := ks.inRows(b.simd, hd)
	// Groups of heads per task of the weighted sums (in one pass, of the scores and softmax too):
	// a group's slice of a cache row is read front to back, and each batch row has a task per
	// thread, or, where the rows share out evenly over the threads (a guided step's two rows
	// on two), is one task that reads whole cache rows, one stream instead of a part of
	// each; the grouping does not change any score or sum.
	per := max(1, (g.Heads+b.pool.threads-1)/max(1, b.pool.threads))
	if batch%b.pool.threads == 0 {
		per = g.Heads
	}
	groups := (g.Heads + per - 1) / per
	// One pass per task only where a task has every head, and so reads whole cache rows: a
	// group of heads reads a part of each row, and its scores read that way were the slowest
	// part of a step (README, "KV cache in F16").
	fused := inRows && groups == 1
	if !fused {
		b.attnScores(g, qs, ks, scores, batch, inRows)
		rows := batch * g.Heads
		b.pool.run(rows, b.pool.grain(rows, 8*n), func(lo, hi int) {
			for r := lo; r < hi; r++ {
				b.softmaxDecode(scores[r*n:(r+1)*n], n, g.Scale)
			}
		})
	}
	b.pool.run(batch*groups, 1, func(lo, hi int) {
		var buf []float32
		if vs.f == nil && !inRows {
			buf = b.getScratch(attnKeyBlock * hd)
			defer b.putScratch(buf)
		}
		for task := lo; task < hi; task++ {
			bi, h0 := task/groups, (task%groups)*per
			h1 := min(h0+per, g.Heads)
			if fused {
				scoresRows(g, qs, ks, scores, n, bi, h0, h1, 0, n)
				for r := bi*g.Heads + h0; r < bi*g.Heads+h1; r++ {
					b.softmaxDecode(scores[r*n:(r+1)*n], n, g.Scale)
				}
			}
			clear(d[bi*qw+h0*hd : bi*qw+h1*hd])
			if inRows {
				// A block of rows at a time, each head's sums in registers over the block; the
				// kernel prefetches the same rows of the next block.
				for s0 := 0; s0 < n; s0 += attnKeyBlock {
					rows := min(attnKeyBlock, n-s0)
					// The heads of each KV head, in order; every sum still adds j in order.
					for hs := h0; hs < h1; {
						kh := hs / group
						he := min(h1, (kh+1)*group)
						vstep := 0
						if group == 1 {
							he, vstep = h1, hd
						}
						vs.accRows(hd, scores[(bi*g.Heads+hs)*n+s0:], n, bi, s0, rows, kh*hd, he-hs, vstep, d[bi*qw+hs*hd:])
						hs = he
					}
				}
				continue
			}
			for s0 := 0; s0 < n; s0 += attnKeyBlock {
				s1 := min(s0+attnKeyBlock, n)
				var vrows []float32
				ld, kh := 0, -1
				for h := h0; h < h1; h++ {
					if h/group != kh {
						kh = h / group
						vrows, ld = vs.block(b.simd, buf, bi, s0, s1, kh*hd, hd)
					}
					p := scores[(bi*g.Heads+h)*n+s0 : (bi*g.Heads+h)*n+s1]
					out := d[bi*qw+h*hd : bi*qw+(h+1)*hd]
					if simd && hd%8 == 0 {
						accRowsSIMD(out, p, vrows, ld)
						continue
					}
					for j, pj := range p {
						v := vrows[j*ld : j*ld+hd]
						for i, x := range v {
							out[i] += float32(pj * x) // rounded, not fused, as in rowsDirect
						}
					}
				}
			}
		}
	})
}

// attnScores sets attendOne's scores, every head of a block of keys at a time, a block a
// chunk: the pool gives each thread a run of consecutive blocks, so each thread reads whole
// cache rows, front to back, as one stream, where blocks dealt out one at a time had each
// thread skip the others' (README, "KV cache in F16"), and a thread that ends its run early
// takes blocks from the end of another's.
func (b *Backend) attnScores(g attnGeometry, qs []float32, ks kvRows, scores []float32, batch int, inRows bool) {
	hd := g.HeadDim
	qw := g.Heads * hd
	group := g.Heads / g.KVHeads
	n := g.keys(0)
	simd := b.simd != simdNone
	kb := (n + attnKeyBlock - 1) / attnKeyBlock
	tasks := batch * kb
	b.pool.run(tasks, 1, func(lo, hi int) {
		if inRows {
			for task := lo; task < hi; task++ {
				bi, s0 := task/kb, (task%kb)*attnKeyBlock
				scoresRows(g, qs, ks, scores, n, bi, 0, g.Heads, s0, min(s0+attnKeyBlock, n))
			}
			return
		}
		var buf []float32
		if ks.f == nil {
			buf = b.getScratch(attnKeyBlock * hd)
			defer b.putScratch(buf)
		}
		for task := lo; task < hi; task++ {
			bi, s0 := task/kb, (task%kb)*attnKeyBlock
			s1 := min(s0+attnKeyBlock, n)
			var krows []float32
			ld, kh := 0, -1
			for h := range g.Heads {
				if h/group != kh { // heads of a group share their keys
					kh = h / group
					krows, ld = ks.block(b.simd, buf, bi, s0, s1, kh*hd, hd)
				}
				q := qs[bi*qw+h*hd : bi*qw+(h+1)*hd]
				row := scores[(bi*g.Heads+h)*n : (bi*g.Heads+h+1)*n]
				if simd {
					tileSIMD(b.simd, row[s0:], n, q, qw, krows, ld, 1, s1-s0, hd, false)
					continue
				}
				for j := s0; j < s1; j++ {
					kr := krows[(j-s0)*ld:]
					row[j] = dot1x1(0, q, kr[:hd])
				}
			}
		}
	})
}

// scoresRows sets the scores of heads [h0, h1) of batch row bi for keys [s0, s1) of an F16
// or Q8 cache (n keys in all), a cache row at a time, widening or dequantizing in registers
// and prefetching two rows ahead (kvRows.inRows).
func scoresRows(g attnGeometry, qs []float32, ks kvRows, scores []float32, n, bi, h0, h1, s0, s1 int) {
	hd := g.HeadDim
	qw := g.Heads * hd
	group := g.Heads / g.KVHeads
	for j := s0; j < s1; j++ {
		sc := scores[bi*g.Heads*n+j:]
		// The heads of each KV head share its key, as in attendOne's sums.
		for hs := h0; hs < h1; {
			kh := hs / group
			he, kstep := min(h1, (kh+1)*group), 0
			if group == 1 {
				he, kstep = h1, hd
			}
			ks.scoresRow(hd, qs[bi*qw+hs*hd:], bi, j, kh*hd, he-hs, kstep, sc[hs*n:], n)
			hs = he
		}
	}
}

// softmaxDecode is a decoding step's softmax of a row of n scores: in the BF16 mode it sums
// the exponentials in 8 lanes, as that mode's many-row attention does (softmaxRowWide; one
// in-order chain took a fifth of a step's attention), else in order (softmaxRow).
func (b *Backend) softmaxDecode(row []float32, n int, scale float32) {
	if b.bf16 {
		softmaxRowWide(row, n, scale)
		return
	}
	softmaxRow(row, n, scale, b.simd != simdNone)
}

// rowsDirect handles a few query rows (decoding) straight from the cache rows, without the
// packing that only pays off over many rows.
func (b *Backend) rowsDirect(g attnGeometry, d, qs, ks, vs []float32, bi, h, t0, t1 int) {
	hd := g.HeadDim
	qw, kvw := g.Heads*hd, g.KVHeads*hd
	kh := h / (g.Heads / g.KVHeads)
	base := bi*g.sCap*kvw + kh*hd
	scores := make([]float32, g.keys(t1-1))
	for ti := t0; ti < t1; ti++ {
		n := g.keys(ti)
		q := qs[(bi*g.t+ti)*qw+h*hd : (bi*g.t+ti)*qw+(h+1)*hd]
		if b.simd != simdNone {
			tileSIMD(b.simd, scores, n, q, qw, ks[base:], kvw, 1, n, hd, false)
		} else {
			for j := range n {
				scores[j] = dot1x1(0, q, ks[base+j*kvw:base+j*kvw+hd])
			}
		}
		softmaxRow(scores[:n], n, g.Scale, b.simd != simdNone)
		out := d[(bi*g.t+ti)*qw+h*hd : (bi*g.t+ti)*qw+(h+1)*hd]
		clear(out)
		if b.simd != simdNone && hd%8 == 0 {
			accRowsSIMD(out, scores[:n], vs[base:], kvw)
			continue
		}
		for j, pj := range scores[:n] {
			v := vs[base+j*kvw : base+j*kvw+hd]
			for i, x := range v {
				out[i] += float32(pj * x) // rounded, not fused: the same on every architecture
			}
		}
	}
}

// softmaxRowWide is softmaxRow for the BF16 mode: the same steps, but the passes over the
// row run as vector kernels (scaleMax8, expSum8, scale8), whose sum keeps 8 lanes rather
// than softmaxRow's one in-order float32 chain (4 cycles an element), which bounded
// many-row attention once its products ran on AMX. Its sum rounds differently, within the
// mode's tolerance; the last n%8 values are added after the lanes.
func softmaxRowWide(scores []float32, n int, scale float32) {
	n8 := n &^ 7
	m := scaleMax8(scores[:n8], scale)
	for j := n8; j < n; j++ {
		scores[j] *= scale
		m = max(m, scores[j])
	}
	sum := expSum8(scores[:n8], m)
	expShiftSIMD(scores[n8:n], m)
	for _, e := range scores[n8:n] {
		sum += e
	}
	inv := 1 / sum
	scale8(scores[:n8], inv)
	for j := n8; j < n; j++ {
		scores[j] *= inv
	}
	clear(scores[n:])
}
