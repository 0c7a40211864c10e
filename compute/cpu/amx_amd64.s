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

// tileloadd (%rsi,%r8,1), %tmm4 and 32(%rsi,%r8,1), %tmm5 (the A tiles of two Q8 blocks)
#define TILELOAD_T4_SI_R8 BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0x24; BYTE $0x06
#define TILELOAD_T5_SI32_R8 BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0x6c; BYTE $0x06; BYTE $0x20
// tileloadd (%rdi,%r10,1), %tmm6 and 640(%rdi,%r10,1), %tmm7 (the B tiles of two packed blocks)
#define TILELOAD_T6_DI_R10 BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0x34; BYTE $0x17
#define TILELOAD_T7_DI640_R10 BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0xbc; BYTE $0x17; BYTE $0x80; BYTE $0x02; BYTE $0x00; BYTE $0x00
// tdpbssd %tmm6, %tmm4, %tmm0 and %tmm7, %tmm5, %tmm1: C += A·B in signed bytes
#define TDPBSSD_T0_T4_T6 BYTE $0xc4; BYTE $0xe2; BYTE $0x4b; BYTE $0x5e; BYTE $0xc4
#define TDPBSSD_T1_T5_T7 BYTE $0xc4; BYTE $0xe2; BYTE $0x43; BYTE $0x5e; BYTE $0xcd
// tilestored %tmm0, (%r12,%r10,1) and %tmm1, 1024(%r12,%r10,1)
#define TILESTORE_T0_R12_R10 BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x04; BYTE $0x14
#define TILESTORE_T1_R12_1024_R10 BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x8c; BYTE $0x14; BYTE $0x00; BYTE $0x04; BYTE $0x00; BYTE $0x00

// Q8_PAIR and Q8_ONE run the tiles for two blocks (one): their int32 sums go to R12's
// buffer (1 KB a block), to be scaled an iteration later, once the stores have landed.
#define Q8_PAIR TILEZERO_T0; TILEZERO_T1; TILELOAD_T4_SI_R8; TILELOAD_T5_SI32_R8; TILELOAD_T6_DI_R10; TILELOAD_T7_DI640_R10; TDPBSSD_T0_T4_T6; TDPBSSD_T1_T5_T7; TILESTORE_T0_R12_R10; TILESTORE_T1_R12_1024_R10
#define Q8_ONE TILEZERO_T0; TILELOAD_T4_SI_R8; TILELOAD_T6_DI_R10; TDPBSSD_T0_T4_T6; TILESTORE_T0_R12_R10

// Q8_PREFETCH asks for the next 1 KB of the next group's codes (R13), which is 32·nb
// contiguous bytes a row: one pair of blocks' share of it. The tiles read 16 rows of a few KB
// at once, which the hardware prefetcher does not follow well.
#define Q8_PREFETCH PREFETCHT1 0(R13); PREFETCHT1 64(R13); PREFETCHT1 128(R13); PREFETCHT1 192(R13); PREFETCHT1 256(R13); PREFETCHT1 320(R13); PREFETCHT1 384(R13); PREFETCHT1 448(R13); PREFETCHT1 512(R13); PREFETCHT1 576(R13); PREFETCHT1 640(R13); PREFETCHT1 704(R13); PREFETCHT1 768(R13); PREFETCHT1 832(R13); PREFETCHT1 896(R13); PREFETCHT1 960(R13); ADDQ $1024, R13

// NEXT_PAIR moves the codes (SI) and the packed input (DI, size bytes a pair) on by a pair of
// blocks, swaps the sums' buffers and counts the pair. PREFETCH_NEXT asks for a pair's share
// of the next group's codes and scales.
#define NEXT_PAIR(size) ADDQ $64, SI; ADDQ $size, DI; XCHGQ BX, R12; SUBQ $2, CX
#define PREFETCH_NEXT Q8_PREFETCH; PREFETCHT0 (AX); ADDQ $64, AX

// Q8_BLOCKS runs the CX blocks of both int8 kernels, a pair at a time: the tiles of the next
// pair (PAIR, to R12's buffer) before the scaling of this one (SCALE_PAIR, from BX's), as
// they do not wait for it; in program order after it, they waited for its loads, which wait
// for the tile stores to land. size is a pair's bytes of packed input, wdpair its bytes of
// weight scales; an odd last block takes Q8_ONE and SCALE_ONE.
#define Q8_BLOCKS(PAIR, SCALE_PAIR, SCALE_ONE, size, wdpair) \
	CMPQ CX, $2; JLT one; PAIR; NEXT_PAIR(size); \
pair: CMPQ CX, $2; JLT last; PAIR; PREFETCH_NEXT; SCALE_PAIR; ADDQ $wdpair, DX; NEXT_PAIR(size); JMP pair; \
last: SCALE_PAIR; ADDQ $wdpair, DX; \
one: TESTQ CX, CX; JZ done; Q8_ONE; SCALE_ONE; \
done:

// Q8_COL scales column j's block sums (16 int32, one per input row, at off(buf)) by the
// block's input scales (Z16) times column j's weight scale (a float32 at R11, the next
// column's R9 bytes on), and adds them to column j's sums: the same three roundings, in the
// same order, as dotQ8's float32(acc) * float32(xd*wd) and its sum.
#define Q8_COL(off, buf, acc) VCVTDQ2PS off(buf), Z17; VMULPS.BCST (R11), Z16, Z18; ADDQ R9, R11; VMULPS Z18, Z17, Z17; VADDPS Z17, acc, acc
// Q8_SCALE scales one block's sums, at t(buf), its input scales at xd(DI), its weight
// scales at wd(DX).
#define Q8_SCALE(buf, t, xd, wd) VMOVUPS xd(DI), Z16; LEAQ wd(DX), R11; Q8_COL(0+t, buf, Z0); Q8_COL(64+t, buf, Z1); Q8_COL(128+t, buf, Z2); Q8_COL(192+t, buf, Z3); Q8_COL(256+t, buf, Z4); Q8_COL(320+t, buf, Z5); Q8_COL(384+t, buf, Z6); Q8_COL(448+t, buf, Z7); Q8_COL(512+t, buf, Z8); Q8_COL(576+t, buf, Z9); Q8_COL(640+t, buf, Z10); Q8_COL(704+t, buf, Z11); Q8_COL(768+t, buf, Z12); Q8_COL(832+t, buf, Z13); Q8_COL(896+t, buf, Z14); Q8_COL(960+t, buf, Z15)
// The scalings of a pair, their blocks' sums at BX and input scales before DI (which has
// moved to the next pair), and of an odd last block, its sums at R12 and scales at DI.
#define Q8_SCALE_PAIR Q8_SCALE(BX, 0, -768, 0); Q8_SCALE(BX, 1024, -128, 4)
#define Q8_SCALE_ONE Q8_SCALE(R12, 0, 512, 0)

// func amxQ8Cols16(nb int, w *byte, ldw int, x *byte, wd *float32, ldwd int, t *float32, cfg *byte, next *uint16)
//
// Sixteen columns (weight rows ldw bytes apart, nb Q8 blocks each) times up to 16 input rows
// packed per block by packQ8AMX (640 bytes a block: the B tile of the block's codes, 8 rows
// of 64 bytes, then its 16 input scales), on the AMX int8 tiles: each block's exact int32
// sums from TDPBSSD, then scaled and summed in float32 as dotQ8 does. wd holds the columns'
// weight scales as float32, ldwd apart; next is the F16 scales of the group of columns to
// come, 32·nb bytes, read into the cache on the way (a line per pair of blocks). t is
// amxQTemp floats: the sums come back in its first 256 (column j's 16 rows at t[16j:]); the
// rest holds two pairs of blocks' int32 sums on their way (Q8_BLOCKS).
TEXT ·amxQ8Cols16(SB), NOSPLIT, $0-72
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ ldw+16(FP), R8
	MOVQ x+24(FP), DI
	MOVQ wd+32(FP), DX
	MOVQ ldwd+40(FP), R9
	SHLQ $2, R9
	MOVQ t+48(FP), BX
	LEAQ 3072(BX), R12
	ADDQ $1024, BX
	MOVQ cfg+56(FP), AX
	LDTILECFG_AX
	MOVQ next+64(FP), AX
	MOVQ R8, R13
	SHLQ $4, R13
	ADDQ SI, R13
	MOVQ $64, R10
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	Q8_BLOCKS(Q8_PAIR, Q8_SCALE_PAIR, Q8_SCALE_ONE, 1280, 8)
	MOVQ t+48(FP), BX
	VMOVUPS Z0, 0(BX)
	VMOVUPS Z1, 64(BX)
	VMOVUPS Z2, 128(BX)
	VMOVUPS Z3, 192(BX)
	VMOVUPS Z4, 256(BX)
	VMOVUPS Z5, 320(BX)
	VMOVUPS Z6, 384(BX)
	VMOVUPS Z7, 448(BX)
	VMOVUPS Z8, 512(BX)
	VMOVUPS Z9, 576(BX)
	VMOVUPS Z10, 640(BX)
	VMOVUPS Z11, 704(BX)
	VMOVUPS Z12, 768(BX)
	VMOVUPS Z13, 832(BX)
	VMOVUPS Z14, 896(BX)
	VMOVUPS Z15, 960(BX)
	TILERELEASE
	VZEROUPPER
	RET

// tileloadd 128(%rdi,%r10,1), %tmm7 (the second B tile of a pair packed for two rows)
#define TILELOAD_T7_DI128_R10 BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0xbc; BYTE $0x17; BYTE $0x80; BYTE $0x00; BYTE $0x00; BYTE $0x00
#define R2_PAIR TILEZERO_T0; TILEZERO_T1; TILELOAD_T4_SI_R8; TILELOAD_T5_SI32_R8; TILELOAD_T6_DI_R10; TILELOAD_T7_DI128_R10; TDPBSSD_T0_T4_T6; TDPBSSD_T1_T5_T7; TILESTORE_T0_R12_R10; TILESTORE_T1_R12_1024_R10

// R2_SCALE scales one block's sums for two input rows, at t(buf): 16 columns × 2 rows of
// int32, column j's two at 8j. Z5 gathers the 16 columns' F16 weight scales of the block
// (at wd(DX), nb apart: the byte offsets in Z4; each read takes 32 bits, the scale in the
// low half) and widens them, Z2 and Z3 spread columns 0-7 and 8-15 over pairs of lanes, and
// xd(DI) holds the two rows' input scales 8 times: so each lane gets the same three
// roundings, in the same order, as dotQ8.
#define R2_SCALE(buf, t, xd, wd) LEAQ wd(DX), R11; KXNORW K1, K1, K1; VPGATHERDD (R11)(Z4*1), K1, Z5; VPMOVDW Z5, Y5; VCVTPH2PS Y5, Z5; VPERMPS Z5, Z2, Z6; VPERMPS Z5, Z3, Z7; VMOVUPS xd(DI), Z16; VMULPS Z16, Z6, Z6; VMULPS Z16, Z7, Z7; VCVTDQ2PS t(buf), Z8; VCVTDQ2PS 64+t(buf), Z9; VMULPS Z6, Z8, Z8; VMULPS Z7, Z9, Z9; VADDPS Z8, Z0, Z0; VADDPS Z9, Z1, Z1
#define R2_SCALE_PAIR R2_SCALE(BX, 0, -192, 0); R2_SCALE(BX, 1024, -64, 2)
#define R2_SCALE_ONE R2_SCALE(R12, 0, 64, 0)

// func amxQ8Cols16R2(nb int, w *byte, ldw int, x *byte, wd *uint16, tab *int32, t *float32, cfg *byte, next *uint16)
//
// amxQ8Cols16 for two input rows, packed by packQ8AMX with 2 lanes (128 bytes a block: the
// B tile, 8 rows of 8 bytes, then the two rows' scales 8 times), whose sums take 2 vectors
// a block instead of 16. wd is the columns' F16 weight scales as stored (nb a column, and
// one more readable value after the last). tab holds 48 int32: the byte offsets of the 16
// columns' scales (2·nb·j), then the two lane spreads (j/2 and 8 + j/2). Column j's two
// sums come back in t[2j:2j+2].
TEXT ·amxQ8Cols16R2(SB), NOSPLIT, $0-72
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ ldw+16(FP), R8
	MOVQ x+24(FP), DI
	MOVQ wd+32(FP), DX
	MOVQ tab+40(FP), AX
	VMOVDQU32 (AX), Z4
	VMOVDQU32 64(AX), Z2
	VMOVDQU32 128(AX), Z3
	MOVQ t+48(FP), BX
	LEAQ 3072(BX), R12
	ADDQ $1024, BX
	MOVQ cfg+56(FP), AX
	LDTILECFG_AX
	MOVQ next+64(FP), AX
	MOVQ R8, R13
	SHLQ $4, R13
	ADDQ SI, R13
	MOVQ $8, R10
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	Q8_BLOCKS(R2_PAIR, R2_SCALE_PAIR, R2_SCALE_ONE, 256, 4)
	MOVQ t+48(FP), BX
	VMOVUPS Z0, 0(BX)
	VMOVUPS Z1, 64(BX)
	TILERELEASE
	VZEROUPPER
	RET
