package imageproc

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// synthImage is gen_resize.py's synth: an 8×8 checkerboard of hash noise and smooth ramps,
// which exercises both Pillow's clipping and its rounding.
func synthImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				v := uint32(x)*0x9E3779B1 + uint32(y)*0x85EBCA77 + uint32(c)*0xC2B2AE3D
				v ^= v >> 15
				v *= 0x2C1B3C6D
				v ^= v >> 12
				p := uint8(v)
				if (x/8+y/8)%2 != 0 {
					p = uint8(x*7 + y*3 + c*50)
				}
				img.Pix[img.PixOffset(x, y)+c] = p
			}
			img.Pix[img.PixOffset(x, y)+3] = 0xff
		}
	}
	return img
}

func rgbSHA256(img *image.NRGBA) string {
	b := img.Bounds()
	h := sha256.New()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			h.Write(img.Pix[img.PixOffset(x, y) : img.PixOffset(x, y)+3])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func floatsSHA256(v []float32) string {
	buf := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(f))
	}
	s := sha256.Sum256(buf)
	return hex.EncodeToString(s[:])
}

type resizeExpectations struct {
	Resize []struct {
		InWH   [2]int `json:"in_wh"`
		OutWH  [2]int `json:"out_wh"`
		SHA256 string `json:"rgb_sha256"`
	} `json:"resize"`
	Processor []struct {
		InWH   [2]int `json:"in_wh"`
		Params struct {
			Size      int        `json:"size"`
			MinSize   int        `json:"min_size"`
			Mean      [3]float64 `json:"mean"`
			Std       [3]float64 `json:"std"`
			Rescale   float64    `json:"rescale"`
			Normalize bool       `json:"normalize"`
		} `json:"params"`
		ResizedWH    [2]int  `json:"resized_wh"`
		SquareSHA256 string  `json:"square_rgb_sha256"`
		ValuesSHA256 string  `json:"pixel_values_f32le_sha256"`
		ValuesSum    float64 `json:"pixel_values_sum"`
	} `json:"processor"`
}

func loadResizeExpectations(t *testing.T) resizeExpectations {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "resize.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e resizeExpectations
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	if len(e.Resize) == 0 || len(e.Processor) == 0 {
		t.Fatal("resize.json has no cases")
	}
	return e
}

func TestResizeBicubicMatchesPillow(t *testing.T) {
	for _, c := range loadResizeExpectations(t).Resize {
		t.Run(fmt.Sprintf("%dx%d_to_%dx%d", c.InWH[0], c.InWH[1], c.OutWH[0], c.OutWH[1]), func(t *testing.T) {
			got, err := ResizeBicubic(synthImage(c.InWH[0], c.InWH[1]), c.OutWH[0], c.OutWH[1])
			if err != nil {
				t.Fatal(err)
			}
			if got.Bounds().Size() != image.Pt(c.OutWH[0], c.OutWH[1]) {
				t.Fatalf("size %v", got.Bounds().Size())
			}
			if s := rgbSHA256(got); s != c.SHA256 {
				t.Errorf("RGB sha256 %s, Pillow %s", s, c.SHA256)
			}
		})
	}
}

func TestPreprocessMatchesPillowNumpy(t *testing.T) {
	for _, c := range loadResizeExpectations(t).Processor {
		pp := c.Params
		t.Run(fmt.Sprintf("%dx%d_S%d", c.InWH[0], c.InWH[1], pp.Size), func(t *testing.T) {
			p := Params{ImageSize: pp.Size, MinSize: pp.MinSize, RescaleFactor: pp.Rescale, DoNormalize: pp.Normalize}
			for i := range 3 {
				p.Mean[i], p.Std[i] = float32(pp.Mean[i]), float32(pp.Std[i])
			}
			src := synthImage(c.InWH[0], c.InWH[1])
			if rw, rh := p.ResizedSize(c.InWH[0], c.InWH[1]); rw != c.ResizedWH[0] || rh != c.ResizedWH[1] {
				t.Fatalf("resized %dx%d, Python %v", rw, rh, c.ResizedWH)
			}
			sq, err := p.Square(src)
			if err != nil {
				t.Fatal(err)
			}
			if s := rgbSHA256(sq); s != c.SquareSHA256 {
				t.Errorf("square RGB sha256 %s, Pillow %s", s, c.SquareSHA256)
			}
			got, err := p.Preprocess(src)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3*pp.Size*pp.Size {
				t.Fatalf("%d values", len(got))
			}
			sum := 0.0
			for _, v := range got {
				sum += float64(v)
			}
			if s := floatsSHA256(got); s != c.ValuesSHA256 {
				t.Errorf("pixel_values sha256 %s, numpy %s (sum %.9g vs %.9g)", s, c.ValuesSHA256, sum, c.ValuesSum)
			}
		})
	}
}
