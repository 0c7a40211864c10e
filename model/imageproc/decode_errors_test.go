package imageproc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "decode", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pngHeaderOnly is a PNG signature plus a valid IHDR claiming w×h, and nothing else.
func pngHeaderOnly(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(ihdr)))
	chunk = append(append(chunk, "IHDR"...), ihdr...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	return append([]byte("\x89PNG\r\n\x1a\n"), chunk...)
}

func TestDecodeErrors(t *testing.T) {
	pngData := readTestdata(t, "png_rgb.png")
	corrupt := append([]byte(nil), pngData...)
	corrupt[len(corrupt)-30] ^= 0xff // inside IDAT
	jpegData := readTestdata(t, "jpeg_420.jpg")
	gifData := readTestdata(t, "gif.gif")
	webpData := readTestdata(t, "webp_lossy.webp")
	bmpRLE := append([]byte(nil), readTestdata(t, "bmp_p.bmp")...)
	binary.LittleEndian.PutUint32(bmpRLE[30:], 1) // BI_RLE8: not supported by x/image/bmp

	for _, tc := range []struct {
		name    string
		data    []byte
		opts    DecodeOptions
		wantErr error  // checked with errors.Is when set
		wantMsg string // a substring of the message
	}{
		{"empty", nil, DecodeOptions{}, ErrUnknownFormat, "the file is empty"},
		{"text", []byte("hello, this is not an image"), DecodeOptions{}, ErrUnknownFormat, ""},
		// Kinds people take for pictures are named, so that the message says what to do.
		{"heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), DecodeOptions{}, ErrUnknownFormat, "a HEIC photo"},
		{"heif", []byte("\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic"), DecodeOptions{}, ErrUnknownFormat, "a HEIF photo"},
		{"avif", []byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1"), DecodeOptions{}, ErrUnknownFormat, "an AVIF image"},
		{"mp4", []byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"), DecodeOptions{}, ErrUnknownFormat, "unknown image format"},
		{"tiff little-endian", []byte("II*\x00\x08\x00\x00\x00"), DecodeOptions{}, ErrUnknownFormat, "a TIFF image"},
		{"tiff big-endian", []byte("MM\x00*\x00\x00\x00\x08"), DecodeOptions{}, ErrUnknownFormat, "a TIFF image"},
		{"jpeg xl", []byte("\xff\x0a\xfa\x1f"), DecodeOptions{}, ErrUnknownFormat, "a JPEG XL image"},
		{"psd", []byte("8BPS\x00\x01"), DecodeOptions{}, ErrUnknownFormat, "a Photoshop file"},
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3"), DecodeOptions{}, ErrUnknownFormat, "a PDF document"},
		{"svg", []byte("<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"), DecodeOptions{}, ErrUnknownFormat, "an SVG drawing"},
		{"html with an svg", []byte("<!DOCTYPE html><HTML><body><svg/></body></HTML>"), DecodeOptions{}, ErrUnknownFormat, "unknown image format"},
		{"truncated png", pngData[:60], DecodeOptions{}, nil, "PNG"},
		{"corrupt png", corrupt, DecodeOptions{}, nil, "PNG"},
		{"png header only", pngHeaderOnly(10, 10), DecodeOptions{}, nil, "PNG"},
		{"png zero size", pngHeaderOnly(0, 10), DecodeOptions{}, nil, ""},
		{"png huge header", pngHeaderOnly(100000, 100000), DecodeOptions{}, ErrTooLarge, "100000x100000"},
		{"png over pixel limit", pngData, DecodeOptions{MaxPixels: 100}, ErrTooLarge, "over 100 pixels"},
		{"png over side limit", pngData, DecodeOptions{MaxSide: 12}, ErrTooLarge, "over 12 pixels"},
		{"truncated jpeg", jpegData[:len(jpegData)/2], DecodeOptions{}, nil, "JPEG"},
		{"jpeg header only", jpegData[:200], DecodeOptions{}, nil, "JPEG"},
		{"truncated gif", gifData[:len(gifData)-20], DecodeOptions{}, nil, "GIF"},
		{"truncated webp", webpData[:len(webpData)-40], DecodeOptions{}, nil, "WebP"},
		{"rle bmp", bmpRLE, DecodeOptions{}, nil, "BMP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Decode("photo.x", tc.data, tc.opts)
			if err == nil {
				t.Fatalf("decoded %v, want an error", img.Bounds())
			}
			if !strings.Contains(err.Error(), "photo.x") {
				t.Errorf("error %q does not name the file", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %q does not wrap %q", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q lacks %q", err, tc.wantMsg)
			}
		})
	}
}

func TestDecodeFileErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.png")
	if _, err := DecodeFile(missing, DecodeOptions{}); err == nil || !strings.Contains(err.Error(), "nope.png") {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join("testdata", "decode", "png_rgb.png")
	_, err := DecodeFile(big, DecodeOptions{MaxFileBytes: 10})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "png_rgb.png") {
		t.Errorf("file over MaxFileBytes: %v", err)
	}
}

func TestDecodeOrientationOption(t *testing.T) {
	for _, tc := range []struct {
		file             string
		ignore           bool
		wantW, wantH     int
		sameAsIgnoreFlag bool
	}{
		{"jpeg_orient6.jpg", false, 24, 40, false},
		{"jpeg_orient6.jpg", true, 40, 24, false},
		{"jpeg_orient5.jpg", true, 40, 24, false},
		{"jpeg_orient1.jpg", false, 40, 24, true},
		{"png_rgb.png", false, 13, 11, true}, // orientation only applies to JPEG
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := readTestdata(t, tc.file)
			img, err := Decode(tc.file, data, DecodeOptions{IgnoreOrientation: tc.ignore})
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds().Size() != image.Pt(tc.wantW, tc.wantH) {
				t.Fatalf("size %v, want %dx%d", img.Bounds().Size(), tc.wantW, tc.wantH)
			}
			if tc.sameAsIgnoreFlag {
				other, err := Decode(tc.file, data, DecodeOptions{IgnoreOrientation: !tc.ignore})
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(other.Pix, img.Pix) {
					t.Error("IgnoreOrientation changed an image without a rotation")
				}
			}
		})
	}
}

func TestJPEGOrientationParsing(t *testing.T) {
	exif := func(order string, tag uint16, typ uint16, val uint32) []byte {
		var bo binary.AppendByteOrder = binary.LittleEndian
		if order == "MM" {
			bo = binary.BigEndian
		}
		t := []byte(order)
		t = bo.AppendUint16(t, 42)
		t = bo.AppendUint32(t, 8)
		t = bo.AppendUint16(t, 2) // two entries: an unrelated one, then ours
		t = bo.AppendUint16(t, 0x010f)
		t = bo.AppendUint16(t, 2)
		t = bo.AppendUint32(t, 1)
		t = bo.AppendUint32(t, 0)
		t = bo.AppendUint16(t, tag)
		t = bo.AppendUint16(t, typ)
		t = bo.AppendUint32(t, 1)
		if typ == 3 {
			t = bo.AppendUint16(t, uint16(val))
			t = bo.AppendUint16(t, 0)
		} else {
			t = bo.AppendUint32(t, val)
		}
		seg := append([]byte("Exif\x00\x00"), t...)
		out := []byte{0xff, 0xd8, 0xff, 0xe0, 0, 4, 'J', 'F'} // SOI, a short APP0
		out = append(out, 0xff, 0xe1)
		out = binary.BigEndian.AppendUint16(out, uint16(len(seg)+2))
		out = append(out, seg...)
		return append(out, 0xff, 0xda, 0, 2)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want int
	}{
		{"little endian short", exif("II", 0x0112, 3, 6), 6},
		{"big endian short", exif("MM", 0x0112, 3, 8), 8},
		{"long", exif("MM", 0x0112, 4, 3), 3},
		{"out of range", exif("II", 0x0112, 3, 9), 1},
		{"wrong type", exif("II", 0x0112, 2, 6), 1},
		{"no tag", exif("II", 0x0110, 3, 6), 1},
		{"truncated", exif("II", 0x0112, 3, 6)[:30], 1},
		{"no exif", []byte{0xff, 0xd8, 0xff, 0xda, 0, 2}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := jpegOrientation(tc.data); got != tc.want {
				t.Errorf("orientation %d, want %d", got, tc.want)
			}
		})
	}
}

// FuzzDecode feeds arbitrary bytes to every decoder: errors are fine, panics and images
// over the limits are not.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"png_rgb.png", "png_p_trns.png", "png_l16_trns.png", "gif_offset_trns.gif",
		"jpeg_420.jpg", "jpeg_orient6.jpg", "webp_lossy.webp", "webp_lossless.webp", "bmp_p.bmp"} {
		f.Add(readTestdata(f, name))
	}
	f.Add(pngHeaderOnly(1<<20, 1))
	opts := DecodeOptions{MaxPixels: 1 << 20, MaxSide: 4096}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Decode("fuzz", data, opts)
		if err != nil {
			return
		}
		b := img.Bounds()
		if b.Min != (image.Point{}) || b.Dx() > opts.MaxSide || b.Dy() > opts.MaxSide ||
			int64(b.Dx())*int64(b.Dy()) > opts.MaxPixels {
			t.Fatalf("decoded bounds %v beyond the limits", b)
		}
	})
}

// CheckFile refuses from the header alone what DecodeFile would, and passes a good image.
func TestCheckFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := filepath.Join("testdata", "decode", "png_rgb.png")
	for _, tc := range []struct {
		path    string
		opts    DecodeOptions
		wantErr error
		wantMsg string // "" for no error
	}{
		{good, DecodeOptions{}, nil, ""},
		{filepath.Join(dir, "gone.png"), DecodeOptions{}, os.ErrNotExist, "gone.png"},
		{dir, DecodeOptions{}, nil, "is a folder"},
		{good, DecodeOptions{MaxFileBytes: 10}, ErrTooLarge, "larger than 10 bytes"},
		{write("text.png", []byte("just text")), DecodeOptions{}, ErrUnknownFormat, "text.png"},
		{write("photo.heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")), DecodeOptions{}, ErrUnknownFormat, "a HEIC photo"},
		{write("huge.png", pngHeaderOnly(100000, 100000)), DecodeOptions{}, ErrTooLarge, "100000x100000"},
		{write("cut.png", pngHeaderOnly(10, 10)), DecodeOptions{}, nil, ""}, // the header is whole: past it is Decode's
	} {
		err := CheckFile(tc.path, tc.opts)
		switch {
		case tc.wantMsg == "" && err != nil:
			t.Errorf("CheckFile(%s) = %v", tc.path, err)
		case tc.wantMsg != "" && (err == nil || !strings.Contains(err.Error(), tc.wantMsg)):
			t.Errorf("CheckFile(%s) = %v, want an error containing %q", tc.path, err, tc.wantMsg)
		case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
			t.Errorf("CheckFile(%s) = %v, want it to wrap %v", tc.path, err, tc.wantErr)
		}
	}
}
