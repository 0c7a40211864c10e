package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/internal/pngfile"
	"github.com/janus-desktop/janus/model"
	"github.com/janus-desktop/janus/model/checkpoint/checkpointtest"
	"github.com/janus-desktop/janus/model/vq/formulaweights"
	"github.com/janus-desktop/janus/model/weights/weightstest"
)

// genFixture is a generated model folder (model/testdata/generate) with its goldens.
type genFixture struct {
	dir    string
	prompt string
	tokens [][]int32
}

func newGenFixture(t *testing.T, name string) genFixture {
	t.Helper()
	src := filepath.Join("..", "..", "model", "testdata", "generate", name)
	dir := filepath.Join(t.TempDir(), name)
	if err := formulaweights.WriteModel(dir, src); err != nil {
		t.Fatal(err)
	}
	var g struct {
		Generation struct {
			Prompt      string    `json:"prompt"`
			ImageTokens [][]int32 `json:"image_tokens"`
		} `json:"generation"`
	}
	fixtures.JSON(t, filepath.Join(src, "golden.json"), &g)
	return genFixture{dir: dir, prompt: g.Generation.Prompt, tokens: g.Generation.ImageTokens}
}

func runGen(t *testing.T, args ...string) (generateResult, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := runGenerate(context.Background(), append(args, "--json"), nil, &out, &errOut)
	var res generateResult
	if out.Len() > 0 { // also with an error: the images that were saved
		if jerr := json.Unmarshal(out.Bytes(), &res); jerr != nil {
			t.Fatalf("decode --json output: %v\n%s", jerr, out.String())
		}
	}
	return res, errOut.String(), err
}

// TestGenerateGoldenTinyA: greedy generation on tiny-a writes the reference's image with the
// metadata in text chunks.
func TestGenerateGoldenTinyA(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	gdir := fixtures.Path(t, "golden", "tiny-a")
	var g struct {
		Generation struct {
			Conversation []struct{ Content string } `json:"conversation"`
			ImageTokens  [][]int32                  `json:"image_tokens"`
			PNG          []string                   `json:"png"`
		} `json:"generation"`
	}
	fixtures.JSON(t, filepath.Join(gdir, "golden.json"), &g)
	prompt := g.Generation.Conversation[0].Content
	outDir := t.TempDir()
	res, stderr, err := runGen(t, "--model", dir, "--prompt", prompt, "--temperature", "0", "--seed", "42",
		"--out", filepath.Join(outDir, "tiny.png"), "--threads", "2")
	if err != nil {
		t.Fatalf("generate: %v\n%s", err, stderr)
	}
	if len(res.Images) != 1 || res.paths()[0] != filepath.Join(outDir, "tiny.png") || res.Seed != 42 {
		t.Fatalf("result %+v", res)
	}
	if !slices.Equal(res.Tokens[0], g.Generation.ImageTokens[0]) {
		t.Fatalf("tokens %v, want %v", res.Tokens[0], g.Generation.ImageTokens[0])
	}
	if !strings.Contains(stderr, "generate: 100%") || !strings.Contains(stderr, "decode:   100%") ||
		strings.Index(stderr, "generate: 100%") > strings.Index(stderr, "decode:     0%") {
		t.Errorf("stderr lacks the final token progress line followed by the decode's:\n%s", stderr)
	}
	data, err := os.ReadFile(res.paths()[0])
	if err != nil {
		t.Fatal(err)
	}
	text, err := pngfile.ReadText(data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"prompt": prompt, "seed": "42", "cfg": "5", "temperature": "0", "model": "tiny-a"}
	for _, f := range text {
		if v, ok := want[f.Key]; ok && v == f.Value {
			delete(want, f.Key)
		}
	}
	if len(want) > 0 {
		t.Errorf("text chunks %v lack %v", text, want)
	}
	got, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	fixtures.ComparePNG(t, got, filepath.Join(gdir, g.Generation.PNG[0]))
}

// TestGenerateSeveral: several images into a folder, Janus-1.3B prompts, then decode-tokens
// on the --json output reproduces the same files.
func TestGenerateSeveral(t *testing.T) {
	fx := newGenFixture(t, "gen-b")
	outDir := t.TempDir()
	res, stderr, err := runGen(t, "--model", fx.dir, "--prompt", fx.prompt, "--n", "2", "--temperature", "0",
		"--seed", "5", "--out", outDir, "--threads", "1", "--preview-every", "2")
	if err != nil {
		t.Fatalf("generate: %v\n%s", err, stderr)
	}
	wantPaths := []string{filepath.Join(outDir, "janus-5-0.png"), filepath.Join(outDir, "janus-5-1.png")}
	if !slices.Equal(res.paths(), wantPaths) || !slices.EqualFunc(res.Tokens, fx.tokens, slices.Equal) {
		t.Fatalf("images %v tokens %v", res.paths(), res.Tokens)
	}
	entries, _ := os.ReadDir(outDir)
	if len(entries) != 2 {
		t.Fatalf("the output folder holds %d files (previews or temporaries left?)", len(entries))
	}
	for i, p := range res.paths() {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		text, err := pngfile.ReadText(data)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(text, pngfile.TextField{Key: "seed", Value: strconv.Itoa(5 + i)}) {
			t.Errorf("%s: text %v lacks seed %d", p, text, 5+i)
		}
	}

	// decode-tokens on the JSON output gives the same pictures
	// generate --json | janus decode-tokens --tokens -
	tokJSON, err := os.ReadFile(writeResult(t, res))
	if err != nil {
		t.Fatal(err)
	}
	decDir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := runDecodeTokens(context.Background(), []string{"--model", fx.dir, "--tokens", "-",
		"--out", filepath.Join(decDir, "d%d.png"), "--threads", "1"}, bytes.NewReader(tokJSON), &out, &errOut); err != nil {
		t.Fatalf("decode-tokens: %v\n%s", err, errOut.String())
	}
	for i := range 2 {
		a := decodePNG(t, res.paths()[i])
		b := decodePNG(t, filepath.Join(decDir, "d"+strconv.Itoa(i)+".png"))
		if !bytes.Equal(a, b) {
			t.Errorf("decode-tokens image %d differs from generate's", i)
		}
	}
	if got := strings.Fields(out.String()); len(got) != 2 {
		t.Errorf("decode-tokens printed %q, want the two paths", out.String())
	}
}

// TestDecodeTokensPrecision: decode-tokens runs the decoder in the precision --precision
// names, as generate does: with bf16 both write the same pictures from the same tokens, and
// those differ from the exact decoder's.
func TestDecodeTokensPrecision(t *testing.T) {
	fx := newGenFixture(t, "gen-b")
	res, stderr, err := runGen(t, "--model", fx.dir, "--prompt", fx.prompt, "--temperature", "0", "--seed", "5",
		"--out", filepath.Join(t.TempDir(), "g.png"), "--threads", "2", "--precision", "bf16")
	if err != nil {
		t.Fatalf("generate: %v\n%s", err, stderr)
	}
	tokFile := writeResult(t, res)
	decode := func(precision string) []byte {
		out := filepath.Join(t.TempDir(), precision+".png")
		var stdout, errOut bytes.Buffer
		if err := runDecodeTokens(context.Background(), []string{"--model", fx.dir, "--tokens", tokFile,
			"--out", out, "--threads", "2", "--precision", precision}, nil, &stdout, &errOut); err != nil {
			t.Fatalf("decode-tokens --precision %s: %v\n%s", precision, err, errOut.String())
		}
		return decodePNG(t, out)
	}
	bf16, exact := decode("bf16"), decode("exact")
	if !bytes.Equal(bf16, decodePNG(t, res.paths()[0])) {
		t.Error("decode-tokens --precision bf16 differs from generate --precision bf16")
	}
	if bytes.Equal(bf16, exact) {
		t.Error("decode-tokens gives the same pixels in both precisions: the test shows nothing here")
	}
}

// writeResult writes generate's --json result to a file for decode-tokens, and returns its
// path.
func writeResult(t *testing.T, res generateResult) string {
	t.Helper()
	js, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "tokens.json")
	if err := os.WriteFile(p, js, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func decodePNG(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	var buf bytes.Buffer
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			buf.Write([]byte{byte(r >> 8), byte(g >> 8), byte(bl >> 8), byte(a >> 8)})
		}
	}
	return buf.Bytes()
}

// TestGenerateNoOverwrite: an existing file stops the run before loading; --force replaces it.
func TestGenerateNoOverwrite(t *testing.T) {
	fx := newGenFixture(t, "gen-d")
	path := filepath.Join(t.TempDir(), "x.png")
	if err := os.WriteFile(path, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := runGen(t, "--model", fx.dir, "--prompt", fx.prompt, "--seed", "1", "--out", path)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("generate over an existing file = %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "keep" {
		t.Fatal("the existing file was changed")
	}
	res, stderr, err := runGen(t, "--model", fx.dir, "--prompt", fx.prompt, "--out", path, "--force", "--threads", "1")
	if err != nil {
		t.Fatalf("generate --force: %v", err)
	}
	if !strings.HasPrefix(stderr, "seed ") || !strings.Contains(stderr, strconv.FormatUint(res.Seed, 10)) {
		t.Errorf("the random seed was not printed: %q", stderr)
	}
	if decodePNG(t, path) == nil {
		t.Fatal("no image written")
	}
}

func TestGenerateCancelled(t *testing.T) {
	fx := newGenFixture(t, "gen-d")
	outDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	err := runGenerate(ctx, []string{"--model", fx.dir, "--prompt", fx.prompt, "--out", outDir, "--threads", "1"}, nil, &out, &errOut)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("generate with a cancelled context = %v", err)
	}
	if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
		t.Fatalf("a cancelled run left %d files", len(entries))
	}
}

func TestGenerateFlagErrors(t *testing.T) {
	dir := t.TempDir()
	nul := filepath.Join(dir, "nul.txt")
	writeFile(t, nul, "a fox\x00")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no model", []string{"--prompt", "x"}, "--model"},
		{"no prompt", []string{"--model", dir}, "--prompt"},
		{"blank prompt", []string{"--model", dir, "--prompt", "  "}, "--prompt"},
		// Refused before the model loads: the PNGs' text cannot hold it.
		{"NUL in the prompt file", []string{"--model", dir, "--prompt-file", nul}, "--prompt-file " + nul + ": the prompt contains a NUL character"},
		{"prompt not UTF-8", []string{"--model", dir, "--prompt", "a \xff fox"}, "the prompt is not valid UTF-8"},
		{"zero images", []string{"--model", dir, "--prompt", "x", "--n", "0"}, "--n 0"},
		{"jpeg", []string{"--model", dir, "--prompt", "x", "--out", filepath.Join(dir, "a.jpg")}, "must end in .png"},
		{"two patterns", []string{"--model", dir, "--prompt", "x", "--n", "2", "--out", filepath.Join(dir, "%d-%d.png")}, "exactly one %d"},
		{"missing folder", []string{"--model", dir, "--prompt", "x", "--out", filepath.Join(dir, "no", "a.png")}, "does not exist"},
		{"stray argument", []string{"--model", dir, "--prompt", "x", "extra"}, "unexpected argument"},
		{"no such model", []string{"--model", dir, "--prompt", "x", "--seed", "1", "--out", filepath.Join(dir, "a.png")}, "config.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := runGenerate(context.Background(), tt.args, nil, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("generate %v = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestOutputPaths(t *testing.T) {
	dir := t.TempDir()
	pct := filepath.Join(dir, "50%dir")
	if err := os.Mkdir(pct, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		out  string
		n    int
		want []string
		err  string
	}{
		{"", 1, []string{"janus-7.png"}, ""},
		{"", 2, []string{"janus-7-0.png", "janus-7-1.png"}, ""},
		{dir, 1, []string{filepath.Join(dir, "janus-7.png")}, ""},
		{dir, 2, []string{filepath.Join(dir, "janus-7-0.png"), filepath.Join(dir, "janus-7-1.png")}, ""},
		{"cat.png", 1, []string{"cat.png"}, ""},
		{"cat.png", 3, []string{"cat-0.png", "cat-1.png", "cat-2.png"}, ""},
		{"cat_%d.png", 2, []string{"cat_0.png", "cat_1.png"}, ""},
		{"cat_%d.png", 1, []string{"cat_0.png"}, ""},
		{"CAT.PNG", 1, []string{"CAT.PNG"}, ""},
		{"cat", 1, nil, "must end in .png"},
		{"cat_%s.png", 2, nil, "exactly one %d"},
		{"100%.png", 1, nil, "exactly one %d"},
		{filepath.Join(dir, "nope") + "/", 1, nil, "no such folder"},
		// A % in a folder's name is the folder's, an existing one's or a pattern's.
		{pct, 2, []string{filepath.Join(pct, "janus-7-0.png"), filepath.Join(pct, "janus-7-1.png")}, ""},
		{filepath.Join(pct, "a-%d.png"), 2, []string{filepath.Join(pct, "a-0.png"), filepath.Join(pct, "a-1.png")}, ""},
		{filepath.Join(pct, "a.png"), 2, []string{filepath.Join(pct, "a-0.png"), filepath.Join(pct, "a-1.png")}, ""},
	}
	for _, tt := range tests {
		got, err := outputPaths(tt.out, tt.n, "janus-7")
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("outputPaths(%q, %d) = %v, %v; want an error containing %q", tt.out, tt.n, got, err, tt.err)
		case tt.err == "" && (err != nil || !slices.Equal(got, tt.want)):
			t.Errorf("outputPaths(%q, %d) = %v, %v; want %v", tt.out, tt.n, got, err, tt.want)
		}
	}
}

func TestProgressBarLines(t *testing.T) {
	var buf bytes.Buffer
	b := newProgressBar(&buf)
	for i := 1; i <= 40; i++ {
		b.update(i, 40, 12.5, 0)
	}
	for i := 0; i <= 20; i++ {
		b.decode(i, 20)
	}
	b.done()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 22 || !strings.Contains(lines[10], "100%  40/40 tokens  12.5 tok/s  0:00 left") {
		t.Fatalf("progress lines:\n%s", buf.String())
	}
	if lines[11] != "decode:     0%  0/20 stages" || lines[21] != "decode:   100%  20/20 stages" {
		t.Fatalf("decode progress lines:\n%s", strings.Join(lines[11:], "\n"))
	}
	if got := formatDuration(3725e9); got != "1:02:05" {
		t.Errorf("formatDuration = %q", got)
	}
}

// TestAnswerOptionsBeforeLoad: every bad option is reported before the model is loaded, so
// the folder (which does not exist here) is never read.
func TestAnswerOptionsBeforeLoad(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-model")
	tests := []struct {
		name  string
		flags []string
		want  string
	}{
		{"cfg NaN", []string{"--cfg", "NaN"}, "--cfg NaN: must be a number of 0 or more"},
		{"cfg infinite", []string{"--cfg", "+Inf"}, "--cfg +Inf: must be a number of 0 or more"},
		{"negative cfg", []string{"--cfg", "-1"}, "--cfg -1: must be a number of 0 or more (0: no guidance; the original uses 5)"},
		{"negative temperature", []string{"--temperature", "-1"}, "--temperature -1: must be finite and >= 0"},
		{"negative preview", []string{"--preview-every", "-1"}, "--preview-every -1: is negative"},
		{"top-p above 1", []string{"--top-p", "2"}, "--top-p 2: must be in (0, 1]"},
		{"negative top-k", []string{"--top-k", "-1"}, "--top-k -1: must be >= 0"},
		{"zero images", []string{"--n", "0"}, "--n 0"},
		{"too many images", []string{"--n", "17"}, "--n 17 must be between 1 and 16"},
		{"max memory NaN", []string{"--max-memory", "NaN"}, "--max-memory NaN"},
		{"valid options load", nil, "no-model does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--model", missing, "--prompt", "x", "--seed", "1", "--out", filepath.Join(dir, "a.png")}, tt.flags...)
			var out, errOut bytes.Buffer
			err := runGenerate(context.Background(), args, nil, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "options:") {
				t.Fatalf("generate %v = %v, want an error containing %q, without an internal prefix", tt.flags, err, tt.want)
			}
			if tt.flags != nil && strings.Contains(err.Error(), "no-model") {
				t.Fatalf("generate %v reached the model folder: %v", tt.flags, err)
			}
		})
	}
}

// TestGeneratePreviewsKeepUserFiles: a file already called <name>.preview.png (or anything
// else beside the output) survives a run with or without previews; previews go to files of
// the run's own, named on stderr, and are gone at the end.
func TestGeneratePreviewsKeepUserFiles(t *testing.T) {
	fx := newGenFixture(t, "gen-d")
	tests := []struct {
		name     string
		flags    []string
		previews bool
	}{
		{"without previews", nil, false},
		{"previews every row", []string{"--preview-every", "1"}, true},
		{"previews every 3 rows", []string{"--preview-every", "3", "--force"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mine := map[string]string{"x.preview.png": "mine", "x.preview-1.png": "also mine", "x.png.tmp": "mine too"}
			for name, content := range mine {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := append([]string{"--model", fx.dir, "--prompt", fx.prompt, "--seed", "3", "--threads", "1",
				"--out", filepath.Join(dir, "x.png")}, tt.flags...)
			_, stderr, err := runGen(t, args...)
			if err != nil {
				t.Fatalf("generate: %v\n%s", err, stderr)
			}
			for name, content := range mine {
				if data, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(data) != content {
					t.Errorf("%s: %q, %v; want it untouched", name, data, err)
				}
			}
			var announced []string
			for _, line := range strings.Split(stderr, "\n") {
				if p, ok := strings.CutPrefix(line, "preview: "); ok {
					p, temporary := strings.CutSuffix(p, " (temporary: removed when the images are written)")
					if !temporary {
						t.Errorf("stderr %q does not say the preview is removed at the end", line)
					}
					announced = append(announced, p)
				}
			}
			if tt.previews != (len(announced) == 1) {
				t.Fatalf("preview files named on stderr: %v", announced)
			}
			for _, p := range announced {
				if filepath.Dir(p) != dir || !strings.HasPrefix(filepath.Base(p), "x.preview-") || filepath.Ext(p) != ".png" {
					t.Errorf("preview file %s is not x.preview-*.png beside the image", p)
				}
				if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("preview file %s left behind (%v)", p, err)
				}
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != len(mine)+1 {
				names := []string{}
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Fatalf("the folder holds %v; want the user's files and x.png", names)
			}
		})
	}
}

// TestGeneratePreviewHelp: -h says the preview file is temporary and when it goes.
func TestGeneratePreviewHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	err := runGenerate(context.Background(), []string{"-h"}, nil, &out, &errOut)
	stdout := out.String()
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("generate -h: %v", err)
	}
	help := strings.Join(strings.Fields(stdout), " ")
	if want := "to a temporary file beside the image, <name>.preview-<random>.png, named on stderr and removed when the images are written"; !strings.Contains(help, want) {
		t.Errorf("generate -h does not say %q:\n%s", want, stdout)
	}
}

// TestPreviewFiles: each image's preview file is made once with a fresh name, replaced by
// later previews, and removed with nothing else.
func TestPreviewFiles(t *testing.T) {
	dir := t.TempDir()
	finals := []string{filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")}
	var named []string
	p := &previewFiles{finals: finals, announce: func(s string) {
		named = append(named, s)
		// A preview file never exists empty or half written: when it is named, it holds a
		// whole PNG.
		path := strings.TrimSuffix(strings.TrimPrefix(s, "preview: "), previewNote)
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("announced %s: %v", path, err)
		}
		fixtures.ReadPNG(t, path)
	}}
	frame := func(v uint8) []*image.NRGBA {
		imgs := make([]*image.NRGBA, 2)
		for i := range imgs {
			imgs[i] = image.NewNRGBA(image.Rect(0, 0, 4, 4))
			for j := range imgs[i].Pix {
				imgs[i].Pix[j] = v + uint8(i)
				if j%4 == 3 {
					imgs[i].Pix[j] = 255
				}
			}
		}
		return imgs
	}
	for _, v := range []uint8{10, 20, 30} {
		if err := p.write(frame(v)); err != nil {
			t.Fatal(err)
		}
		for i, path := range p.paths {
			r, _, _, _ := fixtures.ReadPNG(t, path).At(0, 0).RGBA()
			if uint8(r>>8) != v+uint8(i) {
				t.Fatalf("preview %d after frame %d holds %d", i, v, r>>8)
			}
		}
	}
	if len(named) != 2 || !strings.HasPrefix(filepath.Base(p.paths[1]), "b.preview-") {
		t.Fatalf("announced %v, files %v", named, p.paths)
	}
	created := slices.Clone(p.paths)
	other := filepath.Join(dir, "a.preview.png")
	if err := os.WriteFile(other, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.remove()
	p.remove() // a second remove (the deferred one) is harmless
	for _, path := range created {
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s not removed: %v", path, err)
		}
	}
	if data, err := os.ReadFile(other); err != nil || string(data) != "mine" {
		t.Errorf("a.preview.png changed: %q, %v", data, err)
	}
	bad := &previewFiles{finals: []string{filepath.Join(dir, "no", "c.png")}}
	if err := bad.write(frame(1)); err == nil || !strings.Contains(err.Error(), "preview of") {
		t.Errorf("preview into a missing folder = %v", err)
	}
}

// TestGenerateMemoryLimit: a run that does not fit --max-memory is refused with the numbers
// and the --n that fits, and writes nothing.
func TestGenerateMemoryLimit(t *testing.T) {
	fx := newGenFixture(t, "gen-b")
	be, err := app.OpenBackend("auto", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(fx.dir, model.Options{Backend: be, OwnBackend: true})
	if err != nil {
		t.Fatal(err)
	}
	cond, _, err := m.Prompt.GenerationIDs(fx.prompt)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	// The loaded model's estimates, which generate checks (its VQ decoder's scratch as
	// planned on the CPU).
	var totals [4]int64
	for n := 1; n <= 3; n++ {
		e, err := m.EstimateGenerationMemory(n, len(cond))
		if err != nil {
			m.Close()
			t.Fatal(err)
		}
		totals[n] = e.Total()
	}
	m.Close()
	est := func(n int) int64 { return totals[n] }
	gb := func(b int64) string { return strconv.FormatFloat(float64(b)/1e9, 'g', -1, 64) }
	tests := []struct {
		name, limit string
		want        []string // "" entries: the run succeeds
	}{
		{"two fit of three", gb((est(2) + est(3)) / 2), []string{"generating 3 images", "at most 2", "try --n 2"}},
		{"none fits", gb(est(1) / 2), []string{"not even one image fits", "--max-memory changes the limit"}},
		{"no check", "-1", nil},
		{"enough", gb(est(3) + 1000), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, stderr, err := runGen(t, "--model", fx.dir, "--prompt", fx.prompt, "--n", "3", "--seed", "1",
				"--threads", "1", "--max-memory", tt.limit, "--out", dir)
			entries, _ := os.ReadDir(dir)
			if tt.want == nil {
				if err != nil || len(entries) != 3 {
					t.Fatalf("generate = %v with %d files\n%s", err, len(entries), stderr)
				}
				return
			}
			if !errors.Is(err, model.ErrNotEnoughMemory) || len(entries) != 0 {
				t.Fatalf("generate = %v with %d files, want a memory error and no file", err, len(entries))
			}
			t.Log(err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// cancelOnWriter cancels a context at the first write containing at (a progress line), and
// keeps what was written.
type cancelOnWriter struct {
	at     string
	cancel context.CancelFunc
	buf    bytes.Buffer
}

func (w *cancelOnWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(w.at)) {
		w.cancel()
	}
	return w.buf.Write(p)
}

// TestGenerateCancelledMidRun cancels a run of four images on tiny-a (as Ctrl-C does) at
// its first progress line, or once its preview files exist: the command returns
// context.Canceled and leaves the output folder as it found it, with no image, no temporary
// or preview file, and the user's file there untouched.
func TestGenerateCancelledMidRun(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	prompt := strings.Repeat("a small red house by a lake, ", 20)
	tests := []struct {
		name  string
		at    string // the stderr text that cancels
		flags []string
	}{
		{"first progress line", "generate: ", nil},
		{"previews written", "preview: ", []string{"--preview-every", "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outDir := t.TempDir()
			mine := filepath.Join(outDir, "notes.txt")
			if err := os.WriteFile(mine, []byte("keep me"), 0o600); err != nil {
				t.Fatal(err)
			}
			before, err := os.Stat(mine)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stderr := &cancelOnWriter{at: tt.at, cancel: cancel}
			var stdout bytes.Buffer
			args := append([]string{"--model", dir, "--prompt", prompt, "--n", "4", "--seed", "3",
				"--out", outDir, "--threads", "2", "--json"}, tt.flags...)
			err = runGenerate(ctx, args, nil, &stdout, stderr)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("generate cancelled at %q = %v, want context.Canceled\n%s", tt.at, err, stderr.buf.String())
			}
			if !strings.Contains(stderr.buf.String(), tt.at) {
				t.Fatalf("the run ended before %q:\n%s", tt.at, stderr.buf.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("a cancelled run printed %q", stdout.String())
			}
			entries, err := os.ReadDir(outDir)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if !slices.Equal(names, []string{"notes.txt"}) {
				t.Fatalf("the output folder holds %v after the cancel, want only notes.txt", names)
			}
			after, err := os.Stat(mine)
			if err != nil {
				t.Fatal(err)
			}
			if data, _ := os.ReadFile(mine); string(data) != "keep me" || !after.ModTime().Equal(before.ModTime()) || after.Mode() != before.Mode() {
				t.Errorf("the user's file changed: %q, %v %v", data, after.ModTime(), after.Mode())
			}
		})
	}
}

// An image that cannot be saved (here a folder in its place, with --force) does not cost the
// others: they are saved, and the error counts the ones that are not.
func TestGenerateSavesTheOthers(t *testing.T) {
	fx := newGenFixture(t, "gen-b")
	outDir := t.TempDir()
	blocked := filepath.Join(outDir, "janus-5-0.png")
	if err := os.MkdirAll(filepath.Join(blocked, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	res, _, err := runGen(t, "--model", fx.dir, "--prompt", fx.prompt, "--n", "2", "--temperature", "0",
		"--seed", "5", "--out", outDir, "--threads", "1", "--force")
	if err == nil || !strings.Contains(err.Error(), "1 of 2 images not saved") {
		t.Fatalf("generate with the first image's place taken = %v", err)
	}
	if decodePNG(t, filepath.Join(outDir, "janus-5-1.png")) == nil {
		t.Error("the second image was not saved")
	}
	// --json says which were saved, the error notwithstanding, an entry an image as its
	// tokens are.
	if !slices.Equal(res.paths(), []string{"", filepath.Join(outDir, "janus-5-1.png")}) || len(res.Tokens) != 2 {
		t.Errorf("--json with the first image's place taken lists %v and %d token grids", res.paths(), len(res.Tokens))
	}
}

// paths are the --json images' paths, "" for an image not saved.
func (r generateResult) paths() []string {
	out := make([]string, len(r.Images))
	for i, p := range r.Images {
		if p != nil {
			out[i] = *p
		}
	}
	return out
}

// fullWriter fails every write, as a full disk does (> /dev/full).
type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

// A list of paths that cannot be written (stdout on a full disk) fails the command, whose
// images are saved all the same.
func TestGenerateListNotWritten(t *testing.T) {
	fx := newGenFixture(t, "gen-b")
	outDir := t.TempDir()
	var errOut bytes.Buffer
	err := runGenerate(context.Background(), []string{"--model", fx.dir, "--prompt", fx.prompt, "--n", "2", "--temperature", "0",
		"--seed", "5", "--out", outDir, "--threads", "1"}, nil, fullWriter{}, &errOut)
	if err == nil || !strings.Contains(err.Error(), "the images are saved, but their paths could not be written") {
		t.Fatalf("generate with stdout full = %v", err)
	}
	for i := range 2 {
		if decodePNG(t, filepath.Join(outDir, fmt.Sprintf("janus-5-%d.png", i))) == nil {
			t.Errorf("image %d not saved", i)
		}
	}
}

// A model whose weights do not fit the machine's memory in the chosen format is refused
// before anything is read, with the smaller formats to try, as the window refuses it: the
// command line used to start loading it.
func TestGenerateRefusesWeightsOverMemory(t *testing.T) {
	dir := sparsePro7BOverMemory(t)
	out := t.TempDir()
	_, stderr, err := runGen(t, "--model", dir, "--prompt", "a fox", "--weights", "f32", "--seed", "1", "--out", out)
	if !errors.Is(err, model.ErrNotEnoughMemory) {
		t.Fatalf("generate = %v, want ErrNotEnoughMemory\n%s", err, stderr)
	}
	for _, want := range []string{"its weights need", "--weights bf16, q8, q4m, q4"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("%d files written", len(entries))
	}
}

// sparsePro7BOverMemory is a sparse Janus-Pro-7B folder (tiny-a's tokenizer) whose F32
// weights, even without the parts one task skips, do not fit this machine's memory; it skips
// the test on a machine where they would (the command would then load them).
func sparsePro7BOverMemory(t *testing.T) string {
	t.Helper()
	src := fixtures.Path(t, "real-configs", "janus-pro-7b")
	dir := t.TempDir()
	if err := weightstest.WriteRelease(dir, src, checkpointtest.Safetensors, 2, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(fixtures.Path(t, "models", "tiny-a", "tokenizer.json"), filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	for _, skip := range []model.Options{{SkipUnderstanding: true}, {SkipGeneration: true}} {
		skip.Weights = model.WeightsF32
		est, err := model.EstimateLoad(dir, skip)
		if err != nil {
			t.Fatal(err)
		}
		if mem := model.PhysicalMemory(); mem <= 0 || est.Bytes < mem {
			t.Skipf("Janus-Pro-7B's F32 weights (%d bytes) fit this machine's %d bytes of memory", est.Bytes, mem)
		}
	}
	return dir
}
