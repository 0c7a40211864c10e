package app_test

import (
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/app"
)

func TestDecodeImageFile(t *testing.T) {
	dir := t.TempDir()
	good := writePNG(t, dir, "photo.png", 40, 30)
	huge := filepath.Join(dir, "huge.png")
	if err := os.WriteFile(huge, pngHeader(10000, 10000), 0o600); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "notes.png")
	if err := os.WriteFile(text, []byte(strings.Repeat("not an image at all ", 10)), 0o600); err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(dir, "damaged.png")
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(damaged, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		path    string
		w, h    int
		wantErr error // nil with errText "": decodes
		errText string
	}{
		{name: "good", path: good, w: 40, h: 30},
		{name: "over the pixel limit", path: huge, wantErr: app.ErrTooLarge, errText: "huge.png"},
		{name: "not an image", path: text, wantErr: app.ErrNotImage, errText: "notes.png"},
		{name: "damaged", path: damaged, wantErr: app.ErrDamagedImage, errText: "damaged.png is a damaged or incomplete PNG image"},
		{name: "missing", path: filepath.Join(dir, "gone.png"), errText: "does not exist"},
		{name: "folder", path: dir, wantErr: app.ErrNotImage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := app.DecodeImageFile(tc.path)
			if tc.wantErr == nil && tc.errText == "" {
				if err != nil {
					t.Fatal(err)
				}
				if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
					t.Errorf("size %v, want %d×%d", b.Size(), tc.w, tc.h)
				}
				if got := img.NRGBAAt(3, 2); got != (color.NRGBA{3, 2, 5, 255}) {
					t.Errorf("pixel (3,2) = %v", got)
				}
				return
			}
			if err == nil {
				t.Fatal("decoded, want an error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %q is not %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.errText) {
				t.Errorf("error %q does not say %q", err, tc.errText)
			}
		})
	}
}

// EncodePNG's bytes go into the store as they are and decode to the same picture.
func TestEncodePNGIntoStore(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 8, 6))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	data, err := app.EncodePNG(img, app.ImageMeta{Prompt: "squares", Seed: 7, Model: "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t)
	ref, err := s.PutImage(data)
	if err != nil {
		t.Fatal(err)
	}
	back, err := app.DecodeImageFile(s.ImagePath(ref))
	if err != nil {
		t.Fatal(err)
	}
	if ref.Width != 8 || ref.Height != 6 || string(back.Pix) != string(img.Pix) {
		t.Errorf("stored %dx%d, pixels equal %v", ref.Width, ref.Height, string(back.Pix) == string(img.Pix))
	}
	if !strings.Contains(string(data), "squares") {
		t.Error("the prompt is not in the PNG's text")
	}
}

func TestImageFileName(t *testing.T) {
	for _, tc := range []struct {
		prompt string
		want   string
	}{
		{"A red fox in fresh snow, soft morning light", "a-red-fox-in-fresh-snow-soft-morning-7.png"},
		{"A lighthouse on a rocky coast at sunset, oil painting, very detailed", "a-lighthouse-on-a-rocky-coast-at-sunset-7.png"},
		{"../../etc/passwd", "etc-passwd-7.png"},
		{"  ", "janus-7.png"},
		{"日本の城、桜", "日本の城-桜-7.png"},
		{strings.Repeat("x", 60), strings.Repeat("x", 40) + "-7.png"},
		{"夕暮れの灯台と荒れた海と空を飛ぶかもめの群れと遠くの山並みと夕焼けに染まる雲と小さな漁船", "夕暮れの灯台と荒れた海と空を飛ぶかもめの群れと遠くの山並みと夕焼けに染まる雲と小-7.png"},
	} {
		if got := app.ImageFileName(tc.prompt, 7); got != tc.want {
			t.Errorf("ImageFileName(%q) = %q, want %q", tc.prompt, got, tc.want)
		}
	}
}
