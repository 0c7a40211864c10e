//go:build arm64 && !purego

#include "textflag.h"

// The F16 cache's widening on arm64 (f16_arm64.go): FCVTL/FCVTL2, exact, emitted as WORDs
// since Go's assembler lacks them (encodings as in kernels_arm64.s).

// FCVTL Vd.4S, Vn.4H (the low four F16 values)
#define FCVTL4S(d, n) WORD $(0x0E217800 | ((n)<<5) | (d))
// FCVTL2 Vd.4S, Vn.8H (the high four)
#define FCVTL24S(d, n) WORD $(0x4E217800 | ((n)<<5) | (d))

// func cvtF16F32(dst *float32, src *uint16, n int)
TEXT ·cvtF16F32(SB), NOSPLIT, $0-24
	MOVD dst+0(FP), R0
	MOVD src+8(FP), R1
	MOVD n+16(FP), R2

loop:
	CBZ    R2, done
	VLD1.P 16(R1), [V0.H8]
	FCVTL4S(1, 0)
	FCVTL24S(2, 0)
	VST1.P [V1.S4, V2.S4], 32(R0)
	SUB    $8, R2
	B      loop

done:
	RET

// func cvtF16F32Rows(dst *float32, src *uint16, n, rows, lds int)
TEXT ·cvtF16F32Rows(SB), NOSPLIT, $0-40
	MOVD dst+0(FP), R0
	MOVD src+8(FP), R1
	MOVD n+16(FP), R2
	MOVD rows+24(FP), R3
	MOVD lds+32(FP), R4
	LSL  $1, R4 // bytes between source rows

row:
	CBZ  R3, rdone
	MOVD R1, R5
	MOVD R2, R6

col:
	CBZ    R6, next
	VLD1.P 16(R5), [V0.H8]
	FCVTL4S(1, 0)
	FCVTL24S(2, 0)
	VST1.P [V1.S4, V2.S4], 32(R0)
	SUB    $8, R6
	B      col

next:
	ADD R4, R1
	SUB $1, R3
	B   row

rdone:
	RET
