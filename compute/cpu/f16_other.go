//go:build (!amd64 && !arm64) || purego

package cpu

// f16Asm is false: this build converts F16 in Go.
func f16Asm(set simdSet) bool { return false }

func narrowF16Asm(dst []uint16, src []float32) { panic("cpu: no F16 assembly in this build") }

func widenF16Asm(dst []float32, src []uint16) { panic("cpu: no F16 assembly in this build") }

func widenRowsF16Asm(dst []float32, w int, src []uint16, lds int) {
	panic("cpu: no F16 assembly in this build")
}
