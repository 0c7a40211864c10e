//go:build !amd64 || purego

package cpu

// amxTile never runs here: hasAMX is false.
func amxTile(kc int, a []uint16, b []uint32, c []float32, ldc int) {
	panic("cpu: AMX kernels are amd64 only")
}

// packPairs16 is the Go model.
func packPairs16(n int, w []uint16, ldw int, p []uint32, ldg int) {
	packPairsGo(n, w, ldw, p, ldg)
}

// amxConvTile never runs here: hasAMX is false.
func amxConvTile(a []uint16, b []uint32, offs []int, ldb int, c []float32, ldc int) {
	panic("cpu: AMX kernels are amd64 only")
}

// amxTileW never runs here: hasAMX is false.
func amxTileW(kc int, a []uint16, lda int, b []uint32, c []float32, ldc int) {
	panic("cpu: AMX kernels are amd64 only")
}

// amxQ8Tile never runs here: hasAMXInt8 is false.
func amxQ8Tile(op *amxQ8Op, nb int, w []byte, ldw int, x []byte, wd []float32, ldwd int, t []float32, next []uint16) {
	panic("cpu: AMX kernels are amd64 only")
}

// amxQ8TileR2 never runs here: hasAMXInt8 is false.
func amxQ8TileR2(op *amxQ8Op, nb int, w []byte, ldw int, x []byte, wd []uint16, t []float32, next []uint16) {
	panic("cpu: AMX kernels are amd64 only")
}
