// Package model loads a Janus or Janus-Pro model folder and runs it: image understanding
// (a chat about images, in this package's understand*.go and chat*.go files) and image
// generation (generate*.go).
//
// Load reads the configuration (model/config checks that the parts fit together), checks that
// the checkpoint holds every tensor the configuration needs (all problems reported at once),
// and binds each network once into the typed structs of model/vision, model/projector,
// model/llm and model/vq from a *weights.Loader. Weights are read from the checkpoint and
// uploaded one tensor (or block of rows) at a time, so loading never holds two full copies
// of them; the checkpoint is closed when loading is done.
//
// Every prompt (understanding conversations, generation's conditional and unconditional rows)
// comes from one model/prompt Builder made at load, so the prompt format lives in that
// package only. Load checks that the tokens prompts are made of exist and have embedding rows
// (a Janus-1.3B tokenizer lacks <image_placeholder>: the builder adds it, as the official
// processor does, and its id must still be below the language model's vocabulary size).
//
// Linear weights and embedding tables keep their checkpoint dtype by default (BF16 for every
// release): half the memory of float32, and decoding one token at a time is bound by memory
// bandwidth; the backend widens them on use. Options.MatrixDType overrides that, and
// Options.Weights "q8", "q4m" or "q4" quantizes the token-step matrices while loading. Tensors
// stored as F64 are narrowed to float32 by the loader (and count as F32 for that policy).
package model

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/imageproc"
	"github.com/janus-desktop/janus/model/llm"
	"github.com/janus-desktop/janus/model/projector"
	"github.com/janus-desktop/janus/model/prompt"
	"github.com/janus-desktop/janus/model/tokenizer"
	"github.com/janus-desktop/janus/model/vision"
	"github.com/janus-desktop/janus/model/vq"
	"github.com/janus-desktop/janus/model/weights"
)

// Options tune Load. Backend is required; with it alone, Load loads everything, in the
// checkpoint's dtypes, and leaves the backend open for the caller to close.
type Options struct {
	// Backend runs the networks; Load and LoadVQ fail without one. The caller opens it
	// (compute.Open, or app.OpenBackend for the window and the CLI): model code never chooses
	// or names a backend.
	Backend compute.Backend
	// OwnBackend hands Backend to what is loaded: Model.Close (for LoadVQ, the decoder's
	// Free) closes it, once, and a Load or LoadVQ that fails or panics closes it before it
	// returns, so a caller that opened a backend for this one model only checks Load's error.
	// Without it the caller closes Backend, after the model.
	OwnBackend bool
	// Precision is the caller's choice of numerics for the many-row products
	// (compute.PrecisionExact, "" too, or compute.PrecisionBF16): the caller opens Backend
	// with the same value as compute.Options.Precision, which is what makes the backend's
	// products run in it. Here it picks the KV cache's dtype (llm.CacheDType) unless KVCache
	// or 4-bit weights do: F16 in the BF16 precision, on any backend.
	Precision string
	// KVCache is the KV cache's format: "auto" or "" (Q8 with 4-bit weights where the backend
	// takes it, else Precision's choice), "f32", "f16" or "q8" (see KVCacheAuto; Load fails
	// where the backend does not take a Q8 cache asked for).
	KVCache string
	// Progress, when not nil, is called after each weight is uploaded with the number of
	// weights done and the total.
	Progress func(done, total int)
	// MatrixDType stores Linear weights and embedding tables as "F32", "F16" or "BF16"
	// instead of their checkpoint dtype ("" keeps it). F16's range ends at 65504, far below
	// BF16's and F32's: Load fails, naming the tensor and its largest magnitude, when a
	// weight holds a finite value beyond it, rather than upload it as infinity.
	MatrixDType string
	// Weights is the weight format: "auto" (ChooseWeights for this machine), "stored" or ""
	// (the checkpoint's dtypes), "f32", "bf16", or "q8", "q4m", "q4" (the language model and gen_head
	// quantized while loading, on every core; see WeightFormats). "f32" and "bf16" are
	// MatrixDType by another name.
	Weights string
	// SkipGeneration leaves gen_embed, gen_aligner, gen_head and the VQ decoder unloaded
	// (and unchecked): an understanding-only session saves their memory (README, "Known
	// limits": Memory).
	SkipGeneration bool
	// SkipUnderstanding leaves the ViT, its aligner and lm_head unloaded (and unchecked): a
	// generation-only session never runs them, and loads about a quarter less (README,
	// "Known limits": Memory). Chats and Understand then return ErrNoUnderstanding.
	SkipUnderstanding bool
	// ContextLimit caps the positions a conversation may use below the model's
	// max_position_embeddings (0: the model's own limit).
	ContextLimit int
	// Context, when not nil, cancels Load: it is checked before each weight upload, and a
	// cancelled load releases what it uploaded, as any failed load does, and returns an
	// error wrapping Context's.
	Context context.Context

	// uploaded, when not nil, sees every weight upload (tests record what Load reads).
	uploaded func(name string, r0 int, t *compute.Tensor)
}

// Model is a loaded model. Its networks share one backend, which runs ops in order, so one
// conversation or generation runs at a time: Chat.Reply and the generation entry points lock
// the model while they run.
type Model struct {
	// Config is the model folder's resolved configuration.
	Config *config.Config
	// Backend runs every network and owns their weights.
	Backend compute.Backend
	// Prompt builds every prompt the model runs.
	Prompt *prompt.Builder
	// Tokenizer is Prompt's tokenizer: the folder's, plus the image tag when the folder
	// lacks it, so it decodes every id the prompts hold.
	Tokenizer *tokenizer.Tokenizer
	// Images turns decoded pictures into the ViT's pixel values.
	Images imageproc.Params

	// Vision is the SigLIP tower that encodes images for understanding; nil with
	// Options.SkipUnderstanding.
	Vision *vision.Model
	// Aligner maps Vision's features into the LLM's embedding space; nil with
	// Options.SkipUnderstanding.
	Aligner *projector.MLP
	// LLM is the LLaMA decoder both tasks run. With Options.SkipUnderstanding its Head is nil
	// unless the config ties it to the embedding.
	LLM *llm.Model

	// The generation networks (nil with Options.SkipGeneration). GenEmbed is the image-token
	// embedding table [image_token_size, n_embed] for Backend.Embedding.
	GenEmbed *compute.Tensor
	// GenAligner maps GenEmbed rows of generated image tokens into the LLM's embedding space.
	GenAligner *projector.MLP
	// GenHead turns the LLM's last hidden state into image-token logits.
	GenHead *projector.MLP
	// VQ decodes a finished token grid into pixels (and the previews).
	VQ *vq.Decoder

	// eos ends an answer.
	eos          int32
	contextLimit int
	// ownBackend: Load was given Backend to own (Options.OwnBackend), so Close closes it.
	ownBackend bool
	mu         sync.Mutex
}

// errNoBackend is Load's and LoadVQ's error for Options without a Backend.
var errNoBackend = errors.New("model.Options.Backend is nil: the caller opens a compute backend and passes it")

// closeOwned closes opts.Backend when opts hands it over (OwnBackend) and *held is false: the
// deferred release of a Load or LoadVQ that failed or panicked before what it loads held the
// backend. It runs on every return, since a load that succeeds has handed it over.
func closeOwned(opts Options, held *bool) {
	if opts.OwnBackend && opts.Backend != nil && !*held {
		opts.Backend.Close() // the load's own error, or its panic, is the one to report
	}
}

// skipped lists the parts Load leaves out.
func (o Options) skipped() []weights.Part {
	var parts []weights.Part
	if o.SkipGeneration {
		parts = append(parts, weights.GenerationParts()...)
	}
	if o.SkipUnderstanding {
		parts = append(parts, weights.UnderstandingParts()...)
	}
	return parts
}

// Load reads the model folder dir and binds its networks on opts.Backend. The checks that
// need no backend (the configuration, the options, the tokens, the checkpoint's tensors) come
// first, so a missing Backend is reported after them.
func Load(dir string, opts Options) (m *Model, err error) {
	held := false // m holds an owned backend, and its Close releases it
	defer closeOwned(opts, &held)
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, err
	}
	if opts.ContextLimit < 0 {
		return nil, fmt.Errorf("context limit %d is negative", opts.ContextLimit)
	}
	if opts.SkipGeneration && opts.SkipUnderstanding {
		return nil, errors.New("skipping both generation and understanding leaves nothing to run")
	}
	if err := checkWeightsOptions(opts); err != nil {
		return nil, err
	}
	if err := CheckKVCache(opts.KVCache); err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	_, hasImageTag := tok.TokenID(cfg.Processor.ImageTag)
	b, err := prompt.NewBuilder(tok, cfg.Processor)
	if err != nil {
		return nil, fmt.Errorf("model %s: prompt format: %w", dir, err)
	}
	m = &Model{Config: cfg, Prompt: b, Tokenizer: b.Tokenizer(), Images: imageproc.ParamsFromConfig(cfg.Preprocessor)}
	if m.eos, err = checkPromptTokens(b, cfg.LLM.Vocab, hasImageTag, !opts.SkipGeneration); err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	m.contextLimit = cfg.LLM.MaxPositions
	if opts.ContextLimit > 0 && (m.contextLimit <= 0 || opts.ContextLimit < m.contextLimit) {
		m.contextLimit = opts.ContextLimit
	}

	ck, err := checkpoint.Open(dir)
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	rep, err := checkBinding(ck, cfg, opts.skipped())
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	est := EstimateWeights(cfg, rep.StoredDTypes, opts)
	matrixDT, quant, err := weightsPolicy(est.Format, opts)
	if err != nil {
		return nil, err
	}

	be := opts.Backend
	if be == nil {
		return nil, errNoBackend
	}
	m.Backend, m.ownBackend, held = be, opts.OwnBackend, true
	defer func() {
		// A panic (a backend out of memory) passes on to the caller's recover, without the
		// weights loaded so far and the backend it owns.
		if r := recover(); r != nil {
			m.Close()
			panic(r)
		}
		if err != nil {
			m.Close()
			m = nil
		}
	}()
	kvDT, err := KVCacheDType(opts.KVCache, opts.Precision, quant, be, cfg.LLM)
	if err != nil {
		return m, fmt.Errorf("model %s: %w", dir, err)
	}
	if err := checkWeightsBudget(be, est); err != nil {
		return m, fmt.Errorf("model %s: %w", dir, err)
	}
	progress := newProgress(opts.Progress, planSize(cfg, opts.skipped()))
	src := weights.NewLoaderWith(ck, be, weights.LoaderOptions{
		MatrixDType: matrixDT,
		Quantize:    quant,
		Context:     opts.Context,
		Uploaded: func(name string, r0 int, t *compute.Tensor) {
			if opts.uploaded != nil {
				opts.uploaded(name, r0, t)
			}
			progress.add(name)
		},
	})
	if !opts.SkipUnderstanding {
		if m.Vision, err = vision.Load(be, src, cfg.Vision); err != nil {
			return m, err
		}
		if m.Aligner, err = projector.LoadProjector(be, src, weights.AlignerPrefix, cfg.Aligner); err != nil {
			return m, err
		}
	}
	if m.LLM, err = llm.Load(be, src, cfg.LLM, !opts.SkipUnderstanding); err != nil {
		return m, err
	}
	m.LLM.KVDType = kvDT
	if !opts.SkipGeneration {
		l := weights.NewBinder(src)
		if m.GenEmbed = GenEmbed(l, cfg.GenEmbed); l.Err() != nil {
			return m, fmt.Errorf("load gen_embed: %w", l.Err())
		}
		if m.GenAligner, err = projector.LoadProjector(be, src, weights.GenAlignerPrefix, cfg.GenAligner); err != nil {
			return m, err
		}
		if m.GenHead, err = projector.LoadHead(be, src, weights.GenHeadPrefix, cfg.GenHead); err != nil {
			return m, err
		}
		if m.VQ, err = vq.Load(be, src, vq.ParamsFromConfig(cfg.VQ)); err != nil {
			return m, fmt.Errorf("load VQ decoder: %w", err)
		}
	}
	progress.finish()
	return m, be.Sync()
}

// Close releases the weights and, when Load was given the backend to own
// (Options.OwnBackend), closes it; a second Close closes nothing. Otherwise the backend stays
// open for the caller. The model must not be used afterwards.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Vision != nil {
		m.Vision.Free()
	}
	for _, p := range []*projector.MLP{m.Aligner, m.GenAligner, m.GenHead} {
		if p != nil {
			p.Free()
		}
	}
	if m.LLM != nil {
		m.LLM.Free()
	}
	if m.GenEmbed != nil {
		m.Backend.Free(m.GenEmbed)
	}
	if m.VQ != nil {
		m.VQ.Free()
	}
	m.Vision, m.Aligner, m.GenAligner, m.GenHead, m.LLM, m.GenEmbed, m.VQ = nil, nil, nil, nil, nil, nil, nil
	if m.ownBackend {
		m.ownBackend = false // a second Close closes nothing
		if err := m.Backend.Close(); err != nil {
			return fmt.Errorf("close the %s backend: %w", m.Backend.Name(), err)
		}
	}
	return nil
}

// ContextLimit is the number of positions a conversation may use.
func (m *Model) ContextLimit() int { return m.contextLimit }

func parseMatrixDType(s string) (func(compute.DType) compute.DType, error) {
	fixed := func(d compute.DType) func(compute.DType) compute.DType {
		return func(compute.DType) compute.DType { return d }
	}
	switch strings.ToUpper(s) {
	case "":
		return func(stored compute.DType) compute.DType { return stored }, nil
	case "F32":
		return fixed(compute.F32), nil
	case "F16":
		return fixed(compute.F16), nil
	case "BF16":
		return fixed(compute.BF16), nil
	}
	return nil, fmt.Errorf("matrix dtype %q: want F32, F16, BF16 or empty", s)
}

// checkPromptTokens checks, before any weight is read, that the prompts can be built and
// that the language model has an embedding row for every id in them, and returns the EOS id
// that ends answers. Rather than look special tokens up a second time, it builds the prompts
// that use them all: a two-turn conversation with an image and, when the model generates
// images, a generation prompt with its unconditional row (which adds the pad token).
func checkPromptTokens(b *prompt.Builder, vocab int, hadImageTag, generation bool) (int32, error) {
	tok, eos := b.Tokenizer(), b.EOSID()
	// The placeholder's own row is overwritten by image features, but it is still looked up.
	if img := b.ImageTokenID(); int(img) >= vocab {
		text, _ := tok.IDToken(img)
		if !hadImageTag {
			return 0, fmt.Errorf("the tokenizer lacks the image placeholder %s, and the id it is added with, %d, is beyond the language model's %d embedding rows",
				text, img, vocab)
		}
		return 0, fmt.Errorf("the image placeholder %s has id %d, beyond the language model's %d embedding rows", text, img, vocab)
	}
	ids, _, err := b.UnderstandingIDs([]prompt.Message{
		{Role: prompt.User, Text: "?", Images: 1}, {Role: prompt.Assistant, Text: "."}, {Role: prompt.User, Text: "?"},
	})
	if err != nil {
		return 0, fmt.Errorf("understanding prompt: %w", err)
	}
	ids = append(ids, eos)
	if generation {
		cond, uncond, err := b.GenerationIDs("?")
		if err != nil {
			return 0, fmt.Errorf("generation prompt: %w", err)
		}
		ids = append(append(ids, cond...), uncond...)
	}
	for _, id := range ids {
		if id < 0 || int(id) >= vocab {
			text, _ := tok.IDToken(id)
			return 0, fmt.Errorf("prompt token %q has id %d, outside the language model's %d embedding rows", text, id, vocab)
		}
	}
	return eos, nil
}

// checkBinding runs the weights check on the parts that will load (not those in skip): the
// other parts' tensors may be missing or unusable. Its report says how the loaded parts are
// stored.
func checkBinding(ck *checkpoint.Checkpoint, cfg *config.Config, skip []weights.Part) (*weights.Report, error) {
	plan := slices.DeleteFunc(Plan(cfg), func(s weights.Spec) bool { return slices.Contains(skip, s.Part) })
	return weights.Check(ck, plan)
}

// planSize counts the tensors that will be uploaded, for progress reports.
func planSize(cfg *config.Config, skip []weights.Part) int {
	n := 0
	for _, s := range Plan(cfg) {
		if !slices.Contains(skip, s.Part) {
			n++
		}
	}
	return n
}

// progress reports each distinct weight once (the ViT's fused qkv tensors are read in parts).
type progress struct {
	report func(done, total int)
	seen   map[string]bool
	total  int
}

func newProgress(report func(done, total int), total int) *progress {
	return &progress{report: report, seen: map[string]bool{}, total: total}
}

func (p *progress) add(name string) {
	if p.seen[name] {
		return
	}
	p.seen[name] = true
	if p.report != nil {
		p.report(min(len(p.seen), p.total), p.total)
	}
}

// finish reports completion even when the plan counted a tensor that was not read
// separately (a tied lm_head).
func (p *progress) finish() {
	if p.report != nil && len(p.seen) < p.total {
		p.report(p.total, p.total)
	}
}
