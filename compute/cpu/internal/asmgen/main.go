// Command asmgen writes the AVX2+FMA dot-product tile kernels of package cpu
// (kernels_amd64.s and their Go declarations) with avo. It is a separate module so that avo
// is a build-time tool only: package cpu imports nothing from here.
//
// Run it through go generate in compute/cpu.
//
// Every kernel computes c[i*ldc+j] (+)= a_i·b_j for an R×C tile (R rows of a, C rows of b,
// all contiguous along K) in one fixed summation order that all kernels share, so a result
// does not depend on the tile that computed it: lane l of an 8-float accumulator sums the
// products of k ≡ l (mod 8) with fused multiply-adds in order of k (the last partial group
// zero-padded), then the lanes are added as ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)) and,
// when acc is set, added to the value already in c. Callers split K into fixed blocks and
// resume through c, which keeps the order independent of how the work is cut further.
package main

import (
	"fmt"

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
	Generate()
}

// kernel emits dot{F32,BF16}R{r}C{c}.
func kernel(rows, cols int, bf16 bool) {
	typ, btype, bsize := "F32", "*float32", 4
	if bf16 {
		typ, btype, bsize = "BF16", "*uint16", 2
	}
	name := fmt.Sprintf("dot%sR%dC%d", typ, rows, cols)
	TEXT(name, NOSPLIT, fmt.Sprintf("func(k int, a *float32, lda int, b %s, ldb int, c *float32, ldc int, acc bool)", btype))
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes a %d×%d tile of dot products of length k (see the generator for the order).", name, rows, cols))

	// Row pointers.
	pa := make([]Register, rows)
	pa[0] = Load(Param("a"), GP64())
	if rows > 1 {
		lda := Load(Param("lda"), GP64())
		SHLQ(U8(2), lda)
		for i := 1; i < rows; i++ {
			pa[i] = GP64()
			LEAQ(Mem{Base: pa[i-1], Index: lda, Scale: 1}, pa[i])
		}
	}
	pb := make([]Register, cols)
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
			x := accs[i][j]
			h := XMM()
			VEXTRACTF128(U8(1), x, h)
			VADDPS(x.AsX(), h, h) // lanes l, l+4
			u := XMM()
			VMOVHLPS(h, h, u)
			VADDPS(h, u, u) // (l, l+4) + (l+2, l+6)
			w := XMM()
			VMOVSHDUP(u, w)
			VADDSS(u, w, w) // lanes 0,2,4,6 + lanes 1,3,5,7
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
