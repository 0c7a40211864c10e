//go:build amd64 && !purego

#include "textflag.h"

// func absMaxBlocksQ8(nb int, x *float32, amax *uint32)
//
// amax[b] = the largest |x| of block b (32 floats) as float32 bits, found as the integer
// maximum of the bits with the sign cleared: that orders finite values and infinities as
// the floats do, and puts any NaN above them all, so the caller can see it and take the Go
// quantizer for that block.
TEXT ·absMaxBlocksQ8(SB), NOSPLIT, $0-24
	MOVQ nb+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ amax+16(FP), DI
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z3
	TESTQ CX, CX
	JZ   amaxdone

amaxloop:
	VPANDD (SI), Z3, Z0
	VPANDD 64(SI), Z3, Z1
	VPMAXUD Z1, Z0, Z0
	VEXTRACTI64X4 $1, Z0, Y1
	VPMAXUD Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPMAXUD X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VPMAXUD X1, X0, X0
	VPSHUFD $0xb1, X0, X1
	VPMAXUD X1, X0, X0
	VMOVD X0, (DI)
	ADDQ $128, SI
	ADDQ $4, DI
	DECQ CX
	JNZ  amaxloop

amaxdone:
	VZEROUPPER
	RET

// BLOCK_ROUND multiplies the 32 floats at SI by the inverse scale at DX and rounds them half
// away from zero into int32s in Z0 and Z1, as compute.RoundHalfAway does: the float32
// product, plus ½ with its sign ((p AND sign) OR 0.5, with the sign bit in Z4 and 0.5 in
// Z5), truncated. It uses Z2, Z8 and Z9.
#define BLOCK_ROUND VBROADCASTSS (DX), Z2; VMULPS (SI), Z2, Z0; VMULPS 64(SI), Z2, Z1; VPANDD Z4, Z0, Z8; VPORD Z5, Z8, Z8; VPANDD Z4, Z1, Z9; VPORD Z5, Z9, Z9; VADDPS Z8, Z0, Z0; VADDPS Z9, Z1, Z1; VCVTTPS2DQ Z0, Z0; VCVTTPS2DQ Z1, Z1

// func codesQ8(nb int, x *float32, id *float32, q *byte)
//
// q[32b+i] = clamp(RoundHalfAway(x[32b+i]·id[b]), ±127) as compute.QuantizeQ8 computes it:
// the float32 product, plus ½ with the product's sign, truncated (an out-of-range value
// truncates to the smallest int32, as Go's conversion does here, and clamps to -127).
TEXT ·codesQ8(SB), NOSPLIT, $0-32
	MOVQ nb+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ id+16(FP), DX
	MOVQ q+24(FP), DI
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z4 // sign bit
	MOVL $0x3f000000, AX
	VPBROADCASTD AX, Z5 // 0.5
	MOVL $127, AX
	VPBROADCASTD AX, Z6
	MOVL $-127, AX
	VPBROADCASTD AX, Z7
	TESTQ CX, CX
	JZ   codesdone

codesloop:
	BLOCK_ROUND
	VPMINSD Z6, Z0, Z0
	VPMINSD Z6, Z1, Z1
	VPMAXSD Z7, Z0, Z0
	VPMAXSD Z7, Z1, Z1
	VPMOVDB Z0, (DI)
	VPMOVDB Z1, 16(DI)
	ADDQ $128, SI
	ADDQ $4, DX
	ADDQ $32, DI
	DECQ CX
	JNZ  codesloop

codesdone:
	VZEROUPPER
	RET

// func cvtBF16F32(n int, src *uint16, dst *float32)
//
// dst[i] = the float32 of BF16 src[i] (its bits shifted up 16), n a multiple of 16.
TEXT ·cvtBF16F32(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ dst+16(FP), DI
	SHRQ $4, CX
	JZ   bf16done

bf16loop:
	VPMOVZXWD (SI), Z0
	VPSLLD $16, Z0, Z0
	VMOVDQU32 Z0, (DI)
	ADDQ $32, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  bf16loop

bf16done:
	VZEROUPPER
	RET

// The dword index of value 0 of each of 16 consecutive blocks of 32 floats.
DATA q4lanes<>+0(SB)/4, $0
DATA q4lanes<>+4(SB)/4, $32
DATA q4lanes<>+8(SB)/4, $64
DATA q4lanes<>+12(SB)/4, $96
DATA q4lanes<>+16(SB)/4, $128
DATA q4lanes<>+20(SB)/4, $160
DATA q4lanes<>+24(SB)/4, $192
DATA q4lanes<>+28(SB)/4, $224
DATA q4lanes<>+32(SB)/4, $256
DATA q4lanes<>+36(SB)/4, $288
DATA q4lanes<>+40(SB)/4, $320
DATA q4lanes<>+44(SB)/4, $352
DATA q4lanes<>+48(SB)/4, $384
DATA q4lanes<>+52(SB)/4, $416
DATA q4lanes<>+56(SB)/4, $448
DATA q4lanes<>+60(SB)/4, $480
GLOBL q4lanes<>(SB), RODATA|NOPTR, $64

// Q4_CODE rounds v·id (Z in, a register) half away from zero, truncates and clamps it to
// −8..7 as compute.QuantizeQ4 does, leaving the code as a float32 in c. It uses Z20.
#define Q4_CODE(v, id, c) VMULPS id, v, c; VPANDD Z29, c, Z20; VPORD Z28, Z20, Z20; VADDPS Z20, c, c; VCVTTPS2DQ c, c; VPMINSD Z27, c, c; VPMAXSD Z26, c, c; VCVTDQ2PS c, c

// Q4_ERR sums in e, value by value in order, the squared error of the 16 blocks (a lane
// each) of the transposed scratch at DI stored with scales d and inverses id: compute's
// q4Error. It uses BX, DX, Z20–Z22.
#define Q4_ERR(d, id, e, label) VPXORD e, e, e; MOVQ DI, DX; MOVQ $32, BX; \
label: VMOVUPS (DX), Z21; Q4_CODE(Z21, id, Z22); VMULPS Z22, d, Z22; VSUBPS Z22, Z21, Z21; VMULPS Z21, Z21, Z21; VADDPS Z21, e, e; ADDQ $64, DX; DECQ BX; JNZ label

// func scalesQ4(ng int, x *float32, xt *float32, best *float32, amax *uint32)
//
// For each of ng groups of 16 blocks of 32 floats, best[b] = the scale compute.QuantizeQ4
// picks for block b before rounding it to F16, and amax[b] = the bits of its largest |x|
// (as absMaxBlocksQ8 finds it). Lane l of every vector is block l of the group: the values
// are gathered into xt (512 floats, [value][block]) once, so each block's sums run value
// by value in QuantizeQ4's order and round as it does. The caller keeps only blocks whose
// amax is a normal number well inside float32's range; for the others (zeros, infinities,
// NaNs, extremes) these lanes hold whatever the arithmetic gave.
TEXT ·scalesQ4(SB), NOSPLIT, $0-40
	MOVQ ng+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ xt+16(FP), DI
	MOVQ best+24(FP), R8
	MOVQ amax+32(FP), R9
	VMOVDQU32 q4lanes<>(SB), Z31
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z30
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z29
	MOVL $0x3f000000, AX // 0.5
	VPBROADCASTD AX, Z28
	MOVL $7, AX
	VPBROADCASTD AX, Z27
	MOVL $-8, AX
	VPBROADCASTD AX, Z26
	MOVL $0xc1000000, AX // -8.0
	VPBROADCASTD AX, Z25
	MOVL $0x3f800000, AX // 1.0
	VPBROADCASTD AX, Z24
	VPXORD Z23, Z23, Z23
	TESTQ CX, CX
	JZ   q4done

q4group:
	// amax and m, the first value of largest magnitude, as QuantizeQ4's strict comparison
	// keeps it: compared as sign-cleared bits, which order like the floats.
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	MOVQ SI, R10
	MOVQ DI, DX
	MOVQ $32, BX

q4gather:
	KXNORW K1, K1, K1
	VGATHERDPS (R10)(Z31*4), K1, Z2
	VMOVUPS Z2, (DX)
	VPANDD Z30, Z2, Z3
	VPCMPUD $6, Z0, Z3, K2
	VMOVDQA32 Z3, K2, Z0
	VMOVDQA32 Z2, K2, Z1
	ADDQ $4, R10
	ADDQ $64, DX
	DECQ BX
	JNZ  q4gather
	VMOVDQU32 Z0, (R9)

	// The first candidate, m/−8, and its error.
	VDIVPS Z25, Z1, Z4
	VDIVPS Z4, Z24, Z5
	Q4_ERR(Z4, Z5, Z6, q4err1)

	// The least-squares scale for the codes of −8/m: Σxq/Σq².
	VDIVPS Z1, Z25, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	MOVQ DI, DX
	MOVQ $32, BX

q4sums:
	VMOVUPS (DX), Z21
	Q4_CODE(Z21, Z7, Z22)
	VMULPS Z22, Z21, Z21
	VADDPS Z21, Z8, Z8
	VMULPS Z22, Z22, Z22
	VADDPS Z22, Z9, Z9
	ADDQ $64, DX
	DECQ BX
	JNZ  q4sums

	// It replaces m/−8 where Σq² ≠ 0, it is not 0 and its error is smaller.
	VDIVPS Z9, Z8, Z10
	VDIVPS Z10, Z24, Z11
	Q4_ERR(Z10, Z11, Z12, q4err2)
	VCMPPS $4, Z23, Z9, K3
	VCMPPS $4, Z23, Z10, K3, K4
	VCMPPS $1, Z6, Z12, K4, K5
	VMOVAPS Z10, K5, Z4
	VMOVUPS Z4, (R8)

	ADDQ $2048, SI
	ADDQ $64, R8
	ADDQ $64, R9
	DECQ CX
	JNZ  q4group

q4done:
	VZEROUPPER
	RET

// func codesQ4(nb int, x *float32, id *float32, q *byte)
//
// q[16b+j] = c(x[32b+j]) | c(x[32b+16+j])<<4 with c(v) = clamp(RoundHalfAway(v·id[b])+8,
// 0, 15), as compute.QuantizeQ4 packs them (an out-of-range product truncates to the
// smallest int32 and clamps to 0, as Go's conversion does here).
TEXT ·codesQ4(SB), NOSPLIT, $0-32
	MOVQ nb+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ id+16(FP), DX
	MOVQ q+24(FP), DI
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z4 // sign bit
	MOVL $0x3f000000, AX
	VPBROADCASTD AX, Z5 // 0.5
	MOVL $8, AX
	VPBROADCASTD AX, Z6
	MOVL $15, AX
	VPBROADCASTD AX, Z7
	VPXORD Z10, Z10, Z10
	TESTQ CX, CX
	JZ   codes4done

codes4loop:
	BLOCK_ROUND
	VPADDD Z6, Z0, Z0
	VPADDD Z6, Z1, Z1
	VPMAXSD Z10, Z0, Z0
	VPMAXSD Z10, Z1, Z1
	VPMINSD Z7, Z0, Z0
	VPMINSD Z7, Z1, Z1
	VPSLLD $4, Z1, Z1
	VPORD Z1, Z0, Z0
	VPMOVDB Z0, (DI)
	ADDQ $128, SI
	ADDQ $4, DX
	ADDQ $16, DI
	DECQ CX
	JNZ  codes4loop

codes4done:
	VZEROUPPER
	RET
