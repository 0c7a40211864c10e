//go:build amd64 && !purego

package cpu

import (
	"math"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// hasBF16 reports whether this CPU runs the BF16 kernels: AVX512_BF16 on top of the
// AVX-512 set (x/sys/cpu also checks that the OS saves the ZMM registers).
func hasBF16() bool {
	return cpu.X86.HasAVX512BF16 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL
}

// dotPairs runs the micro-kernel of panel width width (16, 32 or 48): c[i*width+l] for
// i < 8, l < width, the dot product over kp BF16 pairs of w row min(i, rows-1) (rows ldw
// apart) and panel column l (see dotPairsGo, the Go model it equals bit for bit).
func dotPairs(kp int, w []uint16, ldw, rows int, x []uint32, width int, c []float32) {
	if kp == 0 {
		clear(c[:bf16W*width])
		return
	}
	_, _, _ = w[(rows-1)*ldw+2*kp-1], x[kp*width-1], c[bf16W*width-1]
	pw, px, pc := unsafe.SliceData(w), unsafe.SliceData(x), unsafe.SliceData(c)
	switch width {
	case 16:
		dotBF16Pairs8x16(kp, pw, ldw, rows, px, pc)
	case 32:
		dotBF16Pairs8x32(kp, pw, ldw, rows, px, pc)
	case 48:
		dotBF16Pairs8x48(kp, pw, ldw, rows, px, pc)
	default:
		panic("cpu: dotPairs: panel width not 16, 32 or 48")
	}
}

// cvtBF16 rounds src into dst like bf16Bits; len(src) == len(dst), a multiple of 32.
func cvtBF16(dst []uint16, src []float32) {
	if len(src) == 0 {
		return
	}
	_ = dst[len(src)-1]
	if hasBF16() {
		cvtF32BF16(len(src), unsafe.SliceData(src), unsafe.SliceData(dst))
		return
	}
	for i, f := range src {
		dst[i] = bf16Bits(f)
	}
}

// fmaTiles are the FMA micro-kernels of the BF16 mode by row count - 1.
var fmaTiles = [fmaRows]func(kp int, x *float32, ldx int, p *float32, c *float32, ldc int, acc bool){
	fmaPairs6x64R1, fmaPairs6x64R2, fmaPairs6x64R3, fmaPairs6x64R4, fmaPairs6x64R5, fmaPairs6x64R6,
}

// fmaPairs runs the FMA micro-kernel on rows ≤ fmaRows rows of x (ldx apart): c[i*ldc+j]
// (+)= Σ_k x_i[k]·p[k*fmaCols+j] for j < fmaCols over k < 2·kp in pair order (see
// fmaPairsGo, the model it equals bit for bit).
func fmaPairs(kp int, x []float32, ldx, rows int, p []float32, c []float32, ldc int, acc bool) {
	if rows <= 0 {
		return
	}
	if kp > 0 {
		_, _ = x[(rows-1)*ldx+2*kp-1], p[2*kp*fmaCols-1]
	}
	_ = c[(rows-1)*ldc+fmaCols-1]
	fmaTiles[rows-1](kp, unsafe.SliceData(x), ldx, unsafe.SliceData(p), unsafe.SliceData(c), ldc, acc)
}

// packBF16Rows16 writes 16 BF16 rows of w (ldw apart), elements 0..kl (kl a multiple of
// 16), widened into the FMA panel p at column offset 0: p[kk*fmaCols+jj] = w[jj][kk].
func packBF16Rows16(p []float32, w []uint16, ldw, kl int) bool {
	if kl == 0 || kl%16 != 0 {
		return kl == 0
	}
	_, _ = w[15*ldw+kl-1], p[(kl-1)*fmaCols+15]
	packBF16T(kl/16, unsafe.SliceData(w), ldw, unsafe.SliceData(p))
	return true
}

// roundBF16 rounds x to BF16 values in place like bf16Bits (len(x) a multiple of 32 goes
// through VCVTNE2PS2BF16, the rest through bf16Bits).
func roundBF16(x []float32) {
	n32 := len(x) &^ 31
	if n32 > 0 && hasBF16() {
		roundF32BF16(n32, unsafe.SliceData(x))
	} else {
		n32 = 0
	}
	for i := n32; i < len(x); i++ {
		x[i] = math.Float32frombits(uint32(bf16Bits(x[i])) << 16)
	}
}

// pairPanel writes the packed panel of a row panel of pixels (convGeometry.rowPanel) from x,
// which starts at the first pixel's patch: the image itself where the panel reads no padding,
// else its strip. Pair q of pixel l goes to p[q*bf16Panel+l], patch values 2q and 2q+1 (at
// offs, increasing) rounded like bf16Bits, for q < kp. It reports false, writing nothing,
// without AVX512_BF16.
func pairPanel(kp int, x []float32, offs []int32, p []uint32) bool {
	if !hasBF16() || kp == 0 {
		return kp == 0
	}
	_, _ = x[int(offs[2*kp-1])+bf16Panel-1], p[kp*bf16Panel-1]
	pairPanel48(kp, unsafe.SliceData(x), unsafe.SliceData(offs), unsafe.SliceData(p))
	return true
}

// storeBias writes dst[i] = src[i] + bias for every i of dst (len(src) == len(dst)).
func storeBias(dst, src []float32, bias float32) {
	if len(dst) == 0 {
		return
	}
	_ = src[len(dst)-1]
	if cpu.X86.HasAVX512F { // the kernel's whole need; its sums are the Go loop's
		storeBiasF32(len(dst), unsafe.SliceData(src), bias, unsafe.SliceData(dst))
		return
	}
	for i := range dst {
		dst[i] = src[i] + bias
	}
}
