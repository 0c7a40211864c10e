//go:build !amd64 || purego

package cpu

import "math"

// hasBF16 is false: the BF16 kernels are amd64 assembly.
func hasBF16() bool { return false }

// dotPairs is the Go model; it only runs in tests here, since the BF16 mode needs hasBF16.
func dotPairs(kp int, w []uint16, ldw, rows int, x []uint32, width int, c []float32) {
	dotPairsGo(kp, w, ldw, rows, x, width, c)
}

// cvtBF16 rounds src into dst like bf16Bits.
func cvtBF16(dst []uint16, src []float32) {
	for i, f := range src {
		dst[i] = bf16Bits(f)
	}
}

// packBF16Rows16 reports false: packPanelFMA's loop does the work.
func packBF16Rows16(p []float32, w []uint16, ldw, kl int) bool { return kl == 0 }

// fmaPairs is the Go model; the BF16 mode never runs here (hasBF16 is false).
func fmaPairs(kp int, x []float32, ldx, rows int, p []float32, c []float32, ldc int, acc bool) {
	fmaPairsGo(kp, x, ldx, rows, p, c, ldc, acc)
}

// roundBF16 rounds x to BF16 values in place like bf16Bits.
func roundBF16(x []float32) {
	for i, f := range x {
		x[i] = math.Float32frombits(uint32(bf16Bits(f)) << 16)
	}
}

// dotBF16Fast is false where hasBF16 is.
func dotBF16Fast() bool { return false }

// q4Fours is false: the grouped int8 kernels are amd64 assembly.
func q4Fours() bool { return false }

// q4Kicks is false: the grouped int8 kernels are amd64 assembly.
func q4Kicks() bool { return false }

// q8Far is false: the grouped int8 kernels are amd64 assembly.
func q8Far() bool { return false }

// int8Prompts is false: there is no BF16 mode here.
func int8Prompts() bool { return false }

// pairPanel reports false: the BF16 mode's VDPBF16PS path needs hasBF16.
func pairPanel(kp int, x []float32, offs []int32, p []uint32) bool { return kp == 0 }

// storeBias writes dst[i] = src[i] + bias for every i of dst (len(src) == len(dst)).
func storeBias(dst, src []float32, bias float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = src[i] + bias
	}
}
