//go:build amd64 && !purego

package cpu

//go:generate go run -C internal/asmgen . -out ../../kernels_amd64.s -stubs ../../kernels_amd64_stubs.go -pkg cpu

import (
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/janus-desktop/janus/compute"
)

// simdBest is the widest assembly kernel set this CPU can run, simdNone when it has none
// (x/sys/cpu also checks that the OS saves the YMM and ZMM registers). The AVX-512 set
// also runs the AVX2 kernels (softmax, SiLU, GELU, the V sum), and its tiles use AVX512BW
// (BF16 widening) and AVX512VL (the EVEX forms of the reduction), which every AVX-512 CPU
// but Xeon Phi has.
func simdBest() simdSet {
	switch {
	case !cpu.X86.HasAVX2 || !cpu.X86.HasFMA:
		return simdNone
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL:
		return simdAVX512
	}
	return simdAVX2
}

type dotF32Kernel func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, acc bool)
type dotBF16Kernel func(k int, a *float32, lda int, b *uint16, ldb int, c *float32, ldc int, acc bool)

// f32Tiles and bf16Tiles are the tile kernels by [tileSet][rows-1][cols-1]: fixed tables,
// built once rather than on every tile call.
var (
	f32Tiles = [2][3][4]dotF32Kernel{
		{ // AVX2
			{dotF32R1C1, dotF32R1C2, dotF32R1C3, dotF32R1C4},
			{dotF32R2C1, dotF32R2C2, dotF32R2C3, dotF32R2C4},
			{dotF32R3C1, dotF32R3C2, dotF32R3C3, dotF32R3C4},
		},
		{ // AVX-512
			{dotF32x16R1C1, dotF32x16R1C2, dotF32x16R1C3, dotF32x16R1C4},
			{dotF32x16R2C1, dotF32x16R2C2, dotF32x16R2C3, dotF32x16R2C4},
			{dotF32x16R3C1, dotF32x16R3C2, dotF32x16R3C3, dotF32x16R3C4},
		},
	}
	bf16Tiles = [2][3][4]dotBF16Kernel{
		{ // AVX2
			{dotBF16R1C1, dotBF16R1C2, dotBF16R1C3, dotBF16R1C4},
			{dotBF16R2C1, dotBF16R2C2, dotBF16R2C3, dotBF16R2C4},
			{dotBF16R3C1, dotBF16R3C2, dotBF16R3C3, dotBF16R3C4},
		},
		{ // AVX-512
			{dotBF16x16R1C1, dotBF16x16R1C2, dotBF16x16R1C3, dotBF16x16R1C4},
			{dotBF16x16R2C1, dotBF16x16R2C2, dotBF16x16R2C3, dotBF16x16R2C4},
			{dotBF16x16R3C1, dotBF16x16R3C2, dotBF16x16R3C3, dotBF16x16R3C4},
		},
	}
)

// tileSet indexes f32Tiles and bf16Tiles: 0 for the AVX2 tiles, 1 for the AVX-512 ones.
func tileSet(set simdSet) int {
	if set == simdAVX512 {
		return 1
	}
	return 0
}

func f32At(p unsafe.Pointer, i int) *float32 { return (*float32)(unsafe.Add(p, uintptr(i)*4)) }
func u16At(p unsafe.Pointer, i int) *uint16  { return (*uint16)(unsafe.Add(p, uintptr(i)*2)) }

// tileSIMD is tile on the assembly kernels of set (AVX2 or AVX-512): c[i*ldc+j] (+)= a_i·b_j for i < rows, j < cols,
// in 3×4 tiles (smaller at the edges), rows of a outermost so three rows of a stay in L1
// while the b rows stream past. K is cut into dotBlock pieces resumed through c.
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
	kern := &f32Tiles[tileSet(set)]
	for i := 0; i < rows; i += 3 {
		r := min(3, rows-i)
		for j := 0; j < cols; j += 4 {
			if rows == 1 {
				kickRows(uintptr(pb)+uintptr(4*(j+4)*ldb), 4*ldb)
			}
			fn := kern[r-1][min(4, cols-j)-1]
			for k0 := 0; k0 < k; k0 += dotBlock {
				fn(min(dotBlock, k-k0), f32At(pa, i*lda+k0), lda, f32At(pb, j*ldb+k0), ldb, f32At(pc, i*ldc+j), ldc, acc || k0 > 0)
			}
		}
	}
}

// kickRows prefetches the first line of the four weight rows at p, stride bytes apart, that
// one row of input (gemv, a token step's products with F32 or BF16 weights, or with Q8 and Q4
// on the AVX2 int8 kernels) reads next. A BF16 row starts a page of its own at
// Janus-Pro-1B's widths, where the hardware prefetchers stop, and starting their streams there
// before the kernel arrives read the layer stack's F32 and BF16 weights 8-23 % faster, Q8 and
// Q4 on the AVX2 kernels 5-24 % (README, "What the speed rests on").
func kickRows(p uintptr, stride int) { prefetchLines(p, 4, stride) }

// prefetchLines is in prefetch_amd64.s.
//
//go:noescape
func prefetchLines(p uintptr, n int, stride int)

// tileBF16SIMD is tileSIMD with BF16 rows b, widened in registers. Weight rows are
// outermost: each K block of four weight rows is widened once per three rows of a and
// stays in L1 while every row of a uses it, so the weights come from memory once.
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
	kern := &bf16Tiles[tileSet(set)]
	for j := 0; j < cols; j += 4 {
		cn := min(4, cols-j)
		if rows == 1 {
			kickRows(uintptr(pb)+uintptr(2*(j+4)*ldb), 2*ldb)
		}
		for k0 := 0; k0 < k; k0 += dotBlock {
			for i := 0; i < rows; i += 3 {
				fn := kern[min(3, rows-i)-1][cn-1]
				fn(min(dotBlock, k-k0), f32At(pa, i*lda+k0), lda, u16At(pb, j*ldb+k0), ldb, f32At(pc, i*ldc+j), ldc, acc || k0 > 0)
			}
		}
	}
}

// qsetBest is the best int8 kernel set this CPU runs: the 512-bit VPDPBUSD kernels need
// AVX512F, AVX512BW (VPSRLVW), AVX512VL (their 256-bit tail) and AVX512_VNNI; the AVX2 set
// needs AVX2 and F16C (the scales are F16), which every AVX2 CPU has.
func qsetBest() qSet {
	switch {
	case !cpu.X86.HasAVX2 || !cpu.X86.HasFMA:
		return qsetNone
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI:
		return qsetVNNI
	}
	return qsetAVX2Best()
}

type dotQKernel func(nb int, x *int8, xd *float32, w *byte, wd *uint16, ldw int, ldwd int, c *float32)

// qTiles are the AVX2 int8 kernels by [set is qsetAVXVNNI][Q4][cols-1]: on a CPU with AVX-VNNI
// their variants sum each four byte products with one VPDPBUSD instead of VPMADDUBSW and
// VPMADDWD, the same integers (so the same bits) with one instruction fewer per block,
// input row and weight row.
var qTiles = [2][2][4]dotQKernel{{
	{dotQ8AVX2C1, dotQ8AVX2C2, dotQ8AVX2C3, dotQ8AVX2C4},
	{dotQ4AVX2C1, dotQ4AVX2C2, dotQ4AVX2C3, dotQ4AVX2C4},
}, {
	{dotQ8AVXVNNIC1, dotQ8AVXVNNIC2, dotQ8AVXVNNIC3, dotQ8AVXVNNIC4},
	{dotQ4AVXVNNIC1, dotQ4AVXVNNIC2, dotQ4AVXVNNIC3, dotQ4AVXVNNIC4},
}}

// avxVNNIVariant is qTiles' first index: 1 for the AVX-VNNI variants.
func avxVNNIVariant(set qSet) int {
	if set == qsetAVXVNNI {
		return 1
	}
	return 0
}

// tileQSIMD computes c[j] = x·w_j for len(c) ≤ 4 weight rows on the AVX2 int8 kernels (the
// VNNI set reads packed input rows, tileQZ).
func tileQSIMD(set qSet, dt compute.DType, c []float32, xq []int8, xd []float32, wq []byte, wd []uint16, nb, rowBytes int) {
	cols := len(c)
	if cols == 0 {
		return
	}
	if nb == 0 {
		clear(c)
		return
	}
	_, _, _, _ = xq[nb*qBlock-1], xd[nb-1], wq[(cols-1)*rowBytes+nb*(rowBytes/nb)-1], wd[cols*nb-1]
	q4 := 0
	if dt == compute.Q4 {
		q4 = 1
	}
	// The next tile's rows, which the caller reads next (kickRows).
	kickRows(uintptr(unsafe.Pointer(unsafe.SliceData(wq)))+uintptr(4*rowBytes), rowBytes)
	qTiles[avxVNNIVariant(set)][q4][cols-1](nb, unsafe.SliceData(xq), unsafe.SliceData(xd), unsafe.SliceData(wq), unsafe.SliceData(wd), rowBytes, nb, unsafe.SliceData(c))
}

// dequantSIMD writes blocks [b0, b0+len(dst)/qBlock) of a quantized tensor into dst with the
// AVX2 kernels and reports true, or reports false on a CPU without AVX2 (and F16C). The
// values are bit for bit those of the Go loop (one float32 multiply each), so every kernel
// set may use it.
func dequantSIMD(dst []float32, dt compute.DType, q []byte, s []uint16, b0 int) bool {
	nb := len(dst) / qBlock
	if nb == 0 || !cpu.X86.HasAVX2 {
		return nb == 0
	}
	codes := qBlock
	if dt == compute.Q4 {
		codes = qBlock / 2
	}
	_, _ = q[(b0+nb)*codes-1], s[b0+nb-1]
	if dt == compute.Q4 {
		dequantQ4(nb, &q[b0*codes], &s[b0], unsafe.SliceData(dst))
	} else {
		dequantQ8(nb, &q[b0*codes], &s[b0], unsafe.SliceData(dst))
	}
	return true
}

type dotQ2Kernel func(nb int, x *int8, ldx int, xd *float32, ldxd int, w *byte, wd *uint16, ldw int, ldwd int, c *float32, ldc int)

// qTiles2 are the two-row AVX2 int8 kernels by [set is qsetAVXVNNI][Q4][cols-1] (qTiles).
var qTiles2 = [2][2][4]dotQ2Kernel{{
	{dotQ8AVX2R2C1, dotQ8AVX2R2C2, dotQ8AVX2R2C3, dotQ8AVX2R2C4},
	{dotQ4AVX2R2C1, dotQ4AVX2R2C2, dotQ4AVX2R2C3, dotQ4AVX2R2C4},
}, {
	{dotQ8AVXVNNIR2C1, dotQ8AVXVNNIR2C2, dotQ8AVXVNNIR2C3, dotQ8AVXVNNIR2C4},
	{dotQ4AVXVNNIR2C1, dotQ4AVXVNNIR2C2, dotQ4AVXVNNIR2C3, dotQ4AVXVNNIR2C4},
}}

// tileQSIMD2 is tileQSIMD for two input rows (codes k = nb·qBlock apart, scales nb apart),
// writing c[j] and c[ldc+j] for j < cols; each output has the bits tileQSIMD gives it.
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
	q4 := 0
	if dt == compute.Q4 {
		q4 = 1
	}
	qTiles2[avxVNNIVariant(set)][q4][cols-1](nb, unsafe.SliceData(xq), nb*qBlock, unsafe.SliceData(xd), nb,
		unsafe.SliceData(wq), unsafe.SliceData(wd), rowBytes, nb, unsafe.SliceData(c), ldc)
}
