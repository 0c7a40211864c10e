// Command asmgen writes the AVX2, AVX-VNNI and AVX-512 kernels of package cpu
// (kernels_amd64.s and their Go declarations) with avo:
//
//   - the float dot-product tiles in both widths (dot{F32,BF16}R{r}C{c} and
//     dot{F32,BF16}x16R{r}C{c}), accRowsF32 and the F16 KV cache's attention kernels
//     (scoresF16x16, accF16x{64,128}) and the Q8 one's (scoresQ8x16, accQ8x{64,128});
//   - the int8 kernels of Q8 and Q4 weights: the AVX2 and AVX-VNNI ones
//     (dotQ{8,4}{AVX2,AVXVNNI}C{c} and R2C{c}), the AVX-512 VNNI ones (dotQ{8,4}ZR{r}C{c}) with
//     their input quantizers (quantQ{8,4}Z), and the grouped ones of matrices stored in row
//     groups (dotQ{4,8}G{g}R{r}, and dotQ4MG{g}R{r} with Q4M's offsets);
//   - the dequantizers of Q8 and Q4 rows, row after row and grouped (dequantQ{8,4},
//     dequantQ{4,8}G);
//   - Q4M's weight quantizer (quantQ4M16) and its offsets' kernels (offsetDotsF16,
//     offsetDotsF16Z and offsetRowsG);
//   - the vector exp, softmax passes, SiLU and GELU;
//   - the BF16 mode's kernels (VDPBF16PS and FMA tiles, BF16 rounding and packing, the
//     grouped matrices' BF16 pairs).
//
// Their methods are documented on each emitter below. It is a separate module so that avo is
// a build-time tool only: package cpu imports nothing from here.
//
// Run it through go generate in compute/cpu.
//
// The AVX2 float tiles dot{F32,BF16}R{r}C{c} compute c[i*ldc+j] (+)= a_i·b_j for an R×C tile
// (R rows of a, C rows of b, all contiguous along K) in one fixed summation order that all of
// them share (the AVX-512 tiles share another, see kernel512), so a result does not depend on
// the tile that computed it: lane l of an 8-float accumulator sums the products of k ≡ l (mod
// 8) with fused multiply-adds in order of k (the last partial group zero-padded), then the
// lanes are added as ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)) and, when acc is set, added to the
// value already in c. Callers split K into fixed blocks and resume through c, which keeps the
// order independent of how the work is cut further. The other kernels keep orders of their
// own, given on their emitters (the int8 kernels, for one, sum by blocks of 32).
package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,!purego")
	for _, bf16 := range []bool{false, true} {
		for r := 1; r <= 3; r++ {
			for c := 1; c <= 4; c++ {
				kernel(r, c, bf16)
			}
		}
	}
	tailMask = tailMasks()
	for _, bf16 := range []bool{false, true} {
		for r := 1; r <= 3; r++ {
			for c := 1; c <= 4; c++ {
				kernel512(r, c, bf16)
			}
		}
	}
	accRows()
	attnF16Kernels()
	attnQ8Kernels()
	qConsts = qConstants()
	for _, vnni := range []bool{false, true} {
		for _, q4 := range []bool{false, true} {
			for c := 1; c <= 4; c++ {
				qkernel(c, q4, vnni)
				qkernel2(c, q4, vnni)
			}
		}
	}
	qzConsts = qzConstants()
	for _, q4 := range []bool{false, true} {
		for r := 1; r <= 2; r++ {
			for c := 1; c <= 4; c++ {
				qkernelZ(r, c, q4)
			}
		}
		quantKernelZ(q4)
	}
	for _, q4 := range []bool{true, false} {
		for _, g := range []int{1, 2} {
			for _, r := range []int{1, 2, 4} {
				qkernelG(g, r, q4, false, false, false)
			}
		}
		qkernelG(4, 1, q4, false, false, false)
		qkernelG(4, 2, q4, false, false, false)
		qkernelG(1, 8, q4, false, false, false)
	}
	// Q8's kernel of eight input rows again, prefetching 4 KB ahead.
	qkernelG(1, 8, false, false, false, true)
	for _, g := range []int{1, 2} {
		for _, r := range []int{1, 2, 4} {
			qkernelG(g, r, true, true, false, false)
		}
	}
	// Q4's and Q4M's kernels of one or two input rows again, kicking each page as Q8's do.
	for _, g := range []int{1, 2, 4} {
		for _, r := range []int{1, 2} {
			qkernelG(g, r, true, false, true, false)
			if g < 4 {
				qkernelG(g, r, true, true, true, false)
			}
		}
	}
	quantQ4MKernel()
	offsetDotsKernel(false)
	offsetDotsKernel(true)
	offsetRowsKernel()
	dequantKernel(false, false)
	dequantKernel(true, false)
	dequantKernel(true, true)
	dequantKernel(false, true)
	expConsts = expConstants()
	expShift()
	softmaxKernels()
	siluKernel()
	geluKernel()
	bf16Kernels()
	Generate()
	vexDPBUSD()
}

// kernel emits dot{F32,BF16}R{r}C{c}.
func kernel(rows, cols int, bf16 bool) {
	pa, pb, bsize := tileHeader("", "", rows, cols, bf16)

	accs := make([][]VecVirtual, rows)
	for i := range accs {
		accs[i] = make([]VecVirtual, cols)
		for j := range accs[i] {
			accs[i][j] = YMM()
			VXORPS(accs[i][j], accs[i][j], accs[i][j])
		}
	}

	// step does one group of 8 products per output, a and b given as addresses.
	step := func(aAt func(i int) Mem, bAt func(j int) Mem, widen bool) {
		av := make([]VecVirtual, rows)
		for i := range av {
			av[i] = YMM()
			VMOVUPS(aAt(i), av[i])
		}
		for j := 0; j < cols; j++ {
			bv := YMM()
			if widen {
				VPMOVZXWD(bAt(j), bv)
				VPSLLD(U8(16), bv, bv)
			} else {
				VMOVUPS(bAt(j), bv)
			}
			for i := 0; i < rows; i++ {
				VFMADD231PS(bv, av[i], accs[i][j])
			}
		}
	}

	k := Load(Param("k"), GP64())
	n8 := GP64()
	MOVQ(k, n8)
	ANDQ(I32(-8), n8)
	p := GP64()
	XORQ(p, p)
	Label("loop")
	CMPQ(p, n8)
	JGE(LabelRef("tail"))
	bScale := uint8(bsize)
	step(func(i int) Mem { return Mem{Base: pa[i], Index: p, Scale: 4} },
		func(j int) Mem { return Mem{Base: pb[j], Index: p, Scale: bScale} }, bf16)
	ADDQ(U8(8), p)
	JMP(LabelRef("loop"))

	// The last k%8 products: copy (and widen) each row's tail into a zero-padded 8-float
	// slot on the stack, so nothing past a row's end is read.
	Label("tail")
	r := GP64()
	MOVQ(k, r)
	SUBQ(n8, r)
	JZ(LabelRef("reduce"))
	local := AllocLocal(32 * (rows + cols))
	t := GP64()
	v := GP32()
	copyTail := func(slot int, src Register, scale uint8, widen bool) {
		base := local.Offset(32 * slot)
		for q := 0; q < 4; q++ {
			MOVQ(U32(0), base.Offset(8*q))
		}
		XORQ(t, t)
		lbl := fmt.Sprintf("copy%d", slot)
		Label(lbl)
		q := GP64()
		LEAQ(Mem{Base: n8, Index: t, Scale: 1}, q)
		if widen {
			MOVWLZX(Mem{Base: src, Index: q, Scale: 2}, v)
			SHLL(U8(16), v)
		} else {
			MOVL(Mem{Base: src, Index: q, Scale: 4}, v)
		}
		MOVL(v, base.Idx(t, 4))
		INCQ(t)
		CMPQ(t, r)
		JL(LabelRef(lbl))
	}
	for i := 0; i < rows; i++ {
		copyTail(i, pa[i], 4, false)
	}
	for j := 0; j < cols; j++ {
		copyTail(rows+j, pb[j], bScale, bf16)
	}
	step(func(i int) Mem { return local.Offset(32 * i) },
		func(j int) Mem { return local.Offset(32 * (rows + j)) }, false)

	Label("reduce")
	cp := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	flag := Load(Param("acc"), GP8())
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			w := sum8(accs[i][j], false)
			out := Mem{Base: cp, Disp: 4 * j}
			skip := fmt.Sprintf("store%d_%d", i, j)
			TESTB(flag, flag)
			JZ(LabelRef(skip))
			VADDSS(out, w, w)
			Label(skip)
			VMOVSS(w, out)
		}
		if i+1 < rows {
			ADDQ(ldc, cp)
		}
	}
	VZEROUPPER()
	RET()
}

// tailMask is a table of the 16-bit opmasks (1<<r)-1 for r < 16: the lanes of the last
// k%16 products of the AVX-512 kernels.
var tailMask Mem

func tailMasks() Mem {
	m := GLOBL("tailmask", RODATA|NOPTR)
	for r := 0; r < 16; r++ {
		DATA(2*r, U16((1<<r)-1))
	}
	return m
}

// kernel512 emits dot{F32,BF16}x16R{r}C{c}, the AVX-512 tiles: the order of kernel with
// 16-float accumulators. Lane l of a ZMM accumulator sums the products of k ≡ l (mod 16)
// in order of k (the last partial group read through a zeroing mask, so nothing past a row's
// end is touched), then lanes l and l+8 are added and those 8 sums reduced in the AVX2
// tree, ((h0+h4)+(h2+h6)) + ((h1+h5)+(h3+h7)). BF16 rows are widened with VPMOVZXWD
// (AVX512BW); the reduction uses EVEX forms of 128/256-bit instructions (AVX512VL) since
// the register allocator may hand out Z16-Z31.
func kernel512(rows, cols int, bf16 bool) {
	pa, pb, bsize := tileHeader("x16", " with AVX-512", rows, cols, bf16)

	accs := make([][]VecVirtual, rows)
	for i := range accs {
		accs[i] = make([]VecVirtual, cols)
		for j := range accs[i] {
			accs[i][j] = ZMM()
			VPXORD(accs[i][j], accs[i][j], accs[i][j])
		}
	}

	// step does one group of 16 products per output; mask, when not nil, zeroes the lanes
	// past k and keeps their loads from touching memory.
	step := func(aAt func(i int) Mem, bAt func(j int) Mem, mask Op) {
		av := make([]VecVirtual, rows)
		for i := range av {
			av[i] = ZMM()
			if mask != nil {
				VMOVUPS_Z(aAt(i), mask, av[i])
			} else {
				VMOVUPS(aAt(i), av[i])
			}
		}
		for j := 0; j < cols; j++ {
			bv := ZMM()
			switch {
			case bf16 && mask != nil:
				h := YMM()
				VMOVDQU16_Z(bAt(j), mask, h)
				VPMOVZXWD(h, bv)
				VPSLLD(U8(16), bv, bv)
			case bf16:
				VPMOVZXWD(bAt(j), bv)
				VPSLLD(U8(16), bv, bv)
			case mask != nil:
				VMOVUPS_Z(bAt(j), mask, bv)
			default:
				VMOVUPS(bAt(j), bv)
			}
			for i := 0; i < rows; i++ {
				VFMADD231PS(bv, av[i], accs[i][j])
			}
		}
	}

	k := Load(Param("k"), GP64())
	n16 := GP64()
	MOVQ(k, n16)
	ANDQ(I32(-16), n16)
	p := GP64()
	XORQ(p, p)
	bScale := uint8(bsize)
	aAt := func(i int) Mem { return Mem{Base: pa[i], Index: p, Scale: 4} }
	bAt := func(j int) Mem { return Mem{Base: pb[j], Index: p, Scale: bScale} }
	Label("loop")
	CMPQ(p, n16)
	JGE(LabelRef("tail"))
	step(aAt, bAt, nil)
	ADDQ(U8(16), p)
	JMP(LabelRef("loop"))

	Label("tail")
	r := GP64()
	MOVQ(k, r)
	SUBQ(n16, r)
	JZ(LabelRef("reduce"))
	m := K()
	tbl := GP64()
	LEAQ(tailMask, tbl)
	KMOVW(Mem{Base: tbl, Index: r, Scale: 2}, m)
	step(aAt, bAt, m)

	Label("reduce")
	cp := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	flag := Load(Param("acc"), GP8())
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			w := sum16(accs[i][j])
			out := Mem{Base: cp, Disp: 4 * j}
			skip := fmt.Sprintf("store%d_%d", i, j)
			TESTB(flag, flag)
			JZ(LabelRef(skip))
			VADDSS(out, w, w)
			Label(skip)
			VMOVSS(w, out)
		}
		if i+1 < rows {
			ADDQ(ldc, cp)
		}
	}
	VZEROUPPER()
	RET()
}

// sum8 emits the sum of the 8 lanes of the YMM x into lane 0 of the XMM it returns, in the
// tree of every float32 tile: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)). evex extracts the
// high half with VEXTRACTF32X4 (AVX512VL), for an x the allocator may have taken from the
// registers only EVEX reaches; else VEXTRACTF128 (AVX).
func sum8(x VecVirtual, evex bool) VecVirtual {
	h := XMM()
	if evex {
		VEXTRACTF32X4(U8(1), x, h)
	} else {
		VEXTRACTF128(U8(1), x, h)
	}
	VADDPS(x.AsX(), h, h) // lanes l, l+4
	u := XMM()
	VMOVHLPS(h, h, u)
	VADDPS(h, u, u) // (l, l+4) + (l+2, l+6)
	w := XMM()
	VMOVSHDUP(u, w)
	VADDSS(u, w, w) // lanes 0,2,4,6 + lanes 1,3,5,7
	return w
}

// sum16 emits the sum of the 16 lanes of the ZMM x, lanes l and l+8 first, then sum8's tree:
// the AVX-512 tiles' order.
func sum16(x VecVirtual) VecVirtual {
	y := YMM()
	VEXTRACTF64X4(U8(1), x, y)
	VADDPS(x.AsY(), y, y) // lanes l, l+8
	return sum8(y, true)
}

// accRows emits accRowsF32(n, p, v, ldv, rows, out): out[i] += p[j]·v[j*ldv+i] for every
// j < rows in order of j, one fused multiply-add per term, for i < n (n a multiple of 8).
// Each output element is a sum in the one fixed order of j, so no lane reduction is needed.
func accRows() {
	TEXT("accRowsF32", NOSPLIT, "func(n int, p *float32, v *float32, ldv int, rows int, out *float32)")
	Pragma("noescape")
	Doc("accRowsF32 adds p[j]·v[j*ldv+i] to out[i] for j < rows in order of j (fused multiply-adds), i < n, n a multiple of 8.")
	n := Load(Param("n"), GP64())
	pp := Load(Param("p"), GP64())
	vrow := Load(Param("v"), GP64())
	ldv := Load(Param("ldv"), GP64())
	SHLQ(U8(2), ldv)
	rows := Load(Param("rows"), GP64())
	out := Load(Param("out"), GP64())
	j := GP64()
	XORQ(j, j)
	Label("rowloop")
	CMPQ(j, rows)
	JGE(LabelRef("done"))
	pj := YMM()
	VBROADCASTSS(Mem{Base: pp, Index: j, Scale: 4}, pj)
	i := GP64()
	XORQ(i, i)
	Label("colloop")
	CMPQ(i, n)
	JGE(LabelRef("nextrow"))
	t := YMM()
	VMOVUPS(Mem{Base: out, Index: i, Scale: 4}, t)
	VFMADD231PS(Mem{Base: vrow, Index: i, Scale: 4}, pj, t)
	VMOVUPS(t, Mem{Base: out, Index: i, Scale: 4})
	ADDQ(U8(8), i)
	JMP(LabelRef("colloop"))
	Label("nextrow")
	ADDQ(ldv, vrow)
	INCQ(j)
	JMP(LabelRef("rowloop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// expConsts holds the constants of the vector exp, each repeated over 8 lanes.
var expConsts Mem

// The exp constants, in the order of expConstants' table.
const (
	cHi = iota
	cLo
	cLog2e
	cLn2Hi
	cLn2Lo
	cP5
	cP4
	cP3
	cP2
	cP1
	cP0
	cOne
	cBias
	cSign
	cHalf
	cAbs
	cTScale
	cClamp
	cNegClamp
	cE0 // erfc coefficients, cE0 + t·(cE1 + t·(… cE9))
	cE1
	cE2
	cE3
	cE4
	cE5
	cE6
	cE7
	cE8
	cE9
	cNegInf // the softmax max's start
	nConsts
)

// expConstants writes the exp constants as read-only data. The polynomial is Cephes'
// expf (a minimax fit of (e^r - 1 - r)/r² on |r| <= ln2/2); ln 2 is split Cody-Waite style
// so n·ln2Hi is exact for |n| < 2^9.
func expConstants() Mem {
	m := GLOBL("expconsts", RODATA|NOPTR)
	bits := [nConsts]uint32{
		cHi:    math32bits(88.37),
		cLo:    math32bits(-87.33654),
		cLog2e: math32bits(1.44269504088896341),
		cLn2Hi: math32bits(0.693359375),
		cLn2Lo: math32bits(-2.12194440e-4),
		cP5:    math32bits(1.9875691500e-4),
		cP4:    math32bits(1.3981999507e-3),
		cP3:    math32bits(8.3334519073e-3),
		cP2:    math32bits(4.1665795894e-2),
		cP1:    math32bits(1.6666665459e-1),
		cP0:    math32bits(5.0000001201e-1),
		cOne:   math32bits(1),
		cBias:  127,
		cSign:  0x80000000,
		cHalf:  math32bits(0.5),
		cAbs:   0x7fffffff,
		// t = 1/(1 + z/2) with z = |x|/√2.
		cTScale: math32bits(0.5 / math.Sqrt2),
		// GELU's Φ is 0 or 1 in float32 beyond ±20 (already beyond ±13.2).
		cClamp:    math32bits(20),
		cNegClamp: math32bits(-20),
		// erfc(z) = t·e^(-z² + P(t)), t = 1/(1+z/2): the Chebyshev fit of Numerical Recipes'
		// erfcc, relative error below 1.2e-7 for every z >= 0.
		cE0:     math32bits(-1.26551223),
		cE1:     math32bits(1.00002368),
		cE2:     math32bits(0.37409196),
		cE3:     math32bits(0.09678418),
		cE4:     math32bits(-0.18628806),
		cE5:     math32bits(0.27886807),
		cE6:     math32bits(-1.13520398),
		cE7:     math32bits(1.48851587),
		cE8:     math32bits(-0.82215223),
		cE9:     math32bits(0.17087277),
		cNegInf: 0xff800000,
	}
	for c, b := range bits {
		for l := 0; l < 8; l++ {
			DATA(32*c+4*l, U32(b))
		}
	}
	return m
}

func math32bits(f float32) uint32 { return math.Float32bits(f) }

func cst(c int) Mem { return expConsts.Offset(32 * c) }

// expVec returns a new register holding e^x lane by lane: x clamped to at most 88.37,
// n = round(x·log2 e), r = x - n·ln 2 (two fused steps), e^r = 1 + r + r²·P(r), scaled by
// 2^n through the exponent bits. Lanes with x below ln 2^-126 (results below the normal
// range) become 0; NaN stays NaN. x itself is left unchanged.
func expVec(x VecVirtual) VecVirtual {
	xc := YMM()
	VMOVUPS(cst(cHi), xc)
	VMINPS(x, xc, xc) // x as the second source: a NaN passes through
	n := YMM()
	VMULPS(cst(cLog2e), xc, n)
	VROUNDPS(U8(0), n, n)
	r := YMM()
	VMOVAPS(xc, r)
	VFNMADD231PS(cst(cLn2Hi), n, r)
	VFNMADD231PS(cst(cLn2Lo), n, r)
	p := YMM()
	VMOVUPS(cst(cP5), p)
	for _, c := range []int{cP4, cP3, cP2, cP1, cP0} {
		VFMADD213PS(cst(c), r, p)
	}
	r2 := YMM()
	VMULPS(r, r, r2)
	VFMADD213PS(r, r2, p)
	VADDPS(cst(cOne), p, p)
	VCVTPS2DQ(n, n)
	VPADDD(cst(cBias), n, n)
	VPSLLD(U8(23), n, n)
	VMULPS(n, p, p)
	mask := YMM()
	VCMPPS(U8(1), cst(cLo), x, mask) // x < lo
	VANDNPS(p, mask, p)
	return p
}

// expShift emits expShiftF32(n, x, shift): x[i] = e^(x[i]-shift) for i < n, n a multiple of 8.
func expShift() {
	TEXT("expShiftF32", NOSPLIT, "func(n int, x *float32, shift float32)")
	Pragma("noescape")
	Doc("expShiftF32 sets x[i] = e^(x[i]-shift) for i < n, n a multiple of 8 (see the generator for the method).")
	n := Load(Param("n"), GP64())
	px := Load(Param("x"), GP64())
	sh := Load(Param("shift"), XMM())
	shv := YMM()
	VBROADCASTSS(sh, shv)
	i := GP64()
	XORQ(i, i)
	Label("loop")
	CMPQ(i, n)
	JGE(LabelRef("done"))
	x := YMM()
	VMOVUPS(Mem{Base: px, Index: i, Scale: 4}, x)
	VSUBPS(shv, x, x)
	e := expVec(x)
	VMOVUPS(e, Mem{Base: px, Index: i, Scale: 4})
	ADDQ(U8(8), i)
	JMP(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// softmaxKernels emits the vector passes of the BF16 mode's softmax (softmaxRowWide), each
// over n floats, n a multiple of 8, with one 8-float accumulator whose lane l takes the
// elements ≡ l (mod 8), reduced ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)) as the Go code does:
// scaleMaxF32 multiplies x by scale and returns the max, expSumF32 sets x[i] =
// e^(x[i]-shift) (expVec, as expShiftF32) and returns the sum, scaleF32 multiplies x by s.
func softmaxKernels() {
	reduce := func(acc VecVirtual, op func(a, b, dst Op)) Register {
		hi := XMM()
		VEXTRACTF128(U8(1), acc, hi)
		lo := acc.AsX()
		op(hi, lo, lo) // lanes l and l+4
		sh := XMM()
		VMOVHLPS(lo, lo, sh)
		op(sh, lo, lo) // (l0+l4)+(l2+l6), (l1+l5)+(l3+l7)
		sh2 := XMM()
		VSHUFPS(U8(0x55), lo, lo, sh2)
		op(sh2, lo, lo)
		return lo
	}
	loop := func(n, px Register, body func(x VecVirtual)) {
		i := GP64()
		XORQ(i, i)
		Label("loop")
		CMPQ(i, n)
		JGE(LabelRef("done"))
		x := YMM()
		VMOVUPS(Mem{Base: px, Index: i, Scale: 4}, x)
		body(x)
		VMOVUPS(x, Mem{Base: px, Index: i, Scale: 4})
		ADDQ(U8(8), i)
		JMP(LabelRef("loop"))
		Label("done")
	}

	// header starts kernel name over x[:n] with the float32 parameter scalar broadcast.
	header := func(name, sig, scalar, doc string) (n, px Register, v VecVirtual) {
		TEXT(name, NOSPLIT, sig)
		Pragma("noescape")
		Doc(doc)
		n, px = Load(Param("n"), GP64()), Load(Param("x"), GP64())
		v = YMM()
		VBROADCASTSS(Load(Param(scalar), XMM()), v)
		return n, px, v
	}

	n, px, sv := header("scaleMaxF32", "func(n int, x *float32, scale float32) float32", "scale",
		"scaleMaxF32 multiplies x[:n] by scale and returns the max, n a multiple of 8 (see the generator).")
	mx := YMM()
	VMOVUPS(cst(cNegInf), mx)
	loop(n, px, func(x VecVirtual) {
		VMULPS(sv, x, x)
		VMAXPS(x, mx, mx)
	})
	Store(reduce(mx, func(a, b, dst Op) { VMAXPS(a, b, dst) }), ReturnIndex(0))
	VZEROUPPER()
	RET()

	n, px, shv := header("expSumF32", "func(n int, x *float32, shift float32) float32", "shift",
		"expSumF32 sets x[i] = e^(x[i]-shift) for i < n, n a multiple of 8, and returns their sum (see the generator).")
	sum := YMM()
	VXORPS(sum, sum, sum)
	loop(n, px, func(x VecVirtual) {
		VSUBPS(shv, x, x)
		e := expVec(x)
		VMOVUPS(e, x)
		VADDPS(e, sum, sum)
	})
	Store(reduce(sum, func(a, b, dst Op) { VADDPS(a, b, dst) }), ReturnIndex(0))
	VZEROUPPER()
	RET()

	n, px, sv = header("scaleF32", "func(n int, x *float32, s float32)", "s",
		"scaleF32 multiplies x[:n] by s, n a multiple of 8.")
	loop(n, px, func(x VecVirtual) { VMULPS(sv, x, x) })
	VZEROUPPER()
	RET()
}

// siluKernel emits siluF32(n, x, y): y[i] = x[i]/(1+e^-x[i]) for i < n, n a multiple of 8.
func siluKernel() {
	TEXT("siluF32", NOSPLIT, "func(n int, x *float32, y *float32)")
	Pragma("noescape")
	Doc("siluF32 sets y[i] = x[i]/(1+e^-x[i]) for i < n, n a multiple of 8 (y may be x).")
	n := Load(Param("n"), GP64())
	px := Load(Param("x"), GP64())
	py := Load(Param("y"), GP64())
	i := GP64()
	XORQ(i, i)
	Label("loop")
	CMPQ(i, n)
	JGE(LabelRef("done"))
	x := YMM()
	VMOVUPS(Mem{Base: px, Index: i, Scale: 4}, x)
	nx := YMM()
	VXORPS(cst(cSign), x, nx)
	e := expVec(nx)
	VADDPS(cst(cOne), e, e)
	VDIVPS(e, x, e)
	VMOVUPS(e, Mem{Base: py, Index: i, Scale: 4})
	ADDQ(U8(8), i)
	JMP(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// geluKernel emits geluF32(n, x, y): y[i] = x[i]·Φ(x[i]), Φ(x) = (1+erf(x/√2))/2, for i < n,
// n a multiple of 8. Φ comes from erfc(|x|/√2) (Φ = erfc/2 for x < 0, 1 - erfc/2 otherwise),
// so the small Φ of negative x keeps its relative accuracy. z² = x²/2 is split exactly into
// hi + lo with a fused multiply-subtract and e^-z² taken as e^-hi · e^(P(t)-lo), since a
// rounded z² of up to 85 would cost up to 5e-6 of relative accuracy.
func geluKernel() {
	TEXT("geluF32", NOSPLIT, "func(n int, x *float32, y *float32)")
	Pragma("noescape")
	Doc("geluF32 sets y[i] = x[i]·(1+erf(x[i]/√2))/2 for i < n, n a multiple of 8 (y may be x; see the generator for the method).")
	n := Load(Param("n"), GP64())
	px := Load(Param("x"), GP64())
	py := Load(Param("y"), GP64())
	i := GP64()
	XORQ(i, i)
	Label("loop")
	CMPQ(i, n)
	JGE(LabelRef("done"))
	x := YMM()
	VMOVUPS(Mem{Base: px, Index: i, Scale: 4}, x)
	xc := YMM()
	VMOVUPS(cst(cClamp), xc)
	VMINPS(x, xc, xc)
	VMAXPS(cst(cNegClamp), xc, xc)
	a := YMM()
	VANDPS(cst(cAbs), xc, a)
	hi := YMM()
	VMULPS(a, a, hi)
	lo := YMM()
	VMOVAPS(hi, lo)
	VFMSUB231PS(a, a, lo) // lo = a·a - hi, exact
	VMULPS(cst(cHalf), hi, hi)
	VMULPS(cst(cHalf), lo, lo)
	d := YMM()
	VMOVUPS(cst(cOne), d)
	VFMADD231PS(cst(cTScale), a, d)
	t := YMM()
	VMOVUPS(cst(cOne), t)
	VDIVPS(d, t, t)
	p := YMM()
	VMOVUPS(cst(cE9), p)
	for c := cE8; c >= cE0; c-- {
		VFMADD213PS(cst(c), t, p)
	}
	VSUBPS(lo, p, p)
	e1 := expVec(p)
	VXORPS(cst(cSign), hi, hi)
	e2 := expVec(hi)
	VMULPS(e1, t, t)
	VMULPS(e2, t, t)
	VMULPS(cst(cHalf), t, t) // erfc/2, Φ for negative x
	q := YMM()
	VMOVUPS(cst(cOne), q)
	VSUBPS(t, q, q) // 1 - erfc/2, Φ for positive x
	VBLENDVPS(xc, t, q, q)
	VMULPS(x, q, q)
	VMOVUPS(q, Mem{Base: py, Index: i, Scale: 4})
	ADDQ(U8(8), i)
	JMP(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// tileHeader opens the tile kernel dot{F32,BF16}{suffix}R{rows}C{cols} and loads its row
// pointers: pa[i] = a + i·lda, pb[j] = b + j·ldb (in bytes of b's element, bsize).
func tileHeader(suffix, how string, rows, cols int, bf16 bool) (pa, pb []Register, bsize int) {
	typ, btype := "F32", "*float32"
	bsize = 4
	if bf16 {
		typ, btype, bsize = "BF16", "*uint16", 2
	}
	name := fmt.Sprintf("dot%s%sR%dC%d", typ, suffix, rows, cols)
	TEXT(name, NOSPLIT, fmt.Sprintf("func(k int, a *float32, lda int, b %s, ldb int, c *float32, ldc int, acc bool)", btype))
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes a %d×%d tile of dot products of length k%s (see the generator for the order).", name, rows, cols, how))

	pa = make([]Register, rows)
	pa[0] = Load(Param("a"), GP64())
	if rows > 1 {
		lda := Load(Param("lda"), GP64())
		SHLQ(U8(2), lda)
		for i := 1; i < rows; i++ {
			pa[i] = GP64()
			LEAQ(Mem{Base: pa[i-1], Index: lda, Scale: 1}, pa[i])
		}
	}
	pb = make([]Register, cols)
	pb[0] = Load(Param("b"), GP64())
	if cols > 1 {
		ldb := Load(Param("ldb"), GP64())
		if bf16 {
			SHLQ(U8(1), ldb)
		} else {
			SHLQ(U8(2), ldb)
		}
		for j := 1; j < cols; j++ {
			pb[j] = GP64()
			LEAQ(Mem{Base: pb[j-1], Index: ldb, Scale: 1}, pb[j])
		}
	}
	return pa, pb, bsize
}

// attnF16Kernels emits the AVX-512 kernels with which a decoding step's Attention reads an
// F16 KV cache row by row, widening in registers: cache rows are a whole KV row (every
// head) apart, so reading one head's block of keys jumps a page at each row, which the
// hardware prefetchers do not follow, while a row read whole is one stream. The sums
// prefetch their part of the row pf bytes on, a line at a time. The scores, which read whole
// rows (a page each in Janus-Pro-1B's cache), take four heads at a time, whose four chains
// of multiply-adds and reductions are in flight together (one head after another, each
// waiting for its chain, read a thread's keys at about a third of the memory's rate), and
// prefetch the four heads' keys pf bytes on as they go, besides the row's first two lines
// at the start; a prefetch of every line took load slots from the loads of one chain, not
// of four (docs/performance.md, "Four heads a pass").
//
// scoresF16x16(n, q, k, heads, kstep, c, ldc, pf): for h < heads, c[h·ldc] = q[h·n:]·k[h·kstep:]
// over n values (a multiple of 16), in dotF32x16R1C1's order (lanes of k ≡ l mod 16, then
// its reduction tree), so a score has the bits tileSIMD gives the widened key; the heads
// left over from the fours one at a time, without the prefetches.
//
// accF16x64 and accF16x128(n, p, pstep, v, ldv, rows, heads, vstep, out, pf): for h < heads
// and j < rows in order, out[h·n+i] += p[h·pstep+j]·v[j·ldv+h·vstep+i], i < n (a multiple of
// 64, or of 128), one fused multiply-add each: accRowsF32's steps, so they give accRowsF32's
// bits. A head's 64 or 128 sums at a time stay in registers over the rows (rows ≥ 1), rather
// than being loaded and stored for each.
func attnF16Kernels() {
	TEXT("scoresF16x16", NOSPLIT, "func(n int, q *float32, k *uint16, heads int, kstep int, c *float32, ldc int, pf int)")
	Pragma("noescape")
	Doc("scoresF16x16 computes heads dot products of float32 rows of q with F16 rows of k (see the generator).")
	{
		n := Load(Param("n"), GP64())
		q := Load(Param("q"), GP64())
		k := Load(Param("k"), GP64())
		heads := Load(Param("heads"), GP64())
		kstep := Load(Param("kstep"), GP64())
		c := Load(Param("c"), GP64())
		ldc := Load(Param("ldc"), GP64())
		pf := Load(Param("pf"), GP64())
		kick := GP64()
		LEAQ(Mem{Base: k, Index: pf, Scale: 1}, kick)
		PREFETCHT1(Mem{Base: kick})
		PREFETCHT1(Mem{Base: kick, Disp: 64})
		// Byte strides: a row of q (n4), three of them, three heads' keys and scores apart.
		n4, n12, k3 := GP64(), GP64(), GP64()
		MOVQ(n, n4)
		SHLQ(U8(2), n4)
		LEAQ(Mem{Base: n4, Index: n4, Scale: 2}, n12)
		LEAQ(Mem{Base: kstep, Index: kstep, Scale: 2}, k3)
		// Four heads at a time, each with the operations, in the order, it has alone.
		Label("quad")
		CMPQ(heads, U8(4))
		JLT(LabelRef("head"))
		{
			acc := []VecVirtual{ZMM(), ZMM(), ZMM(), ZMM()}
			for _, a := range acc {
				VPXORD(a, a, a)
			}
			iq, ik, left := GP64(), GP64(), GP64()
			MOVQ(q, iq)
			MOVQ(k, ik)
			MOVQ(n4, left)
			ikp := GP64()
			LEAQ(Mem{Base: k, Index: pf, Scale: 1}, ikp)
			Label("qdot")
			kAt := []Mem{{Base: ik}, {Base: ik, Index: kstep, Scale: 1}, {Base: ik, Index: kstep, Scale: 2}, {Base: ik, Index: k3, Scale: 1}}
			qAt := []Mem{{Base: iq}, {Base: iq, Index: n4, Scale: 1}, {Base: iq, Index: n4, Scale: 2}, {Base: iq, Index: n12, Scale: 1}}
			for m, a := range acc {
				kv := ZMM()
				VCVTPH2PS(kAt[m], kv)
				VFMADD231PS(qAt[m], kv, a)
			}
			// Each line twice, 32 bytes a pass: once a line, on two passes' values, was no
			// faster in a step.
			for m := range acc {
				at := kAt[m]
				at.Base = ikp
				PREFETCHT0(at)
			}
			ADDQ(U8(32), ikp)
			ADDQ(U8(64), iq)
			ADDQ(U8(32), ik)
			SUBQ(U8(64), left)
			JNZ(LabelRef("qdot"))
			l3 := GP64()
			LEAQ(Mem{Base: ldc, Index: ldc, Scale: 2}, l3)
			cAt := []Mem{{Base: c}, {Base: c, Index: ldc, Scale: 1}, {Base: c, Index: ldc, Scale: 2}, {Base: c, Index: l3, Scale: 1}}
			for m, a := range acc {
				VMOVSS(sum16(a), cAt[m])
			}
			LEAQ(Mem{Base: q, Index: n4, Scale: 4}, q)
			LEAQ(Mem{Base: k, Index: kstep, Scale: 4}, k)
			LEAQ(Mem{Base: c, Index: ldc, Scale: 4}, c)
			SUBQ(U8(4), heads)
			JMP(LabelRef("quad"))
		}
		Label("head")
		TESTQ(heads, heads)
		JZ(LabelRef("sdone"))
		{
			acc := ZMM()
			VPXORD(acc, acc, acc)
			iq, ik, left := GP64(), GP64(), GP64()
			MOVQ(q, iq)
			MOVQ(k, ik)
			MOVQ(n4, left)
			Label("dot")
			kv := ZMM()
			VCVTPH2PS(Mem{Base: ik}, kv)
			VFMADD231PS(Mem{Base: iq}, kv, acc)
			ADDQ(U8(64), iq)
			ADDQ(U8(32), ik)
			SUBQ(U8(64), left)
			JNZ(LabelRef("dot"))
			VMOVSS(sum16(acc), Mem{Base: c})
			ADDQ(n4, q)
			ADDQ(kstep, k)
			ADDQ(ldc, c)
			DECQ(heads)
			JMP(LabelRef("head"))
		}
		Label("sdone")
		VZEROUPPER()
		RET()
	}

	accF16Kernel(4)
	accF16Kernel(8)
}

// accF16Kernel emits accF16x{16·vecs}, which keeps 16·vecs sums of a head in registers over
// the rows: accF16x64 for any head size that is a multiple of 64, accF16x128 for multiples of
// 128, which reads each row's part of a head in half as many passes over a block of rows.
func accF16Kernel(vecs int) {
	name := fmt.Sprintf("accF16x%d", 16*vecs)
	TEXT(name, NOSPLIT, "func(n int, p *float32, pstep int, v *uint16, ldv int, rows int, heads int, vstep int, out *float32, pf int)")
	Pragma("noescape")
	Doc(name + " adds p[h·pstep+j]·v[j·ldv+h·vstep+i] to out[h·n+i] for rows rows of F16 values j and heads h (see the generator).")
	v := Load(Param("v"), GP64())
	ldv := Load(Param("ldv"), GP64())
	heads := Load(Param("heads"), GP64())
	pf := Load(Param("pf"), GP64())
	var vv Register
	accCached(vecs, heads, accSource{
		chunk: func(i Register) {
			vv = GP64()
			LEAQ(Mem{Base: v, Index: i, Scale: 2}, vv)
		},
		row: func(pj VecVirtual, acc []VecVirtual) {
			for k := range acc {
				t := ZMM()
				VCVTPH2PS(Mem{Base: vv, Disp: 32 * k}, t)
				VFMADD231PS(t, pj, acc[k]) // acc = pj·v + acc
			}
			// This part of the row pf bytes on.
			for l := 0; l < 32*vecs; l += 64 {
				PREFETCHT1(Mem{Base: vv, Index: pf, Scale: 1, Disp: l})
			}
			ADDQ(ldv, vv)
		},
		head: func() {
			vstep := Load(Param("vstep"), GP64())
			ADDQ(vstep, v)
		},
	})
}

// accSource is how accCached reads a kind of cached values: chunk points the row pointers at
// a head's chunk of values i (in values) on, row adds one row of the chunk times pj to acc
// and moves the pointers on a row, head moves the source on a head.
type accSource struct {
	chunk func(i Register)
	row   func(pj VecVirtual, acc []VecVirtual)
	head  func()
}

// accCached emits the loops of accF16x{16·vecs} and accQ8x{16·vecs} after their TEXT and the
// loads of src's own arguments: for each of heads heads (a register, or the argument's slot
// when registers are short), for each chunk of 16·vecs of the n sums at out, the sums loaded,
// then for each of rows rows p's weight broadcast and the row's values added (src.row), the
// sums stored; then p, the source (src.head) and out move on a head.
func accCached(vecs int, heads Op, src accSource) {
	n := Load(Param("n"), GP64())
	p := Load(Param("p"), GP64())
	out := Load(Param("out"), GP64())
	Label("ahead")
	CMPQ(heads, U8(0))
	JE(LabelRef("adone"))
	i := GP64()
	XORQ(i, i)
	Label("chunk")
	CMPQ(i, n)
	JGE(LabelRef("next"))
	acc := make([]VecVirtual, vecs)
	for k := range acc {
		acc[k] = ZMM()
		VMOVUPS(Mem{Base: out, Index: i, Scale: 4, Disp: 64 * k}, acc[k])
	}
	pp := GP64()
	MOVQ(p, pp)
	src.chunk(i)
	j := Load(Param("rows"), GP64())
	Label("row")
	pj := ZMM()
	VBROADCASTSS(Mem{Base: pp}, pj)
	src.row(pj, acc)
	ADDQ(U8(4), pp)
	DECQ(j)
	JNZ(LabelRef("row"))
	for k := range acc {
		VMOVUPS(acc[k], Mem{Base: out, Index: i, Scale: 4, Disp: 64 * k})
	}
	ADDQ(U8(16*vecs), i)
	JMP(LabelRef("chunk"))
	Label("next")
	pstep := Load(Param("pstep"), GP64())
	ADDQ(pstep, p)
	src.head()
	LEAQ(Mem{Base: out, Index: n, Scale: 4}, out)
	DECQ(heads)
	JMP(LabelRef("ahead"))
	Label("adone")
	VZEROUPPER()
	RET()
}
