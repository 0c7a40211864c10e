package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// offsetDotsKernel emits offsetDotsF16 (256-bit vectors, F16C) or, with zmm, offsetDotsF16Z:
// d[r] += Σ_{b<nb} f16(o[r·ldo/2+b])·xs[b] for r < n, nb a multiple of 16 (Q4M's offsets of
// matrices stored row after row against an input row's block sums). Every row takes the
// steps offsetDotGo models, in either width: 16 lanes of fused multiply-adds (two vectors a
// row, or one), lane l+8 added to lane l, then those eight pairwise by VHADDPS. Four rows at
// a time, their sums gathered into one vector of four; the one to three rows left alone,
// their lanes added in the same order.
func offsetDotsKernel(zmm bool) {
	name, vecs := "offsetDotsF16", 2
	vec := func() VecVirtual { return YMM() }
	if zmm {
		name, vecs = "offsetDotsF16Z", 1
		vec = func() VecVirtual { return ZMM() }
	}
	TEXT(name, NOSPLIT, "func(n int, o *uint16, ldo int, xs *float32, nb int, d *float32)")
	Pragma("noescape")
	Doc(name + " adds n rows of F16 offsets (ldo bytes apart) times xs to d (see the generator).")
	n := Load(Param("n"), GP64())
	po := Load(Param("o"), GP64())
	ldo := Load(Param("ldo"), GP64())
	pxs := Load(Param("xs"), GP64())
	nb := Load(Param("nb"), GP64())
	pd := Load(Param("d"), GP64())
	col := GP64()
	width := 16 / vecs // lanes a vector
	// rowSums runs the column loop over the rows at ptrs (labelled l) and returns each row's
	// eight lane sums (lane l plus lane l+8) in a YMM.
	rowSums := func(l string, ptrs []Register) []VecVirtual {
		acc := make([][]VecVirtual, len(ptrs))
		for r := range acc {
			acc[r] = make([]VecVirtual, vecs)
			for v := range acc[r] {
				acc[r][v] = vec()
				VXORPS(acc[r][v], acc[r][v], acc[r][v])
			}
		}
		XORQ(col, col)
		Label(l)
		CMPQ(col, nb)
		JGE(LabelRef(l + "sum"))
		xv := make([]VecVirtual, vecs)
		for v := range xv {
			xv[v] = vec()
			VMOVUPS(Mem{Base: pxs, Index: col, Scale: 4, Disp: 4 * width * v}, xv[v])
		}
		for r, p := range ptrs {
			for v := range vecs {
				t := vec()
				VCVTPH2PS(Mem{Base: p, Index: col, Scale: 2, Disp: 2 * width * v}, t)
				VFMADD231PS(xv[v], t, acc[r][v])
			}
		}
		ADDQ(U8(16), col)
		JMP(LabelRef(l))
		Label(l + "sum")
		sums := make([]VecVirtual, len(ptrs))
		for r := range acc {
			t := YMM()
			if zmm {
				VEXTRACTF64X4(U8(1), acc[r][0], t)
				VADDPS(t, acc[r][0].AsY(), t)
			} else {
				VADDPS(acc[r][1], acc[r][0], t)
			}
			sums[r] = t
		}
		return sums
	}

	Label("quad")
	CMPQ(n, U8(4))
	JL(LabelRef("single"))
	ptrs := []Register{GP64(), GP64(), GP64(), GP64()}
	MOVQ(po, ptrs[0])
	LEAQ(Mem{Base: po, Index: ldo, Scale: 1}, ptrs[1])
	LEAQ(Mem{Base: po, Index: ldo, Scale: 2}, ptrs[2])
	LEAQ(Mem{Base: ptrs[1], Index: ldo, Scale: 2}, ptrs[3])
	s := rowSums("quadcol", ptrs)
	VHADDPS(s[1], s[0], s[0])
	VHADDPS(s[3], s[2], s[2])
	VHADDPS(s[2], s[0], s[0])
	x1 := XMM()
	VEXTRACTF128(U8(1), s[0], x1)
	VADDPS(x1, s[0].AsX(), x1)
	VADDPS(Mem{Base: pd}, x1, x1)
	VMOVUPS(x1, Mem{Base: pd})
	ADDQ(U8(16), pd)
	LEAQ(Mem{Base: po, Index: ldo, Scale: 4}, po)
	SUBQ(U8(4), n)
	JMP(LabelRef("quad"))

	Label("single")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	t := rowSums("singlecol", []Register{po})[0]
	VHADDPS(t, t, t)
	VHADDPS(t, t, t)
	x2 := XMM()
	VEXTRACTF128(U8(1), t, x2)
	VADDPS(x2, t.AsX(), x2)
	VADDSS(Mem{Base: pd}, x2, x2)
	VMOVSS(x2, Mem{Base: pd})
	ADDQ(U8(4), pd)
	ADDQ(ldo, po)
	DECQ(n)
	JMP(LabelRef("single"))
	Label("done")
	VZEROUPPER()
	RET()
}

// offsetRowsKernel emits offsetRowsG: d[i·ldd/4 + r] += Σ_{b<nb} f16(o[16b+r])·xs[i·ldxs/4 + b]
// for r < 16 and i < rows, the offsets' part of a product of many rows with one group of a
// grouped Q4M matrix (its 16 rows' offsets of block b side by side, as the scales are). Lane
// r of input row i sums its blocks in order with fused multiply-adds from zero; the sum is
// then added to d. Eight input rows a pass share each block's VCVTPH2PS; the rows left over
// go one at a time.
func offsetRowsKernel() {
	TEXT("offsetRowsG", NOSPLIT, "func(rows int, nb int, o *uint16, xs *float32, ldxs int, d *float32, ldd int)")
	Pragma("noescape")
	Doc("offsetRowsG adds one group's F16 offsets times rows rows of block sums to d (see the generator).")
	rows := Load(Param("rows"), GP64())
	po := Load(Param("o"), GP64())
	pxs := Load(Param("xs"), GP64())
	ldxs := Load(Param("ldxs"), GP64())
	pd := Load(Param("d"), GP64())
	// pass sums the blocks of len(ptrs) input rows into vectors: row i's block sums at
	// ptrs[i], or for i ≥ 4 at ptrs[i-4] + four (registers).
	pass := func(l string, ptrs []Register, four Register) []VecVirtual {
		acc := make([]VecVirtual, len(ptrs))
		if four != nil {
			acc = make([]VecVirtual, 2*len(ptrs))
		}
		for i := range acc {
			acc[i] = ZMM()
			VXORPS(acc[i], acc[i], acc[i])
		}
		po2, left := GP64(), GP64()
		MOVQ(po, po2)
		Load(Param("nb"), left)
		Label(l)
		TESTQ(left, left)
		JZ(LabelRef(l + "sum"))
		ov := ZMM()
		VCVTPH2PS(Mem{Base: po2}, ov)
		for i := range acc {
			at := Mem{Base: ptrs[i%len(ptrs)]}
			if i >= len(ptrs) {
				at = Mem{Base: ptrs[i-len(ptrs)], Index: four, Scale: 1}
			}
			VFMADD231PS_BCST(at, ov, acc[i])
		}
		for _, p := range ptrs {
			ADDQ(U8(4), p)
		}
		ADDQ(U8(32), po2)
		DECQ(left)
		JMP(LabelRef(l))
		Label(l + "sum")
		return acc
	}
	// add adds the row sums acc to d's rows from pd on, advancing pd past them.
	add := func(acc []VecVirtual) {
		ldd := Load(Param("ldd"), GP64())
		for _, a := range acc {
			VADDPS(Mem{Base: pd}, a, a)
			VMOVUPS(a, Mem{Base: pd})
			ADDQ(ldd, pd)
		}
	}
	Label("oct")
	CMPQ(rows, U8(8))
	JL(LabelRef("one"))
	ptrs := make([]Register, 4)
	for i := range ptrs {
		ptrs[i] = GP64()
		if i == 0 {
			MOVQ(pxs, ptrs[0])
			continue
		}
		LEAQ(Mem{Base: ptrs[i-1], Index: ldxs, Scale: 1}, ptrs[i])
	}
	four := GP64()
	MOVQ(ldxs, four)
	SHLQ(U8(2), four)
	add(pass("octblk", ptrs, four))
	LEAQ(Mem{Base: pxs, Index: ldxs, Scale: 8}, pxs)
	SUBQ(U8(8), rows)
	JMP(LabelRef("oct"))
	Label("one")
	TESTQ(rows, rows)
	JZ(LabelRef("done"))
	p := GP64()
	MOVQ(pxs, p)
	add(pass("oneblk", []Register{p}, nil))
	ADDQ(ldxs, pxs)
	DECQ(rows)
	JMP(LabelRef("one"))
	Label("done")
	VZEROUPPER()
	RET()
}
