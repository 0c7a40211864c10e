//go:build amd64 && !purego

package cpu

import (
	"fmt"
	"unsafe"
)

// attnRowsQ8 reports whether set has the kernels that read a Q8 cache row by row in a
// decoding step's Attention (scoresRowQ8, accRowsQ8): the AVX-512 set, as for an F16 cache.
func attnRowsQ8(set simdSet) bool { return set == simdAVX512 }

// scoresRowQ8 sets c[h·ldc] = q[h·n:(h+1)·n]·dequant(k[h·kstep:h·kstep+n]) for h < heads, k's
// scales in ks (a block's at the block's index, from k's start), with the bits tileSIMD gives
// the dequantized keys on the AVX-512 set (n a multiple of 32, at most dotBlock), and
// prefetches the codes pf on.
func scoresRowQ8(n int, q []float32, k []byte, ks []uint16, heads, kstep int, c []float32, ldc, pf int) {
	if n <= 0 || n%qBlock != 0 || n > dotBlock || kstep%qBlock != 0 {
		panic(fmt.Sprintf("cpu: Q8 key rows of %d (%d apart), not a multiple of %d up to %d", n, kstep, qBlock, dotBlock))
	}
	last := (heads-1)*kstep + n
	_, _, _, _ = q[heads*n-1], k[last-1], ks[last/qBlock-1], c[(heads-1)*ldc]
	scoresQ8x16(n, unsafe.SliceData(q), unsafe.SliceData(k), unsafe.SliceData(ks), heads, kstep, unsafe.SliceData(c), 4*ldc, pf)
}

// accRowsQ8 adds p[h·pstep+j]·dequant(v[j·ldv+h·vstep+i]) to out[h·n+i] for h < heads, j <
// rows in order and i < n (a multiple of 64), one fused multiply-add each as accRowsSIMD
// does, v's scales in vs (a block's at the block's index, from v's start), and prefetches
// the codes pf on.
func accRowsQ8(n int, p []float32, pstep int, v []byte, vs []uint16, ldv, rows, heads, vstep int, out []float32, pf int) {
	if rows <= 0 || heads <= 0 {
		return
	}
	if n%64 != 0 || ldv%qBlock != 0 || vstep%qBlock != 0 {
		panic(fmt.Sprintf("cpu: Q8 value rows of %d (%d and %d apart), not a multiple of 64", n, ldv, vstep))
	}
	last := (rows-1)*ldv + (heads-1)*vstep + n
	_, _, _, _ = p[(heads-1)*pstep+rows-1], v[last-1], vs[last/qBlock-1], out[heads*n-1]
	if n%128 == 0 {
		accQ8x128(n, unsafe.SliceData(p), 4*pstep, unsafe.SliceData(v), unsafe.SliceData(vs), ldv, rows, heads, vstep, unsafe.SliceData(out), pf)
		return
	}
	accQ8x64(n, unsafe.SliceData(p), 4*pstep, unsafe.SliceData(v), unsafe.SliceData(vs), ldv, rows, heads, vstep, unsafe.SliceData(out), pf)
}
