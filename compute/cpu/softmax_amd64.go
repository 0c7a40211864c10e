//go:build amd64 && !purego

package cpu

import (
	"math"
	"unsafe"
)

// The passes of softmaxRowWide over a multiple of 8 values (assembly: asmgen's
// softmaxKernels; softmax_other.go has their Go form, the same arithmetic).

// scaleMax8 multiplies x by scale and returns its max (-Inf for none).
func scaleMax8(x []float32, scale float32) float32 {
	if len(x) == 0 {
		return float32(math.Inf(-1))
	}
	return scaleMaxF32(len(x), unsafe.SliceData(x), scale)
}

// expSum8 sets x[i] = e^(x[i]-shift) and returns the sum, lane by lane (8 lanes) then
// ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)).
func expSum8(x []float32, shift float32) float32 {
	if len(x) == 0 {
		return 0
	}
	return expSumF32(len(x), unsafe.SliceData(x), shift)
}

// scale8 multiplies x by s.
func scale8(x []float32, s float32) {
	if len(x) > 0 {
		scaleF32(len(x), unsafe.SliceData(x), s)
	}
}
