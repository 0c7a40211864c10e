package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestIm2col checks im2col's patch values, through its copy of whole runs where a pixel's
// patch reads no padding and its value-by-value path elsewhere, against the definition, for
// K blocks that cut patches anywhere, strides, paddings and kernels of 1 to 5.
func TestIm2col(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	for _, g := range []convGeometry{
		{cin: 3, h: 9, w: 11, kh: 3, kw: 3, stride: 1, pad: 1},
		{cin: 2, h: 8, w: 7, kh: 3, kw: 3, stride: 2, pad: 1},
		{cin: 4, h: 6, w: 10, kh: 1, kw: 1, stride: 1, pad: 0},
		{cin: 2, h: 9, w: 9, kh: 5, kw: 5, stride: 1, pad: 2},
		{cin: 3, h: 5, w: 8, kh: 2, kw: 3, stride: 1, pad: 0},
		{cin: 2, h: 16, w: 16, kh: 4, kw: 4, stride: 4, pad: 0},
	} {
		ho := (g.h+2*g.pad-g.kh)/g.stride + 1
		g.wo = (g.w+2*g.pad-g.kw)/g.stride + 1
		in := randVals(rng, g.cin*g.h*g.w, 1)
		kk, pix := g.cin*g.kh*g.kw, ho*g.wo
		for _, kl := range []int{kk, 7, 5} {
			t.Run(fmt.Sprintf("%+v/kl=%d", g, kl), func(t *testing.T) {
				for k0 := 0; k0 < kk; k0 += kl {
					n := min(kl, kk-k0)
					p0 := pix / 3 // Conv2D hands out pixels from anywhere
					col := make([]float32, (pix-p0)*n)
					g.im2col(col, in, p0, pix, k0, n)
					for p := p0; p < pix; p++ {
						y0, x0 := p/g.wo*g.stride-g.pad, p%g.wo*g.stride-g.pad
						for i := range n {
							k := k0 + i
							ci, ky, kx := k/(g.kh*g.kw), k%(g.kh*g.kw)/g.kw, k%g.kw
							var want float32
							if iy, ix := y0+ky, x0+kx; iy >= 0 && iy < g.h && ix >= 0 && ix < g.w {
								want = in[(ci*g.h+iy)*g.w+ix]
							}
							if got := col[(p-p0)*n+i]; got != want {
								t.Fatalf("pixel %d, value %d: %g, want %g", p, k, got, want)
							}
						}
					}
				}
			})
		}
	}
}
