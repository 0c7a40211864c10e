package imageproc

import "image"

// webpToRGB converts golang.org/x/image/webp's output to RGB. Lossless WebP is already RGB.
// Lossy WebP comes back as 4:2:0 Y'CbCr, which VP8 defines with BT.601 limited range and
// which libwebp (inside Pillow) turns into RGB with its "fancy" upsampler and 14-bit fixed
// point; image.YCbCr.At would treat it as full-range JPEG data and be off by tens of levels.
// VP8 decoding itself is exact integer arithmetic, so this reproduces Pillow.
func webpToRGB(img image.Image) *image.NRGBA {
	switch src := img.(type) {
	case *image.YCbCr:
		if src.SubsampleRatio == image.YCbCrSubsampleRatio420 {
			return libwebpYUVToRGB(src)
		}
	case *image.NYCbCrA:
		if src.SubsampleRatio == image.YCbCrSubsampleRatio420 {
			return libwebpYUVToRGB(&src.YCbCr)
		}
	}
	return ToRGB(img)
}

// libwebpYUVToRGB follows libwebp's EmitFancyRGB: output rows are produced in pairs
// (2k-1, 2k) from chroma rows k-1 and k, the first row and the last row of an even height
// alone with their own chroma row on both sides.
func libwebpYUVToRGB(src *image.YCbCr) *image.NRGBA {
	b := src.Rect
	w, h := b.Dx(), b.Dy()
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	cBase := src.COffset(b.Min.X, b.Min.Y)
	chroma := func(k int) (u, v []byte) {
		o := cBase + k*src.CStride
		return src.Cb[o:], src.Cr[o:]
	}
	yRow := func(y int) []byte { return src.Y[src.YOffset(b.Min.X, b.Min.Y+y):] }
	out := func(y int) []byte { return dst.Pix[y*dst.Stride:] }

	u0, v0 := chroma(0)
	libwebpUpsamplePair(yRow(0), nil, u0, v0, u0, v0, out(0), nil, w)
	k := 1
	for ; 2*k < h; k++ {
		tu, tv := chroma(k - 1)
		cu, cv := chroma(k)
		libwebpUpsamplePair(yRow(2*k-1), yRow(2*k), tu, tv, cu, cv, out(2*k-1), out(2*k), w)
	}
	if h%2 == 0 {
		lu, lv := chroma(h/2 - 1)
		libwebpUpsamplePair(yRow(h-1), nil, lu, lv, lu, lv, out(h-1), nil, w)
	}
	return dst
}

// libwebpUpsamplePair is libwebp's UPSAMPLE_FUNC (dsp/upsampling.c): a 9-3-3-1 filter on
// u and v packed into one uint32 (u low, v high), kept packed so its rounding is identical.
func libwebpUpsamplePair(topY, bottomY, topU, topV, curU, curV, topDst, bottomDst []byte, n int) {
	load := func(u, v byte) uint32 { return uint32(u) | uint32(v)<<16 }
	emit := func(y byte, uv uint32, dst []byte, x int) {
		r, g, b := libwebpYUVToRGBPixel(int(y), int(uv&0xff), int(uv>>16))
		dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = r, g, b, 0xff
	}
	lastPair := (n - 1) >> 1
	tl := load(topU[0], topV[0])
	l := load(curU[0], curV[0])
	emit(topY[0], (3*tl+l+0x00020002)>>2, topDst, 0)
	if bottomY != nil {
		emit(bottomY[0], (3*l+tl+0x00020002)>>2, bottomDst, 0)
	}
	for x := 1; x <= lastPair; x++ {
		t := load(topU[x], topV[x])
		c := load(curU[x], curV[x])
		avg := tl + t + l + c + 0x00080008
		diag12 := (avg + 2*(t+l)) >> 3
		diag03 := (avg + 2*(tl+c)) >> 3
		emit(topY[2*x-1], (diag12+tl)>>1, topDst, 2*x-1)
		emit(topY[2*x], (diag03+t)>>1, topDst, 2*x)
		if bottomY != nil {
			emit(bottomY[2*x-1], (diag03+l)>>1, bottomDst, 2*x-1)
			emit(bottomY[2*x], (diag12+c)>>1, bottomDst, 2*x)
		}
		tl, l = t, c
	}
	if n%2 == 0 {
		emit(topY[n-1], (3*tl+l+0x00020002)>>2, topDst, n-1)
		if bottomY != nil {
			emit(bottomY[n-1], (3*l+tl+0x00020002)>>2, bottomDst, n-1)
		}
	}
}

// libwebpYUVToRGBPixel is libwebp's VP8YuvToRgb (dsp/yuv.h): BT.601 limited range with
// multiply-high steps that mirror its SIMD code, 6 fractional bits before clipping.
func libwebpYUVToRGBPixel(y, u, v int) (r, g, b uint8) {
	mulHi := func(x, c int) int { return (x * c) >> 8 }
	clip := func(x int) uint8 {
		const fix = 6
		const mask = (256 << fix) - 1
		if x&^mask == 0 {
			return uint8(x >> fix)
		}
		if x < 0 {
			return 0
		}
		return 255
	}
	yy := mulHi(y, 19077)
	r = clip(yy + mulHi(v, 26149) - 14234)
	g = clip(yy - mulHi(u, 6419) - mulHi(v, 13320) + 8708)
	b = clip(yy + mulHi(u, 33050) - 17685)
	return r, g, b
}
