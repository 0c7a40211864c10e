package imageproc

import (
	"image"
	"math"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/config"
)

// clipPreprocessor is VLMImageProcessor's class defaults (OpenAI CLIP mean and std) at
// 336 px, as config.Load resolves a preprocessor_config.json that names only image_size.
func clipPreprocessor() config.Preprocessor {
	return config.Preprocessor{ImageSize: 336, MinSize: 14,
		ImageMean:     [3]float64{0.48145466, 0.4578275, 0.40821073},
		ImageStd:      [3]float64{0.26862954, 0.26130258, 0.27577711},
		RescaleFactor: 1.0 / 255.0, DoNormalize: true, FromFile: true}
}

func TestParamsFromConfig(t *testing.T) {
	released := config.Preprocessor{ImageSize: 384, MinSize: 14, ImageMean: [3]float64{0.5, 0.5, 0.5},
		ImageStd: [3]float64{0.5, 0.5, 0.5}, RescaleFactor: 0.00392156862745098, DoNormalize: true, FromFile: true}
	unnormalised := released
	unnormalised.DoNormalize = false
	for _, tc := range []struct {
		name string
		in   config.Preprocessor
		want Params
	}{
		{"released", released, releasedParams()},
		{"first 1.3B release", unnormalised, func() Params { p := releasedParams(); p.DoNormalize = false; return p }()},
		// float32(0.48145466) etc.: the processor's numpy float32 arrays.
		{"class defaults", clipPreprocessor(), Params{ImageSize: 336, MinSize: 14,
			Mean:          [3]float32{0.48145466, 0.4578275, 0.40821073},
			Std:           [3]float32{0.26862954, 0.26130258, 0.27577711},
			RescaleFactor: 1.0 / 255.0, DoNormalize: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ParamsFromConfig(tc.in)
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

// TestParamsOfReleasedConfigs: every release's preprocessor_config.json, as config.Load
// reads it, gives releasedParams.
func TestParamsOfReleasedConfigs(t *testing.T) {
	for _, model := range []string{"janus-1.3b", "janus-pro-1b", "janus-pro-7b"} {
		t.Run(model, func(t *testing.T) {
			cfg, err := config.Load(fixtures.Path(t, "real-configs", model))
			if err != nil {
				t.Fatal(err)
			}
			if p := ParamsFromConfig(cfg.Preprocessor); p != releasedParams() {
				t.Errorf("%s: %+v, want the released defaults %+v", model, p, releasedParams())
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Params)
		want string
	}{
		{"min over size", func(p *Params) { p.ImageSize, p.MinSize = 10, 14 }, "min_size 14"},
		{"zero std", func(p *Params) { p.Std[1] = 0 }, "image_std[1]"},
		{"zero size", func(p *Params) { p.ImageSize = 0 }, "image_size 0"},
		{"mean above one", func(p *Params) { p.Mean[2] = 1.5 }, "image_mean[2]"},
		{"infinite rescale", func(p *Params) { p.RescaleFactor = math.Inf(1) }, "rescale_factor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := releasedParams()
			tc.edit(&p)
			if err := p.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestResizedSizeAndBackground(t *testing.T) {
	clip := ParamsFromConfig(clipPreprocessor())
	for _, tc := range []struct {
		name         string
		p            Params
		w, h         int
		wantW, wantH int
	}{
		{"spec landscape", releasedParams(), 150, 100, 384, 256},
		{"spec portrait", releasedParams(), 90, 140, 246, 384},
		{"square", releasedParams(), 33, 33, 384, 384},
		{"min size", releasedParams(), 5000, 10, 384, 14},
		{"one pixel", releasedParams(), 1, 1, 384, 384},
		{"tiny-a", func() Params { p := releasedParams(); p.ImageSize = 64; return p }(), 150, 100, 64, 42},
		{"336", clip, 1920, 1080, 336, 189},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if w, h := tc.p.ResizedSize(tc.w, tc.h); w != tc.wantW || h != tc.wantH {
				t.Errorf("ResizedSize(%d, %d) = %dx%d, want %dx%d", tc.w, tc.h, w, h, tc.wantW, tc.wantH)
			}
		})
	}
	if bg := releasedParams().Background(); bg != [3]uint8{127, 127, 127} {
		t.Errorf("released background %v", bg)
	}
	if bg := clip.Background(); bg != [3]uint8{122, 116, 104} { // int(0.48145466*255) ...
		t.Errorf("CLIP background %v", bg)
	}
}

func TestPreprocessRejectsBadInput(t *testing.T) {
	p := releasedParams()
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
	p := releasedParams()
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

// releasedParams returns the settings of every released Janus / Janus-Pro model: 384 px,
// min_size 14, mean = std = 0.5, rescale 1/255, normalized to [-1, 1].
func releasedParams() Params {
	return Params{
		ImageSize:     384,
		MinSize:       14,
		Mean:          [3]float32{0.5, 0.5, 0.5},
		Std:           [3]float32{0.5, 0.5, 0.5},
		RescaleFactor: ReleasedRescaleFactor,
		DoNormalize:   true,
	}
}
