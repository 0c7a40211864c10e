package compute

import "math"

// RoPETable fills rows lo ≤ ti < hi of tab, the rotary embedding's cos/sin table for
// positions pos0+ti: row ti is tab[2·ti·half : 2·(ti+1)·half] with half = headDim/2, its half
// cosines then its half sines. Every backend's RoPE builds its table here, so that they rotate
// by the same bits. As in transformers, everything is float32 up to cos and sin:
// inv_freq[i] = 1/theta^(float32(2i)/headDim), angle = float32(pos)·inv_freq[i]. Disjoint row
// ranges may be filled concurrently.
func RoPETable(tab []float32, headDim, pos0, lo, hi int, theta float32) {
	half := headDim / 2
	invFreq := make([]float32, half)
	for i := range invFreq {
		e := float32(2*i) / float32(headDim)
		invFreq[i] = 1 / float32(math.Pow(float64(theta), float64(e)))
	}
	for ti := lo; ti < hi; ti++ {
		pos := float32(pos0 + ti)
		row := tab[2*ti*half : 2*(ti+1)*half]
		for i, f := range invFreq {
			a := float64(pos * f)
			row[i] = float32(math.Cos(a))
			row[half+i] = float32(math.Sin(a))
		}
	}
}
