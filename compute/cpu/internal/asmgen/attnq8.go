package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// attnQ8Kernels emits the AVX-512 kernels with which a decoding step's Attention reads a Q8
// KV cache (codes and F16 scales of 32-value blocks, row after row) row by row, as
// attnF16Kernels' do an F16 one: each value is dequantized in registers exactly as
// dequantQ8 writes it (float32(code)·float32(scale), one multiply), then used as the
// widened F16 value is, so the results have the bits the F32 paths give the dequantized
// cache.
//
// scoresQ8x16(n, q, k, ks, heads, kstep, c, ldc, pf): for h < heads, c[h·ldc] =
// q[h·n:]·dequant(k[h·kstep:]) over n values (a multiple of 32), kstep bytes of codes (and
// kstep/16 bytes of scales) between heads, in dotF32x16R1C1's order, four heads at a time
// (four chains in flight, as scoresF16x16), prefetching their codes pf bytes on as it goes
// (a row of the cache two rows on) and, first, the lines of their scales pf/16 bytes on.
//
// accQ8x64 and accQ8x128(n, p, pstep, v, vs, ldv, rows, heads, vstep, out, pf): for h <
// heads and j < rows in order, out[h·n+i] += p[h·pstep+j]·dequant(v[j·ldv+h·vstep+i]), i <
// n (a multiple of 64, or of 128), one fused multiply-add each (accRowsF32's bits), ldv
// and vstep in bytes of codes (a row's and a head's scales are ldv/16 and vstep/16 bytes on),
// prefetching the codes pf bytes on and their scales pf/16 bytes on.
func attnQ8Kernels() {
	TEXT("scoresQ8x16", NOSPLIT, "func(n int, q *float32, k *byte, ks *uint16, heads int, kstep int, c *float32, ldc int, pf int)")
	Pragma("noescape")
	Doc("scoresQ8x16 computes heads dot products of float32 rows of q with Q8 rows of k (see the generator).")
	{
		n := Load(Param("n"), GP64())
		q := Load(Param("q"), GP64())
		k := Load(Param("k"), GP64())
		ks := Load(Param("ks"), GP64())
		heads := Load(Param("heads"), GP64())
		kstep := Load(Param("kstep"), GP64())
		{
			// The scales the call reads, ((heads-1)·kstep+n)/16 bytes, pf/16 on.
			pf := Load(Param("pf"), GP64())
			span, at, end := GP64(), GP64(), GP64()
			MOVQ(heads, span)
			DECQ(span)
			IMULQ(kstep, span)
			ADDQ(n, span)
			SHRQ(U8(4), pf)
			SHRQ(U8(4), span)
			LEAQ(Mem{Base: ks, Index: pf, Scale: 1}, at)
			LEAQ(Mem{Base: at, Index: span, Scale: 1}, end)
			Label("pfscales")
			PREFETCHT0(Mem{Base: at})
			ADDQ(U8(64), at)
			CMPQ(at, end)
			JLT(LabelRef("pfscales"))
		}
		// Byte strides: a row of q (n4) and three; three heads' codes; a head's scales and three.
		n4, n12, k3, sstep, s3 := GP64(), GP64(), GP64(), GP64(), GP64()
		MOVQ(n, n4)
		SHLQ(U8(2), n4)
		LEAQ(Mem{Base: n4, Index: n4, Scale: 2}, n12)
		LEAQ(Mem{Base: kstep, Index: kstep, Scale: 2}, k3)
		MOVQ(kstep, sstep)
		SHRQ(U8(4), sstep)
		LEAQ(Mem{Base: sstep, Index: sstep, Scale: 2}, s3)
		c := Load(Param("c"), GP64())
		// block adds one block of 32 values of each head at the operands to its accumulator.
		block := func(acc []VecVirtual, qAt, kAt, sAt []Mem) {
			for m, a := range acc {
				d := ZMM()
				VPBROADCASTW(sAt[m], d.AsY())
				VCVTPH2PS(d.AsY(), d)
				for half := 0; half < 2; half++ {
					kv := ZMM()
					at := kAt[m]
					at.Disp += 16 * half
					VPMOVSXBD(at, kv)
					VCVTDQ2PS(kv, kv)
					VMULPS(d, kv, kv)
					at = qAt[m]
					at.Disp += 64 * half
					VFMADD231PS(at, kv, a)
				}
			}
		}
		// back moves k and ks from the end of a head's values to the start of the next
		// step heads on.
		back := func(step int) {
			t := GP64()
			SUBQ(n, k)
			MOVQ(n, t)
			SHRQ(U8(4), t)
			SUBQ(t, ks)
			for range step {
				ADDQ(kstep, k)
				ADDQ(sstep, ks)
			}
		}
		Label("quad")
		CMPQ(heads, U8(4))
		JLT(LabelRef("head"))
		{
			acc := []VecVirtual{ZMM(), ZMM(), ZMM(), ZMM()}
			for _, a := range acc {
				VPXORD(a, a, a)
			}
			left, kp := GP64(), GP64()
			MOVQ(n, left)
			LEAQ(Mem{Base: k, Index: Load(Param("pf"), GP64()), Scale: 1}, kp)
			Label("qdot")
			kAt := []Mem{{Base: k}, {Base: k, Index: kstep, Scale: 1}, {Base: k, Index: kstep, Scale: 2}, {Base: k, Index: k3, Scale: 1}}
			block(acc,
				[]Mem{{Base: q}, {Base: q, Index: n4, Scale: 1}, {Base: q, Index: n4, Scale: 2}, {Base: q, Index: n12, Scale: 1}},
				kAt,
				[]Mem{{Base: ks}, {Base: ks, Index: sstep, Scale: 1}, {Base: ks, Index: sstep, Scale: 2}, {Base: ks, Index: s3, Scale: 1}})
			// The four heads' codes pf on, a line every other pass, spread over the loop
			// as scoresF16x16's are.
			for _, at := range kAt {
				at.Base = kp
				PREFETCHT0(at)
			}
			ADDQ(U8(32), kp)
			ADDQ(U8(128), q)
			ADDQ(U8(32), k)
			ADDQ(U8(2), ks)
			SUBQ(U8(32), left)
			JNZ(LabelRef("qdot"))
			ldc := Load(Param("ldc"), GP64())
			l3 := GP64()
			LEAQ(Mem{Base: ldc, Index: ldc, Scale: 2}, l3)
			cAt := []Mem{{Base: c}, {Base: c, Index: ldc, Scale: 1}, {Base: c, Index: ldc, Scale: 2}, {Base: c, Index: l3, Scale: 1}}
			for m, a := range acc {
				VMOVSS(sum16(a), cAt[m])
			}
			LEAQ(Mem{Base: c, Index: ldc, Scale: 4}, c)
			ADDQ(n12, q) // q ended a row on: three more
			back(4)
			SUBQ(U8(4), heads)
			JMP(LabelRef("quad"))
		}
		Label("head")
		TESTQ(heads, heads)
		JZ(LabelRef("sdone"))
		{
			acc := ZMM()
			VPXORD(acc, acc, acc)
			left := GP64()
			MOVQ(n, left)
			Label("dot")
			block([]VecVirtual{acc}, []Mem{{Base: q}}, []Mem{{Base: k}}, []Mem{{Base: ks}})
			ADDQ(U8(128), q)
			ADDQ(U8(32), k)
			ADDQ(U8(2), ks)
			SUBQ(U8(32), left)
			JNZ(LabelRef("dot"))
			VMOVSS(sum16(acc), Mem{Base: c})
			ldc := Load(Param("ldc"), GP64())
			ADDQ(ldc, c)
			back(1)
			DECQ(heads)
			JMP(LabelRef("head"))
		}
		Label("sdone")
		VZEROUPPER()
		RET()
	}

	accQ8Kernel(4)
	accQ8Kernel(8)
}

// accQ8Kernel emits accQ8x{16·vecs}, which keeps 16·vecs sums of a head in registers over
// the rows, as accF16Kernel's kernels do.
func accQ8Kernel(vecs int) {
	name := fmt.Sprintf("accQ8x%d", 16*vecs)
	TEXT(name, NOSPLIT, "func(n int, p *float32, pstep int, v *byte, vs *uint16, ldv int, rows int, heads int, vstep int, out *float32, pf int)")
	Pragma("noescape")
	Doc(name + " adds p[h·pstep+j]·dequant(v[j·ldv+h·vstep+i]) to out[h·n+i] for rows rows of Q8 values j and heads h (see the generator).")
	v := Load(Param("v"), GP64())
	vs := Load(Param("vs"), GP64())
	ldv := Load(Param("ldv"), GP64())
	// heads counts down in its argument slot: registers are short.
	b, err := Param("heads").Resolve()
	if err != nil {
		panic(err)
	}
	var vv, vsv, ldvs, pf, pfs Register
	accCached(vecs, b.Addr, accSource{
		chunk: func(i Register) {
			vv, vsv = GP64(), GP64()
			LEAQ(Mem{Base: v, Index: i, Scale: 1}, vv)
			MOVQ(i, vsv)
			SHRQ(U8(4), vsv)
			ADDQ(vs, vsv)
			ldvs = GP64()
			MOVQ(ldv, ldvs)
			SHRQ(U8(4), ldvs)
			pf, pfs = Load(Param("pf"), GP64()), GP64()
			MOVQ(pf, pfs)
			SHRQ(U8(4), pfs)
		},
		row: func(pj VecVirtual, acc []VecVirtual) {
			for b := 0; b < vecs/2; b++ {
				d := ZMM()
				VPBROADCASTW(Mem{Base: vsv, Disp: 2 * b}, d.AsY())
				VCVTPH2PS(d.AsY(), d)
				for half := 0; half < 2; half++ {
					t := ZMM()
					VPMOVSXBD(Mem{Base: vv, Disp: 32*b + 16*half}, t)
					VCVTDQ2PS(t, t)
					VMULPS(d, t, t)
					VFMADD231PS(t, pj, acc[2*b+half]) // acc = pj·v + acc
				}
			}
			// This part of the row pf bytes on, and its scales pf/16 on.
			for l := 0; l < 16*vecs; l += 64 {
				PREFETCHT1(Mem{Base: vv, Index: pf, Scale: 1, Disp: l})
			}
			PREFETCHT1(Mem{Base: vsv, Index: pfs, Scale: 1})
			ADDQ(ldv, vv)
			ADDQ(ldvs, vsv)
		},
		head: func() {
			vstep := Load(Param("vstep"), GP64())
			ADDQ(vstep, v)
			SHRQ(U8(4), vstep)
			ADDQ(vstep, vs)
		},
	})
}
