package imageproc

import (
	"encoding/binary"
	"image"
	"image/color"
)

// ToRGB converts any image to an opaque *image.NRGBA with its origin at (0, 0), following
// Pillow's Image.convert("RGB"): alpha is dropped, not composited (a transparent pixel keeps
// its stored colour); 16-bit grey is clipped to 255 (Pillow opens it as mode "I", whose RGB
// conversion clips) while other 16-bit images keep their high byte; CMYK uses Pillow's
// integer formula. Premultiplied types (*image.RGBA, *image.RGBA64) are un-premultiplied
// first. Chroma-subsampled *image.YCbCr is converted with Go's nearest-sample model here;
// Decode converts JPEG and WebP data the way their C decoders do instead.
func ToRGB(img image.Image) *image.NRGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	switch src := img.(type) {
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			s := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			d := dst.Pix[y*dst.Stride:]
			for x := 0; x < w; x++ {
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = s[4*x], s[4*x+1], s[4*x+2], 0xff
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			s := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			d := dst.Pix[y*dst.Stride:]
			for x := 0; x < w; x++ {
				v := s[x]
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = v, v, v, 0xff
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			s := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			d := dst.Pix[y*dst.Stride:]
			for x := 0; x < w; x++ {
				v := clipGrey16(binary.BigEndian.Uint16(s[2*x:]))
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = v, v, v, 0xff
			}
		}
	case *image.NRGBA64:
		for y := 0; y < h; y++ {
			s := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			d := dst.Pix[y*dst.Stride:]
			for x := 0; x < w; x++ {
				// Pillow unpacks 16-bit channels (RGB;16B, RGBA;16B, LA;16B) by keeping the
				// most significant byte.
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = s[8*x], s[8*x+2], s[8*x+4], 0xff
			}
		}
	case *image.Paletted:
		lut := paletteRGB(src.Palette)
		for y := 0; y < h; y++ {
			s := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			d := dst.Pix[y*dst.Stride:]
			for x := 0; x < w; x++ {
				c := lut[s[x]]
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = c[0], c[1], c[2], 0xff
			}
		}
	case *image.CMYK:
		for y := 0; y < h; y++ {
			s := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			d := dst.Pix[y*dst.Stride:]
			for x := 0; x < w; x++ {
				r, g, bl := cmykToRGB(s[4*x], s[4*x+1], s[4*x+2], s[4*x+3])
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = r, g, bl, 0xff
			}
		}
	default:
		// *image.RGBA (opaque in every decoder used here), *image.RGBA64, *image.YCbCr and
		// anything else: Go's own model, un-premultiplied.
		for y := 0; y < h; y++ {
			d := dst.Pix[y*dst.Stride:]
			for x := 0; x < w; x++ {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = c.R, c.G, c.B, 0xff
			}
		}
	}
	return dst
}

// clipGrey16 is Pillow's mode "I" to RGB conversion, used for 16-bit grey PNGs: values
// above 255 saturate instead of being scaled down.
func clipGrey16(v uint16) uint8 {
	if v >= 255 {
		return 255
	}
	return uint8(v)
}

// cmykToRGB is Pillow's cmyk2rgb (Convert.c): nk = 255-k; out = nk - nk*c/255, with its
// rounded integer division by 255.
func cmykToRGB(c, m, y, k uint8) (r, g, b uint8) {
	nk := 255 - int(k)
	conv := func(v uint8) uint8 {
		t := int(v)*nk + 128
		return uint8(nk - ((t>>8)+t)>>8)
	}
	return conv(c), conv(m), conv(y)
}

// paletteRGB returns the straight (non-premultiplied) RGB of each palette entry, padded to
// 256 entries with black so that any index is safe.
func paletteRGB(p color.Palette) *[256][3]uint8 {
	var lut [256][3]uint8
	for i, c := range p {
		if i >= len(lut) {
			break
		}
		n := color.NRGBAModel.Convert(c).(color.NRGBA)
		lut[i] = [3]uint8{n.R, n.G, n.B}
	}
	return &lut
}

// pngToRGB is ToRGB plus one PNG-specific case: a 16-bit grey PNG with a tRNS chunk decodes
// to *image.NRGBA64 in Go, but Pillow still opens it as mode "I" and clips it.
func pngToRGB(img image.Image, data []byte) *image.NRGBA {
	const ihdrDepth, ihdrColourType = 24, 25
	if src, ok := img.(*image.NRGBA64); ok && len(data) > ihdrColourType &&
		data[ihdrDepth] == 16 && data[ihdrColourType] == 0 {
		b := src.Bounds()
		dst := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		for y := 0; y < b.Dy(); y++ {
			s := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			d := dst.Pix[y*dst.Stride:]
			for x := 0; x < b.Dx(); x++ {
				v := clipGrey16(binary.BigEndian.Uint16(s[8*x:]))
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = v, v, v, 0xff
			}
		}
		return dst
	}
	return ToRGB(img)
}
