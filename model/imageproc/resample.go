package imageproc

import (
	"fmt"
	"image"
	"math"
	"runtime"
	"sync"
)

// Pillow's fixed-point format for 8-bit resampling (libImaging/Resample.c).
const (
	resamplePrecisionBits = 32 - 8 - 2
	resampleHalf          = 1 << (resamplePrecisionBits - 1)
)

// resampleCoeffs holds, for each output index along one axis, the first input index and
// the 22-bit fixed-point weights of the inputs it reads: k[o*stride : o*stride+n[o]].
type resampleCoeffs struct {
	first, n []int
	k        []int32
	stride   int
}

func (c *resampleCoeffs) weights(o int) []int32 {
	return c.k[o*c.stride : o*c.stride+c.n[o]]
}

// bicubicKernel is Pillow's bicubic_filter (a = -0.5). Every product is converted to float64
// on its own so that the compiler cannot fuse it with the following addition into an FMA
// (Go does so on arm64): Pillow's x86-64 build rounds each step, and a weight off in its last
// bit could round to a different 22-bit coefficient.
func bicubicKernel(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	if x < 1 {
		return float64(float64(float64(float64((a+2)*x)-(a+3))*x)*x) + 1
	}
	if x < 2 {
		return float64(float64(float64(float64(float64(x-5)*x)+8)*x)-4) * a
	}
	return 0
}

// precomputeBicubic is Pillow's precompute_coeffs followed by normalize_coeffs_8bpc for a
// whole-image box: support 2 scaled by the downscale factor (antialiasing), weights
// normalized to sum 1 in float64, then rounded half away from zero to 22 bits.
func precomputeBicubic(inSize, outSize int) resampleCoeffs {
	scale := float64(inSize) / float64(outSize)
	filterScale := max(scale, 1.0)
	support := 2.0 * filterScale
	ss := 1.0 / filterScale
	ksize := int(math.Ceil(support))*2 + 1
	c := resampleCoeffs{first: make([]int, outSize), n: make([]int, outSize),
		k: make([]int32, outSize*ksize), stride: ksize}
	weights := make([]float64, 0, ksize)
	for o := 0; o < outSize; o++ {
		center := float64((float64(o) + 0.5) * scale)
		lo := max(int(center-support+0.5), 0) // C (int) casts truncate toward zero
		hi := min(int(center+support+0.5), inSize)
		weights = weights[:0]
		sum := 0.0
		for i := lo; i < hi; i++ {
			w := bicubicKernel(float64(float64(i)-center+0.5) * ss)
			weights = append(weights, w)
			sum += w
		}
		k := c.k[o*ksize : o*ksize+len(weights)]
		for j, w := range weights {
			if sum != 0 {
				w /= sum
			}
			if w < 0 {
				k[j] = int32(float64(w*(1<<resamplePrecisionBits)) - 0.5)
			} else {
				k[j] = int32(float64(w*(1<<resamplePrecisionBits)) + 0.5)
			}
		}
		c.first[o], c.n[o] = lo, len(weights)
	}
	return c
}

// parallelRows runs fn over [0, n) in one contiguous block of rows per core, each row
// costing about cost multiply-adds (output pixels × taps); small images run on the calling goroutine, where starting
// goroutines would cost more than it saves. Every output pixel is computed on its own, so
// the split cannot change a result.
func parallelRows(n, cost int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n*cost/(64<<10))
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range workers {
		lo, hi := i*n/workers, (i+1)*n/workers
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}

// clip8 is Pillow's clip8: the accumulator's integer part, saturated to [0, 255].
func clip8(acc int32) uint8 {
	if acc <= 0 {
		return 0
	}
	if acc >= 1<<resamplePrecisionBits<<8 {
		return 255
	}
	return uint8(acc >> resamplePrecisionBits)
}

// ResizeBicubic resizes the RGB channels of src to w×h exactly as Pillow's
// Image.resize((w, h), Image.BICUBIC) does for an RGB image (which torchvision's
// resize(..., BICUBIC, antialias=True) calls on PIL input): a horizontal pass into an 8-bit
// intermediate, then a vertical pass, each only when that dimension changes. Alpha is
// ignored, as convert("RGB") would drop it; the result is opaque with its origin at (0, 0).
func ResizeBicubic(src *image.NRGBA, w, h int) (*image.NRGBA, error) {
	b := src.Bounds()
	if b.Empty() {
		return nil, fmt.Errorf("resize: source image %v has no pixels", b)
	}
	if w < 1 || h < 1 {
		return nil, fmt.Errorf("resize %dx%d image to %dx%d: target has no pixels", b.Dx(), b.Dy(), w, h)
	}
	cur := src
	if w != b.Dx() {
		cur = resizeHorizontal(cur, w)
	}
	if h != b.Dy() {
		cur = resizeVertical(cur, h)
	}
	if cur == src {
		cur = ToRGB(src)
	}
	return cur, nil
}

func resizeHorizontal(src *image.NRGBA, w int) *image.NRGBA {
	b := src.Bounds()
	coeffs := precomputeBicubic(b.Dx(), w)
	dst := image.NewNRGBA(image.Rect(0, 0, w, b.Dy()))
	parallelRows(b.Dy(), w*coeffs.stride, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			in := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			out := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
			for o := 0; o < w; o++ {
				k := coeffs.weights(o)
				p := in[4*coeffs.first[o] : 4*(coeffs.first[o]+len(k))]
				r, g, bl := int32(resampleHalf), int32(resampleHalf), int32(resampleHalf)
				for j, c := range k {
					q := p[4*j : 4*j+3 : 4*j+3]
					r += int32(q[0]) * c
					g += int32(q[1]) * c
					bl += int32(q[2]) * c
				}
				d := out[4*o : 4*o+4 : 4*o+4]
				d[0], d[1], d[2], d[3] = clip8(r), clip8(g), clip8(bl), 0xff
			}
		}
	})
	return dst
}

// resizeVertical accumulates whole rows at a time, all four bytes of each pixel in one flat
// loop (alpha is computed and discarded), which is faster than picking out three channels;
// int32 addition wraps, so the order of the sums cannot change Pillow's per-pixel result.
func resizeVertical(src *image.NRGBA, h int) *image.NRGBA {
	b := src.Bounds()
	w := b.Dx()
	coeffs := precomputeBicubic(b.Dy(), h)
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	parallelRows(h, w*coeffs.stride, func(o0, o1 int) {
		acc := make([]int32, 4*w)
		for o := o0; o < o1; o++ {
			for i := range acc {
				acc[i] = resampleHalf
			}
			for j, c := range coeffs.weights(o) {
				row := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+coeffs.first[o]+j):]
				row = row[:len(acc)]
				for i, v := range row {
					acc[i] += int32(v) * c
				}
			}
			out := dst.Pix[o*dst.Stride : o*dst.Stride+len(acc)]
			for i, a := range acc {
				out[i] = clip8(a)
			}
			for i := 3; i < len(out); i += 4 {
				out[i] = 0xff
			}
		}
	})
	return dst
}
