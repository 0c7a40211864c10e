package imageproc

import (
	"encoding/json"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goRootDir returns the Go installation whose image test files goroot.json describes, or
// skips the test.
func goRootDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	root := strings.TrimSpace(string(out))
	if err != nil || root == "" {
		t.Skipf("no Go installation to read its image test files from (go env GOROOT: %v)", err)
	}
	if _, err := os.Stat(filepath.Join(root, "src", "image", "testdata")); err != nil {
		t.Skipf("Go's image test files not found: %v", err)
	}
	return root
}

// TestDecodeGoTestFilesMatchPillow decodes the PNG suite and the GIF/PNG files that ship
// with Go (interlacing, every bit depth, tRNS, gAMA, odd sizes) and compares with Pillow.
func TestDecodeGoTestFilesMatchPillow(t *testing.T) {
	root := goRootDir(t)
	raw, err := os.ReadFile(filepath.Join("testdata", "goroot.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Exact map[string]struct {
			Width  int    `json:"width"`
			Height int    `json:"height"`
			SHA256 string `json:"rgb_sha256"`
		} `json:"exact"`
		JPEGvsPNG map[string]string `json:"jpeg_vs_png"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Exact) < 40 {
		t.Fatalf("goroot.json lists %d files", len(m.Exact))
	}
	for rel, want := range m.Exact {
		t.Run(filepath.Base(rel), func(t *testing.T) {
			path := filepath.Join(root, rel)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("%s not in this Go installation", rel)
			}
			img, err := DecodeFile(path, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds().Size() != image.Pt(want.Width, want.Height) {
				t.Fatalf("size %v, Pillow %dx%d", img.Bounds().Size(), want.Width, want.Height)
			}
			if s := rgbSHA256(img); s != want.SHA256 {
				t.Errorf("RGB sha256 %s, Pillow %s", s, want.SHA256)
			}
		})
	}
	// 4:4:0 chroma (libjpeg's h1v2 fancy upsampling), which Pillow cannot write.
	for rel, ref := range m.JPEGvsPNG {
		t.Run(filepath.Base(rel), func(t *testing.T) {
			path := filepath.Join(root, rel)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("%s not in this Go installation", rel)
			}
			img, err := DecodeFile(path, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want, err := DecodeFile(filepath.Join("testdata", ref), DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			b := want.Bounds()
			wantRGB := make([]byte, 0, 3*b.Dx()*b.Dy())
			for i := 0; i < len(want.Pix); i += 4 {
				wantRGB = append(wantRGB, want.Pix[i:i+3]...)
			}
			maxDiff, count, err := rgbDiff(img, wantRGB)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: max |diff| %d, %d of %d values differ", rel, maxDiff, count, len(wantRGB))
			if maxDiff > jpegMaxDiff || float64(count) > jpegMaxFraction*float64(len(wantRGB)) {
				t.Errorf("%s: max |diff| %d, %d of %d values differ", rel, maxDiff, count, len(wantRGB))
			}
		})
	}
}
