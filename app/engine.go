package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/janus-desktop/janus/model"
)

// EngineInfo is what the window shows about the loaded model.
type EngineInfo struct {
	// Name is what the user calls the model (the picker's name, or the folder's name).
	Name string
	// Family is "Janus" or "Janus-Pro".
	Family string
	// Dir is the model folder.
	Dir string
	// Backend says what runs the model, for people: "CPU · 2 threads".
	Backend string
	// Weights is the dtype the language model's first attention matrix was loaded in ("BF16",
	// "F32", "Q8", "Q4"): the weight format in use, for people.
	Weights string
	// AutoWeights is the format "auto" picks for this model on this machine (model.ChooseWeights)
	// and AutoWeightsReason why; the settings show it next to "Automatic".
	AutoWeights, AutoWeightsReason string
	// FastArithmetic names, for people, what the faster arithmetic (Settings.Precision
	// "bf16") runs on with this model's backend: "AMX", "AVX-512 BF16", or "" where it
	// stays exact.
	FastArithmetic string
	// MemoryBytes is the memory the loaded weights hold.
	MemoryBytes int64
	// ContextLimit is the number of positions a conversation may use.
	ContextLimit int
	// CanGenerate is false when the model was loaded without its image generation networks.
	CanGenerate bool
}

// Engine is what chat sessions and generation jobs run on: a loaded model (LoadEngine), or a
// fake in tests (app/apptest). Its methods may be called from any goroutine; the model runs
// one task at a time, so a second task waits for the first.
type Engine interface {
	// Info describes the engine.
	Info() EngineInfo
	// NewConversation starts a conversation continuing history (alternating user and
	// assistant messages, starting with the user; empty for a new chat).
	NewConversation(history []model.Message) (Conversation, error)
	// GenerateImages runs model.Model.GenerateImages.
	GenerateImages(ctx context.Context, prompt string, opts model.GenerateImageOptions, progress func(model.ImageProgress)) (*model.ImageResult, error)
	// ReadImage reads, decodes and preprocesses an image file for the vision tower.
	ReadImage(path string) (*model.Image, error)
	// Close releases the model; conversations made from it must not be used afterwards.
	Close() error
}

// SharedModel is implemented by the engines LoadEngine returns, not by test fakes: what a
// server running on the same model beside the window's tasks needs (app/api's StartServing).
type SharedModel interface {
	// Model is the loaded model. Run nothing on it without holding Turn.
	Model() *model.Model
	// Turn waits until no chat or generation of the engine runs and holds the model until
	// release is called; it returns ctx's error if ctx ends first. The engine's own tasks
	// wait for it in the same way, so each side can be stopped while it waits.
	Turn(ctx context.Context) (release func(), err error)
}

// Conversation is one multi-turn chat on an Engine (a model.Chat, which keeps the KV cache of
// earlier turns so each turn only runs what is new).
type Conversation interface {
	// Reply runs model.Chat.Reply: it answers question about images after the turns so far,
	// streaming the answer to onText. Cancelling ctx stops within one decoding step and
	// returns the partial result with ctx's error; the history is then unchanged.
	Reply(ctx context.Context, question string, images []*model.Image, opts model.AnswerOptions, onText func(string)) (model.Result, error)
	// Close releases the conversation's memory.
	Close()
}

// LoadOptions choose how LoadEngine loads a model.
type LoadOptions struct {
	// Name is what the user calls the model ("" : the folder's name).
	Name string
	// Backend is "auto" (or ""), "cpu" or "metal": LoadEngine opens it with OpenBackend.
	Backend string
	// Threads caps the CPU backend's goroutines per op (0: every core).
	Threads int
	// Precision is the numerics of the many-row products (OpenBackend's and model.Options'):
	// compute.PrecisionExact ("" too) or compute.PrecisionBF16.
	Precision string
	// SkipGeneration loads only what image understanding needs.
	SkipGeneration bool
	// ContextLimit caps a conversation's positions below the model's own limit (0: none).
	ContextLimit int
	// Weights is the weight format (model.Options.Weights): one of model.WeightFormats, or ""
	// for the checkpoint's dtypes. "auto" is resolved once, by CheckLoadMemory, from the
	// memory the parts it loads need, so the memory check and model.Load agree on the format.
	Weights string
	// MemoryBytes is the memory the weights may take (0: the machine's physical memory, less
	// what the system needs; negative: no check). A model whose weights need more is refused
	// before anything is read, since it would only make the machine swap.
	MemoryBytes int64
}

// loadMemoryFraction is the share of physical memory the weights of a model may need: the
// rest is left to the system, the KV cache and the window.
const loadMemoryFraction = 0.9

// LoadEngine loads the model folder dir with model.Load. progress, when not nil, is called
// with the weights uploaded so far and the total. Cancelling ctx stops the load between two
// weight uploads and returns ctx's error; nothing stays allocated.
func LoadEngine(ctx context.Context, dir string, opts LoadOptions, progress func(done, total int)) (Engine, error) {
	name := opts.Name
	if name == "" {
		name = filepath.Base(dir)
		if abs, err := filepath.Abs(dir); err == nil {
			name = filepath.Base(abs)
		}
	}
	mopts := model.Options{Precision: opts.Precision, Weights: opts.Weights, Progress: progress,
		SkipGeneration: opts.SkipGeneration, ContextLimit: opts.ContextLimit, Context: ctx}
	est, err := CheckLoadMemory(dir, mopts, opts.MemoryBytes)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	// Opened once the checks above pass; the model owns it, and a failed load closes it.
	be, err := OpenBackend(opts.Backend, opts.Threads, opts.Precision)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	mopts.Backend, mopts.OwnBackend, mopts.Weights = be, true, est.Format
	m, err := model.Load(dir, mopts)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return nil, ctxErr
		}
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	return &modelEngine{m: m, turn: make(chan struct{}, 1), info: EngineInfo{
		Name: name, Family: string(m.Prompt.Family()), Dir: dir,
		Backend:           backendLabel(m.Backend),
		Weights:           loadedWeights(m),
		MemoryBytes:       est.Bytes,
		ContextLimit:      m.ContextLimit(),
		CanGenerate:       m.VQ != nil,
		AutoWeights:       est.Auto,
		AutoWeightsReason: est.AutoReason,
		FastArithmetic:    fastArithmetic(m.Backend),
	}}, nil
}

// CheckLoadMemory sizes the weights model.Load(dir, opts) would hold (model.EstimateLoad,
// which resolves opts.Weights "auto") and refuses them, before anything is read, if they
// need more than memoryBytes (0: the machine's physical memory, less what the system needs;
// negative: no check): such a model would only make the machine swap. The window and the
// command line load through it.
func CheckLoadMemory(dir string, opts model.Options, memoryBytes int64) (model.LoadEstimate, error) {
	est, err := model.EstimateLoad(dir, opts)
	if err != nil {
		return est, err
	}
	if limit := loadLimit(memoryBytes); limit > 0 && est.Bytes > limit {
		return est, fmt.Errorf("%w: its weights need %s of memory and %s is available",
			model.ErrNotEnoughMemory, FormatBytes(est.Bytes), FormatBytes(limit))
	}
	return est, nil
}

// loadLimit is the memory a model's weights may need, 0 for no limit.
func loadLimit(opt int64) int64 {
	switch {
	case opt > 0:
		return opt
	case opt < 0:
		return 0
	}
	return int64(loadMemoryFraction * float64(model.PhysicalMemory()))
}

// loadedWeights is the dtype of the language model's first attention matrix, the weight
// format every token step reads ("" for a model without layers).
func loadedWeights(m *model.Model) string {
	if m.LLM == nil || len(m.LLM.Layers) == 0 || m.LLM.Layers[0].Q == nil {
		return ""
	}
	return m.LLM.Layers[0].Q.DType.String()
}

// modelEngine is an Engine on a loaded model.
type modelEngine struct {
	m    *model.Model
	info EngineInfo
	// turn is held by the task running on the model. The model runs one task at a time and
	// makes the others wait on a lock that ignores their contexts; waiting here instead lets a
	// chat that waits for a generation (or the reverse) be stopped at once.
	turn chan struct{}
}

// take waits for the model's turn, or until ctx is done.
func (e *modelEngine) take(ctx context.Context) error {
	select {
	case e.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *modelEngine) give() { <-e.turn }

func (e *modelEngine) Model() *model.Model { return e.m }

func (e *modelEngine) Turn(ctx context.Context) (func(), error) {
	if err := e.take(ctx); err != nil {
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(e.give) }, nil
}

func (e *modelEngine) Info() EngineInfo { return e.info }

func (e *modelEngine) NewConversation(history []model.Message) (Conversation, error) {
	if len(history) == 0 {
		return &modelConversation{e: e, c: e.m.NewChat()}, nil
	}
	c, err := e.m.NewChatFrom(history)
	if err != nil {
		return nil, err
	}
	return &modelConversation{e: e, c: c}, nil
}

func (e *modelEngine) GenerateImages(ctx context.Context, prompt string, opts model.GenerateImageOptions, progress func(model.ImageProgress)) (*model.ImageResult, error) {
	if err := e.take(ctx); err != nil {
		return nil, err
	}
	defer e.give()
	return e.m.GenerateImages(ctx, prompt, opts, progress)
}

func (e *modelEngine) ReadImage(path string) (*model.Image, error) { return e.m.ReadImage(path) }

func (e *modelEngine) Close() error { return e.m.Close() }

// modelConversation is a model.Chat that waits for its turn on the engine.
type modelConversation struct {
	e *modelEngine
	c *model.Chat
}

func (c *modelConversation) Reply(ctx context.Context, question string, images []*model.Image, opts model.AnswerOptions, onText func(string)) (model.Result, error) {
	if err := c.e.take(ctx); err != nil {
		return model.Result{}, err
	}
	defer c.e.give()
	return c.c.Reply(ctx, question, images, opts, onText)
}

func (c *modelConversation) Close() { c.c.Close() }

// LoadJob is a model load running on its own goroutine.
type LoadJob struct {
	*Job
	engine Engine
}

// StartLoad loads dir on a new goroutine (see LoadEngine); onProgress, when not nil, sees the
// weights uploaded, on the job's goroutine. Cancel stops the load.
func StartLoad(ctx context.Context, dir string, opts LoadOptions, onProgress func(Progress)) *LoadJob {
	j := &LoadJob{Job: newJob(ctx)}
	var e Engine
	go j.run(func(ctx context.Context, report func(Progress)) error {
		var err error
		e, err = LoadEngine(ctx, dir, opts, func(done, total int) {
			report(Progress{Done: done, Total: total})
		})
		return err
	}, onProgress, func(err error) {
		j.mu.Lock()
		j.engine = e
		j.mu.Unlock()
	})
	return j
}

// Engine is the loaded model once Done is closed and Err is nil (nil otherwise).
func (j *LoadJob) Engine() Engine {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.engine
}
