package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Offsets into q4mconsts.
const (
	q4mC15  = 0  // 15.0
	q4mC8f  = 4  // 8.0
	q4mHalf = 8  // 0.5
	q4mOne  = 12 // 1.0
	q4mSign = 16 // the float32 sign bit
	q4mExp  = 20 // the float32 exponent bits
	q4mI8   = 24 // 8
	q4mI15  = 28 // 15
	q4mC32d = 32 // 32.0 as a float64
	q4mZero = 40 // 0.0 as a float64
)

// quantQ4MKernel emits quantQ4M16: compute.QuantizeQ4M for 16 blocks at once, lane l of
// every vector holding block l, with the reference's steps lane by lane: the range's scale
// and offset rounded to F16; the codes and the squared error in order of values; then up to
// three least-squares refits in float64 (each product rounded on its own, the sums in order),
// each kept in a lane only where it lowers that lane's error, a lane stopping at its first
// refit that does not (or whose determinant is zero). The blocks come transposed (value i of
// the 16 at xt + 64i); the codes go out the same way (int32, codes + 64i), tmp holding a
// refit's codes before they are kept. It writes each lane's F16-rounded scale and offset as
// float32 (dout, oout) and returns the mask of lanes holding a value that is not finite,
// which the caller quantizes in Go.
func quantQ4MKernel() {
	c := GLOBL("q4mconsts", RODATA|NOPTR)
	DATA(q4mC15, U32(math.Float32bits(15)))
	DATA(q4mC8f, U32(math.Float32bits(8)))
	DATA(q4mHalf, U32(math.Float32bits(0.5)))
	DATA(q4mOne, U32(math.Float32bits(1)))
	DATA(q4mSign, U32(0x80000000))
	DATA(q4mExp, U32(0x7f800000))
	DATA(q4mI8, U32(8))
	DATA(q4mI15, U32(15))
	DATA(q4mC32d, U64(math.Float64bits(32)))
	DATA(q4mZero, U64(0))

	TEXT("quantQ4M16", NOSPLIT, "func(xt *float32, codes *int32, tmp *int32, dout *float32, oout *float32) uint16")
	Pragma("noescape")
	Doc("quantQ4M16 is compute.QuantizeQ4M for 16 transposed blocks (see the generator).")
	pxt := Load(Param("xt"), GP64())
	pc := Load(Param("codes"), GP64())
	pt := Load(Param("tmp"), GP64())
	x := func(i int) Mem { return Mem{Base: pxt, Disp: 64 * i} }
	bc := func(off int) VecVirtual {
		z := ZMM()
		VBROADCASTSS(c.Offset(off), z)
		return z
	}
	bcd := func(off int) VecVirtual {
		z := ZMM()
		VBROADCASTSD(c.Offset(off), z)
		return z
	}
	zero := ZMM()
	VPXORD(zero, zero, zero)
	// halves splits 16 float32 or int32 lanes into two vectors of 8 float64.
	halvesPS := func(v VecVirtual) (VecVirtual, VecVirtual) {
		a, b, y := ZMM(), ZMM(), YMM()
		VCVTPS2PD(v.AsY(), a)
		VEXTRACTF64X4(U8(1), v, y)
		VCVTPS2PD(y, b)
		return a, b
	}
	halvesDQ := func(v VecVirtual) (VecVirtual, VecVirtual) {
		a, b, y := ZMM(), ZMM(), YMM()
		VCVTDQ2PD(v.AsY(), a)
		VEXTRACTI64X4(U8(1), v, y)
		VCVTDQ2PD(y, b)
		return a, b
	}
	// join rounds two vectors of 8 float64 to float32 (to nearest even) into one of 16.
	join := func(a, b VecVirtual) VecVirtual {
		z, y := ZMM(), YMM()
		VCVTPD2PS(a, z.AsY())
		VCVTPD2PS(b, y)
		VINSERTF64X4(U8(1), y, z, z)
		return z
	}
	// f16 rounds every lane of v to the nearest F16 value, in place.
	f16 := func(v VecVirtual) {
		h := YMM()
		VCVTPS2PH(U8(0), v, h)
		VCVTPH2PS(h, v)
	}

	// The range, the lanes with a value that is not finite, and Σx in float64 in order.
	lo, hi := ZMM(), ZMM()
	VMOVUPS(x(0), lo)
	VMOVUPS(lo, hi)
	expBits := bc(q4mExp)
	special := K()
	KXORW(special, special, special)
	sxa, sxb := ZMM(), ZMM()
	VXORPD(sxa, sxa, sxa)
	VXORPD(sxb, sxb, sxb)
	for i := range 32 {
		v := ZMM()
		VMOVUPS(x(i), v)
		VMINPS(v, lo, lo)
		VMAXPS(v, hi, hi)
		t, k := ZMM(), K()
		VPANDD(expBits, v, t)
		VPCMPEQD(expBits, t, k)
		KORW(k, special, special)
		a, b := halvesPS(v)
		VADDPD(a, sxa, sxa)
		VADDPD(b, sxb, sxb)
	}
	d, o := ZMM(), ZMM()
	VSUBPS(lo, hi, d)
	VDIVPS(bc(q4mC15), d, d)
	f16(d)
	VMULPS(bc(q4mC8f), d, o)
	VADDPS(o, lo, o)
	f16(o)

	sign, half, one, i8, i15 := bc(q4mSign), bc(q4mHalf), bc(q4mOne), bc(q4mI8), bc(q4mI15)
	// codesErr writes the codes of every lane for scale dd and offset oo to dst and returns
	// the lanes' squared errors.
	codesErr := func(dd, oo VecVirtual, dst Register) VecVirtual {
		id, nz := ZMM(), K()
		VDIVPS(dd, one, id)
		VCMPPS(U8(4), zero, dd, nz) // d != 0
		VMOVAPS_Z(id, nz, id)
		e := ZMM()
		VXORPS(e, e, e)
		for i := range 32 {
			v, t, s := ZMM(), ZMM(), ZMM()
			VMOVUPS(x(i), v)
			VSUBPS(oo, v, t)
			VMULPS(id, t, t)
			VANDPS(sign, t, s)
			VORPS(half, s, s)
			VADDPS(s, t, t)
			VCVTTPS2DQ(t, t)
			VPADDD(i8, t, t)
			VPMAXSD(zero, t, t)
			VPMINSD(i15, t, t)
			VMOVDQU32(t, Mem{Base: dst, Disp: 64 * i})
			r := ZMM()
			VPSUBD(i8, t, r)
			VCVTDQ2PS(r, r)
			VMULPS(dd, r, r)
			VADDPS(oo, r, r)
			VSUBPS(r, v, r)
			VMULPS(r, r, r)
			VADDPS(r, e, e)
		}
		return e
	}
	best := codesErr(d, o, pc)
	c32, zd := bcd(q4mC32d), bcd(q4mZero)
	active := K()
	KXNORW(active, active, active)
	for range 3 {
		ik, ikk := ZMM(), ZMM()
		VPXORD(ik, ik, ik)
		VPXORD(ikk, ikk, ikk)
		sxka, sxkb := ZMM(), ZMM()
		VXORPD(sxka, sxka, sxka)
		VXORPD(sxkb, sxkb, sxkb)
		for i := range 32 {
			k, kk, v := ZMM(), ZMM(), ZMM()
			VMOVDQU32(Mem{Base: pc, Disp: 64 * i}, k)
			VPSUBD(i8, k, k)
			VPADDD(k, ik, ik)
			VPMULLD(k, k, kk)
			VPADDD(kk, ikk, ikk)
			VMOVUPS(x(i), v)
			va, vb := halvesPS(v)
			ka, kb := halvesDQ(k)
			VMULPD(ka, va, va)
			VMULPD(kb, vb, vb)
			VADDPD(va, sxka, sxka)
			VADDPD(vb, sxkb, sxkb)
		}
		ska, skb := halvesDQ(ik)
		skka, skkb := halvesDQ(ikk)
		// den = 32·skk − sk·sk; the new scale (32·sxk − sk·sx)/den and offset
		// (sx − nd·sk)/32, each rounded to float32 and then F16.
		den := func(skk, sk VecVirtual) VecVirtual {
			a, b := ZMM(), ZMM()
			VMULPD(c32, skk, a)
			VMULPD(sk, sk, b)
			VSUBPD(b, a, a)
			return a
		}
		dena, denb := den(skka, ska), den(skkb, skb)
		num := func(sxk, sk, sx VecVirtual) VecVirtual {
			a, b := ZMM(), ZMM()
			VMULPD(c32, sxk, a)
			VMULPD(sx, sk, b)
			VSUBPD(b, a, a)
			return a
		}
		qa, qb := num(sxka, ska, sxa), num(sxkb, skb, sxb)
		VDIVPD(dena, qa, qa)
		VDIVPD(denb, qb, qb)
		nd := join(qa, qb)
		f16(nd)
		nda, ndb := halvesPS(nd)
		off := func(nd64, sk, sx VecVirtual) VecVirtual {
			a := ZMM()
			VMULPD(sk, nd64, a)
			VSUBPD(a, sx, a)
			VDIVPD(c32, a, a)
			return a
		}
		no := join(off(nda, ska, sxa), off(ndb, skb, sxb))
		f16(no)
		// The lanes whose determinant is not zero go on.
		ka, kb, nzden := K(), K(), K()
		VCMPPD(U8(4), zd, dena, ka)
		VCMPPD(U8(4), zd, denb, kb)
		KUNPCKBW(ka, kb, nzden)
		KANDW(nzden, active, active)
		e := codesErr(nd, no, pt)
		lt := K()
		VCMPPS(U8(1), best, e, lt) // e < best
		KANDW(lt, active, active)
		VMOVAPS(nd, active, d)
		VMOVAPS(no, active, o)
		VMOVAPS(e, active, best)
		for i := range 32 {
			t := ZMM()
			VMOVDQU32(Mem{Base: pt, Disp: 64 * i}, t)
			VMOVDQU32(t, active, Mem{Base: pc, Disp: 64 * i})
		}
	}
	pd := Load(Param("dout"), GP64())
	po := Load(Param("oout"), GP64())
	VMOVUPS(d, Mem{Base: pd})
	VMOVUPS(o, Mem{Base: po})
	r := GP32()
	KMOVW(special, r)
	Store(r.As16(), ReturnIndex(0))
	VZEROUPPER()
	RET()
}
