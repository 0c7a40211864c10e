package imageproc

import (
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type decodeManifest struct {
	PillowVersion string `json:"pillow_version"`
	Images        map[string]struct {
		PILMode string `json:"pil_mode"`
		Width   int    `json:"width"`
		Height  int    `json:"height"`
	} `json:"images"`
}

// jpegTolerance bounds the difference from Pillow for JPEG, whose inverse DCT differs
// between image/jpeg and libjpeg-turbo: at most this many levels per channel, in at most
// this fraction of the values. Everything else must match exactly.
const (
	jpegMaxDiff     = 3
	jpegMaxFraction = 0.05
)

func rgbDiff(img *image.NRGBA, want []byte) (maxDiff, count int, err error) {
	b := img.Bounds()
	if len(want) != 3*b.Dx()*b.Dy() {
		return 0, 0, fmt.Errorf("size %v vs %d expected bytes", b.Size(), len(want))
	}
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			p := img.Pix[img.PixOffset(x, y):]
			if p[3] != 0xff {
				return 0, 0, fmt.Errorf("pixel (%d,%d) alpha %d, want opaque", x, y, p[3])
			}
			for c := 0; c < 3; c++ {
				d := int(p[c]) - int(want[3*(y*b.Dx()+x)+c])
				if d < 0 {
					d = -d
				}
				if d > 0 {
					count++
				}
				maxDiff = max(maxDiff, d)
			}
		}
	}
	return maxDiff, count, nil
}

func TestDecodeMatchesPillow(t *testing.T) {
	dir := filepath.Join("testdata", "decode")
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m decodeManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Images) < 30 {
		t.Fatalf("manifest lists only %d images", len(m.Images))
	}
	for name, info := range m.Images {
		t.Run(name, func(t *testing.T) {
			img, err := DecodeFile(filepath.Join(dir, name), DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := img.Bounds().Size(); got != image.Pt(info.Width, info.Height) {
				t.Fatalf("size %v, Pillow %dx%d", got, info.Width, info.Height)
			}
			want, err := os.ReadFile(filepath.Join(dir, name+".rgb"))
			if err != nil {
				t.Fatal(err)
			}
			maxDiff, count, err := rgbDiff(img, want)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s (Pillow mode %s): max |diff| %d, %d of %d values differ", name, info.PILMode, maxDiff, count, len(want))
			tol, fraction := 0, 0.0
			if strings.HasPrefix(name, "jpeg_") {
				tol, fraction = jpegMaxDiff, jpegMaxFraction
			}
			if maxDiff > tol || float64(count) > fraction*float64(len(want)) {
				t.Errorf("%s: max |diff| from Pillow %d (allowed %d), %d of %d values differ (allowed %.0f%%)",
					name, maxDiff, tol, count, len(want), 100*fraction)
			}
		})
	}
}
