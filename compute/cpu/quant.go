package cpu

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/janus-desktop/janus/compute"
)

// Block-quantized weights (compute.Q8, compute.Q4, compute.Q4M). A quantized tensor's buffer
// holds its codes in q (QBlock bytes per block for Q8, QBlock/2 for Q4 and Q4M, rows back to
// back) and one F16 scale per block in s, so the kernels read the codes of a row as one
// contiguous run and its scales as another; where the VNNI kernels run, a matrix whose shape
// allows it is stored in groups of 16 rows instead (quant_groups.go). Q4M adds one F16
// offset per block in o, laid out as the scales: its codes and scales are Q4's, so Q4's
// kernels compute Σ d·(code−8)·x and the offsets add Σ o·(the block's sum of x), inside the
// grouped kernels or in a pass of their own (offsets.go); dequantizing adds o to Q4's
// values. Linear quantizes its input rows to
// int8 blocks as well (a float32 scale per block, amax/127, rounding half away from zero, as
// ggml's Q8_0 does), so every block product is an exact integer dot product; only the
// float32 sum of the scaled block results differs between kernel sets. All of them see the same int8 values: the generic and
// AVX2 sets quantize with quantizeInput, the VNNI set with an assembly pass that gives its
// bits and also packs the row for its kernels (packQZ describes the layout).

// qBlock is compute.QBlock, the weights per scale.
const qBlock = compute.QBlock

// codeBytes is the bytes of a block's codes.
func codeBytes(dt compute.DType) int {
	if dt == compute.Q8 {
		return qBlock
	}
	return qBlock / 2
}

// qweight is the view of a quantized weight [N, K] that Linear and Embedding read.
type qweight struct {
	dt       compute.DType // the codes' dtype, Q8 or Q4 (a Q4M tensor's are Q4's)
	q        []byte        // codes, rowBytes per row
	s        []uint16      // F16 scales, k/qBlock per row
	o        []uint16      // Q4M's F16 offsets, laid out as s; else nil
	n, k     int
	rowBytes int
	groups   bool // stored in groups of 16 rows (quant_groups.go): rowBytes is not a stride
}

// quantized returns the view of the quantized tensor t, panicking with the op's name when it
// is not a cpu tensor of a whole number of blocks per row.
func quantized(op, arg string, t *Tensor) qweight {
	bf, ok := t.Buf.(*buffer)
	if !ok {
		fail(op, "%s is %v with buffer %T, want a cpu buffer", arg, t, t.Buf)
	}
	if len(t.Shape) != 2 {
		fail(op, "%s %v is not [N, K]", arg, t)
	}
	n, k := t.Shape[0], t.Shape[1]
	if k%qBlock != 0 {
		fail(op, "%s %v: K is not a multiple of %d", arg, t, qBlock)
	}
	w := qweight{dt: codesDType(t.DType), q: bf.q, s: bf.s, o: bf.o, n: n, k: k, rowBytes: k * codeBytes(t.DType) / qBlock}
	if len(w.q) != n*w.rowBytes || len(w.s) != n*k/qBlock || (t.DType == compute.Q4M) != (len(w.o) == n*k/qBlock) {
		fail(op, "%s %v was freed or has a buffer of the wrong size", arg, t)
	}
	if bf.groupK != 0 {
		if bf.groupK != k {
			fail(op, "%s %v is stored in groups of rows of %d weights: reshaped", arg, t, bf.groupK)
		}
		w.groups = true
	}
	return w
}

// codesDType is the dtype of a quantized dtype's codes and scales, which the kernels read:
// Q4M's are Q4's.
func codesDType(dt compute.DType) compute.DType {
	if dt == compute.Q4M {
		return compute.Q4
	}
	return dt
}

// newQuantized allocates a zeroed quantized tensor; the last dimension must be a multiple of
// qBlock.
func newQuantized(bf *buffer, dt compute.DType, shape []int, n int) {
	if len(shape) == 0 || shape[len(shape)-1]%qBlock != 0 {
		panic(fmt.Sprintf("cpu: New: %v tensor of shape %v: the last dimension must be a multiple of %d", dt, shape, qBlock))
	}
	bf.q = make([]byte, n/qBlock*codeBytes(dt))
	// One spare scale past the end: the two-row AMX kernel reads scales 32 bits at a time.
	bf.s = make([]uint16, n/qBlock, n/qBlock+1)
	if dt == compute.Q4M {
		bf.o = make([]uint16, n/qBlock)
	}
}

// dequantizeRow writes the values of blocks [b0, b0+len(dst)/qBlock) of a quantized tensor
// of codes dtype dt (codesDType) into dst, and adds the blocks' offsets o[b0:] when o is not
// nil (Q4M).
func dequantizeRow(dst []float32, dt compute.DType, q []byte, s, o []uint16, b0 int) {
	if !dequantSIMD(dst, dt, q, s, b0) {
		dequantizeRowGo(dst, dt, q, s, b0)
	}
	if o != nil {
		addBlockOffsets(dst, o[b0:], 1)
	}
}

// addBlockOffsets adds offset o[b·stride] to the values of block b of dst (stride 1 for a row
// stored row after row, qGroupRows in row groups), as compute.QuantizeQ4M defines a Q4M value:
// the scaled code rounded to float32, then the offset added.
func addBlockOffsets(dst []float32, o []uint16, stride int) {
	for b := range len(dst) / qBlock {
		ov := f16ToF32(o[b*stride])
		blk := dst[b*qBlock : (b+1)*qBlock]
		for i := range blk {
			blk[i] += ov
		}
	}
}

// dequantizeRowGo is dequantizeRow in Go: one float32 multiply per value.
func dequantizeRowGo(dst []float32, dt compute.DType, q []byte, s []uint16, b0 int) {
	for b := range len(dst) / qBlock {
		d := f16ToF32(s[b0+b])
		out := dst[b*qBlock : (b+1)*qBlock]
		if dt == compute.Q8 {
			codes := q[(b0+b)*qBlock : (b0+b+1)*qBlock]
			for i, c := range codes {
				out[i] = d * float32(int8(c))
			}
			continue
		}
		codes := q[(b0+b)*qBlock/2 : (b0+b+1)*qBlock/2]
		for j, c := range codes {
			out[j] = d * float32(int32(c&15)-8)
			out[j+qBlock/2] = d * float32(int32(c>>4)-8)
		}
	}
}

// fromBytesQuantized quantizes the blocks of raw (elements of dtype src) into blocks b0
// onwards of the quantized buffer bf of dtype dt, on the worker pool. A grouped matrix's
// blocks are quantized into scratch, then put in their places (quant_groups.go).
func (b *Backend) fromBytesQuantized(bf *buffer, dt compute.DType, b0 int, src compute.DType, raw []byte) {
	blocks := len(raw) / src.Size() / qBlock
	cb := codeBytes(dt)
	nb := bf.groupK / qBlock
	// put stores n quantized blocks from b0+c on, from codes q, scales s and, for Q4M,
	// offsets o (which the other dtypes do not have: put ignores it for them).
	put := func(c, n int, q []byte, s, o []uint16) {
		if dt != compute.Q4M {
			o = nil
		}
		putGroupBlocks(bf.q, bf.s, bf.o, nb, b0+c, cb, q[:n*cb], s[:n], o)
	}
	if quantAsm(b.simd) {
		b.pool.run(blocks, b.pool.grain(blocks, 4*qBlock), func(lo, hi int) {
			var sc quantScratch
			for c := lo; c < hi; c += quantChunk {
				n := min(quantChunk, hi-c)
				x := sc.x[:n*qBlock]
				if src == compute.BF16 { // the released checkpoints' dtype
					// The vector widening, not widenBF16: quantizing Q8 goes 900 M weights/s
					// a core with it, 620 M with the Go loop.
					widenBF16Asm(x, raw[2*c*qBlock:2*(c+n)*qBlock])
				} else {
					for i := range n {
						compute.ReadBlock((*[qBlock]float32)(x[i*qBlock:]), raw, src, (c+i)*qBlock)
					}
				}
				q, s, o := sc.q[:n*cb], sc.s[:n], sc.o[:n]
				if nb == 0 {
					q, s = bf.q[(b0+c)*cb:(b0+c+n)*cb], bf.s[b0+c:b0+c+n]
					if dt == compute.Q4M {
						o = bf.o[b0+c : b0+c+n]
					}
				}
				switch dt {
				case compute.Q8:
					quantizeQ8Blocks(q, s, x, sc.amax[:n], sc.id[:n])
				case compute.Q4:
					quantizeQ4Blocks(q, s, x, &sc)
				default:
					quantizeQ4MBlocks(q, s, o, x, &sc)
				}
				if nb != 0 {
					put(c, n, q, s, o)
				}
			}
		})
		return
	}
	b.pool.run(blocks, b.pool.grain(blocks, 4*qBlock), func(lo, hi int) {
		var x [qBlock]float32
		var codes [qBlock]byte
		for c := lo; c < hi; c++ {
			compute.ReadBlock(&x, raw, src, c*qBlock)
			q := codes[:cb]
			if nb == 0 {
				q = bf.q[(b0+c)*cb : (b0+c+1)*cb]
			}
			var s, o [1]uint16
			switch dt {
			case compute.Q8:
				s[0] = compute.QuantizeQ8(q, &x)
			case compute.Q4:
				s[0] = compute.QuantizeQ4(q, &x)
			default:
				s[0], o[0] = compute.QuantizeQ4M(q, &x)
			}
			switch {
			case nb != 0:
				put(c, 1, q, s[:], o[:])
			case dt == compute.Q4M:
				bf.s[b0+c], bf.o[b0+c] = s[0], o[0]
			default:
				bf.s[b0+c] = s[0]
			}
		}
	})
}

// quantChunk is how many blocks the assembly quantizers take at a time when loading: a
// multiple of the 16 blocks scalesQ4 takes together.
const quantChunk = 64

// quantScratch is a loading task's scratch for quantChunk blocks: their float32 values, and
// a value per block for the kernels.
type quantScratch struct {
	x    [quantChunk * qBlock]float32
	amax [quantChunk]uint32
	id   [quantChunk]float32
	best [quantChunk]float32
	xt   [16 * qBlock]float32      // scalesQ4's and quantQ4M16's transposed group of 16 blocks
	q    [quantChunk * qBlock]byte // a grouped matrix's codes before they are put in place
	s    [quantChunk]uint16        // and their scales
	o    [quantChunk]uint16        // and Q4M's offsets
	// quantQ4M16's codes (transposed), a refit's codes, and its scales and offsets.
	codes, tmp [16 * qBlock]int32
	d4m, o4m   [16]float32
}

// quantizeQ8Blocks quantizes the blocks of x into codes q and F16 scales s with the AVX-512
// kernels, bit for bit as compute.QuantizeQ8 does (which is about ten times slower): the
// kernels find each block's largest magnitude and write the codes, the scale and its
// inverse are computed here as QuantizeQ8 computes them. A block holding an infinity or a
// NaN is left to QuantizeQ8. amax and id are scratch, a value per block.
func quantizeQ8Blocks(q []byte, s []uint16, x []float32, amax []uint32, id []float32) {
	nb := len(x) / qBlock
	absMaxQ8Asm(amax[:nb], x)
	special := false
	for b := range nb {
		if amax[b] >= 0x7f800000 {
			special, id[b] = true, 0
			continue
		}
		h := compute.F32ToF16(math.Float32frombits(amax[b]) / 127)
		s[b] = h
		id[b] = 0
		if d := compute.F16ToF32(h); d != 0 {
			id[b] = 1 / d
		}
	}
	codesQ8Asm(q, x, id[:nb])
	if special {
		for b := range nb {
			if amax[b] >= 0x7f800000 {
				s[b] = compute.QuantizeQ8(q[b*qBlock:(b+1)*qBlock], (*[qBlock]float32)(x[b*qBlock:]))
			}
		}
	}
}

// quantizeQ4Blocks quantizes the blocks of x (at most quantChunk) into Q4 codes q and F16
// scales s with the AVX-512 kernels, bit for bit as compute.QuantizeQ4 does: scalesQ4 picks
// each scale, sixteen blocks at a time with each block's sums in QuantizeQ4's order, and
// codesQ4 writes the codes for the scale rounded to F16 here as QuantizeQ4 rounds it.
// The blocks after the last whole group of 16 are left to QuantizeQ4, and so are those the
// kernel does not take (below).
func quantizeQ4Blocks(q []byte, s []uint16, x []float32, sc *quantScratch) {
	nb := len(x) / qBlock
	fast := nb &^ 15
	scalesQ4Asm(sc.best[:fast], sc.amax[:fast], x[:fast*qBlock], &sc.xt)
	// The kernel's arithmetic is IEEE float32 step for step like QuantizeQ4's, but it takes
	// neither of its branches on the largest value: an all-zero block (m = 0) and a NaN
	// (which QuantizeQ4's comparison never picks, and the kernel's comparison of bits ranks
	// above every number). Infinities are left to Go too, and a margin of magnitudes far
	// beyond any weight's (2^±60) with them, which costs nothing.
	inGo := func(b int) bool { return b >= fast || sc.amax[b] < 0x21800000 || sc.amax[b] > 0x5d800000 }
	id := sc.id[:nb]
	for b := range nb {
		if inGo(b) {
			id[b] = 0
			continue
		}
		h := compute.F32ToF16(sc.best[b])
		s[b] = h
		id[b] = 0
		if d := compute.F16ToF32(h); d != 0 {
			id[b] = 1 / d
		}
	}
	codesQ4Asm(q, x, id)
	for b := range nb {
		if inGo(b) {
			s[b] = compute.QuantizeQ4(q[b*qBlock/2:(b+1)*qBlock/2], (*[qBlock]float32)(x[b*qBlock:]))
		}
	}
}

// quantizeQ4MBlocks quantizes the blocks of x (at most quantChunk) into Q4M codes q, F16
// scales s and offsets o with quantQ4M16, 16 blocks at a time (transposed into sc.xt), bit
// for bit as compute.QuantizeQ4M does, which it leaves the blocks after the last whole 16 and
// those holding a value that is not finite.
func quantizeQ4MBlocks(q []byte, s, o []uint16, x []float32, sc *quantScratch) {
	nb := len(x) / qBlock
	for g := 0; g < nb; g += 16 {
		var special uint16 = 0xffff
		if g+16 <= nb {
			for l := range 16 {
				blk := x[(g+l)*qBlock : (g+l+1)*qBlock]
				for i, v := range blk {
					sc.xt[i*16+l] = v
				}
			}
			special = quantQ4M16Asm(sc)
		}
		for l := range min(16, nb-g) {
			b := g + l
			codes := q[b*qBlock/2 : (b+1)*qBlock/2]
			if special&(1<<l) != 0 {
				s[b], o[b] = compute.QuantizeQ4M(codes, (*[qBlock]float32)(x[b*qBlock:]))
				continue
			}
			for j := range codes {
				codes[j] = byte(sc.codes[j*16+l]) | byte(sc.codes[(j+qBlock/2)*16+l])<<4
			}
			s[b], o[b] = compute.F32ToF16(sc.d4m[l]), compute.F32ToF16(sc.o4m[l])
		}
	}
}

// quantizeInput quantizes rows of x (k floats each, k a multiple of qBlock) to int8 blocks:
// codes into xq (k per row) and float32 scales into xd (k/qBlock per row).
func quantizeInput(xq []int8, xd []float32, x []float32) {
	for b := range len(x) / qBlock {
		blk := x[b*qBlock : (b+1)*qBlock]
		var amax float32
		for _, v := range blk {
			amax = max(amax, abs32(v))
		}
		d := amax / 127
		xd[b] = d
		var id float32
		if d != 0 {
			id = 1 / d
		}
		out := xq[b*qBlock : (b+1)*qBlock]
		for i, v := range blk {
			out[i] = int8(min(127, max(-127, compute.RoundHalfAway(v*id))))
		}
	}
}

// abs32 is |v| by clearing the sign bit (no float64 round trip).
func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// dotQ8 returns Σ_b float32(xq_b·wq_b)·(xd_b·wd_b) over nb blocks, the block sums added in
// order. Each block's integer dot product is exact.
func dotQ8(nb int, xq []int8, xd []float32, wq []byte, wd []uint16) float32 {
	xq, wq, xd, wd = xq[:nb*qBlock], wq[:nb*qBlock], xd[:nb], wd[:nb]
	var s float32
	for b := range nb {
		xb := (*[qBlock]int8)(xq[b*qBlock:])
		wb := (*[qBlock]byte)(wq[b*qBlock:])
		var acc int32
		for i := range qBlock {
			acc += int32(xb[i]) * int32(int8(wb[i]))
		}
		d := float32(xd[b] * f16ToF32(wd[b]))
		s += float32(float32(acc) * d)
	}
	return s
}

// dotQ4 is dotQ8 for Q4 weights (codes offset by 8).
func dotQ4(nb int, xq []int8, xd []float32, wq []byte, wd []uint16) float32 {
	xq, wq, xd, wd = xq[:nb*qBlock], wq[:nb*qBlock/2], xd[:nb], wd[:nb]
	var s float32
	for b := range nb {
		xb := (*[qBlock]int8)(xq[b*qBlock:])
		wb := (*[qBlock / 2]byte)(wq[b*qBlock/2:])
		var acc int32
		for j := range qBlock / 2 {
			acc += int32(xb[j])*(int32(wb[j]&15)-8) + int32(xb[j+qBlock/2])*(int32(wb[j]>>4)-8)
		}
		d := float32(xd[b] * f16ToF32(wd[b]))
		s += float32(float32(acc) * d)
	}
	return s
}

// Tiling of the quantized Linear: tasks are qCols weight rows × qRows input rows; inside a
// task, each group of four weight rows (8 KB of Q8 codes at K = 2048) stays in L1 while
// every input row of the task passes it.
const (
	qCols = 16
	qRows = 64
)

// linearQuantized is Linear with quantized weights: the input rows are quantized to int8
// blocks once (and packed for the VNNI kernels), then every output is an int8 block dot
// product (plus, for Q4M, the offsets' part: addOffsetDots).
func (b *Backend) linearQuantized(d, x []float32, m int, w qweight, bias []float32) {
	if w.groups {
		c := b.groupsCall(1)
		c.ps[0] = groupProduct{d: d, w: w, bias: bias}
		b.linearQGroups(x, m, c)
		return
	}
	if b.qset == qsetAMX && w.dt == compute.Q8 && m >= amxQMinRows && m <= amxQRows {
		b.linearQAMX(d, x, m, w, bias)
		return
	}
	k, n := w.k, w.n
	nb := k / qBlock
	vnni := b.qset == qsetVNNI || b.qset == qsetAMX
	// One scratch buffer of float32 holds the scales and the int8 codes: k/4 floats per row,
	// or for the VNNI kernels the packed rows, 2k bytes each; then Q4M's block sums.
	codes := m * k / 4
	if vnni {
		codes = m * k / 2
	}
	sums := 0
	if w.o != nil {
		sums = m * nb
	}
	scratch := b.getScratch(m*nb + codes + sums)
	defer b.putScratch(scratch)
	xd, xs := scratch[:m*nb], scratch[m*nb+codes:]
	// Two views of the code area; a kernel set uses one of them.
	area := unsafe.Pointer(unsafe.SliceData(scratch[m*nb:]))
	xq := unsafe.Slice((*int8)(area), 4*codes)
	xp := unsafe.Slice((*byte)(area), 4*codes)
	b.pool.run(m, b.pool.grain(m, 2*k), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if w.o != nil {
				blockSums(xs[i*nb:(i+1)*nb], x[i*k:(i+1)*k])
			}
			if vnni {
				quantizeQZ(xp[i*2*k:(i+1)*2*k], xd[i*nb:(i+1)*nb], x[i*k:(i+1)*k], w.dt == compute.Q4)
				continue
			}
			quantizeInput(xq[i*k:(i+1)*k], xd[i*nb:(i+1)*nb], x[i*k:(i+1)*k])
		}
	})
	colBlocks := (n + qCols - 1) / qCols
	rowBlocks := (m + qRows - 1) / qRows
	chunk := fewRowsChunk(colBlocks*rowBlocks, k, b.pool.threads)
	b.pool.run(colBlocks*rowBlocks, chunk, func(lo, hi int) {
		for task := lo; task < hi; task++ {
			n0, m0 := (task%colBlocks)*qCols, (task/colBlocks)*qRows
			n1, m1 := min(n0+qCols, n), min(m0+qRows, m)
			for j := n0; j < n1; j += 4 {
				cols := min(4, n1-j)
				wq := w.q[j*w.rowBytes : (j+cols)*w.rowBytes]
				wd := w.s[j*nb : (j+cols)*nb]
				i := m0
				if vnni {
					// Pairs of rows share each weight block's loads and widening.
					for ; i < m1; i += 2 {
						rows := min(2, m1-i)
						tileQZ(w.dt, d[i*n+j:], n, rows, cols, xp[i*2*k:(i+rows)*2*k], 2*k, xd[i*nb:(i+rows)*nb], nb, wq, wd, nb, w.rowBytes)
					}
					continue
				}
				if b.qset != qsetNone {
					// Pairs of rows share each weight block's loads, widening and scale.
					for ; i+2 <= m1; i += 2 {
						tileQSIMD2(b.qset, w.dt, d[i*n+j:], n, cols, xq[i*k:(i+2)*k], xd[i*nb:(i+2)*nb], wq, wd, nb, w.rowBytes)
					}
				}
				for ; i < m1; i++ {
					b.tileQ(w.dt, d[i*n+j:i*n+j+cols], xq[i*k:(i+1)*k], xd[i*nb:(i+1)*nb], wq, wd, nb, w.rowBytes)
				}
			}
			if w.o != nil {
				for i := m0; i < m1; i++ {
					addOffsetDots(b.simd, d[i*n+n0:i*n+n1], w.o[n0*nb:n1*nb], xs[i*nb:(i+1)*nb])
				}
			}
			if bias != nil {
				for i := m0; i < m1; i++ {
					addBias(d[i*n+n0:i*n+n1], bias, n0)
				}
			}
		}
	})
}

// fewRowsChunk is the chunk of the quantized products of few rows, in tasks of 16 weight rows
// of k weights: about 256 KB of codes at Q8's byte a weight (half that of Q4, at the same
// count), as linearQAMX takes, as long as every thread gets a chunk. A thread's kernels
// prefetch the rows after the ones they read, which after a chunk's last task are another
// thread's, and a chunk starts without any: small chunks made the Q4 products markedly
// slower (README, "Speed (CPU)").
func fewRowsChunk(tasks, k, threads int) int {
	return max(1, min((1<<18)/(16*k), (tasks+threads-1)/max(1, threads)))
}

// packQZ writes the int8 codes xq of one input row (a whole number of blocks) in the layout
// the VNNI kernels read, 2·len(xq) bytes. Q8: per pair of blocks their 64 codes and 16
// little-endian int32 corrections, lane l's being -128 times the sum of codes 4l..4l+3; an
// odd last block is its 32 codes and 8 corrections. Q4 (whose kernels split a weight block
// into its low and its high nibbles): the blocks of each whole group of 8 as two quads of 256
// bytes, the first 16 codes of the quad's 4 blocks, then their last 16, then 16 corrections
// (-8 times the sum of lane l's four codes in both halves) and 64 unused bytes; the blocks
// after the groups as pairs (the first 16 codes of both, then the last 16 of both, then 16
// corrections) and an odd last block as Q8's. The kernels multiply the inputs by the codes
// plus 128 (Q8) or 8 (Q4), so the corrections make each block sum the exact signed dot
// product.
func packQZ(dst []byte, xq []int8, q4 bool) {
	nb := len(xq) / qBlock
	dst = dst[:2*len(xq)]
	off := int32(-128)
	if q4 {
		off = -8
	}
	// put copies the chunks src into codes and writes into corr, for each lane of 4 code
	// bytes, off times their sum plus that of the lane len(corr) bytes further on when
	// halves is set (a Q4 quad's two halves share their corrections).
	put := func(codes []byte, corr []byte, halves bool, src ...[]int8) {
		p := 0
		for _, s := range src {
			for _, v := range s {
				codes[p] = byte(v)
				p++
			}
		}
		lanes := len(corr) / 4
		lane := func(l int) int32 {
			return int32(int8(codes[4*l])) + int32(int8(codes[4*l+1])) + int32(int8(codes[4*l+2])) + int32(int8(codes[4*l+3]))
		}
		for l := range lanes {
			sum := lane(l)
			if halves {
				sum += lane(l + lanes)
			}
			binary.LittleEndian.PutUint32(corr[4*l:], uint32(off*sum))
		}
	}
	blk := func(b int) []int8 { return xq[b*qBlock : (b+1)*qBlock] }
	o, b := 0, 0
	if q4 {
		for ; b+8 <= nb; b += 8 {
			for q := b; q < b+8; q += 4 {
				x0, x1, x2, x3 := blk(q), blk(q+1), blk(q+2), blk(q+3)
				put(dst[o:o+128], dst[o+128:o+192], true, x0[:16], x1[:16], x2[:16], x3[:16], x0[16:], x1[16:], x2[16:], x3[16:])
				clear(dst[o+192 : o+256])
				o += 256
			}
		}
	}
	for ; b+2 <= nb; b += 2 {
		x0, x1 := blk(b), blk(b+1)
		if q4 {
			put(dst[o:o+64], dst[o+64:o+128], false, x0[:16], x1[:16], x0[16:], x1[16:])
		} else {
			put(dst[o:o+64], dst[o+64:o+128], false, x0, x1)
		}
		o += 128
	}
	if b < nb {
		put(dst[o:o+32], dst[o+32:o+64], false, blk(b))
	}
}

// tileQ computes c[j] = x·w_j for the len(c) (at most 4) weight rows in wq/wd, with the
// Backend's int8 kernel set.
func (b *Backend) tileQ(dt compute.DType, c []float32, xq []int8, xd []float32, wq []byte, wd []uint16, nb, rowBytes int) {
	if b.qset != qsetNone {
		tileQSIMD(b.qset, dt, c, xq, xd, wq, wd, nb, rowBytes)
		return
	}
	dot := dotQ8
	if dt == compute.Q4 {
		dot = dotQ4
	}
	for j := range c {
		c[j] = dot(nb, xq, xd, wq[j*rowBytes:(j+1)*rowBytes], wd[j*nb:(j+1)*nb])
	}
}

// qSet names a set of int8 dot-product kernels (quantized Linear).
type qSet int

const (
	qsetNone    qSet = iota // the Go kernels of this file
	qsetAVX2                // VPMADDUBSW + VPMADDWD on 256-bit vectors
	qsetAVXVNNI             // qsetAVX2's kernels with AVX-VNNI's VPDPBUSD, the same bits
	qsetVNNI                // VPDPBUSD on 512-bit vectors, two blocks each (AVX-512 VNNI)
	qsetNEON                // arm64 SMULL + SADALP
	qsetDotProd             // arm64 SDOT (ARMv8.2 dotprod)
	qsetAMX                 // Q8 not in row groups from 2 rows on the AMX int8 tiles (amx_int8.go), the rest VNNI
)

// String is the name Backend.Kernels reports for the int8 set.
func (s qSet) String() string {
	switch s {
	case qsetAVX2:
		return "avx2-int8"
	case qsetAVXVNNI:
		return "avx2-int8+avx-vnni"
	case qsetVNNI:
		return "avx512-vnni"
	case qsetNEON:
		return "neon-int8"
	case qsetDotProd:
		return "neon-dotprod"
	case qsetAMX:
		return "avx512-vnni+amx"
	}
	return "generic"
}

// embeddingQuantized is Embedding from a quantized table: each row dequantized (with Q4M's
// offsets).
func (b *Backend) embeddingQuantized(d []float32, w qweight, ids []int32) {
	b.pool.run(len(ids), b.pool.grain(len(ids), w.k), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			w.dequant(d[i*w.k:(i+1)*w.k], int(ids[i]), 0)
		}
	})
}
