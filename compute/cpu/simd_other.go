//go:build (!amd64 && !arm64) || purego

package cpu

import "github.com/janus-desktop/janus/compute"

// simdBest reports that this build has no assembly kernels.
func simdBest() simdSet { return simdNone }

// tileSIMD is never called without assembly kernels (simdBest is simdNone).
func tileSIMD(set simdSet, c []float32, ldc int, a []float32, lda int, b []float32, ldb int, rows, cols, k int, acc bool) {
	panic("cpu: no SIMD kernels in this build")
}

// tileBF16SIMD is never called without assembly kernels (simdBest is simdNone).
func tileBF16SIMD(set simdSet, c []float32, ldc int, a []float32, lda int, b []uint16, ldb int, rows, cols, k int, acc bool) {
	panic("cpu: no SIMD kernels in this build")
}

// accRowsSIMD is never called without assembly kernels (simdBest is simdNone).
func accRowsSIMD(out, p, v []float32, ldv int) { panic("cpu: no SIMD kernels in this build") }

// expShiftSIMD is never called without assembly kernels (simdBest is simdNone).
func expShiftSIMD(x []float32, shift float32) { panic("cpu: no SIMD kernels in this build") }

// siluSIMD is never called without assembly kernels (simdBest is simdNone).
func siluSIMD(y, x []float32) { panic("cpu: no SIMD kernels in this build") }

// geluSIMD is never called without assembly kernels (simdBest is simdNone).
func geluSIMD(y, x []float32) { panic("cpu: no SIMD kernels in this build") }

// qsetBest reports that this build has no int8 assembly kernels.
func qsetBest() qSet { return qsetNone }

// tileQSIMD is never called without int8 assembly kernels (qsetBest is qsetNone).
func tileQSIMD(set qSet, dt compute.DType, c []float32, xq []int8, xd []float32, wq []byte, wd []uint16, nb, rowBytes int) {
	panic("cpu: no int8 SIMD kernels in this build")
}

// dequantSIMD reports false: this build dequantizes in Go.
func dequantSIMD(dst []float32, dt compute.DType, q []byte, s []uint16, b0 int) bool {
	return false
}

// tileQSIMD2 is never called without int8 assembly kernels (qsetBest is qsetNone).
func tileQSIMD2(set qSet, dt compute.DType, c []float32, ldc, cols int, xq []int8, xd []float32, wq []byte, wd []uint16, nb, rowBytes int) {
	panic("cpu: no int8 SIMD kernels in this build")
}
