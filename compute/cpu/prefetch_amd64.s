//go:build amd64 && !purego

#include "textflag.h"

// func prefetchLines(p uintptr, n int, stride int)
//
// Asks for the lines at p, p+stride, … (n of them) to be brought into L2. A prefetch never
// faults, so p may lie past the end of an allocation.
TEXT ·prefetchLines(SB), NOSPLIT, $0-24
	MOVQ  p+0(FP), SI
	MOVQ  n+8(FP), CX
	MOVQ  stride+16(FP), DX
	TESTQ CX, CX
	JZ    done

loop:
	PREFETCHT1 (SI)
	ADDQ       DX, SI
	DECQ       CX
	JNZ        loop

done:
	RET
