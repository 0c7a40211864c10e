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

// func offsetDotsF16(n int, o *uint16, ldo int, xs *float32, nb int, d *float32)
// d[r] += Σ_{b<nb} f16(o[r·ldo/2+b])·xs[b] for r < n, nb a multiple of 16 (Q4M's offsets
// against the block sums of an input row), on 256-bit vectors. Every row's sum takes the
// steps offsetDotGo models: 16 lanes (here two vectors a row) of fused multiply-adds, the
// upper eight added to the lower, then those eight pairwise by VHADDPS. Four rows at a time,
// their sums gathered into one vector of four; a last one to three rows alone.
TEXT ·offsetDotsF16(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), R8
	MOVQ o+8(FP), SI
	MOVQ ldo+16(FP), DX
	MOVQ xs+24(FP), BX
	MOVQ nb+32(FP), CX
	MOVQ d+40(FP), DI

quad:
	CMPQ R8, $4
	JLT  single
	MOVQ SI, R9
	LEAQ (SI)(DX*1), R10
	LEAQ (SI)(DX*2), R11
	LEAQ (R10)(DX*2), R12
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ   AX, AX

quadcol:
	CMPQ        AX, CX
	JGE         quadsum
	VMOVUPS     (BX)(AX*4), Y12
	VMOVUPS     32(BX)(AX*4), Y13
	VCVTPH2PS   (R9)(AX*2), Y8
	VCVTPH2PS   16(R9)(AX*2), Y9
	VCVTPH2PS   (R10)(AX*2), Y10
	VCVTPH2PS   16(R10)(AX*2), Y11
	VFMADD231PS Y12, Y8, Y0
	VFMADD231PS Y13, Y9, Y4
	VFMADD231PS Y12, Y10, Y1
	VFMADD231PS Y13, Y11, Y5
	VCVTPH2PS   (R11)(AX*2), Y8
	VCVTPH2PS   16(R11)(AX*2), Y9
	VCVTPH2PS   (R12)(AX*2), Y10
	VCVTPH2PS   16(R12)(AX*2), Y11
	VFMADD231PS Y12, Y8, Y2
	VFMADD231PS Y13, Y9, Y6
	VFMADD231PS Y12, Y10, Y3
	VFMADD231PS Y13, Y11, Y7
	ADDQ        $16, AX
	JMP         quadcol

quadsum:
	VADDPS       Y4, Y0, Y0
	VADDPS       Y5, Y1, Y1
	VADDPS       Y6, Y2, Y2
	VADDPS       Y7, Y3, Y3
	VHADDPS      Y1, Y0, Y0
	VHADDPS      Y3, Y2, Y2
	VHADDPS      Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVUPS      (DI), X1
	VADDPS       X1, X0, X0
	VMOVUPS      X0, (DI)
	ADDQ         $16, DI
	LEAQ         (SI)(DX*4), SI
	SUBQ         $4, R8
	JMP          quad

single:
	TESTQ  R8, R8
	JZ     done
	VXORPS Y0, Y0, Y0
	VXORPS Y4, Y4, Y4
	XORQ   AX, AX

singlecol:
	CMPQ        AX, CX
	JGE         singlesum
	VCVTPH2PS   (SI)(AX*2), Y8
	VCVTPH2PS   16(SI)(AX*2), Y9
	VFMADD231PS (BX)(AX*4), Y8, Y0
	VFMADD231PS 32(BX)(AX*4), Y9, Y4
	ADDQ        $16, AX
	JMP         singlecol

singlesum:
	VADDPS       Y4, Y0, Y0
	VHADDPS      Y0, Y0, Y0
	VHADDPS      Y0, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VADDSS       (DI), X0, X0
	VMOVSS       X0, (DI)
	ADDQ         $4, DI
	ADDQ         DX, SI
	DECQ         R8
	JMP          single

done:
	VZEROUPPER
	RET

// func offsetDotsF16Z(n int, o *uint16, ldo int, xs *float32, nb int, d *float32)
// offsetDotsF16 on 512-bit vectors, with its bits: a row's 16 lanes are one register, whose
// upper half is added to its lower before the same VHADDPS steps.
TEXT ·offsetDotsF16Z(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), R8
	MOVQ o+8(FP), SI
	MOVQ ldo+16(FP), DX
	MOVQ xs+24(FP), BX
	MOVQ nb+32(FP), CX
	MOVQ d+40(FP), DI

zquad:
	CMPQ R8, $4
	JLT  zsingle
	MOVQ SI, R9
	LEAQ (SI)(DX*1), R10
	LEAQ (SI)(DX*2), R11
	LEAQ (R10)(DX*2), R12
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	XORQ   AX, AX

zquadcol:
	CMPQ        AX, CX
	JGE         zquadsum
	VMOVUPS     (BX)(AX*4), Z8
	VCVTPH2PS   (R9)(AX*2), Z4
	VCVTPH2PS   (R10)(AX*2), Z5
	VCVTPH2PS   (R11)(AX*2), Z6
	VCVTPH2PS   (R12)(AX*2), Z7
	VFMADD231PS Z8, Z4, Z0
	VFMADD231PS Z8, Z5, Z1
	VFMADD231PS Z8, Z6, Z2
	VFMADD231PS Z8, Z7, Z3
	ADDQ        $16, AX
	JMP         zquadcol

zquadsum:
	VEXTRACTF64X4 $1, Z0, Y4
	VEXTRACTF64X4 $1, Z1, Y5
	VEXTRACTF64X4 $1, Z2, Y6
	VEXTRACTF64X4 $1, Z3, Y7
	VADDPS        Y4, Y0, Y0
	VADDPS        Y5, Y1, Y1
	VADDPS        Y6, Y2, Y2
	VADDPS        Y7, Y3, Y3
	VHADDPS       Y1, Y0, Y0
	VHADDPS       Y3, Y2, Y2
	VHADDPS       Y2, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VMOVUPS       (DI), X1
	VADDPS        X1, X0, X0
	VMOVUPS       X0, (DI)
	ADDQ          $16, DI
	LEAQ          (SI)(DX*4), SI
	SUBQ          $4, R8
	JMP           zquad

zsingle:
	TESTQ  R8, R8
	JZ     zdone
	VXORPS Z0, Z0, Z0
	XORQ   AX, AX

zsinglecol:
	CMPQ        AX, CX
	JGE         zsinglesum
	VCVTPH2PS   (SI)(AX*2), Z4
	VFMADD231PS (BX)(AX*4), Z4, Z0
	ADDQ        $16, AX
	JMP         zsinglecol

zsinglesum:
	VEXTRACTF64X4 $1, Z0, Y4
	VADDPS        Y4, Y0, Y0
	VHADDPS       Y0, Y0, Y0
	VHADDPS       Y0, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VADDSS        (DI), X0, X0
	VMOVSS        X0, (DI)
	ADDQ          $4, DI
	ADDQ          DX, SI
	DECQ          R8
	JMP           zsingle

zdone:
	VZEROUPPER
	RET

// func offsetRowsG(rows int, nb int, o *uint16, xs *float32, ldxs int, d *float32, ldd int)
// d[i·ldd/4 + r] += Σ_{b<nb} f16(o[16b+r])·xs[i·ldxs/4 + b] for r < 16 and i < rows: the
// offsets' part of a product of many rows with one group of a grouped Q4M matrix (its 16
// rows' offsets of block b side by side, as the scales are). Lane r of input row i sums its
// blocks in order with fused multiply-adds from zero; the sum is then added to d. Eight input
// rows a pass share each block's VCVTPH2PS; the rows left over go one at a time.
TEXT ·offsetRowsG(SB), NOSPLIT, $0-56
	MOVQ rows+0(FP), R8
	MOVQ nb+8(FP), CX
	MOVQ o+16(FP), SI
	MOVQ xs+24(FP), R9
	MOVQ ldxs+32(FP), R10
	MOVQ d+40(FP), DI
	MOVQ ldd+48(FP), DX
	LEAQ (R10)(R10*2), R15 // 3·ldxs

oct:
	CMPQ   R8, $8
	JLT    one
	MOVQ   R9, R11            // rows 0-3 of the eight, each with row+4 at (Rn)(R14*1)
	LEAQ   (R9)(R10*1), R12
	LEAQ   (R9)(R10*2), R13
	LEAQ   (R9)(R15*1), BX
	LEAQ   (R10*4), R14
	MOVQ   SI, AX
	MOVQ   CX, R15
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7

octblk:
	TESTQ            R15, R15
	JZ               octsum
	VCVTPH2PS        (AX), Z8
	VFMADD231PS.BCST (R11), Z8, Z0
	VFMADD231PS.BCST (R12), Z8, Z1
	VFMADD231PS.BCST (R13), Z8, Z2
	VFMADD231PS.BCST (BX), Z8, Z3
	VFMADD231PS.BCST (R11)(R14*1), Z8, Z4
	VFMADD231PS.BCST (R12)(R14*1), Z8, Z5
	VFMADD231PS.BCST (R13)(R14*1), Z8, Z6
	VFMADD231PS.BCST (BX)(R14*1), Z8, Z7
	ADDQ             $32, AX
	ADDQ             $4, R11
	ADDQ             $4, R12
	ADDQ             $4, R13
	ADDQ             $4, BX
	DECQ             R15
	JMP              octblk

octsum:
	MOVQ    DI, R11
	VADDPS  (R11), Z0, Z0
	VMOVUPS Z0, (R11)
	ADDQ    DX, R11
	VADDPS  (R11), Z1, Z1
	VMOVUPS Z1, (R11)
	ADDQ    DX, R11
	VADDPS  (R11), Z2, Z2
	VMOVUPS Z2, (R11)
	ADDQ    DX, R11
	VADDPS  (R11), Z3, Z3
	VMOVUPS Z3, (R11)
	ADDQ    DX, R11
	VADDPS  (R11), Z4, Z4
	VMOVUPS Z4, (R11)
	ADDQ    DX, R11
	VADDPS  (R11), Z5, Z5
	VMOVUPS Z5, (R11)
	ADDQ    DX, R11
	VADDPS  (R11), Z6, Z6
	VMOVUPS Z6, (R11)
	ADDQ    DX, R11
	VADDPS  (R11), Z7, Z7
	VMOVUPS Z7, (R11)
	LEAQ    (DX)(R11*1), DI
	LEAQ    (R9)(R10*8), R9
	LEAQ    (R10)(R10*2), R15
	SUBQ    $8, R8
	JMP     oct

one:
	TESTQ  R8, R8
	JZ     done
	MOVQ   R9, R11
	MOVQ   SI, AX
	MOVQ   CX, R15
	VXORPS Z0, Z0, Z0

oneblk:
	TESTQ            R15, R15
	JZ               onesum
	VCVTPH2PS        (AX), Z8
	VFMADD231PS.BCST (R11), Z8, Z0
	ADDQ             $32, AX
	ADDQ             $4, R11
	DECQ             R15
	JMP              oneblk

onesum:
	VADDPS  (DI), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    DX, DI
	ADDQ    R10, R9
	DECQ    R8
	JMP     one

done:
	VZEROUPPER
	RET
