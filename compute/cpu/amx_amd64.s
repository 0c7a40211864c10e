//go:build amd64 && !purego

#include "textflag.h"

// AMX tile instructions, which neither the Go assembler nor avo knows, as their bytes (GNU
// as's encodings of the operands written beside them; the registers are fixed: SI and DI
// the A and B pointers, R8 the 64-byte row stride of the packed tiles, DX and R10 the C
// block's rows 0 and 16, R9 its row stride in bytes, AX the tile configuration).
#define LDTILECFG_AX BYTE $0xc4; BYTE $0xe2; BYTE $0x78; BYTE $0x49; BYTE $0x00
#define TILERELEASE BYTE $0xc4; BYTE $0xe2; BYTE $0x78; BYTE $0x49; BYTE $0xc0
#define TILEZERO_T0 BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xc0
#define TILEZERO_T1 BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xc8
#define TILEZERO_T2 BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xd0
#define TILEZERO_T3 BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xd8
// tileloadd (%rsi,%r8,1), %tmm4 and 1024(%rsi,%r8,1), %tmm5
#define TILELOAD_T4_SI BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0x24; BYTE $0x06
#define TILELOAD_T5_SI1024 BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0xac; BYTE $0x06; BYTE $0x00; BYTE $0x04; BYTE $0x00; BYTE $0x00
// tileloadd (%rdi,%r8,1), %tmm6 and 1024(%rdi,%r8,1), %tmm7
#define TILELOAD_T6_DI BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0x34; BYTE $0x07
#define TILELOAD_T7_DI1024 BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0xbc; BYTE $0x07; BYTE $0x00; BYTE $0x04; BYTE $0x00; BYTE $0x00
// tdpbf16ps %tmmB, %tmmA, %tmmC: C += A·B
#define TDP_T0_T4_T6 BYTE $0xc4; BYTE $0xe2; BYTE $0x4a; BYTE $0x5c; BYTE $0xc4
#define TDP_T1_T4_T7 BYTE $0xc4; BYTE $0xe2; BYTE $0x42; BYTE $0x5c; BYTE $0xcc
#define TDP_T2_T5_T6 BYTE $0xc4; BYTE $0xe2; BYTE $0x4a; BYTE $0x5c; BYTE $0xd5
#define TDP_T3_T5_T7 BYTE $0xc4; BYTE $0xe2; BYTE $0x42; BYTE $0x5c; BYTE $0xdd
// tilestored %tmm0, (%rdx,%r9,1); %tmm1, 64(%rdx,%r9,1); %tmm2, (%r10,%r9,1); %tmm3, 64(%r10,%r9,1)
#define TILESTORE_T0 BYTE $0xc4; BYTE $0xa2; BYTE $0x7a; BYTE $0x4b; BYTE $0x04; BYTE $0x0a
#define TILESTORE_T1 BYTE $0xc4; BYTE $0xa2; BYTE $0x7a; BYTE $0x4b; BYTE $0x4c; BYTE $0x0a; BYTE $0x40
#define TILESTORE_T2 BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x14; BYTE $0x0a
#define TILESTORE_T3 BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x5c; BYTE $0x0a; BYTE $0x40

// The parts every kernel shares: zero the four C tiles, the four products of a chunk,
// store C (tmm0, tmm1 at DX; tmm2, tmm3 at R10) and release the tiles.
#define ZERO_C TILEZERO_T0; TILEZERO_T1; TILEZERO_T2; TILEZERO_T3
#define PRODUCTS TDP_T0_T4_T6; TDP_T1_T4_T7; TDP_T2_T5_T6; TDP_T3_T5_T7
#define STORE_C_RELEASE TILESTORE_T0; TILESTORE_T1; TILESTORE_T2; TILESTORE_T3; TILERELEASE
// START_C turns the row stride R9 (floats) into bytes, points R10 at row 16 of the C block
// at DX, sets the packed tiles' 64-byte stride in R8, loads the configuration at AX and
// zeroes C.
#define START_C SHLQ $2, R9; MOVQ R9, R10; SHLQ $4, R10; ADDQ DX, R10; MOVQ $64, R8; LDTILECFG_AX; ZERO_C

// func amxTile32(kc int, a *uint16, b *uint32, c *float32, ldc int, cfg *byte)
//
// c (32×32 floats, rows ldc apart) = a·b over kc chunks of 32 BF16 values: per chunk, a
// holds two A tiles (rows 0-15, 16-31: 16 rows of 32 values) and b two B tiles (columns
// 0-15, 16-31: 16 pair rows of 16 columns), 2 KB each. The tile configuration is loaded
// on every call and released before returning: between calls the goroutine may move to
// another thread, whose tile state is its own.
TEXT ·amxTile32(SB), NOSPLIT, $0-48
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R9
	MOVQ cfg+40(FP), AX
	START_C
	TESTQ CX, CX
	JZ   store

loop:
	// The four loads first: interleaving them with the products measured 15-20 % slower
	// (the same loop in C, one thread, operands in L1 and in L2).
	TILELOAD_T4_SI
	TILELOAD_T5_SI1024
	TILELOAD_T6_DI
	TILELOAD_T7_DI1024
	PRODUCTS
	ADDQ $2048, SI
	ADDQ $2048, DI
	DECQ CX
	JNZ  loop

store:
	STORE_C_RELEASE
	RET

// tileloadd (%rbx,%r12,1), %tmm6 and 64(%rbx,%r12,1), %tmm7
#define TILELOAD_T6_BX BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0x34; BYTE $0x23
#define TILELOAD_T7_BX64 BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0x7c; BYTE $0x23; BYTE $0x40

// func amxConv32(steps int, a *uint16, b *uint32, offs *int, ldb int, c *float32, ldc int, cfg *byte)
//
// amxTile32 with B tiles read in place rather than from a packed panel: step s multiplies
// a's two A tiles (2 KB per step, as in amxTile32) by the B tiles at b+offs[s] bytes and
// 64 bytes further, rows ldb bytes apart (for a convolution: 16 channel-pair planes of
// 16 and 16 more pixels of one input row, the step's kernel offset and channel chunk
// folded into offs[s]).
TEXT ·amxConv32(SB), NOSPLIT, $0-64
	MOVQ steps+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ offs+24(FP), R11
	MOVQ ldb+32(FP), R12
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), R9
	MOVQ cfg+56(FP), AX
	START_C
	TESTQ CX, CX
	JZ   store

loop:
	MOVQ (R11), BX
	ADDQ DI, BX
	TILELOAD_T4_SI
	TILELOAD_T5_SI1024
	TILELOAD_T6_BX
	TILELOAD_T7_BX64
	PRODUCTS
	ADDQ $2048, SI
	ADDQ $8, R11
	DECQ CX
	JNZ  loop

store:
	STORE_C_RELEASE
	RET

// tileloadd (%rsi,%r12,1), %tmm4 and 0(%r13,%r12,1), %tmm5
#define TILELOAD_T4_SI_R12 BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0x24; BYTE $0x26
#define TILELOAD_T5_R13_R12 BYTE $0xc4; BYTE $0x82; BYTE $0x7b; BYTE $0x4b; BYTE $0x6c; BYTE $0x25; BYTE $0x00

// func amxTileW32(kc int, a *uint16, lda int, b *uint32, c *float32, ldc int, cfg *byte)
//
// amxTile32 with the A tiles read in place: 32 rows lda bytes apart (a weight matrix's
// rows), 64 bytes of each per chunk; b is a packed B panel as in amxTile32.
TEXT ·amxTileW32(SB), NOSPLIT, $0-56
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R12
	MOVQ b+24(FP), DI
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R9
	MOVQ cfg+48(FP), AX
	MOVQ R12, R13
	SHLQ $4, R13
	ADDQ SI, R13
	START_C
	TESTQ CX, CX
	JZ   store

loop:
	TILELOAD_T4_SI_R12
	TILELOAD_T5_R13_R12
	TILELOAD_T6_DI
	TILELOAD_T7_DI1024
	PRODUCTS
	ADDQ $64, SI
	ADDQ $64, R13
	ADDQ $2048, DI
	DECQ CX
	JNZ  loop

store:
	STORE_C_RELEASE
	RET
