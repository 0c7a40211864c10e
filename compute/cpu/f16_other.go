//go:build (!amd64 && !arm64) || purego

package cpu

// f16Asm is false: this build converts F16 in Go.
func f16Asm(set simdSet) bool { return false }

func narrowF16Asm(dst []uint16, src []float32) { panic("cpu: no F16 assembly in this build") }

func widenF16Asm(dst []float32, src []uint16) { panic("cpu: no F16 assembly in this build") }

func widenRowsF16Asm(dst []float32, w int, src []uint16, lds int) {
	panic("cpu: no F16 assembly in this build")
}

// attnRowsF16 is false: no row-by-row F16 Attention kernels in this build.
func attnRowsF16(set simdSet) bool { return false }

// scoresRowF16 and accRowsF16 are never called here (attnRowsF16 is false).
func scoresRowF16(n int, q []float32, k []uint16, heads, kstep int, c []float32, ldc, pf int) {
	panic("cpu: no row-by-row F16 Attention kernels in this build")
}

func accRowsF16(n int, p []float32, pstep int, v []uint16, ldv, rows, heads, vstep int, out []float32, pf int) {
	panic("cpu: no row-by-row F16 Attention kernels in this build")
}

// offsetAsm is false: addOffsetDots runs in Go in this build.
func offsetAsm(set simdSet) bool { return false }

// offsetDotsAsm is never called here (offsetAsm is false).
func offsetDotsAsm(set simdSet, d []float32, o []uint16, xs []float32, ldo int) {
	panic("cpu: no F16 offset kernel in this build")
}

// offsetRowsAsm is false: no offsetRowsG in this build (nor grouped matrices).
func offsetRowsAsm(set simdSet) bool { return false }

// offsetRowsGroupAsm is never called here (offsetRowsAsm is false).
func offsetRowsGroupAsm(d []float32, ldd int, o []uint16, xs []float32, nb, rows int) {
	panic("cpu: no offsetRowsG in this build")
}
