//go:build amd64 && !purego

package cpu

import (
	"fmt"
	"math/bits"
	"unsafe"

	"github.com/janus-desktop/janus/compute"
)

type dotQZKernel func(nb int, x *byte, ldx int, xd *float32, ldxd int, w *byte, wd *uint16, ldw int, ldwd int, c *float32, ldc int)

// qzTiles are the 512-bit VNNI int8 kernels by [Q4][rows-1][cols-1].
var qzTiles = [2][2][4]dotQZKernel{
	{
		{dotQ8ZR1C1, dotQ8ZR1C2, dotQ8ZR1C3, dotQ8ZR1C4},
		{dotQ8ZR2C1, dotQ8ZR2C2, dotQ8ZR2C3, dotQ8ZR2C4},
	},
	{
		{dotQ4ZR1C1, dotQ4ZR1C2, dotQ4ZR1C3, dotQ4ZR1C4},
		{dotQ4ZR2C1, dotQ4ZR2C2, dotQ4ZR2C3, dotQ4ZR2C4},
	},
}

// tileQZ computes c[i*ldc+j] = x_i·w_j for rows (1 or 2) input rows packed by packQZ (ldx
// bytes apart, their scales xd ldxd floats apart) and cols ≤ 4 weight rows, with the VNNI
// kernels.
func tileQZ(dt compute.DType, c []float32, ldc, rows, cols int, xp []byte, ldx int, xd []float32, ldxd int, wq []byte, wd []uint16, nb, rowBytes int) {
	if cols == 0 || rows == 0 {
		return
	}
	if nb == 0 {
		for i := range rows {
			clear(c[i*ldc : i*ldc+cols])
		}
		return
	}
	_, _, _, _, _ = xp[(rows-1)*ldx+64*nb-1], xd[(rows-1)*ldxd+nb-1], wq[cols*rowBytes-1], wd[cols*nb-1], c[(rows-1)*ldc+cols-1]
	q4 := 0
	if dt == compute.Q4 {
		q4 = 1
	}
	qzTiles[q4][rows-1][cols-1](nb, unsafe.SliceData(xp), ldx, unsafe.SliceData(xd), ldxd,
		unsafe.SliceData(wq), unsafe.SliceData(wd), rowBytes, nb, unsafe.SliceData(c), ldc)
}

// quantizeQZ quantizes one input row x (a whole number of blocks) as quantizeInput does,
// writing the scales into xd and the codes, packed as packQZ packs them, into xp (2·len(x)
// bytes), in one assembly pass.
func quantizeQZ(xp []byte, xd []float32, x []float32, q4 bool) {
	nb := len(x) / qBlock
	if nb == 0 {
		return
	}
	_, _ = xp[2*nb*qBlock-1], xd[nb-1]
	if q4 {
		quantQ4Z(nb, unsafe.SliceData(x), unsafe.SliceData(xd), unsafe.SliceData(xp))
	} else {
		quantQ8Z(nb, unsafe.SliceData(x), unsafe.SliceData(xd), unsafe.SliceData(xp))
	}
}

// absMaxBlocksQ8 and codesQ8 are in quantw_amd64.s.
//
//go:noescape
func absMaxBlocksQ8(nb int, x *float32, amax *uint32)

//go:noescape
func codesQ8(nb int, x *float32, id *float32, q *byte)

// quantAsm reports whether set runs the AVX-512 weight quantizers (Q8, Q4 and Q4M).
func quantAsm(set simdSet) bool { return set == simdAVX512 }

// absMaxQ8Asm writes each block's largest |x| (as bits, see absMaxBlocksQ8) into amax.
func absMaxQ8Asm(amax []uint32, x []float32) {
	nb := len(x) / qBlock
	if nb == 0 {
		return
	}
	_ = amax[nb-1]
	absMaxBlocksQ8(nb, unsafe.SliceData(x), unsafe.SliceData(amax))
}

// codesQ8Asm writes the Q8 codes of each block of x for the inverse scale id[b] into q.
func codesQ8Asm(q []byte, x []float32, id []float32) {
	nb := len(x) / qBlock
	if nb == 0 {
		return
	}
	_, _ = q[nb*qBlock-1], id[nb-1]
	codesQ8(nb, unsafe.SliceData(x), unsafe.SliceData(id), unsafe.SliceData(q))
}

// cvtBF16F32 is in quantw_amd64.s.
//
//go:noescape
func cvtBF16F32(n int, src *uint16, dst *float32)

// widenBF16Asm writes the float32 values of the little-endian BF16 values in raw into dst
// (len(raw) == 2·len(dst), a multiple of 16 values).
func widenBF16Asm(dst []float32, raw []byte) {
	if len(dst) == 0 {
		return
	}
	_ = raw[2*len(dst)-1]
	cvtBF16F32(len(dst), (*uint16)(unsafe.Pointer(unsafe.SliceData(raw))), unsafe.SliceData(dst))
}

// scalesQ4 and codesQ4 are in quantw_amd64.s.
//
//go:noescape
func scalesQ4(ng int, x *float32, xt *float32, best *float32, amax *uint32)

//go:noescape
func codesQ4(nb int, x *float32, id *float32, q *byte)

// scalesQ4Asm writes the unrounded scale QuantizeQ4 picks and the largest |x| (as bits) of
// each block of x (16·ng blocks) into best and amax, using xt as scratch.
func scalesQ4Asm(best []float32, amax []uint32, x []float32, xt *[16 * qBlock]float32) {
	ng := len(x) / (16 * qBlock)
	if ng == 0 {
		return
	}
	_, _ = best[16*ng-1], amax[16*ng-1]
	scalesQ4(ng, unsafe.SliceData(x), &xt[0], unsafe.SliceData(best), unsafe.SliceData(amax))
}

// codesQ4Asm writes the Q4 codes of each block of x for the inverse scale id[b] into q.
func codesQ4Asm(q []byte, x []float32, id []float32) {
	nb := len(x) / qBlock
	if nb == 0 {
		return
	}
	_, _ = q[nb*qBlock/2-1], id[nb-1]
	codesQ4(nb, unsafe.SliceData(x), unsafe.SliceData(id), unsafe.SliceData(q))
}

type (
	groupKernel    = func(nb int, x *byte, ldx int, offc int, offd int, w *byte, ws *uint16, c *float32, ldc int)
	groupKernelQ4M = func(nb int, x *byte, ldx int, offc int, offd int, offsums int, w *byte, ws *uint16, wo *uint16, c *float32, ldc int)
)

// The grouped kernels by log2 of groups, then of rows (four groups a pass only for one or two
// rows, eight rows only with one group: registers); Q8's without and with the far prefetch of
// eight rows (q8Far), Q4's and Q4M's without and with page kicks (q4Kicks). Fixed tables,
// built once rather than on every tile call.
var (
	groupTilesQ8 = [2][3][4]groupKernel{
		{{dotQ8G1R1, dotQ8G1R2, dotQ8G1R4, dotQ8G1R8}, {dotQ8G2R1, dotQ8G2R2, dotQ8G2R4}, {dotQ8G4R1, dotQ8G4R2}},
		{{dotQ8G1R1, dotQ8G1R2, dotQ8G1R4, dotQ8G1R8F}, {dotQ8G2R1, dotQ8G2R2, dotQ8G2R4}, {dotQ8G4R1, dotQ8G4R2}},
	}
	groupTilesQ4 = [2][3][4]groupKernel{
		{{dotQ4G1R1, dotQ4G1R2, dotQ4G1R4, dotQ4G1R8}, {dotQ4G2R1, dotQ4G2R2, dotQ4G2R4}, {dotQ4G4R1, dotQ4G4R2}},
		{{dotQ4G1R1K, dotQ4G1R2K, dotQ4G1R4, dotQ4G1R8}, {dotQ4G2R1K, dotQ4G2R2K, dotQ4G2R4}, {dotQ4G4R1K, dotQ4G4R2K}},
	}
	groupTilesQ4M = [2][2][3]groupKernelQ4M{
		{{dotQ4MG1R1, dotQ4MG1R2, dotQ4MG1R4}, {dotQ4MG2R1, dotQ4MG2R2, dotQ4MG2R4}},
		{{dotQ4MG1R1K, dotQ4MG1R2K, dotQ4MG1R4}, {dotQ4MG2R1K, dotQ4MG2R2K, dotQ4MG2R4}},
	}
)

// tileG computes c[i·ldc+r] = x_i·w_r for rows (1, 2, 4 or, with one group, 8) packed input
// rows (ldx bytes apart, each with its blocks' corrections offc bytes on and scales offd bytes
// on) and the 16·groups rows of 1, 2 or (with up to two input rows) 4 consecutive groups of a
// grouped dt matrix (codes wq, scales ws) over nb blocks, whole units of the packed rows (Q4:
// groups of 8 blocks, Q8: pairs). With Q4M's offsets wo (else nil) the rows' float32 block
// sums are offsums bytes on, and there is no eight-row kernel and no four-group one (Q4M runs
// at most two groups a pass, see groupsCall.runGroups). pick chooses among kernels of the same
// bits: Q4's and Q4M's of one or two rows kicking each page, Q8's of eight rows prefetching
// far.
func tileG(dt compute.DType, pick groupPick, c []float32, ldc, rows, groups int, xp []byte, ldx, offc, offd, offsums int, wq []byte, ws, wo []uint16, nb int) {
	if wo != nil {
		tileQ4MG(pick.q4Kicks, c, ldc, rows, groups, xp, ldx, offc, offd, offsums, wq, ws, wo, nb)
		return
	}
	unit, f := 2, &groupTilesQ8[0]
	if pick.q8Far {
		f = &groupTilesQ8[1]
	}
	if dt == compute.Q4 {
		unit, f = 8, &groupTilesQ4[0]
		if pick.q4Kicks {
			f = &groupTilesQ4[1]
		}
	}
	g, r := bits.TrailingZeros(uint(groups)), bits.TrailingZeros(uint(rows))
	if nb%unit != 0 || rows <= 0 || rows&(rows-1) != 0 || groups <= 0 || groups&(groups-1) != 0 || g >= len(f) || r >= len(f[g]) || f[g][r] == nil ||
		offc < 64*nb || offd < offc+4*nb || rows > 1 && ldx < offd+4*nb {
		panic(fmt.Sprintf("cpu: grouped %v product of %d rows and %d groups over %d blocks (a multiple of %d), corrections and scales %d and %d bytes on", dt, rows, groups, nb, unit, offc, offd))
	}
	_, _, _, _ = xp[(rows-1)*ldx+offd+4*nb-1], wq[groups*nb*groupBlockBytes(dt)-1], ws[groups*nb*qGroupRows-1], c[(rows-1)*ldc+groups*qGroupRows-1]
	f[g][r](nb, unsafe.SliceData(xp), ldx, offc, offd, unsafe.SliceData(wq), unsafe.SliceData(ws), unsafe.SliceData(c), ldc)
}

// tileQ4MG is tileG for a Q4M matrix, its offsets wo laid out as the scales ws.
func tileQ4MG(kicks bool, c []float32, ldc, rows, groups int, xp []byte, ldx, offc, offd, offsums int, wq []byte, ws, wo []uint16, nb int) {
	f := &groupTilesQ4M[0]
	if kicks {
		f = &groupTilesQ4M[1]
	}
	g, r := bits.TrailingZeros(uint(groups)), bits.TrailingZeros(uint(rows))
	if nb%8 != 0 || rows <= 0 || rows&(rows-1) != 0 || groups <= 0 || groups&(groups-1) != 0 || g >= len(f) || r >= len(f[g]) || f[g][r] == nil ||
		offc < 64*nb || offd < offc+4*nb || offsums < offd+4*nb || rows > 1 && ldx < offsums+4*nb {
		panic(fmt.Sprintf("cpu: grouped Q4M product of %d rows and %d groups over %d blocks (a multiple of 8), corrections, scales and sums %d, %d and %d bytes on", rows, groups, nb, offc, offd, offsums))
	}
	_, _, _, _, _ = xp[(rows-1)*ldx+offsums+4*nb-1], wq[groups*nb*groupBlockBytes(compute.Q4)-1], ws[groups*nb*qGroupRows-1], wo[groups*nb*qGroupRows-1], c[(rows-1)*ldc+groups*qGroupRows-1]
	f[g][r](nb, unsafe.SliceData(xp), ldx, offc, offd, offsums, unsafe.SliceData(wq), unsafe.SliceData(ws), unsafe.SliceData(wo), unsafe.SliceData(c), ldc)
}

// packGroupPairs writes the 16 rows of a grouped matrix's group that starts at row j0 as
// BF16 pairs, pair i of block g of row r at p[g·ldg+i·ldp+r]: AMX B tiles (ldp 16, ldg
// amxChunkB), or 16 columns of a VDPBF16PS panel (dotPairs; ldp its width, ldg 16 times
// that). Its bits are those of dequantizing each row and rounding it to BF16, in one pass
// over the group's codes.
func packGroupPairs(w *qweight, j0 int, p []uint32, ldp, ldg int) {
	nb := w.k / qBlock
	q, s := w.group(j0/qGroupRows, 1)
	_ = p[(nb-1)*ldg+15*ldp+15]
	f := packQ8GPairs
	if w.dt == compute.Q4 {
		f = packQ4GPairs
	}
	f(nb, unsafe.SliceData(q), unsafe.SliceData(s), unsafe.SliceData(p), ldp, ldg)
}

// dequantGroupRow writes the values of len(dst)/qBlock blocks of a row of a grouped dt
// matrix whose first block keeps its first code bytes at q[c] and its scale at s[sc].
func dequantGroupRow(dst []float32, dt compute.DType, q []byte, s []uint16, c, sc int) {
	n := len(dst) / qBlock
	if n == 0 {
		return
	}
	cb := codeBytes(dt)
	_, _ = q[c+(n-1)*qGroupRows*cb+64*(cb/4-1)+3], s[sc+(n-1)*qGroupRows]
	f := dequantQ8G
	if dt == compute.Q4 {
		f = dequantQ4G
	}
	f(n, &q[c], &s[sc], unsafe.SliceData(dst))
}

// quantQ4M16Asm runs quantQ4M16 on sc.xt, into sc.codes, sc.d4m and sc.o4m.
func quantQ4M16Asm(sc *quantScratch) uint16 {
	return quantQ4M16(&sc.xt[0], &sc.codes[0], &sc.tmp[0], &sc.d4m[0], &sc.o4m[0])
}
