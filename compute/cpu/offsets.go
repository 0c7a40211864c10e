package cpu

import "math"

// The offsets' part of a product with Q4M weights. A Q4M value is d·(code−8) + o, so a row's
// product with x is Q4's, Σ_b d_b·Σ (code−8)·x, plus Σ_b o_b·Σ_{i∈b} x_i: the int8 kernels
// compute the first, quantizing x as for Q4, and addOffsetDots the second from the exact
// float32 sums of x's blocks (blockSums), so the offsets add no input rounding. The many-row
// products read dequantized weights (addBlockOffsets), which hold the offsets already.

// blockSums writes into xs the sum of each block of qBlock values of x, in order.
func blockSums(xs, x []float32) {
	for b := range xs {
		var s float32
		for _, v := range x[b*qBlock : (b+1)*qBlock] {
			s += v
		}
		xs[b] = s
	}
}

// addOffsetDots adds to d[r] the dot product of row r of the F16 offsets o (nb = len(xs) a
// row) with xs, for r < len(d). Its columns up to the last multiple of 8 run on the F16C
// kernel where asm is set (offsetAsm), else on offsetDotGo, which gives that kernel's bits
// (so every kernel set computes the same offsets); the few columns after them in order.
func addOffsetDots(d []float32, o []uint16, xs []float32, asm bool) {
	nb := len(xs)
	if len(d) == 0 || nb == 0 {
		return
	}
	o = o[:len(d)*nb]
	b0 := nb &^ 7
	if b0 > 0 {
		if asm {
			offsetDotsAsm(d, o, xs[:b0], nb)
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

// offsetDotGo is the F16C kernel's dot product of offsets o and sums xs (a multiple of 8
// each) in Go: eight lanes, lane l taking every eighth column from l with a fused
// multiply-add, then the lanes added pairwise as its VHADDPS tree adds them.
func offsetDotGo(o []uint16, xs []float32) float32 {
	var l [8]float32
	for b := 0; b+8 <= len(xs); b += 8 {
		for i := range l {
			l[i] = float32(math.FMA(float64(f16ToF32(o[b+i])), float64(xs[b+i]), float64(l[i])))
		}
	}
	return float32(float32(l[0]+l[1])+float32(l[2]+l[3])) + float32(float32(l[4]+l[5])+float32(l[6]+l[7]))
}
