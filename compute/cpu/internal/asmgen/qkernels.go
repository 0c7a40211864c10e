package main

import (
	"fmt"
	"math"
	"math/bits"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// qConsts holds the int8 kernels' byte and word constants: 32 bytes of 0x0F (Q4 nibble
// mask), 32 bytes of 8 (Q4 code offset) and 16 words of 1 (VPMADDWD's pairwise sum).
var qConsts Mem

func qConstants() Mem {
	m := GLOBL("qconsts", RODATA|NOPTR)
	// In increasing offsets: the assembler rejects DATA entries out of order.
	for c, v := range []uint32{0x0f0f0f0f, 0x08080808, 0x00010001} {
		for i := 0; i < 8; i++ {
			DATA(32*c+4*i, U32(v))
		}
	}
	return m
}

// qkernel emits dotQ{8,4}AVX2C{cols}: c[j] = Σ_b float32(x_b·w_jb)·(xd_b·wd_jb) for
// the cols weight rows w_j (ldw bytes apart, their F16 scales ldwd apart) and one int8 input
// row x with float32 block scales xd, over nb blocks of 32.
//
// Per block, the signed×signed int8 product is made unsigned×signed with the sign trick
// (VPSIGNB: |x| times w with x's sign), then summed to eight int32 lanes by VPMADDUBSW +
// VPMADDWD (no pair sum can saturate, |x| ≤ 127 and |w| ≤ 127), converted to float32
// (exact) and added to an 8-lane
// accumulator with one fused multiply-add by the block's scale xd·wd. The lanes are
// reduced as in kernel. Q4 codes are widened in registers: low nibbles are weights 0..15,
// high nibbles 16..31, minus 8 (the AVX-VNNI variants keep the codes: q4NegOffset).
func qkernel(cols int, q4, vnni bool) {
	typ := "Q8"
	if q4 {
		typ = "Q4"
	}
	name := fmt.Sprintf("dot%s%sC%d", typ, avx2Set(vnni), cols)
	TEXT(name, NOSPLIT, "func(nb int, x *int8, xd *float32, w *byte, wd *uint16, ldw int, ldwd int, c *float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes %d dot products of a %s weight row with an int8 row (see the generator).", name, cols, typ))

	nb := Load(Param("nb"), GP64())
	px := Load(Param("x"), GP64())
	pxd := Load(Param("xd"), GP64())
	pw := make([]Register, cols)
	pwd := make([]Register, cols)
	pw[0] = Load(Param("w"), GP64())
	pwd[0] = Load(Param("wd"), GP64())
	if cols > 1 {
		ldw := Load(Param("ldw"), GP64())
		ldwd := Load(Param("ldwd"), GP64())
		SHLQ(U8(1), ldwd)
		for j := 1; j < cols; j++ {
			pw[j], pwd[j] = GP64(), GP64()
			LEAQ(Mem{Base: pw[j-1], Index: ldw, Scale: 1}, pw[j])
			LEAQ(Mem{Base: pwd[j-1], Index: ldwd, Scale: 1}, pwd[j])
		}
	}
	accs := make([]VecVirtual, cols)
	for j := range accs {
		accs[j] = YMM()
		VXORPS(accs[j], accs[j], accs[j])
	}
	wstep := 32
	if q4 {
		wstep = 16
	}

	// nb counts the blocks left; the scale pointers advance past each block done.
	woff := GP64() // b·wstep
	XORQ(woff, woff)
	// x is indexed by woff too: b·32 is woff for Q8 and 2·woff for Q4.
	xScale := uint8(1)
	if q4 {
		xScale = 2
	}

	// Groups of 8 blocks first: the scale products xd·wd of 8 blocks of a weight row are
	// formed at once (one F16 conversion and one multiply of 8 lanes) into a stack slot,
	// then each block only broadcasts its product from there. The products and sums are
	// the ones the block loop below forms, so results do not depend on the grouping.
	scales := AllocLocal(32 * cols)
	Label("group")
	CMPQ(nb, U8(8))
	JL(LabelRef("block"))
	for j := 0; j < cols; j++ {
		p := YMM()
		VCVTPH2PS(Mem{Base: pwd[j]}, p)
		VMULPS(Mem{Base: pxd}, p, p)
		VMOVUPS(p, scales.Offset(32*j))
	}
	for u := 0; u < 8; u++ {
		xv, aux := blockInput(Mem{Base: px, Index: woff, Scale: xScale, Disp: 32 * u}, q4, vnni)
		for j := 0; j < cols; j++ {
			t := blockDot(Mem{Base: pw[j], Index: woff, Scale: 1, Disp: wstep * u}, xv, aux, q4, vnni)
			d := YMM()
			VBROADCASTSS(scales.Offset(32*j+4*u), d)
			VFMADD231PS(t, d, accs[j])
		}
	}
	SUBQ(U8(8), nb)
	ADDQ(U8(32), pxd)
	for j := range pwd {
		ADDQ(U8(16), pwd[j])
	}
	ADDQ(U32(8*wstep), woff)
	JMP(LabelRef("group"))

	Label("block")
	TESTQ(nb, nb)
	JZ(LabelRef("reduce"))

	xv, aux := blockInput(Mem{Base: px, Index: woff, Scale: xScale}, q4, vnni)
	xdv := YMM()
	VBROADCASTSS(Mem{Base: pxd}, xdv)
	for j := 0; j < cols; j++ {
		t := blockDot(Mem{Base: pw[j], Index: woff, Scale: 1}, xv, aux, q4, vnni)
		sc := YMM()
		VPBROADCASTW(Mem{Base: pwd[j]}, sc.AsX())
		VCVTPH2PS(sc.AsX(), sc)
		VMULPS(xdv, sc, sc)
		VFMADD231PS(t, sc, accs[j])
	}
	DECQ(nb)
	ADDQ(U8(4), pxd)
	for j := range pwd {
		ADDQ(U8(2), pwd[j])
	}
	ADDQ(U8(wstep), woff)
	JMP(LabelRef("block"))

	Label("reduce")
	cp := Load(Param("c"), GP64())
	for j := 0; j < cols; j++ {
		VMOVSS(sum8(accs[j], false), Mem{Base: cp, Disp: 4 * j})
	}
	VZEROUPPER()
	RET()
}

// dequantKernel emits dequantQ{8,4}: out[32b+i] = float32(code)·float32(scale_b) for nb
// blocks, one multiply per value, so the result is bit for bit the Go loop's
// (dequantizeRow). With grouped, dequantQ4G and dequantQ8G do it for a row of a matrix in
// row groups (quant_groups.go), whose blocks are 256 or 512 bytes apart (q at the row's
// first four code bytes of a block, the others in steps of 64 bytes) and whose scales 16
// apart: a block's pieces are gathered into registers first.
func dequantKernel(q4, grouped bool) {
	name := "dequantQ8"
	qStep, sStep := 32, 2 // bytes from a block's codes and scale to the next one's
	switch {
	case grouped && q4:
		name, qStep, sStep = "dequantQ4G", 256, 32
	case grouped:
		name, qStep, sStep = "dequantQ8G", 512, 32
	case q4:
		name, qStep = "dequantQ4", 16
	}
	TEXT(name, NOSPLIT, "func(nb int, q *byte, s *uint16, out *float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s writes the float32 values of nb blocks of codes q with F16 scales s to out (see the generator).", name))
	nb := Load(Param("nb"), GP64())
	pq := Load(Param("q"), GP64())
	ps := Load(Param("s"), GP64())
	po := Load(Param("out"), GP64())
	Label("block")
	TESTQ(nb, nb)
	JZ(LabelRef("done"))
	d := YMM()
	VPBROADCASTW(Mem{Base: ps}, d.AsX())
	VCVTPH2PS(d.AsX(), d)
	store := func(v VecVirtual, at int) {
		VCVTDQ2PS(v, v)
		VMULPS(d, v, v)
		VMOVUPS(v, Mem{Base: po, Disp: 4 * at})
	}
	// widen16 stores the values of the 16 signed codes in src from value at on.
	widen16 := func(src VecVirtual, at int) {
		a, b := YMM(), YMM()
		VPMOVSXBD(src, a)
		VPSRLDQ(U8(8), src, src)
		VPMOVSXBD(src, b)
		store(a, at)
		store(b, at+8)
	}
	if q4 {
		lo, hi := XMM(), XMM()
		if grouped {
			VMOVD(Mem{Base: pq}, lo)
			for c := 1; c < 4; c++ {
				VPINSRD(U8(c), Mem{Base: pq, Disp: 64 * c}, lo, lo)
			}
		} else {
			VMOVDQU(Mem{Base: pq}, lo)
		}
		VPSRLW(U8(4), lo, hi)
		VPAND(qConsts, lo, lo)
		VPAND(qConsts, hi, hi)
		VPSUBB(qConsts.Offset(32), lo, lo)
		VPSUBB(qConsts.Offset(32), hi, hi)
		for h, src := range []VecVirtual{lo, hi} {
			widen16(src, 16*h)
		}
	} else if grouped {
		for half := 0; half < 2; half++ {
			x := XMM()
			VMOVD(Mem{Base: pq, Disp: 256 * half}, x)
			for c := 1; c < 4; c++ {
				VPINSRD(U8(c), Mem{Base: pq, Disp: 256*half + 64*c}, x, x)
			}
			widen16(x, 16*half)
		}
	} else {
		for i := 0; i < 4; i++ {
			v := YMM()
			VPMOVSXBD(Mem{Base: pq, Disp: 8 * i}, v)
			store(v, 8*i)
		}
	}
	ADDQ(U32(qStep), pq)
	ADDQ(U8(sStep), ps)
	ADDQ(U8(128), po)
	DECQ(nb)
	JMP(LabelRef("block"))
	Label("done")
	VZEROUPPER()
	RET()
}

// qkernel2 emits dotQ{8,4}AVX2R2C{cols}: qkernel for two input rows (x and x+ldx,
// their scales xd and xd+ldxd floats apart) against the same cols weight rows, writing
// c[j] and c[ldc+j]. The sign trick goes the other way round here, |w| (shared by both
// rows) times x with w's sign, which gives the same integers, and the scale product is
// xd·wd as in qkernel, so each output has the very bits qkernel gives it: a row's result
// does not depend on whether it was computed alone or in a pair.
func qkernel2(cols int, q4, vnni bool) {
	typ := "Q8"
	if q4 {
		typ = "Q4"
	}
	name := fmt.Sprintf("dot%s%sR2C%d", typ, avx2Set(vnni), cols)
	TEXT(name, NOSPLIT, "func(nb int, x *int8, ldx int, xd *float32, ldxd int, w *byte, wd *uint16, ldw int, ldwd int, c *float32, ldc int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes 2×%d dot products of %s weight rows with two int8 rows (see the generator).", name, cols, typ))

	px := [2]Register{Load(Param("x"), GP64()), GP64()}
	ldx := Load(Param("ldx"), GP64())
	LEAQ(Mem{Base: px[0], Index: ldx, Scale: 1}, px[1])
	pxd := [2]Register{Load(Param("xd"), GP64()), GP64()}
	ldxd := Load(Param("ldxd"), GP64())
	LEAQ(Mem{Base: pxd[0], Index: ldxd, Scale: 4}, pxd[1])
	pw := make([]Register, cols)
	pwd := make([]Register, cols)
	pw[0] = Load(Param("w"), GP64())
	pwd[0] = Load(Param("wd"), GP64())
	if cols > 1 {
		ldw := Load(Param("ldw"), GP64())
		ldwd := Load(Param("ldwd"), GP64())
		SHLQ(U8(1), ldwd)
		for j := 1; j < cols; j++ {
			pw[j], pwd[j] = GP64(), GP64()
			LEAQ(Mem{Base: pw[j-1], Index: ldw, Scale: 1}, pw[j])
			LEAQ(Mem{Base: pwd[j-1], Index: ldwd, Scale: 1}, pwd[j])
		}
	}
	// Registers are short (14 general ones): the scale pointers advance block by block
	// instead of sharing an index, and x is indexed by the code offset (×2 for Q4).
	nb := Load(Param("nb"), GP64())
	accs := [2][]VecVirtual{make([]VecVirtual, cols), make([]VecVirtual, cols)}
	for i := range accs {
		for j := range accs[i] {
			accs[i][j] = YMM()
			VXORPS(accs[i][j], accs[i][j], accs[i][j])
		}
	}
	wstep := 32
	if q4 {
		wstep = 16
	}
	woff := GP64()
	XORQ(woff, woff)
	xScale := uint8(1)
	if q4 {
		xScale = 2
	}
	// Groups of 8 blocks with their scale products formed at once, as in qkernel.
	scales := AllocLocal(2 * 32 * cols)
	Label("group")
	CMPQ(nb, U8(8))
	JL(LabelRef("block"))
	for j := 0; j < cols; j++ {
		p := YMM()
		VCVTPH2PS(Mem{Base: pwd[j]}, p)
		for i := 0; i < 2; i++ {
			q := YMM()
			VMULPS(Mem{Base: pxd[i]}, p, q)
			VMOVUPS(q, scales.Offset(32*(i*cols+j)))
		}
	}
	for u := 0; u < 8; u++ {
		xv, off := blockInputs2(func(i int) Mem { return Mem{Base: px[i], Index: woff, Scale: xScale, Disp: 32 * u} }, q4, vnni)
		for j := 0; j < cols; j++ {
			wv, aw := blockWeights2(Mem{Base: pw[j], Index: woff, Scale: 1, Disp: wstep * u}, q4, vnni)
			for i := 0; i < 2; i++ {
				t := blockDot2(wv, aw, xv[i], off[i], q4, vnni)
				d := YMM()
				VBROADCASTSS(scales.Offset(32*(i*cols+j)+4*u), d)
				VFMADD231PS(t, d, accs[i][j])
			}
		}
	}
	SUBQ(U8(8), nb)
	for i := range pxd {
		ADDQ(U8(32), pxd[i])
	}
	for j := range pwd {
		ADDQ(U8(16), pwd[j])
	}
	ADDQ(U32(8*wstep), woff)
	JMP(LabelRef("group"))

	Label("block")
	TESTQ(nb, nb)
	JZ(LabelRef("reduce"))

	xv, off := blockInputs2(func(i int) Mem { return Mem{Base: px[i], Index: woff, Scale: xScale} }, q4, vnni)
	for j := 0; j < cols; j++ {
		wv, aw := blockWeights2(Mem{Base: pw[j], Index: woff, Scale: 1}, q4, vnni)
		sc := YMM()
		VPBROADCASTW(Mem{Base: pwd[j]}, sc.AsX())
		VCVTPH2PS(sc.AsX(), sc)
		for i := 0; i < 2; i++ {
			t := blockDot2(wv, aw, xv[i], off[i], q4, vnni)
			d := YMM()
			VBROADCASTSS(Mem{Base: pxd[i]}, d)
			VMULPS(d, sc, d) // xd·wd, the product qkernel forms
			VFMADD231PS(t, d, accs[i][j])
		}
	}
	for i := range pxd {
		ADDQ(U8(4), pxd[i])
	}
	for j := range pwd {
		ADDQ(U8(2), pwd[j])
	}
	ADDQ(U8(wstep), woff)
	DECQ(nb)
	JMP(LabelRef("block"))

	Label("reduce")
	cp := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	for i := 0; i < 2; i++ {
		for j := 0; j < cols; j++ {
			w := sum8(accs[i][j], false)
			VMOVSS(w, Mem{Base: cp, Disp: 4 * j})
		}
		if i == 0 {
			ADDQ(ldc, cp)
		}
	}
	VZEROUPPER()
	RET()
}

// loadQ4 widens the 16 code bytes of a Q4 block at into wv as 32 signed bytes (weights 0..15
// from the low nibbles, 16..31 from the high ones, minus 8).
func loadQ4(at Mem, wv VecVirtual) {
	loadQ4Codes(at, wv)
	VPSUBB(qConsts.Offset(32), wv, wv)
}

// loadQ4Codes is loadQ4 without the minus 8: codes 0..15. Every instruction writes a whole
// YMM register: writing only the XMM half would make the allocator keep the upper half
// alive from the function's entry, and run out of registers.
func loadQ4Codes(at Mem, wv VecVirtual) {
	sh := YMM()
	VBROADCASTI128(at, wv)
	VPSRLW(U8(4), wv, sh)
	VPBLENDD(U8(0xf0), sh, wv, wv)
	VPAND(qConsts, wv, wv)
}

// The AVX-VNNI kernels (vnni) take Q4 codes as they are, 0..15, as VPDPBUSD's unsigned
// operand and the input as its signed one, with each lane's sum started from minus 8 times
// the sum of its four inputs (q4NegOffset, once per block and input row): it ends with the
// integer the sign trick gives, with neither the subtraction of 8 nor the signs moved per
// block and weight row. Everything else takes the sign trick: |x| times w with x's sign
// (one input row), or |w| times x with w's sign (two rows, the weights shared).

// q4NegOffset returns minus 8 times the sums of each four int8 inputs of xv, one per
// int32 lane as VPDPBUSD sums them.
func q4NegOffset(xv VecVirtual) VecVirtual {
	e, off, neg := YMM(), YMM(), YMM()
	VMOVDQU(qConsts.Offset(32), e)
	VPXOR(off, off, off)
	VPDPBUSD(xv, e, off)
	VPXOR(neg, neg, neg)
	VPSUBD(off, neg, neg)
	return neg
}

// dotQ4Codes returns the eight lane sums, as float32, of the Q4 codes wv (loadQ4Codes)
// times the inputs xv, each started from its offset off (q4NegOffset).
func dotQ4Codes(wv, xv, off VecVirtual) VecVirtual {
	t := YMM()
	VMOVDQA(off, t)
	VPDPBUSD(xv, wv, t)
	VCVTDQ2PS(t, t)
	return t
}

// blockInput loads one input row's 32 codes at xat and what blockDot needs with them: |x|,
// or for Q4 on AVX-VNNI the lanes' offset.
func blockInput(xat Mem, q4, vnni bool) (xv, aux VecVirtual) {
	xv = YMM()
	VMOVDQU(xat, xv)
	if q4 && vnni {
		return xv, q4NegOffset(xv)
	}
	aux = YMM()
	VPSIGNB(xv, xv, aux)
	return xv, aux
}

// blockDot returns the eight lane sums, as float32, of the weight block at wat times the
// input block xv (with aux from blockInput).
func blockDot(wat Mem, xv, aux VecVirtual, q4, vnni bool) VecVirtual {
	wv := YMM()
	if q4 && vnni {
		loadQ4Codes(wat, wv)
		return dotQ4Codes(wv, xv, aux)
	}
	t := YMM()
	loadWeights(wat, wv, q4)
	sw := YMM()
	VPSIGNB(xv, wv, sw)
	dotBlocks(sw, aux, t, vnni)
	return t
}

// blockInputs2 loads the two input rows' blocks at xat(0) and xat(1), with their offsets
// for Q4 on AVX-VNNI.
func blockInputs2(xat func(i int) Mem, q4, vnni bool) (xv, off [2]VecVirtual) {
	for i := range xv {
		xv[i] = YMM()
		VMOVDQU(xat(i), xv[i])
		if q4 && vnni {
			off[i] = q4NegOffset(xv[i])
		}
	}
	return xv, off
}

// blockWeights2 loads a weight block for both input rows: Q4 codes as they are on
// AVX-VNNI, else the signed weights and their absolute values.
func blockWeights2(wat Mem, q4, vnni bool) (wv, aw VecVirtual) {
	wv = YMM()
	if q4 && vnni {
		loadQ4Codes(wat, wv)
		return wv, aw
	}
	loadWeights(wat, wv, q4)
	aw = YMM()
	VPSIGNB(wv, wv, aw)
	return wv, aw
}

// blockDot2 is blockDot for one of two input rows (blockInputs2, blockWeights2).
func blockDot2(wv, aw, xv, off VecVirtual, q4, vnni bool) VecVirtual {
	if q4 && vnni {
		return dotQ4Codes(wv, xv, off)
	}
	t, sx := YMM(), YMM()
	VPSIGNB(wv, xv, sx)
	dotBlocks(sx, aw, t, vnni)
	return t
}

// loadWeights loads the 32 weight codes of a block at at into wv as bytes: Q4's nibbles
// widened (loadQ4), Q8's as they are.
func loadWeights(at Mem, wv VecVirtual, q4 bool) {
	if q4 {
		loadQ4(at, wv)
	} else {
		VMOVDQU(at, wv)
	}
}

// dotBlocks sets t to the eight block sums of the byte products of s (signed) and u
// (unsigned), as float32: VPMADDUBSW and VPMADDWD by ones (no pair sum can saturate, |s|,
// |u| ≤ 127), or with vnni one VPDPBUSD into a zeroed t, which sums the same four products
// into each lane: the same integers, so the same bits. The Go assembler knows VPDPBUSD on
// YMM registers only in its AVX512_VNNI (EVEX) encoding; main rewrites it in the AVX-VNNI
// kernels as the VEX encoding CPUs without AVX-512 run (vexDPBUSD).
func dotBlocks(s, u, t VecVirtual, vnni bool) {
	if vnni {
		VPXOR(t, t, t)
		VPDPBUSD(s, u, t)
	} else {
		VPMADDUBSW(s, u, t)
		VPMADDWD(qConsts.Offset(64), t, t)
	}
	VCVTDQ2PS(t, t)
}

// avx2Set is the name part of the AVX2 int8 kernels: AVX2, or AVXVNNI for their variants
// with AVX-VNNI's VPDPBUSD (Intel since Alder Lake, with or without AVX-512).
func avx2Set(vnni bool) string {
	if vnni {
		return "AVXVNNI"
	}
	return "AVX2"
}

// qzConsts holds the 512-bit VNNI kernels' constants (qzConstants).
var qzConsts Mem

// Offsets in qzConsts.
const (
	qzC80       = 0   // 0x80 bytes: Q8 codes XOR 0x80 are the codes plus 128, unsigned
	qzC0F       = 4   // 0x0F bytes: Q4 nibble mask
	qzAbs       = 8   // float32 |·| mask
	qzSign      = 12  // float32 sign bit
	qzHalf      = 16  // float32 0.5
	qz127f      = 20  // float32 127
	qzOne       = 24  // float32 1
	qz127       = 28  // int32 127
	qzM127      = 32  // int32 -127
	qzC01       = 36  // 0x01 bytes: VPDPBUSD by them sums a lane's four codes
	qzShift     = 64  // 32 words of 0 then 32 of 4: VPSRLVW counts (low half low nibbles, high half high)
	qzIdxQ8     = 128 // 4 VPERMPS index vectors, Q8 layout
	qzIdxQ4     = 384 // 4 VPERMPS index vectors, Q4 pair layout (only the first is used)
	qzIdxQ4Quad = 640 // 2 VPERMPS index vectors, Q4 quad layout
)

// qzConstants lays out qzConsts. The index vector of block pair u (0..3 in a group of 8
// blocks) sends scale 2u to the lanes that hold block 2u's sums and 2u+1 to the others: in
// the Q8 layout lanes 0-7 and 8-15, in the Q4 pair layout lanes 0-3 and 8-11 (block 2u's low
// and high nibbles) and lanes 4-7 and 12-15. The Q4 quad q of a group sends scale 4q+k to
// lanes 4k..4k+3.
func qzConstants() Mem {
	m := GLOBL("qzconsts", RODATA|NOPTR)
	DATA(qzC80, U32(0x80808080))
	DATA(qzC0F, U32(0x0f0f0f0f))
	DATA(qzAbs, U32(0x7fffffff))
	DATA(qzSign, U32(0x80000000))
	DATA(qzHalf, U32(math.Float32bits(0.5)))
	DATA(qz127f, U32(math.Float32bits(127)))
	DATA(qzOne, U32(math.Float32bits(1)))
	DATA(qz127, U32(127))
	DATA(qzM127, U32(0xffffff81)) // -127
	DATA(qzC01, U32(0x01010101))
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i >= 8 {
			v = 0x00040004
		}
		DATA(qzShift+4*i, U32(v))
	}
	for u := 0; u < 4; u++ {
		for l := 0; l < 16; l++ {
			DATA(qzIdxQ8+64*u+4*l, U32(uint32(2*u+l/8)))
		}
	}
	for u := 0; u < 4; u++ {
		for l := 0; l < 16; l++ {
			DATA(qzIdxQ4+64*u+4*l, U32(uint32(2*u+(l/4)%2)))
		}
	}
	for q := 0; q < 2; q++ {
		for l := 0; l < 16; l++ {
			DATA(qzIdxQ4Quad+64*q+4*l, U32(uint32(4*q+l/4)))
		}
	}
	return m
}

// qkernelZ emits dotQ{8,4}ZR{rows}C{cols}, the AVX-512 VNNI int8 kernels: c[i·ldc+j] =
// Σ_b float32(x_ib·w_jb)·(xd_ib·wd_jb) for rows (1 or 2) input rows and cols weight rows,
// over nb blocks of 32, with 512-bit vectors covering two blocks.
//
// The input rows come packed (packQZ): codes with int32 corrections, each -128 (Q8) or -8
// (Q4) times the sum of the codes its lane multiplies. VPDPBUSD multiplies unsigned by
// signed bytes, so the weights are made unsigned instead of taking signs apart: Q8 codes
// XOR 0x80 (the code plus 128), Q4 nibbles as they are (the weight plus 8); starting each
// block's sums from the corrections makes them the exact signed dot products.
//
// Q8 goes by pairs of blocks (one 512-bit vector), Q4 in groups of 8 blocks by quads: the
// 64 bytes of 4 blocks masked give their low nibbles, shifted by 4 and masked their high
// nibbles, both with block k in 128-bit lane k, so two VPDPBUSD add a quad into one vector
// of 4 lanes per block. Q4 pairs after the groups are widened by a 256-bit broadcast, a
// VPSRLVW that shifts the upper half's words by 4 and the mask. Per vector of sums, the 16
// int32 lanes are converted to float32 (exact) and added to a 16-lane accumulator with one
// fused multiply-add by their blocks' scale products xd·wd, formed 8 blocks at a time and
// spread over the lanes by VPERMPS. At the end lanes l and
// l+8 are added, a trailing odd block is added to those 8 lanes in the same way, and they
// are reduced as in kernel. A two-row kernel does for each row exactly what the one-row
// kernel does, so a row's bits do not depend on its pairing. The four-column kernels also
// prefetch the next four weight rows into L2, four times as fast as they read their own, so
// the next call finds them on their way: rows of 1–2 KB start too often for the hardware
// prefetcher, which restarts at every 4 KB page.
func qkernelZ(rows, cols int, q4 bool) {
	typ := "Q8"
	if q4 {
		typ = "Q4"
	}
	name := fmt.Sprintf("dot%sZR%dC%d", typ, rows, cols)
	TEXT(name, NOSPLIT, "func(nb int, x *byte, ldx int, xd *float32, ldxd int, w *byte, wd *uint16, ldw int, ldwd int, c *float32, ldc int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes %d×%d dot products of %s weight rows with packed int8 rows (see the generator).", name, rows, cols, typ))

	px := make([]Register, rows)
	pxd := make([]Register, rows)
	px[0] = Load(Param("x"), GP64())
	pxd[0] = Load(Param("xd"), GP64())
	if rows > 1 {
		ldx := Load(Param("ldx"), GP64())
		ldxd := Load(Param("ldxd"), GP64())
		for i := 1; i < rows; i++ {
			px[i], pxd[i] = GP64(), GP64()
			LEAQ(Mem{Base: px[i-1], Index: ldx, Scale: 1}, px[i])
			LEAQ(Mem{Base: pxd[i-1], Index: ldxd, Scale: 4}, pxd[i])
		}
	}
	pw := make([]Register, cols)
	pw[0] = Load(Param("w"), GP64())
	// The scales of weight row j are at pwd0 + j·ldwd for j < 3 and at pwd3 for j = 3: one
	// register fewer than a pointer per row, which leaves one for prefetching.
	pwd0 := Load(Param("wd"), GP64())
	var ldwd, pwd3 Register
	if cols > 1 {
		ldwd = Load(Param("ldwd"), GP64())
		SHLQ(U8(1), ldwd)
	}
	if cols == 4 {
		pwd3 = GP64()
		LEAQ(Mem{Base: pwd0, Index: ldwd, Scale: 2}, pwd3)
		ADDQ(ldwd, pwd3)
	}
	wdAt := func(j int) Mem {
		switch j {
		case 0:
			return Mem{Base: pwd0}
		case 3:
			return Mem{Base: pwd3}
		}
		return Mem{Base: pwd0, Index: ldwd, Scale: uint8(j)}
	}
	var pf Register
	if cols > 1 {
		ldw := Load(Param("ldw"), GP64())
		for j := 1; j < cols; j++ {
			pw[j] = GP64()
			LEAQ(Mem{Base: pw[j-1], Index: ldw, Scale: 1}, pw[j])
		}
		if cols == 4 {
			// The next four weight rows, which the next call reads.
			pf = GP64()
			LEAQ(Mem{Base: pw[3], Index: ldw, Scale: 1}, pf)
		}
	}
	scalePtrs := []Register{pwd0}
	if pwd3 != nil {
		scalePtrs = append(scalePtrs, pwd3)
	}
	nb := Load(Param("nb"), GP64())
	woff := GP64() // code bytes of a weight row done
	XORQ(woff, woff)
	wpair, xScale, idxAt := 64, uint8(2), qzIdxQ8
	if q4 {
		wpair, xScale, idxAt = 32, 4, qzIdxQ4
	}

	var c80, mask, shift VecVirtual
	if q4 {
		mask, shift = ZMM(), ZMM()
		VPBROADCASTD(qzConsts.Offset(qzC0F), mask)
		VMOVDQU64(qzConsts.Offset(qzShift), shift)
	} else {
		c80 = ZMM()
		VPBROADCASTD(qzConsts.Offset(qzC80), c80)
	}
	// The Q8 groups use all four pair indices, Q4 only the first (for leftover pairs) and
	// the two quad indices.
	idx := make([]VecVirtual, 4)
	for u := range idx {
		if q4 && u > 0 {
			break
		}
		idx[u] = ZMM()
		VMOVDQU64(qzConsts.Offset(idxAt+64*u), idx[u])
	}
	var quadIdx [2]VecVirtual
	if q4 {
		for q := range quadIdx {
			quadIdx[q] = ZMM()
			VMOVDQU64(qzConsts.Offset(qzIdxQ4Quad+64*q), quadIdx[q])
		}
	}
	accs := make([][]VecVirtual, rows)
	for i := range accs {
		accs[i] = make([]VecVirtual, cols)
		for j := range accs[i] {
			accs[i][j] = ZMM()
			VPXORD(accs[i][j], accs[i][j], accs[i][j])
		}
	}
	// slot(i, j) holds the scale products of row i and weight row j for the blocks at hand.
	slots := AllocLocal(64 * rows * cols)
	slot := func(i, j int) Mem { return slots.Offset(64 * (i*cols + j)) }

	// pair does block pair u of the blocks at woff.
	pair := func(u int) {
		xv := make([]VecVirtual, rows)
		for i := range xv {
			xv[i] = ZMM()
			VMOVDQU64(Mem{Base: px[i], Index: woff, Scale: xScale, Disp: 128 * u}, xv[i])
		}
		if pf != nil {
			// The next rows are 4 times as long as the progress here, 4·wpair bytes per pair.
			for l := 0; l < 4*wpair; l += 64 {
				PREFETCHT1(Mem{Base: pf, Index: woff, Scale: 4, Disp: 4*wpair*u + l})
			}
		}
		for j := 0; j < cols; j++ {
			wu := ZMM()
			at := Mem{Base: pw[j], Index: woff, Scale: 1, Disp: wpair * u}
			if q4 {
				VBROADCASTI64X4(at, wu)
				VPSRLVW(shift, wu, wu)
				VPANDD(mask, wu, wu)
			} else {
				VPXORD(at, c80, wu)
			}
			for i := 0; i < rows; i++ {
				t := ZMM()
				VMOVDQU64(Mem{Base: px[i], Index: woff, Scale: xScale, Disp: 128*u + 64}, t)
				VPDPBUSD(xv[i], wu, t)
				VCVTDQ2PS(t, t)
				s := ZMM()
				VPERMPS(slot(i, j), idx[u], s)
				VFMADD231PS(t, s, accs[i][j])
			}
		}
	}

	// quad does Q4 quad q of the group at woff: its 64 weight bytes hold 4 blocks' low
	// nibbles (one 128-bit lane each) and, shifted, their high nibbles, which the packed
	// input matches, so both products of a quad add into one vector of 4 lanes per block.
	quad := func(q int) {
		xl, xh := make([]VecVirtual, rows), make([]VecVirtual, rows)
		for i := range xl {
			xl[i], xh[i] = ZMM(), ZMM()
			VMOVDQU64(Mem{Base: px[i], Index: woff, Scale: xScale, Disp: 256 * q}, xl[i])
			VMOVDQU64(Mem{Base: px[i], Index: woff, Scale: xScale, Disp: 256*q + 64}, xh[i])
		}
		if pf != nil {
			for l := 0; l < 256; l += 64 {
				PREFETCHT1(Mem{Base: pf, Index: woff, Scale: 4, Disp: 256*q + l})
			}
		}
		for j := 0; j < cols; j++ {
			wl, wh := ZMM(), ZMM()
			VMOVDQU64(Mem{Base: pw[j], Index: woff, Scale: 1, Disp: 64 * q}, wl)
			VPSRLW(U8(4), wl, wh)
			VPANDD(mask, wl, wl)
			VPANDD(mask, wh, wh)
			for i := 0; i < rows; i++ {
				t := ZMM()
				VMOVDQU64(Mem{Base: px[i], Index: woff, Scale: xScale, Disp: 256*q + 128}, t)
				VPDPBUSD(xl[i], wl, t)
				VPDPBUSD(xh[i], wh, t)
				VCVTDQ2PS(t, t)
				s := ZMM()
				VPERMPS(slot(i, j), quadIdx[q], s)
				VFMADD231PS(t, s, accs[i][j])
			}
		}
	}

	Label("group")
	CMPQ(nb, U8(8))
	JL(LabelRef("pairs"))
	for j := 0; j < cols; j++ {
		p := YMM()
		VCVTPH2PS(wdAt(j), p)
		for i := 0; i < rows; i++ {
			q := YMM()
			VMULPS(Mem{Base: pxd[i]}, p, q)
			VMOVUPS(q, slot(i, j))
		}
	}
	if q4 {
		quad(0)
		quad(1)
	} else {
		for u := 0; u < 4; u++ {
			pair(u)
		}
	}
	SUBQ(U8(8), nb)
	for i := range pxd {
		ADDQ(U8(32), pxd[i])
	}
	for _, r := range scalePtrs {
		ADDQ(U8(16), r)
	}
	ADDQ(U32(4*wpair), woff)
	JMP(LabelRef("group"))

	// Pairs left over from the groups: the same products, two at a time.
	Label("pairs")
	CMPQ(nb, U8(2))
	JL(LabelRef("halves"))
	for j := 0; j < cols; j++ {
		p := XMM()
		VMOVD(wdAt(j), p)
		VCVTPH2PS(p, p)
		for i := 0; i < rows; i++ {
			q := XMM()
			VMOVQ(Mem{Base: pxd[i]}, q)
			VMULPS(q, p, q)
			VMOVUPS(q, slot(i, j))
		}
	}
	pair(0)
	SUBQ(U8(2), nb)
	for i := range pxd {
		ADDQ(U8(8), pxd[i])
	}
	for _, r := range scalePtrs {
		ADDQ(U8(4), r)
	}
	ADDQ(U8(wpair), woff)
	JMP(LabelRef("pairs"))

	// Lanes l and l+8, then a trailing odd block on 256-bit vectors.
	Label("halves")
	acc8 := make([][]VecVirtual, rows)
	for i := range acc8 {
		acc8[i] = make([]VecVirtual, cols)
		for j := range acc8[i] {
			y := YMM()
			VEXTRACTF64X4(U8(1), accs[i][j], y)
			VADDPS(accs[i][j].AsY(), y, y)
			acc8[i][j] = y
		}
	}
	TESTQ(nb, nb)
	JZ(LabelRef("reduce"))
	for j := 0; j < cols; j++ {
		wu := YMM()
		at := Mem{Base: pw[j], Index: woff, Scale: 1}
		if q4 {
			hi := YMM()
			VBROADCASTI32X4(at, wu)
			VPSRLW(U8(4), wu, hi)
			VINSERTI32X4(U8(1), hi.AsX(), wu, wu)
			VPANDD(mask.AsY(), wu, wu)
		} else {
			VPXORD(at, c80.AsY(), wu)
		}
		h := XMM()
		VPBROADCASTW(wdAt(j), h)
		sc := YMM()
		VCVTPH2PS(h, sc)
		for i := 0; i < rows; i++ {
			t := YMM()
			VMOVDQU64(Mem{Base: px[i], Index: woff, Scale: xScale, Disp: 32}, t)
			VPDPBUSD(Mem{Base: px[i], Index: woff, Scale: xScale}, wu, t)
			VCVTDQ2PS(t, t)
			d := YMM()
			VBROADCASTSS(Mem{Base: pxd[i]}, d)
			VMULPS(sc, d, d) // xd·wd, the product the groups form
			VFMADD231PS(t, d, acc8[i][j])
		}
	}

	Label("reduce")
	cp := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			w := sum8(acc8[i][j], true)
			VMOVSS(w, Mem{Base: cp, Disp: 4 * j})
		}
		if i+1 < rows {
			ADDQ(ldc, cp)
		}
	}
	VZEROUPPER()
	RET()
}

// quantKernelZ emits quantQ{8,4}Z(nb, x, xd, dst): the input quantization of Linear
// (quantizeInput) and the packing for the VNNI kernels (packQZ) of one row of nb blocks in
// one pass, bit for bit what the Go pair gives (Q4: whole groups of 8 blocks as quads, the
// rest as pairs and a single block, packQZ's layout). Per block: amax by VMAXPS (exact, any
// order), d = amax/127 and id = 1/d (0 where d = 0) by IEEE division, each code
// trunc(v·id + copysign(0.5, v·id)) clamped to ±127 (compute.RoundHalfAway), narrowed by
// VPMOVDB into its place in the packed layout; a pair's corrections come from one VPDPBUSD
// of its codes by 0x01 bytes, shifted and negated.
func quantKernelZ(q4 bool) {
	name := "quantQ8Z"
	shift := uint8(7) // -128·sum
	if q4 {
		name, shift = "quantQ4Z", 3 // -8·sum
	}
	TEXT(name, NOSPLIT, "func(nb int, x *float32, xd *float32, dst *byte)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s quantizes nb blocks of x to int8 codes with scales xd, packed into dst for the %s VNNI kernels (see the generator).", name, map[bool]string{false: "Q8", true: "Q4"}[q4]))
	nb := Load(Param("nb"), GP64())
	px := Load(Param("x"), GP64())
	pxd := Load(Param("xd"), GP64())
	pd := Load(Param("dst"), GP64())
	bc := func(off int) VecVirtual {
		z := ZMM()
		VBROADCASTSS(qzConsts.Offset(off), z)
		return z
	}
	abs, sign, half, one := bc(qzAbs), bc(qzSign), bc(qzHalf), bc(qzOne)
	i127, m127, ones := bc(qz127), bc(qzM127), bc(qzC01)
	zero := ZMM()
	VPXORD(zero, zero, zero)

	// block quantizes block bi (floats at x + 128·bi bytes) into the 16-byte chunks at
	// dst + at(0) and dst + at(1).
	block := func(bi int, at func(c int) int) {
		v := [2]VecVirtual{ZMM(), ZMM()}
		a := [2]VecVirtual{ZMM(), ZMM()}
		for c := range v {
			VMOVUPS(Mem{Base: px, Disp: 128*bi + 64*c}, v[c])
			VANDPS(abs, v[c], a[c])
		}
		VMAXPS(a[1], a[0], a[0])
		y := YMM()
		VEXTRACTF64X4(U8(1), a[0], y)
		VMAXPS(a[0].AsY(), y, y)
		h := XMM()
		VEXTRACTF32X4(U8(1), y, h)
		VMAXPS(y.AsX(), h, h)
		u := XMM()
		VMOVHLPS(h, h, u)
		VMAXPS(h, u, u)
		w := XMM()
		VMOVSHDUP(u, w)
		VMAXSS(u, w, w)
		d := XMM()
		VDIVSS(qzConsts.Offset(qz127f), w, d)
		VMOVSS(d, Mem{Base: pxd, Disp: 4 * bi})
		dz, id := ZMM(), ZMM()
		VBROADCASTSS(d, dz)
		VDIVPS(dz, one, id)
		nz := K()
		VCMPPS(U8(4), zero, dz, nz) // d != 0 (NEQ_UQ, as Go's != is for NaN)
		VMOVAPS_Z(id, nz, id)
		for c := range v {
			VMULPS(id, v[c], v[c])
			s := ZMM()
			VANDPS(sign, v[c], s)
			VORPS(half, s, s)
			VADDPS(s, v[c], v[c])
			VCVTTPS2DQ(v[c], v[c])
			VPMAXSD(m127, v[c], v[c])
			VPMINSD(i127, v[c], v[c])
			VPMOVDB(v[c], Mem{Base: pd, Disp: at(c)})
		}
	}
	// corrections writes the corrections of the codes at dst (a pair's 64 when off is 64,
	// a block's 32 when it is 32) to dst + off.
	corrections := func(off int) {
		c, t := ZMM(), ZMM()
		switch off {
		case 64:
			VMOVDQU64(Mem{Base: pd}, c)
			VPXORD(t, t, t)
			VPDPBUSD(c, ones, t)
			VPSLLD(U8(shift), t, t)
			VPSUBD(t, zero, t)
			VMOVDQU64(t, Mem{Base: pd, Disp: off})
		default:
			VMOVDQU64(Mem{Base: pd}, c.AsY())
			VPXORD(t.AsY(), t.AsY(), t.AsY())
			VPDPBUSD(c.AsY(), ones.AsY(), t.AsY())
			VPSLLD(U8(shift), t.AsY(), t.AsY())
			VPSUBD(t.AsY(), zero.AsY(), t.AsY())
			VMOVDQU64(t.AsY(), Mem{Base: pd, Disp: off})
		}
	}

	if q4 {
		// Whole groups of 8 blocks as two quads each (packQZ), as the kernels read them.
		Label("quad")
		CMPQ(nb, U8(8))
		JL(LabelRef("pair"))
		for q := 0; q < 2; q++ {
			for k := 0; k < 4; k++ {
				block(4*q+k, func(c int) int { return 256*q + 64*c + 16*k })
			}
			c, t := ZMM(), ZMM()
			VPXORD(t, t, t)
			for h := 0; h < 2; h++ {
				VMOVDQU64(Mem{Base: pd, Disp: 256*q + 64*h}, c)
				VPDPBUSD(c, ones, t)
			}
			VPSLLD(U8(shift), t, t)
			VPSUBD(t, zero, t)
			VMOVDQU64(t, Mem{Base: pd, Disp: 256*q + 128})
			VMOVDQU64(zero, Mem{Base: pd, Disp: 256*q + 192})
		}
		ADDQ(U32(1024), px)
		ADDQ(U8(32), pxd)
		ADDQ(U32(512), pd)
		SUBQ(U8(8), nb)
		JMP(LabelRef("quad"))
	}

	Label("pair")
	CMPQ(nb, U8(2))
	JL(LabelRef("single"))
	for bi := 0; bi < 2; bi++ {
		if q4 {
			block(bi, func(c int) int { return 16*bi + 32*c })
		} else {
			block(bi, func(c int) int { return 32*bi + 16*c })
		}
	}
	corrections(64)
	ADDQ(U32(256), px)
	ADDQ(U8(8), pxd)
	ADDQ(U32(128), pd)
	SUBQ(U8(2), nb)
	JMP(LabelRef("pair"))

	Label("single")
	TESTQ(nb, nb)
	JZ(LabelRef("done"))
	block(0, func(c int) int { return 16 * c })
	corrections(32)
	Label("done")
	VZEROUPPER()
	RET()
}

// qkernelG emits dotQ{4,8}G{groups}R{rows} (and, with q4m, dotQ4MG{groups}R{rows}), the
// AVX-512 VNNI kernels of Q4, Q8 and Q4M weights stored in groups of 16 rows
// (quant_groups.go): c[i·ldc+r] = Σ_b float32(x_ib·w_rb)·(xd_ib·wd_rb) for rows (1, 2, 4 or
// 8) input rows and the 16·groups weight rows r of 1, 2 or 4 consecutive groups, over nb
// blocks, bit for bit dotQ4 and dotQ8 (Q4M: see below). nb is a whole number of the units
// the packed input rows hold their blocks in: Q4 quads of 4 blocks, which the packing makes
// only in whole groups of 8, Q8 pairs.
//
// A group stores per block 64-byte chunks of codes (w), 32-bit lane r of chunk c holding
// row r's code bytes 4c to 4c+3 (Q4: four chunks, weights 4c..4c+3 in the low nibbles and
// 16+4c..16+4c+3 in the high ones; Q8: eight chunks), and the 16 rows' F16 scales (ws). So
// one VPDPBUSD of a chunk (Q4 masked, Q8 made unsigned: the code plus 128) against the
// input's matching four codes, broadcast, adds to all 16 rows' sums at once: a block takes 8
// of them per input row, no lane is moved, and each lane ends with its row's exact block sum
// (started from the block's correction xc, -8 or -128 times the sum of its codes). That sum
// is converted, multiplied by xd·wd and added to the row's lane in order of blocks, dotQ4's
// and dotQ8's steps, each row's alone. The input rows are the VNNI set's packed rows (x, ldx
// bytes apart), each followed by its blocks' corrections and scales. Each group's weights
// are one stream, and the hardware prefetchers, which stop at every 4 KB page, alone do not
// keep far enough ahead of the kernel. Q8's kernels of one or two input rows (a decoding
// step, a guided generation step) prefetch only the first line of the next page, at the start
// of each page, which starts the hardware's stream there before the kernel arrives: a
// prefetch per line took load slots from the kernel's own loads, and they read slower. The
// others prefetch every line 2 KB ahead: with more input rows, or Q4's twice the arithmetic a
// byte, the kernels read slower without on a Zen 5 and a Sapphire Rapids. Q4's of one or two
// rows prefetch into L1 (PREFETCHT0), which shortened their steps there, the others into L2.
// With kick (Q4 and Q4M of one or two rows only, named with a K) they kick each page as Q8's
// do, which a Zen 4 reads faster (q4Kicks; docs/performance.md, "Page kicks" in "What the
// speed rests on"). With far (Q8's of eight rows only, named with an F) they prefetch 4 KB
// ahead, which a Zen 4 reads faster (q8Far; "Prefetch distance" there).
//
// Several groups at a time load each of the input's broadcast codes, corrections and
// scales once for all of them: those loads from L1, one per VPDPBUSD with a single group, slow the weights'
// stream from memory (README, "Speed (CPU)").
//
// With q4m (Q4 codes, a Q4M matrix) each block also adds its 16 rows' F16 offsets (wo, laid
// out as the scales are) times the input row's block sum (offsums bytes on in the packed row,
// float32): one VCVTPH2PS a group and block and one fused multiply-add a row, after the
// block's scaled sum, so a lane's steps are s += float32(sum)·(xd·wd), then s = o·xs + s
// rounded once. No G1R8: two more pointers do not fit beside eight rows'. No G4R{1,2} either:
// Q4M's products run at most two groups a pass (quant_groups.go), so the generator emits only
// dotQ4MG{1,2}R{1,2,4}.
func qkernelG(groups, rows int, q4, q4m, kick, far bool) {
	typ, unit, unitBytes, chunks := "Q8", 2, 128, 8 // unit: blocks per unit of packed input
	if q4 {
		typ, unit, unitBytes, chunks = "Q4", 4, 256, 4
	}
	sig := "func(nb int, x *byte, ldx int, offc int, offd int, w *byte, ws *uint16, c *float32, ldc int)"
	if q4m {
		typ = "Q4M"
		sig = "func(nb int, x *byte, ldx int, offc int, offd int, offsums int, w *byte, ws *uint16, wo *uint16, c *float32, ldc int)"
	}
	blockBytes := 64 * chunks // a block's codes in a group
	name := fmt.Sprintf("dot%sG%dR%d", typ, groups, rows)
	if kick {
		if !q4 || rows > 2 {
			panic(name + ": only Q4's kernels of one or two rows have a kicking variant")
		}
		name += "K"
	}
	if far {
		if q4 || rows != 8 {
			panic(name + ": only Q8's kernel of eight rows has a far-prefetching variant")
		}
		name += "F"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes %d×%d dot products of %d consecutive %s weight rows (%d row groups) with packed int8 rows (see the generator).", name, rows, 16*groups, 16*groups, typ, groups))
	// Row i's packed codes are at x + i·ldx, its corrections offc bytes and its scales offd
	// bytes further on: two offset registers for every row, which the codes outrun by
	// unitBytes - 4·unit bytes a unit, leave registers for eight rows.
	px := make([]Register, rows)
	px[0] = Load(Param("x"), GP64())
	if rows > 1 {
		ldx := Load(Param("ldx"), GP64())
		for i := 1; i < rows; i++ {
			px[i] = GP64()
			LEAQ(Mem{Base: px[i-1], Index: ldx, Scale: 1}, px[i])
		}
	}
	offc := Load(Param("offc"), GP64())
	offd := Load(Param("offd"), GP64())
	xcAt := func(i, kk int) Mem { return Mem{Base: px[i], Index: offc, Scale: 1, Disp: 4 * kk} }
	xdAt := func(i, kk int) Mem { return Mem{Base: px[i], Index: offd, Scale: 1, Disp: 4 * kk} }
	var offsums, pwo Register
	if q4m {
		offsums = Load(Param("offsums"), GP64())
		pwo = Load(Param("wo"), GP64())
	}
	xsAt := func(i, kk int) Mem { return Mem{Base: px[i], Index: offsums, Scale: 1, Disp: 4 * kk} }
	pw := Load(Param("w"), GP64())
	pws := Load(Param("ws"), GP64())
	nu := Load(Param("nb"), GP64())
	// Group gi's codes and scales follow the first's gi·gw and gi·gs bytes on (gw3 and gs3
	// for gi = 3, which no address scale gives).
	var gw, gs, gw3, gs3 Register
	if groups > 1 {
		gw, gs = GP64(), GP64()
		MOVQ(nu, gw)
		SHLQ(U8(bits.TrailingZeros(uint(blockBytes))), gw)
		MOVQ(nu, gs)
		SHLQ(U8(5), gs)
	}
	if groups > 3 {
		gw3, gs3 = GP64(), GP64()
		LEAQ(Mem{Base: gw, Index: gw, Scale: 2}, gw3)
		LEAQ(Mem{Base: gs, Index: gs, Scale: 2}, gs3)
	}
	groupAt := func(base, step, step3 Register, gi, disp int) Mem {
		switch gi {
		case 0:
			return Mem{Base: base, Disp: disp}
		case 3:
			return Mem{Base: base, Index: step3, Scale: 1, Disp: disp}
		}
		return Mem{Base: base, Index: step, Scale: uint8(gi), Disp: disp}
	}
	// wAt and wsAt address group gi's codes and scales.
	wAt := func(gi, disp int) Mem { return groupAt(pw, gw, gw3, gi, disp) }
	wsAt := func(gi, disp int) Mem { return groupAt(pws, gs, gs3, gi, disp) }
	woAt := func(gi, disp int) Mem { return groupAt(pwo, gs, gs3, gi, disp) }
	if q4 {
		SHRQ(U8(2), nu)
	} else {
		SHRQ(U8(1), nu)
	}
	var mask, c80 VecVirtual
	if q4 {
		mask = ZMM()
		VPBROADCASTD(qzConsts.Offset(qzC0F), mask)
	} else {
		c80 = ZMM()
		VPBROADCASTD(qzConsts.Offset(qzC80), c80)
	}
	out := make([][]VecVirtual, groups) // by group, then input row
	for gi := range out {
		out[gi] = make([]VecVirtual, rows)
		for i := range out[gi] {
			out[gi][i] = ZMM()
			VPXORD(out[gi][i], out[gi][i], out[gi][i])
		}
	}
	const pageKick = 4096 // the kicking kernels, once a page
	// pfd is the prefetch distance in weight bytes. With far (Q8's eight rows, named with
	// an F) 4096: on a Zen 4 those rows take so long over a block that 2048 bytes ahead is
	// less time than memory takes to answer (docs/performance.md, "Prefetch distance").
	pfd := 2048
	if far {
		pfd = 4096
	}
	kick = kick || !q4 && rows <= 2
	prefetch := PREFETCHT1
	if q4 && rows <= 2 {
		prefetch = PREFETCHT0
	}
	Label("unit")
	TESTQ(nu, nu)
	JZ(LabelRef("done"))
	for gi := range groups {
		for l := 0; l < unit*32; l += 64 {
			PREFETCHT1(wsAt(gi, pfd*32/blockBytes+l))
			if q4m {
				PREFETCHT1(woAt(gi, pfd*32/blockBytes+l))
			}
		}
	}
	if kick {
		// The unit that starts a page (pw's bits below 4 KB and above the unit's size are
		// clear, whatever the stream's alignment) kicks the next page in every group: the
		// groups of a matrix are whole pages apart.
		TESTQ(U32(4096-unit*blockBytes), pw)
		JNZ(LabelRef("nokick"))
		for gi := range groups {
			PREFETCHT1(wAt(gi, pageKick))
		}
		Label("nokick")
	}
	for kk := 0; kk < unit; kk++ {
		wb := blockBytes * kk // the block's codes in the group
		for gi := range groups {
			for l := 0; !kick && l < blockBytes; l += 64 {
				prefetch(wAt(gi, wb+pfd+l))
			}
		}
		acc := make([][]VecVirtual, groups) // by group, then input row
		for gi := range acc {
			acc[gi] = make([]VecVirtual, rows)
		}
		for i := range rows {
			acc[0][i] = ZMM()
			VPBROADCASTD(xcAt(i, kk), acc[0][i])
			for gi := 1; gi < groups; gi++ {
				acc[gi][i] = ZMM()
				VMOVDQA64(acc[0][i], acc[gi][i])
			}
		}
		// xAt is where the packed row holds the block's codes 4c..4c+3.
		xAt := func(i, c int) Mem {
			if q4 { // a quad: the first 16 codes of its 4 blocks, then their last 16
				return Mem{Base: px[i], Disp: 64*(c/4) + 16*kk + 4*(c%4)}
			}
			return Mem{Base: px[i], Disp: 32*kk + 4*c} // a pair: its 64 codes
		}
		// dp adds the products of the weight codes v (of each group) with the input's four
		// codes at xAt(i, c) to every row's sums: one VPDPBUSD, its codes broadcast from
		// memory, for one group; one broadcast for all of several.
		dp := func(v []VecVirtual, c int) {
			for i := range rows {
				if groups == 1 {
					VPDPBUSD_BCST(xAt(i, c), v[0], acc[0][i])
					continue
				}
				b := ZMM()
				VPBROADCASTD(xAt(i, c), b)
				for gi := range groups {
					VPDPBUSD(b, v[gi], acc[gi][i])
				}
			}
		}
		for ch := 0; ch < chunks; ch++ {
			if q4 {
				lo, hi := make([]VecVirtual, groups), make([]VecVirtual, groups)
				for gi := range groups {
					lo[gi], hi[gi] = ZMM(), ZMM()
					VMOVDQU64(wAt(gi, wb+64*ch), lo[gi])
					VPSRLW(U8(4), lo[gi], hi[gi])
					VPANDD(mask, lo[gi], lo[gi])
					VPANDD(mask, hi[gi], hi[gi])
				}
				dp(lo, ch)
				dp(hi, 4+ch)
				continue
			}
			v := make([]VecVirtual, groups)
			for gi := range groups {
				v[gi] = ZMM()
				VPXORD(wAt(gi, wb+64*ch), c80, v[gi])
			}
			dp(v, ch)
		}
		wd := make([]VecVirtual, groups)
		for gi := range groups {
			wd[gi] = ZMM()
			VCVTPH2PS(wsAt(gi, 32*kk), wd[gi])
		}
		for i := range rows {
			var xd VecVirtual
			if groups > 1 {
				xd = ZMM()
				VBROADCASTSS(xdAt(i, kk), xd)
			}
			for gi := range groups {
				d := ZMM()
				if groups == 1 {
					VMULPS_BCST(xdAt(i, kk), wd[gi], d) // xd·wd, as dotQ4/dotQ8 form it
				} else {
					VMULPS(xd, wd[gi], d)
				}
				VCVTDQ2PS(acc[gi][i], acc[gi][i])
				VMULPS(d, acc[gi][i], acc[gi][i])
				VADDPS(acc[gi][i], out[gi][i], out[gi][i])
			}
		}
		if q4m {
			for gi := range groups {
				o := ZMM()
				VCVTPH2PS(woAt(gi, 32*kk), o)
				for i := range rows {
					VFMADD231PS_BCST(xsAt(i, kk), o, out[gi][i])
				}
			}
		}
	}
	ADDQ(U32(unit*blockBytes), pw)
	ADDQ(U32(unit*32), pws)
	for i := range px {
		ADDQ(U32(unitBytes), px[i])
	}
	SUBQ(U32(unitBytes-4*unit), offc)
	SUBQ(U32(unitBytes-4*unit), offd)
	if q4m {
		ADDQ(U32(unit*32), pwo)
		SUBQ(U32(unitBytes-4*unit), offsums)
	}
	DECQ(nu)
	JMP(LabelRef("unit"))
	Label("done")
	cp := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	for i := range rows {
		if i > 0 {
			ADDQ(ldc, cp)
		}
		for gi := range groups {
			VMOVUPS(out[gi][i], Mem{Base: cp, Disp: 64 * gi})
		}
	}
	VZEROUPPER()
	RET()
}
