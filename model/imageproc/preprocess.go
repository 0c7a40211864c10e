package imageproc

import (
	"fmt"
	"image"
)

// ExpandToSquare pads img to a square of side max(w, h) filled with bg, centred along the
// short side with the offset (long - short) // 2, as the official expand2square does. A
// square image is returned as an opaque copy.
func ExpandToSquare(img *image.NRGBA, bg [3]uint8) *image.NRGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	side := max(w, h)
	dst := image.NewNRGBA(image.Rect(0, 0, side, side))
	for i := 0; i < len(dst.Pix); i += 4 {
		dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = bg[0], bg[1], bg[2], 0xff
	}
	ox, oy := (side-w)/2, (side-h)/2
	for y := 0; y < h; y++ {
		s := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):]
		d := dst.Pix[dst.PixOffset(ox, oy+y):]
		for x := 0; x < w; x++ {
			d[4*x], d[4*x+1], d[4*x+2] = s[4*x], s[4*x+1], s[4*x+2]
		}
	}
	return dst
}

// Square returns the uint8 image the processor normalizes: img (converted with ToRGB
// unless it is already an *image.NRGBA, whose alpha is ignored) resized with Pillow's
// bicubic to ResizedSize, then padded to ImageSize×ImageSize with Background.
func (p Params) Square(img image.Image) (*image.NRGBA, error) {
	resized, err := p.resize(img)
	if err != nil {
		return nil, err
	}
	return ExpandToSquare(resized, p.Background()), nil
}

// resize is Square before the padding.
func (p Params) resize(img image.Image) (*image.NRGBA, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("preprocess: %w", err)
	}
	rgb, ok := img.(*image.NRGBA)
	if !ok {
		rgb = ToRGB(img)
	}
	b := rgb.Bounds()
	if b.Empty() {
		return nil, fmt.Errorf("preprocess: image %v has no pixels", b)
	}
	rw, rh := p.ResizedSize(b.Dx(), b.Dy())
	resized, err := ResizeBicubic(rgb, rw, rh)
	if err != nil {
		return nil, fmt.Errorf("preprocess: %w", err)
	}
	return resized, nil
}

// Preprocess returns the processor's pixel_values for one image: float32 [3, S, S] in
// channel-major (CHW) order, S = ImageSize. Bit-exact with the official VLMImageProcessor
// given the same RGB pixels. The official scripts then cast it to bfloat16; that is the
// caller's business.
func (p Params) Preprocess(img image.Image) ([]float32, error) {
	dst := make([]float32, 3*p.ImageSize*p.ImageSize)
	if err := p.PreprocessInto(dst, img); err != nil {
		return nil, err
	}
	return dst, nil
}

// PreprocessInto is Preprocess writing into dst, which must hold 3·S·S values. It reads the
// resized image and writes the padding's values itself rather than building Square's
// padded copy, whose allocation and fill were a tenth of the work.
func (p Params) PreprocessInto(dst []float32, img image.Image) error {
	s := p.ImageSize
	if len(dst) != 3*s*s {
		return fmt.Errorf("preprocess: destination holds %d values, want 3x%dx%d = %d", len(dst), s, s, 3*s*s)
	}
	resized, err := p.resize(img)
	if err != nil {
		return err
	}
	b := resized.Bounds()
	w, h := b.Dx(), b.Dy()
	side := max(w, h) // ExpandToSquare's
	if side < s {
		return fmt.Errorf("preprocess: image resized to %dx%d, smaller than %dx%d", w, h, s, s)
	}
	ox, oy := (side-w)/2, (side-h)/2
	lut := p.valueTable()
	bg := p.Background()
	var pad [3]float32
	for c := range pad {
		pad[c] = lut[c][bg[c]]
	}
	plane := s * s
	for y := 0; y < s; y++ {
		r, g, bl := dst[y*s:(y+1)*s], dst[plane+y*s:plane+(y+1)*s], dst[2*plane+y*s:2*plane+(y+1)*s]
		// The image's columns of this row, [x0, x1); the rest is padding.
		x0, x1 := 0, 0
		if iy := y - oy; iy >= 0 && iy < h {
			x0, x1 = min(ox, s), min(ox+w, s)
			row := resized.Pix[resized.PixOffset(b.Min.X, b.Min.Y+iy):]
			for x := x0; x < x1; x++ {
				px := row[4*(x-ox) : 4*(x-ox)+3 : 4*(x-ox)+3]
				r[x], g[x], bl[x] = lut[0][px[0]], lut[1][px[1]], lut[2][px[2]]
			}
		}
		for _, span := range [2][2]int{{0, x0}, {x1, s}} {
			for x := span[0]; x < span[1]; x++ {
				r[x], g[x], bl[x] = pad[0], pad[1], pad[2]
			}
		}
	}
	return nil
}

// valueTable maps every uint8 of each channel to its output: transformers' rescale
// (float64 multiply, then cast to float32) and normalize ((x - mean) / std in float32).
// Since the input is 8-bit, a table gives the exact same floats for a fraction of the work.
func (p Params) valueTable() *[3][256]float32 {
	var lut [3][256]float32
	for c := range lut {
		for u := range lut[c] {
			x := float32(float64(u) * p.RescaleFactor)
			if p.DoNormalize {
				x = (x - p.Mean[c]) / p.Std[c]
			}
			lut[c][u] = x
		}
	}
	return &lut
}
