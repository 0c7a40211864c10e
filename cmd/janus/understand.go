package main

// janus understand --model DIR [--image FILE ...] --prompt TEXT|--prompt-file FILE
//                  [--max-new-tokens N] [--temperature T] [--top-p P] [--top-k K] [--seed S]
//                  [--repetition-penalty R] [--json] [--threads N] [--backend auto|cpu|metal]
//
// Answers a question about images, streaming the answer to stdout as it is generated.
// --repetition-penalty R > 1 makes the tokens already in the answer less likely, greedy or
// sampled (Hugging Face's rule); the default 1 leaves the logits alone, as the original. With
// --json nothing is streamed; one object is printed at the end:
//
//	text               string  the answer (special tokens left out)
//	tokens             array   the generated token ids (with the final EOS when emitted)
//	prompt_tokens      int     length of the templated, image-expanded prompt
//	finish_reason      string  "eos", "length" or "context"
//	seconds            float   the whole turn: vision tower, prefill and decoding
//	prefill_seconds    float   the vision tower and the prompt
//	tokens_per_second  float   decoding speed: tokens after the first over the decode time
//	seed               int     the sampling seed (only when sampling, --temperature > 0)
//
// An answer cut short by --max-new-tokens or by the model's context window gets a note on
// stderr saying so (finish_reason in --json). Sampling without --seed uses a random seed, printed on stderr ("seed N") and in --json:
// `--seed N` gives the same answer again. --prompt-file FILE (- for stdin) reads a question
// too long for the command line.

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/model"
	"github.com/janus-desktop/janus/model/imageproc"
)

// imageFlags collects repeated --image flags.
type imageFlags []string

// String lists the files given so far (flag.Value).
func (f *imageFlags) String() string { return strings.Join(*f, ",") }

// Set adds one file (flag.Value).
func (f *imageFlags) Set(s string) error {
	*f = append(*f, s)
	return nil
}

// understandResult is the --json output.
type understandResult struct {
	Text            string  `json:"text"`
	Tokens          []int32 `json:"tokens"`
	PromptTokens    int     `json:"prompt_tokens"`
	FinishReason    string  `json:"finish_reason"`
	Seconds         float64 `json:"seconds"`
	PrefillSeconds  float64 `json:"prefill_seconds"`
	TokensPerSecond float64 `json:"tokens_per_second"`
	Seed            *uint64 `json:"seed,omitempty"`
}

// runUnderstand implements the understand subcommand.
func runUnderstand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("understand", stdout, stderr, "janus understand --model DIR|NAME [--image FILE ...] --prompt TEXT|--prompt-file FILE [flags]",
		"Answer a question about images, streaming the answer to stdout.")
	var mf modelFlags
	mf.register(fs)
	var images imageFlags
	fs.Var(&images, "image", "image file to ask about (repeat for several; they come before the text, in order; none: a text-only question)")
	var pf promptFlags
	pf.register(fs, "the question")
	maxNew := fs.Int("max-new-tokens", model.DefaultMaxNewTokens, "longest answer in tokens")
	temperature := fs.Float64("temperature", 0, "sampling temperature; 0 is greedy, as the official inference.py")
	topP := fs.Float64("top-p", model.DefaultTopP, "nucleus sampling mass when sampling (the official demo's; 1 disables)")
	topK := fs.Int("top-k", model.DefaultTopK, "keep the K most likely tokens when sampling (Hugging Face's default; 0 disables)")
	seed := fs.Uint64("seed", 0, "random seed for sampling: the same seed gives the same answer (default: a random one, printed)")
	repetition := fs.Float64("repetition-penalty", 1, "make tokens already in the answer less likely, HF-style (1: off, as the original)")
	asJSON := fs.Bool("json", false, "print one JSON object at the end instead of streaming the answer")
	if err := parseArgs(fs, args, "the question goes after --prompt"); err != nil {
		return err
	}
	if err := mf.check(); err != nil {
		return err
	}
	prompt, err := pf.read(stdin)
	if err != nil {
		return err
	}
	if *maxNew <= 0 {
		return fmt.Errorf("--max-new-tokens %d must be positive", *maxNew)
	}
	if !(*repetition > 0) || math.IsInf(*repetition, 0) {
		return fmt.Errorf("--repetition-penalty %v must be a finite number > 0 (1 is off)", *repetition)
	}
	opts := model.AnswerOptions{
		MaxNewTokens: *maxNew, Temperature: *temperature, TopP: *topP, TopK: *topK, Seed: *seed,
		RepetitionPenalty: *repetition,
	}
	if err := opts.Validate(); err != nil {
		return optionFlagError(err, map[string]string{"temperature": "temperature", "top-k": "top-k", "top-p": "top-p",
			"repetition penalty": "repetition-penalty", "max new tokens": "max-new-tokens"})
	}
	// Sampling without --seed draws a seed, as generate does, so that two runs differ and
	// the printed seed reproduces an answer worth keeping.
	sampling := *temperature > 0
	if !sampling {
		var unused []string
		for _, name := range []string{"seed", "top-k", "top-p"} {
			if flagSet(fs, name) {
				unused = append(unused, "--"+name)
			}
		}
		if len(unused) > 0 {
			verb := "apply"
			if len(unused) == 1 {
				verb = "applies"
			}
			fmt.Fprintf(stderr, "note: %s only %s when sampling (--temperature above 0); this answer is greedy\n", strings.Join(unused, ", "), verb)
		}
	}
	drawSeed := sampling && !flagSet(fs, "seed")
	if drawSeed {
		if opts.Seed, err = app.RandomSeed(); err != nil {
			return err
		}
	}
	// The images are read before the model, so that a missing or unreadable one is told at
	// once, not after a load of a minute: a file's header only (its pixels, a quarter of a
	// gigabyte for a large photo, are read one at a time after the load), what cannot be
	// read twice (a pipe, /dev/stdin) whole.
	early := make([]*image.NRGBA, len(images))
	for i, path := range images {
		if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() && !st.IsDir() {
			if early[i], err = imageproc.DecodeFile(path, imageproc.DecodeOptions{}); err != nil {
				return err
			}
			continue
		}
		if err := imageproc.CheckFile(path, imageproc.DecodeOptions{}); err != nil {
			return err
		}
	}
	m, err := mf.load(ctx, model.Options{SkipGeneration: true}, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	imgs := make([]*model.Image, len(images))
	for i, path := range images {
		if early[i] != nil {
			imgs[i], err = m.PrepareImage(early[i])
			early[i] = nil
		} else {
			imgs[i], err = m.ReadImage(path)
		}
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				err = fmt.Errorf("%s: %w", path, err)
			}
			return err
		}
	}

	var writeErr error
	onText := func(s string) {
		if writeErr == nil {
			_, writeErr = io.WriteString(stdout, s)
		}
	}
	if *asJSON {
		onText = nil
	}
	if drawSeed {
		fmt.Fprintf(stderr, "seed %d\n", opts.Seed)
	}
	start := time.Now()
	res, err := m.Understand(ctx, prompt, imgs, opts, onText)
	elapsed := time.Since(start)
	if !*asJSON && len(res.Text) > 0 {
		onText("\n")
	}
	if ce := (*model.ContextError)(nil); errors.As(err, &ce) {
		return fmt.Errorf("the prompt (with its images) has %d tokens but the model's context window holds %d: shorten the question or give fewer images",
			ce.PromptTokens, ce.Window)
	}
	if err != nil {
		return err
	}
	if writeErr != nil {
		return fmt.Errorf("write answer: %w", writeErr)
	}
	// The answer may be cut mid-sentence: say so where a person reads, not only in --json.
	switch res.FinishReason {
	case model.FinishLength:
		fmt.Fprintf(stderr, "note: the answer stopped at the length limit, --max-new-tokens %d; raise it for a longer answer\n", opts.MaxNewTokens)
	case model.FinishContext:
		fmt.Fprintf(stderr, "note: the answer stopped where the model's context window of %d tokens is full (the question took %d); a shorter question or fewer images leave more room\n",
			m.ContextLimit(), res.PromptTokens)
	}
	if !*asJSON {
		return nil
	}
	if res.Tokens == nil {
		res.Tokens = []int32{}
	}
	out := understandResult{
		Text: res.Text, Tokens: res.Tokens, PromptTokens: res.PromptTokens, FinishReason: res.FinishReason,
		Seconds: elapsed.Seconds(), PrefillSeconds: res.Prefill.Seconds(), TokensPerSecond: res.TokensPerSecond(),
	}
	if sampling {
		out.Seed = &opts.Seed
	}
	return writeJSON(stdout, out, false)
}
