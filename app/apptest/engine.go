package apptest

import (
	"context"
	"time"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/model"
)

// FakeEngine is an app.Engine for tests of sessions, jobs and views: it answers with Words,
// one word per Delay, and generates plain coloured images with a preview every row, one row
// per Delay, honouring cancellation at every step. It holds no model.
type FakeEngine struct {
	// Words is the answer to every question (default "This is a fake answer about the image.").
	Words []string
	// Delay is the time of one step (a word, or a row of image tokens).
	Delay time.Duration
	// ContextLimit, when positive, makes a conversation fail with model.ErrContextFull once
	// its questions and answers exceed this many words.
	ContextLimit int
	// Grid is the token rows (and columns) of a generated image (default 4); ImageSize its
	// pixel size (default 64).
	Grid, ImageSize int
}

// NewFakeEngine returns a FakeEngine taking delay per step.
func NewFakeEngine(delay time.Duration) *FakeEngine {
	panic("TODO")
}

// Info implements app.Engine.
func (e *FakeEngine) Info() app.EngineInfo { panic("TODO") }

// NewConversation implements app.Engine.
func (e *FakeEngine) NewConversation(history []model.Message) (app.Conversation, error) {
	panic("TODO")
}

// GenerateImages implements app.Engine.
func (e *FakeEngine) GenerateImages(ctx context.Context, prompt string, opts model.GenerateImageOptions, progress func(model.ImageProgress)) (*model.ImageResult, error) {
	panic("TODO")
}

// ReadImage implements app.Engine: it checks the file as the app does and keeps its size.
func (e *FakeEngine) ReadImage(path string) (*model.Image, error) { panic("TODO") }

// Close implements app.Engine.
func (e *FakeEngine) Close() error { return nil }
