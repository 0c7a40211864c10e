package imageproc

import (
	"fmt"
	"image"
)

// Postprocess turns one generated image, the VQ decoder's float32 output in CHW order
// ([3, height, width], nominally in [-1, 1]), into 8-bit RGB exactly as the official
// generation script does: v = clip((x + 1) / 2 * 255, 0, 255) in float32, in that order,
// then a C cast to uint8, which truncates toward zero (so 254.99 gives 254). NaN, which
// numpy's cast leaves platform-dependent, becomes 0.
func Postprocess(chw []float32, width, height int) (*image.NRGBA, error) {
	if width < 1 || height < 1 {
		return nil, fmt.Errorf("postprocess: image size %dx%d has no pixels", width, height)
	}
	plane := width * height
	if len(chw) != 3*plane {
		return nil, fmt.Errorf("postprocess: decoder output has %d values, want 3x%dx%d = %d",
			len(chw), height, width, 3*plane)
	}
	img := image.NewNRGBA(image.Rect(0, 0, width, height))
	for i := 0; i < plane; i++ {
		p := img.Pix[4*i : 4*i+4]
		p[0] = toUint8(chw[i])
		p[1] = toUint8(chw[plane+i])
		p[2] = toUint8(chw[2*plane+i])
		p[3] = 0xff
	}
	return img, nil
}

func toUint8(x float32) uint8 {
	v := (x + 1) / 2 * 255
	switch {
	case v >= 255:
		return 255
	case v > 0:
		return uint8(v)
	}
	return 0 // negative, zero or NaN
}
