package cpu

// Linear computes dst[M,N] = x[M,K]·w[N,K]ᵀ (+ bias[N]); w may be F32, F16 or BF16.
func (b *Backend) Linear(dst, x, w, bias *Tensor) {
	const op = "Linear"
	d, xs := f32(op, "dst", dst), f32(op, "x", x)
	wf, wh, bf16 := weight(op, "w", w)
	check(len(w.Shape) == 2, op, "w %v is not [N, K]", w)
	n, k := w.Shape[0], w.Shape[1]
	check(x.Dim(-1) == k, op, "x %v does not end in K=%d of w %v", x, k, w)
	m := x.Rows()
	check(dst.Dim(-1) == n && len(d) == m*n, op, "dst %v is not [%d, %d] for x %v and w %v", dst, m, n, x, w)
	var bs []float32
	if bias != nil {
		bs = f32(op, "bias", bias)
		check(len(bs) == n, op, "bias %v does not have N=%d elements", bias, n)
	}
	check(!overlaps(d, xs), op, "dst overlaps x")
	b.pool.run(n, b.pool.grain(n, m*k), func(lo, hi int) {
		var row []float32
		if wf == nil {
			row = make([]float32, k)
		}
		for j := lo; j < hi; j++ {
			if wf != nil {
				row = wf[j*k : (j+1)*k]
			} else {
				widen(row, wh[j*k:(j+1)*k], bf16)
			}
			for i := range m {
				s := dot(xs[i*k:(i+1)*k], row)
				if bs != nil {
					s += bs[j]
				}
				d[i*n+j] = s
			}
		}
	})
}
