//go:build !amd64 || purego

package cpu

// attnRowsQ8 is false: no row-by-row Q8 Attention kernels in this build.
func attnRowsQ8(set simdSet) bool { return false }

// scoresRowQ8 and accRowsQ8 are never called here (attnRowsQ8 is false).
func scoresRowQ8(n int, q []float32, k []byte, ks []uint16, heads, kstep int, c []float32, ldc, pf int) {
	panic("cpu: no row-by-row Q8 Attention kernels in this build")
}

func accRowsQ8(n int, p []float32, pstep int, v []byte, vs []uint16, ldv, rows, heads, vstep int, out []float32, pf int) {
	panic("cpu: no row-by-row Q8 Attention kernels in this build")
}
