package app

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/janus-desktop/janus/internal/atomicfile"
	"github.com/janus-desktop/janus/internal/pngfile"
	"github.com/janus-desktop/janus/model"
)

// MaxCanvasImages is the most images the canvas generates at once.
const MaxCanvasImages = 8

// MaxCanvasCFG and MaxTemperature bound the guidance and the temperatures the app sets (its
// sliders' and Settings' ranges, from 0); the command line takes any the model does.
const (
	MaxCanvasCFG   = 10
	MaxTemperature = 2
)

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
func (g GenerationSettings) Validate() error {
	if g.N < 1 || g.N > MaxCanvasImages {
		return fmt.Errorf("number of images %d: want 1 to %d", g.N, MaxCanvasImages)
	}
	if err := model.CheckGuidance(g.CFG); err != nil {
		return err // the range the command line accepts too
	}
	switch {
	case math.IsNaN(g.Temperature) || math.IsInf(g.Temperature, 0) || g.Temperature < 0:
		return fmt.Errorf("temperature %v: want a number of 0 or more", g.Temperature)
	}
	return nil
}

// RandomSeed draws a seed below 2^53 (so that it survives JSON readers using float64).
func RandomSeed() (uint64, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, fmt.Errorf("draw a random seed: %w", err)
	}
	return binary.LittleEndian.Uint64(b[:]) >> 11, nil
}

// ImageMeta is what a saved PNG says about how it was made, in its text chunks.
type ImageMeta struct {
	// Prompt is what was asked for.
	Prompt string
	// Seed is the image's own seed.
	Seed uint64
	// CFG and Temperature are the guidance weight and sampling temperature.
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
func (m ImageMeta) PNGText() []pngfile.TextField {
	text := []pngfile.TextField{
		{Key: "prompt", Value: m.Prompt},
		{Key: "seed", Value: strconv.FormatUint(m.Seed, 10)},
		{Key: "cfg", Value: strconv.FormatFloat(m.CFG, 'g', -1, 64)},
		{Key: "temperature", Value: strconv.FormatFloat(m.Temperature, 'g', -1, 64)},
		{Key: "model", Value: m.Model},
	}
	if m.TopK > 0 {
		text = append(text, pngfile.TextField{Key: "top_k", Value: strconv.Itoa(m.TopK)})
	}
	if m.TopP > 0 && m.TopP < 1 {
		text = append(text, pngfile.TextField{Key: "top_p", Value: strconv.FormatFloat(m.TopP, 'g', -1, 64)})
	}
	return append(text, pngfile.TextField{Key: "Software", Value: m.Software})
}

// CheckImagePrompt reports a prompt that the images' PNG text could not hold (a NUL
// character, bytes that are not UTF-8). Every generation checks it before the model runs:
// found only when the PNGs are written, it would cost the whole run.
func CheckImagePrompt(prompt string) error {
	if err := pngfile.CheckValue(prompt); err != nil {
		return fmt.Errorf("the prompt %w, which the images' PNG text cannot hold", err)
	}
	return nil
}

// SaveImage writes img as a PNG with meta's text chunks to path, atomically; an existing
// file is replaced only when overwrite is true.
func SaveImage(path string, img image.Image, meta ImageMeta, overwrite bool) error {
	return pngfile.Write(path, img, meta.PNGText(), overwrite)
}

// CopyImageFile writes the image file at src to dst as it is, atomically, replacing dst: the
// Save of a picture in a chat, whose only copy may be the store's (a pasted one).
func CopyImageFile(dst, src string) error {
	data, err := readAtMost(src, MaxAttachmentBytes)
	if err != nil {
		return fmt.Errorf("save %s: %w", filepath.Base(dst), err)
	}
	if err := atomicfile.Write(dst, data, atomicfile.Options{}); err != nil {
		return fmt.Errorf("save %s: %w", filepath.Base(dst), err)
	}
	return nil
}

// GenerationProgress is one step of a generation job.
type GenerationProgress struct {
	// Token of Tokens image tokens are decided for every image.
	Token, Tokens int
	// ImagesPerSecond is the run's images over its expected time, from the pace so far;
	// Elapsed and Remaining are times. Both estimates are 0 until a preview (or the final
	// decode) has shown what a decode costs, which is most of a small model's run.
	ImagesPerSecond float64
	// DecodeStages, when positive, marks the final VQ decode that follows the last token:
	// DecodeStage of DecodeStages decoder stages are done.
	DecodeStage, DecodeStages int
	Elapsed, Remaining        time.Duration
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
	// job's error. Images the history could not keep come with a *NotStoredError: they are
	// made, only not saved.
	OnDone func(images []GeneratedImage, err error)
}

// NotStoredError is a finished generation's error when the images were made but the history
// could not keep them (a full disk, a read-only folder): the images are still the job's, to
// show and to save elsewhere.
type NotStoredError struct{ Err error }

// Error is the one-line message a user reads.
func (e *NotStoredError) Error() string {
	return "the images were made but not saved to the history: " + e.Err.Error()
}

// Unwrap gives the cause, for errors.Is and errors.As.
func (e *NotStoredError) Unwrap() error { return e.Err }

// GenerationJob is a running generation.
type GenerationJob struct {
	*Job
	settings GenerationSettings
	// images and setID are set before Done closes, under Job.mu.
	images []GeneratedImage
	setID  string
}

// DefaultPreviewEvery is the token rows between two previews when a request names none. A
// preview runs the VQ decoder over every image, as the final decode does, so on the CPU
// previews after every row would make a run take several times as long; every 4 rows shows
// the pictures forming five times (of the 24 rows of the released models) at about a fifth of
// that cost.
const DefaultPreviewEvery = 4

// GenerationRequest is everything a generation job needs.
type GenerationRequest struct {
	// Settings are the canvas's; a random seed is drawn unless FixedSeed.
	Settings GenerationSettings
	// ModelName goes into the PNG text chunks and the history.
	ModelName string
	// Software goes into the PNG text chunks ("Janus Desktop dev").
	Software string
	// PreviewEvery makes a preview every PreviewEvery token rows (0: DefaultPreviewEvery).
	PreviewEvery int
	// Store, when not nil, receives the PNGs and an image set (the history entry).
	Store *Store
}

// StartGeneration checks req and starts generating on engine. The PNGs are encoded and
// stored on the job's goroutine.
func StartGeneration(ctx context.Context, engine Engine, req GenerationRequest, cb GenerationCallbacks) (*GenerationJob, error) {
	st := req.Settings
	st.Prompt = strings.TrimSpace(st.Prompt)
	if st.Prompt == "" {
		return nil, errors.New("write what to draw first")
	}
	if err := CheckImagePrompt(st.Prompt); err != nil {
		return nil, err
	}
	if err := st.Validate(); err != nil {
		return nil, err
	}
	if engine == nil {
		return nil, errors.New("no model is loaded: choose one first")
	}
	if !engine.Info().CanGenerate {
		return nil, fmt.Errorf("%s was loaded without its image generation part", engine.Info().Name)
	}
	if !st.FixedSeed {
		seed, err := RandomSeed()
		if err != nil {
			return nil, err
		}
		st.Seed = seed
	}
	opts := model.GenerateImageOptions{N: st.N, CFG: st.CFG, Temperature: st.Temperature, Seed: st.Seed, PreviewEvery: req.PreviewEvery}
	if opts.PreviewEvery <= 0 {
		opts.PreviewEvery = DefaultPreviewEvery
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	j := &GenerationJob{Job: newJob(ctx), settings: st}
	var images []GeneratedImage
	var setID string
	go j.run(func(ctx context.Context, report func(Progress)) error {
		var left timeLeft
		res, err := engine.GenerateImages(ctx, st.Prompt, opts, func(p model.ImageProgress) {
			gp := GenerationProgress{Token: p.Token, Tokens: p.Tokens, Elapsed: p.Elapsed, Remaining: left.update(p),
				DecodeStage: p.DecodeStage, DecodeStages: p.DecodeStages}
			// The run's images over its whole expected time (previews and the final decode
			// included): the token loop's own speed leaves those out, and for a small
			// model they are most of the run.
			if total := gp.Elapsed + gp.Remaining; p.DecodeStages == 0 && p.Token > 1 && total > 0 {
				left.rate = float64(st.N) / total.Seconds()
			}
			gp.ImagesPerSecond = left.rate
			if !left.decodeKnown() {
				// Without a decode's time the figures came out ten or a hundred times too
				// fast ("354 images/s · 0 s left" over grey tiles).
				gp.ImagesPerSecond, gp.Remaining = 0, 0
			}
			report(Progress{Done: p.Token, Total: p.Tokens, Rate: gp.ImagesPerSecond, Elapsed: p.Elapsed, Remaining: gp.Remaining})
			if cb.OnProgress != nil {
				cb.OnProgress(gp)
			}
			if p.Preview != nil && cb.OnPreview != nil {
				grid := p.Tokens
				if p.PreviewRowPixels > 0 && len(p.Preview) > 0 {
					grid = p.Preview[0].Bounds().Dy() / p.PreviewRowPixels
				}
				cb.OnPreview(Preview{Images: p.Preview, Rows: p.PreviewRows, TotalRows: grid, RowPixels: p.PreviewRowPixels})
			}
		})
		if err != nil { // a *model.MemoryError already says how many images would fit
			return err
		}
		images, setID, err = finishGeneration(req, st, engine.Info().Name, res)
		return err
	}, nil, func(err error) {
		if _, kept := errors.AsType[*NotStoredError](err); err != nil && !kept {
			images = nil
		}
		j.mu.Lock()
		j.images, j.setID = images, setID
		j.mu.Unlock()
		if cb.OnDone != nil {
			cb.OnDone(images, err)
		}
	})
	return j, nil
}

// timeLeft estimates the time to the end of a run. The engine's own estimate leaves out the
// previews and the final decode, which on the CPU are a large part of a run; this one takes
// the wall-clock pace of the steps after the first (the first also runs the prompt), which
// spreads the previews made so far over the steps, and adds one more decode, as long as the
// last preview's.
type timeLeft struct {
	first, last time.Duration // Elapsed at step 1 and at the previous step
	decode      time.Duration // the last preview's decode time
	decodeStart time.Duration // Elapsed when the final decode began
	rate        float64       // the last images/s estimated (the decode keeps it)
	previewed   bool          // a preview has been decoded, or the final decode has begun
}

// decodeKnown reports whether the estimate counts a decode's time yet.
func (t *timeLeft) decodeKnown() bool { return t.previewed }

func (t *timeLeft) update(p model.ImageProgress) time.Duration {
	if p.DecodeStages > 0 { // the final decode: its own stages give the pace
		t.previewed = true
		if p.DecodeStage == 0 {
			t.decodeStart = p.Elapsed
			return t.decode
		}
		pace := float64(p.Elapsed-t.decodeStart) / float64(p.DecodeStage)
		return time.Duration(pace * float64(p.DecodeStages-p.DecodeStage))
	}
	if p.Preview != nil {
		t.previewed = true
	}
	if p.Preview != nil && p.TokensPerSecond > 0 && p.Images > 0 {
		step := time.Duration(float64(p.Images) / p.TokensPerSecond * float64(time.Second))
		if d := p.Elapsed - t.last - step; d > 0 {
			t.decode = d
		}
	}
	t.last = p.Elapsed
	if p.Token <= 1 {
		t.first = p.Elapsed
		return p.Remaining
	}
	pace := float64(p.Elapsed-t.first) / float64(p.Token-1)
	return time.Duration(pace*float64(p.Tokens-p.Token)) + t.decode
}

// finishGeneration describes the images of a finished run and, with a store, stores their
// PNGs and the run's image set.
func finishGeneration(req GenerationRequest, st GenerationSettings, modelName string, res *model.ImageResult) ([]GeneratedImage, string, error) {
	if req.ModelName != "" {
		modelName = req.ModelName
	}
	images := make([]GeneratedImage, len(res.Images))
	for i, img := range res.Images {
		seed := st.Seed + uint64(i)
		images[i] = GeneratedImage{Image: img, Seed: seed, Meta: ImageMeta{
			Prompt: st.Prompt, Seed: seed, CFG: st.CFG, Temperature: st.Temperature,
			Model: modelName, Software: req.Software,
		}}
	}
	if req.Store == nil {
		return images, "", nil
	}
	set := &ImageSet{Title: titleFrom(st.Prompt), Model: modelName, Settings: st}
	pngs := make([]storedImage, len(images))
	for i := range images {
		data, err := pngfile.Encode(images[i].Image, images[i].Meta.PNGText())
		if err != nil {
			return images, "", err
		}
		ref, err := encodedRef(data)
		if err != nil {
			return images, "", err
		}
		pngs[i] = storedImage{ref, data}
		images[i].Ref = ref
		set.Images = append(set.Images, SetImage{Image: ref, Seed: images[i].Seed})
	}
	// The PNGs and the set are written together, so that a Delete of another set with the
	// same picture cannot sweep it in between.
	if err := req.Store.saveSet(set, pngs); err != nil {
		for i := range images {
			images[i].Ref = ImageRef{} // not in the store
		}
		return images, "", &NotStoredError{err}
	}
	// The set is saved: a thumbnail that cannot be made now is made again when first shown.
	for _, im := range pngs {
		if _, err := req.Store.ThumbnailPath(im.ref); err != nil {
			slog.Warn("thumbnail of a generated image", "set", set.ID, "err", err)
		}
	}
	return images, set.ID, nil
}

// Settings are the settings the job runs with (with the seed it drew).
func (j *GenerationJob) Settings() GenerationSettings { return j.settings }

// Images are the finished images once Done is closed (nil after a failure or stop; set
// when only the history failed, *NotStoredError).
func (j *GenerationJob) Images() []GeneratedImage {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.images
}

// SetID is the history id of the run's image set ("" without a store or before it is saved).
func (j *GenerationJob) SetID() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.setID
}

// Variations returns s with a newly drawn seed, fixed (FixedSeed true) so that the run and
// its history record name the seed it used: "Variations" runs it for the same prompt and
// settings with new images.
func Variations(s GenerationSettings) (GenerationSettings, error) {
	seed, err := RandomSeed()
	if err != nil {
		return s, err
	}
	s.Seed, s.FixedSeed = seed, true
	return s, nil
}

// titleFrom makes a history title from the start of text: its first line, at most 60
// characters, cut at a word when it can be.
func titleFrom(text string) string {
	const maxRunes = 60
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	line = strings.Join(strings.Fields(line), " ")
	r := []rune(line)
	if len(r) <= maxRunes {
		return line
	}
	cut := string(r[:maxRunes])
	if i := strings.LastIndexByte(cut, ' '); i > maxRunes/2 {
		cut = cut[:i]
	}
	return cut + "…"
}
