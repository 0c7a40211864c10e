//go:build amd64 && !purego

package cpu

import "unsafe"

// amxTile32 is in amx_amd64.s.
//
//go:noescape
func amxTile32(kc int, a *uint16, b *uint32, c *float32, ldc int, cfg *byte)

// amxTile sets c (32×32, rows ldc apart) to the product of kc chunks of the packed A block
// a and B panel b on the AMX tiles (see amxTileGo, the model it is tested against).
func amxTile(kc int, a []uint16, b []uint32, c []float32, ldc int) {
	_ = c[(amxRows-1)*ldc+amxCols-1]
	if kc > 0 {
		_, _ = a[kc*amxChunkA-1], b[kc*amxChunkB-1]
	}
	cfg := amxConfig()
	amxTile32(kc, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc, &cfg[0])
}

// packPairs16 writes the B tiles of 16 BF16 rows of w (ldw apart) for n chunks of 32
// values, chunk g at p[g*ldg:] (see packPairsGo).
func packPairs16(n int, w []uint16, ldw int, p []uint32, ldg int) {
	if n == 0 {
		return
	}
	_, _ = w[15*ldw+n*amxK-1], p[(n-1)*ldg+255]
	packBF16PairsT(n, unsafe.SliceData(w), ldw, unsafe.SliceData(p), ldg)
}

// amxConv32 is in amx_amd64.s.
//
//go:noescape
func amxConv32(steps int, a *uint16, b *uint32, offs *int, ldb int, c *float32, ldc int, cfg *byte)

// amxConvTile sets c (32×32, rows ldc apart) to the sum over len(offs) steps of a's A
// tiles times the B tiles read in place at b[offs[s]/4:], rows ldb values apart (see
// convDirectAMX); the caller keeps every such read inside b.
func amxConvTile(a []uint16, b []uint32, offs []int, ldb int, c []float32, ldc int) {
	_ = c[(amxRows-1)*ldc+amxCols-1]
	if len(offs) > 0 {
		// offs ascend: the last step reads furthest.
		_, _ = a[len(offs)*amxChunkA-1], b[offs[len(offs)-1]/4+15*ldb+2*16-1]
	}
	cfg := amxConfig()
	amxConv32(len(offs), unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(offs), 4*ldb, unsafe.SliceData(c), ldc, &cfg[0])
}

// amxTileW32 is in amx_amd64.s.
//
//go:noescape
func amxTileW32(kc int, a *uint16, lda int, b *uint32, c *float32, ldc int, cfg *byte)

// amxTileW is amxTile with the A block read in place: 32 rows of a, lda values apart, kc
// chunks of 32 values each (a weight matrix's rows: no packing).
func amxTileW(kc int, a []uint16, lda int, b []uint32, c []float32, ldc int) {
	_ = c[(amxRows-1)*ldc+amxCols-1]
	if kc > 0 {
		_, _ = a[(amxRows-1)*lda+kc*amxK-1], b[kc*amxChunkB-1]
	}
	cfg := amxConfig()
	amxTileW32(kc, unsafe.SliceData(a), 2*lda, unsafe.SliceData(b), unsafe.SliceData(c), ldc, &cfg[0])
}

// amxQ8Cols16 and amxQ8Cols16R2 are in amx_amd64.s.
//
//go:noescape
func amxQ8Cols16(nb int, w *byte, ldw int, x *byte, wd *float32, ldwd int, t *float32, cfg *byte, next *uint16)

//go:noescape
func amxQ8Cols16R2(nb int, w *byte, ldw int, x *byte, wd *uint16, tab *int32, t *float32, cfg *byte, next *uint16)

// amxQ8Tile computes sixteen columns of a Linear with Q8 weights for 16 input rows packed in
// x by packQ8AMX: w holds the columns' codes (rows ldw bytes apart, nb blocks each), wd
// their weight scales as float32 (ldwd apart); column j's sums come back in t[16j:16j+16]
// (t is amxQTemp floats). next is the F16 scales of the group to come (read into the cache
// on the way, never used); op is newAMXQ8Op(amxQRows, nb)'s.
func amxQ8Tile(op *amxQ8Op, nb int, w []byte, ldw int, x []byte, wd []float32, ldwd int, t []float32, next []uint16) {
	if nb == 0 {
		clear(t[:amxQCols*amxQRows])
		return
	}
	_, _, _, _ = w[15*ldw+nb*qBlock-1], x[nb*amxQBlock-1], wd[15*ldwd+nb-1], t[amxQTemp-1]
	amxQ8Cols16(nb, unsafe.SliceData(w), ldw, unsafe.SliceData(x), unsafe.SliceData(wd), ldwd, unsafe.SliceData(t), &op.cfg[0], unsafe.SliceData(next))
}

// amxQ8TileR2 is amxQ8Tile for two input rows (packQ8AMX with 2 lanes), reading the F16
// scales wd (nb a column) as stored: each is read as 32 bits, so one more value must be
// readable after the last (newQuantized's spare). Column j's sums come back in t[2j:2j+2];
// op is newAMXQ8Op(2, nb)'s.
func amxQ8TileR2(op *amxQ8Op, nb int, w []byte, ldw int, x []byte, wd []uint16, t []float32, next []uint16) {
	if nb == 0 {
		clear(t[:amxQCols*2])
		return
	}
	_, _, _, _ = w[15*ldw+nb*qBlock-1], x[nb*amxQBlockR2-1], wd[:16*nb+1][16*nb], t[amxQTemp-1]
	amxQ8Cols16R2(nb, unsafe.SliceData(w), ldw, unsafe.SliceData(x), unsafe.SliceData(wd), &op.tab[0], unsafe.SliceData(t), &op.cfg[0], unsafe.SliceData(next))
}
