package cpu

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// Linear with Q8 weights on the AMX int8 tiles (qsetAMX), for matrices stored row after row:
// those that fill row groups (quant_groups.go), every one of the released models', run on
// the grouped VNNI kernels at every row count instead, which read their one stream faster.
// The weights are the A operand, read in place: sixteen columns' codes of one block are a
// 16×32-byte tile. The input rows, up to
// sixteen, are the B operand, quantized and packed once per op. TDPBSSD gives each block's
// exact int32 sums for all the rows at once, so the float32 work per block is one scaling per
// column, whatever the number of rows, where the row-major VPDPBUSD kernels scale every row
// and column pair. Two rows have a kernel of their own whose scaling fills two vectors a
// block. The sums are dotQ8's bit for bit, as the grouped kernels' are, so rows give the same
// bits whichever of them runs. One row stays on VPDPBUSD, faster there.
const (
	amxQMinRows = 2                         // the fewest input rows that run on the tiles
	amxQCols    = 16                        // columns (weight rows) per tile call
	amxQRows    = 16                        // input rows one call takes
	amxQBlock   = 640                       // bytes of packed input per block: the B tile, then 16 scales
	amxQBlockR2 = 128                       // the same for two rows (amxQ8Cols16R2)
	amxQTemp    = amxQCols*amxQCols + 4*256 // floats amxQ8Tile needs: its sums and two pairs of blocks' int32 tiles
)

// amxQ8Op is what every call of one op's kernel shares: the tile configuration of
// amxQ8Cols16 (lanes 16) or amxQ8Cols16R2 (lanes 2), palette 1 with tiles 0 and 1 the C sums
// (16 columns × lanes rows of int32), 4 and 5 the A tiles (16 columns × 32 codes), 6 and 7
// the B tiles (8 rows of 4 codes × lanes rows); and amxQ8Cols16R2's table: the byte offsets
// of 16 columns' F16 scales (2·nb·j), then the two lane spreads (j/2 and 8 + j/2).
type amxQ8Op struct {
	cfg [64]byte
	tab [48]int32
}

// newAMXQ8Op makes the shared part of an op of lanes input rows and nb blocks.
func newAMXQ8Op(lanes, nb int) *amxQ8Op {
	op := &amxQ8Op{}
	op.cfg[0] = 1
	tile := func(t, rows, bytes int) {
		binary.LittleEndian.PutUint16(op.cfg[16+2*t:], uint16(bytes))
		op.cfg[48+t] = byte(rows)
	}
	tile(0, 16, 4*lanes)
	tile(1, 16, 4*lanes)
	tile(4, 16, 32)
	tile(5, 16, 32)
	tile(6, 8, 4*lanes)
	tile(7, 8, 4*lanes)
	for j := range 16 {
		op.tab[j] = int32(2 * nb * j)
		op.tab[16+j], op.tab[32+j] = int32(j/2), int32(8+j/2)
	}
	return op
}

// packQ8AMX writes blocks [b0, b1) of len(codes) ≤ lanes input rows into p in the layout of
// amxQ8Cols16 (lanes 16, amxQBlock bytes a block) or amxQ8Cols16R2 (lanes 2, amxQBlockR2):
// per block the B tile, whose row r holds codes 4r..4r+3 of every lane, then the lanes'
// scales as float32, repeated to fill 16; lanes past len(codes) are zero. Row i is
// quantized already: codes[i] in quantizeQZ's layout for Q8 (qzCodes), its scales in
// xd[i]. Tasks pack whole blocks, so no two write the same cache line.
func packQ8AMX(p []byte, lanes, b0, b1 int, codes [][]byte, xd [][]float32) {
	size, row := amxQBlockBytes(lanes), 4*lanes
	for blk := b0; blk < b1; blk++ {
		dst := p[blk*size : (blk+1)*size]
		clear(dst)
		for i := range codes {
			src := qzCodes(codes[i], blk)
			for r := range qBlock / 4 {
				copy(dst[r*row+4*i:r*row+4*i+4], src[4*r:4*r+4])
			}
			for rep := 0; rep < amxQRows; rep += lanes {
				binary.LittleEndian.PutUint32(dst[8*row+4*(rep+i):], math.Float32bits(xd[i][blk]))
			}
		}
	}
}

// qzCodes returns the 32 codes of block blk of a Q8 input row in quantizeQZ's layout (pairs
// of blocks 128 bytes apart, their codes first).
func qzCodes(row []byte, blk int) []byte {
	return row[128*(blk/2)+32*(blk%2):][:qBlock]
}

// amxQBlockBytes is the packed size of a block for the kernel of lanes input rows.
func amxQBlockBytes(lanes int) int {
	if lanes == 2 {
		return amxQBlockR2
	}
	return amxQBlock
}

// linearQAMX is linearQuantized for Q8 weights on the AMX int8 tiles, m ≤ amxQRows rows.
// Columns past the last whole group of sixteen take dotQ8, which gives the same bits.
func (b *Backend) linearQAMX(d, x []float32, m int, w qweight, bias []float32) {
	check(!w.groups, "Linear", "%v weights in row groups on the AMX tiles", w.dt)
	k, n := w.k, w.n
	nb := k / qBlock
	// Per row: 2k bytes of codes in the VNNI set's layout and nb scales.
	per := k/2 + nb
	scratch := b.getScratch(m * per)
	defer b.putScratch(scratch)
	codes, xd := make([][]byte, m), make([][]float32, m)
	for i := range m {
		s := scratch[i*per : (i+1)*per]
		codes[i] = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), 2*k)
		xd[i] = s[k/2:]
	}
	b.pool.run(m, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			// The VNNI set's one-pass quantizer: quantizeInput's codes.
			quantizeQZ(codes[i], xd[i], x[i*k:(i+1)*k], false)
		}
	})
	// Two rows (one image's guided step) take the kernel whose sums fill two vectors a block.
	lanes := amxQRows
	if m <= 2 {
		lanes = 2
	}
	size := amxQBlockBytes(lanes)
	pf := b.held(0, nb*size/4)
	p := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(pf))), nb*size)
	b.pool.run(nb, b.pool.grain(nb, m*size), func(lo, hi int) {
		packQ8AMX(p, lanes, lo, hi, codes, xd)
	})

	groups := n / amxQCols
	op := newAMXQ8Op(lanes, nb)
	bufs := b.taskBuffers(carved(amxQCols*nb, amxQTemp))
	// A group's codes are 16·k bytes. Tasks of about 256 KB keep the pool's overhead small
	// and make the next group, which the kernel prefetches, mostly the task's own.
	chunk := max(1, (1<<18)/(amxQCols*k))
	b.pool.run(groups, chunk, func(lo, hi int) {
		i, cv := bufs.get()
		defer bufs.put(i)
		wd, t := cv.f32(amxQCols*nb), cv.f32(amxQTemp)
		for g := lo; g < hi; g++ {
			j0 := g * amxQCols
			next := w.s[j0*nb:]
			if g+1 < groups {
				next = w.s[(j0+amxQCols)*nb:]
			}
			if lanes == 2 {
				amxQ8TileR2(op, nb, w.q[j0*w.rowBytes:], w.rowBytes, p, w.s[j0*nb:cap(w.s)], t, next)
			} else {
				widenF16(b.simd, wd, w.s[j0*nb:(j0+amxQCols)*nb])
				amxQ8Tile(op, nb, w.q[j0*w.rowBytes:], w.rowBytes, p, wd, nb, t, next)
			}
			for r := range m {
				out := d[r*n+j0 : r*n+j0+amxQCols]
				for j := range out {
					out[j] = t[j*lanes+r]
				}
				addBias(out, bias, j0)
			}
		}
	})
	if groups*amxQCols == n {
		return
	}
	// The last columns, each row's codes gathered from the VNNI layout.
	xq := make([]int8, k)
	for r := range m {
		for blk := range nb {
			src := qzCodes(codes[r], blk)
			for i := range qBlock {
				xq[blk*qBlock+i] = int8(src[i])
			}
		}
		for j := groups * amxQCols; j < n; j++ {
			d[r*n+j] = dotQ8(nb, xq, xd[r], w.q[j*w.rowBytes:(j+1)*w.rowBytes], w.s[j*nb:(j+1)*nb])
		}
		addBias(d[r*n+groups*amxQCols:r*n+n], bias, groups*amxQCols)
	}
}
