//go:build !amd64 || purego

package cpu

// simdName reports that this build has no assembly kernels (arm64 NEON is not written yet).
func simdName() string { return "" }

// tileSIMD is never called without assembly kernels (simdName is "").
func tileSIMD(c []float32, ldc int, a []float32, lda int, b []float32, ldb int, rows, cols, k int, acc bool) {
	panic("cpu: no SIMD kernels in this build")
}

// tileBF16SIMD is never called without assembly kernels (simdName is "").
func tileBF16SIMD(c []float32, ldc int, a []float32, lda int, b []uint16, ldb int, rows, cols, k int, acc bool) {
	panic("cpu: no SIMD kernels in this build")
}

// accRowsSIMD is never called without assembly kernels (simdName is "").
func accRowsSIMD(out, p, v []float32, ldv int) { panic("cpu: no SIMD kernels in this build") }

// expShiftSIMD is never called without assembly kernels (simdName is "").
func expShiftSIMD(x []float32, shift float32) { panic("cpu: no SIMD kernels in this build") }

// siluSIMD is never called without assembly kernels (simdName is "").
func siluSIMD(y, x []float32) { panic("cpu: no SIMD kernels in this build") }

// geluSIMD is never called without assembly kernels (simdName is "").
func geluSIMD(y, x []float32) { panic("cpu: no SIMD kernels in this build") }
