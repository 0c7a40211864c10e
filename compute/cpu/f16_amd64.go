//go:build amd64 && !purego

package cpu

import (
	"fmt"
	"unsafe"
)

// f16Asm reports whether set runs the F16C conversions of f16_amd64.s: every assembly set
// does, as every AVX2 CPU has F16C.
func f16Asm(set simdSet) bool { return set != simdNone }

// narrowF16Asm and widenF16Asm convert len(src) values, a multiple of 8.
func narrowF16Asm(dst []uint16, src []float32) {
	cvtF32F16Sat(unsafe.SliceData(dst), unsafe.SliceData(src), len(src))
}

func widenF16Asm(dst []float32, src []uint16) {
	cvtF16F32(unsafe.SliceData(dst), unsafe.SliceData(src), len(dst))
}

// widenRowsF16Asm is widenRowsF16 for w a multiple of 8 (bounds checked by the caller).
func widenRowsF16Asm(dst []float32, w int, src []uint16, lds int) {
	cvtF16F32Rows(unsafe.SliceData(dst), unsafe.SliceData(src), w, len(dst)/w, lds)
}

// cvtF16F32Rows widens rows rows of n F16 values (n a multiple of 8), lds elements apart in
// src, into consecutive rows of dst.
//
//go:noescape
func cvtF16F32Rows(dst *float32, src *uint16, n, rows, lds int)

// cvtF32F16Sat rounds n float32 (n a multiple of 8) to F16, saturating at ±65504.
//
//go:noescape
func cvtF32F16Sat(dst *uint16, src *float32, n int)

// cvtF16F32 widens n F16 values (n a multiple of 8) to float32.
//
//go:noescape
func cvtF16F32(dst *float32, src *uint16, n int)

// attnRowsF16 reports whether set has the kernels that read an F16 cache row by row in a
// decoding step's Attention (scoresRowF16, accRowsF16): the AVX-512 set, whose tiles' bits
// they give.
func attnRowsF16(set simdSet) bool { return set == simdAVX512 }

// scoresRowF16 sets c[h·ldc] = q[h·n:(h+1)·n]·k[h·kstep:h·kstep+n] for h < heads, the keys
// widened in registers, with the bits tileSIMD gives the widened keys on the AVX-512 set
// (n a multiple of 16, at most dotBlock), and prefetches the keys pf elements on.
func scoresRowF16(n int, q []float32, k []uint16, heads, kstep int, c []float32, ldc, pf int) {
	if n <= 0 || n%16 != 0 || n > dotBlock {
		panic(fmt.Sprintf("cpu: F16 key rows of %d, not a multiple of 16 up to %d", n, dotBlock))
	}
	_, _, _ = q[heads*n-1], k[(heads-1)*kstep+n-1], c[(heads-1)*ldc]
	scoresF16x16(n, unsafe.SliceData(q), unsafe.SliceData(k), heads, 2*kstep, unsafe.SliceData(c), 4*ldc, 2*pf)
}

// accRowsF16 adds p[h·pstep+j]·v[j·ldv+h·vstep+i] to out[h·n+i] for h < heads, j < rows in
// order and i < n (a multiple of 64), one fused multiply-add each as accRowsSIMD does, and
// prefetches the values pf elements on.
func accRowsF16(n int, p []float32, pstep int, v []uint16, ldv, rows, heads, vstep int, out []float32, pf int) {
	if rows <= 0 || heads <= 0 {
		return
	}
	if n%64 != 0 {
		panic(fmt.Sprintf("cpu: F16 value rows of %d, not a multiple of 64", n))
	}
	_, _, _ = p[(heads-1)*pstep+rows-1], v[(rows-1)*ldv+(heads-1)*vstep+n-1], out[heads*n-1]
	if n%128 == 0 {
		accF16x128(n, unsafe.SliceData(p), 4*pstep, unsafe.SliceData(v), 2*ldv, rows, heads, 2*vstep, unsafe.SliceData(out), 2*pf)
		return
	}
	accF16x64(n, unsafe.SliceData(p), 4*pstep, unsafe.SliceData(v), 2*ldv, rows, heads, 2*vstep, unsafe.SliceData(out), 2*pf)
}

// offsetAsm reports whether set runs the kernels of addOffsetDots, offsetDotsF16 (F16C on
// 256-bit vectors) or on the AVX-512 set offsetDotsF16Z: every assembly set does.
func offsetAsm(set simdSet) bool { return set != simdNone }

// offsetDotsAsm adds to d[r] the dot product of o[r·ldo : r·ldo+len(xs)] (F16) with xs, for
// r < len(d), on the set's kernel; len(xs) is a multiple of 16.
func offsetDotsAsm(set simdSet, d []float32, o []uint16, xs []float32, ldo int) {
	if len(xs) == 0 || len(d) == 0 {
		return
	}
	_ = o[(len(d)-1)*ldo+len(xs)-1]
	f := offsetDotsF16
	if set == simdAVX512 {
		f = offsetDotsF16Z
	}
	f(len(d), unsafe.SliceData(o), 2*ldo, unsafe.SliceData(xs), len(xs), unsafe.SliceData(d))
}

// offsetRowsAsm reports whether set runs offsetRowsG, the kernel of linearOffsets for
// grouped matrices: the AVX-512 set does.
func offsetRowsAsm(set simdSet) bool { return set == simdAVX512 }

// offsetRowsGroupAsm adds to d[i·ldd+r] (r < 16, i < rows) one group's offsets o (block b's
// 16 at o[16b:]) times row i of the block sums xs (nb a row), on offsetRowsG.
func offsetRowsGroupAsm(d []float32, ldd int, o []uint16, xs []float32, nb, rows int) {
	if rows == 0 || nb == 0 {
		return
	}
	_, _, _ = o[qGroupRows*nb-1], xs[(rows-1)*nb+nb-1], d[(rows-1)*ldd+qGroupRows-1]
	offsetRowsG(rows, nb, unsafe.SliceData(o), unsafe.SliceData(xs), 4*nb, unsafe.SliceData(d), 4*ldd)
}
