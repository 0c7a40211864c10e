package cpu

import (
	"encoding/binary"
	"math"
)

// The BF16 mode on AMX (Intel's tile matrix unit, Sapphire Rapids and later): one
// TDPBF16PS multiplies a 16×32 BF16 tile by a 32×16 one into 16×16 float32 sums, 16 times
// the work of a 512-bit FMA in about 16 cycles. Its arithmetic is the BF16 mode's (exact
// products of BF16 values summed in float32) but not its order: Intel documents the
// FMA-tiles' order (pairs, odd product first, one rounding per product), yet the hardware
// adds the 32 products of a chunk more precisely than that and in an undocumented way. So
// the BF16 mode gives other bits on a CPU with AMX than without (the tests bound the error
// by two float32 roundings per chunk; measured about half the FMA order's), the same bits
// for any thread count or tiling, since each output is one kernel call's chunks in order.
//
// Operands are packed in tile order: an A block is amxRows rows of the activations rounded
// to BF16, chunk by chunk of amxK values (two 16-row tiles per chunk); a B panel is amxCols
// weight rows as pairs, transposed (two tiles of 16 pairs × 16 columns per chunk). K is
// zero-padded to whole chunks, rows and columns to whole blocks, and the kernel writes a
// 32×32 block of sums to scratch, from which the valid part is copied out.

const (
	amxK      = 32                 // BF16 values per chunk: one 64-byte tile row
	amxRows   = 32                 // activation rows per kernel call: two A tiles
	amxCols   = 32                 // outputs per kernel call: two B tiles
	amxChunkA = amxRows * amxK     // uint16 values of an A block per chunk
	amxChunkB = amxCols * amxK / 2 // uint32 pairs of a B panel per chunk
	amxPanels = 4                  // B panels (of amxCols weight rows) per Linear task
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

// bfValue widens BF16 h, reading denormals as zero as the BF16 instructions do.
func bfValue(h uint16) float32 {
	if h&0x7f80 == 0 {
		return 0
	}
	return math.Float32frombits(uint32(h) << 16)
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
// BF16 weights (wh, k per row) are read as they are, others through row (row j as k
// float32 values into its dst), rounded to BF16 16 rows at a time in tmp16 (16·kc·amxK
// values) with tmp (k floats). Missing rows and values past k are zero.
func packColsAMX(p []uint32, wh []uint16, k, kc, j0, j1 int, row func(j int, dst []float32), tmp []float32, tmp16 []uint16) {
	ld := kc * amxK
	for s := range 2 {
		r0 := j0 + 16*s
		rows := min(16, j1-r0)
		if rows == 16 && wh != nil && k == ld {
			packPairs16(kc, wh[r0*k:], k, p[s*256:], amxChunkB)
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

// gemmAMX is Linear in the BF16 mode on the AMX tiles: x is packed into A blocks once, then
// each task packs amxPanels B panels of weight rows and runs every A block against them,
// the block in L2 while it meets each panel.
func (b *Backend) gemmAMX(d, x []float32, m, k, n int, wf []float32, wh []uint16, bf16 bool, wq *qweight, bias []float32) {
	kc := (k + amxK - 1) / amxK
	blocks := (m + amxRows - 1) / amxRows
	ap := b.heldU16(0, blocks*kc*amxChunkA)
	b.pool.run(blocks, 1, func(lo, hi int) {
		var tmp [amxK]uint16
		for bi := lo; bi < hi; bi++ {
			r0 := bi * amxRows
			packRowsAMX(ap[bi*kc*amxChunkA:], x[r0*k:], k, min(amxRows, m-r0), k, kc, tmp[:])
		}
	})
	row := func(j int, dst []float32) {
		switch {
		case wq != nil:
			dequantizeRow(dst, wq.dt, wq.q, wq.s, j*k/qBlock)
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
	b.pool.run(tasks, 1, func(lo, hi int) {
		bp := b.getU32(amxPanels * kc * amxChunkB)
		c := b.getScratch(amxRows * amxCols)
		tmp := b.getScratch(k)
		tmp16 := b.getU16(16 * kc * amxK)
		defer func() {
			b.putU32(bp)
			b.putScratch(c)
			b.putScratch(tmp)
			b.putU16(tmp16)
		}()
		for task := lo; task < hi; task++ {
			j0, j1 := task*taskCols, min((task+1)*taskCols, n)
			panels := (j1 - j0 + amxCols - 1) / amxCols
			for pi := range panels {
				c0 := j0 + pi*amxCols
				packColsAMX(bp[pi*kc*amxChunkB:], w16, k, kc, c0, min(c0+amxCols, j1), row, tmp, tmp16)
			}
			for bi := range blocks {
				r0 := bi * amxRows
				rows := min(amxRows, m-r0)
				for pi := range panels {
					c0 := j0 + pi*amxCols
					cols := min(amxCols, j1-c0)
					a, p := ap[bi*kc*amxChunkA:], bp[pi*kc*amxChunkB:]
					if rows == amxRows && cols == amxCols {
						amxTile(kc, a, p, d[r0*n+c0:], n)
						for i := range rows {
							addBias(d[(r0+i)*n+c0:(r0+i)*n+c0+cols], bias, c0)
						}
						continue
					}
					amxTile(kc, a, p, c, amxCols)
					for i := range rows {
						out := d[(r0+i)*n+c0 : (r0+i)*n+c0+cols]
						copy(out, c[i*amxCols:])
						addBias(out, bias, c0)
					}
				}
			}
		}
	})
}
