package imageproc

import (
	"fmt"
	"math"

	"github.com/janus-desktop/janus/model/config"
)

// Params are the VLMImageProcessor settings of a model (ParamsFromConfig): nothing here
// assumes the releases' 384-pixel images.
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

// ParamsFromConfig converts the preprocessor settings config.Load read from
// preprocessor_config.json (that package is the file's only reader). Mean and Std become
// float32, as the processor's np.array(image_mean, dtype=float32) does.
func ParamsFromConfig(p config.Preprocessor) Params {
	out := Params{
		ImageSize:     p.ImageSize,
		MinSize:       p.MinSize,
		RescaleFactor: p.RescaleFactor,
		DoNormalize:   p.DoNormalize,
	}
	for c := range 3 {
		out.Mean[c], out.Std[c] = float32(p.ImageMean[c]), float32(p.ImageStd[c])
	}
	return out
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
