package apptest

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"strings"
	"sync"
	"time"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/model"
)

// FakeEngine is an app.Engine for tests of sessions, jobs and views: it answers with Words,
// one word per Delay, and generates plain coloured images row by row, one token row per
// Delay with a preview after every row PreviewEvery asks for, honouring cancellation at
// every step. It holds no model. Set its fields before first use.
type FakeEngine struct {
	// Words is the answer to every question.
	Words []string
	// Delay is the time of one step (a word, or a row of image tokens).
	Delay time.Duration
	// StopDelay is how long a cancelled answer takes to end, as a real model finishes the
	// step it is in.
	StopDelay time.Duration
	// ContextLimit, when positive, makes a reply fail with model.ErrContextFull once the
	// conversation's words (questions and answers, each image counting as ImageWords) would
	// exceed it.
	ContextLimit int
	// ImageWords is what an image counts against ContextLimit.
	ImageWords int
	// Grid is the token rows (and columns) of a generated image; ImageSize its pixel size.
	Grid, ImageSize int
	// NoGeneration makes Info report CanGenerate false.
	NoGeneration bool
	// Weights, AutoWeights and AutoWeightsReason are what Info reports of the weight format
	// (none by default, as an engine that cannot tell).
	Weights, AutoWeights, AutoWeightsReason string
	// FastArithmetic is what Info reports the faster arithmetic runs on ("" by default).
	FastArithmetic string
	// PanicAfter, when positive, makes a reply panic after that many words, as a bug (or
	// the Metal backend out of memory) would.
	PanicAfter int

	mu        sync.Mutex
	histories [][]model.Message
	questions []Question
	closed    bool
}

// Question is one Reply call a FakeEngine's conversation received.
type Question struct {
	// Text is the question.
	Text string
	// Images are the pictures passed with it.
	Images []*model.Image
}

// NewFakeEngine returns a FakeEngine taking delay per step, answering "This is a fake
// answer." with 8×8-token 64-pixel images (so the app's default preview interval, 4 rows,
// gives one preview).
func NewFakeEngine(delay time.Duration) *FakeEngine {
	return &FakeEngine{
		Words: strings.Fields("This is a fake answer."), Delay: delay,
		Grid: 8, ImageSize: 64, ImageWords: 16,
	}
}

// Info implements app.Engine.
func (e *FakeEngine) Info() app.EngineInfo {
	limit := e.ContextLimit
	if limit <= 0 {
		limit = 4096
	}
	return app.EngineInfo{
		Name: "fake", Family: "Janus-Pro", Backend: "fake", MemoryBytes: 1 << 20,
		ContextLimit: limit, CanGenerate: !e.NoGeneration,
		Weights: e.Weights, AutoWeights: e.AutoWeights, AutoWeightsReason: e.AutoWeightsReason,
		FastArithmetic: e.FastArithmetic,
	}
}

// Histories are the histories NewConversation was called with, in order: one per
// conversation built.
func (e *FakeEngine) Histories() [][]model.Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([][]model.Message(nil), e.histories...)
}

// Questions are the questions every conversation received, in order.
func (e *FakeEngine) Questions() []Question {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Question(nil), e.questions...)
}

// Closed reports whether Close was called.
func (e *FakeEngine) Closed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// NewConversation implements app.Engine; it checks history as model.Model.NewChatFrom does.
func (e *FakeEngine) NewConversation(history []model.Message) (app.Conversation, error) {
	if len(history)%2 != 0 {
		return nil, fmt.Errorf("chat history has %d messages: want question and answer pairs", len(history))
	}
	c := &fakeConversation{e: e}
	for i, m := range history {
		if m.Assistant != (i%2 == 1) {
			return nil, fmt.Errorf("chat history message %d is from the wrong speaker", i)
		}
		c.words += e.cost(m.Text, len(m.Images))
	}
	e.mu.Lock()
	e.histories = append(e.histories, append([]model.Message(nil), history...))
	e.mu.Unlock()
	return c, nil
}

func (e *FakeEngine) cost(text string, images int) int {
	return len(strings.Fields(text)) + images*e.ImageWords
}

// fakeConversation counts the words of its history.
type fakeConversation struct {
	e     *FakeEngine
	words int
}

func (c *fakeConversation) Reply(ctx context.Context, question string, images []*model.Image, opts model.AnswerOptions, onText func(string)) (model.Result, error) {
	e := c.e
	e.mu.Lock()
	e.questions = append(e.questions, Question{Text: question, Images: images})
	e.mu.Unlock()
	if err := opts.Validate(); err != nil {
		return model.Result{}, err
	}
	need := c.words + e.cost(question, len(images))
	if e.ContextLimit > 0 && need+len(e.Words) > e.ContextLimit {
		return model.Result{}, &model.ContextError{PromptTokens: need + len(e.Words), Window: e.ContextLimit}
	}
	words, finish := e.Words, model.FinishEOS
	if opts.MaxNewTokens > 0 && opts.MaxNewTokens < len(words) {
		words, finish = words[:opts.MaxNewTokens], model.FinishLength
	}
	res := model.Result{PromptTokens: need, ImagesEncoded: len(images), FinishReason: finish}
	start := time.Now()
	for i, w := range words {
		if err := sleep(ctx, e.Delay); err != nil {
			time.Sleep(e.StopDelay)
			res.Decode = time.Since(start)
			return res, err
		}
		if e.PanicAfter > 0 && i == e.PanicAfter {
			panic("fake engine: a bug")
		}
		if i > 0 {
			w = " " + w
		}
		res.Text += w
		res.Tokens = append(res.Tokens, int32(i))
		if onText != nil {
			onText(w)
		}
	}
	res.Decode = time.Since(start)
	c.words = need + len(words)
	return res, nil
}

func (c *fakeConversation) Close() {}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// GenerateImages implements app.Engine: image i is a plain colour that depends on its seed
// (opts.Seed+i), drawn Grid rows at a time.
func (e *FakeEngine) GenerateImages(ctx context.Context, prompt string, opts model.GenerateImageOptions, progress func(model.ImageProgress)) (*model.ImageResult, error) {
	if e.NoGeneration {
		return nil, model.ErrNoGeneration
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	n := max(opts.N, 1)
	grid, size := e.Grid, e.ImageSize
	rowPx := size / grid
	res := &model.ImageResult{Seed: opts.Seed, PromptTokens: len(strings.Fields(prompt))}
	colors := make([]color.NRGBA, n)
	for i := range colors {
		s := opts.Seed + uint64(i)
		colors[i] = color.NRGBA{R: uint8(s * 53), G: uint8(s * 97), B: uint8(s * 193), A: 255}
		res.Tokens = append(res.Tokens, make([]int32, 0, grid*grid))
	}
	draw := func(rows int) []*image.NRGBA {
		imgs := make([]*image.NRGBA, n)
		for i := range imgs {
			img := image.NewNRGBA(image.Rect(0, 0, size, size))
			for y := range rows * rowPx {
				for x := range size {
					img.SetNRGBA(x, y, colors[i])
				}
			}
			imgs[i] = img
		}
		return imgs
	}
	start := time.Now()
	total := grid * grid
	for row := range grid {
		if err := sleep(ctx, e.Delay); err != nil {
			return nil, err
		}
		for i := range res.Tokens {
			for range grid {
				res.Tokens[i] = append(res.Tokens[i], int32(row))
			}
		}
		done := (row + 1) * grid
		elapsed := time.Since(start)
		p := model.ImageProgress{Token: done, Tokens: total, Images: n, Elapsed: elapsed}
		if elapsed > 0 {
			p.TokensPerSecond = float64(n*done) / elapsed.Seconds()
			p.Remaining = time.Duration(float64(elapsed) / float64(done) * float64(total-done))
		}
		if k := opts.PreviewEvery; k > 0 && row+1 < grid && (row+1)%k == 0 {
			p.Preview, p.PreviewRows, p.PreviewRowPixels = draw(row+1), row+1, rowPx
		}
		if progress != nil {
			progress(p)
		}
	}
	res.Generate = time.Since(start)
	res.Images = draw(grid)
	return res, nil
}

// ReadImage implements app.Engine: it checks the file as the app does and keeps its size.
func (e *FakeEngine) ReadImage(path string) (*model.Image, error) {
	w, h, err := app.CheckImageFile(path)
	if err != nil {
		return nil, err
	}
	return &model.Image{Width: w, Height: h}, nil
}

// Close implements app.Engine.
func (e *FakeEngine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	return nil
}
