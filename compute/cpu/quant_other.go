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
