package app_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/tiff"

	"github.com/janus-desktop/janus/app"
)

// writePNG writes a w×h gradient PNG and returns its path.
func writePNG(t *testing.T, dir, name string, w, h int) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x), uint8(y), uint8(x + y), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// pngHeader is the start of a PNG claiming w×h pixels: enough for DecodeConfig.
func pngHeader(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk := append([]byte("IHDR"), ihdr...)
	out := []byte("\x89PNG\r\n\x1a\n")
	out = binary.BigEndian.AppendUint32(out, 13)
	out = append(out, chunk...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(chunk))
}

func TestCheckImageFile(t *testing.T) {
	dir := t.TempDir()
	pngPath := writePNG(t, dir, "photo.png", 40, 30)
	jpgPath := filepath.Join(dir, "photo.jpeg")
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 33, 21)), nil); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(jpgPath, buf.Bytes(), 0o644)
	// A JPEG named .png is still an image: the content decides, not the extension.
	misnamed := filepath.Join(dir, "really-a-jpeg.png")
	os.WriteFile(misnamed, buf.Bytes(), 0o644)
	text := filepath.Join(dir, "notes.png")
	os.WriteFile(text, []byte("just some text, renamed to look like an image\n"), 0o644)
	empty := filepath.Join(dir, "empty.png")
	os.WriteFile(empty, nil, 0o644)
	folder := filepath.Join(dir, "holiday.png")
	os.Mkdir(folder, 0o755)
	huge := filepath.Join(dir, "huge.png")
	os.WriteFile(huge, pngHeader(10000, 10000), 0o644)
	// Within the pixel limit but wider than the decoder takes: refused here, not at the
	// thumbnail (CheckImageFile and DecodeImageFile agree).
	strip := filepath.Join(dir, "strip.png")
	os.WriteFile(strip, pngHeader(20000, 4), 0o644)
	heic := filepath.Join(dir, "IMG_0042.HEIC")
	os.WriteFile(heic, []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic\x00\x00\x01\x00meta"), 0o644)
	// A whole TIFF: the image package knows it (a dependency registers it), the model's
	// decoder does not.
	tiffPath := filepath.Join(dir, "scan.tif")
	var tb bytes.Buffer
	if err := tiff.Encode(&tb, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(tiffPath, tb.Bytes(), 0o644)
	pdf := filepath.Join(dir, "report.pdf")
	os.WriteFile(pdf, []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"), 0o644)
	big := filepath.Join(dir, "big.png")
	f, _ := os.Create(big)
	f.Write(pngHeader(100, 100))
	f.Truncate(app.MaxAttachmentBytes + 1) // sparse: no disk is filled
	f.Close()

	for _, tc := range []struct {
		path     string
		w, h     int
		is       error  // the error wraps this
		contains string // the error says this
	}{
		{path: pngPath, w: 40, h: 30},
		{path: jpgPath, w: 33, h: 21},
		{path: misnamed, w: 33, h: 21},
		{path: text, is: app.ErrNotImage, contains: "notes.png is not an image, whatever its name says: its contents are not PNG"},
		{path: empty, is: app.ErrNotImage, contains: "empty.png is an empty file"},
		{path: folder, is: app.ErrNotImage, contains: "holiday.png is a folder"},
		// Kinds taken for pictures say what they are and what to do.
		{path: heic, is: app.ErrNotImage, contains: "IMG_0042.HEIC is a HEIC photo, which Janus cannot read: save it as JPEG first"},
		{path: tiffPath, is: app.ErrNotImage, contains: "scan.tif is a TIFF image, which Janus cannot read: save it as PNG or JPEG first"},
		{path: pdf, is: app.ErrNotImage, contains: "report.pdf is a PDF document, not a picture: take a screenshot of the page"},
		{path: huge, is: app.ErrTooLarge, contains: "10000×10000"},
		{path: strip, is: app.ErrTooLarge, contains: "20000×4 pixels: image too large (the limit is 16384 pixels a side)"},
		{path: big, is: app.ErrTooLarge, contains: "the limit is 50 MB"},
		{path: filepath.Join(dir, "gone.png"), contains: "gone.png: the file does not exist"},
	} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			w, h, err := app.CheckImageFile(tc.path)
			if tc.contains == "" {
				if err != nil || w != tc.w || h != tc.h {
					t.Fatalf("CheckImageFile = %d×%d, %v; want %d×%d", w, h, err, tc.w, tc.h)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckImageFile accepted %s", tc.path)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q does not wrap %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.contains) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line containing %q", err, tc.contains)
			}
		})
	}
}

func TestThumbnail(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		w, h, size   int
		wantW, wantH int
	}{
		{640, 480, 160, 160, 120},
		{300, 900, 160, 53, 160},
		{100, 50, 160, 100, 50}, // never scaled up
	} {
		p := writePNG(t, dir, "in.png", tc.w, tc.h)
		img, err := app.Thumbnail(p, tc.size)
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != tc.wantW || b.Dy() != tc.wantH {
			t.Errorf("Thumbnail of %d×%d at %d = %d×%d, want %d×%d", tc.w, tc.h, tc.size, b.Dx(), b.Dy(), tc.wantW, tc.wantH)
		}
	}
	text := filepath.Join(dir, "x.png")
	os.WriteFile(text, []byte("hello"), 0o644)
	if _, err := app.Thumbnail(text, 160); !errors.Is(err, app.ErrNotImage) {
		t.Errorf("Thumbnail of a text file: %v, want ErrNotImage", err)
	}
}
