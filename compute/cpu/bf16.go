package cpu

import (
	"math"
	"unsafe"
)

// The BF16 mode of the many-row products (PrecisionBF16, doc.go): activations rounded to
// BF16, weights BF16, pair products summed in float32 by VDPBF16PS micro-kernels. Every
// product is one kernel call over the whole of K: the rows of one operand (BF16) are
// broadcast a pair at a time against a packed panel of up to bf16Panel rows of the other,
// [pair][row] as uint32, so each output is one in-order sum whatever the tiling or thread
// count. Linear broadcasts the weight rows (as stored, or converted once per task) against
// panels of x, except over weights in row groups (gemmBF16Groups), whose groups pack into
// panels straight from their codes; Conv2D broadcasts the weights against im2col panels.

const (
	bf16Panel   = 48      // rows of a packed panel: the widest micro-kernel's 3 vectors of 16
	bf16W       = 8       // w rows per micro-kernel call
	bf16Block   = 64      // w rows per Linear task, a multiple of bf16W
	bf16L2      = 1 << 20 // bytes of packed panels a Linear task keeps in L2
	bf16MinRows = 16      // Linear and Attention use the BF16 kernels from this many rows (quantized weights: qFewRows, int8AllRows)
)

// Precision selects the numerics of the many-row products (Linear with at least
// bf16MinRows rows, Conv2D, many-row Attention).
type Precision int

const (
	// PrecisionExact keeps every product in float32, golden-exact (doc.go).
	PrecisionExact Precision = iota
	// PrecisionBF16 rounds the activations to BF16 and multiplies them with BF16 weights
	// (VDPBF16PS, float32 sums) on CPUs with AVX512_BF16; elsewhere it is PrecisionExact.
	PrecisionBF16
)

// String is the name compute.Options.Precision uses for p.
func (p Precision) String() string {
	if p == PrecisionBF16 {
		return "bf16"
	}
	return "exact"
}

// WithPrecision picks the numerics of the many-row products; PrecisionBF16 falls back to
// PrecisionExact on a CPU without AVX512_BF16 or with a narrower kernel set than AVX-512.
func WithPrecision(p Precision) Option { return func(o *options) { o.precision = p } }

// Precision names the numerics in use: "bf16" when the BF16 kernels run, else "exact".
func (b *Backend) Precision() string {
	if b.bf16 {
		return PrecisionBF16.String()
	}
	return PrecisionExact.String()
}

// bf16Bits rounds f to BF16 to nearest even with denormals flushed to zero, as
// VCVTNE2PS2BF16 does (NaN stays a quiet NaN).
func bf16Bits(f float32) uint16 {
	u := math.Float32bits(f)
	switch {
	case u&0x7f800000 == 0:
		return uint16(u>>16) & 0x8000
	case u&0x7fffffff > 0x7f800000:
		return uint16(u>>16) | 0x40
	}
	return uint16((u + 0x7fff + (u >> 16 & 1)) >> 16)
}

// toBF16 rounds src into dst (len(dst) == len(src)) like bf16Bits.
func toBF16(dst []uint16, src []float32) {
	n32 := len(src) &^ 31
	if n32 > 0 {
		cvtBF16(dst[:n32], src[:n32])
	}
	for i := n32; i < len(src); i++ {
		dst[i] = bf16Bits(src[i])
	}
}

// packPanel writes rows r (len(rows) ≤ width) of length 2·kp, already BF16, as the packed
// panel p[q*width+i] = pair q of row i (low half the even element); rows past len(rows) are
// zero.
func packPanel(p []uint32, rows [][]uint16, width, kp int) {
	p = p[:kp*width]
	for i, r := range rows {
		r32 := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(r))), kp)
		for q, v := range r32 {
			p[q*width+i] = v
		}
	}
	for i := len(rows); i < width; i++ {
		for q := range kp {
			p[q*width+i] = 0
		}
	}
}

// panelWidth is the packed width for rows rows: 16, 32 or 48.
func panelWidth(rows int) int { return min(bf16Panel, (rows+15)&^15) }

// held returns the Backend's kept buffer slot (0 or 1) with at least n floats: the BF16
// mode's whole-operand copies (rounded activations, conv weights and inputs) are tens of
// MB, and fresh ones per op would pile up as garbage until the heap doubles the weights'
// size (GOGC), so each slot grows to the largest use and stays. Ops run one at a time
// (Backend's contract), so the slots need no lock.
func (b *Backend) held(slot, n int) []float32 {
	if cap(b.hold[slot]) < n {
		b.hold[slot] = make([]float32, n)
	}
	return b.hold[slot][:n]
}

// heldU16 is held reinterpreted: slot's buffer as n uint16 values.
func (b *Backend) heldU16(slot, n int) []uint16 {
	f := b.held(slot, (n+1)/2)
	return unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(f))), n)
}

// heldU32 is held reinterpreted: slot's buffer as n uint32 values.
func (b *Backend) heldU32(slot, n int) []uint32 {
	f := b.held(slot, n)
	return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(f))), n)
}

// getU16 and getU32 are getScratch reinterpreted: buffers of n uint16 or uint32 values.
func (b *Backend) getU16(n int) []uint16 {
	f := b.getScratch((n + 1) / 2)
	return unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(f))), n)
}

func (b *Backend) putU16(s []uint16) {
	b.putScratch(unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), cap(s)/2))
}

func (b *Backend) getU32(n int) []uint32 {
	f := b.getScratch(n)
	return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(f))), n)
}

func (b *Backend) putU32(s []uint32) {
	b.putScratch(unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), cap(s)))
}

// packRowsBF16 rounds rows [r0, r1) of x (k apart, k even) to BF16 and packs them into a
// panel of panelWidth(r1-r0) at p; tmp holds bf16Panel·k values.
func packRowsBF16(p []uint32, x []float32, k, r0, r1 int, tmp []uint16) {
	rows := make([][]uint16, 0, bf16Panel)
	for r := r0; r < r1; r++ {
		row := tmp[(r-r0)*k : (r-r0+1)*k]
		toBF16(row, x[r*k:(r+1)*k])
		rows = append(rows, row)
	}
	packPanel(p, rows, panelWidth(r1-r0), k/2)
}

// gemmFast is Linear in the BF16 mode (k even) on the Backend's BF16 kernels; both give
// the same bits.
func (b *Backend) gemmFast(d, x []float32, m, k, n int, wf []float32, wh []uint16, bf16 bool, wq *qweight, bias []float32) {
	if b.amx {
		if bf16 && m <= amxInPlaceRows && n%amxRows == 0 && k%amxK == 0 {
			b.gemmAMXW(d, x, m, k, n, wh, bias)
			return
		}
		b.gemmAMX(d, x, m, k, n, wf, wh, bf16, wq, bias)
		return
	}
	if b.bf16dp {
		b.gemmBF16(d, x, m, k, n, wf, wh, bf16, wq, bias)
		return
	}
	b.gemmFMA(d, x, m, k, n, wf, wh, bf16, wq, bias)
}

// gemmBF16 is Linear in the BF16 mode (k even) on the VDPBF16PS kernels: x is packed into
// panels of bf16Panel rows once, then tasks of bf16Block weight rows × a few panels run the
// micro-kernels, each w row group broadcast against a panel while it is in L2. Weights
// stored as BF16 are read in place, and a task takes the panels that fit bf16L2; other
// weights (F32, F16, Q8, Q4) are rounded to BF16 once per task, which then takes every
// panel, as converting them again for each few panels cost more than reading the panels from
// L3. A task gathers its outputs in an L1 block and writes each output row's part at once:
// storing each kernel call's 8 columns into 48 rows of d, 4 or 8 KB apart and so in one L1
// set, cost a sixth of the op. The packed input and the tasks' buffers are kept (held,
// taskBuffers), as the other fast products' are.
func (b *Backend) gemmBF16(d, x []float32, m, k, n int, wf []float32, wh []uint16, bf16 bool, wq *qweight, bias []float32) {
	if wq != nil && wq.groups {
		b.gemmBF16Groups(d, x, m, k, n, wq, bias)
		return
	}
	kp := k / 2
	panels := (m + bf16Panel - 1) / bf16Panel
	xp := b.heldU32(0, panels*bf16Panel*kp)
	packBufs := b.taskBuffers(carved(bf16Panel * k / 2))
	b.pool.run(panels, 1, func(lo, hi int) {
		i, cv := packBufs.get()
		defer packBufs.put(i)
		tmp := cv.u16(bf16Panel * k)
		for pi := lo; pi < hi; pi++ {
			r0, r1 := pi*bf16Panel, min((pi+1)*bf16Panel, m)
			packRowsBF16(xp[pi*bf16Panel*kp:], x, k, r0, r1, tmp)
		}
	})
	per := panels
	if bf16 {
		per = max(1, bf16L2/(bf16Panel*k*2))
	}
	rowTasks := (panels + per - 1) / per
	colTasks := (n + bf16Block - 1) / bf16Block
	var convSize int
	if !bf16 {
		convSize = bf16Block * k / 2
	}
	bufs := b.taskBuffers(carved(convSize, k, bf16Panel*bf16Block))
	b.pool.run(rowTasks*colTasks, 1, func(lo, hi int) {
		var tile [bf16W * bf16Panel]float32
		i, cv := bufs.get()
		defer bufs.put(i)
		conv, f, out := cv.u16(2*convSize), cv.f32(k), cv.f32(bf16Panel*bf16Block)
		for task := lo; task < hi; task++ {
			j0, p0 := (task%colTasks)*bf16Block, (task/colTasks)*per
			j1, p1 := min(j0+bf16Block, n), min(p0+per, panels)
			w := conv
			if bf16 {
				w = wh[j0*k : j1*k]
			} else {
				for j := j0; j < j1; j++ {
					src := f
					switch {
					case wq != nil:
						wq.dequant(f, j, 0)
					case wf != nil:
						src = wf[j*k : (j+1)*k]
					default:
						widen(f, wh[j*k:(j+1)*k], false)
					}
					toBF16(conv[(j-j0)*k:(j-j0+1)*k], src)
				}
			}
			cols := j1 - j0
			for pi := p0; pi < p1; pi++ {
				r0, r1 := pi*bf16Panel, min((pi+1)*bf16Panel, m)
				width := panelWidth(r1 - r0)
				for g := j0; g < j1; g += bf16W {
					rows := min(bf16W, j1-g)
					dotPairs(kp, w[(g-j0)*k:], k, rows, xp[pi*bf16Panel*kp:], width, tile[:])
					for l := range r1 - r0 {
						o := out[l*bf16Block+g-j0:]
						for i := range rows {
							o[i] = tile[i*width+l]
						}
					}
				}
				for r := r0; r < r1; r++ {
					dr := d[r*n+j0 : r*n+j1]
					copy(dr, out[(r-r0)*bf16Block:(r-r0)*bf16Block+cols])
					addBias(dr, bias, j0)
				}
			}
		}
	})
}

// gemmBF16Groups is gemmBF16 for Q8 and Q4 weights in row groups (quant_groups.go), with
// the operands' roles swapped: each task packs three groups (bf16Panel weight rows) straight
// from their codes into a panel of BF16 pairs (packGroupPairs, one vector pass instead of
// dequantizing row by row, a gather of 4 bytes per 64, and rounding), and the rows of x,
// rounded to BF16 once, are broadcast against it bf16W at a time; each output row's part
// is then contiguous. Every product is exact and the pairs are summed in the same order
// whichever operand is broadcast, so the bits are gemmBF16's.
func (b *Backend) gemmBF16Groups(d, x []float32, m, k, n int, wq *qweight, bias []float32) {
	kp := k / 2
	xr := b.heldU16(0, m*k)
	b.pool.run(m, max(1, (1<<15)/max(k, 1)), func(lo, hi int) {
		toBF16(xr[lo*k:hi*k], x[lo*k:hi*k])
	})
	tasks := (n + bf16Panel - 1) / bf16Panel
	bufs := b.taskBuffers(kp * bf16Panel)
	b.pool.run(tasks, 1, func(lo, hi int) {
		var tile [bf16W * bf16Panel]float32
		i, cv := bufs.get()
		defer bufs.put(i)
		panel := cv.u32(kp * bf16Panel)
		for task := lo; task < hi; task++ {
			j0 := task * bf16Panel
			j1 := min(j0+bf16Panel, n) // whole groups: n is a multiple of qGroupRows
			width := j1 - j0
			for g := j0; g < j1; g += qGroupRows {
				packGroupPairs(wq, g, panel[g-j0:], width, qGroupRows*width)
			}
			for r0 := 0; r0 < m; r0 += bf16W {
				rows := min(bf16W, m-r0)
				dotPairs(kp, xr[r0*k:], k, rows, panel, width, tile[:])
				for r := range rows {
					out := d[(r0+r)*n+j0 : (r0+r)*n+j1]
					copy(out, tile[r*width:])
					addBias(out, bias, j0)
				}
			}
		}
	})
}

// bfValue widens BF16 h, reading denormals as zero as the BF16 instructions do.
func bfValue(h uint16) float32 {
	if h&0x7f80 == 0 {
		return 0
	}
	return math.Float32frombits(uint32(h) << 16)
}

// dotPairsGo is the Go model of the micro-kernels: c[i*width+l] = Σ_q w_i·x_l over pairs
// in order of q, each pair added as VDPBF16PS adds it (odd product, then even, each a
// float32 add of an exact product; BF16 denormals read as zero).
func dotPairsGo(kp int, w []uint16, ldw, rows int, x []uint32, width int, c []float32) {
	for i := range bf16W {
		r := w[min(i, rows-1)*ldw:]
		for l := range width {
			var s float32
			for q := range kp {
				xv := x[q*width+l]
				s += float32(bfValue(r[2*q+1]) * bfValue(uint16(xv>>16)))
				s += float32(bfValue(r[2*q]) * bfValue(uint16(xv)))
			}
			c[i*width+l] = s
		}
	}
}

// The FMA form of the BF16 mode: the same arithmetic as VDPBF16PS (exact products of BF16
// values, float32 sums in pair order, fmaPairsGo) with 16-float fused multiply-adds, which
// Intel's CPUs issue twice as often as VDPBF16PS (dotBF16Fast). Linear packs each task's
// weight panel (fmaCols rows, widened or rounded to BF16, K block by K block) as [k][col]
// and broadcasts the BF16-rounded activations against it.
const (
	fmaCols  = 64  // panel width: the micro-kernel's 4 vectors of 16
	fmaBlock = 128 // weight rows per Linear task: 2 panels
	fmaK     = 128 // K block (even): a panel block of fmaCols×fmaK floats (32 KB) stays in L1
	fmaRows  = 6   // rows of x per micro-kernel call (the generator's fmaRows)
)

// roundRowsBF16 sets y[i] = x[i] rounded to BF16 (and widened back), like bf16Bits.
func roundRowsBF16(y, x []float32) {
	copy(y, x)
	roundBF16(y)
}

// packPanelFMA writes rows j0..j1 (at most fmaCols) of a weight, elements k0..k0+kl, as
// the panel p[kk*fmaCols+jj] = bf16(w[j0+jj][k0+kk]); missing columns are zero. BF16
// weights (wh, ldw apart) are read as they are; for others row gives row j's elements
// k0..k0+kl as float32, rounded here into tmp16 (16·kl values) 16 rows at a time. Groups of
// 16 rows go through the vector transpose (packBF16Rows16), the rest through a loop.
func packPanelFMA(p []float32, wh []uint16, ldw, j0, j1, kl int, row func(j int, dst []float32), tmp []float32, tmp16 []uint16) {
	if kl == 0 {
		return
	}
	p = p[:kl*fmaCols]
	for jj0 := 0; jj0 < fmaCols; jj0 += 16 {
		rows := min(16, j1-j0-jj0)
		if rows <= 0 {
			for kk := range kl {
				clear(p[kk*fmaCols+jj0 : kk*fmaCols+fmaCols])
			}
			break
		}
		src, ld := wh, ldw
		if wh != nil {
			src = wh[(j0+jj0)*ldw:]
		} else {
			src, ld = tmp16, kl
			for r := range rows {
				row(j0+jj0+r, tmp[:kl])
				toBF16(tmp16[r*kl:(r+1)*kl], tmp[:kl])
			}
		}
		if rows == 16 && packBF16Rows16(p[jj0:], src, ld, kl) {
			continue
		}
		for jj := range 16 {
			q := p[jj0+jj:]
			if jj >= rows {
				for kk := range kl {
					q[kk*fmaCols] = 0
				}
				continue
			}
			for kk, h := range src[jj*ld : jj*ld+kl] {
				q[kk*fmaCols] = math.Float32frombits(uint32(h) << 16)
			}
		}
	}
}

// gemmFMA is Linear in the BF16 mode on the FMA micro-kernels (k even).
func (b *Backend) gemmFMA(d, x []float32, m, k, n int, wf []float32, wh []uint16, bf16 bool, wq *qweight, bias []float32) {
	xr := b.held(0, m*k)
	b.pool.run(m, max(1, (1<<15)/max(k, 1)), func(lo, hi int) {
		roundRowsBF16(xr[lo*k:hi*k], x[lo*k:hi*k])
	})
	row := func(j, k0 int, dst []float32) {
		switch {
		case wq != nil:
			// Whole blocks: fmaK and every row length are multiples of qBlock.
			wq.dequant(dst, j, k0/qBlock)
		case wf != nil:
			copy(dst, wf[j*k+k0:])
		default:
			widen(dst, wh[j*k+k0:j*k+k0+len(dst)], bf16)
		}
	}
	tasks := (n + fmaBlock - 1) / fmaBlock
	b.pool.run(tasks, 1, func(lo, hi int) {
		panels := b.getScratch(fmaBlock / fmaCols * fmaK * fmaCols)
		defer b.putScratch(panels)
		var tmp [fmaK]float32
		var tmp16 [16 * fmaK]uint16
		var edge []float32 // the last, partial panel's columns, all rows
		for task := lo; task < hi; task++ {
			j0, j1 := task*fmaBlock, min((task+1)*fmaBlock, n)
			for k0 := 0; k0 < k; k0 += fmaK {
				kl := min(fmaK, k-k0)
				for pj := j0; pj < j1; pj += fmaCols {
					var w16 []uint16
					if bf16 {
						w16 = wh[k0:]
					}
					packPanelFMA(panels[(pj-j0)/fmaCols*fmaK*fmaCols:], w16, k, pj, min(pj+fmaCols, j1), kl,
						func(j int, dst []float32) { row(j, k0, dst) }, tmp[:], tmp16[:])
				}
				// Panel by panel, so the one in use stays in L1 while every row block
				// passes it.
				for pj := j0; pj < j1; pj += fmaCols {
					p := panels[(pj-j0)/fmaCols*fmaK*fmaCols:]
					for i0 := 0; i0 < m; i0 += fmaRows {
						rows := min(fmaRows, m-i0)
						if pj+fmaCols <= n {
							fmaPairs(kl/2, xr[i0*k+k0:], k, rows, p, d[i0*n+pj:], n, k0 > 0)
							continue
						}
						if edge == nil {
							edge = b.getScratch(m * fmaCols)
							defer b.putScratch(edge)
						}
						fmaPairs(kl/2, xr[i0*k+k0:], k, rows, p, edge[i0*fmaCols:], fmaCols, k0 > 0)
					}
				}
			}
			for i := range m {
				if j1 == n && edge != nil {
					pj := (n - 1) / fmaCols * fmaCols
					copy(d[i*n+pj:(i+1)*n], edge[i*fmaCols:])
				}
				addBias(d[i*n+j0:i*n+j1], bias, j0)
			}
		}
	})
}

// fmaPairsGo is the Go model of the FMA micro-kernels: c[i*ldc+j] (+)= Σ_k x_i[k]·p[k][j]
// over k < 2·kp in the order 1, 0, 3, 2, …, each term a fused multiply-add.
func fmaPairsGo(kp int, x []float32, ldx, rows int, p []float32, c []float32, ldc int, acc bool) {
	for i := range rows {
		for j := range fmaCols {
			var s float32
			if acc {
				s = c[i*ldc+j]
			}
			for q := range kp {
				for _, kk := range []int{2*q + 1, 2 * q} {
					s = float32(math.FMA(float64(x[i*ldx+kk]), float64(p[kk*fmaCols+j]), float64(s)))
				}
			}
			c[i*ldc+j] = s
		}
	}
}

// convFast is Conv2D in the BF16 mode on the FMA micro-kernels: the weights are rounded to
// BF16 once (rows padded to an even length), each task builds the transposed im2col panel
// of fmaCols output pixels, K block by K block, and rounds it to BF16, and every block of
// fmaRows output channels is broadcast against it; pixels are contiguous in dst, so the
// kernels store into it directly. Rounding the panels rather than a copy of the input gives
// the same values without the copy, one image's input (75 MB for the VQ decoder's last
// stages), which stayed held after the first image.
func (b *Backend) convFast(d, xs, ws, bs []float32, n, cout, pix, kk int, geo convGeometry) {
	kp := (kk + 1) / 2
	ldw := 2 * kp
	chw := geo.cin * geo.h * geo.w
	if b.bf16dp {
		// The VDPBF16PS tiles take the weights as BF16 rows.
		w16 := b.heldU16(0, cout*ldw)
		for co := range cout {
			toBF16(w16[co*ldw:co*ldw+kk], ws[co*kk:(co+1)*kk])
			if ldw > kk {
				w16[co*ldw+kk] = 0
			}
		}
		for img := range n {
			b.convBF16Image(d[img*cout*pix:(img+1)*cout*pix], xs[img*chw:(img+1)*chw], w16, bs, cout, pix, kk, ldw, geo)
		}
		return
	}
	wr := b.held(0, cout*ldw)
	for co := range cout {
		roundRowsBF16(wr[co*ldw:co*ldw+kk], ws[co*kk:(co+1)*kk])
		if ldw > kk {
			wr[co*ldw+kk] = 0
		}
	}
	for img := range n {
		b.convFastImage(d[img*cout*pix:(img+1)*cout*pix], xs[img*chw:(img+1)*chw], wr, bs, cout, pix, kk, ldw, geo)
	}
}

// convBF16Image is convFastImage on the VDPBF16PS tiles, with the FMA tiles' bits: each
// task packs the im2col block of bf16Panel output pixels, the whole of K, as a panel of
// pairs, and every group of bf16W output channels (w16, the rounded weights as BF16 rows
// ldw apart) is broadcast against it; the tile's rows are output channels, contiguous in
// pixels as dst is. A full panel of one output row is packed by pairPanel, straight from the
// input where it reads no padding, else from a copy of the input rows it reads (strip); the
// others, and every panel where K is odd or the offsets do not fit an int32, fmaK rows at a
// time through im2colT (pairsT), whose copies, rounding and pairing in Go took longer than
// the products.
func (b *Backend) convBF16Image(d, in []float32, w16 []uint16, bs []float32, cout, pix, kk, ldw int, geo convGeometry) {
	kp := ldw / 2
	blocks := (pix + bf16Panel - 1) / bf16Panel
	// Row panels need an even K (whole pairs) and offsets that fit pairPanel48's int32; the
	// strip only a padded stride-1 convolution with rows as wide as a panel.
	rowPanels := kk%2 == 0 && int64(geo.cin)*int64(geo.h)*int64(geo.w) <= math.MaxInt32
	var offs, stripOffs []int32
	stripLen := 0
	if rowPanels {
		offs = geo.patchOffsets(kk, geo.h, geo.w)
		if geo.stride == 1 && geo.pad > 0 && geo.wo >= bf16Panel && int64(geo.cin)*int64(geo.kh)*int64(bf16Panel+geo.kw-1) <= math.MaxInt32 {
			stripOffs = geo.patchOffsets(kk, geo.kh, bf16Panel+geo.kw-1)
			stripLen = geo.cin * geo.kh * (bf16Panel + geo.kw - 1)
		}
	}
	bufs := b.taskBuffers(carved(fmaK*fmaCols, kp*bf16Panel, stripLen))
	b.pool.run(blocks, 1, func(lo, hi int) {
		i, cv := bufs.get()
		defer bufs.put(i)
		panel, xp, strip := cv.f32(fmaK*fmaCols), cv.u32(kp*bf16Panel), cv.f32(stripLen)
		var tile [bf16W * bf16Panel]float32
		for task := lo; task < hi; task++ {
			p0 := task * bf16Panel
			p1 := min(p0+bf16Panel, pix)
			width := panelWidth(p1 - p0)
			packed := false
			if at, inside, ok := geo.rowPanel(p0, p1); ok && rowPanels {
				if inside {
					packed = pairPanel(kp, in[at:], offs, xp)
				} else if stripLen > 0 {
					geo.strip(strip, in, p0)
					packed = pairPanel(kp, strip, stripOffs, xp)
				}
			}
			if !packed {
				geo.pairsT(xp[:kp*width], width, in, p0, p1, ldw, kk, panel)
			}
			for co := 0; co < cout; co += bf16W {
				rows := min(bf16W, cout-co)
				dotPairs(kp, w16[co*ldw:], ldw, rows, xp, width, tile[:])
				for r := range rows {
					storeChannel(d[(co+r)*pix+p0:(co+r)*pix+p1], tile[r*width:], bs, co+r)
				}
			}
		}
	})
}

// pairsT writes the packed panel (dotPairs) of output pixels p0..p1 through the float32
// panel (fmaK×fmaCols floats): im2colT fmaK patch values at a time, rounded to BF16, paired.
func (g convGeometry) pairsT(xp []uint32, width int, in []float32, p0, p1, ldw, kk int, panel []float32) {
	for k0 := 0; k0 < ldw; k0 += fmaK {
		kl := min(fmaK, ldw-k0)
		g.im2colT(panel[:kl*fmaCols], in, p0, p1, k0, kl, kk)
		roundBF16(panel[:kl*fmaCols])
		for q := range kl / 2 {
			lo, hi := panel[2*q*fmaCols:], panel[(2*q+1)*fmaCols:]
			dst := xp[(k0/2+q)*width : (k0/2+q+1)*width]
			for l := range dst {
				dst[l] = math.Float32bits(lo[l])>>16 | math.Float32bits(hi[l])&0xffff0000
			}
		}
	}
}

// patchOffsets returns, for each of the kk patch values (k over cin, ky, kx like the
// weight's columns), its offset from the patch's first value in an input of h rows of w
// floats per channel: increasing in k.
func (g convGeometry) patchOffsets(kk, h, w int) []int32 {
	offs := make([]int32, kk)
	khw := g.kh * g.kw
	for k := range offs {
		ci, r := k/khw, k%khw
		offs[k] = int32((ci*h+r/g.kw)*w + r%g.kw)
	}
	return offs
}

// rowPanel reports whether output pixels p0..p1 are a full panel (bf16Panel) within one
// output row, with stride 1 (ok); if so, whether its every patch value lies inside the input
// (no padding), and where in the input the first pixel's patch starts.
func (g convGeometry) rowPanel(p0, p1 int) (at int, inside, ok bool) {
	if g.stride != 1 || p1-p0 != bf16Panel || p0%g.wo+bf16Panel > g.wo {
		return 0, false, false
	}
	y0, x0 := p0/g.wo-g.pad, p0%g.wo-g.pad
	if y0 < 0 || x0 < 0 || y0+g.kh > g.h || x0+g.kw-1+bf16Panel > g.w {
		return 0, false, true
	}
	return y0*g.w + x0, true, true
}

// strip copies what the row panel from pixel p0 (rowPanel) reads of the input: for every
// channel the kh input rows, each bf16Panel+kw-1 values from the first pixel's first, with
// zeros where they are padding.
func (g convGeometry) strip(s, in []float32, p0 int) {
	y0, x0 := p0/g.wo-g.pad, p0%g.wo-g.pad
	sw := bf16Panel + g.kw - 1
	lo, hi := max(0, -x0), max(0, min(sw, g.w-x0))
	for ci := range g.cin {
		for ky := range g.kh {
			row := s[(ci*g.kh+ky)*sw:][:sw]
			iy := y0 + ky
			if uint(iy) >= uint(g.h) || hi <= lo {
				clear(row)
				continue
			}
			src := in[(ci*g.h+iy)*g.w:][:g.w]
			clear(row[:lo])
			copy(row[lo:hi], src[x0+lo:x0+hi])
			clear(row[hi:])
		}
	}
}

// storeChannel writes output channel co's pixels row from its tile row t (which may be row
// itself), plus its bias (bs nil: none), in one pass.
func storeChannel(row, t, bs []float32, co int) {
	if bs == nil {
		copy(row, t)
		return
	}
	storeBias(row, t[:len(row)], bs[co])
}

// convFastImage is convFast for one image: in is its input, wr the rounded weights (rows
// ldw apart), dst its [cout, pix] output.
func (b *Backend) convFastImage(d, in, wr, bs []float32, cout, pix, kk, ldw int, geo convGeometry) {
	blocks := (pix + fmaCols - 1) / fmaCols
	b.pool.run(blocks, 1, func(lo, hi int) {
		panel := b.getScratch(fmaK * fmaCols)
		defer b.putScratch(panel)
		var edge []float32 // the partial last block's outputs
		for task := lo; task < hi; task++ {
			p0 := task * fmaCols
			p1 := min(p0+fmaCols, pix)
			out, ldc := d[p0:], pix
			if p1-p0 < fmaCols {
				if edge == nil {
					edge = b.getScratch(cout * fmaCols)
					defer b.putScratch(edge)
				}
				out, ldc = edge, fmaCols
			}
			for k0 := 0; k0 < ldw; k0 += fmaK {
				kl := min(fmaK, ldw-k0)
				geo.im2colT(panel[:kl*fmaCols], in, p0, p1, k0, kl, kk)
				roundBF16(panel[:kl*fmaCols])
				for co := 0; co < cout; co += fmaRows {
					fmaPairs(kl/2, wr[co*ldw+k0:], ldw, min(fmaRows, cout-co), panel, out[co*ldc:], ldc, k0 > 0)
				}
			}
			for co := range cout {
				row := d[co*pix+p0 : co*pix+p1]
				src := row // the kernels stored into dst, but for the partial last block
				if p1-p0 < fmaCols {
					src = edge[co*fmaCols:]
				}
				storeChannel(row, src, bs, co)
			}
		}
	})
}

// im2colT writes the transposed im2col block of output pixels p0..p1 (at most fmaCols):
// p[kk*fmaCols+q] = patch value k0+kk of pixel p0+q (k over cin, ky, kx like the weight's
// columns; padding, k ≥ kmax and pixels past p1 read as 0). With stride 1 the pixels of one
// output row read a contiguous run of an input row, copied at once.
func (g convGeometry) im2colT(p, in []float32, p0, p1, k0, kl, kmax int) {
	type segment struct{ q0, q1, y0, x0 int } // pixels q0..q1 of one output row
	var segs [fmaCols]segment
	ns := 0
	for q := 0; q < p1-p0; {
		oy, ox := (p0+q)/g.wo, (p0+q)%g.wo
		n := min(g.wo-ox, p1-p0-q)
		segs[ns] = segment{q, q + n, oy*g.stride - g.pad, ox*g.stride - g.pad}
		ns++
		q += n
	}
	khw := g.kh * g.kw
	for kk := range kl {
		row := p[kk*fmaCols : (kk+1)*fmaCols]
		k := k0 + kk
		if k >= kmax {
			clear(row)
			continue
		}
		ci, r := k/khw, k%khw
		ky, kx := r/g.kw, r%g.kw
		plane := in[ci*g.h*g.w : (ci+1)*g.h*g.w]
		for _, sg := range segs[:ns] {
			out := row[sg.q0:sg.q1]
			iy := sg.y0 + ky
			if uint(iy) >= uint(g.h) {
				clear(out)
				continue
			}
			src := plane[iy*g.w : (iy+1)*g.w]
			ix := sg.x0 + kx
			if g.stride == 1 {
				// out[t] = src[ix+t] where 0 <= ix+t < w.
				lo, hi := max(0, -ix), min(len(out), g.w-ix)
				if hi <= lo {
					clear(out)
					continue
				}
				clear(out[:lo])
				copy(out[lo:hi], src[ix+lo:ix+hi])
				clear(out[hi:])
				continue
			}
			for t := range out {
				if x := ix + t*g.stride; uint(x) < uint(g.w) {
					out[t] = src[x]
				} else {
					out[t] = 0
				}
			}
		}
		clear(row[p1-p0:])
	}
}

// attnFastRows is the number of query rows whose scores attnFast holds at once.
const attnFastRows = 48

// attnFast is many-row Attention in the BF16 mode for head h of batch row bi: the head's
// keys (transposed, in blocks of fmaCols) and values (in column blocks of fmaCols) are
// packed once, rounded to BF16, then each block of query rows gets its scores, softmax
// (float32, as in the exact mode) and weighted sum of V from the FMA micro-kernels with
// BF16-rounded queries and probabilities. Keys past a row's causal limit have probability 0
// and padded keys and dimensions are zero, so each row's result does not depend on the
// block it is computed in.
func (b *Backend) attnFast(g attnGeometry, d, qs, ks, vs []float32, bi, h int) {
	hd := g.HeadDim
	qw, kvw := g.Heads*hd, g.KVHeads*hd
	kh := h / (g.Heads / g.KVHeads)
	n := g.keys(g.t - 1)
	np := (n + fmaCols - 1) / fmaCols * fmaCols
	hp := (hd + 1) &^ 1 // K of the score product, even
	dp := (hd + fmaCols - 1) / fmaCols * fmaCols
	kp := b.getScratch(np * hp) // [key block][hp][fmaCols]
	vp := b.getScratch(dp * np) // [dim block][np][fmaCols]
	qb := b.getScratch(attnFastRows * hp)
	sc := b.getScratch(attnFastRows * np)
	ob := b.getScratch(attnFastRows * dp)
	defer func() {
		for _, s := range [][]float32{kp, vp, qb, sc, ob} {
			b.putScratch(s)
		}
	}()
	clear(kp)
	clear(vp)
	base := bi*g.sCap*kvw + kh*hd
	row := ob[:hd] // ob's first row, free until the first block's output
	for j := range n {
		roundRowsBF16(row, ks[base+j*kvw:base+j*kvw+hd])
		blk, jj := j/fmaCols, j%fmaCols
		for i, x := range row {
			kp[(blk*hp+i)*fmaCols+jj] = x
		}
		roundRowsBF16(row, vs[base+j*kvw:base+j*kvw+hd])
		for db := 0; db < hd; db += fmaCols {
			copy(vp[(db/fmaCols*np+j)*fmaCols:], row[db:min(db+fmaCols, hd)])
		}
	}
	for t0 := 0; t0 < g.t; t0 += attnFastRows {
		t1 := min(t0+attnFastRows, g.t)
		rows := t1 - t0
		nb := (g.keys(t1-1) + fmaCols - 1) / fmaCols // key blocks this block needs
		ldS := nb * fmaCols
		for r := range rows {
			roundRowsBF16(qb[r*hp:r*hp+hd], qs[(bi*g.t+t0+r)*qw+h*hd:(bi*g.t+t0+r)*qw+(h+1)*hd])
			if hp > hd {
				qb[r*hp+hd] = 0
			}
		}
		for r0 := 0; r0 < rows; r0 += fmaRows {
			for blk := range nb {
				fmaPairs(hp/2, qb[r0*hp:], hp, min(fmaRows, rows-r0), kp[blk*hp*fmaCols:], sc[r0*ldS+blk*fmaCols:], ldS, false)
			}
		}
		for r := range rows {
			row := sc[r*ldS : (r+1)*ldS]
			softmaxRowWide(row, g.keys(t0+r), g.Scale)
			roundBF16(row)
		}
		for r0 := 0; r0 < rows; r0 += fmaRows {
			for db := range dp / fmaCols {
				fmaPairs(ldS/2, sc[r0*ldS:], ldS, min(fmaRows, rows-r0), vp[db*np*fmaCols:], ob[r0*dp+db*fmaCols:], dp, false)
			}
		}
		for r := range rows {
			copy(d[(bi*g.t+t0+r)*qw+h*hd:(bi*g.t+t0+r)*qw+(h+1)*hd], ob[r*dp:r*dp+hd])
		}
	}
}
