package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/model"
)

func TestParseTokenGrids(t *testing.T) {
	tests := []struct {
		name, in string
		want     [][]int32
		err      string
	}{
		{"flat", `[1, 2, 3]`, [][]int32{{1, 2, 3}}, ""},
		{"grids", ` [[1, 2], [3, 4]] `, [][]int32{{1, 2}, {3, 4}}, ""},
		{"object flat", `{"tokens": [5, 6]}`, [][]int32{{5, 6}}, ""},
		{"generate json", `{"images": ["a.png"], "tokens": [[7, 8]], "seed": 3}`, [][]int32{{7, 8}}, ""},
		{"not json", `tokens: 1 2 3`, nil, "want an array"},
		{"fraction", `[1, 2.5]`, nil, "want an array"},
		{"string ids", `["1", "2"]`, nil, "want an array"},
		{"object without tokens", `{"ids": [1]}`, nil, `no "tokens"`},
		{"bad object", `{"tokens": [1}`, nil, "decode JSON"},
		{"empty", `[]`, nil, "empty"},
		{"empty grid", `[[1], []]`, nil, "grid 1 is empty"},
		{"too large", `[4294967296]`, nil, "want an array"},
		{"tokens null", `{"tokens": null}`, nil, "tokens is null"},
		{"file null", ` null `, nil, "the file is null"},
		{"grid null", `[[1, 2], null]`, nil, "grid 1 is null"},
		{"grid of fractions", `[[1], [2.5]]`, nil, "grid 1: want an array of token ids"},
		{"grid of strings", `{"tokens": [[1], ["2"]]}`, nil, "grid 1: want an array"},
		{"null first grid", `[null, [1]]`, nil, "grid 0 is null"},
		{"mixed", `[[1], 2]`, nil, "grid 1: want an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTokenGrids([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parse = %v, %v; want an error containing %q", got, err, tt.err)
				}
				return
			}
			if err != nil || !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Fatalf("parse = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestDecodeTokensErrors(t *testing.T) {
	fx := newGenFixture(t, "gen-d")
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	short := write("short.json", `[1, 2, 3]`)
	outside := write("outside.json", "["+strings.Repeat("0, ", 63)+"80]")
	bad := write("bad.json", `{`)
	existing := write("existing.png", "x")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no tokens flag", []string{"--model", fx.dir, "--out", "a.png"}, "--tokens"},
		{"no out", []string{"--model", fx.dir, "--tokens", short}, "--out"},
		{"missing file", []string{"--model", fx.dir, "--tokens", filepath.Join(dir, "none.json"), "--out", "a.png"}, "read tokens"},
		{"bad json", []string{"--model", fx.dir, "--tokens", bad, "--out", "a.png"}, "bad.json"},
		{"wrong grid size", []string{"--model", fx.dir, "--tokens", short, "--out", filepath.Join(dir, "a.png")}, "has 3 tokens, want 64"},
		{"id outside codebook", []string{"--model", fx.dir, "--tokens", outside, "--out", filepath.Join(dir, "a.png")}, "outside the codebook"},
		{"existing output", []string{"--model", fx.dir, "--tokens", short, "--out", existing}, "already exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := runDecodeTokens(context.Background(), append(tt.args, "--threads", "1"), nil, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("decode-tokens = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "a.png")); err == nil {
		t.Error("a failed decode left an image behind")
	}
}

// FuzzParseTokenGrids: any input gives grids or an error, never a panic, and accepted
// grids are never empty.
func FuzzParseTokenGrids(f *testing.F) {
	for _, s := range []string{`[1, 2, 3]`, `[[1], [2, 3]]`, `{"tokens": [[4]]}`, `{"tokens": 5}`, `[`, `[[]]`, `{}`, `null`, `[1e3]`, `[-1]`,
		`{"tokens": null}`, `[[1], null]`, `[1, [2]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		grids, err := parseTokenGrids(data)
		if err != nil {
			return
		}
		if len(grids) == 0 {
			t.Fatalf("%q: no grids and no error", data)
		}
		for i, g := range grids {
			if len(g) == 0 {
				t.Fatalf("%q: grid %d empty and no error", data, i)
			}
		}
	})
}

// TestDecodeTokensMany: a file of many grids is decoded into as many files, in order, each
// the image of its grid; a bad grid at the end stops the run before any file is written.
func TestDecodeTokensMany(t *testing.T) {
	fx := newGenFixture(t, "gen-d")
	const n = 40
	grids := make([][]int32, n)
	for i := range grids {
		grids[i] = slices.Clone(fx.tokens[0])
		grids[i][i%len(grids[i])] = int32(i % 64)
	}
	write := func(grids [][]int32) string {
		data, err := json.Marshal(map[string]any{"tokens": grids})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "tokens.json")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := runDecodeTokens(context.Background(), []string{"--model", fx.dir, "--tokens", write(grids),
		"--out", filepath.Join(dir, "g%d.png"), "--threads", "1"}, nil, &out, &errOut); err != nil {
		t.Fatalf("decode-tokens: %v\n%s", err, errOut.String())
	}
	lines := strings.Fields(out.String())
	if len(lines) != n {
		t.Fatalf("printed %d paths, want %d", len(lines), n)
	}
	be, err := app.OpenBackend("auto", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	d, err := model.LoadVQ(fx.dir, model.Options{Backend: be, OwnBackend: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free()
	for _, i := range []int{0, 17, n - 1} {
		want, err := d.DecodeToImages(context.Background(), grids[i:i+1], nil)
		if err != nil {
			t.Fatal(err)
		}
		if p := filepath.Join(dir, fmt.Sprintf("g%d.png", i)); lines[i] != p || !bytes.Equal(decodePNG(t, p), want[0].Pix) {
			t.Errorf("file %d (%s) is not the image of grid %d", i, lines[i], i)
		}
	}

	bad := append(slices.Clone(grids), []int32{1, 2, 3})
	dir = t.TempDir()
	err = runDecodeTokens(context.Background(), []string{"--model", fx.dir, "--tokens", write(bad),
		"--out", filepath.Join(dir, "g%d.png"), "--threads", "1"}, nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "grid 40 has 3 tokens") {
		t.Fatalf("decode-tokens with a short last grid = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("%d files written before the bad grid was reported", len(entries))
	}
}

// cancelOnWrite cancels its context at the first path printed: a Ctrl-C after the first
// image was written.
type cancelOnWrite struct {
	bytes.Buffer
	cancel context.CancelFunc
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	w.cancel()
	return w.Buffer.Write(p)
}

// Stopped part way, decode-tokens keeps the images written and says how many of all.
func TestDecodeTokensStopped(t *testing.T) {
	fx := newGenFixture(t, "gen-d")
	grids := [][]int32{fx.tokens[0], fx.tokens[0], fx.tokens[0], fx.tokens[0]}
	data, err := json.Marshal(grids)
	if err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(t.TempDir(), "tokens.json")
	if err := os.WriteFile(tokens, data, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelOnWrite{cancel: cancel}
	var errOut bytes.Buffer
	err = runDecodeTokens(ctx, []string{"--model", fx.dir, "--tokens", tokens, "--out", filepath.Join(dir, "g%d.png"), "--threads", "1"}, nil, out, &errOut)
	if !errors.Is(err, context.Canceled) || !errors.As(err, new(stopSaid)) {
		t.Fatalf("decode-tokens stopped = %v", err)
	}
	written := strings.Fields(out.String())
	if len(written) == 0 || len(written) == len(grids) ||
		!strings.Contains(errOut.String(), fmt.Sprintf("stopped: %d of %d images written", len(written), len(grids))) {
		t.Fatalf("stdout %q, stderr %q", out.String(), errOut.String())
	}
	for _, p := range written {
		if decodePNG(t, p) == nil {
			t.Errorf("%s listed but not written", p)
		}
	}
}
