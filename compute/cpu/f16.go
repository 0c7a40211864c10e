package cpu

import (
	"fmt"

	"github.com/janus-desktop/janus/compute"
)

// F16 key/value caches: CopyRows narrows float32 rows into an F16 tensor, and Attention
// widens blocks of F16 rows back into float32 scratch before the float32 kernels run on
// them, so an F16 cache gives exactly the results of a float32 cache holding the rounded
// values.

// f16Max is the largest finite F16 value. CopyRows saturates larger magnitudes to it
// (infinities included) rather than storing infinities, which would turn every score of a
// key, and every output weighted by a value, into NaN; NaN stays NaN.
const f16Max = 65504

// f32ToF16Sat rounds f to the nearest F16, ties to even, saturating at ±f16Max.
func f32ToF16Sat(f float32) uint16 {
	if f > f16Max {
		f = f16Max
	} else if f < -f16Max {
		f = -f16Max
	}
	return compute.F32ToF16(f)
}

// narrowF16 rounds src into dst (len(dst) == len(src)) like f32ToF16Sat: with VCVTPS2PH
// where set has the assembly kernels (F16C comes with AVX2), in Go elsewhere; the bits are
// the same.
func narrowF16(set simdSet, dst []uint16, src []float32) {
	dst = dst[:len(src)]
	n := 0
	if f16Asm(set) {
		n = len(src) &^ 7
		if n > 0 {
			narrowF16Asm(dst[:n], src[:n])
		}
	}
	for i := n; i < len(src); i++ {
		dst[i] = f32ToF16Sat(src[i])
	}
}

// widenF16 converts src into dst (len(dst) == len(src)) exactly: VCVTPH2PS where set has
// the assembly kernels, in Go elsewhere.
func widenF16(set simdSet, dst []float32, src []uint16) {
	src = src[:len(dst)]
	n := 0
	if f16Asm(set) {
		n = len(dst) &^ 7
		if n > 0 {
			widenF16Asm(dst[:n], src[:n])
		}
	}
	for i := n; i < len(dst); i++ {
		dst[i] = f16ToF32(src[i])
	}
}

// f16s returns the elements of the F16 cpu tensor t, panicking like f32 for another dtype.
func f16s(op, arg string, t *Tensor) []uint16 {
	if t == nil {
		panic(fmt.Sprintf("cpu: %s: %s is nil", op, arg))
	}
	bf, ok := t.Buf.(*buffer)
	if !ok || t.DType != compute.F16 {
		panic(fmt.Sprintf("cpu: %s: %s is %v (buffer %T), want an F16 cpu tensor", op, arg, t, t.Buf))
	}
	if bf.h == nil && t.Len() > 0 {
		panic(fmt.Sprintf("cpu: %s: %s %v was freed", op, arg, t))
	}
	if len(bf.h) != t.Len() {
		panic(fmt.Sprintf("cpu: %s: %s %v has a buffer of %d elements", op, arg, t, len(bf.h)))
	}
	return bf.h
}

// widenRowsF16 widens len(dst)/w rows of w F16 values, lds apart in src, into dst (rows w
// apart): widenF16 row by row, in one assembly call where set has the F16C kernels.
func widenRowsF16(set simdSet, dst []float32, w int, src []uint16, lds int) {
	rows := len(dst) / w
	if rows == 0 {
		return
	}
	_ = src[(rows-1)*lds+w-1]
	if f16Asm(set) && w%8 == 0 {
		widenRowsF16Asm(dst, w, src, lds)
		return
	}
	for r := range rows {
		widenF16(set, dst[r*w:(r+1)*w], src[r*lds:r*lds+w])
	}
}
