package cpu

import "unsafe"

// The inner kernels of Linear, Conv2D and Attention. Each computes one small tile of dot
// products of rows that are contiguous along K: a 2×2 tile (two rows of a against two rows
// of b), a 1×4 tile, or a single dot product, for float32 rows or for BF16 rows widened in
// registers.
//
// Every kernel sums each dot product strictly in order of k, one product at a time, starting
// from 0 or from the value already in c (acc). So a result does not depend on which kernel
// computed it, on the tiling, on K-blocking (a partial sum stored in c and resumed continues
// the same sequence), or on the thread count. Each product is rounded to float32 before it
// is added (the explicit float32 conversions): Go may fuse a*b+c into one multiply-add, and
// does on arm64 but not on amd64, which would make the same kernels round differently on the
// two.
//
// Why they look like this: the Go compiler keeps scalar float32 code in SSE registers and
// schedules every multiply of a loop body before the adds that close it, so a classic
// packed outer-product micro-kernel with 16 accumulators spills; a few dot products
// unrolled by four along K keep every value in a register and reach roughly one
// multiply-add per cycle. They read through unsafe pointers after one bounds check of the
// last element each row touches, so the loops carry no bounds checks; every pointer is the
// row's base plus an offset inside the row (Go forbids pointers past an allocation's end).
// They are the generic kernel set; on CPUs with AVX2 and FMA (or AVX-512) the assembly
// tiles of simd_amd64.go run instead (Backend.tile and the SIMD branches of Linear and Attention).

// simdSet names a set of assembly kernels: each sums a dot product in its own fixed order
// (doc.go), so a Backend uses one set for every op.
type simdSet int

const (
	simdNone   simdSet = iota // the generic Go kernels of this file
	simdAVX2                  // AVX2+FMA, 8-float vectors
	simdAVX512                // AVX-512 (F, BW, VL) tiles, 16-float vectors
	simdNEON                  // arm64 NEON tiles (kernels_arm64.s), 8 lanes in two vectors
)

// String is the name Backend.Kernels reports.
func (s simdSet) String() string {
	switch s {
	case simdAVX2:
		return "avx2-fma"
	case simdAVX512:
		return "avx512"
	case simdNEON:
		return "neon"
	}
	return "generic"
}

// dotBlock is the K block of the SIMD kernels: every dot product is summed in pieces of
// dotBlock products starting at k = 0, each piece lane by lane, the pieces added in order
// through c. It equals gemmK so that Linear's and Conv2D's own K blocks cut at the same
// places and a dot product comes out the same from every op path.
const dotBlock = gemmK

// tile dispatches to the Backend's kernel set; see the package-level tile.
func (b *Backend) tile(c []float32, ldc int, a []float32, lda int, w []float32, ldb int, rows, cols, k int, acc bool) {
	if b.simd != simdNone {
		tileSIMD(b.simd, c, ldc, a, lda, w, ldb, rows, cols, k, acc)
		return
	}
	tile(c, ldc, a, lda, w, ldb, rows, cols, k, acc)
}

// zeroTile clears a rows×cols tile of c unless acc (the k = 0 case: empty sums).
func zeroTile(c []float32, ldc, rows, cols int, acc bool) {
	if acc {
		return
	}
	for i := range rows {
		clear(c[i*ldc : i*ldc+cols])
	}
}

// dot2x2 computes c[i*ldc+j] (+)= Σ_p a[i*lda+p]·b[j*ldb+p] for i, j in {0, 1}.
func dot2x2(k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	if k <= 0 {
		if !acc {
			c[0], c[1], c[ldc], c[ldc+1] = 0, 0, 0, 0
		}
		return
	}
	_, _, _ = a[lda+k-1], b[ldb+k-1], c[ldc+1]
	pa, pb := unsafe.Pointer(unsafe.SliceData(a)), unsafe.Pointer(unsafe.SliceData(b))
	sa, sb := uintptr(lda)*4, uintptr(ldb)*4
	var c00, c01, c10, c11 float32
	if acc {
		c00, c01, c10, c11 = c[0], c[1], c[ldc], c[ldc+1]
	}
	p := 0
	for ; p+4 <= k; p += 4 {
		o := uintptr(p) * 4
		a0 := (*[4]float32)(unsafe.Add(pa, o))
		a1 := (*[4]float32)(unsafe.Add(pa, sa+o))
		b0 := (*[4]float32)(unsafe.Add(pb, o))
		b1 := (*[4]float32)(unsafe.Add(pb, sb+o))
		c00 = c00 + float32(a0[0]*b0[0]) + float32(a0[1]*b0[1]) + float32(a0[2]*b0[2]) + float32(a0[3]*b0[3])
		c01 = c01 + float32(a0[0]*b1[0]) + float32(a0[1]*b1[1]) + float32(a0[2]*b1[2]) + float32(a0[3]*b1[3])
		c10 = c10 + float32(a1[0]*b0[0]) + float32(a1[1]*b0[1]) + float32(a1[2]*b0[2]) + float32(a1[3]*b0[3])
		c11 = c11 + float32(a1[0]*b1[0]) + float32(a1[1]*b1[1]) + float32(a1[2]*b1[2]) + float32(a1[3]*b1[3])
	}
	for ; p < k; p++ {
		o := uintptr(p) * 4
		a0, a1 := *(*float32)(unsafe.Add(pa, o)), *(*float32)(unsafe.Add(pa, sa+o))
		b0, b1 := *(*float32)(unsafe.Add(pb, o)), *(*float32)(unsafe.Add(pb, sb+o))
		c00 += float32(a0 * b0)
		c01 += float32(a0 * b1)
		c10 += float32(a1 * b0)
		c11 += float32(a1 * b1)
	}
	c[0], c[1], c[ldc], c[ldc+1] = c00, c01, c10, c11
}

// dot1x4 computes c[j] (+)= Σ_p a[p]·b[j*ldb+p] for j in 0..3.
func dot1x4(k int, a []float32, b []float32, ldb int, c []float32, acc bool) {
	if k <= 0 {
		if !acc {
			c[0], c[1], c[2], c[3] = 0, 0, 0, 0
		}
		return
	}
	_, _, _ = a[k-1], b[3*ldb+k-1], c[3]
	pa, pb := unsafe.Pointer(unsafe.SliceData(a)), unsafe.Pointer(unsafe.SliceData(b))
	sb := uintptr(ldb) * 4
	var c0, c1, c2, c3 float32
	if acc {
		c0, c1, c2, c3 = c[0], c[1], c[2], c[3]
	}
	p := 0
	for ; p+4 <= k; p += 4 {
		o := uintptr(p) * 4
		x := (*[4]float32)(unsafe.Add(pa, o))
		b0 := (*[4]float32)(unsafe.Add(pb, o))
		b1 := (*[4]float32)(unsafe.Add(pb, sb+o))
		b2 := (*[4]float32)(unsafe.Add(pb, 2*sb+o))
		b3 := (*[4]float32)(unsafe.Add(pb, 3*sb+o))
		c0 = c0 + float32(x[0]*b0[0]) + float32(x[1]*b0[1]) + float32(x[2]*b0[2]) + float32(x[3]*b0[3])
		c1 = c1 + float32(x[0]*b1[0]) + float32(x[1]*b1[1]) + float32(x[2]*b1[2]) + float32(x[3]*b1[3])
		c2 = c2 + float32(x[0]*b2[0]) + float32(x[1]*b2[1]) + float32(x[2]*b2[2]) + float32(x[3]*b2[3])
		c3 = c3 + float32(x[0]*b3[0]) + float32(x[1]*b3[1]) + float32(x[2]*b3[2]) + float32(x[3]*b3[3])
	}
	for ; p < k; p++ {
		o := uintptr(p) * 4
		x := *(*float32)(unsafe.Add(pa, o))
		c0 += float32(x * *(*float32)(unsafe.Add(pb, o)))
		c1 += float32(x * *(*float32)(unsafe.Add(pb, sb+o)))
		c2 += float32(x * *(*float32)(unsafe.Add(pb, 2*sb+o)))
		c3 += float32(x * *(*float32)(unsafe.Add(pb, 3*sb+o)))
	}
	c[0], c[1], c[2], c[3] = c0, c1, c2, c3
}

// dot1x1 returns s + Σ_p a[p]·b[p] over len(a), summed in order.
func dot1x1(s float32, a, b []float32) float32 {
	b = b[:len(a)]
	p := 0
	for ; p+4 <= len(a); p += 4 {
		x, y := (*[4]float32)(a[p:]), (*[4]float32)(b[p:])
		s = s + float32(x[0]*y[0]) + float32(x[1]*y[1]) + float32(x[2]*y[2]) + float32(x[3]*y[3])
	}
	for ; p < len(a); p++ {
		s += float32(a[p] * b[p])
	}
	return s
}

// bf16Lo and bf16Hi widen the low and high BF16 halves of a 32-bit word.
func bf16Lo(u uint32) float32 { return f32frombits(u << 16) }
func bf16Hi(u uint32) float32 { return f32frombits(u & 0xffff0000) }

func f32frombits(u uint32) float32 { return *(*float32)(unsafe.Pointer(&u)) }

// load4BF16 reads four BF16 values as two 32-bit words in one unaligned 64-bit load (a
// byte-array view, so no alignment is assumed).
func load4BF16(p unsafe.Pointer) [2]uint32 {
	b := (*[8]byte)(p)
	u := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
	return [2]uint32{uint32(u), uint32(u >> 32)}
}

// dot1x4BF16 computes c[j] (+)= Σ_p a[p]·widen(b[j*ldb+p]) for j in 0..3 with BF16 rows b,
// loading four weights per 64-bit read.
func dot1x4BF16(k int, a []float32, b []uint16, ldb int, c []float32, acc bool) {
	if k <= 0 {
		if !acc {
			c[0], c[1], c[2], c[3] = 0, 0, 0, 0
		}
		return
	}
	_, _, _ = a[k-1], b[3*ldb+k-1], c[3]
	pa, pb := unsafe.Pointer(unsafe.SliceData(a)), unsafe.Pointer(unsafe.SliceData(b))
	sb := uintptr(ldb) * 2
	var c0, c1, c2, c3 float32
	if acc {
		c0, c1, c2, c3 = c[0], c[1], c[2], c[3]
	}
	p := 0
	for ; p+4 <= k; p += 4 {
		o, ob := uintptr(p)*4, uintptr(p)*2
		x := (*[4]float32)(unsafe.Add(pa, o))
		w0 := load4BF16(unsafe.Add(pb, ob))
		w1 := load4BF16(unsafe.Add(pb, sb+ob))
		w2 := load4BF16(unsafe.Add(pb, 2*sb+ob))
		w3 := load4BF16(unsafe.Add(pb, 3*sb+ob))
		c0 = c0 + float32(x[0]*bf16Lo(w0[0])) + float32(x[1]*bf16Hi(w0[0])) + float32(x[2]*bf16Lo(w0[1])) + float32(x[3]*bf16Hi(w0[1]))
		c1 = c1 + float32(x[0]*bf16Lo(w1[0])) + float32(x[1]*bf16Hi(w1[0])) + float32(x[2]*bf16Lo(w1[1])) + float32(x[3]*bf16Hi(w1[1]))
		c2 = c2 + float32(x[0]*bf16Lo(w2[0])) + float32(x[1]*bf16Hi(w2[0])) + float32(x[2]*bf16Lo(w2[1])) + float32(x[3]*bf16Hi(w2[1]))
		c3 = c3 + float32(x[0]*bf16Lo(w3[0])) + float32(x[1]*bf16Hi(w3[0])) + float32(x[2]*bf16Lo(w3[1])) + float32(x[3]*bf16Hi(w3[1]))
	}
	for ; p < k; p++ {
		o, ob := uintptr(p)*4, uintptr(p)*2
		x := *(*float32)(unsafe.Add(pa, o))
		c0 += float32(x * bf16Lo(uint32(*(*uint16)(unsafe.Add(pb, ob)))))
		c1 += float32(x * bf16Lo(uint32(*(*uint16)(unsafe.Add(pb, sb+ob)))))
		c2 += float32(x * bf16Lo(uint32(*(*uint16)(unsafe.Add(pb, 2*sb+ob)))))
		c3 += float32(x * bf16Lo(uint32(*(*uint16)(unsafe.Add(pb, 3*sb+ob)))))
	}
	c[0], c[1], c[2], c[3] = c0, c1, c2, c3
}

// dot1x1BF16 returns s + Σ_p a[p]·widen(b[p]) over len(a), summed in order.
func dot1x1BF16(s float32, a []float32, b []uint16) float32 {
	b = b[:len(a)]
	for p, h := range b {
		s += float32(a[p] * bf16Lo(uint32(h)))
	}
	return s
}

// dot2x2BF16 is dot2x2 with BF16 rows b, widened in registers.
func dot2x2BF16(k int, a []float32, lda int, b []uint16, ldb int, c []float32, ldc int, acc bool) {
	if k <= 0 {
		if !acc {
			c[0], c[1], c[ldc], c[ldc+1] = 0, 0, 0, 0
		}
		return
	}
	_, _, _ = a[lda+k-1], b[ldb+k-1], c[ldc+1]
	pa, pb := unsafe.Pointer(unsafe.SliceData(a)), unsafe.Pointer(unsafe.SliceData(b))
	sa, sb := uintptr(lda)*4, uintptr(ldb)*2
	var c00, c01, c10, c11 float32
	if acc {
		c00, c01, c10, c11 = c[0], c[1], c[ldc], c[ldc+1]
	}
	p := 0
	for ; p+4 <= k; p += 4 {
		o, ob := uintptr(p)*4, uintptr(p)*2
		a0 := (*[4]float32)(unsafe.Add(pa, o))
		a1 := (*[4]float32)(unsafe.Add(pa, sa+o))
		w0 := load4BF16(unsafe.Add(pb, ob))
		w1 := load4BF16(unsafe.Add(pb, sb+ob))
		b00, b01, b02, b03 := bf16Lo(w0[0]), bf16Hi(w0[0]), bf16Lo(w0[1]), bf16Hi(w0[1])
		b10, b11, b12, b13 := bf16Lo(w1[0]), bf16Hi(w1[0]), bf16Lo(w1[1]), bf16Hi(w1[1])
		c00 = c00 + float32(a0[0]*b00) + float32(a0[1]*b01) + float32(a0[2]*b02) + float32(a0[3]*b03)
		c01 = c01 + float32(a0[0]*b10) + float32(a0[1]*b11) + float32(a0[2]*b12) + float32(a0[3]*b13)
		c10 = c10 + float32(a1[0]*b00) + float32(a1[1]*b01) + float32(a1[2]*b02) + float32(a1[3]*b03)
		c11 = c11 + float32(a1[0]*b10) + float32(a1[1]*b11) + float32(a1[2]*b12) + float32(a1[3]*b13)
	}
	for ; p < k; p++ {
		o, ob := uintptr(p)*4, uintptr(p)*2
		a0, a1 := *(*float32)(unsafe.Add(pa, o)), *(*float32)(unsafe.Add(pa, sa+o))
		b0 := bf16Lo(uint32(*(*uint16)(unsafe.Add(pb, ob))))
		b1 := bf16Lo(uint32(*(*uint16)(unsafe.Add(pb, sb+ob))))
		c00 += float32(a0 * b0)
		c01 += float32(a0 * b1)
		c10 += float32(a1 * b0)
		c11 += float32(a1 * b1)
	}
	c[0], c[1], c[ldc], c[ldc+1] = c00, c01, c10, c11
}

// widenBF16 converts src to float32 in dst with integer operations only, four values per
// 64-bit load.
func widenBF16(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	i := 0
	for ; i+4 <= len(src); i += 4 {
		w := load4BF16(unsafe.Pointer(&src[i]))
		o := (*[4]uint32)(unsafe.Pointer(&dst[i]))
		o[0], o[1], o[2], o[3] = w[0]<<16, w[0]&0xffff0000, w[1]<<16, w[1]&0xffff0000
	}
	for ; i < len(src); i++ {
		dst[i] = bf16Lo(uint32(src[i]))
	}
}
