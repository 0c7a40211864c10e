package imageproc

import (
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"
)

func TestCMYKToRGBMatchesPillow(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "cmyk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		CMYK string `json:"cmyk_hex"`
		RGB  string `json:"rgb_hex"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	cmyk, err1 := hex.DecodeString(m.CMYK)
	want, err2 := hex.DecodeString(m.RGB)
	if err1 != nil || err2 != nil || len(cmyk)/4 != len(want)/3 || len(want) == 0 {
		t.Fatalf("cmyk.json malformed: %v %v", err1, err2)
	}
	n := len(cmyk) / 4
	img := &image.CMYK{Pix: cmyk, Stride: 4 * n, Rect: image.Rect(0, 0, n, 1)}
	got := ToRGB(img)
	bad := 0
	for i := 0; i < n; i++ {
		for c := 0; c < 3; c++ {
			if got.Pix[4*i+c] != want[3*i+c] {
				if bad < 5 {
					t.Errorf("CMYK %v: channel %d = %d, Pillow %d", cmyk[4*i:4*i+4], c, got.Pix[4*i+c], want[3*i+c])
				}
				bad++
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d values differ", bad, 3*n)
	}
}

// TestToRGBGoTypes covers image types no decoder here produces, for callers that pass
// their own images (for example from the clipboard).
func TestToRGBGoTypes(t *testing.T) {
	r := image.Rect(2, 3, 4, 4) // non-zero origin: the result starts at (0, 0)
	rgba := image.NewRGBA(r)
	rgba.SetRGBA(2, 3, color.RGBA{100, 50, 0, 200}) // premultiplied: straight 127, 63, 0
	rgba.SetRGBA(3, 3, color.RGBA{1, 2, 3, 255})
	g16 := image.NewGray16(r)
	g16.SetGray16(2, 3, color.Gray16{200})
	g16.SetGray16(3, 3, color.Gray16{300}) // Pillow clips 16-bit grey
	n64 := image.NewNRGBA64(r)
	n64.SetNRGBA64(2, 3, color.NRGBA64{0x12ff, 0x3400, 0xffff, 0})
	n64.SetNRGBA64(3, 3, color.NRGBA64{0, 0x0100, 0x00ff, 0xffff})
	nrgba := image.NewNRGBA(r)
	nrgba.SetNRGBA(2, 3, color.NRGBA{9, 8, 7, 0}) // alpha dropped, colour kept
	nrgba.SetNRGBA(3, 3, color.NRGBA{1, 2, 3, 4})
	pal := image.NewPaletted(r, color.Palette{color.NRGBA{10, 20, 30, 0}, color.RGBA{5, 6, 7, 255}})
	pal.SetColorIndex(3, 3, 1)
	for _, tc := range []struct {
		name string
		img  image.Image
		want [2][3]uint8
	}{
		{"RGBA", rgba, [2][3]uint8{{127, 63, 0}, {1, 2, 3}}},
		{"Gray16", g16, [2][3]uint8{{200, 200, 200}, {255, 255, 255}}},
		{"NRGBA64", n64, [2][3]uint8{{0x12, 0x34, 0xff}, {0, 1, 0}}},
		{"NRGBA", nrgba, [2][3]uint8{{9, 8, 7}, {1, 2, 3}}},
		{"Paletted", pal, [2][3]uint8{{10, 20, 30}, {5, 6, 7}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ToRGB(tc.img)
			if got.Rect != image.Rect(0, 0, 2, 1) {
				t.Fatalf("bounds %v", got.Rect)
			}
			for i, w := range tc.want {
				p := got.Pix[4*i : 4*i+4]
				if [3]uint8{p[0], p[1], p[2]} != w || p[3] != 0xff {
					t.Errorf("pixel %d = %v, want %v opaque", i, p, w)
				}
			}
		})
	}
}
