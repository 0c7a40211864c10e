package imageproc

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func testImage() *image.NRGBA { return synthImage(23, 17) }

func TestEncodePNGTextRoundTrip(t *testing.T) {
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
			data, err := EncodePNG(img, tc.text)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ReadPNGText(data)
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
			sameImage(t, "pixels", ToRGB(dec), img)
		})
	}
}

func TestEncodePNGRejectsBadText(t *testing.T) {
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
			if _, err := EncodePNG(testImage(), []TextField{tc.f}); err == nil {
				t.Errorf("EncodePNG accepted %q", tc.f)
			}
		})
	}
}

func TestReadPNGTextRejectsCorruption(t *testing.T) {
	data, err := EncodePNG(testImage(), []TextField{{"seed", "1"}})
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
			if _, err := ReadPNGText(tc.data); err == nil {
				t.Error("ReadPNGText accepted corrupt data")
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

func TestWritePNG(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.png")
	text := []TextField{{"prompt", "a cat"}, {"seed", "42"}}
	if err := WritePNG(path, testImage(), text, false); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ReadPNGText(first); err != nil || !reflect.DeepEqual(got, text) {
		t.Fatalf("text read back %q (%v)", got, err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (%v), want 0644", st.Mode(), err)
	}

	// No overwrite: an error wrapping ErrExists, and the file keeps its content.
	err = WritePNG(path, synthImage(5, 5), []TextField{{"seed", "0"}}, false)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second write without overwrite: %v, want ErrExists", err)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, first) {
		t.Fatal("refused write changed the file")
	}

	// Overwrite replaces it.
	if err := WritePNG(path, synthImage(5, 5), []TextField{{"seed", "0"}}, true); err != nil {
		t.Fatal(err)
	}
	img, err := DecodeFile(path, DecodeOptions{})
	if err != nil || img.Bounds().Dx() != 5 {
		t.Fatalf("after overwrite: %v, %v", img.Bounds(), err)
	}

	// Bad text: nothing written at all.
	bad := filepath.Join(dir, "bad.png")
	if err := WritePNG(bad, testImage(), []TextField{{"", "x"}}, false); err == nil {
		t.Fatal("bad key accepted")
	}
	if names := dirNames(t, dir); !reflect.DeepEqual(names, []string{"out.png"}) {
		t.Errorf("folder holds %v, want only out.png (no temporary files)", names)
	}

	// Missing folder: an error naming the path.
	if err := WritePNG(filepath.Join(dir, "missing", "x.png"), testImage(), nil, false); err == nil ||
		!strings.Contains(err.Error(), "missing") {
		t.Errorf("write into a missing folder: %v", err)
	}
}
