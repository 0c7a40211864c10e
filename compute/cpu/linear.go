package cpu

// Tiling of Linear. Tasks are fixed blocks of the output, so the work split never depends on
// the thread count; the kernels' in-order sums make results independent of the tiling too.
const (
	gemvRows  = 16  // weight rows per task when M == 1
	smallRows = 16  // up to this many x rows, BF16 weights are widened in registers
	gemmCols  = 32  // weight rows (output columns) per task, even
	gemmRows  = 96  // x rows per task, a multiple of 2 and 3 (the kernels' tile heights)
	gemmK     = 512 // K block: a weight panel of gemmCols×gemmK floats stays in L2
)

// Linear computes dst[M,N] = x[M,K]·w[N,K]ᵀ (+ bias[N]); w may be F32, F16 or BF16.
func (b *Backend) Linear(dst, x, w, bias *Tensor) {
	const op = "Linear"
	d, xs := f32(op, "dst", dst), f32(op, "x", x)
	if w != nil && w.DType.Quantized() {
		b.linearQ(op, d, xs, dst, x, w, bias)
		return
	}
	wf, wh, bf16 := weight(op, "w", w)
	check(len(w.Shape) == 2, op, "w %v is not [N, K]", w)
	n, k := w.Shape[0], w.Shape[1]
	m, bs := linearArgs(op, d, xs, dst, x, w, bias, n, k)
	if m == 0 || n == 0 {
		return
	}
	if m == 1 && (wf != nil || bf16) {
		b.gemv(d, xs, k, n, wf, wh, bs)
		return
	}
	if b.bf16Rows(m, k) {
		b.gemmFast(d, xs, m, k, n, wf, wh, bf16, nil, bs)
		return
	}
	if m <= smallRows && bf16 {
		b.gemmSmall(d, xs, m, k, n, wh, bs)
		return
	}
	b.gemm(d, xs, m, k, n, wf, wh, bf16, nil, bs)
}

// gemv is Linear for one row: memory-bound, it streams the weights once, four rows at a
// time, widening BF16 in registers.
func (b *Backend) gemv(d, x []float32, k, n int, wf []float32, wh []uint16, bias []float32) {
	blocks := (n + gemvRows - 1) / gemvRows
	b.pool.run(blocks, max(1, (1<<16)/(gemvRows*max(k, 1))), func(lo, hi int) {
		if b.simd != simdNone {
			j0, j1 := lo*gemvRows, min(hi*gemvRows, n)
			if wf != nil {
				tileSIMD(b.simd, d[j0:], n, x, k, wf[j0*k:], k, 1, j1-j0, k, false)
			} else {
				tileBF16SIMD(b.simd, d[j0:], n, x, k, wh[j0*k:], k, 1, j1-j0, k, false)
			}
			addBias(d[j0:j1], bias, j0)
			return
		}
		for j := lo * gemvRows; j < min(hi*gemvRows, n); {
			if j+4 <= min(hi*gemvRows, n) {
				if wf != nil {
					dot1x4(k, x, wf[j*k:], k, d[j:], false)
				} else {
					dot1x4BF16(k, x, wh[j*k:], k, d[j:], false)
				}
				j += 4
				continue
			}
			if wf != nil {
				d[j] = dot1x1(0, x[:k], wf[j*k:(j+1)*k])
			} else {
				d[j] = dot1x1BF16(0, x[:k], wh[j*k:(j+1)*k])
			}
			j++
		}
		if bias != nil {
			for j := lo * gemvRows; j < min(hi*gemvRows, n); j++ {
				d[j] += bias[j]
			}
		}
	})
}

// gemmSmall is Linear for a few rows (batched decoding) with BF16 weights: like gemv it
// reads every weight once from memory and widens it in registers, but uses each widened
// pair of weight rows (assembly kernels: each widened K block of four rows) for all the x
// rows while it is in L1.
func (b *Backend) gemmSmall(d, x []float32, m, k, n int, w []uint16, bias []float32) {
	blocks := (n + gemmCols - 1) / gemmCols
	b.pool.run(blocks, 1, func(lo, hi int) {
		if b.simd != simdNone {
			j0, j1 := lo*gemmCols, min(hi*gemmCols, n)
			tileBF16SIMD(b.simd, d[j0:], n, x, k, w[j0*k:], k, m, j1-j0, k, false)
			for i := range m {
				addBias(d[i*n+j0:i*n+j1], bias, j0)
			}
			return
		}
		for j := lo * gemmCols; j < min(hi*gemmCols, n); j += 2 {
			if j+1 == n {
				for i := range m {
					d[i*n+j] = dot1x1BF16(0, x[i*k:(i+1)*k], w[j*k:(j+1)*k])
				}
				break
			}
			i := 0
			for ; i+2 <= m; i += 2 {
				dot2x2BF16(k, x[i*k:], k, w[j*k:], k, d[i*n+j:], n, false)
			}
			if i < m {
				d[i*n+j] = dot1x1BF16(0, x[i*k:(i+1)*k], w[j*k:(j+1)*k])
				d[i*n+j+1] = dot1x1BF16(0, x[i*k:(i+1)*k], w[(j+1)*k:(j+2)*k])
			}
		}
		if bias != nil {
			for i := range m {
				row := d[i*n+lo*gemmCols : i*n+min(hi*gemmCols, n)]
				for j := range row {
					row[j] += bias[lo*gemmCols+j]
				}
			}
		}
	})
}

// gemm is Linear for several rows: tasks are gemmRows×gemmCols blocks of dst; each walks K
// in gemmK steps, copying (and widening) its weight panel into scratch first, and covers the
// block with 2×2 tiles (1×4 and single dot products at odd edges).
func (b *Backend) gemm(d, x []float32, m, k, n int, wf []float32, wh []uint16, bf16 bool, wq *qweight, bias []float32) {
	colBlocks := (n + gemmCols - 1) / gemmCols
	rowBlocks := (m + gemmRows - 1) / gemmRows
	b.pool.run(colBlocks*rowBlocks, 1, func(lo, hi int) {
		panel := b.getScratch(gemmCols * min(k, gemmK))
		defer b.putScratch(panel)
		for task := lo; task < hi; task++ {
			n0, m0 := (task%colBlocks)*gemmCols, (task/colBlocks)*gemmRows
			n1, m1 := min(n0+gemmCols, n), min(m0+gemmRows, m)
			if k == 0 {
				for i := m0; i < m1; i++ {
					clear(d[i*n+n0 : i*n+n1])
				}
			}
			for k0 := 0; k0 < k; k0 += gemmK {
				kl := min(gemmK, k-k0)
				// A contiguous copy of the panel: rows K apart would map to the same
				// cache sets whenever K is a multiple of 1024.
				for j := n0; j < n1; j++ {
					row := panel[(j-n0)*kl : (j-n0+1)*kl]
					switch {
					case wq != nil:
						wq.dequant(row, j, k0/qBlock)
					case wf != nil:
						copy(row, wf[j*k+k0:j*k+k0+kl])
					default:
						widen(row, wh[j*k+k0:j*k+k0+kl], bf16)
					}
				}
				b.tile(d[m0*n+n0:], n, x[m0*k+k0:], k, panel, kl, m1-m0, n1-n0, kl, k0 > 0)
			}
			if bias != nil {
				for i := m0; i < m1; i++ {
					row := d[i*n+n0 : i*n+n1]
					for j := range row {
						row[j] += bias[n0+j]
					}
				}
			}
		}
	})
}

// tile computes c[i*ldc+j] (+)= Σ_p a[i*lda+p]·b[j*ldb+p] for i < rows, j < cols with the
// 2×2 kernel, and the 1×4 and 1×1 kernels on odd edges.
func tile(c []float32, ldc int, a []float32, lda int, b []float32, ldb int, rows, cols, k int, acc bool) {
	i := 0
	for ; i+2 <= rows; i += 2 {
		j := 0
		for ; j+2 <= cols; j += 2 {
			dot2x2(k, a[i*lda:], lda, b[j*ldb:], ldb, c[i*ldc+j:], ldc, acc)
		}
		if j < cols {
			for r := i; r < i+2; r++ {
				var s float32
				if acc {
					s = c[r*ldc+j]
				}
				c[r*ldc+j] = dot1x1(s, a[r*lda:r*lda+k], b[j*ldb:j*ldb+k])
			}
		}
	}
	if i < rows {
		j := 0
		for ; j+4 <= cols; j += 4 {
			dot1x4(k, a[i*lda:], b[j*ldb:], ldb, c[i*ldc+j:], acc)
		}
		for ; j < cols; j++ {
			var s float32
			if acc {
				s = c[i*ldc+j]
			}
			c[i*ldc+j] = dot1x1(s, a[i*lda:i*lda+k], b[j*ldb:j*ldb+k])
		}
	}
}

// addBias adds bias[j0+j] to row[j]; a nil bias adds nothing.
func addBias(row, bias []float32, j0 int) {
	if bias == nil {
		return
	}
	for j := range row {
		row[j] += bias[j0+j]
	}
}

// getScratch returns a buffer of n floats (not zeroed) from the Backend's recycled per-task
// buffers (weight panels, im2col blocks, score rows).
func (b *Backend) getScratch(n int) []float32 {
	if p, ok := b.scratch.Get().(*[]float32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]float32, n)
}

func (b *Backend) putScratch(s []float32) { b.scratch.Put(&s) }

// linearArgs checks x, dst and bias of a Linear whose weight w is [n, k], and returns x's
// rows and the bias.
func linearArgs(op string, d, xs []float32, dst, x, w, bias *Tensor, n, k int) (int, []float32) {
	if len(x.Shape) == 0 || x.Dim(-1) != k {
		fail(op, "x %v does not end in K=%d of w %v", x, k, w)
	}
	m := x.Rows()
	if len(dst.Shape) == 0 || dst.Dim(-1) != n || len(d) != m*n {
		fail(op, "dst %v is not [%d, %d] for x %v and w %v", dst, m, n, x, w)
	}
	var bs []float32
	if bias != nil {
		bs = f32(op, "bias", bias)
		check(len(bs) == n, op, "bias %v does not have N=%d elements", bias, n)
	}
	check(!overlaps(d, xs), op, "dst overlaps x")
	return m, bs
}

// bf16Rows reports whether Linear takes m rows of x against a matrix of K = k through the
// BF16 products of the fast precision (gemmFast).
func (b *Backend) bf16Rows(m, k int) bool {
	return b.bf16 && m >= bf16MinRows && k%2 == 0
}

// int8Rows reports whether Linear takes m rows of x against a quantized matrix through the
// int8 products (linearQuantized) rather than dequantized weight panels: few rows, or any
// number where the backend takes every row count there (int8AllRows).
func (b *Backend) int8Rows(m int) bool { return m <= qFewRows || b.int8AllRows }

// linearQ checks the shapes of a Linear with quantized weights (Q8, Q4 or Q4M) and runs it.
func (b *Backend) linearQ(op string, d, xs []float32, dst, x, w, bias *Tensor) {
	qw := quantized(op, "w", w)
	n, k := qw.n, qw.k
	m, bs := linearArgs(op, d, xs, dst, x, w, bias, n, k)
	if m == 0 || n == 0 {
		return
	}
	switch {
	case b.int8Rows(m):
		// Many rows too where int8Prompts: a VPDPBUSD does twice a VDPBF16PS's products. The
		// activations are rounded to int8 rather than BF16, as a token step's are, and a
		// row's result does not depend on the rows beside it.
		b.linearQuantized(d, xs, m, qw, bs)
	case b.bf16Rows(m, k):
		// The BF16 products take Q4M's Q4 part (a grouped matrix's panels packed straight
		// from its codes), then linearOffsets adds the offsets' part.
		q := qw // taking qw's address would move it to the heap for token steps too
		q.o = nil
		b.gemmFast(d, xs, m, k, n, nil, nil, false, &q, bs)
		if qw.o != nil {
			b.linearOffsets(d, xs, m, qw)
		}
	default:
		// Many rows: dequantized weight panels through the float32 tiles, which reach far
		// more of the FMA peak than the int8 dot products with their per-block scaling do
		// here, and keep the activations exact.
		q := qw
		b.gemm(d, xs, m, k, n, nil, nil, false, &q, bs)
	}
}

// qFewRows is the most rows Linear with quantized weights takes through the int8 kernels
// (with int8AllRows, any number); more dequantize weight panels for the float32 or BF16
// tiles. Sixteen is the guided rows
// of eight images: through the int8 kernels each row's result does not depend on the rows
// beside it, so each image of a run is the one its seed gives alone (the dequantized
// products' last bits differed, and sampling drifted), and on the Zen 5 development machine
// a step of eight images took half the time it took on the BF16 tiles (docs/performance.md).
const qFewRows = 16
