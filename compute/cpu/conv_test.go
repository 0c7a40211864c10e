package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/compute"
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

// TestConvInPlace: Conv2D with dst = x gives the out-of-place convolution's bits on every
// kernel set, in the exact precision and on each BF16 tile set, in images several bands tall
// (an uneven last band among them, bands of a row with two rows of padding), and refuses a
// dst that overlaps x any other way.
func TestConvInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	type backend struct {
		name string
		make func(t *testing.T) *Backend
	}
	var backends []backend
	for _, ks := range kernelSets() {
		backends = append(backends, backend{fmt.Sprint(ks), func(*testing.T) *Backend { return New(2, WithKernels(ks)) }})
	}
	if hasBF16() {
		for _, tiles := range []string{"fma", "vdpbf16ps", "amx"} {
			backends = append(backends, backend{"bf16-" + tiles, func(t *testing.T) *Backend { return bf16Backend(t, 2, tiles) }})
		}
	}
	for _, c := range []struct{ n, ch, h, w, k, pad, band int }{
		{1, 8, 400, 384, 3, 1, 0}, // bands of 341 rows: 341 and 59
		{2, 16, 300, 300, 5, 2, 0},
		{1, 12, 90, 1000, 1, 0, 0},
		{1, 3, 5, 7, 3, 1, 0},    // one band
		{2, 3, 9, 10, 5, 2, 1},   // bands as tall as the padding
		{1, 4, 7, 50, 3, 1, 1},   // bands of one row
		{1, 5, 11, 48, 7, 3, 60}, // of three rows (a band of 60 floats is under one row)
	} {
		xv := randVals(rng, c.n*c.ch*c.h*c.w, 1)
		wv := randVals(rng, c.ch*c.ch*c.k*c.k, 1)
		bv := randVals(rng, c.ch, 1)
		for _, bk := range backends {
			t.Run(fmt.Sprintf("%+v/%s", c, bk.name), func(t *testing.T) {
				be := bk.make(t)
				defer be.Close()
				be.band = c.band
				x := be.FromFloat32(xv, c.n, c.ch, c.h, c.w)
				w := be.FromFloat32(wv, c.ch, c.ch, c.k, c.k)
				b := be.FromFloat32(bv, c.ch)
				want := be.New(compute.F32, c.n, c.ch, c.h, c.w)
				p := compute.Conv2DParams{Stride: 1, Pad: c.pad}
				be.Conv2D(want, x, w, b, p)
				be.Conv2D(x, x, w, b, p)
				got, exp := read(t, be, x), read(t, be, want)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(exp[i]) {
						t.Fatalf("in place, value %d is %g, out of place %g", i, got[i], exp[i])
					}
				}
			})
		}
	}
	be := New(1)
	defer be.Close()
	parent := be.New(compute.F32, 128)
	x := be.View(parent, 0, 1, 2, 4, 4)
	for _, tt := range []struct {
		name   string
		dst, w *compute.Tensor
	}{
		{"dst shifted", be.View(parent, 16, 1, 2, 4, 4), be.New(compute.F32, 2, 2, 3, 3)},
		{"more channels out", be.View(parent, 0, 1, 3, 4, 4), be.New(compute.F32, 3, 2, 3, 3)},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "dst overlaps x") {
					t.Errorf("%s: Conv2D recovered %v, want a panic about the overlap", tt.name, r)
				}
			}()
			be.Conv2D(tt.dst, x, tt.w, nil, compute.Conv2DParams{Stride: 1, Pad: 1})
		}()
	}
}
