package pngfile

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// testImage is a small picture whose every pixel differs from its neighbours.
func testImage() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 23, 17))
	for i := range img.Pix {
		img.Pix[i] = uint8(i*37 + i/7)
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	return img
}

func TestEncodeTextRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		text []TextField
	}{
		{"none", nil},
		{"generation settings", []TextField{
			{"prompt", "A red circle above a blue square."}, {"seed", "12345"}, {"cfg", "5"},
			{"temperature", "1"}, {"model", "Janus-Pro-7B"}}},
		{"latin-1 and newlines", []TextField{{"prompt", "café crème\nsecond line"}, {"Key with space", ""}}},
		{"utf-8 needs iTXt", []TextField{{"prompt", "一只戴帽子的猫 🐱"}, {"seed", "7"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := testImage()
			data, err := Encode(img, tc.text)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ReadText(data)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.text) || (len(got) > 0 && !reflect.DeepEqual(got, tc.text)) {
				t.Errorf("text read back %q, wrote %q", got, tc.text)
			}
			if len(tc.text) > 0 {
				// The text chunks come right after IHDR.
				if typ := string(data[33+4 : 33+8]); typ != "tEXt" && typ != "iTXt" {
					t.Errorf("chunk after IHDR is %q", typ)
				}
			}
			dec, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("image/png cannot read the result: %v", err)
			}
			if dec.Bounds() != img.Bounds() {
				t.Fatalf("decoded %v, wrote %v", dec.Bounds(), img.Bounds())
			}
			for y := range img.Bounds().Dy() {
				for x := range img.Bounds().Dx() {
					if got, want := color.NRGBAModel.Convert(dec.At(x, y)), img.NRGBAAt(x, y); got != want {
						t.Fatalf("pixel (%d, %d) %v, wrote %v", x, y, got, want)
					}
				}
			}
		})
	}
}

func TestEncodeRejectsBadText(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    TextField
	}{
		{"empty key", TextField{"", "x"}},
		{"key too long", TextField{strings.Repeat("k", 80), "x"}},
		{"non-latin key", TextField{"提示", "x"}},
		{"leading space", TextField{" prompt", "x"}},
		{"double space", TextField{"a  b", "x"}},
		{"control char in key", TextField{"a\tb", "x"}},
		{"NUL in value", TextField{"prompt", "a\x00b"}},
		{"invalid UTF-8 value", TextField{"prompt", "\xff\xfe 一"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Encode(testImage(), []TextField{tc.f}); err == nil {
				t.Errorf("Encode accepted %q", tc.f)
			}
		})
	}
}

// CheckValue refuses exactly the values Encode refuses, so that callers can check text
// before the work that makes an image.
func TestCheckValue(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"a red fox", true},
		{"café ÿ", true},
		{"狐狸 \uFFFD", true},
		{"", true},
		{"a\x00b", false},
		{"\xff\xfe 一", false},
		{"caf\xe9", false}, // Latin-1 bytes, not UTF-8
	} {
		err := CheckValue(tc.value)
		if (err == nil) != tc.ok {
			t.Errorf("CheckValue(%q) = %v, want ok %v", tc.value, err, tc.ok)
		}
		if _, encErr := Encode(testImage(), []TextField{{"prompt", tc.value}}); (encErr == nil) != (err == nil) {
			t.Errorf("%q: CheckValue says %v, Encode %v", tc.value, err, encErr)
		}
	}
}

func TestReadTextRejectsCorruption(t *testing.T) {
	data, err := Encode(testImage(), []TextField{{"seed", "1"}})
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), data...)
	flipped[33+8+2] ^= 0x20 // inside the tEXt data: CRC no longer matches
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"not png", []byte("GIF89a....")},
		{"truncated", data[:40]},
		{"bad crc", flipped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ReadText(tc.data); err == nil {
				t.Error("ReadText accepted corrupt data")
			}
		})
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.png")
	text := []TextField{{"prompt", "a cat"}, {"seed", "42"}}
	if err := Write(path, testImage(), text, false); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ReadText(first); err != nil || !reflect.DeepEqual(got, text) {
		t.Fatalf("text read back %q (%v)", got, err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (%v), want 0644", st.Mode(), err)
	}

	// No overwrite: an error wrapping ErrExists, and the file keeps its content.
	err = Write(path, image.NewNRGBA(image.Rect(0, 0, 5, 5)), []TextField{{"seed", "0"}}, false)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second write without overwrite: %v, want ErrExists", err)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, first) {
		t.Fatal("refused write changed the file")
	}

	// Overwrite replaces it.
	if err := Write(path, image.NewNRGBA(image.Rect(0, 0, 5, 5)), []TextField{{"seed", "0"}}, true); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if cfg, err := png.DecodeConfig(f); err != nil || cfg.Width != 5 {
		t.Fatalf("after overwrite: %+v, %v", cfg, err)
	}

	// Bad text: nothing written at all.
	bad := filepath.Join(dir, "bad.png")
	if err := Write(bad, testImage(), []TextField{{"", "x"}}, false); err == nil {
		t.Fatal("bad key accepted")
	}
	if names := dirNames(t, dir); !reflect.DeepEqual(names, []string{"out.png"}) {
		t.Errorf("folder holds %v, want only out.png (no temporary files)", names)
	}

	// Missing folder: an error naming the path.
	if err := Write(filepath.Join(dir, "missing", "x.png"), testImage(), nil, false); err == nil ||
		!strings.Contains(err.Error(), "missing") {
		t.Errorf("write into a missing folder: %v", err)
	}
}
