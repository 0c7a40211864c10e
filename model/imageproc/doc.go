// Package imageproc turns image files into the exact pixel_values the Janus vision encoder was
// trained on, and turns generated images back into 8-bit RGB pictures.
//
// It has three parts:
//
//   - Decoding (Decode, DecodeFile, ToRGB): PNG, JPEG, GIF (first frame), WebP and BMP into an
//     opaque *image.NRGBA holding what Pillow's Image.open(...).convert("RGB") gives, which is
//     what the official load_pil_images feeds the processor: exactly, except JPEG, whose
//     inverse DCT differs from libjpeg-turbo's by up to 3 levels in a few percent of the
//     values. Header dimensions are checked before the pixels are decoded, decoder panics
//     become errors, and JPEG EXIF orientation is applied (the official demos receive images
//     through gradio, which does so; load_pil_images does not, see DecodeOptions).
//   - Preprocessing (Params, Preprocess): the official VLMImageProcessor, bit for bit: Pillow's
//     fixed-point bicubic resize, padding to a square with the mean colour, rescale and
//     normalize in float32, giving CHW float32 [3, S, S].
//   - Post-processing (Postprocess): the official uint8 conversion of decoder output
//     (clip((x+1)/2*255) with truncation). Writing the PNG files is internal/pngfile's job.
//
// Why parts are hand-written rather than taken from a library:
//
//   - Resizing: no Go library reproduces Pillow's resampler (8-bit intermediate between the
//     passes, 22-bit fixed-point coefficients, its rounding), and any other bicubic gives
//     different pixel_values.
//   - Colour conversion: Go's color models differ from Pillow's (CMYK formula, 16-bit grey is
//     clipped by Pillow, not scaled; GIF transparent entries keep their palette colour in
//     Pillow), and JPEG/WebP chroma must be upsampled the way libjpeg/libwebp do it ("fancy"
//     triangular upsampling) to get close to Pillow, which Go's image.YCbCr.At does not do.
//   - EXIF orientation: github.com/disintegration/imaging applies it only inside its own
//     decoder, which first converts the pixels with Go's colour models; so the orientation tag
//     is read here and imaging's lossless flips and rotations are applied to the converted image.
package imageproc
