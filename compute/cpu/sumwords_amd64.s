//go:build amd64 && !purego

#include "textflag.h"

// func sumWords512(p *uint64, n int) uint64
//
// The sum mod 2^64 of n words (n a multiple of 32), four 512-bit accumulators, and a
// prefetch of two lines once a page.
TEXT ·sumWords512(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	SHRQ $5, CX
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	TESTQ CX, CX
	JZ   sum512done

sum512loop:
	// Once a page (SI's bits 8 to 11 clear), start the hardware prefetchers' stream through
	// the next page (see SumWords).
	TESTQ      $0xf00, SI
	JNZ        sum512load
	PREFETCHT1 4096(SI)
	PREFETCHT1 4160(SI)

sum512load:
	VPADDQ (SI), Z0, Z0
	VPADDQ 64(SI), Z1, Z1
	VPADDQ 128(SI), Z2, Z2
	VPADDQ 192(SI), Z3, Z3
	ADDQ $256, SI
	DECQ CX
	JNZ  sum512loop

sum512done:
	VPADDQ Z1, Z0, Z0
	VPADDQ Z3, Z2, Z2
	VPADDQ Z2, Z0, Z0
	VEXTRACTI64X4 $1, Z0, Y1
	VPADDQ Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDQ X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VPADDQ X1, X0, X0
	VMOVQ X0, AX
	MOVQ AX, ret+16(FP)
	VZEROUPPER
	RET

// func sumWords256(p *uint64, n int) uint64
//
// sumWords512 with 256-bit vectors (AVX2), n a multiple of 16.
TEXT ·sumWords256(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	SHRQ $4, CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	TESTQ CX, CX
	JZ   sum256done

sum256loop:
	TESTQ      $0xf80, SI
	JNZ        sum256load
	PREFETCHT1 4096(SI)
	PREFETCHT1 4160(SI)

sum256load:
	VPADDQ (SI), Y0, Y0
	VPADDQ 32(SI), Y1, Y1
	VPADDQ 64(SI), Y2, Y2
	VPADDQ 96(SI), Y3, Y3
	ADDQ $128, SI
	DECQ CX
	JNZ  sum256loop

sum256done:
	VPADDQ Y1, Y0, Y0
	VPADDQ Y3, Y2, Y2
	VPADDQ Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDQ X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VPADDQ X1, X0, X0
	VMOVQ X0, AX
	MOVQ AX, ret+16(FP)
	VZEROUPPER
	RET
