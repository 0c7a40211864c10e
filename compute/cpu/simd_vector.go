//go:build (amd64 || arm64) && !purego

package cpu

import "unsafe"

// The elementwise and V-sum kernels have the same Go declarations on amd64
// (kernels_amd64_stubs.go) and arm64 (simd_arm64.go), and give the same bits; these wrappers
// around them are shared.

// accRowsSIMD adds p[j]·v[j*ldv : j*ldv+len(out)] to out for j < len(p) in order of j, one
// fused multiply-add per term; len(out) must be a multiple of 8.
func accRowsSIMD(out, p, v []float32, ldv int) {
	if len(p) == 0 || len(out) == 0 {
		return
	}
	_ = v[(len(p)-1)*ldv+len(out)-1]
	accRowsF32(len(out), unsafe.SliceData(p), unsafe.SliceData(v), ldv, len(p), unsafe.SliceData(out))
}

// expShiftSIMD sets x[i] = e^(x[i]-shift) with the vector exp (asmgen's, ported to NEON).
// The last len(x)%8 values go through the same kernel in a padded copy, so every value is
// computed the same way wherever a slice starts or ends.
func expShiftSIMD(x []float32, shift float32) {
	n8 := len(x) &^ 7
	if n8 > 0 {
		expShiftF32(n8, unsafe.SliceData(x), shift)
	}
	if n8 < len(x) {
		var pad [8]float32
		copy(pad[:], x[n8:])
		expShiftF32(8, &pad[0], shift)
		copy(x[n8:], pad[:])
	}
}

// siluSIMD sets y[i] = x[i]/(1+e^-x[i]) with the vector exp (y may be x; len(y) == len(x)),
// the tail padded like expShiftSIMD's.
func siluSIMD(y, x []float32) { mapSIMD(mapSiLU, y, x) }

// geluSIMD sets y[i] = x[i]·Φ(x[i]) with the generator's float32 erfc (y may be x;
// len(y) == len(x)), the tail padded like expShiftSIMD's.
func geluSIMD(y, x []float32) { mapSIMD(mapGELU, y, x) }

// mapKernel names an 8-lane elementwise kernel. mapSIMD calls it directly rather than
// through a func value, which would move its callers' buffers to the heap: a token step
// calls it for every layer.
type mapKernel int

const (
	mapSiLU mapKernel = iota
	mapGELU
)

func (k mapKernel) run(n int, x, y *float32) {
	if k == mapGELU {
		geluF32(n, x, y)
		return
	}
	siluF32(n, x, y)
}

// mapSIMD runs an elementwise kernel over x into y, the last len%8 values through a padded
// copy so that no value depends on where a thread's block ends.
func mapSIMD(k mapKernel, y, x []float32) {
	x = x[:len(y)]
	n8 := len(y) &^ 7
	if n8 > 0 {
		k.run(n8, unsafe.SliceData(x), unsafe.SliceData(y))
	}
	if n8 < len(y) {
		var pad [8]float32
		copy(pad[:], x[n8:])
		k.run(8, &pad[0], &pad[0])
		copy(y[n8:], pad[:])
	}
}
