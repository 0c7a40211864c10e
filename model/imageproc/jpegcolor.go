package imageproc

import "image"

// jpegToRGB converts image/jpeg's output to RGB. For Y'CbCr it upsamples chroma and
// converts colours the way libjpeg-turbo does inside Pillow (jdsample.c "fancy" upsampling,
// jdcolor.c fixed-point tables) instead of Go's nearest-sample image.YCbCr.At, which differs
// from Pillow by up to ~70 levels at chroma edges. What remains is the inverse DCT: Go's
// differs from libjpeg's "islow" one by about one level in some pixels.
func jpegToRGB(img image.Image) *image.NRGBA {
	if src, ok := img.(*image.YCbCr); ok {
		if hf, vf, ok := chromaFactors(src.SubsampleRatio); ok {
			return libjpegYCbCrToRGB(src, hf, vf)
		}
	}
	return ToRGB(img)
}

// chromaFactors returns the horizontal and vertical chroma subsampling factors.
func chromaFactors(r image.YCbCrSubsampleRatio) (hf, vf int, ok bool) {
	switch r {
	case image.YCbCrSubsampleRatio444:
		return 1, 1, true
	case image.YCbCrSubsampleRatio422:
		return 2, 1, true
	case image.YCbCrSubsampleRatio420:
		return 2, 2, true
	case image.YCbCrSubsampleRatio440:
		return 1, 2, true
	case image.YCbCrSubsampleRatio411:
		return 4, 1, true
	case image.YCbCrSubsampleRatio410:
		return 4, 2, true
	}
	return 0, 0, false
}

// libjpegYCbCrToRGB upsamples both chroma planes to full resolution, then applies
// libjpeg's ycc_rgb_convert.
func libjpegYCbCrToRGB(src *image.YCbCr, hf, vf int) *image.NRGBA {
	b := src.Rect
	w, h := b.Dx(), b.Dy()
	// libjpeg's downsampled_width/height: the chroma samples that cover the image; padding
	// samples beyond them (present in Go's planes) are never read.
	dw, dh := (w+hf-1)/hf, (h+vf-1)/vf
	base := src.COffset(b.Min.X, b.Min.Y)
	cb := upsampleLibjpeg(src.Cb[base:], src.CStride, dw, dh, w, h, hf, vf)
	cr := upsampleLibjpeg(src.Cr[base:], src.CStride, dw, dh, w, h, hf, vf)
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		yRow := src.Y[src.YOffset(b.Min.X, b.Min.Y+y):]
		d := dst.Pix[y*dst.Stride:]
		for x := 0; x < w; x++ {
			r, g, bl := libjpegYCCToRGB(int32(yRow[x]), int32(cb[y*w+x]), int32(cr[y*w+x]))
			d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = r, g, bl, 0xff
		}
	}
	return dst
}

// libjpegYCCToRGB is jdcolor.c's table arithmetic written out: 16-bit fixed point, the
// red and blue terms rounded on their own, the green term rounded once over both.
func libjpegYCCToRGB(y, cb, cr int32) (r, g, b uint8) {
	const (
		scaleBits = 16
		oneHalf   = 1 << (scaleBits - 1)
		fixCrR    = 91881  // FIX(1.40200)
		fixCbB    = 116130 // FIX(1.77200)
		fixCrG    = 46802  // FIX(0.71414)
		fixCbG    = 22554  // FIX(0.34414)
	)
	cb -= 128
	cr -= 128
	r = clampByte(y + (fixCrR*cr+oneHalf)>>scaleBits)
	g = clampByte(y + (-fixCbG*cb+oneHalf-fixCrG*cr)>>scaleBits)
	b = clampByte(y + (fixCbB*cb+oneHalf)>>scaleBits)
	return r, g, b
}

func clampByte(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// upsampleLibjpeg returns a w×h chroma plane from the dw×dh samples at plane (row stride
// stride), choosing the method libjpeg-turbo's jinit_upsampler picks with fancy upsampling
// on (Pillow's default): triangular filters for 2h1v, 1h2v and 2h2v, replication otherwise.
func upsampleLibjpeg(plane []byte, stride, dw, dh, w, h, hf, vf int) []byte {
	out := make([]byte, w*h)
	sample := func(cx, cy int) int32 {
		cy = min(max(cy, 0), dh-1) // libjpeg duplicates the first and last sample rows
		return int32(plane[cy*stride+cx])
	}
	switch {
	case hf == 1 && vf == 1:
		for y := 0; y < h; y++ {
			copy(out[y*w:(y+1)*w], plane[y*stride:y*stride+w])
		}
	case hf == 2 && vf == 1 && dw > 2: // h2v1_fancy_upsample
		for y := 0; y < h; y++ {
			row := out[y*w : (y+1)*w]
			for i := 0; i < dw; i++ {
				this := 3 * sample(i, y)
				var even, odd int32
				if i == 0 {
					even = this / 3
				} else {
					even = (this + sample(i-1, y) + 1) >> 2
				}
				if i == dw-1 {
					odd = this / 3
				} else {
					odd = (this + sample(i+1, y) + 2) >> 2
				}
				putPair(row, 2*i, even, odd)
			}
		}
	case hf == 1 && vf == 2: // h1v2_fancy_upsample
		for y := 0; y < h; y++ {
			near, far, bias := y/2, y/2-1, int32(1)
			if y%2 == 1 {
				far, bias = y/2+1, 2
			}
			row := out[y*w : (y+1)*w]
			for x := 0; x < w; x++ {
				row[x] = uint8((3*sample(x, near) + sample(x, far) + bias) >> 2)
			}
		}
	case hf == 2 && vf == 2 && dw > 2: // h2v2_fancy_upsample
		colSum := make([]int32, dw)
		for y := 0; y < h; y++ {
			near, far := y/2, y/2-1
			if y%2 == 1 {
				far = y/2 + 1
			}
			for i := range colSum {
				colSum[i] = 3*sample(i, near) + sample(i, far)
			}
			row := out[y*w : (y+1)*w]
			for i, this := range colSum {
				var even, odd int32
				if i == 0 {
					even = (this*4 + 8) >> 4
				} else {
					even = (this*3 + colSum[i-1] + 8) >> 4
				}
				if i == dw-1 {
					odd = (this*4 + 7) >> 4
				} else {
					odd = (this*3 + colSum[i+1] + 7) >> 4
				}
				putPair(row, 2*i, even, odd)
			}
		}
	default: // h2v1_upsample, h2v2_upsample, int_upsample: replication
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				out[y*w+x] = uint8(sample(x/hf, y/vf))
			}
		}
	}
	return out
}

// putPair stores two horizontally upsampled samples, dropping the second at an odd width.
func putPair(row []byte, x int, even, odd int32) {
	row[x] = uint8(even)
	if x+1 < len(row) {
		row[x+1] = uint8(odd)
	}
}
