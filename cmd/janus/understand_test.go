package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/app/apptest"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model"
)

type tinyAUnderstanding struct {
	Preprocess struct {
		InputPNG string `json:"input_png"`
	} `json:"preprocess"`
	Understanding struct {
		InputIDs     []int32 `json:"input_ids"`
		GreedyTokens []int32 `json:"greedy_tokens"`
		GreedyText   string  `json:"greedy_text"`
	} `json:"understanding"`
}

func tinyAArgs(t *testing.T) ([]string, tinyAUnderstanding) {
	t.Helper()
	dir := fixtures.Path(t, "models", "tiny-a")
	gdir := fixtures.Path(t, "golden", "tiny-a")
	var g tinyAUnderstanding
	fixtures.JSON(t, filepath.Join(gdir, "golden.json"), &g)
	img := filepath.Join(gdir, filepath.FromSlash(g.Preprocess.InputPNG))
	return []string{"--model", dir, "--image", img, "--prompt", "Describe this image.",
		"--temperature", "0", "--max-new-tokens", "16", "--threads", "2"}, g
}

// TestUnderstandGolden runs the command on tiny-a and checks that it prints exactly the
// reference's greedy answer, streamed or as JSON.
func TestUnderstandGolden(t *testing.T) {
	args, g := tinyAArgs(t)
	u := g.Understanding

	var out, errOut bytes.Buffer
	if err := runUnderstand(context.Background(), append(args, "--json"), nil, &out, &errOut); err != nil {
		t.Fatalf("understand --json: %v (stderr %q)", err, errOut.String())
	}
	var res understandResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("decode output: %v\n%s", err, out.String())
	}
	if !slices.Equal(res.Tokens, u.GreedyTokens) || res.Text != u.GreedyText {
		t.Errorf("tokens %v text %q, want %v %q", res.Tokens, res.Text, u.GreedyTokens, u.GreedyText)
	}
	if res.PromptTokens != len(u.InputIDs) || res.FinishReason != "length" || res.Seconds <= 0 || res.TokensPerSecond <= 0 {
		t.Errorf("prompt_tokens %d (want %d), finish %q, seconds %v, tokens/s %v",
			res.PromptTokens, len(u.InputIDs), res.FinishReason, res.Seconds, res.TokensPerSecond)
	}
	if n := strings.Count(out.String(), "\n"); n != 1 {
		t.Errorf("--json printed %d lines, want one object", n)
	}

	out.Reset()
	errOut.Reset()
	if err := runUnderstand(context.Background(), args, nil, &out, &errOut); err != nil {
		t.Fatalf("understand: %v (stderr %q)", err, errOut.String())
	}
	if got, want := out.String(), u.GreedyText+"\n"; got != want {
		t.Errorf("streamed %q, want %q", got, want)
	}
	// The golden answer is cut by --max-new-tokens 16: stderr says so, naming the flag.
	if want := "note: the answer stopped at the length limit, --max-new-tokens 16; raise it"; !strings.Contains(errOut.String(), want) {
		t.Errorf("stderr %q does not say %q", errOut.String(), want)
	}
}

func TestUnderstandSampledIsReproducible(t *testing.T) {
	args, _ := tinyAArgs(t)
	args = append(args, "--temperature", "1", "--top-p", "0.9", "--seed", "7", "--json")
	run := func() understandResult {
		var out, errOut bytes.Buffer
		if err := runUnderstand(context.Background(), args, nil, &out, &errOut); err != nil {
			t.Fatalf("understand: %v (stderr %q)", err, errOut.String())
		}
		var res understandResult
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b := run(), run()
	if !slices.Equal(a.Tokens, b.Tokens) || len(a.Tokens) != 16 {
		t.Errorf("seed 7 gave %v then %v", a.Tokens, b.Tokens)
	}
}

func TestUnderstandErrors(t *testing.T) {
	args, _ := tinyAArgs(t)
	model := args[1]
	cutShort := filepath.Join(t.TempDir(), "tiny")
	apptest.TinyA(t, cutShort)
	// The weights are links to the fixture: replace one with a copy cut short.
	shard := filepath.Join(cutShort, "model-00003-of-00003.safetensors")
	raw, err := os.ReadFile(shard)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(shard); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shard, raw[:len(raw)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no model", []string{"--prompt", "hi"}, "missing --model"},
		{"no prompt", []string{"--model", model}, "missing --prompt"},
		// Where the Metal backend is not linked in it is unknown, where it is it cannot open
		// (no Mac): either way the error names it.
		{"metal", []string{"--model", model, "--prompt", "hi", "--backend", "metal"}, "metal"},
		{"unknown backend", []string{"--model", model, "--prompt", "hi", "--backend", "tpu"}, "unknown backend"},
		{"bad image", []string{"--model", model, "--prompt", "hi", "--image", filepath.Join(t.TempDir(), "none.png")}, "none.png"},
		{"zero tokens", []string{"--model", model, "--prompt", "hi", "--max-new-tokens", "0"}, "--max-new-tokens"},
		{"negative temperature", []string{"--model", model, "--prompt", "hi", "--temperature", "-1"}, "temperature"},
		{"stray argument", []string{"--model", model, "--prompt", "hi", "extra"}, "unexpected argument"},
		{"no such folder", []string{"--model", filepath.Join(t.TempDir(), "nope"), "--prompt", "hi"}, "nope"},
		{"cut-short weights", []string{"--model", cutShort, "--prompt", "hi"}, "interrupted download or copy; download it again (`janus pull ORG/NAME`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := runUnderstand(context.Background(), tt.args, nil, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestUnderstandCancelled(t *testing.T) {
	args, _ := tinyAArgs(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	if err := runUnderstand(ctx, args, nil, &out, &errOut); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

// TestUnderstandOptionsBeforeLoad: bad options are reported before the model is loaded, so
// the folder (which does not exist here) is never read.
func TestUnderstandOptionsBeforeLoad(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-model")
	tests := []struct {
		name  string
		flags []string
		want  string
	}{
		{"top-p above 1", []string{"--top-p", "2"}, "--top-p 2: must be in (0, 1]"},
		{"top-p NaN", []string{"--top-p", "NaN"}, "--top-p NaN: must be"},
		{"negative temperature", []string{"--temperature", "-1"}, "--temperature -1: must be finite and >= 0 (0 is greedy)"},
		{"negative top-k", []string{"--top-k", "-3"}, "--top-k -3: must be >= 0"},
		{"zero tokens", []string{"--max-new-tokens", "0"}, "--max-new-tokens 0"},
		{"zero repetition penalty", []string{"--repetition-penalty", "0"}, "--repetition-penalty 0"},
		{"negative repetition penalty", []string{"--repetition-penalty", "-1.5"}, "--repetition-penalty -1.5"},
		{"repetition penalty NaN", []string{"--repetition-penalty", "NaN"}, "--repetition-penalty NaN"},
		{"infinite repetition penalty", []string{"--repetition-penalty", "+Inf"}, "--repetition-penalty +Inf"},
		{"valid options load", nil, "no-model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--model", missing, "--prompt", "hi"}, tt.flags...)
			var out, errOut bytes.Buffer
			err := runUnderstand(context.Background(), args, nil, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "options:") {
				t.Fatalf("understand %v = %v, want an error containing %q, without an internal prefix", tt.flags, err, tt.want)
			}
			if tt.flags != nil && strings.Contains(err.Error(), "no-model") {
				t.Fatalf("understand %v reached the model folder: %v", tt.flags, err)
			}
		})
	}
}

// checksCancelCtx is a context that cancels itself at its n-th Err check: the answer loop
// checks once per token, so the cancel lands at a known point of the run, which a timer
// could not promise (tiny-a answers in milliseconds).
type checksCancelCtx struct {
	context.Context
	cancel context.CancelFunc
	n      int
}

func newChecksCancelCtx(n int) *checksCancelCtx {
	ctx, cancel := context.WithCancel(context.Background())
	return &checksCancelCtx{Context: ctx, cancel: cancel, n: n}
}

func (c *checksCancelCtx) Err() error {
	if c.n--; c.n <= 0 {
		c.cancel()
	}
	return c.Context.Err()
}

// TestUnderstandCancelledMidAnswer cancels the answer after a few tokens: the command
// returns context.Canceled, streams only the part it had (a prefix of the full answer), and
// with --json prints nothing.
func TestUnderstandCancelledMidAnswer(t *testing.T) {
	args, g := tinyAArgs(t)
	full := g.Understanding.GreedyText
	// The cancel comes three checks before the end of a whole run's: a few tokens before the
	// answer's end (the load checks too, a tensor at a time).
	counter := newChecksCancelCtx(math.MaxInt)
	if err := runUnderstand(counter, args, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	checks := math.MaxInt - counter.n - 3

	ctx := newChecksCancelCtx(checks)
	defer ctx.cancel()
	var out, errOut bytes.Buffer
	err := runUnderstand(ctx, args, nil, &out, &errOut)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("understand cancelled mid-answer = %v, want context.Canceled", err)
	}
	part := strings.TrimSuffix(out.String(), "\n")
	if part == "" || len(part) >= len(full) || !strings.HasPrefix(full, part) {
		t.Fatalf("streamed %q before the cancel, want a non-empty proper prefix of %q", part, full)
	}

	// The same cancel point with --json: nothing partial is printed.
	ctx = newChecksCancelCtx(checks)
	defer ctx.cancel()
	out.Reset()
	err = runUnderstand(ctx, append(args, "--json"), nil, &out, &errOut)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("understand --json cancelled mid-answer = %v, want context.Canceled", err)
	}
	if out.Len() != 0 {
		t.Errorf("--json printed %q after a cancel", out.String())
	}
}

// TestUnderstandRepetitionPenalty: --repetition-penalty 1 is the default answer exactly; a
// penalty reaches the sampler (greedy here) and changes the reference's repetitive answer
// from its second token on, never its first (nothing precedes it to penalise).
func TestUnderstandRepetitionPenalty(t *testing.T) {
	args, g := tinyAArgs(t)
	want := g.Understanding.GreedyTokens
	run := func(penalty string) []int32 {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := runUnderstand(context.Background(), append(args, "--repetition-penalty", penalty, "--json"), nil, &out, &errOut); err != nil {
			t.Fatalf("understand --repetition-penalty %s: %v", penalty, err)
		}
		var res understandResult
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		return res.Tokens
	}
	if got := run("1"); !slices.Equal(got, want) {
		t.Errorf("penalty 1 gave %v, want the default answer %v", got, want)
	}
	got := run("50")
	if len(got) == 0 || got[0] != want[0] || slices.Equal(got, want) {
		t.Errorf("penalty 50 gave %v; want the same first token as %v and a different answer", got, want)
	}
	seen := map[int32]bool{}
	for _, tok := range got {
		if seen[tok] {
			t.Errorf("penalty 50 still repeats token %d: %v", tok, got)
			break
		}
		seen[tok] = true
	}
}

// The images are read before the model: one that cannot be read is told without a load
// (here the model could not be loaded either, and the image is what is reported).
func TestUnderstandReadsImagesFirst(t *testing.T) {
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "config.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "nope.png")
	err := runUnderstand(context.Background(), []string{"--model", broken, "--image", missing, "--prompt", "hi"}, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "nope.png") {
		t.Errorf("understand with a missing image and a broken model = %v, want the image named", err)
	}
}

// A cancelled load (Ctrl-C while the weights are read) stops and says so, rather than
// loading the whole model first.
func TestLoadStopsOnCancel(t *testing.T) {
	var mf modelFlags
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	mf.register(fs)
	if err := fs.Parse([]string{"--model", fixtures.Path(t, "models", "tiny-a"), "--threads", "1"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m, err := mf.load(ctx, model.Options{}, io.Discard)
	if m != nil {
		m.Close()
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("load with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestModelName(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for arg, want := range map[string]string{
		"janus-pro-1b": "janus-pro-1b", "models/Janus-Pro-7B/": "Janus-Pro-7B", ".": filepath.Base(wd),
		"..": filepath.Base(filepath.Dir(wd)),
	} {
		if got := modelName(arg); got != want {
			t.Errorf("modelName(%q) = %q, want %q", arg, got, want)
		}
	}
}

// Sampling flags given for a greedy answer are pointed out, not silently ignored.
func TestUnderstandGreedyIgnoresSamplingFlags(t *testing.T) {
	args, g := tinyAArgs(t)
	var out, errOut bytes.Buffer
	if err := runUnderstand(context.Background(), append(args, "--seed", "5", "--top-k", "3"), nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "note: --seed, --top-k only apply when sampling") {
		t.Errorf("stderr %q", errOut.String())
	}
	if strings.TrimSuffix(out.String(), "\n") != g.Understanding.GreedyText {
		t.Errorf("answer %q, want the greedy %q", out.String(), g.Understanding.GreedyText)
	}
}

// An image from a pipe (/dev/stdin, a process substitution), which cannot be opened twice,
// is read whole before the model and answered about as the file is.
func TestUnderstandImageFromPipe(t *testing.T) {
	args, g := tinyAArgs(t)
	data, err := os.ReadFile(args[3])
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() { w.Write(data); w.Close() }()
	args[3] = fmt.Sprintf("/dev/fd/%d", r.Fd())
	var out, errOut bytes.Buffer
	if err := runUnderstand(context.Background(), args, nil, &out, &errOut); err != nil {
		t.Fatalf("understand with the image from a pipe: %v", err)
	}
	if got := strings.TrimSuffix(out.String(), "\n"); got != g.Understanding.GreedyText {
		t.Errorf("answer %q, want %q", got, g.Understanding.GreedyText)
	}
}
