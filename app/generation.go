package app

import (
	"context"
	"image"
	"time"

	"github.com/janus-desktop/janus/model"
	"github.com/janus-desktop/janus/model/imageproc"
)

// MaxCanvasImages is the most images the canvas generates at once.
const MaxCanvasImages = 8

// GenerationSettings are the canvas's settings for one run.
type GenerationSettings struct {
	// Prompt says what to draw.
	Prompt string `json:"prompt"`
	// N is the number of images, 1 to MaxCanvasImages.
	N int `json:"n"`
	// FixedSeed keeps Seed; otherwise every run draws a new random seed.
	FixedSeed bool `json:"fixed_seed"`
	// Seed is the seed of image 0 (image i uses Seed+i).
	Seed uint64 `json:"seed"`
	// CFG is the classifier-free guidance weight (model.DefaultCFG).
	CFG float64 `json:"cfg"`
	// Temperature is the sampling temperature (model.DefaultTemperature).
	Temperature float64 `json:"temperature"`
}

// DefaultGenerationSettings are the original's defaults: one image, a random seed, CFG 5,
// temperature 1.
func DefaultGenerationSettings() GenerationSettings {
	return GenerationSettings{N: 1, CFG: model.DefaultCFG, Temperature: model.DefaultTemperature}
}

// Validate reports the first setting no run could use (the prompt is not checked).
func (g GenerationSettings) Validate() error { panic("TODO") }

// RandomSeed draws a seed below 2^53 (so that it survives JSON readers using float64).
func RandomSeed() (uint64, error) { panic("TODO") }

// ImageMeta is what a saved PNG says about how it was made, in its text chunks.
type ImageMeta struct {
	Prompt      string
	Seed        uint64
	CFG         float64
	Temperature float64
	// TopK and TopP are written only when they filter (TopK > 0, 0 < TopP < 1).
	TopK int
	TopP float64
	// Model is the model's name.
	Model string
	// Software is the program ("Janus Desktop 1.0").
	Software string
}

// PNGText is the text chunks of an image: prompt, seed, cfg, temperature, model, then top_k
// and top_p when set, then Software — the same keys as `janus generate` writes.
func (m ImageMeta) PNGText() []imageproc.TextField { panic("TODO") }

// SaveImage writes img as a PNG with meta's text chunks to path, atomically; an existing
// file is replaced only when overwrite is true.
func SaveImage(path string, img image.Image, meta ImageMeta, overwrite bool) error {
	panic("TODO")
}

// GenerationProgress is one step of a generation job.
type GenerationProgress struct {
	// Token of Tokens image tokens are decided for every image.
	Token, Tokens int
	// ImagesPerSecond is the speed (0 until known); Elapsed and Remaining are times.
	ImagesPerSecond    float64
	Elapsed, Remaining time.Duration
}

// Preview is the partial pictures of a running generation, one per image.
type Preview struct {
	// Images hold one picture per image; the rows below Rows*RowPixels are a guess (dim them).
	Images []*image.NRGBA
	// Rows of TotalRows token rows are decided.
	Rows, TotalRows int
	// RowPixels is the pixel height of one token row.
	RowPixels int
}

// GeneratedImage is one finished image.
type GeneratedImage struct {
	// Image is the picture.
	Image *image.NRGBA
	// Seed is its own seed.
	Seed uint64
	// Meta is what its PNG says.
	Meta ImageMeta
	// Ref is its PNG in the store (empty SHA256 without a store).
	Ref ImageRef
}

// GenerationCallbacks receive a generation's progress on the job's goroutine.
type GenerationCallbacks struct {
	// OnProgress is called after every image token.
	OnProgress func(GenerationProgress)
	// OnPreview is called with every preview (every PreviewEvery rows).
	OnPreview func(Preview)
	// OnDone is called once at the end with the images (nil on failure or stop) and the
	// job's error.
	OnDone func(images []GeneratedImage, err error)
}

// GenerationJob is a running generation.
type GenerationJob struct {
	*Job
	// TODO
}

// GenerationRequest is everything a generation job needs.
type GenerationRequest struct {
	// Settings are the canvas's; a random seed is drawn unless FixedSeed.
	Settings GenerationSettings
	// ModelName goes into the PNG text chunks and the history.
	ModelName string
	// Software goes into the PNG text chunks ("Janus Desktop dev").
	Software string
	// PreviewEvery makes a preview every PreviewEvery token rows (0: every row).
	PreviewEvery int
	// Store, when not nil, receives the PNGs and an image set (the history entry).
	Store *Store
}

// StartGeneration checks req and starts generating on engine. The PNGs are encoded and
// stored on the job's goroutine.
func StartGeneration(ctx context.Context, engine Engine, req GenerationRequest, cb GenerationCallbacks) (*GenerationJob, error) {
	panic("TODO")
}

// Settings are the settings the job runs with (with the seed it drew).
func (j *GenerationJob) Settings() GenerationSettings { panic("TODO") }

// Images are the finished images once Done is closed (nil after a failure or stop).
func (j *GenerationJob) Images() []GeneratedImage { panic("TODO") }

// SetID is the history id of the run's image set ("" without a store or before it is saved).
func (j *GenerationJob) SetID() string { panic("TODO") }

// Variations returns s with a new random seed (FixedSeed is kept false), for "Variations".
func Variations(s GenerationSettings) (GenerationSettings, error) { panic("TODO") }
