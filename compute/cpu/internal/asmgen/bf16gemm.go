package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The BF16 kernels (AVX512_BF16) of package cpu's fast numeric mode. Neither avo nor the Go
// assembler knows VDPBF16PS or VCVTNE2PS2BF16, so these emitters write them as EVEX-encoded
// bytes (evex below) and use physical registers only: the register allocator cannot see
// which registers raw bytes read and write.

// gpNum is the hardware number of the general-purpose registers the BF16 kernels use.
var gpNum = map[Register]byte{RAX: 0, RCX: 1, RDX: 2, RBX: 3, RBP: 5, RSI: 6, RDI: 7,
	R8: 8, R9: 9, R10: 10, R11: 11, R12: 12, R13: 13, R14: 14, R15: 15}

// rawBytes emits bs as BYTE directives, with a comment naming the instruction they encode.
func rawBytes(asm string, bs []byte) {
	Comment(asm)
	for _, b := range bs {
		Instruction(&ir.Instruction{Opcode: "BYTE", Operands: []Op{U8(b)}})
	}
}

// evex encodes a 512-bit EVEX instruction of map 0F38, W0: prefix pp (1 = 66, 2 = F3,
// 3 = F2), opcode op, ModRM.reg = dst, EVEX.vvvv = src1 (both ZMM numbers), and either a
// ZMM rm (rm >= 0, mod 11) or the memory operand [base + index] (rm < 0) read as a 32-bit
// broadcast when bcast.
func evex(pp, op, dst, src1 byte, rm int, base, index byte, bcast bool) []byte {
	inv := func(bit byte) byte { return bit ^ 1 }
	var x, b byte
	if rm >= 0 {
		x, b = inv(byte(rm)>>4&1), inv(byte(rm)>>3&1)
	} else {
		x, b = inv(index>>3&1), inv(base>>3&1)
	}
	p0 := inv(dst>>3&1)<<7 | x<<6 | b<<5 | inv(dst>>4&1)<<4 | 0x02 // map 0F38
	p1 := (^src1&15)<<3 | 0x04 | pp                                // W0
	p2 := byte(0x40) | inv(src1>>4&1)<<3                           // L'L = 10: 512 bits
	if bcast {
		p2 |= 0x10
	}
	if rm >= 0 {
		return []byte{0x62, p0, p1, p2, op, 0xC0 | (dst&7)<<3 | byte(rm)&7}
	}
	// mod 01 with a zero disp8 and a SIB byte: any base (RBP and R13 included), scale 1.
	return []byte{0x62, p0, p1, p2, op, 0x44 | (dst&7)<<3, (index&7)<<3 | base&7, 0}
}

// vdpbf16psBcast emits VDPBF16PS Z(dst), Z(src1), [base+index]{1to16}: lane i of Z(dst)
// gains src1's BF16 pair i times the BF16 pair at the address.
func vdpbf16psBcast(dst, src1 int, base, index Register) {
	rawBytes(fmt.Sprintf("VDPBF16PS (%s)(%s*1){1to16}, Z%d, Z%d", base.Asm(), index.Asm(), src1, dst),
		evex(2, 0x52, byte(dst), byte(src1), -1, gpNum[base], gpNum[index], true))
}

// vdpbf16ps emits VDPBF16PS Z(rm), Z(src1), Z(dst).
func vdpbf16ps(dst, src1, rm int) {
	rawBytes(fmt.Sprintf("VDPBF16PS Z%d, Z%d, Z%d", rm, src1, dst),
		evex(2, 0x52, byte(dst), byte(src1), rm, 0, 0, false))
}

// vcvtne2ps2bf16 emits VCVTNE2PS2BF16 Z(lo), Z(hi), Z(dst): the 32 BF16 values of dst are
// lo's 16 floats then hi's, each rounded to nearest even (denormals flushed to zero).
func vcvtne2ps2bf16(dst, hi, lo int) {
	rawBytes(fmt.Sprintf("VCVTNE2PS2BF16 Z%d, Z%d, Z%d", lo, hi, dst),
		evex(3, 0x72, byte(dst), byte(hi), lo, 0, 0, false))
}

// bf16Rows is the row count of the BF16 micro-kernels: eight rows of w, one GP register
// each.
const bf16Rows = 8

// bf16Kernel emits dotBF16Pairs8x{16v}: an 8×16v tile c[i][l] = Σ_p w_i[2p:2p+2]·x_l[2p:2p+2]
// over kp BF16 pairs with VDPBF16PS. w holds rows ldw elements apart (rows 1..8 of them
// exist: the pointers of rows past the last repeat it, their results are discarded by the
// caller); x is a packed panel, pair p of the 16v columns at x[p*16v : (p+1)*16v] as uint32
// (low half the even k). Lane l of an accumulator sums its pairs in order of p, each pair
// as VDPBF16PS does (float32, odd product then even, round to nearest even, denormals
// flushed), so a result depends on kp and the values only, never on the tile. c is stored
// as 8 rows of 16v floats, not accumulated.
//
// Per pair it loads v vectors of x and broadcasts each w pair from memory as VDPBF16PS's
// third operand: 8v dot products for v+8 loads, 8v accumulators in Z0.., x in Z24...
func bf16Kernel(v int) {
	name := fmt.Sprintf("dotBF16Pairs8x%d", 16*v)
	TEXT(name, NOSPLIT, "func(kp int, w *uint16, ldw int, rows int, x *uint32, c *float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes an 8×%d tile of BF16 pair dot products with VDPBF16PS (see the generator).", name, 16*v))

	rowRegs := []Register{RAX, RBX, RCX, RDX, RSI, RDI, R8, R9}
	idx, xp, n, ld, tmp := R10, R11, R12, R13, R14
	Load(Param("w"), rowRegs[0])
	Load(Param("ldw"), ld)
	SHLQ(U8(1), ld)
	Load(Param("rows"), n)
	for i := 1; i < bf16Rows; i++ {
		MOVQ(rowRegs[i-1], rowRegs[i])
		LEAQ(Mem{Base: rowRegs[i-1], Index: ld, Scale: 1}, tmp)
		CMPQ(n, U8(i))
		CMOVQGT(tmp, rowRegs[i])
	}
	Load(Param("x"), xp)
	Load(Param("kp"), n)
	XORQ(idx, idx)
	for a := 0; a < bf16Rows*v; a++ {
		z := ZMMPhys(a)
		VPXORD(z, z, z)
	}
	TESTQ(n, n)
	JZ(LabelRef("store"))

	Label("loop")
	for j := 0; j < v; j++ {
		VMOVDQU32(Mem{Base: xp, Disp: 64 * j}, ZMMPhys(24+j))
	}
	for i := 0; i < bf16Rows; i++ {
		bc := 28 + i%4
		VPBROADCASTD(Mem{Base: rowRegs[i], Index: idx, Scale: 1}, ZMMPhys(bc))
		for j := 0; j < v; j++ {
			vdpbf16ps(i*v+j, 24+j, bc)
		}
	}
	ADDQ(U8(4), idx)
	ADDQ(U32(64*v), xp)
	DECQ(n)
	JNZ(LabelRef("loop"))

	Label("store")
	c := Load(Param("c"), R15)
	for i := 0; i < bf16Rows; i++ {
		for j := 0; j < v; j++ {
			VMOVUPS(ZMMPhys(i*v+j), Mem{Base: c, Disp: 4 * (16*v*i + 16*j)})
		}
	}
	VZEROUPPER()
	RET()
}

// cvtBF16 emits cvtF32BF16(n, src, dst): dst[i] = src[i] rounded to BF16 (nearest even,
// VCVTNE2PS2BF16, denormals flushed to zero), n a multiple of 32.
func cvtBF16() {
	TEXT("cvtF32BF16", NOSPLIT, "func(n int, src *float32, dst *uint16)")
	Pragma("noescape")
	Doc("cvtF32BF16 rounds n floats (a multiple of 32) to BF16 with VCVTNE2PS2BF16.")
	n, s, d := RCX, RSI, RDI
	Load(Param("n"), n)
	Load(Param("src"), s)
	Load(Param("dst"), d)
	SHRQ(U8(5), n)
	JZ(LabelRef("done"))
	Label("loop")
	VMOVUPS(Mem{Base: s}, Z0)
	VMOVUPS(Mem{Base: s, Disp: 64}, Z1)
	vcvtne2ps2bf16(2, 1, 0)
	VMOVDQU32(Z2, Mem{Base: d})
	ADDQ(U8(128), s)
	ADDQ(U8(64), d)
	DECQ(n)
	JNZ(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// ZMMPhys is the physical register Z<n>.
func ZMMPhys(n int) VecPhysical {
	return []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}[n]
}

// bf16Kernels emits every BF16 kernel.
func bf16Kernels() {
	for v := 1; v <= 3; v++ {
		bf16Kernel(v)
	}
	cvtBF16()
	for r := 1; r <= fmaRows; r++ {
		fmaKernel(r)
	}
	packTKernel()
	packPairsKernel()
	roundKernel()
	packGConsts = packGConstants()
	packGroupKernel(true)
	packGroupKernel(false)
	pairPanelKernel()
	storeBiasKernel()
}

// fmaRows and fmaVecs shape the FMA micro-kernel of the BF16 mode: 6 rows × 4 ZMM of 16
// columns, 24 accumulators.
const fmaRows, fmaVecs = 6, 4

// fmaKernel emits fmaPairs6x64R{rows}: c[i][j] (+)= Σ_k x_i[k]·p[k][j] for i < rows, j < 64,
// over k < 2·kp, with x rows ldx floats apart, the panel p 64 floats per k, c rows ldc
// floats apart. Each output is one float32 accumulator fed by fused multiply-adds in the
// order k = 1, 0, 3, 2, 5, 4, …: with operands that are BF16 values (exact products) that is
// VDPBF16PS's arithmetic bit for bit, so the BF16 mode gives the same results on either
// kernel. acc starts the sums from the values in c, so cutting K into blocks changes no bit.
//
// Per k it loads the panel's 4 vectors and broadcasts each row's x[k] once: 24
// multiply-adds for 10 loads, so the two FMA ports set the pace rather than the loads (VDPBF16PS issues only every other cycle on the development
// machine, half the FMA rate, which is why this kernel exists).
func fmaKernel(rows int) {
	name := fmt.Sprintf("fmaPairs6x64R%d", rows)
	TEXT(name, NOSPLIT, "func(kp int, x *float32, ldx int, p *float32, c *float32, ldc int, acc bool)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes a %d×64 tile over 2·kp products in pair order with fused multiply-adds (see the generator).", name, rows))
	px := make([]GPVirtual, rows)
	px[0] = GP64()
	Load(Param("x"), px[0])
	if rows > 1 {
		ldx := Load(Param("ldx"), GP64())
		SHLQ(U8(2), ldx)
		for i := 1; i < rows; i++ {
			px[i] = GP64()
			LEAQ(Mem{Base: px[i-1], Index: ldx, Scale: 1}, px[i])
		}
	}
	pp := Load(Param("p"), GP64())
	n := Load(Param("kp"), GP64())
	idx := GP64()
	XORQ(idx, idx)
	cp := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	accs := make([][]VecVirtual, rows)
	for i := range accs {
		accs[i] = make([]VecVirtual, fmaVecs)
		for j := range accs[i] {
			accs[i][j] = ZMM()
			VPXORD(accs[i][j], accs[i][j], accs[i][j])
		}
	}
	// acc: the sums continue from c's values, so a K block cut changes no rounding.
	flag := Load(Param("acc"), GP8())
	TESTB(flag, flag)
	JZ(LabelRef("start"))
	c2 := GP64()
	MOVQ(cp, c2)
	for i := 0; i < rows; i++ {
		for j := 0; j < fmaVecs; j++ {
			VMOVUPS(Mem{Base: c2, Disp: 64 * j}, accs[i][j])
		}
		if i+1 < rows {
			ADDQ(ldc, c2)
		}
	}
	Label("start")
	TESTQ(n, n)
	JZ(LabelRef("store"))
	Label("loop")
	for _, kk := range []int{1, 0} {
		pv := make([]VecVirtual, fmaVecs)
		for j := range pv {
			pv[j] = ZMM()
			VMOVUPS(Mem{Base: pp, Disp: 4 * (16*fmaVecs*kk + 16*j)}, pv[j])
		}
		for i := 0; i < rows; i++ {
			// One broadcast per row and k: as the multiply-adds' memory operand it would be
			// loaded 4 times, 28 loads per 24 multiply-adds, more than the load ports take.
			xb := ZMM()
			VBROADCASTSS(Mem{Base: px[i], Index: idx, Scale: 1, Disp: 4 * kk}, xb)
			for j := range pv {
				VFMADD231PS(pv[j], xb, accs[i][j])
			}
		}
	}
	ADDQ(U8(8), idx)
	ADDQ(U32(2*4*16*fmaVecs), pp)
	DECQ(n)
	JNZ(LabelRef("loop"))

	Label("store")
	for i := 0; i < rows; i++ {
		for j := 0; j < fmaVecs; j++ {
			VMOVUPS(accs[i][j], Mem{Base: cp, Disp: 64 * j})
		}
		if i+1 < rows {
			ADDQ(ldc, cp)
		}
	}
	VZEROUPPER()
	RET()
}

// bf16Rows16 loads the parameters w and ldw of a kernel that reads 16 BF16 rows at once:
// rowAt(i) addresses row i at the current column (four base registers, rows 1-3 of each
// through ldw, 2·ldw and 3·ldw), advance(n) moves every row n bytes on.
func bf16Rows16() (rowAt func(i int) Mem, advance func(n uint8)) {
	ld := Load(Param("ldw"), GP64())
	SHLQ(U8(1), ld)
	ld3 := GP64()
	LEAQ(Mem{Base: ld, Index: ld, Scale: 2}, ld3)
	base := make([]GPVirtual, 4)
	base[0] = GP64()
	Load(Param("w"), base[0])
	for i := 1; i < 4; i++ {
		base[i] = GP64()
		LEAQ(Mem{Base: base[i-1], Index: ld, Scale: 4}, base[i])
	}
	rowAt = func(i int) Mem {
		b := base[i/4]
		switch i % 4 {
		case 1:
			return Mem{Base: b, Index: ld, Scale: 1}
		case 2:
			return Mem{Base: b, Index: ld, Scale: 2}
		case 3:
			return Mem{Base: b, Index: ld3, Scale: 1}
		}
		return Mem{Base: b}
	}
	advance = func(n uint8) {
		for _, b := range base {
			ADDQ(U8(n), b)
		}
	}
	return rowAt, advance
}

// packTKernel emits packBF16T(n16, w, ldw, p): the FMA kernels' panel layout for 16 BF16
// weight rows (ldw elements apart), widened exactly: p[(16g+kk)*64 + jj] = w[jj][16g+kk] for
// jj, kk < 16, g < n16. Each 16×16 block is widened (VPMOVZXWD, VPSLLD) and transposed in
// registers (unpack, shuffle, two 128-bit lane shuffles: 64 shuffles per 256 values), which
// is several times faster than the scalar loop of packPanelFMA.
func packTKernel() {
	TEXT("packBF16T", NOSPLIT, "func(n16 int, w *uint16, ldw int, p *float32)")
	Pragma("noescape")
	Doc("packBF16T writes 16 BF16 rows, widened and transposed, as 16-float rows 64 floats apart (see the generator).")
	n := Load(Param("n16"), GP64())
	rowAt, advance := bf16Rows16()
	p := Load(Param("p"), GP64())
	TESTQ(n, n)
	JZ(LabelRef("done"))
	Label("loop")
	r := make([]VecVirtual, 16)
	for i := range r {
		r[i] = ZMM()
		VPMOVZXWD(rowAt(i), r[i])
		VPSLLD(U8(16), r[i], r[i])
	}
	transpose16(r, func(col int, o VecVirtual) { VMOVUPS(o, Mem{Base: p, Disp: 4 * 64 * col}) })
	advance(32)
	ADDQ(U32(16*64*4), p)
	DECQ(n)
	JNZ(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// packPairsKernel emits packBF16PairsT(n, w, ldw, p, ldg): the AMX tiles' B layout for 16
// BF16 rows (ldw elements apart), 32 elements (16 pairs) per group: p[g*ldg + q*16 + jj] =
// pair q of row jj's elements 32g..32g+31 (its low half the even element), for jj, q < 16,
// g < n. Each group is one 16×16 transpose of 32-bit pairs, no widening.
func packPairsKernel() {
	TEXT("packBF16PairsT", NOSPLIT, "func(n int, w *uint16, ldw int, p *uint32, ldg int)")
	Pragma("noescape")
	Doc("packBF16PairsT writes n groups of 16 BF16 rows' 16 pairs, transposed, as AMX B tiles ldg values apart (see the generator).")
	n := Load(Param("n"), GP64())
	rowAt, advance := bf16Rows16()
	p := Load(Param("p"), GP64())
	ldg := Load(Param("ldg"), GP64())
	SHLQ(U8(2), ldg)
	TESTQ(n, n)
	JZ(LabelRef("done"))
	Label("loop")
	r := make([]VecVirtual, 16)
	for i := range r {
		r[i] = ZMM()
		m := rowAt(i)
		VMOVUPS(m, r[i])
		// The 16 rows are 16 streams the prefetchers follow poorly (rows K apart often
		// share L1 sets): fetch each one 2 KB ahead.
		m.Disp = 2048
		PREFETCHT0(m)
	}
	transpose16(r, func(col int, o VecVirtual) { VMOVUPS(o, Mem{Base: p, Disp: 4 * 16 * col}) })
	advance(64)
	ADDQ(ldg, p)
	DECQ(n)
	JNZ(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// transpose16 transposes the 16×16 matrix of 32-bit values in r (row i in r[i]) in
// registers (unpack, shuffle, two 128-bit lane shuffles: 64 shuffles per 256 values) and
// hands column col to store.
func transpose16(r []VecVirtual, store func(col int, v VecVirtual)) {
	t := make([]VecVirtual, 16)
	for i := 0; i < 8; i++ {
		t[2*i], t[2*i+1] = ZMM(), ZMM()
		VUNPCKLPS(r[2*i+1], r[2*i], t[2*i])
		VUNPCKHPS(r[2*i+1], r[2*i], t[2*i+1])
	}
	u := make([]VecVirtual, 16)
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			u[4*i+j] = ZMM()
		}
		VSHUFPS(U8(0x44), t[4*i+2], t[4*i], u[4*i])
		VSHUFPS(U8(0xEE), t[4*i+2], t[4*i], u[4*i+1])
		VSHUFPS(U8(0x44), t[4*i+3], t[4*i+1], u[4*i+2])
		VSHUFPS(U8(0xEE), t[4*i+3], t[4*i+1], u[4*i+3])
	}
	// u[4i+j], 128-bit lane L: column 4L+j of rows 4i..4i+3.
	for j := 0; j < 4; j++ {
		s := []VecVirtual{ZMM(), ZMM(), ZMM(), ZMM()}
		VSHUFF32X4(U8(0x88), u[4+j], u[j], s[0])
		VSHUFF32X4(U8(0xDD), u[4+j], u[j], s[1])
		VSHUFF32X4(U8(0x88), u[12+j], u[8+j], s[2])
		VSHUFF32X4(U8(0xDD), u[12+j], u[8+j], s[3])
		for _, c := range []struct {
			col  int
			a, b int
			sel  uint8
		}{{j, 0, 2, 0x88}, {8 + j, 0, 2, 0xDD}, {4 + j, 1, 3, 0x88}, {12 + j, 1, 3, 0xDD}} {
			o := ZMM()
			VSHUFF32X4(U8(c.sel), s[c.b], s[c.a], o)
			store(c.col, o)
		}
	}
}

// roundKernel emits roundF32BF16(n, x): x[i] = x[i] rounded to BF16 and widened back (nearest
// even, denormals flushed, VCVTNE2PS2BF16), in place, n a multiple of 32.
func roundKernel() {
	TEXT("roundF32BF16", NOSPLIT, "func(n int, x *float32)")
	Pragma("noescape")
	Doc("roundF32BF16 rounds n floats (a multiple of 32) to BF16 values in place with VCVTNE2PS2BF16.")
	n, x := RCX, RSI
	Load(Param("n"), n)
	Load(Param("x"), x)
	SHRQ(U8(5), n)
	JZ(LabelRef("done"))
	Label("loop")
	VMOVUPS(Mem{Base: x}, Z0)
	VMOVUPS(Mem{Base: x, Disp: 64}, Z1)
	vcvtne2ps2bf16(2, 1, 0)
	VEXTRACTI64X4(U8(1), Z2, Y4)
	VPMOVZXWD(Y2, Z3)
	VPSLLD(U8(16), Z3, Z3)
	VPMOVZXWD(Y4, Z5)
	VPSLLD(U8(16), Z5, Z5)
	VMOVUPS(Z3, Mem{Base: x})
	VMOVUPS(Z5, Mem{Base: x, Disp: 64})
	ADDQ(U8(128), x)
	DECQ(n)
	JNZ(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// packGConsts holds packGroupKernel's constants: VPERMW's index that interleaves two sets of
// 16 words (0, 16, 1, 17, …), then the dwords 15 and 8 (Q4's nibble mask and offset).
var packGConsts Mem

func packGConstants() Mem {
	m := GLOBL("packgconsts", RODATA|NOPTR)
	for i := range 16 {
		DATA(4*i, U16(i))
		DATA(4*i+2, U16(16+i))
	}
	DATA(64, U32(15))
	DATA(68, U32(8))
	return m
}

// packGroupKernel emits packQ{4,8}GPairs(nb, q, s, p, ldp, ldg): the nb blocks of a group of
// 16 weight rows stored in row groups (quant_groups.go; codes q, F16 scales s) as BF16 pairs,
// p[g·ldg+i·ldp+r] = pair i of block g of row r: with ldp = 16 the AMX B tiles packPairs16
// lays out, with ldp the width of a VDPBF16PS kernel's panel (16, 32 or 48; dotPairs) and
// ldg 16 times that, 16 of its rows. A block is 32 values, and lane r of a group's 64-byte code
// chunk c holds row r's codes 4c..4c+3 (Q4: their low nibbles weights 4c..4c+3, high ones
// 16+4c..), so each code byte becomes one half of a pair in lane r: no transpose. Each value
// is float32(code)·scale (Q4: code-8), rounded to BF16 by VCVTNE2PS2BF16, the bits of
// dequantizing the row (dequantQ4G, dequantQ8G) and rounding it with cvtF32BF16. Physical
// registers only, for the raw VCVTNE2PS2BF16.
func packGroupKernel(q4 bool) {
	typ, blockBytes := "Q8", 512
	if q4 {
		typ, blockBytes = "Q4", 256
	}
	name := fmt.Sprintf("pack%sGPairs", typ)
	TEXT(name, NOSPLIT, "func(nb int, q *byte, s *uint16, p *uint32, ldp int, ldg int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s writes the nb blocks of a group of 16 grouped %s weight rows as BF16 pairs, pairs ldp and blocks ldg apart (see the generator).", name, typ))
	// base: the block's pair 0; lo: where the next pair goes (Q4: the next of pairs 0-7),
	// hi: Q4's next of pairs 8-15.
	nb, pq, ps, base, ldp, ldg, lo, hi := RCX, RSI, RBX, RDI, RDX, R9, R10, R8
	Load(Param("nb"), nb)
	Load(Param("q"), pq)
	Load(Param("s"), ps)
	Load(Param("p"), base)
	Load(Param("ldp"), ldp)
	Load(Param("ldg"), ldg)
	SHLQ(U8(2), ldp)
	SHLQ(U8(2), ldg)
	// Z0: a code chunk; Z1-Z8: its codes by weight; Z10, Z11: a pair row; Z30: the VPERMW
	// index; Z31: the block's 16 scales; Z29, Z28: 15 and 8.
	VMOVDQU16(packGConsts, Z30)
	VPBROADCASTD(packGConsts.Offset(64), Z29)
	VPBROADCASTD(packGConsts.Offset(68), Z28)
	TESTQ(nb, nb)
	JZ(LabelRef("done"))
	Label("block")
	VCVTPH2PS(Mem{Base: ps}, Z31)
	MOVQ(base, lo)
	if q4 {
		MOVQ(ldp, hi)
		SHLQ(U8(3), hi)
		ADDQ(lo, hi)
	}
	// pair writes, at dst, a pair of every row from the values in Z(a) (even k) and Z(b)
	// (odd k), codes not yet converted: converted, scaled, rounded, interleaved; then moves
	// dst on to the next pair.
	pair := func(dst Register, a, b int) {
		VCVTDQ2PS(ZMMPhys(a), ZMMPhys(a))
		VCVTDQ2PS(ZMMPhys(b), ZMMPhys(b))
		VMULPS(Z31, ZMMPhys(a), ZMMPhys(a))
		VMULPS(Z31, ZMMPhys(b), ZMMPhys(b))
		vcvtne2ps2bf16(10, b, a)
		VPERMW(Z10, Z30, Z11)
		VMOVDQU32(Z11, Mem{Base: dst})
		ADDQ(ldp, dst)
	}
	for c := 0; c < blockBytes/64; c++ {
		VMOVDQU32(Mem{Base: pq, Disp: 64 * c}, Z0)
		if q4 {
			// Byte t of lane r: its low nibble is weight 4c+t, its high one 16+4c+t.
			for t := range 4 {
				VPSRLD(U8(8*t), Z0, ZMMPhys(1+t))
				VPSRLD(U8(8*t+4), Z0, ZMMPhys(5+t))
			}
			for v := 1; v <= 8; v++ {
				VPANDD(Z29, ZMMPhys(v), ZMMPhys(v))
				VPSUBD(Z28, ZMMPhys(v), ZMMPhys(v))
			}
			pair(lo, 1, 2) // pair 2c
			pair(lo, 3, 4) // 2c+1
			pair(hi, 5, 6) // 8+2c
			pair(hi, 7, 8) // 8+2c+1
			continue
		}
		// Byte t of lane r, sign-extended: weight 4c+t.
		for t := range 3 {
			VPSLLD(U8(24-8*t), Z0, ZMMPhys(1+t))
			VPSRAD(U8(24), ZMMPhys(1+t), ZMMPhys(1+t))
		}
		VPSRAD(U8(24), Z0, Z4)
		pair(lo, 1, 2)
		pair(lo, 3, 4)
	}
	ADDQ(ldg, base)
	ADDQ(U32(blockBytes), pq)
	ADDQ(U8(32), ps)
	DECQ(nb)
	JNZ(LabelRef("block"))
	Label("done")
	VZEROUPPER()
	RET()
}

// pairPanelKernel emits pairPanel48(kp, x, off, p): the packed panel of dotBF16Pairs8x48 for
// 48 consecutive pixels of one output row, read straight from the input (or from a copy of
// the rows they read, zero-padded): p[48q+l] = bf16(x[off[2q]+l]) | bf16(x[off[2q+1]+l])<<16
// for q < kp, l < 48, each value rounded by VCVTNE2PS2BF16 as roundF32BF16 rounds and the two
// interleaved by VPERMW (packGConsts' index). off holds each patch value's offset, in floats,
// from the first pixel's first: the bits of im2colT, roundF32BF16 and pairing the rounded
// rows, without writing the float32 panel. Physical registers only, for the raw
// VCVTNE2PS2BF16.
func pairPanelKernel() {
	TEXT("pairPanel48", NOSPLIT, "func(kp int, x *float32, off *int32, p *uint32)")
	Pragma("noescape")
	Doc("pairPanel48 packs 48 pixels' patch values as BF16 pairs straight from the input (see the generator).")
	kp, x, off, p, a, b := RCX, RSI, RBX, RDI, R8, R9
	Load(Param("kp"), kp)
	Load(Param("x"), x)
	Load(Param("off"), off)
	Load(Param("p"), p)
	VMOVDQU16(packGConsts, Z30)
	TESTQ(kp, kp)
	JZ(LabelRef("done"))
	Label("pair")
	MOVLQSX(Mem{Base: off}, a)
	MOVLQSX(Mem{Base: off, Disp: 4}, b)
	for j := range 3 {
		VMOVUPS(Mem{Base: x, Index: a, Scale: 4, Disp: 64 * j}, ZMMPhys(2*j))
		VMOVUPS(Mem{Base: x, Index: b, Scale: 4, Disp: 64 * j}, ZMMPhys(2*j+1))
	}
	for j := range 3 {
		vcvtne2ps2bf16(10+j, 2*j+1, 2*j)
		VPERMW(ZMMPhys(10+j), Z30, ZMMPhys(20+j))
		VMOVDQU32(ZMMPhys(20+j), Mem{Base: p, Disp: 64 * j})
	}
	ADDQ(U8(8), off)
	ADDQ(U32(192), p)
	DECQ(kp)
	JNZ(LabelRef("pair"))
	Label("done")
	VZEROUPPER()
	RET()
}

// storeBiasKernel emits storeBiasF32(n, src, bias, dst): dst[i] = src[i] + bias for i < n, 16
// at a time, the last partial 16 masked (tailMask): the convolutions' bias, added to the BF16
// mode's tile rows as they go to their channel and in place in the exact mode; one float32
// addition each, as the Go loop does. AVX-512F only.
func storeBiasKernel() {
	TEXT("storeBiasF32", NOSPLIT, "func(n int, src *float32, bias float32, dst *float32)")
	Pragma("noescape")
	Doc("storeBiasF32 writes dst[i] = src[i] + bias for i < n.")
	n := Load(Param("n"), GP64())
	src := Load(Param("src"), GP64())
	dst := Load(Param("dst"), GP64())
	b := ZMM()
	VBROADCASTSS(Load(Param("bias"), XMM()), b)
	Label("loop")
	CMPQ(n, U8(16))
	JL(LabelRef("tail"))
	v := ZMM()
	VMOVUPS(Mem{Base: src}, v)
	VADDPS(b, v, v) // the pixel as the first source: of two NaNs x86 keeps the first's payload
	VMOVUPS(v, Mem{Base: dst})
	ADDQ(U8(64), src)
	ADDQ(U8(64), dst)
	SUBQ(U8(16), n)
	JMP(LabelRef("loop"))
	Label("tail")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	m := K()
	tbl := GP64()
	LEAQ(tailMask, tbl)
	KMOVW(Mem{Base: tbl, Index: n, Scale: 2}, m)
	t := ZMM()
	VMOVUPS_Z(Mem{Base: src}, m, t)
	VADDPS(b, t, t)
	VMOVUPS(t, m, Mem{Base: dst})
	Label("done")
	VZEROUPPER()
	RET()
}
