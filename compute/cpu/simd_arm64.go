//go:build arm64 && !purego

package cpu

import (
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/janus-desktop/janus/compute"
)

// simdBest is the NEON set: every arm64 CPU has Advanced SIMD (and Go requires it).
func simdBest() simdSet { return simdNEON }

// The tile kernels of kernels_arm64.s (rows×4 tiles, b as four row pointers; ta and tb the
// zero-padded K tails, nil when k%8 == 0).
//
//go:noescape
func neonF32R1(k int, a *float32, lda int, b0, b1, b2, b3 *float32, c *float32, ldc int, acc bool, ta, tb *float32)

//go:noescape
func neonF32R2(k int, a *float32, lda int, b0, b1, b2, b3 *float32, c *float32, ldc int, acc bool, ta, tb *float32)

//go:noescape
func neonF32R3(k int, a *float32, lda int, b0, b1, b2, b3 *float32, c *float32, ldc int, acc bool, ta, tb *float32)

//go:noescape
func neonBF16R1(k int, a *float32, lda int, b0, b1, b2, b3 *uint16, c *float32, ldc int, acc bool, ta *float32, tb *uint16)

//go:noescape
func neonBF16R2(k int, a *float32, lda int, b0, b1, b2, b3 *uint16, c *float32, ldc int, acc bool, ta *float32, tb *uint16)

//go:noescape
func neonBF16R3(k int, a *float32, lda int, b0, b1, b2, b3 *uint16, c *float32, ldc int, acc bool, ta *float32, tb *uint16)

type neonF32Kernel func(k int, a *float32, lda int, b0, b1, b2, b3 *float32, c *float32, ldc int, acc bool, ta, tb *float32)
type neonBF16Kernel func(k int, a *float32, lda int, b0, b1, b2, b3 *uint16, c *float32, ldc int, acc bool, ta *float32, tb *uint16)

var (
	neonF32Tiles  = [3]neonF32Kernel{neonF32R1, neonF32R2, neonF32R3}
	neonBF16Tiles = [3]neonBF16Kernel{neonBF16R1, neonBF16R2, neonBF16R3}
)

func f32At(p unsafe.Pointer, i int) *float32 { return (*float32)(unsafe.Add(p, uintptr(i)*4)) }
func u16At(p unsafe.Pointer, i int) *uint16  { return (*uint16)(unsafe.Add(p, uintptr(i)*2)) }

// neonTile is the scratch of the tile loops: the zero-padded K tails of up to 3 rows of a
// and 4 rows of b (the kernels step 8 values of k; a lane's sum gains +0 products from the
// padding, which leave it unchanged), and a 3×4 copy of c for tiles narrower than 4
// columns, which repeat their last b row so that one kernel per row count serves every
// width.
type neonTile struct {
	ta   [3 * 8]float32
	tb   [4 * 8]float32 // float32 rows, or BF16 rows in the first half
	cbuf [3 * 4]float32
}

// tileSIMD is tile on the NEON kernels: c[i*ldc+j] (+)= a_i·b_j for i < rows, j < cols, in
// 3×4 tiles (smaller at the edges), rows of a outermost; K in dotBlock pieces resumed
// through c, as on amd64.
func tileSIMD(set simdSet, c []float32, ldc int, a []float32, lda int, b []float32, ldb int, rows, cols, k int, acc bool) {
	if rows <= 0 || cols <= 0 {
		return
	}
	if k <= 0 {
		zeroTile(c, ldc, rows, cols, acc)
		return
	}
	_, _, _ = a[(rows-1)*lda+k-1], b[(cols-1)*ldb+k-1], c[(rows-1)*ldc+cols-1]
	pa, pb, pc := unsafe.Pointer(unsafe.SliceData(a)), unsafe.Pointer(unsafe.SliceData(b)), unsafe.Pointer(unsafe.SliceData(c))
	var t neonTile
	for i := 0; i < rows; i += 3 {
		r := min(3, rows-i)
		fn := neonF32Tiles[r-1]
		for j := 0; j < cols; j += 4 {
			cn := min(4, cols-j)
			var bp [4]*float32
			for k0 := 0; k0 < k; k0 += dotBlock {
				kl := min(dotBlock, k-k0)
				for jj := range 4 {
					bp[jj] = f32At(pb, (j+min(jj, cn-1))*ldb+k0)
				}
				var ta, tb *float32
				if kl%8 != 0 {
					ta, tb = &t.ta[0], &t.tb[0]
					k8 := kl &^ 7
					for ii := range r {
						clear(t.ta[ii*8 : ii*8+8])
						copy(t.ta[ii*8:ii*8+8], a[(i+ii)*lda+k0+k8:(i+ii)*lda+k0+kl])
					}
					for jj := range 4 {
						jc := j + min(jj, cn-1)
						clear(t.tb[jj*8 : jj*8+8])
						copy(t.tb[jj*8:jj*8+8], b[jc*ldb+k0+k8:jc*ldb+k0+kl])
					}
				}
				acc := acc || k0 > 0
				if cn == 4 {
					fn(kl, f32At(pa, i*lda+k0), lda, bp[0], bp[1], bp[2], bp[3], f32At(pc, i*ldc+j), ldc, acc, ta, tb)
					continue
				}
				t.loadC(c[i*ldc+j:], ldc, r, cn, acc)
				fn(kl, f32At(pa, i*lda+k0), lda, bp[0], bp[1], bp[2], bp[3], &t.cbuf[0], 4, acc, ta, tb)
				t.storeC(c[i*ldc+j:], ldc, r, cn)
			}
		}
	}
}

// tileBF16SIMD is tileSIMD with BF16 rows b, widened exactly in registers. Weight rows are
// outermost, as on amd64: each K block of four weight rows stays in L1 while every row of a
// uses it.
func tileBF16SIMD(set simdSet, c []float32, ldc int, a []float32, lda int, b []uint16, ldb int, rows, cols, k int, acc bool) {
	if rows <= 0 || cols <= 0 {
		return
	}
	if k <= 0 {
		zeroTile(c, ldc, rows, cols, acc)
		return
	}
	_, _, _ = a[(rows-1)*lda+k-1], b[(cols-1)*ldb+k-1], c[(rows-1)*ldc+cols-1]
	pa, pb, pc := unsafe.Pointer(unsafe.SliceData(a)), unsafe.Pointer(unsafe.SliceData(b)), unsafe.Pointer(unsafe.SliceData(c))
	var t neonTile
	tb16 := (*[4 * 8]uint16)(unsafe.Pointer(&t.tb))
	for j := 0; j < cols; j += 4 {
		cn := min(4, cols-j)
		for k0 := 0; k0 < k; k0 += dotBlock {
			kl := min(dotBlock, k-k0)
			var bp [4]*uint16
			for jj := range 4 {
				bp[jj] = u16At(pb, (j+min(jj, cn-1))*ldb+k0)
			}
			k8 := kl &^ 7
			var tb *uint16
			if kl != k8 {
				tb = &tb16[0]
				for jj := range 4 {
					jc := j + min(jj, cn-1)
					clear(tb16[jj*8 : jj*8+8])
					copy(tb16[jj*8:jj*8+8], b[jc*ldb+k0+k8:jc*ldb+k0+kl])
				}
			}
			acc := acc || k0 > 0
			for i := 0; i < rows; i += 3 {
				r := min(3, rows-i)
				fn := neonBF16Tiles[r-1]
				var ta *float32
				if kl != k8 {
					ta = &t.ta[0]
					for ii := range r {
						clear(t.ta[ii*8 : ii*8+8])
						copy(t.ta[ii*8:ii*8+8], a[(i+ii)*lda+k0+k8:(i+ii)*lda+k0+kl])
					}
				}
				if cn == 4 {
					fn(kl, f32At(pa, i*lda+k0), lda, bp[0], bp[1], bp[2], bp[3], f32At(pc, i*ldc+j), ldc, acc, ta, tb)
					continue
				}
				t.loadC(c[i*ldc+j:], ldc, r, cn, acc)
				fn(kl, f32At(pa, i*lda+k0), lda, bp[0], bp[1], bp[2], bp[3], &t.cbuf[0], 4, acc, ta, tb)
				t.storeC(c[i*ldc+j:], ldc, r, cn)
			}
		}
	}
}

// loadC copies an r×cn corner of c into the 3×4 buffer of a narrow tile when acc (the
// kernel ignores the buffer's old values otherwise).
func (t *neonTile) loadC(c []float32, ldc, r, cn int, acc bool) {
	if !acc {
		return
	}
	for i := range r {
		copy(t.cbuf[i*4:i*4+cn], c[i*ldc:i*ldc+cn])
	}
}

// storeC copies the r×cn results of a narrow tile back to c.
func (t *neonTile) storeC(c []float32, ldc, r, cn int) {
	for i := range r {
		copy(c[i*ldc:i*ldc+cn], t.cbuf[i*4:i*4+cn])
	}
}

//go:noescape
func expShiftF32(n int, x *float32, shift float32)

//go:noescape
func siluF32(n int, x *float32, y *float32)

//go:noescape
func geluF32(n int, x *float32, y *float32)

//go:noescape
func accRowsF32(n int, p *float32, v *float32, ldv int, rows int, out *float32)

// The int8 kernels of kernels_arm64.s: one input row against four weight rows (the
// two-row ones below).
//
//go:noescape
func neonQ8Dot(nb int, x *int8, xd *float32, w0, w1, w2, w3 *byte, s0, s1, s2, s3 *uint16, c *[4]float32)

//go:noescape
func neonQ4Dot(nb int, x *int8, xd *float32, w0, w1, w2, w3 *byte, s0, s1, s2, s3 *uint16, c *[4]float32)

//go:noescape
func neonQ8Mull(nb int, x *int8, xd *float32, w0, w1, w2, w3 *byte, s0, s1, s2, s3 *uint16, c *[4]float32)

//go:noescape
func neonQ4Mull(nb int, x *int8, xd *float32, w0, w1, w2, w3 *byte, s0, s1, s2, s3 *uint16, c *[4]float32)

type neonQKernel func(nb int, x *int8, xd *float32, w0, w1, w2, w3 *byte, s0, s1, s2, s3 *uint16, c *[4]float32)

// neonQTiles are the int8 kernels by [set is dotprod][Q4].
var neonQTiles = [2][2]neonQKernel{{neonQ8Mull, neonQ4Mull}, {neonQ8Dot, neonQ4Dot}}

// qsetBest is SDOT where the CPU has the ARMv8.2 dot-product instructions (x/sys/cpu's
// ASIMDDP: every Apple M-series core, Graviton 2 and later), else SMULL/SADALP.
func qsetBest() qSet {
	if cpu.ARM64.HasASIMDDP {
		return qsetDotProd
	}
	return qsetNEON
}

// tileQSIMD computes c[j] = x·w_j for len(c) ≤ 4 weight rows on the NEON int8 kernels of
// set; a narrower tile repeats its last row. The results are the bits of the Go kernels.
func tileQSIMD(set qSet, dt compute.DType, c []float32, xq []int8, xd []float32, wq []byte, wd []uint16, nb, rowBytes int) {
	cols := len(c)
	if cols == 0 {
		return
	}
	if nb == 0 {
		clear(c)
		return
	}
	_, _, _, _ = xq[nb*qBlock-1], xd[nb-1], wq[cols*rowBytes-1], wd[cols*nb-1]
	q4, dp := 0, 0
	if dt == compute.Q4 {
		q4 = 1
	}
	if set == qsetDotProd {
		dp = 1
	}
	r := func(j int) int { return min(j, cols-1) }
	var out [4]float32
	neonQTiles[dp][q4](nb, unsafe.SliceData(xq), unsafe.SliceData(xd),
		&wq[r(0)*rowBytes], &wq[r(1)*rowBytes], &wq[r(2)*rowBytes], &wq[r(3)*rowBytes],
		&wd[r(0)*nb], &wd[r(1)*nb], &wd[r(2)*nb], &wd[r(3)*nb], &out)
	copy(c, out[:cols])
}

//go:noescape
func neonQ8Dot2(nb int, x *int8, xd *float32, w0, w1, w2, w3 *byte, s0, s1, s2, s3 *uint16, c *[8]float32)

//go:noescape
func neonQ4Dot2(nb int, x *int8, xd *float32, w0, w1, w2, w3 *byte, s0, s1, s2, s3 *uint16, c *[8]float32)

//go:noescape
func neonQ8Mull2(nb int, x *int8, xd *float32, w0, w1, w2, w3 *byte, s0, s1, s2, s3 *uint16, c *[8]float32)

//go:noescape
func neonQ4Mull2(nb int, x *int8, xd *float32, w0, w1, w2, w3 *byte, s0, s1, s2, s3 *uint16, c *[8]float32)

type neonQ2Kernel func(nb int, x *int8, xd *float32, w0, w1, w2, w3 *byte, s0, s1, s2, s3 *uint16, c *[8]float32)

// neonQTiles2 are the two-row int8 kernels by [set is dotprod][Q4].
var neonQTiles2 = [2][2]neonQ2Kernel{{neonQ8Mull2, neonQ4Mull2}, {neonQ8Dot2, neonQ4Dot2}}

// tileQSIMD2 is tileQSIMD for two input rows (codes k = nb·qBlock apart, scales nb apart),
// writing c[j] and c[ldc+j] for j < cols: the two rows share each weight block's loads, Q4
// unpacking and scales, and each gets the one-row bits.
func tileQSIMD2(set qSet, dt compute.DType, c []float32, ldc, cols int, xq []int8, xd []float32, wq []byte, wd []uint16, nb, rowBytes int) {
	if cols == 0 {
		return
	}
	if nb == 0 {
		clear(c[:cols])
		clear(c[ldc : ldc+cols])
		return
	}
	_, _, _, _, _ = xq[2*nb*qBlock-1], xd[2*nb-1], wq[cols*rowBytes-1], wd[cols*nb-1], c[ldc+cols-1]
	q4, dp := 0, 0
	if dt == compute.Q4 {
		q4 = 1
	}
	if set == qsetDotProd {
		dp = 1
	}
	r := func(j int) int { return min(j, cols-1) }
	var out [8]float32
	neonQTiles2[dp][q4](nb, unsafe.SliceData(xq), unsafe.SliceData(xd),
		&wq[r(0)*rowBytes], &wq[r(1)*rowBytes], &wq[r(2)*rowBytes], &wq[r(3)*rowBytes],
		&wd[r(0)*nb], &wd[r(1)*nb], &wd[r(2)*nb], &wd[r(3)*nb], &out)
	copy(c[:cols], out[:cols])
	copy(c[ldc:ldc+cols], out[4:4+cols])
}

//go:noescape
func neonDequantQ8(nb int, q *byte, s *uint16, dst *float32)

//go:noescape
func neonDequantQ4(nb int, q *byte, s *uint16, dst *float32)

// dequantSIMD writes blocks [b0, b0+len(dst)/qBlock) of a quantized tensor into dst with
// the NEON kernels (one FMUL per value: the Go loop's bits) and reports true.
func dequantSIMD(dst []float32, dt compute.DType, q []byte, s []uint16, b0 int) bool {
	nb := len(dst) / qBlock
	if nb == 0 {
		return true
	}
	codes := qBlock
	if dt == compute.Q4 {
		codes = qBlock / 2
	}
	_, _ = q[(b0+nb)*codes-1], s[b0+nb-1]
	if dt == compute.Q4 {
		neonDequantQ4(nb, &q[b0*codes], &s[b0], unsafe.SliceData(dst))
	} else {
		neonDequantQ8(nb, &q[b0*codes], &s[b0], unsafe.SliceData(dst))
	}
	return true
}
