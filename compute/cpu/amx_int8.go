package cpu

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// Linear with Q8 weights on the AMX int8 tiles (qsetAMX). The weights are the A operand, read
// in place: sixteen columns' codes of one block are a 16×32-byte tile. The input rows, up to
// sixteen, are the B operand, quantized and packed once per op. TDPBSSD gives each block's
// exact int32 sums for all the rows at once, so the float32 work per block is one scaling per
// column, whatever the number of rows, where the VPDPBUSD kernels scale every row and column
// pair: eight rows (four images' guided steps) cost little more than two. The sums are
// dotQ8's bit for bit. One or two rows stay on the VPDPBUSD kernels, which are faster there
// (a token step or one image's guided step): their float32 sums run lane by lane, so those
// rows' last bits differ from what the same rows give in a batch of three or more.
const (
	amxQMinRows = 3                         // the fewest input rows that run on the tiles
	amxQCols    = 16                        // columns (weight rows) per tile call
	amxQRows    = 16                        // input rows one call takes
	amxQBlock   = 640                       // bytes of packed input per block: the B tile, then 16 scales
	amxQTemp    = amxQCols*amxQCols + 4*256 // floats amxQ8Tile needs: its sums and two pairs of blocks' int32 tiles
)

// amxQ8Config is the tile configuration of amxQ8Cols16: palette 1; tiles 0 and 1 the C sums
// (16 columns × 16 rows of int32), 4 and 5 the A tiles (16 columns × 32 codes), 6 and 7 the
// B tiles (8 rows of 4 codes × 16 input rows).
func amxQ8Config() [64]byte {
	var c [64]byte
	c[0] = 1
	tile := func(t, rows, bytes int) {
		binary.LittleEndian.PutUint16(c[16+2*t:], uint16(bytes))
		c[48+t] = byte(rows)
	}
	tile(0, 16, 64)
	tile(1, 16, 64)
	tile(4, 16, 32)
	tile(5, 16, 32)
	tile(6, 8, 64)
	tile(7, 8, 64)
	return c
}

// packQ8AMX quantizes row i of x (k values, a whole number of blocks) as quantizeInput does
// and writes it as lane i of p (k/32 · amxQBlock bytes) in amxQ8Cols16's layout: per block
// the B tile, whose row r holds codes 4r..4r+3 of every input row, then the rows' scales as
// float32. Rows of one p are packed concurrently (each writes its own lanes); lanes of rows
// that are not there must be zero. tmp (2k bytes) and xd (k/32 floats) are scratch.
func packQ8AMX(p []byte, i int, x []float32, tmp []byte, xd []float32) {
	k := len(x)
	nb := k / qBlock
	// The VNNI set's one-pass quantizer (the same codes), whose layout has block b's codes
	// at 128·(b/2) + 32·(b%2).
	quantizeQZ(tmp[:2*k], xd[:nb], x, false)
	for blk := range nb {
		src := tmp[128*(blk/2)+32*(blk%2):]
		dst := p[blk*amxQBlock+4*i:]
		for r := range qBlock / 4 {
			copy(dst[r*64:r*64+4], src[4*r:4*r+4])
		}
		binary.LittleEndian.PutUint32(dst[512:], math.Float32bits(xd[blk]))
	}
}

// linearQAMX is linearQuantized for Q8 weights on the AMX int8 tiles, m ≤ amxQRows rows.
// Columns past the last whole group of sixteen take dotQ8, which gives the same bits.
func (b *Backend) linearQAMX(d, x []float32, m int, w qweight, bias []float32) {
	k, n := w.k, w.n
	nb := k / qBlock
	// Per row: 2k bytes of VNNI-packed codes and nb scales.
	per := k/2 + nb
	scratch := b.getScratch(m * per)
	defer b.putScratch(scratch)
	pf := b.held(0, nb*amxQBlock/4)
	p := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(pf))), nb*amxQBlock)
	clear(p)
	b.pool.run(m, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s := scratch[i*per : (i+1)*per]
			tmp := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), 2*k)
			packQ8AMX(p, i, x[i*k:(i+1)*k], tmp, s[k/2:])
		}
	})

	groups := n / amxQCols
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
			widenF16(b.simd, wd, w.s[j0*nb:(j0+amxQCols)*nb])
			next := w.s[j0*nb:]
			if g+1 < groups {
				next = w.s[(j0+amxQCols)*nb:]
			}
			amxQ8Tile(nb, w.q[j0*w.rowBytes:], w.rowBytes, p, wd, nb, t, next)
			for r := range m {
				out := d[r*n+j0 : r*n+j0+amxQCols]
				for j := range out {
					out[j] = t[j*amxQCols+r]
				}
				addBias(out, bias, j0)
			}
		}
	})
	if groups*amxQCols == n {
		return
	}
	// The last columns, from each row's codes again.
	xq := make([]int8, k)
	xd := make([]float32, nb)
	for r := range m {
		quantizeInput(xq, xd, x[r*k:(r+1)*k])
		for j := groups * amxQCols; j < n; j++ {
			d[r*n+j] = dotQ8(nb, xq, xd, w.q[j*w.rowBytes:(j+1)*w.rowBytes], w.s[j*nb:(j+1)*nb])
		}
		addBias(d[r*n+groups*amxQCols:r*n+n], bias, groups*amxQCols)
	}
}
