//go:build arm64 && !purego

#include "textflag.h"

// NEON kernels for arm64 (Go declarations and the tile loops in simd_arm64.go; the order of
// every sum is in doc.go). Hand-written: twenty small functions that share their bodies
// through the macros below did not justify a generator, and Go's arm64 assembler lacks
// many of the instructions they need (vector FADD, FMUL, FDIV, FMIN, SCVTF, FCVTL, ZIP of
// 64-bit lanes, SHLL, SDOT, SMULL, SADALP, …), which the macros emit as WORDs, each with its
// mnemonic (the encodings were checked against clang's assembler). Register numbers in the
// WORD macros are plain integers, in the ARM operand order (destination first).

// FADD Vd.4S, Vn.4S, Vm.4S
#define FADD4S(d, n, m) WORD $(0x4E20D400 | ((m)<<16) | ((n)<<5) | (d))
// FMUL Vd.4S, Vn.4S, Vm.4S
#define FMUL4S(d, n, m) WORD $(0x6E20DC00 | ((m)<<16) | ((n)<<5) | (d))
// ZIP1 Vd.4S, Vn.4S, Vm.4S
#define ZIP1S(d, n, m) WORD $(0x4E803800 | ((m)<<16) | ((n)<<5) | (d))
// ZIP2 Vd.4S, Vn.4S, Vm.4S
#define ZIP2S(d, n, m) WORD $(0x4E807800 | ((m)<<16) | ((n)<<5) | (d))
// ZIP1 Vd.2D, Vn.2D, Vm.2D
#define ZIP1D(d, n, m) WORD $(0x4EC03800 | ((m)<<16) | ((n)<<5) | (d))
// ZIP2 Vd.2D, Vn.2D, Vm.2D
#define ZIP2D(d, n, m) WORD $(0x4EC07800 | ((m)<<16) | ((n)<<5) | (d))
// SHLL Vd.4S, Vn.4H, #16 (the low four BF16 values of Vn widened exactly)
#define SHLL16(d, n) WORD $(0x2E613800 | ((n)<<5) | (d))
// SHLL2 Vd.4S, Vn.8H, #16 (the high four)
#define SHLL216(d, n) WORD $(0x6E613800 | ((n)<<5) | (d))
// SCVTF Vd.4S, Vn.4S
#define SCVTF4S(d, n) WORD $(0x4E21D800 | ((n)<<5) | (d))
// FCVTL Vd.4S, Vn.4H (F16 to F32, exact)
#define FCVTL4S(d, n) WORD $(0x0E217800 | ((n)<<5) | (d))
// SDOT Vd.4S, Vn.16B, Vm.16B (ARMv8.2 dotprod)
#define SDOT4S(d, n, m) WORD $(0x4E809400 | ((m)<<16) | ((n)<<5) | (d))
// SMULL Vd.8H, Vn.8B, Vm.8B
#define SMULL8H(d, n, m) WORD $(0x0E20C000 | ((m)<<16) | ((n)<<5) | (d))
// SMULL2 Vd.8H, Vn.16B, Vm.16B
#define SMULL28H(d, n, m) WORD $(0x4E20C000 | ((m)<<16) | ((n)<<5) | (d))
// SADALP Vd.4S, Vn.8H
#define SADALP4S(d, n) WORD $(0x4E606800 | ((n)<<5) | (d))

// ---------------------------------------------------------------------------------------
// Float tiles. Arguments: k int, a *float32, lda int, b0, b1, b2, b3 (four weight rows),
// c *float32, ldc int, acc bool, ta *float32, tb (the last k%8 values of each a row and b
// row, zero-padded to 8, rows 8 apart; nil when k%8 == 0).
//
// Row r of a, column j of b: lanes 0-3 in V(8+8r+2j), lanes 4-7 in V(9+8r+2j), so lane l
// sums the products of k ≡ l (mod 8) with fused multiply-adds. a row r is in V(2r), V(2r+1);
// the b row being used in V6, V7.

// The shared prologue: R0 = k/8, R13 = k%8, R1-R3 = rows of a, R4-R7 = b rows, R8 = c,
// R9 = ldc in bytes, V8-V31 cleared, V27.. are cleared even when unused (cheap).
#define PROLOGUE \
	MOVD k+0(FP), R0; \
	AND $7, R0, R13; \
	LSR $3, R0, R0; \
	MOVD a+8(FP), R1; \
	MOVD lda+16(FP), R9; \
	LSL $2, R9, R9; \
	ADD R9, R1, R2; \
	ADD R9, R2, R3; \
	MOVD b0+24(FP), R4; \
	MOVD b1+32(FP), R5; \
	MOVD b2+40(FP), R6; \
	MOVD b3+48(FP), R7; \
	MOVD c+56(FP), R8; \
	MOVD ldc+64(FP), R9; \
	LSL $2, R9, R9; \
	VEOR V8.B16, V8.B16, V8.B16; \
	VEOR V9.B16, V9.B16, V9.B16; \
	VEOR V10.B16, V10.B16, V10.B16; \
	VEOR V11.B16, V11.B16, V11.B16; \
	VEOR V12.B16, V12.B16, V12.B16; \
	VEOR V13.B16, V13.B16, V13.B16; \
	VEOR V14.B16, V14.B16, V14.B16; \
	VEOR V15.B16, V15.B16, V15.B16; \
	VEOR V16.B16, V16.B16, V16.B16; \
	VEOR V17.B16, V17.B16, V17.B16; \
	VEOR V18.B16, V18.B16, V18.B16; \
	VEOR V19.B16, V19.B16, V19.B16; \
	VEOR V20.B16, V20.B16, V20.B16; \
	VEOR V21.B16, V21.B16, V21.B16; \
	VEOR V22.B16, V22.B16, V22.B16; \
	VEOR V23.B16, V23.B16, V23.B16; \
	VEOR V24.B16, V24.B16, V24.B16; \
	VEOR V25.B16, V25.B16, V25.B16; \
	VEOR V26.B16, V26.B16, V26.B16; \
	VEOR V27.B16, V27.B16, V27.B16; \
	VEOR V28.B16, V28.B16, V28.B16; \
	VEOR V29.B16, V29.B16, V29.B16; \
	VEOR V30.B16, V30.B16, V30.B16; \
	VEOR V31.B16, V31.B16, V31.B16

// TAILPTRS points R1-R7 at the zero-padded tails (float rows of a 32 bytes apart; b rows
// bstride bytes apart) for one more step.
#define TAILPTRS(bstride) \
	MOVD ta+80(FP), R1; \
	ADD $32, R1, R2; \
	ADD $64, R1, R3; \
	MOVD tb+88(FP), R4; \
	ADD $(bstride), R4, R5; \
	ADD $(2*(bstride)), R4, R6; \
	ADD $(3*(bstride)), R4, R7

// LOADA1..3 load eight floats of rows 0..r-1 of a.
#define LOADA1 \
	VLD1.P 32(R1), [V0.S4, V1.S4]
#define LOADA2 \
	LOADA1; \
	VLD1.P 32(R2), [V2.S4, V3.S4]
#define LOADA3 \
	LOADA2; \
	VLD1.P 32(R3), [V4.S4, V5.S4]

// LOADB32 loads eight floats of a b row into V6 (k 0-3) and V7 (k 4-7); LOADB16 loads eight
// BF16 values and widens them exactly into the same registers.
#define LOADB32(rb) \
	VLD1.P 32(rb), [V6.S4, V7.S4]
#define LOADB16(rb) \
	VLD1.P 16(rb), [V7.H8]; \
	SHLL16(6, 7); \
	SHLL216(7, 7)

// FMAROW adds row r's products with the b row in V6, V7 to the accumulators lo, hi.
#define FMAROW(alo, ahi, lo, hi) \
	VFMLA V6.S4, alo.S4, lo.S4; \
	VFMLA V7.S4, ahi.S4, hi.S4

// STEPn: eight values of k for an n×4 tile; LOADB is LOADB32 or LOADB16.
#define STEP1(LOADB) \
	LOADA1; \
	LOADB(R4); FMAROW(V0, V1, V8, V9); \
	LOADB(R5); FMAROW(V0, V1, V10, V11); \
	LOADB(R6); FMAROW(V0, V1, V12, V13); \
	LOADB(R7); FMAROW(V0, V1, V14, V15)
#define STEP2(LOADB) \
	LOADA2; \
	LOADB(R4); FMAROW(V0, V1, V8, V9); FMAROW(V2, V3, V16, V17); \
	LOADB(R5); FMAROW(V0, V1, V10, V11); FMAROW(V2, V3, V18, V19); \
	LOADB(R6); FMAROW(V0, V1, V12, V13); FMAROW(V2, V3, V20, V21); \
	LOADB(R7); FMAROW(V0, V1, V14, V15); FMAROW(V2, V3, V22, V23)
#define STEP3(LOADB) \
	LOADA3; \
	LOADB(R4); FMAROW(V0, V1, V8, V9); FMAROW(V2, V3, V16, V17); FMAROW(V4, V5, V24, V25); \
	LOADB(R5); FMAROW(V0, V1, V10, V11); FMAROW(V2, V3, V18, V19); FMAROW(V4, V5, V26, V27); \
	LOADB(R6); FMAROW(V0, V1, V12, V13); FMAROW(V2, V3, V20, V21); FMAROW(V4, V5, V28, V29); \
	LOADB(R7); FMAROW(V0, V1, V14, V15); FMAROW(V2, V3, V22, V23); FMAROW(V4, V5, V30, V31)

// REDUCE adds the eight lanes of each of the four dot products of a row (accumulators
// base..base+7) as ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), adds the result to c when acc
// (V7 is the mask: all ones when acc, else zero; masked c is +0, and +0 + s == s for
// every s a lane sum can be, none being -0), stores the four floats and moves R8 to the
// next row of c. Clobbers V0-V6.
#define REDUCE(base) \
	FADD4S(0, base, base+1); \
	FADD4S(1, base+2, base+3); \
	FADD4S(2, base+4, base+5); \
	FADD4S(3, base+6, base+7); \
	ZIP1S(4, 0, 1); \
	ZIP2S(5, 0, 1); \
	FADD4S(4, 4, 5); \
	ZIP1S(5, 2, 3); \
	ZIP2S(6, 2, 3); \
	FADD4S(5, 5, 6); \
	ZIP1D(0, 4, 5); \
	ZIP2D(1, 4, 5); \
	FADD4S(0, 0, 1); \
	VLD1 (R8), [V1.S4]; \
	VAND V7.B16, V1.B16, V1.B16; \
	FADD4S(0, 1, 0); \
	VST1 [V0.S4], (R8); \
	ADD R9, R8, R8

// ACCMASK sets V7 to all ones when acc, else to zero.
#define ACCMASK \
	MOVBU acc+72(FP), R10; \
	NEG R10, R10; \
	VDUP R10, V7.S4

// TILE is the body of a rows×4 kernel: STEP is STEP1..3, LOADB LOADB32 or LOADB16, bstride
// the tail buffer's row stride for b.
#define TILE(STEP, LOADB, bstride) \
	PROLOGUE; \
	CBZ R0, tail; \
loop: \
	STEP(LOADB); \
	SUBS $1, R0, R0; \
	BNE loop; \
tail: \
	CBZ R13, reduce; \
	TAILPTRS(bstride); \
	STEP(LOADB); \
reduce: \
	ACCMASK

// ---------------------------------------------------------------------------------------
// int8 block dot products of one input row against four weight rows (quant.go's dotQ8 and
// dotQ4, four columns at once). Arguments: nb int, x *int8, xd *float32, w0..w3 *byte (code
// rows), s0..s3 *uint16 (F16 scale rows), c *[4]float32. Per block b and column j the exact
// integer dot product acc is converted to float32 and s_j += float32(acc)·(xd_b·wd_jb) is
// rounded step by step (FMUL, FMUL, FADD; never fused), in order of b: the bits of the Go
// kernels. V24 holds the four sums, V2 the broadcast xd_b, V3 the four scales.

#define QPROLOGUE \
	MOVD nb+0(FP), R0; \
	MOVD x+8(FP), R1; \
	MOVD xd+16(FP), R2; \
	MOVD w0+24(FP), R4; \
	MOVD w1+32(FP), R5; \
	MOVD w2+40(FP), R6; \
	MOVD w3+48(FP), R7; \
	MOVD s0+56(FP), R10; \
	MOVD s1+64(FP), R11; \
	MOVD s2+72(FP), R12; \
	MOVD s3+80(FP), R13; \
	VEOR V24.B16, V24.B16, V24.B16; \
	VMOVI $15, V30.B16; \
	VMOVI $8, V31.B16

// QSCALES loads xd_b (broadcast, V2) and the four F16 scales of block b (widened, V3), and
// sets V3 = wd·xd.
#define QSCALES \
	VLD1R.P 4(R2), [V2.S4]; \
	MOVHU.P 2(R10), R14; \
	VMOV R14, V3.H[0]; \
	MOVHU.P 2(R11), R14; \
	VMOV R14, V3.H[1]; \
	MOVHU.P 2(R12), R14; \
	VMOV R14, V3.H[2]; \
	MOVHU.P 2(R13), R14; \
	VMOV R14, V3.H[3]; \
	FCVTL4S(3, 3); \
	FMUL4S(3, 3, 2)

// QW8 loads the 32 codes of a Q8 block of row rw into V4 (codes 0-15) and V5 (16-31).
#define QW8(rw) \
	VLD1.P 32(rw), [V4.B16, V5.B16]

// QW4 loads the 16 bytes of a Q4 block of row rw: low nibbles (codes 0-15) into V4, high
// nibbles (16-31) into V5, each minus 8.
#define QW4(rw) \
	VLD1.P 16(rw), [V4.B16]; \
	VUSHR $4, V4.B16, V5.B16; \
	VAND V30.B16, V4.B16, V4.B16; \
	VSUB V31.B16, V4.B16, V4.B16; \
	VSUB V31.B16, V5.B16, V5.B16

// DOTSDOT sets vacc (register number acc) to four int32 partial sums of x (V(xl), V(xh))
// · w (V4, V5) with SDOT.
#define DOTSDOT(vacc, acc, xl, xh) \
	VEOR vacc.B16, vacc.B16, vacc.B16; \
	SDOT4S(acc, xl, 4); \
	SDOT4S(acc, xh, 5)

// DOTSMULL does the same with plain NEON: 16-bit products (|x·w| ≤ 127·128 fits), pairwise
// added into 32-bit lanes.
#define DOTSMULL(vacc, acc, xl, xh) \
	VEOR vacc.B16, vacc.B16, vacc.B16; \
	SMULL8H(6, xl, 4); \
	SMULL28H(7, xl, 4); \
	SADALP4S(acc, 6); \
	SADALP4S(acc, 7); \
	SMULL8H(6, xh, 5); \
	SMULL28H(7, xh, 5); \
	SADALP4S(acc, 6); \
	SADALP4S(acc, 7)

// QBODY: the block loop. QW is QW8 or QW4, DOT DOTSDOT or DOTSMULL.
#define QBODY(QW, DOT) \
	QPROLOGUE; \
	CBZ R0, done; \
loop: \
	VLD1.P 32(R1), [V0.B16, V1.B16]; \
	QSCALES; \
	QW(R4); DOT(V16, 16, 0, 1); \
	QW(R5); DOT(V17, 17, 0, 1); \
	QW(R6); DOT(V18, 18, 0, 1); \
	QW(R7); DOT(V19, 19, 0, 1); \
	VADDP V17.S4, V16.S4, V20.S4; \
	VADDP V19.S4, V18.S4, V21.S4; \
	VADDP V21.S4, V20.S4, V22.S4; \
	SCVTF4S(22, 22); \
	FMUL4S(22, 22, 3); \
	FADD4S(24, 24, 22); \
	SUBS $1, R0, R0; \
	BNE loop; \
done: \
	MOVD c+88(FP), R8; \
	VST1 [V24.S4], (R8)

// ---------------------------------------------------------------------------------------
// Dequantization (quant.go's dequantizeRowGo): out = d·float32(code), one FMUL per value,
// the Go loop's bits. Arguments: nb int, q *byte (codes of the first block), s *uint16 (its
// F16 scale), dst *float32.

// SXTL Vd.8H, Vn.8B / SXTL2 Vd.8H, Vn.16B (SSHLL #0)
#define SXTL8H(d, n) WORD $(0x0F08A400 | ((n)<<5) | (d))
#define SXTL28H(d, n) WORD $(0x4F08A400 | ((n)<<5) | (d))
// SXTL Vd.4S, Vn.4H / SXTL2 Vd.4S, Vn.8H
#define SXTL4S(d, n) WORD $(0x0F10A400 | ((n)<<5) | (d))
#define SXTL24S(d, n) WORD $(0x4F10A400 | ((n)<<5) | (d))

// DQSCALE broadcasts the block's scale (F16 at R2, advanced) into V2.
#define DQSCALE \
	MOVHU.P 2(R2), R14; \
	VMOV R14, V3.H[0]; \
	FCVTL4S(3, 3); \
	VDUP V3.S[0], V2.S4

// DQ16(src) writes the 16 codes (signed bytes) of Vsrc as 16 floats times V2 to R3.
#define DQ16(src) \
	SXTL8H(4, src); \
	SXTL28H(5, src); \
	SXTL4S(16, 4); \
	SXTL24S(17, 4); \
	SXTL4S(18, 5); \
	SXTL24S(19, 5); \
	SCVTF4S(16, 16); \
	SCVTF4S(17, 17); \
	SCVTF4S(18, 18); \
	SCVTF4S(19, 19); \
	FMUL4S(16, 16, 2); \
	FMUL4S(17, 17, 2); \
	FMUL4S(18, 18, 2); \
	FMUL4S(19, 19, 2); \
	VST1.P [V16.S4, V17.S4, V18.S4, V19.S4], 64(R3)

#define DQPROLOGUE \
	MOVD nb+0(FP), R0; \
	MOVD q+8(FP), R1; \
	MOVD s+16(FP), R2; \
	MOVD dst+24(FP), R3; \
	VMOVI $15, V30.B16; \
	VMOVI $8, V31.B16; \
	CBZ R0, done


// ---------------------------------------------------------------------------------------
// Elementwise kernels: the amd64 generator's vector exp, SiLU, GELU and one-query V sum
// (internal/asmgen/main.go), step for step on 4-float vectors: the same constants, the same
// operations in the same order, the same fused steps, so every value has the AVX2 set's bits
// (NaN payloads aside).

// FMIN, FMAX, FSUB, FDIV, FCMGT Vd.4S, Vn.4S, Vm.4S; BIC, BSL Vd.16B, Vn.16B, Vm.16B
#define FMIN4S(d, n, m) WORD $(0x4EA0F400 | ((m)<<16) | ((n)<<5) | (d))
#define FMAX4S(d, n, m) WORD $(0x4E20F400 | ((m)<<16) | ((n)<<5) | (d))
#define FSUB4S(d, n, m) WORD $(0x4EA0D400 | ((m)<<16) | ((n)<<5) | (d))
#define FDIV4S(d, n, m) WORD $(0x6E20FC00 | ((m)<<16) | ((n)<<5) | (d))
#define FCMGT4S(d, n, m) WORD $(0x6EA0E400 | ((m)<<16) | ((n)<<5) | (d))
#define BIC16B(d, n, m) WORD $(0x4E601C00 | ((m)<<16) | ((n)<<5) | (d))
#define BSL16B(d, n, m) WORD $(0x6E601C00 | ((m)<<16) | ((n)<<5) | (d))
// FRINTN (to nearest, ties to even), FCVTZS, FNEG, FABS Vd.4S, Vn.4S
#define FRINTN4S(d, n) WORD $(0x4E218800 | ((n)<<5) | (d))
#define FCVTZS4S(d, n) WORD $(0x4EA1B800 | ((n)<<5) | (d))
#define FNEG4S(d, n) WORD $(0x6EA0F800 | ((n)<<5) | (d))
#define FABS4S(d, n) WORD $(0x4EA0F800 | ((n)<<5) | (d))
// SSHR Vd.4S, Vn.4S, #31 (all ones where the sign bit is set)
#define SIGNMASK4S(d, n) WORD $(0x4F210400 | ((n)<<5) | (d))

// The constants, as in the generator's table: V16 hi 88.37, V17 lo -87.33654, V18 log2 e,
// V19 ln2 hi, V20 ln2 lo, V21-V26 P5..P0, V27 1, V28 the exponent bias 127 (integer),
// V29 0.5, V30 20, V31 -20; then, read from memory in the loop, the GELU t scale 0.5/√2 and
// erfc's E9..E0.
DATA neonconsts<>+0(SB)/4, $0x42b0bd71
DATA neonconsts<>+4(SB)/4, $0xc2aeac4f
DATA neonconsts<>+8(SB)/4, $0x3fb8aa3b
DATA neonconsts<>+12(SB)/4, $0x3f318000
DATA neonconsts<>+16(SB)/4, $0xb95e8083
DATA neonconsts<>+20(SB)/4, $0x39506967
DATA neonconsts<>+24(SB)/4, $0x3ab743ce
DATA neonconsts<>+28(SB)/4, $0x3c088908
DATA neonconsts<>+32(SB)/4, $0x3d2aa9c1
DATA neonconsts<>+36(SB)/4, $0x3e2aaaaa
DATA neonconsts<>+40(SB)/4, $0x3f000000
DATA neonconsts<>+44(SB)/4, $0x3f800000
DATA neonconsts<>+48(SB)/4, $127
DATA neonconsts<>+52(SB)/4, $0x3f000000
DATA neonconsts<>+56(SB)/4, $0x41a00000
DATA neonconsts<>+60(SB)/4, $0xc1a00000
DATA neonconsts<>+64(SB)/4, $0x3eb504f3
DATA neonconsts<>+68(SB)/4, $0x3e2ef945
DATA neonconsts<>+72(SB)/4, $0xbf527892
DATA neonconsts<>+76(SB)/4, $0x3fbe87b0
DATA neonconsts<>+80(SB)/4, $0xbf914e5d
DATA neonconsts<>+84(SB)/4, $0x3e8ec7cc
DATA neonconsts<>+88(SB)/4, $0xbe3ec24c
DATA neonconsts<>+92(SB)/4, $0x3dc636c9
DATA neonconsts<>+96(SB)/4, $0x3ebf88fb
DATA neonconsts<>+100(SB)/4, $0x3f8000c7
DATA neonconsts<>+104(SB)/4, $0xbfa1fc4e
GLOBL neonconsts<>(SB), RODATA|NOPTR, $108

// LOADCONSTS broadcasts the first 16 constants into V16-V31 and leaves R7 at the t scale.
#define LOADCONSTS \
	MOVD $neonconsts<>(SB), R7; \
	VLD1R.P 4(R7), [V16.S4]; \
	VLD1R.P 4(R7), [V17.S4]; \
	VLD1R.P 4(R7), [V18.S4]; \
	VLD1R.P 4(R7), [V19.S4]; \
	VLD1R.P 4(R7), [V20.S4]; \
	VLD1R.P 4(R7), [V21.S4]; \
	VLD1R.P 4(R7), [V22.S4]; \
	VLD1R.P 4(R7), [V23.S4]; \
	VLD1R.P 4(R7), [V24.S4]; \
	VLD1R.P 4(R7), [V25.S4]; \
	VLD1R.P 4(R7), [V26.S4]; \
	VLD1R.P 4(R7), [V27.S4]; \
	VLD1R.P 4(R7), [V28.S4]; \
	VLD1R.P 4(R7), [V29.S4]; \
	VLD1R.P 4(R7), [V30.S4]; \
	VLD1R.P 4(R7), [V31.S4]

// EXPV sets VP = e^V(x) lane by lane (the generator's expVec): x clamped to at most 88.37,
// n = round(x·log2 e), r = x - n·ln2 hi - n·ln2 lo (fused), e^r = 1 + r + r²·P(r) (Horner,
// fused), times 2^n through the exponent bits; lanes with x < lo become 0. Clobbers V8-V12.
#define EXPV(x, VP, p) \
	FMIN4S(8, 16, x); \
	FMUL4S(9, 8, 18); \
	FRINTN4S(9, 9); \
	VORR V8.B16, V8.B16, V10.B16; \
	VFMLS V19.S4, V9.S4, V10.S4; \
	VFMLS V20.S4, V9.S4, V10.S4; \
	VORR V22.B16, V22.B16, VP.B16; \
	VFMLA V21.S4, V10.S4, VP.S4; \
	VORR V23.B16, V23.B16, V11.B16; \
	VFMLA VP.S4, V10.S4, V11.S4; \
	VORR V24.B16, V24.B16, VP.B16; \
	VFMLA V11.S4, V10.S4, VP.S4; \
	VORR V25.B16, V25.B16, V11.B16; \
	VFMLA VP.S4, V10.S4, V11.S4; \
	VORR V26.B16, V26.B16, VP.B16; \
	VFMLA V11.S4, V10.S4, VP.S4; \
	FMUL4S(11, 10, 10); \
	VORR V10.B16, V10.B16, V12.B16; \
	VFMLA VP.S4, V11.S4, V12.S4; \
	FADD4S(p, 12, 27); \
	FCVTZS4S(9, 9); \
	VADD V28.S4, V9.S4, V9.S4; \
	VSHL $23, V9.S4, V9.S4; \
	FMUL4S(p, p, 9); \
	FCMGT4S(12, 17, x); \
	BIC16B(p, p, 12)


// The two-row int8 kernels: x row 1 (codes nb·32 bytes after row 0, scales nb after) in
// V8, V9, its scale in V10 and V11 = wd·xd1, its accumulators V12-V15, sums in V25. Each row
// gets the one-row kernel's bits. c is *[8]float32: row 0's four results, then row 1's.
#define QBODY2(QW, DOT) \
	QPROLOGUE; \
	VEOR V25.B16, V25.B16, V25.B16; \
	LSL $5, R0, R19; \
	ADD R1, R19, R19; \
	LSL $2, R0, R20; \
	ADD R2, R20, R20; \
	CBZ R0, done; \
loop: \
	VLD1.P 32(R1), [V0.B16, V1.B16]; \
	VLD1.P 32(R19), [V8.B16, V9.B16]; \
	VLD1R.P 4(R2), [V2.S4]; \
	VLD1R.P 4(R20), [V10.S4]; \
	MOVHU.P 2(R10), R14; \
	VMOV R14, V3.H[0]; \
	MOVHU.P 2(R11), R14; \
	VMOV R14, V3.H[1]; \
	MOVHU.P 2(R12), R14; \
	VMOV R14, V3.H[2]; \
	MOVHU.P 2(R13), R14; \
	VMOV R14, V3.H[3]; \
	FCVTL4S(3, 3); \
	FMUL4S(11, 3, 10); \
	FMUL4S(3, 3, 2); \
	QW(R4); DOT(V16, 16, 0, 1); DOT(V12, 12, 8, 9); \
	QW(R5); DOT(V17, 17, 0, 1); DOT(V13, 13, 8, 9); \
	QW(R6); DOT(V18, 18, 0, 1); DOT(V14, 14, 8, 9); \
	QW(R7); DOT(V19, 19, 0, 1); DOT(V15, 15, 8, 9); \
	VADDP V17.S4, V16.S4, V20.S4; \
	VADDP V19.S4, V18.S4, V21.S4; \
	VADDP V21.S4, V20.S4, V22.S4; \
	SCVTF4S(22, 22); \
	FMUL4S(22, 22, 3); \
	FADD4S(24, 24, 22); \
	VADDP V13.S4, V12.S4, V26.S4; \
	VADDP V15.S4, V14.S4, V27.S4; \
	VADDP V27.S4, V26.S4, V28.S4; \
	SCVTF4S(28, 28); \
	FMUL4S(28, 28, 11); \
	FADD4S(25, 25, 28); \
	SUBS $1, R0, R0; \
	BNE loop; \
done: \
	MOVD c+88(FP), R8; \
	VST1 [V24.S4, V25.S4], (R8)


// ---------------------------------------------------------------------------------------
// The functions.

// func neonF32R1(k int, a *float32, lda int, b0, b1, b2, b3 *float32, c *float32, ldc int, acc bool, ta, tb *float32)
TEXT ·neonF32R1(SB), NOSPLIT, $0-96
	TILE(STEP1, LOADB32, 32)
	REDUCE(8)
	RET

// func neonF32R2(k int, a *float32, lda int, b0, b1, b2, b3 *float32, c *float32, ldc int, acc bool, ta, tb *float32)
TEXT ·neonF32R2(SB), NOSPLIT, $0-96
	TILE(STEP2, LOADB32, 32)
	REDUCE(8)
	REDUCE(16)
	RET

// func neonF32R3(k int, a *float32, lda int, b0, b1, b2, b3 *float32, c *float32, ldc int, acc bool, ta, tb *float32)
TEXT ·neonF32R3(SB), NOSPLIT, $0-96
	TILE(STEP3, LOADB32, 32)
	REDUCE(8)
	REDUCE(16)
	REDUCE(24)
	RET

// func neonBF16R1(k int, a *float32, lda int, b0, b1, b2, b3 *uint16, c *float32, ldc int, acc bool, ta *float32, tb *uint16)
TEXT ·neonBF16R1(SB), NOSPLIT, $0-96
	TILE(STEP1, LOADB16, 16)
	REDUCE(8)
	RET

// func neonBF16R2(k int, a *float32, lda int, b0, b1, b2, b3 *uint16, c *float32, ldc int, acc bool, ta *float32, tb *uint16)
TEXT ·neonBF16R2(SB), NOSPLIT, $0-96
	TILE(STEP2, LOADB16, 16)
	REDUCE(8)
	REDUCE(16)
	RET

// func neonBF16R3(k int, a *float32, lda int, b0, b1, b2, b3 *uint16, c *float32, ldc int, acc bool, ta *float32, tb *uint16)
TEXT ·neonBF16R3(SB), NOSPLIT, $0-96
	TILE(STEP3, LOADB16, 16)
	REDUCE(8)
	REDUCE(16)
	REDUCE(24)
	RET

// func neonQ8Dot(nb int, x *int8, xd *float32, w0, w1, w2, w3 *byte, s0, s1, s2, s3 *uint16, c *[4]float32)
TEXT ·neonQ8Dot(SB), NOSPLIT, $0-96
	QBODY(QW8, DOTSDOT)
	RET

// func neonQ4Dot(nb int, x *int8, xd *float32, w0, w1, w2, w3 *byte, s0, s1, s2, s3 *uint16, c *[4]float32)
TEXT ·neonQ4Dot(SB), NOSPLIT, $0-96
	QBODY(QW4, DOTSDOT)
	RET

// func neonQ8Mull(nb int, x *int8, xd *float32, w0, w1, w2, w3 *byte, s0, s1, s2, s3 *uint16, c *[4]float32)
TEXT ·neonQ8Mull(SB), NOSPLIT, $0-96
	QBODY(QW8, DOTSMULL)
	RET

// func neonQ4Mull(nb int, x *int8, xd *float32, w0, w1, w2, w3 *byte, s0, s1, s2, s3 *uint16, c *[4]float32)
TEXT ·neonQ4Mull(SB), NOSPLIT, $0-96
	QBODY(QW4, DOTSMULL)
	RET

// func neonDequantQ8(nb int, q *byte, s *uint16, dst *float32)
TEXT ·neonDequantQ8(SB), NOSPLIT, $0-32
	DQPROLOGUE
loop:
	DQSCALE
	VLD1.P 32(R1), [V0.B16, V1.B16]
	DQ16(0)
	DQ16(1)
	SUBS $1, R0, R0
	BNE loop
done:
	RET

// func neonDequantQ4(nb int, q *byte, s *uint16, dst *float32)
TEXT ·neonDequantQ4(SB), NOSPLIT, $0-32
	DQPROLOGUE
loop:
	DQSCALE
	VLD1.P 16(R1), [V0.B16]
	VUSHR $4, V0.B16, V1.B16
	VAND V30.B16, V0.B16, V0.B16
	VSUB V31.B16, V0.B16, V0.B16
	VSUB V31.B16, V1.B16, V1.B16
	DQ16(0)
	DQ16(1)
	SUBS $1, R0, R0
	BNE loop
done:
	RET

// func neonQ8Dot2(nb int, x *int8, xd *float32, w0, w1, w2, w3 *byte, s0, s1, s2, s3 *uint16, c *[8]float32)
TEXT ·neonQ8Dot2(SB), NOSPLIT, $0-96
	QBODY2(QW8, DOTSDOT)
	RET

// func neonQ4Dot2(nb int, x *int8, xd *float32, w0, w1, w2, w3 *byte, s0, s1, s2, s3 *uint16, c *[8]float32)
TEXT ·neonQ4Dot2(SB), NOSPLIT, $0-96
	QBODY2(QW4, DOTSDOT)
	RET

// func neonQ8Mull2(nb int, x *int8, xd *float32, w0, w1, w2, w3 *byte, s0, s1, s2, s3 *uint16, c *[8]float32)
TEXT ·neonQ8Mull2(SB), NOSPLIT, $0-96
	QBODY2(QW8, DOTSMULL)
	RET

// func neonQ4Mull2(nb int, x *int8, xd *float32, w0, w1, w2, w3 *byte, s0, s1, s2, s3 *uint16, c *[8]float32)
TEXT ·neonQ4Mull2(SB), NOSPLIT, $0-96
	QBODY2(QW4, DOTSMULL)
	RET

// func expShiftF32(n int, x *float32, shift float32)
TEXT ·expShiftF32(SB), NOSPLIT, $0-20
	LOADCONSTS
	MOVD n+0(FP), R0
	MOVD x+8(FP), R1
	FMOVS shift+16(FP), F0
	VDUP V0.S[0], V1.S4
	CBZ R0, done
loop:
	VLD1 (R1), [V0.S4]
	FSUB4S(0, 0, 1)
	EXPV(0, V13, 13)
	VST1.P [V13.S4], 16(R1)
	SUBS $4, R0, R0
	BNE loop
done:
	RET

// func siluF32(n int, x *float32, y *float32)
TEXT ·siluF32(SB), NOSPLIT, $0-24
	LOADCONSTS
	MOVD n+0(FP), R0
	MOVD x+8(FP), R1
	MOVD y+16(FP), R2
	CBZ R0, done
loop:
	VLD1.P 16(R1), [V0.S4]
	FNEG4S(1, 0)
	EXPV(1, V13, 13)
	FADD4S(13, 13, 27)
	FDIV4S(13, 0, 13)
	VST1.P [V13.S4], 16(R2)
	SUBS $4, R0, R0
	BNE loop
done:
	RET

// func geluF32(n int, x *float32, y *float32)
TEXT ·geluF32(SB), NOSPLIT, $0-24
	LOADCONSTS
	MOVD n+0(FP), R0
	MOVD x+8(FP), R1
	MOVD y+16(FP), R2
	CBZ R0, done
loop:
	MOVD R7, R6
	VLD1.P 16(R1), [V0.S4]
	FMIN4S(1, 30, 0)
	FMAX4S(1, 1, 31)
	FABS4S(2, 1)
	FMUL4S(3, 2, 2)
	FNEG4S(4, 3)
	VFMLA V2.S4, V2.S4, V4.S4
	FMUL4S(3, 3, 29)
	FMUL4S(4, 4, 29)
	VLD1R.P 4(R6), [V6.S4]
	VORR V27.B16, V27.B16, V5.B16
	VFMLA V6.S4, V2.S4, V5.S4
	FDIV4S(5, 27, 5)
	VLD1R.P 4(R6), [V6.S4]
	VLD1R.P 4(R6), [V7.S4]
	VFMLA V6.S4, V5.S4, V7.S4
	VLD1R.P 4(R6), [V6.S4]
	VFMLA V7.S4, V5.S4, V6.S4
	VLD1R.P 4(R6), [V7.S4]
	VFMLA V6.S4, V5.S4, V7.S4
	VLD1R.P 4(R6), [V6.S4]
	VFMLA V7.S4, V5.S4, V6.S4
	VLD1R.P 4(R6), [V7.S4]
	VFMLA V6.S4, V5.S4, V7.S4
	VLD1R.P 4(R6), [V6.S4]
	VFMLA V7.S4, V5.S4, V6.S4
	VLD1R.P 4(R6), [V7.S4]
	VFMLA V6.S4, V5.S4, V7.S4
	VLD1R.P 4(R6), [V6.S4]
	VFMLA V7.S4, V5.S4, V6.S4
	VLD1R.P 4(R6), [V7.S4]
	VFMLA V6.S4, V5.S4, V7.S4
	FSUB4S(7, 7, 4)
	EXPV(7, V13, 13)
	FNEG4S(3, 3)
	EXPV(3, V14, 14)
	FMUL4S(5, 5, 13)
	FMUL4S(5, 5, 14)
	FMUL4S(5, 5, 29)
	FSUB4S(6, 27, 5)
	SIGNMASK4S(7, 1)
	BSL16B(7, 5, 6)
	FMUL4S(7, 0, 7)
	VST1.P [V7.S4], 16(R2)
	SUBS $4, R0, R0
	BNE loop
done:
	RET

// func accRowsF32(n int, p *float32, v *float32, ldv int, rows int, out *float32)
TEXT ·accRowsF32(SB), NOSPLIT, $0-48
	MOVD n+0(FP), R0
	MOVD p+8(FP), R1
	MOVD v+16(FP), R2
	MOVD ldv+24(FP), R3
	LSL $2, R3, R3
	MOVD rows+32(FP), R4
	MOVD out+40(FP), R5
	CBZ R4, done
	CBZ R0, done
row:
	VLD1R.P 4(R1), [V1.S4]
	MOVD R2, R6
	MOVD R5, R8
	MOVD R0, R9
col:
	VLD1 (R8), [V2.S4]
	VLD1.P 16(R6), [V3.S4]
	VFMLA V3.S4, V1.S4, V2.S4
	VST1.P [V2.S4], 16(R8)
	SUBS $4, R9, R9
	BNE col
	ADD R3, R2, R2
	SUBS $1, R4, R4
	BNE row
done:
	RET
