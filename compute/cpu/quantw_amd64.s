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
	VBROADCASTSS (DX), Z2
	VMULPS (SI), Z2, Z0
	VMULPS 64(SI), Z2, Z1
	// ½ with the product's sign: (p AND sign) OR 0.5.
	VPANDD Z4, Z0, Z8
	VPORD Z5, Z8, Z8
	VPANDD Z4, Z1, Z9
	VPORD Z5, Z9, Z9
	VADDPS Z8, Z0, Z0
	VADDPS Z9, Z1, Z1
	VCVTTPS2DQ Z0, Z0
	VCVTTPS2DQ Z1, Z1
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
