package cpu

import "math"

// The offsets' part of a product with Q4M weights. A Q4M value is d·(code−8) + o, so a row's
// product with x is Q4's, Σ_b d_b·Σ (code−8)·x, plus Σ_b o_b·Σ_{i∈b} x_i, taken from float32
// sums of the input's blocks (blockSums), not of its int8 codes, so the offsets' part does not
// carry the input's quantization error. The int8 kernels compute the first part, quantizing
// x as for Q4; the grouped ones (dotQ4MG…) add the second block by block, and for matrices
// stored row after row addOffsetDots adds it in a pass of its own. Of the many-row products,
// the exact ones read dequantized weights (addBlockOffsets), which hold the offsets, and the
// BF16 ones take Q4's part, then linearOffsets.

// blockSums writes into xs the sum of each block of qBlock values of x: eight partial sums
// of every eighth value, added pairwise, so that the additions do not wait on each other.
func blockSums(xs, x []float32) {
	for b := range xs {
		blk := (*[qBlock]float32)(x[b*qBlock:])
		var p [8]float32
		for i := 0; i < qBlock; i += 8 {
			p[0] += blk[i]
			p[1] += blk[i+1]
			p[2] += blk[i+2]
			p[3] += blk[i+3]
			p[4] += blk[i+4]
			p[5] += blk[i+5]
			p[6] += blk[i+6]
			p[7] += blk[i+7]
		}
		xs[b] = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]))
	}
}

// addOffsetDots adds to d[r] the dot product of row r of the F16 offsets o (nb = len(xs) a
// row) with xs, for r < len(d). Its columns up to the last multiple of 16 run on set's
// kernel where it has one (offsetAsm), else on offsetDotGo, which gives those kernels' bits
// (so every kernel set computes the same offsets); the few columns after them in order.
func addOffsetDots(set simdSet, d []float32, o []uint16, xs []float32) {
	nb := len(xs)
	if len(d) == 0 || nb == 0 {
		return
	}
	o = o[:len(d)*nb]
	b0 := nb &^ 15
	if b0 > 0 {
		if offsetAsm(set) {
			offsetDotsAsm(set, d, o, xs[:b0], nb)
		} else {
			for r := range d {
				d[r] = offsetDotGo(o[r*nb:r*nb+b0], xs[:b0]) + d[r]
			}
		}
	}
	if b0 == nb {
		return
	}
	for r := range d {
		var s float32
		for b, h := range o[r*nb+b0 : (r+1)*nb] {
			s += float32(f16ToF32(h) * xs[b0+b])
		}
		d[r] += s
	}
}

// offsetDotGo is the kernels' dot product of offsets o and sums xs (a multiple of 16 each)
// in Go: 16 lanes, lane l taking every 16th column from l with a fused multiply-add; lane
// l+8 added to lane l; then those eight added pairwise as the kernels' VHADDPS steps add
// them.
func offsetDotGo(o []uint16, xs []float32) float32 {
	var l [16]float32
	for b := 0; b+16 <= len(xs); b += 16 {
		for i := range l {
			l[i] = float32(math.FMA(float64(f16ToF32(o[b+i])), float64(xs[b+i]), float64(l[i])))
		}
	}
	var t [8]float32
	for i := range t {
		t[i] = l[i] + l[i+8]
	}
	return float32(float32(t[0]+t[1])+float32(t[2]+t[3])) + float32(float32(t[4]+t[5])+float32(t[6]+t[7]))
}

// linearOffsets adds the offsets' part of a product of m rows of x with the Q4M matrix w to d
// [m, w.n], for the BF16 mode's products of many rows, which take Q4's part on their own: the
// rows' block sums times the offsets. A grouped matrix's run on offsetRowsG (the BF16 mode
// runs on the AVX-512 set only), 16 weight rows a vector and no sums across lanes; one stored
// row after row as a float32 product of K = k/qBlock on the exact precision's tiles (made
// for long K, slow here), the offsets widened a panel of gemmCols rows at a time.
func (b *Backend) linearOffsets(d, x []float32, m int, w qweight) {
	n, k, nb := w.n, w.k, w.k/qBlock
	xs := b.getScratch(m * nb)
	defer b.putScratch(xs)
	b.pool.run(m, b.pool.grain(m, k), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			blockSums(xs[i*nb:(i+1)*nb], x[i*k:(i+1)*k])
		}
	})
	colBlocks := (n + gemmCols - 1) / gemmCols
	rowBlocks := (m + gemmRows - 1) / gemmRows
	check(!w.groups || offsetRowsAsm(b.simd), "Linear", "grouped Q4M offsets without offsetRowsG (kernels %v)", b.simd)
	b.pool.run(colBlocks*rowBlocks, 1, func(lo, hi int) {
		panel := b.getScratch(gemmCols * nb)
		defer b.putScratch(panel)
		for task := lo; task < hi; task++ {
			n0, m0 := (task%colBlocks)*gemmCols, (task/colBlocks)*gemmRows
			n1, m1 := min(n0+gemmCols, n), min(m0+gemmRows, m)
			if w.groups {
				for g := n0; g < n1; g += qGroupRows { // whole groups: n is a multiple of 16
					offsetRowsGroupAsm(d[m0*n+g:], n, w.groupQ4MOffsets(g/qGroupRows, 1), xs[m0*nb:], nb, m1-m0)
				}
				continue
			}
			widenF16(b.simd, panel[:(n1-n0)*nb], w.o[n0*nb:n1*nb])
			b.tile(d[m0*n+n0:], n, xs[m0*nb:], nb, panel, nb, m1-m0, n1-n0, nb, true)
		}
	})
}
