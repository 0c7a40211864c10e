//go:build amd64 && !purego

package cpu

import "unsafe"

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
