package model

import (
	"context"
	"fmt"
	"image"
	"time"

	"github.com/janus-desktop/janus/model/imageproc"
	"github.com/janus-desktop/janus/model/sample"
)

// DefaultMaxNewTokens is the answer length limit of the official inference.py.
const DefaultMaxNewTokens = 512

// MaxAnswerTokens is the longest answer length worth offering: the released models' context
// (max_position_embeddings). An answer also stops where its model's context ends.
const MaxAnswerTokens = 16384

// Image is one picture for the vision tower: decoded and preprocessed once, so a
// conversation can refer to it in any number of turns.
type Image struct {
	pixels []float32
	// Width and Height are the picture's size before preprocessing.
	Width, Height int
}

// DecodeImage decodes an image file's bytes (PNG, JPEG, GIF, WebP or BMP) and preprocesses
// it for the model. name labels errors (a file name, "clipboard").
func (m *Model) DecodeImage(name string, data []byte) (*Image, error) {
	img, err := imageproc.Decode(name, data, imageproc.DecodeOptions{})
	if err != nil {
		return nil, err
	}
	return m.PrepareImage(img)
}

// ReadImage reads, decodes and preprocesses the image file at path.
func (m *Model) ReadImage(path string) (*Image, error) {
	img, err := imageproc.DecodeFile(path, imageproc.DecodeOptions{})
	if err != nil {
		return nil, err
	}
	return m.PrepareImage(img)
}

// PrepareImage preprocesses an already decoded picture (resize, pad to a square, normalise),
// exactly as the official image processor does for the same RGB pixels.
func (m *Model) PrepareImage(img image.Image) (*Image, error) {
	px, err := m.Images.Preprocess(img)
	if err != nil {
		return nil, fmt.Errorf("preprocess image: %w", err)
	}
	b := img.Bounds()
	return &Image{pixels: px, Width: b.Dx(), Height: b.Dy()}, nil
}

// DefaultTopP and DefaultTopK are the sampling filters of an answer that samples (Temperature
// > 0) when its caller names none: the official demo's top-p, with the top-k that Hugging
// Face's generate adds to it. The CLI, the API and the window's chats all take them, so that
// one question samples alike in each.
const (
	DefaultTopP = 0.95
	DefaultTopK = 50
)

// AnswerOptions control how an answer is generated. The zero value is greedy decoding of
// up to DefaultMaxNewTokens tokens, as the official inference.py does.
type AnswerOptions struct {
	// MaxNewTokens caps the answer's length (0: DefaultMaxNewTokens).
	MaxNewTokens int
	// Temperature 0 is greedy (argmax); otherwise tokens are sampled after TopK and TopP
	// filtering (0 disables each). The official demos use temperature 0.1, top-p 0.95.
	Temperature float64
	// TopP keeps the smallest set of tokens whose probability mass exceeds TopP.
	TopP float64
	// TopK keeps the TopK most likely tokens.
	TopK int
	// RepetitionPenalty (HF semantics) applies to the tokens of this answer; 0 or 1 is off.
	RepetitionPenalty float64
	// Seed fixes the sampling draws: the same seed and conversation give the same answer.
	Seed uint64
}

// Validate reports the first option no answer could be generated with, without a model, so
// that a command line can check its flags before loading one. Reply checks the same.
func (o AnswerOptions) Validate() error {
	if o.MaxNewTokens < 0 {
		return &sample.ParamError{Param: "max new tokens", Value: fmt.Sprint(o.MaxNewTokens), Problem: "is negative"}
	}
	return o.sampling().Validate()
}

func (o AnswerOptions) sampling() sample.Params {
	return sample.Params{Temperature: o.Temperature, TopK: o.TopK, TopP: o.TopP, RepetitionPenalty: o.RepetitionPenalty}
}

// Finish reasons of a Result.
const (
	FinishEOS     = "eos"     // the model ended its answer
	FinishLength  = "length"  // MaxNewTokens were generated
	FinishContext = "context" // the context window is full
)

// Result is one generated answer.
type Result struct {
	// Text is the answer with special tokens left out (what onText streamed).
	Text string
	// Tokens are the generated ids, including the final EOS when the model emitted it.
	Tokens []int32
	// PromptTokens is the length of the whole templated conversation the answer continues;
	// ReusedTokens of them were already in the KV cache from earlier turns.
	PromptTokens int
	// ReusedTokens is the prefix of the prompt that was not run again.
	ReusedTokens int
	// ImagesEncoded counts the images this turn ran through the vision tower.
	ImagesEncoded int
	// FinishReason is why the answer ended: FinishEOS, FinishLength or FinishContext.
	FinishReason string
	// Prefill covers the vision tower and the prompt; Decode the token-by-token loop.
	Prefill, Decode time.Duration
}

// TokensPerSecond is the decoding speed: generated tokens over the decode time (the first
// token comes from the prefill, so it is not counted).
func (r Result) TokensPerSecond() float64 {
	if r.Decode <= 0 || len(r.Tokens) < 2 {
		return 0
	}
	return float64(len(r.Tokens)-1) / r.Decode.Seconds()
}

// Understand answers one question about images in a fresh conversation. onText, when not
// nil, receives the answer piece by piece as it is generated.
func (m *Model) Understand(ctx context.Context, question string, images []*Image, opts AnswerOptions, onText func(string)) (Result, error) {
	c := m.NewChat()
	defer c.Close()
	return c.Reply(ctx, question, images, opts, onText)
}
