package model

import (
	"cmp"
	"errors"
	"fmt"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/internal/bytesize"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/llm"
	"github.com/janus-desktop/janus/model/vq"
)

// MemoryEstimate is what one GenerateImages call allocates on top of the loaded weights. The
// KV cache dominates: it has two rows (conditional and unconditional) per image, in float32,
// half that with the F16 cache of the BF16 precision, about a quarter with a Q8 cache (its
// size for Pro-7B: README, "Known limits").
type MemoryEstimate struct {
	// Images is the number of images generated together; Rows = 2·Images; Positions is the
	// cache capacity (prompt tokens + image tokens − 1).
	Images, Rows, Positions int
	// KVCache is rows × positions × layers × 2 (keys and values) × kv width × 4 bytes (2
	// for an F16 cache, 1.0625 for a Q8 one).
	KVCache int64
	// Scratch is the largest of the language model's activations (a prompt chunk or a step),
	// plus the heads' and the sampler's logits, the VQ decoder's scratch and the decoded
	// pictures.
	Scratch int64
}

// Total is KVCache + Scratch.
func (e MemoryEstimate) Total() int64 { return e.KVCache + e.Scratch }

// EstimateGenerationMemory estimates the memory of generating images images together from a
// prompt of promptTokens tokens (the templated prompt, MemoryEstimate counts the image tokens
// itself) with the model cfg describes, whose KV cache holds kv (KVCacheDType of the options
// to load it with; a loaded model's LLM.KVDType). It needs no weights, so it can run before a load;
// not knowing the backend, it counts the VQ decoder's scratch as a pool (vq.ScratchBytesFor),
// more than a backend with views plans. Model.EstimateGenerationMemory is a loaded model's.
func EstimateGenerationMemory(cfg *config.Config, kv compute.DType, images, promptTokens int) (MemoryEstimate, error) {
	dec, err := vq.ScratchBytesFor(vq.ParamsFromConfig(cfg.VQ))
	if err != nil {
		return MemoryEstimate{}, fmt.Errorf("memory estimate: %w", err)
	}
	return estimateGeneration(cfg, kv, images, promptTokens, dec)
}

// EstimateGenerationMemory is the package function's estimate for this model as loaded: its
// KV cache's dtype, and its VQ decoder's scratch on its backend (vq.Decoder.ScratchBytes).
// GenerateImages checks its memory limit against it. The model must have its generation
// parts (not loaded with SkipGeneration).
func (m *Model) EstimateGenerationMemory(images, promptTokens int) (MemoryEstimate, error) {
	if m.VQ == nil || m.LLM == nil {
		return MemoryEstimate{}, errors.New("memory estimate: the model was loaded without its image generation parts")
	}
	return estimateGeneration(m.Config, m.LLM.KVDType, images, promptTokens, m.VQ.ScratchBytes())
}

// estimateGeneration is EstimateGenerationMemory with the VQ decoder's scratch dec given.
func estimateGeneration(cfg *config.Config, kv compute.DType, images, promptTokens int, dec int64) (MemoryEstimate, error) {
	if images < 1 || promptTokens < 1 {
		return MemoryEstimate{}, fmt.Errorf("memory estimate for %d images and %d prompt tokens", images, promptTokens)
	}
	rows := 2 * images
	positions := promptTokens + cfg.VQ.ImageTokens - 1
	chunk := prefillChunkPositions(rows, 0)
	lm := max(llm.ScratchBytes(cfg.LLM, rows, min(chunk, promptTokens)), llm.ScratchBytes(cfg.LLM, rows, 1))
	// Prompt embeddings of one chunk, the step's input and Last's output.
	lm += int64(rows) * int64(min(chunk, promptTokens)+2) * int64(cfg.LLM.Hidden) * 4
	// gen_head's hidden layer and logits on the backend, the raw and guided logits on the
	// host, gen_embed and gen_aligner's activations for the next step.
	vocab := int64(cfg.GenHead.ImageTokenSize)
	heads := int64(rows)*(int64(cfg.GenHead.ImageTokenEmbed)+2*vocab+int64(cfg.GenEmbed.Dim)+2*int64(cfg.LLM.Hidden))*4 +
		int64(images)*vocab*4
	// The pictures (8-bit RGBA, two sets while previews are replaced) and one float32 image
	// being converted.
	s := int64(cfg.VQ.ImageSize)
	dec += 2*int64(images)*4*s*s + 3*s*s*4
	return MemoryEstimate{
		Images: images, Rows: rows, Positions: positions,
		KVCache: llm.CacheBytes(cfg.LLM, kv, rows, positions),
		Scratch: lm + heads + dec,
	}, nil
}

// LimitGiven is MemoryError.Source for a limit set in GenerateImageOptions.MaxMemoryBytes.
const LimitGiven = "the limit given"

// ErrNotEnoughMemory is wrapped by the *MemoryError GenerateImages returns when a generation
// would exceed its memory limit.
var ErrNotEnoughMemory = errors.New("not enough memory")

// MemoryError reports a generation refused because its estimate exceeds the limit.
type MemoryError struct {
	// Estimate is what the refused generation would have needed.
	Estimate MemoryEstimate
	// Limit is the allowed bytes.
	Limit int64
	// Source says where Limit came from (LimitGiven, or the share of the machine's memory
	// used when no limit was given), so the message tells the user what to change.
	Source string
	// Fits is the most images that fit the limit with the same prompt (0: not even one).
	Fits int
}

// Error says what the generation needs, what is allowed, and how many images would fit.
func (e *MemoryError) Error() string {
	est := e.Estimate
	what := "1 image"
	if est.Images != 1 {
		what = fmt.Sprintf("%d images together", est.Images)
	}
	msg := fmt.Sprintf("generating %s needs about %s (KV cache %s for %d rows × %d positions, scratch %s), more than the %s allowed (%s)",
		what, bytesize.Format(est.Total()), bytesize.Format(est.KVCache), est.Rows, est.Positions,
		bytesize.Format(est.Scratch), bytesize.Format(e.Limit), e.Source)
	if e.Fits > 0 {
		return fmt.Sprintf("%s: generate at most %d at once", msg, e.Fits)
	}
	return msg + ": not even one image fits"
}

// Unwrap makes errors.Is(err, ErrNotEnoughMemory) hold.
func (e *MemoryError) Unwrap() error { return ErrNotEnoughMemory }

// DefaultMemoryFraction is the share of physical memory a generation may fill, together
// with what the process already holds, when GenerateImageOptions.MaxMemoryBytes is 0: the
// rest is left to the system and other programs, so that a generation too big for the
// machine is refused instead of swapping for hours.
const DefaultMemoryFraction = 0.8

// PhysicalMemory is the memory of this machine in bytes (or of the container that limits
// it), 0 when unknown: what generation's memory check here and the app's load check
// measure against.
func PhysicalMemory() int64 { return physicalMemory() }

// memoryLimit returns the bytes a generation may allocate and where the figure comes from;
// ok is false when there is no limit (disabled, or physical memory unknown). held is what
// the backend already holds in tensors (the loaded weights, a chat's cache), asked of the
// backend because a GPU's buffers are not on the Go heap; on Apple's unified memory they
// share the same physical memory. budget is the backend's device budget (compute.MemoryBudget,
// 0 for none): a GPU's working set, which the generation's buffers must fit beside held.
func memoryLimit(maxBytes, held, budget int64) (limit int64, source string, ok bool) {
	switch {
	case maxBytes > 0:
		return maxBytes, LimitGiven, true
	case maxBytes < 0:
		return 0, "", false
	}
	if total := physicalMemory(); total > 0 {
		limit = int64(DefaultMemoryFraction*float64(total)) - held
		source = fmt.Sprintf("%.0f%% of %s of memory, less %s the backend holds (the loaded model)",
			100*DefaultMemoryFraction, bytesize.Format(total), bytesize.Format(held))
		ok = true
	}
	if budget > 0 && (!ok || budget-held < limit) {
		limit = budget - held
		source = fmt.Sprintf("the GPU's working set of %s, less %s it holds (the loaded model)", bytesize.Format(budget), bytesize.Format(held))
		ok = true
	}
	return limit, source, ok
}

// deviceBudget is be's compute.MemoryBudget, 0 when it has none.
func deviceBudget(be compute.Backend) int64 {
	if b, ok := be.(compute.MemoryBudget); ok {
		return b.MemoryBudget()
	}
	return 0
}

// checkWeightsBudget refuses the weights est sizes if they do not fit be's device budget: on
// such a device every step would page, or fail.
func checkWeightsBudget(be compute.Backend, est LoadEstimate) error {
	budget := deviceBudget(be)
	if budget <= 0 {
		return nil
	}
	if est.Bytes > budget {
		return fmt.Errorf("%w: the weights take %s in the format %q, more than the %s the %s backend's device runs well with (its working set): load smaller weights (q8, q4m) or use the cpu backend",
			ErrNotEnoughMemory, bytesize.Format(est.Bytes), cmp.Or(est.Format, WeightsStored), bytesize.Format(budget), be.Name())
	}
	return nil
}

// checkMemory refuses a generation of m whose estimate exceeds the limit maxBytes selects;
// held is the backend's MemoryUsed, budget its device budget (deviceBudget).
func (m *Model) checkMemory(images, promptTokens int, maxBytes, held, budget int64) error {
	limit, source, ok := memoryLimit(maxBytes, held, budget)
	if !ok {
		return nil
	}
	est, err := m.EstimateGenerationMemory(images, promptTokens)
	if err != nil {
		return err
	}
	if est.Total() <= limit {
		return nil
	}
	fits := 0
	for k := images - 1; k >= 1; k-- {
		if e, err := m.EstimateGenerationMemory(k, promptTokens); err == nil && e.Total() <= limit {
			fits = k
			break
		}
	}
	return &MemoryError{Estimate: est, Limit: limit, Source: source, Fits: fits}
}
