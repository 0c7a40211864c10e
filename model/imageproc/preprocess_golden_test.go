package imageproc

import (
	"image"
	"math"
	"path/filepath"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/config"
)

// sameImage reports the first pixel where the RGB of got and want differ.
func sameImage(t *testing.T, what string, got, want *image.NRGBA) {
	t.Helper()
	if got.Bounds().Size() != want.Bounds().Size() {
		t.Fatalf("%s: size %v, want %v", what, got.Bounds().Size(), want.Bounds().Size())
	}
	gb, wb := got.Bounds(), want.Bounds()
	diffs := 0
	for y := 0; y < gb.Dy(); y++ {
		for x := 0; x < gb.Dx(); x++ {
			g := got.Pix[got.PixOffset(gb.Min.X+x, gb.Min.Y+y):]
			w := want.Pix[want.PixOffset(wb.Min.X+x, wb.Min.Y+y):]
			if g[0] != w[0] || g[1] != w[1] || g[2] != w[2] {
				if diffs == 0 {
					t.Errorf("%s: pixel (%d,%d) = %v, want %v", what, x, y, g[:3], w[:3])
				}
				diffs++
			}
		}
	}
	if diffs > 0 {
		t.Errorf("%s: %d pixels differ", what, diffs)
	}
}

// sameFloats requires bit-identical float32 values.
func sameFloats(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	diffs := 0
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			if diffs == 0 {
				t.Errorf("%s: value %d = %v, want %v", what, i, got[i], want[i])
			}
			diffs++
		}
	}
	if diffs > 0 {
		ok, maxDiff, bound := fixtures.Close(got, want, 1e-6)
		t.Errorf("%s: %d of %d values differ in their bits (max |diff| %g, within 1e-6: %v, bound %g)",
			what, diffs, len(got), maxDiff, ok, bound)
	}
}

func TestPreprocessGolden384(t *testing.T) {
	dir := fixtures.Path(t, "golden", "preprocess-384")
	var g struct {
		Images map[string]struct {
			InputPNG    string `json:"input_png"`
			InputSizeWH [2]int `json:"input_size_wh"`
			ResizedHW   [2]int `json:"resized_hw"`
			ResizedPNG  string `json:"resized_png"`
			SquarePNG   string `json:"square_png"`
		} `json:"images"`
		Files map[string]struct {
			File  string `json:"file"`
			Shape []int  `json:"shape"`
		} `json:"files"`
	}
	fixtures.JSON(t, filepath.Join(dir, "golden.json"), &g)
	if len(g.Images) != 2 {
		t.Fatalf("golden.json lists %d images, want landscape and portrait", len(g.Images))
	}
	p := releasedParams()
	for name, im := range g.Images {
		t.Run(name, func(t *testing.T) {
			src, err := DecodeFile(filepath.Join(dir, im.InputPNG), DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if src.Bounds().Size() != image.Pt(im.InputSizeWH[0], im.InputSizeWH[1]) {
				t.Fatalf("input size %v, golden %v", src.Bounds().Size(), im.InputSizeWH)
			}
			rw, rh := p.ResizedSize(src.Bounds().Dx(), src.Bounds().Dy())
			if rh != im.ResizedHW[0] || rw != im.ResizedHW[1] {
				t.Fatalf("resized size %dx%d (w×h), golden h,w = %v", rw, rh, im.ResizedHW)
			}
			resized, err := ResizeBicubic(src, rw, rh)
			if err != nil {
				t.Fatal(err)
			}
			wantResized, err := DecodeFile(filepath.Join(dir, im.ResizedPNG), DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sameImage(t, "resized", resized, wantResized)

			square, err := p.Square(src)
			if err != nil {
				t.Fatal(err)
			}
			wantSquare, err := DecodeFile(filepath.Join(dir, im.SquarePNG), DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sameImage(t, "square", square, wantSquare)

			got, err := p.Preprocess(src)
			if err != nil {
				t.Fatal(err)
			}
			f := g.Files["pixel_values_"+name]
			if len(f.Shape) != 4 || f.Shape[1] != 3 || f.Shape[2] != p.ImageSize || f.Shape[3] != p.ImageSize {
				t.Fatalf("golden shape %v", f.Shape)
			}
			sameFloats(t, "pixel_values", got, fixtures.Float32s(t, filepath.Join(dir, f.File)))
		})
	}
}

func TestPreprocessGoldenTinyA(t *testing.T) {
	cfg, err := config.Load(fixtures.Path(t, "models", "tiny-a"))
	if err != nil {
		t.Fatal(err)
	}
	p := ParamsFromConfig(cfg.Preprocessor)
	if p.ImageSize != 64 {
		t.Fatalf("tiny-a image_size %d, want 64", p.ImageSize)
	}
	dir := fixtures.Path(t, "golden", "tiny-a")
	var g struct {
		Preprocess struct {
			InputPNG  string `json:"input_png"`
			ResizedHW [2]int `json:"resized_hw"`
		} `json:"preprocess"`
	}
	fixtures.JSON(t, filepath.Join(dir, "golden.json"), &g)
	src, err := DecodeFile(filepath.Join(dir, g.Preprocess.InputPNG), DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rw, rh := p.ResizedSize(src.Bounds().Dx(), src.Bounds().Dy())
	if rh != g.Preprocess.ResizedHW[0] || rw != g.Preprocess.ResizedHW[1] {
		t.Fatalf("resized %dx%d (w×h), golden h,w = %v", rw, rh, g.Preprocess.ResizedHW)
	}
	got, err := p.Preprocess(src)
	if err != nil {
		t.Fatal(err)
	}
	want := fixtures.Float32s(t, filepath.Join(dir, "pixel_values.bin"))
	if ok, maxDiff, bound := fixtures.Close(got, want, 1e-6); !ok {
		t.Fatalf("pixel_values max |diff| %g > %g", maxDiff, bound)
	}
	sameFloats(t, "pixel_values", got, want)
}
