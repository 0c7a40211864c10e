package imageproc

import "testing"

// BenchmarkPreprocess640x480 is the preprocess stage of the peer benchmark: a 640×480 RGB
// image to pixel_values [3, 384, 384].
func BenchmarkPreprocess640x480(b *testing.B) {
	img := synthImage(640, 480)
	p := releasedParams()
	dst := make([]float32, 3*p.ImageSize*p.ImageSize)
	b.ReportAllocs()
	for b.Loop() {
		if err := p.PreprocessInto(dst, img); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPostprocess384 converts one 384×384 generated image to 8-bit RGB.
func BenchmarkPostprocess384(b *testing.B) {
	chw := make([]float32, 3*384*384)
	for i := range chw {
		chw[i] = float32(i%509)/254 - 1
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Postprocess(chw, 384, 384); err != nil {
			b.Fatal(err)
		}
	}
}
