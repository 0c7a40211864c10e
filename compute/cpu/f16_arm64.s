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

// FADD Vd.4S, Vn.4S, Vm.4S
#define FADD4S(d, n, m) WORD $(0x4E20D400 | ((m)<<16) | ((n)<<5) | (d))
// FADDP Vd.4S, Vn.4S, Vm.4S (pairwise: n0+n1, n2+n3, m0+m1, m2+m3)
#define FADDP4S(d, n, m) WORD $(0x6E20D400 | ((m)<<16) | ((n)<<5) | (d))
// FADDP Sd, Vn.2S (the two low lanes)
#define FADDP2S(d, n) WORD $(0x7E30D800 | ((n)<<5) | (d))

// func offsetDotsNEON(n int, o *uint16, ldo int, xs *float32, nb int, d *float32)
// d[r] += Σ_{b<nb} f16(o[r·ldo/2+b])·xs[b] for r < n, nb a multiple of 16, with the bits of
// offsetDotGo: 16 lanes as four vectors of fused multiply-adds (FMLA), lane l+8 added to
// lane l, then ((t0+t1)+(t2+t3)) + ((t4+t5)+(t6+t7)) by pairwise adds.
TEXT ·offsetDotsNEON(SB), NOSPLIT, $0-48
	MOVD n+0(FP), R0
	MOVD o+8(FP), R1
	MOVD ldo+16(FP), R2
	MOVD xs+24(FP), R3
	MOVD nb+32(FP), R4
	MOVD d+40(FP), R5

orow:
	CBZ  R0, odone
	MOVD R1, R6
	MOVD R3, R7
	MOVD R4, R8
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16

ocol:
	CBZ    R8, osum
	VLD1.P 32(R6), [V4.H8, V5.H8]
	FCVTL4S(6, 4)
	FCVTL24S(7, 4)
	FCVTL4S(16, 5)
	FCVTL24S(17, 5)
	VLD1.P 64(R7), [V18.S4, V19.S4, V20.S4, V21.S4]
	VFMLA  V18.S4, V6.S4, V0.S4
	VFMLA  V19.S4, V7.S4, V1.S4
	VFMLA  V20.S4, V16.S4, V2.S4
	VFMLA  V21.S4, V17.S4, V3.S4
	SUB    $16, R8
	B      ocol

osum:
	FADD4S(0, 0, 2)
	FADD4S(1, 1, 3)
	FADDP4S(0, 0, 0)
	FADDP4S(1, 1, 1)
	FADDP2S(0, 0)
	FADDP2S(1, 1)
	FADDS   F1, F0, F0
	FMOVS   (R5), F2
	FADDS   F2, F0, F0
	FMOVS.P F0, 4(R5)
	ADD     R2, R1, R1
	SUB     $1, R0
	B       orow

odone:
	RET
