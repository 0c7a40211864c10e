package cpu

import (
	"encoding/binary"
	"unsafe"

	"github.com/janus-desktop/janus/compute"
)

// Q4 matrices in row groups. Where the VNNI kernels run, a Q4 matrix [N, K] with N a
// multiple of 16 and K of 256 is stored in groups of 16 rows instead of row after row: in
// q, per group and block of 32 weights, four 64-byte chunks whose 32-bit lane r holds four
// code bytes of row r (chunk c: the block's bytes 4c to 4c+3, that is weights 4c..4c+3 in
// the low nibbles and 16+4c..16+4c+3 in the high ones); in s, per group and block, the 16
// rows' F16 scales. The same codes and scales as row after row, in another order.
//
// The products of few rows read it with dotQ4GR1/dotQ4GR2 (see the generator): one
// VPDPBUSD adds to 16 rows' block sums at once with no lanes shuffled, so each block's sum is
// exact and is scaled and added as dotQ4 does, bit for bit; they do about half the vector
// work of the row-major kernels and read one stream, which matters here even where memory
// bounds a step (README, "Speed (CPU)"). Everything else (the many-row products, Embedding,
// Read) dequantizes a row's blocks from the groups (dequantQ4G). The kernels read the input
// rows in the VNNI set's packed layout, which has quads of 4 blocks only within whole groups
// of 8 blocks (packQZ): hence K a multiple of 256. A grouped tensor keeps its [N, K]: a
// reshape of it can be read and written but not multiplied.

// qGroupRows is the number of weight rows of a group.
const qGroupRows = 16

// qGroupChunk is the bytes of a block of a group's codes.
const qGroupChunk = qGroupRows * qBlock / 2

// groupsQ4 reports whether the backend stores a dt tensor of this shape in row groups.
func (b *Backend) groupsQ4(dt compute.DType, shape []int) bool {
	return dt == compute.Q4 && (b.qset == qsetVNNI || b.qset == qsetAMX) && len(shape) == 2 &&
		shape[0] > 0 && shape[0]%qGroupRows == 0 && shape[1] > 0 && shape[1]%(8*qBlock) == 0
}

// groupOffsets returns where block b of row j of a grouped matrix of nb blocks a row keeps
// its first code bytes (the others are 64, 128 and 192 bytes on) and its scale.
func groupOffsets(j, b, nb int) (code, scale int) {
	blk := (j/qGroupRows)*nb + b
	r := j % qGroupRows
	return blk*qGroupChunk + 4*r, blk*qGroupRows + r
}

// putGroupBlock stores the 16 code bytes and the scale of block b of row j.
func putGroupBlock(q []byte, s []uint16, nb, j, b int, codes []byte, scale uint16) {
	c, sc := groupOffsets(j, b, nb)
	q = q[c : c+3*64+4]
	for ch := range 4 {
		binary.LittleEndian.PutUint32(q[64*ch:], binary.LittleEndian.Uint32(codes[4*ch:]))
	}
	s[sc] = scale
}

// dequant writes the values of blocks [b0, b0+len(dst)/qBlock) of weight row j into dst.
func (w *qweight) dequant(dst []float32, j, b0 int) {
	nb := w.k / qBlock
	// A grouped row runs on into row j+16, not j+1: keep to the row.
	check(b0 >= 0 && b0+len(dst)/qBlock <= nb, "dequant", "blocks [%d, %d) of a row of %d", b0, b0+len(dst)/qBlock, nb)
	if !w.groups {
		dequantizeRow(dst, w.dt, w.q, w.s, j*nb+b0)
		return
	}
	c, sc := groupOffsets(j, b0, nb)
	dequantGroupRow(dst, w.q, w.s, c, sc)
}

// quadCorrections writes each block's correction for the grouped kernels, -8 times the sum
// of its codes, from the VNNI set's packed Q4 row xp (whole quads): the sum of the four
// lane corrections packQZ gives a block.
func quadCorrections(xc []int32, xp []byte) {
	for q := range len(xc) / 4 {
		corr := xp[q*256+128:]
		for kk := range 4 {
			var sum int32
			for l := range 4 {
				sum += int32(binary.LittleEndian.Uint32(corr[16*kk+4*l:]))
			}
			xc[4*q+kk] = sum
		}
	}
}

// linearQGroups is linearQuantized for a grouped Q4 matrix: each input row is quantized and
// packed once, with its blocks' corrections, then each task runs groups of 16 weight rows
// against the rows two at a time (a row's bits do not depend on its pair: they are dotQ4's).
func (b *Backend) linearQGroups(d, x []float32, m int, w qweight, bias []float32) {
	k, n := w.k, w.n
	nb := k / qBlock
	// Per row: the packed codes (2k bytes), then nb corrections and nb scales.
	per := k/2 + 2*nb
	scratch := b.getScratch(m * per)
	defer b.putScratch(scratch)
	area := unsafe.Pointer(unsafe.SliceData(scratch))
	all := unsafe.Slice((*byte)(area), 4*m*per)
	xp := func(i int) []byte { return all[4*i*per : 4*i*per+2*k] }
	xc := unsafe.Slice((*int32)(area), m*per)
	corr := func(i int) []int32 { return xc[i*per+k/2 : i*per+k/2+nb] }
	scale := func(i int) []float32 { return scratch[i*per+k/2+nb : (i+1)*per] }
	b.pool.run(m, b.pool.grain(m, 2*k), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			quantizeQZ(xp(i), scale(i), x[i*k:(i+1)*k], true)
			quadCorrections(corr(i), xp(i))
		}
	})
	groups := n / qGroupRows
	chunk := fewRowsChunk(groups, k, b.pool.threads)
	b.pool.run(groups, chunk, func(lo, hi int) {
		for g := lo; g < hi; g++ {
			wq := w.q[g*nb*qGroupChunk : (g+1)*nb*qGroupChunk]
			ws := w.s[g*nb*qGroupRows : (g+1)*nb*qGroupRows]
			j0 := g * qGroupRows
			for i := 0; i < m; i += 2 {
				rows := min(2, m-i)
				tileQ4G(d[i*n+j0:], n, rows, all[4*i*per:], 4*per, xc[i*per+k/2:], scratch[i*per+k/2+nb:], per, wq, ws, nb)
			}
			if bias != nil {
				for i := range m {
					addBias(d[i*n+j0:i*n+j0+qGroupRows], bias, j0)
				}
			}
		}
	})
}
