package imageproc

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
)

func TestPostprocessMatchesNumpy(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "postprocess.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Bits  []uint32 `json:"f32_bits"`
		Uint8 []uint8  `json:"uint8"`
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	n := len(want.Bits)
	if n == 0 || len(want.Uint8) != n {
		t.Fatalf("postprocess.json: %d values, %d results", n, len(want.Uint8))
	}
	// One image of n×1 pixels whose three channels all hold the test values.
	chw := make([]float32, 3*n)
	for i, b := range want.Bits {
		v := math.Float32frombits(b)
		chw[i], chw[n+i], chw[2*n+i] = v, v, v
	}
	img, err := Postprocess(chw, n, 1)
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i := 0; i < n; i++ {
		p := img.Pix[4*i : 4*i+4]
		for c := 0; c < 3; c++ {
			if p[c] != want.Uint8[i] {
				if bad < 5 {
					t.Errorf("x = %v (bits %08x): channel %d = %d, numpy %d", chw[i], want.Bits[i], c, p[c], want.Uint8[i])
				}
				bad++
			}
		}
		if p[3] != 0xff {
			t.Fatalf("pixel %d not opaque", i)
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d values differ from numpy", bad, 3*n)
	}
}

func TestPostprocessNaNAndLayout(t *testing.T) {
	// 2×1 image: channel planes are contiguous, so pixel 1's red is chw[1], green chw[3].
	chw := []float32{-1, float32(math.NaN()), 0, 1, 0.5, -0.5}
	img, err := Postprocess(chw, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []uint8{0, 127, 191, 255, 0, 255, 63, 255}
	for i, w := range want {
		if img.Pix[i] != w {
			t.Errorf("Pix[%d] = %d, want %d (all: %v)", i, img.Pix[i], w, img.Pix)
		}
	}
}

func TestPostprocessRejectsBadShapes(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		w, h int
	}{
		{"too few values", 11, 2, 2},
		{"too many values", 13, 2, 2},
		{"zero width", 0, 0, 4},
		{"negative height", 12, 2, -2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Postprocess(make([]float32, tc.n), tc.w, tc.h); err == nil {
				t.Errorf("Postprocess(%d values, %dx%d) succeeded", tc.n, tc.w, tc.h)
			}
		})
	}
}

func TestPostprocessGoldenTinyA(t *testing.T) {
	dir := fixtures.Path(t, "golden", "tiny-a")
	for _, tc := range []struct{ bin, png string }{
		{"gen_decoded.bin", "gen_image_0.png"},
		{"vq_grid_decoded.bin", "vq_grid.png"},
	} {
		t.Run(tc.png, func(t *testing.T) {
			vals := fixtures.Float32s(t, filepath.Join(dir, tc.bin))
			want, err := DecodeFile(filepath.Join(dir, tc.png), DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			w, h := want.Bounds().Dx(), want.Bounds().Dy()
			got, err := Postprocess(vals, w, h)
			if err != nil {
				t.Fatal(err)
			}
			sameImage(t, tc.png, got, want)
		})
	}
}
