package imageproc

import (
	"image"
	"path/filepath"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
)

func TestParseParams(t *testing.T) {
	clip := Params{ImageSize: 224, MinSize: 14,
		Mean:          [3]float32{0.48145466, 0.4578275, 0.40821073},
		Std:           [3]float32{0.26862954, 0.26130258, 0.27577711},
		RescaleFactor: 1.0 / 255.0, DoNormalize: true}
	for _, tc := range []struct {
		name    string
		json    string
		want    Params
		wantErr string
	}{
		{"released", `{"background_color": [127, 127, 127], "do_normalize": true, "image_mean": [0.5, 0.5, 0.5],
			"image_processor_type": "VLMImageProcessor", "image_size": 384, "image_std": [0.5, 0.5, 0.5],
			"min_size": 14, "processor_class": "VLChatProcessor", "rescale_factor": 0.00392156862745098}`,
			DefaultParams(), ""},
		{"first 1.3B release", `{"do_normalize": false, "image_mean": [0.5, 0.5, 0.5], "image_size": 384,
			"image_std": [0.5, 0.5, 0.5], "min_size": 14, "rescale_factor": 0.00392156862745098}`,
			func() Params { p := DefaultParams(); p.DoNormalize = false; return p }(), ""},
		{"constructor defaults", `{"image_size": 224}`, clip, ""},
		{"missing image_size", `{"min_size": 14}`, Params{}, "image_size is missing"},
		{"bad json", `{"image_size": 384,`, Params{}, "parse preprocessor config"},
		{"wrong type", `{"image_size": "384"}`, Params{}, "parse preprocessor config"},
		{"two means", `{"image_size": 384, "image_mean": [0.5, 0.5]}`, Params{}, "image_mean has 2 values"},
		{"min over size", `{"image_size": 10, "min_size": 14}`, Params{}, "min_size 14"},
		{"zero std", `{"image_size": 384, "image_std": [0.5, 0, 0.5]}`, Params{}, "image_std[1]"},
		{"zero size", `{"image_size": 0}`, Params{}, "image_size 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseParams([]byte(tc.json))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestLoadParamsReleasedConfigs(t *testing.T) {
	for _, model := range []string{"janus-1.3b", "janus-pro-1b", "janus-pro-7b"} {
		t.Run(model, func(t *testing.T) {
			p, err := LoadParams(fixtures.Path(t, "real-configs", model, "preprocessor_config.json"))
			if err != nil {
				t.Fatal(err)
			}
			if p != DefaultParams() {
				t.Errorf("%s: %+v, want the released defaults %+v", model, p, DefaultParams())
			}
		})
	}
	if _, err := LoadParams(filepath.Join(t.TempDir(), "none.json")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestResizedSizeAndBackground(t *testing.T) {
	clip, err := ParseParams([]byte(`{"image_size": 336}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		p            Params
		w, h         int
		wantW, wantH int
	}{
		{"spec landscape", DefaultParams(), 150, 100, 384, 256},
		{"spec portrait", DefaultParams(), 90, 140, 246, 384},
		{"square", DefaultParams(), 33, 33, 384, 384},
		{"min size", DefaultParams(), 5000, 10, 384, 14},
		{"one pixel", DefaultParams(), 1, 1, 384, 384},
		{"tiny-a", func() Params { p := DefaultParams(); p.ImageSize = 64; return p }(), 150, 100, 64, 42},
		{"336", clip, 1920, 1080, 336, 189},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if w, h := tc.p.ResizedSize(tc.w, tc.h); w != tc.wantW || h != tc.wantH {
				t.Errorf("ResizedSize(%d, %d) = %dx%d, want %dx%d", tc.w, tc.h, w, h, tc.wantW, tc.wantH)
			}
		})
	}
	if bg := DefaultParams().Background(); bg != [3]uint8{127, 127, 127} {
		t.Errorf("released background %v", bg)
	}
	if bg := clip.Background(); bg != [3]uint8{122, 116, 104} { // int(0.48145466*255) ...
		t.Errorf("CLIP background %v", bg)
	}
}

func TestPreprocessRejectsBadInput(t *testing.T) {
	p := DefaultParams()
	if _, err := p.Preprocess(image.NewNRGBA(image.Rect(0, 0, 0, 5))); err == nil {
		t.Error("empty image accepted")
	}
	if err := p.PreprocessInto(make([]float32, 10), synthImage(4, 4)); err == nil {
		t.Error("short destination accepted")
	}
	bad := p
	bad.MinSize = 0
	if _, err := bad.Preprocess(synthImage(4, 4)); err == nil {
		t.Error("min_size 0 accepted")
	}
	if _, err := ResizeBicubic(synthImage(4, 4), 0, 3); err == nil {
		t.Error("resize to zero width accepted")
	}
}

// TestPreprocessAnyImageType checks that images of other Go types are converted with
// ToRGB first, so a grey image gives the same pixel_values as its RGB copy.
func TestPreprocessAnyImageType(t *testing.T) {
	grey := image.NewGray(image.Rect(0, 0, 31, 20))
	for i := range grey.Pix {
		grey.Pix[i] = uint8(i * 13)
	}
	p := DefaultParams()
	p.ImageSize = 40
	a, err := p.Preprocess(grey)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Preprocess(ToRGB(grey))
	if err != nil {
		t.Fatal(err)
	}
	sameFloats(t, "grey vs RGB", a, b)
	// Red, green and blue planes of a grey image are equal.
	plane := 40 * 40
	sameFloats(t, "red vs blue plane", a[:plane], a[2*plane:])
}
