//go:build amd64 && !purego

#include "textflag.h"

// The F16 cache conversions (f16_amd64.go), hand-written: two loops too small for asmgen,
// kept out of its generated file. AVX2 width (8 values per instruction) suffices on the
// AVX-512 set too: both loops stream memory.

DATA f16maxpos<>+0(SB)/4, $0x477fe000 // 65504.0
GLOBL f16maxpos<>(SB), RODATA|NOPTR, $4
DATA f16maxneg<>+0(SB)/4, $0xc77fe000 // -65504.0
GLOBL f16maxneg<>(SB), RODATA|NOPTR, $4

// func cvtF32F16Sat(dst *uint16, src *float32, n int)
// Clamps to ±65504 with the value as the second source of VMINPS/VMAXPS (Intel order), so
// a NaN passes through; VCVTPS2PH $0 rounds to nearest even.
TEXT ·cvtF32F16Sat(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS f16maxpos<>(SB), Y14
	VBROADCASTSS f16maxneg<>(SB), Y15
	XORQ AX, AX

loop:
	CMPQ AX, CX
	JGE  done
	VMOVUPS   (SI)(AX*4), Y0
	VMINPS    Y0, Y14, Y1
	VMAXPS    Y1, Y15, Y1
	VCVTPS2PH $0, Y1, X2
	VMOVDQU   X2, (DI)(AX*2)
	ADDQ      $8, AX
	JMP       loop

done:
	VZEROUPPER
	RET

// func cvtF16F32(dst *float32, src *uint16, n int)
TEXT ·cvtF16F32(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX

loop16:
	LEAQ 16(AX), BX
	CMPQ BX, CX
	JG   loop8
	VCVTPH2PS (SI)(AX*2), Y0
	VCVTPH2PS 16(SI)(AX*2), Y1
	VMOVUPS   Y0, (DI)(AX*4)
	VMOVUPS   Y1, 32(DI)(AX*4)
	MOVQ      BX, AX
	JMP       loop16

loop8:
	CMPQ AX, CX
	JGE  done
	VCVTPH2PS (SI)(AX*2), Y0
	VMOVUPS   Y0, (DI)(AX*4)
	ADDQ      $8, AX
	JMP       loop8

done:
	VZEROUPPER
	RET

// func cvtF16F32Rows(dst *float32, src *uint16, n, rows, lds int)
TEXT ·cvtF16F32Rows(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ rows+24(FP), DX
	MOVQ lds+32(FP), R8
	SHLQ $1, R8 // bytes between source rows

row:
	TESTQ DX, DX
	JZ    rdone
	XORQ  AX, AX

col:
	CMPQ      AX, CX
	JGE       next
	VCVTPH2PS (SI)(AX*2), Y0
	VMOVUPS   Y0, (DI)(AX*4)
	ADDQ      $8, AX
	JMP       col

next:
	LEAQ (DI)(CX*4), DI
	ADDQ R8, SI
	DECQ DX
	JMP  row

rdone:
	VZEROUPPER
	RET

