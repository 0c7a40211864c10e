package cpu

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// The BF16 mode on AMX (Intel's tile matrix unit, Sapphire Rapids and later): one
// TDPBF16PS multiplies a 16×32 BF16 tile by a 32×16 one into 16×16 float32 sums, 16 times
// the work of a 512-bit FMA in about 16 cycles. Its arithmetic is the BF16 mode's (exact
// products of BF16 values summed in float32) but not its order: Intel's pseudocode has the
// FMA tiles' order (pairs, odd product first, one rounding per product), yet the hardware
// adds the 32 products of a chunk more precisely than that and in an undocumented way. So
// the BF16 mode gives other bits on a CPU with AMX than without (the tests bound the error
// by two float32 roundings per chunk; measured about half the FMA order's), the same bits
// for any thread count or tiling, since each output is one kernel call's chunks in order.
//
// Operands are packed in tile order: an A block is amxRows rows of the activations rounded
// to BF16, chunk by chunk of amxK values (two 16-row tiles per chunk); a B panel is amxCols
// weight rows as pairs, transposed (two tiles of 16 pairs × 16 columns per chunk). K is
// zero-padded to whole chunks, rows and columns to whole blocks; the kernel stores a 32×32
// block of sums in place when all of it is wanted, else to scratch for the valid part.

const (
	amxK      = 32                 // BF16 values per chunk: one 64-byte tile row
	amxRows   = 32                 // activation rows per kernel call: two A tiles
	amxCols   = 32                 // outputs per kernel call: two B tiles
	amxChunkA = amxRows * amxK     // uint16 values of an A block per chunk
	amxChunkB = amxCols * amxK / 2 // uint32 pairs of a B panel per chunk
	amxPanels = 4                  // B panels (of amxCols weight rows) per Linear task

	// amxInPlaceRows is the most rows of x for which Linear reads BF16 weights in place
	// (gemmAMXW) rather than packing them (gemmAMX).
	amxInPlaceRows = 64
)

// amxConfig is the tile configuration of amxTile32: palette 1, tiles 0-7 each 16 rows of
// 64 bytes (C 0-3, A 4-5, B 6-7).
func amxConfig() [64]byte {
	var c [64]byte
	c[0] = 1
	for t := range 8 {
		binary.LittleEndian.PutUint16(c[16+2*t:], 64)
		c[48+t] = 16
	}
	return c
}

// taskBuffers lends each concurrently running task of one op its own n floats of the
// Backend's perTask buffer, which grows to the largest use and stays (like held's slots):
// the AMX and VDPBF16PS products need up to a few MB of panels per task in sizes that change
// with every K, which pooled scratch served by dropping buffers too small and allocating
// anew, a prompt's worth of garbage (docs/performance.md, "Kept buffers" in "What the speed
// rests on"). A pool runs at most threads tasks at once.
type taskBuffers struct {
	free chan int
	buf  []float32
	n    int
}

func (b *Backend) taskBuffers(n int) *taskBuffers {
	t := b.pool.threads
	if cap(b.perTask) < t*n {
		b.perTask = make([]float32, t*n)
	}
	tb := &taskBuffers{free: make(chan int, t), buf: b.perTask[:t*n], n: n}
	for i := range t {
		tb.free <- i
	}
	return tb
}

// get lends a part; the task gives its index back with put.
func (tb *taskBuffers) get() (int, carver) {
	i := <-tb.free
	return i, carver{tb.buf[i*tb.n : (i+1)*tb.n]}
}

func (tb *taskBuffers) put(i int) { tb.free <- i }

// carver cuts a lent part into typed buffers, each starting on a 64-byte line.
type carver struct{ rest []float32 }

func (c *carver) f32(n int) []float32 {
	s := c.rest[:n:n]
	c.rest = c.rest[(n+15)&^15:]
	return s
}

func (c *carver) u16(n int) []uint16 {
	f := c.f32((n + 1) / 2)
	return unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(f))), n)
}

func (c *carver) u32(n int) []uint32 {
	f := c.f32(n)
	return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(f))), n)
}

// carved is the number of floats carver's cuts of these many floats take.
func carved(sizes ...int) int {
	n := 0
	for _, s := range sizes {
		n += (s + 15) &^ 15
	}
	return n
}

// packPairsGo is the Go model of packPairs16: p[g*ldg+q*16+jj] = pair q of chunk g of row
// jj of w (rows ldw apart), its low half the even element.
func packPairsGo(n int, w []uint16, ldw int, p []uint32, ldg int) {
	for g := range n {
		for jj := range 16 {
			r := w[jj*ldw+g*amxK:]
			for q := range amxK / 2 {
				p[g*ldg+q*16+jj] = uint32(r[2*q]) | uint32(r[2*q+1])<<16
			}
		}
	}
}

// packRowsAMX writes rows 0..rows-1 of x (ldx apart, k values each) as an A block of kc
// chunks, rounded to BF16; missing rows and values past k are zero. tmp holds amxK values.
func packRowsAMX(a []uint16, x []float32, ldx, rows, k, kc int, tmp []uint16) {
	full := k / amxK
	tmp = tmp[:amxK]
	for i := range amxRows {
		at := (i/16)*512 + (i%16)*amxK
		if i >= rows {
			for g := range kc {
				clear(a[g*amxChunkA+at : g*amxChunkA+at+amxK])
			}
			continue
		}
		r := x[i*ldx : i*ldx+k]
		for g := range full {
			toBF16(a[g*amxChunkA+at:g*amxChunkA+at+amxK], r[g*amxK:(g+1)*amxK])
		}
		if full < kc {
			clear(tmp)
			toBF16(tmp[:k-full*amxK], r[full*amxK:])
			copy(a[full*amxChunkA+at:], tmp)
		}
	}
}

// packColsAMX writes weight rows j0..j1 (at most amxCols) as a B panel of kc chunks at p:
// BF16 weights (wh, k per row) are read as they are, the whole groups of a grouped Q8/Q4
// matrix (wq, else nil) straight from their codes, others through row (row j as k float32
// values into its dst), rounded to BF16 16 rows at a time in tmp16 (16·kc·amxK
// values) with tmp (k floats). Missing rows and values past k are zero.
func packColsAMX(p []uint32, wh []uint16, wq *qweight, k, kc, j0, j1 int, row func(j int, dst []float32), tmp []float32, tmp16 []uint16) {
	ld := kc * amxK
	for s := range 2 {
		r0 := j0 + 16*s
		rows := min(16, j1-r0)
		if rows == 16 && wh != nil && k == ld {
			packPairs16(kc, wh[r0*k:], k, p[s*256:], amxChunkB)
			continue
		}
		if rows == 16 && wq != nil && wq.groups && r0%qGroupRows == 0 {
			packGroupPairs(wq, r0, p[s*256:], 16, amxChunkB)
			continue
		}
		for r := range 16 {
			dst := tmp16[r*ld : (r+1)*ld]
			switch {
			case r >= rows:
				clear(dst)
				continue
			case wh != nil:
				copy(dst, wh[(r0+r)*k:(r0+r+1)*k])
			default:
				row(r0+r, tmp[:k])
				toBF16(dst[:k], tmp[:k])
			}
			clear(dst[k:])
		}
		packPairs16(kc, tmp16, ld, p[s*256:], amxChunkB)
	}
}

// packBlocksAMX packs rows rows of x (k values each, k apart) as A blocks of kc chunks into
// held slot 0, block by block on the workers.
func (b *Backend) packBlocksAMX(x []float32, rows, k, kc int) []uint16 {
	blocks := (rows + amxRows - 1) / amxRows
	a := b.heldU16(0, blocks*kc*amxChunkA)
	b.pool.run(blocks, 1, func(lo, hi int) {
		var tmp [amxK]uint16
		for bi := lo; bi < hi; bi++ {
			r0 := bi * amxRows
			packRowsAMX(a[bi*kc*amxChunkA:], x[r0*k:], k, min(amxRows, rows-r0), k, kc, tmp[:])
		}
	})
	return a
}

// tileInto runs amxTile for the rows×cols sums wanted of a block at dst (rows ldd apart): in
// place when the block is whole, else through c (amxRows×amxCols).
func tileInto(kc int, a []uint16, p []uint32, dst []float32, ldd, rows, cols int, c []float32) {
	if rows == amxRows && cols == amxCols {
		amxTile(kc, a, p, dst, ldd)
		return
	}
	amxTile(kc, a, p, c, amxCols)
	for i := range rows {
		copy(dst[i*ldd:i*ldd+cols], c[i*amxCols:])
	}
}

// gemmAMX is Linear in the BF16 mode on the AMX tiles: x is packed into A blocks once, then
// each task packs amxPanels B panels of weight rows and runs every A block against them,
// the block in L2 while it meets each panel.
func (b *Backend) gemmAMX(d, x []float32, m, k, n int, wf []float32, wh []uint16, bf16 bool, wq *qweight, bias []float32) {
	kc := (k + amxK - 1) / amxK
	blocks := (m + amxRows - 1) / amxRows
	ap := b.packBlocksAMX(x, m, k, kc)
	row := func(j int, dst []float32) {
		switch {
		case wq != nil:
			wq.dequant(dst, j, 0)
		case wf != nil:
			copy(dst, wf[j*k:(j+1)*k])
		default:
			widen(dst, wh[j*k:(j+1)*k], false)
		}
	}
	var w16 []uint16
	if bf16 {
		w16 = wh
	}
	const taskCols = amxPanels * amxCols
	tasks := (n + taskCols - 1) / taskCols
	bufs := b.taskBuffers(carved(amxPanels*kc*amxChunkB, amxRows*amxCols, k, 8*kc*amxK))
	b.pool.run(tasks, 1, func(lo, hi int) {
		i, cv := bufs.get()
		defer bufs.put(i)
		bp, c, tmp, tmp16 := cv.u32(amxPanels*kc*amxChunkB), cv.f32(amxRows*amxCols), cv.f32(k), cv.u16(16*kc*amxK)
		for task := lo; task < hi; task++ {
			j0, j1 := task*taskCols, min((task+1)*taskCols, n)
			panels := (j1 - j0 + amxCols - 1) / amxCols
			for pi := range panels {
				c0 := j0 + pi*amxCols
				packColsAMX(bp[pi*kc*amxChunkB:], w16, wq, k, kc, c0, min(c0+amxCols, j1), row, tmp, tmp16)
			}
			for bi := range blocks {
				r0 := bi * amxRows
				rows := min(amxRows, m-r0)
				for pi := range panels {
					c0 := j0 + pi*amxCols
					cols := min(amxCols, j1-c0)
					tileInto(kc, ap[bi*kc*amxChunkA:], bp[pi*kc*amxChunkB:], d[r0*n+c0:], n, rows, cols, c)
					for i := range rows {
						addBias(d[(r0+i)*n+c0:(r0+i)*n+c0+cols], bias, c0)
					}
				}
			}
		}
	})
}

// attnAMXShape is attnAMX's chunks of a head (kc), key panels and dimension panels.
func attnAMXShape(g attnGeometry) (kc, panels, hp int) {
	return (g.HeadDim + amxK - 1) / amxK, (g.keys(g.t-1) + amxCols - 1) / amxCols, (g.HeadDim + amxCols - 1) / amxCols
}

// attnAMXFloats is the size of the task buffer attnAMX carves (see taskBuffers).
func attnAMXFloats(g attnGeometry) int {
	kc, panels, hp := attnAMXShape(g)
	np, ldo := panels*amxCols, hp*amxCols
	return carved(panels*kc*amxChunkB, hp*panels*amxChunkB, (np*ldo+1)/2, (kc*amxChunkA+1)/2,
		(panels*amxChunkA+1)/2, amxRows*np, amxRows*ldo, max(g.HeadDim, amxK), 8*kc*amxK)
}

// attnAMX is many-row Attention in the BF16 mode on the AMX tiles for head h of batch row
// bi, the same computation as attnFast: the head's keys (as B panels, keys the columns) and
// values (B panels with keys in pairs, dimensions the columns) are rounded to BF16 and
// packed once; then each block of amxRows query rows gets its scores, a float32 softmax,
// and the weighted sum of V from its BF16-rounded probabilities. Keys past a row's causal
// limit have probability 0 and padding is zero, so a row's result does not depend on its
// block.
func (b *Backend) attnAMX(g attnGeometry, d, qs, ks, vs []float32, bi, h int, cv carver) {
	hd := g.HeadDim
	qw, kvw := g.Heads*hd, g.KVHeads*hd
	kh := h / (g.Heads / g.KVHeads)
	base := bi*g.sCap*kvw + kh*hd
	n := g.keys(g.t - 1) // keys the last row attends to
	kc, panels, hp := attnAMXShape(g)
	np, ldo := panels*amxCols, hp*amxCols
	kp, vp, vt := cv.u32(panels*kc*amxChunkB), cv.u32(hp*panels*amxChunkB), cv.u16(np*ldo)
	qa, pa := cv.u16(kc*amxChunkA), cv.u16(panels*amxChunkA)
	sc, ob, tmp, tmp16 := cv.f32(amxRows*np), cv.f32(amxRows*ldo), cv.f32(max(hd, amxK)), cv.u16(16*kc*amxK)
	keyRow := func(j int, dst []float32) { copy(dst, ks[base+j*kvw:base+j*kvw+hd]) }
	for pi := range panels {
		packColsAMX(kp[pi*kc*amxChunkB:], nil, nil, hd, kc, pi*amxCols, min((pi+1)*amxCols, n), keyRow, tmp, tmp16)
	}
	// V rounded row by row, then interleaved: pair q of chunk c is keys 32c+2q and 32c+2q+1.
	clear(vt)
	for j := range n {
		toBF16(vt[j*ldo:j*ldo+hd], vs[base+j*kvw:base+j*kvw+hd])
	}
	for pi := range hp {
		for c := range panels {
			p := vp[(pi*panels+c)*amxChunkB:]
			for q := range amxK / 2 {
				even := vt[(c*amxK+2*q)*ldo+pi*amxCols:]
				odd := vt[(c*amxK+2*q+1)*ldo+pi*amxCols:]
				for dd := range amxCols {
					p[(dd/16)*256+q*16+dd%16] = uint32(even[dd]) | uint32(odd[dd])<<16
				}
			}
		}
	}
	var tmp32 [amxK]uint16
	for t0 := 0; t0 < g.t; t0 += amxRows {
		rows := min(amxRows, g.t-t0)
		nb := (g.keys(t0+rows-1) + amxCols - 1) / amxCols // key panels this block needs
		ldS := nb * amxCols
		packRowsAMX(qa, qs[(bi*g.t+t0)*qw+h*hd:], qw, rows, hd, kc, tmp32[:])
		for pi := range nb {
			amxTile(kc, qa, kp[pi*kc*amxChunkB:], sc[pi*amxCols:], ldS)
		}
		for r := range rows {
			softmaxRowWide(sc[r*ldS:(r+1)*ldS], g.keys(t0+r), g.Scale)
		}
		packRowsAMX(pa, sc, ldS, rows, ldS, nb, tmp32[:])
		for pi := range hp {
			amxTile(nb, pa, vp[pi*panels*amxChunkB:], ob[pi*amxCols:], ldo)
		}
		for r := range rows {
			at := (bi*g.t+t0+r)*qw + h*hd
			copy(d[at:at+hd], ob[r*ldo:r*ldo+hd])
		}
	}
}

// convAMX is Conv2D in the BF16 mode on the AMX tiles: the weights (A blocks, output
// channels the rows) are rounded and packed once per call, the input image rounded once;
// each task builds the im2col panels of amxPixels output pixels as B panels (pairs of patch
// values, pixels the columns) and runs every channel block against them. Pixels are
// contiguous in dst, so full 32×32 blocks are stored in place.
func (b *Backend) convAMX(d, xs, ws, bs []float32, n, cout, pix, kk int, geo convGeometry) {
	kc := (kk + amxK - 1) / amxK
	wa := b.packBlocksAMX(ws, cout, kk, kc)
	chw, hw := geo.cin*geo.h*geo.w, geo.h*geo.w
	xr := b.held(1, chw)
	for img := range n {
		b.pool.run(geo.cin, 1, func(lo, hi int) {
			roundRowsBF16(xr[lo*hw:hi*hw], xs[img*chw+lo*hw:img*chw+hi*hw])
		})
		b.convAMXImage(d[img*cout*pix:(img+1)*cout*pix], xr, wa, bs, cout, pix, kk, kc, geo)
	}
}

// amxPixels is the number of output pixels per convAMX task: the width of im2colT's panel,
// two B panels.
const amxPixels = fmaCols

// convAMXImage is convAMX for one image: in is its BF16-rounded input, wa the packed
// weights, dst its [cout, pix] output.
func (b *Backend) convAMXImage(d, in []float32, wa []uint16, bs []float32, cout, pix, kk, kc int, geo convGeometry) {
	const panels = amxPixels / amxCols
	tasks := (pix + amxPixels - 1) / amxPixels
	b.pool.run(tasks, 1, func(lo, hi int) {
		col := b.getScratch(fmaK * amxPixels)
		bp := b.getU32(panels * kc * amxChunkB)
		c := b.getScratch(amxRows * amxCols)
		defer func() {
			b.putScratch(col)
			b.putU32(bp)
			b.putScratch(c)
		}()
		for task := lo; task < hi; task++ {
			p0 := task * amxPixels
			p1 := min(p0+amxPixels, pix)
			for k0 := 0; k0 < kc*amxK; k0 += fmaK {
				kl := min(fmaK, kc*amxK-k0)
				geo.im2colT(col[:kl*amxPixels], in, p0, p1, k0, kl, kk)
				// The values are BF16 already (the rounded input): a pair is the even
				// value's high half below the odd value's.
				for kk2 := 0; kk2 < kl; kk2 += 2 {
					chunk, q := (k0+kk2)/amxK, (k0+kk2)%amxK/2
					even, odd := col[kk2*amxPixels:(kk2+1)*amxPixels], col[(kk2+1)*amxPixels:(kk2+2)*amxPixels]
					for px := 0; px < amxPixels; px += 16 {
						dst := bp[((px/amxCols)*kc+chunk)*amxChunkB+(px%amxCols/16)*256+q*16:]
						pairBF16(dst[:16], even[px:px+16], odd[px:px+16])
					}
				}
			}
			for ci := range (cout + amxRows - 1) / amxRows {
				c0 := ci * amxRows
				rows := min(amxRows, cout-c0)
				for pn := range panels {
					q0 := p0 + pn*amxCols
					cols := min(amxCols, p1-q0)
					if cols <= 0 {
						break
					}
					tileInto(kc, wa[ci*kc*amxChunkA:], bp[pn*kc*amxChunkB:], d[c0*pix+q0:], pix, rows, cols, c)
				}
			}
			if bs != nil {
				for co, bv := range bs {
					row := d[co*pix+p0 : co*pix+p1]
					for i := range row {
						row[i] += bv
					}
				}
			}
		}
	})
}

// pairBF16 sets dst[i] to the pair of BF16 values even[i] (low half) and odd[i]; both are
// BF16 values already, so this only moves bits.
func pairBF16(dst []uint32, even, odd []float32) {
	odd, dst = odd[:len(even)], dst[:len(even)]
	for i, e := range even {
		dst[i] = math.Float32bits(e)>>16 | math.Float32bits(odd[i])&0xffff0000
	}
}

// convDirectAMX is Conv2D with stride 1 in the BF16 mode on AMX without im2col: the input
// is rounded to BF16 and stored as zero-padded planes of channel pairs, so the B tiles of
// one kernel offset (ky, kx) and chunk of 32 channels are 16 planes' runs of 16 output
// pixels' inputs, read in place (amxConvTile); the weights are packed as one A block per
// such step. The steps run chunk by chunk, ky, kx within, and each output is one kernel
// call's sum over them, whatever the tiling.
//
// The planes hold a band of output rows' inputs at a time (amxBand), not the whole padded
// image: a copy of the whole image was 38 MB at the VQ decoder's 384²×128, held beside its
// activations at the decode's peak of memory, with the 19 MB it grew from still garbage.
func (b *Backend) convDirectAMX(d, xs, ws, bs []float32, n, cout int, geo convGeometry) {
	hp, wp := geo.h+2*geo.pad, geo.w+2*geo.pad
	ho, wo := hp-geo.kh+1, wp-geo.kw+1
	pix, khw := ho*wo, geo.kh*geo.kw
	cc := (geo.cin + amxK - 1) / amxK
	steps := cc * khw
	cb := (cout + amxRows - 1) / amxRows
	wa := b.heldU16(0, cb*steps*amxChunkA)
	b.pool.run(cb, 1, func(lo, hi int) {
		row := b.getU16(cc * amxK * khw) // one output channel's weights, [ci][ky·kw+kx]
		defer b.putU16(row)
		for blk := lo; blk < hi; blk++ {
			for i := range amxRows {
				co := blk*amxRows + i
				at := (i/16)*512 + (i%16)*amxK
				clear(row)
				if co < cout {
					toBF16(row[:geo.cin*khw], ws[co*geo.cin*khw:(co+1)*geo.cin*khw])
				}
				for s := range steps {
					c, r := s/khw, s%khw
					dst := wa[(blk*steps+s)*amxChunkA+at:][:amxK]
					for t := range dst {
						dst[t] = row[(c*amxK+t)*khw+r]
					}
				}
			}
		}
	})
	planes := cc * 16
	band := b.amxBand(ho, planes, wp, geo.kh)
	plane := (band + geo.kh - 1) * wp // a band's input rows
	offs := make([]int, steps)        // bytes from a block's first input to each step's B tiles
	for s := range offs {
		c, ky, kx := s/khw, s%khw/geo.kw, s%geo.kw
		offs[s] = 4 * (16*c*plane + ky*wp + kx)
	}
	// The last blocks of a row read up to 2·16 values past its end: slack past the last plane.
	in := b.heldU32(1, planes*plane+wp+2*16)
	// The columns of padding, the planes past cin and the slack are never written: cleared
	// once. The bands write the rest, rows of padding as zeros.
	b.pool.run(planes, 1, func(lo, hi int) { clear(in[lo*plane : hi*plane]) })
	clear(in[planes*plane:])
	chw, hw := geo.cin*geo.h*geo.w, geo.h*geo.w
	for img := range n {
		x := xs[img*chw : (img+1)*chw]
		dimg := d[img*cout*pix : (img+1)*cout*pix]
		for r0 := 0; r0 < ho; r0 += band {
			m := min(band, ho-r0)
			// The band's input rows: padded rows r0 .. r0+m+kh-2, image rows pad fewer.
			b.pool.run((geo.cin+1)/2, 1, func(lo, hi int) {
				even, odd := b.getU16(geo.w), b.getU16(geo.w)
				defer b.putU16(even)
				defer b.putU16(odd)
				for p := lo; p < hi; p++ {
					pl := in[p*plane : (p+1)*plane]
					for y := range m + geo.kh - 1 {
						out := pl[y*wp+geo.pad : y*wp+geo.pad+geo.w]
						sy := r0 + y - geo.pad
						if sy < 0 || sy >= geo.h {
							clear(out)
							continue
						}
						toBF16(even, x[2*p*hw+sy*geo.w:2*p*hw+(sy+1)*geo.w])
						if 2*p+1 < geo.cin {
							toBF16(odd, x[(2*p+1)*hw+sy*geo.w:(2*p+1)*hw+(sy+1)*geo.w])
						} else {
							clear(odd)
						}
						for i, e := range even {
							out[i] = uint32(e) | uint32(odd[i])<<16
						}
					}
				}
			})
			b.pool.run(m, 1, func(lo, hi int) {
				c := b.getScratch(amxRows * amxCols)
				defer b.putScratch(c)
				for y := lo; y < hi; y++ {
					oy := r0 + y
					for blk := range cb {
						co0 := blk * amxRows
						rows := min(amxRows, cout-co0)
						a := wa[blk*steps*amxChunkA:]
						for x0 := 0; x0 < wo; x0 += amxCols {
							src := in[y*wp+x0:]
							cols := min(amxCols, wo-x0)
							at := co0*pix + oy*wo + x0
							if rows == amxRows && cols == amxCols {
								amxConvTile(a, src, offs, plane, dimg[at:], pix)
								continue
							}
							amxConvTile(a, src, offs, plane, c, amxCols)
							for i := range rows {
								copy(dimg[at+i*pix:at+i*pix+cols], c[i*amxCols:])
							}
						}
					}
					if bs != nil {
						for co, bv := range bs {
							row := dimg[co*pix+oy*wo : co*pix+(oy+1)*wo]
							for i := range row {
								row[i] += bv
							}
						}
					}
				}
			})
		}
	}
}

// amxBand is the output rows of one band of convDirectAMX: its planes of BF16 pairs about
// convBandFloats values (b.band where a test sets it), at least four rows a thread so that
// every thread has work, and no more than the image has.
func (b *Backend) amxBand(ho, planes, wp, kh int) int {
	band := convBandFloats
	if b.band > 0 {
		band = b.band
	}
	return min(ho, max(band/(planes*wp)-(kh-1), 4*b.pool.threads, 1))
}

// gemmAMXW is Linear in the BF16 mode on AMX with the operands' roles turned, for BF16
// weights of whole 32-row blocks and chunks (n and k multiples of 32): the weight rows are
// the A tiles, read in place, and x, rounded and transposed into B panels once, gives the
// columns; each 32×32 block of sums comes out transposed and is turned back into dst. With
// few rows of x a Linear is one read of every weight, which gemmAMX's packing doubled.
func (b *Backend) gemmAMXW(d, x []float32, m, k, n int, wh []uint16, bias []float32) {
	kc := k / amxK
	panels := (m + amxCols - 1) / amxCols
	xp := b.heldU32(0, panels*kc*amxChunkB)
	packBufs := b.taskBuffers(carved(k, 8*kc*amxK))
	b.pool.run(panels, 1, func(lo, hi int) {
		i, cv := packBufs.get()
		defer packBufs.put(i)
		tmp, tmp16 := cv.f32(k), cv.u16(16*kc*amxK)
		row := func(t int, dst []float32) { copy(dst, x[t*k:(t+1)*k]) }
		for p := lo; p < hi; p++ {
			packColsAMX(xp[p*kc*amxChunkB:], nil, nil, k, kc, p*amxCols, min((p+1)*amxCols, m), row, tmp, tmp16)
		}
	})
	bufs := b.taskBuffers(amxRows * amxCols)
	b.pool.run(n/amxRows, 1, func(lo, hi int) {
		i, cv := bufs.get()
		defer bufs.put(i)
		c := cv.f32(amxRows * amxCols)
		for blk := lo; blk < hi; blk++ {
			j0 := blk * amxRows
			for p := range panels {
				amxTileW(kc, wh[j0*k:], k, xp[p*kc*amxChunkB:], c, amxCols)
				t0 := p * amxCols
				for t := range min(amxCols, m-t0) {
					out := d[(t0+t)*n+j0 : (t0+t)*n+j0+amxRows]
					for j := range out {
						out[j] = c[j*amxCols+t]
					}
					addBias(out, bias, j0)
				}
			}
		}
	})
}
