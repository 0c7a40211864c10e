//go:build !amd64 || purego

package cpu

import "github.com/janus-desktop/janus/compute"

// tileQZ is never called without the VNNI kernels (qsetBest is not qsetVNNI).
func tileQZ(dt compute.DType, c []float32, ldc, rows, cols int, xp []byte, ldx int, xd []float32, ldxd int, wq []byte, wd []uint16, nb, rowBytes int) {
	panic("cpu: no VNNI kernels in this build")
}

// quantizeQZ is never called without the VNNI kernels (qsetBest is not qsetVNNI).
func quantizeQZ(xp []byte, xd []float32, x []float32, q4 bool) {
	panic("cpu: no VNNI kernels in this build")
}

// quantAsm is false: no assembly weight quantizer in this build.
func quantAsm(set simdSet) bool { return false }

// absMaxQ8Asm is never called here (quantAsm is false).
func absMaxQ8Asm(amax []uint32, x []float32) { panic("cpu: no AVX-512 kernels in this build") }

// codesQ8Asm is never called here (quantAsm is false).
func codesQ8Asm(q []byte, x []float32, id []float32) { panic("cpu: no AVX-512 kernels in this build") }

// widenBF16Asm is never called here (quantAsm is false).
func widenBF16Asm(dst []float32, raw []byte) { panic("cpu: no AVX-512 kernels in this build") }

// scalesQ4Asm is never called here (quantAsm is false).
func scalesQ4Asm(best []float32, amax []uint32, x []float32, xt *[16 * qBlock]float32) {
	panic("cpu: no AVX-512 kernels in this build")
}

// codesQ4Asm is never called here (quantAsm is false).
func codesQ4Asm(q []byte, x []float32, id []float32) { panic("cpu: no AVX-512 kernels in this build") }

// tileG is never called here: no grouped matrices without the VNNI kernels.
func tileG(dt compute.DType, pick groupPick, c []float32, ldc, rows, groups int, xp []byte, ldx, offc, offd, offsums int, wq []byte, ws, wo []uint16, nb int) {
	panic("cpu: no VNNI kernels in this build")
}

// packGroupPairs is never called here: no grouped matrices without the VNNI kernels.
func packGroupPairs(w *qweight, j0 int, p []uint32, ldp, ldg int) {
	panic("cpu: no VNNI kernels in this build")
}

// dequantGroupRow is never called here: no grouped matrices without the VNNI kernels.
func dequantGroupRow(dst []float32, dt compute.DType, q []byte, s []uint16, c, sc int) {
	panic("cpu: no VNNI kernels in this build")
}

// quantQ4M16Asm is never called here (quantAsm is false).
func quantQ4M16Asm(sc *quantScratch) uint16 { panic("cpu: no AVX-512 kernels in this build") }
