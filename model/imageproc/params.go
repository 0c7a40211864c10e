package imageproc

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
)

// Params are the VLMImageProcessor settings from a model's preprocessor_config.json.
type Params struct {
	// ImageSize is the side S of the square model input.
	ImageSize int
	// MinSize is the smallest side after resizing, before padding.
	MinSize int
	// Mean and Std normalize each channel: (x - Mean) / Std, in float32.
	Mean, Std [3]float32
	// RescaleFactor maps uint8 to [0, 1] (1/255 in the released configs).
	RescaleFactor float64
	// DoNormalize applies Mean and Std after rescaling (false in Janus-1.3B's first release).
	DoNormalize bool
}

// ReleasedRescaleFactor is the literal in the released configs; it equals Python's 1/255.
const ReleasedRescaleFactor = 0.00392156862745098

// DefaultParams returns the settings of every released Janus / Janus-Pro model: 384 px,
// min_size 14, mean = std = 0.5, rescale 1/255, normalized to [-1, 1].
func DefaultParams() Params {
	return Params{
		ImageSize:     384,
		MinSize:       14,
		Mean:          [3]float32{0.5, 0.5, 0.5},
		Std:           [3]float32{0.5, 0.5, 0.5},
		RescaleFactor: ReleasedRescaleFactor,
		DoNormalize:   true,
	}
}

// preprocessorConfig is preprocessor_config.json; pointers tell absent keys from zeros.
// background_color is not read: the processor recomputes it from image_mean.
type preprocessorConfig struct {
	ImageSize     *int       `json:"image_size"`
	MinSize       *int       `json:"min_size"`
	ImageMean     *[]float64 `json:"image_mean"`
	ImageStd      *[]float64 `json:"image_std"`
	RescaleFactor *float64   `json:"rescale_factor"`
	DoNormalize   *bool      `json:"do_normalize"`
}

// ParseParams reads a preprocessor_config.json. Keys it lacks take VLMImageProcessor's
// constructor defaults (min_size 14, CLIP mean/std, rescale 1/255, do_normalize true);
// image_size has no default and is required.
func ParseParams(data []byte) (Params, error) {
	var c preprocessorConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return Params{}, fmt.Errorf("parse preprocessor config: %w", err)
	}
	if c.ImageSize == nil {
		return Params{}, errors.New("preprocessor config: image_size is missing")
	}
	p := Params{
		ImageSize:     *c.ImageSize,
		MinSize:       14,
		Mean:          [3]float32{0.48145466, 0.4578275, 0.40821073},
		Std:           [3]float32{0.26862954, 0.26130258, 0.27577711},
		RescaleFactor: 1.0 / 255.0,
		DoNormalize:   true,
	}
	if c.MinSize != nil {
		p.MinSize = *c.MinSize
	}
	if c.RescaleFactor != nil {
		p.RescaleFactor = *c.RescaleFactor
	}
	if c.DoNormalize != nil {
		p.DoNormalize = *c.DoNormalize
	}
	for _, f := range []struct {
		name string
		in   *[]float64
		out  *[3]float32
	}{{"image_mean", c.ImageMean, &p.Mean}, {"image_std", c.ImageStd, &p.Std}} {
		if f.in == nil {
			continue
		}
		if len(*f.in) != 3 {
			return Params{}, fmt.Errorf("preprocessor config: %s has %d values, want 3", f.name, len(*f.in))
		}
		for i, v := range *f.in {
			f.out[i] = float32(v) // numpy's np.array(image_mean, dtype=float32)
		}
	}
	if err := p.Validate(); err != nil {
		return Params{}, fmt.Errorf("preprocessor config: %w", err)
	}
	return p, nil
}

// LoadParams reads and parses the preprocessor_config.json at path.
func LoadParams(path string) (Params, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Params{}, fmt.Errorf("read preprocessor config: %w", err)
	}
	p, err := ParseParams(data)
	if err != nil {
		return Params{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Validate reports settings the processor cannot run with.
func (p Params) Validate() error {
	if p.ImageSize < 1 {
		return fmt.Errorf("image_size %d must be positive", p.ImageSize)
	}
	if p.MinSize < 1 || p.MinSize > p.ImageSize {
		return fmt.Errorf("min_size %d must be in [1, image_size %d]", p.MinSize, p.ImageSize)
	}
	if math.IsNaN(p.RescaleFactor) || math.IsInf(p.RescaleFactor, 0) || p.RescaleFactor == 0 {
		return fmt.Errorf("rescale_factor %v must be finite and non-zero", p.RescaleFactor)
	}
	for c := 0; c < 3; c++ {
		m, s := float64(p.Mean[c]), float64(p.Std[c])
		if math.IsNaN(m) || math.IsInf(m, 0) || m < 0 || m > 1 {
			return fmt.Errorf("image_mean[%d] = %v must be in [0, 1]", c, m)
		}
		if p.DoNormalize && (math.IsNaN(s) || math.IsInf(s, 0) || s == 0) {
			return fmt.Errorf("image_std[%d] = %v must be finite and non-zero", c, s)
		}
	}
	return nil
}

// Background is the padding colour, tuple(int(x*255) for x in image_mean): (127, 127, 127)
// for the released mean 0.5. It is computed from the float32 Mean; that equals the official
// float64 computation unless a mean*255 lies within float32 rounding of an integer.
func (p Params) Background() [3]uint8 {
	var bg [3]uint8
	for c := range bg {
		bg[c] = uint8(math.Trunc(float64(p.Mean[c]) * 255))
	}
	return bg
}

// ResizedSize is the (width, height) the processor resizes a w×h image to before padding:
// the long side becomes ImageSize, computed as Python's int(side / long_side * image_size)
// in float64 with truncation, and no side is below MinSize.
func (p Params) ResizedSize(w, h int) (rw, rh int) {
	long := float64(max(w, h))
	rh = max(int(float64(h)/long*float64(p.ImageSize)), p.MinSize)
	rw = max(int(float64(w)/long*float64(p.ImageSize)), p.MinSize)
	return rw, rh
}
