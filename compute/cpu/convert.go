package cpu

import "github.com/janus-desktop/janus/compute"

// Short names for compute's element conversions, which the kernels call in their inner
// loops (each is small enough to inline).

func bf16ToF32(h uint16) float32 { return compute.BF16ToF32(h) }

func f32ToBF16(f float32) uint16 { return compute.F32ToBF16(f) }

func f16ToF32(h uint16) float32 { return compute.F16ToF32(h) }

func f32ToF16(f float32) uint16 { return compute.F32ToF16(f) }

// widen converts a row of F16 or BF16 elements to float32.
func widen(dst []float32, src []uint16, bf16 bool) {
	src = src[:len(dst)]
	if bf16 {
		widenBF16(dst, src)
		return
	}
	for i, h := range src {
		dst[i] = f16ToF32(h)
	}
}
