//go:build arm64 && !purego

package cpu

import "unsafe"

// f16Asm reports whether set runs the FCVTL widening of f16_arm64.s: the NEON set does.
// Narrowing (CopyRows, one row per layer and token step) stays in Go here.
func f16Asm(set simdSet) bool { return set == simdNEON }

// narrowF16Asm is never called: narrowF16 converts in Go on arm64.
func narrowF16Asm(dst []uint16, src []float32) {
	for i, f := range src {
		dst[i] = f32ToF16Sat(f)
	}
}

// widenF16Asm and widenRowsF16Asm convert len(dst) values (rows of w), multiples of 8.
func widenF16Asm(dst []float32, src []uint16) {
	cvtF16F32(unsafe.SliceData(dst), unsafe.SliceData(src), len(dst))
}

func widenRowsF16Asm(dst []float32, w int, src []uint16, lds int) {
	cvtF16F32Rows(unsafe.SliceData(dst), unsafe.SliceData(src), w, len(dst)/w, lds)
}

// cvtF16F32 widens n F16 values (n a multiple of 8) to float32.
//
//go:noescape
func cvtF16F32(dst *float32, src *uint16, n int)

// cvtF16F32Rows widens rows rows of n F16 values (n a multiple of 8), lds elements apart in
// src, into consecutive rows of dst.
//
//go:noescape
func cvtF16F32Rows(dst *float32, src *uint16, n, rows, lds int)

// attnRowsF16 is false: no row-by-row F16 Attention kernels in this build.
func attnRowsF16(set simdSet) bool { return false }

// scoresRowF16 and accRowsF16 are never called here (attnRowsF16 is false).
func scoresRowF16(n int, q []float32, k []uint16, heads, kstep int, c []float32, ldc, pf int) {
	panic("cpu: no row-by-row F16 Attention kernels in this build")
}

func accRowsF16(n int, p []float32, pstep int, v []uint16, ldv, rows, heads, vstep int, out []float32, pf int) {
	panic("cpu: no row-by-row F16 Attention kernels in this build")
}

// offsetAsm reports whether set runs offsetDotsNEON, the kernel of addOffsetDots: the NEON
// set does.
func offsetAsm(set simdSet) bool { return set == simdNEON }

// offsetDotsAsm adds to d[r] the dot product of o[r·ldo : r·ldo+len(xs)] (F16) with xs, for
// r < len(d); len(xs) is a multiple of 16.
func offsetDotsAsm(set simdSet, d []float32, o []uint16, xs []float32, ldo int) {
	if len(xs) == 0 || len(d) == 0 {
		return
	}
	_ = o[(len(d)-1)*ldo+len(xs)-1]
	offsetDotsNEON(len(d), unsafe.SliceData(o), 2*ldo, unsafe.SliceData(xs), len(xs), unsafe.SliceData(d))
}

// offsetDotsNEON is in f16_arm64.s: n rows, ldo bytes apart.
//
//go:noescape
func offsetDotsNEON(n int, o *uint16, ldo int, xs *float32, nb int, d *float32)

// offsetRowsAsm is false: no offsetRowsG in this build (nor grouped matrices).
func offsetRowsAsm(set simdSet) bool { return false }

// offsetRowsGroupAsm is never called here (offsetRowsAsm is false).
func offsetRowsGroupAsm(d []float32, ldd int, o []uint16, xs []float32, nb, rows int) {
	panic("cpu: no offsetRowsG in this build")
}
