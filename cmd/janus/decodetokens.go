package main

// janus decode-tokens --model DIR --tokens FILE --out PATH [--force] [--threads N] [--backend B]
//
// Decodes grids of image token ids with the model's VQ decoder alone (the language model is
// not loaded) and writes them as PNG files, named like generate's --out (a file for one grid;
// a pattern with %d, a folder or a name that gets -<index> for several). FILE is JSON: a flat
// array of grid² ids, an array of such arrays, or an object whose "tokens" holds either (what
// generate --json prints).
//
// Every grid is checked (length, ids inside the codebook) before the first image is decoded;
// then the grids are decoded and written one at a time, so memory stays at one image however
// many grids the file holds (the ids themselves take 4 bytes each). A failure part way leaves
// the images already written.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"slices"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/internal/pngfile"
	"github.com/janus-desktop/janus/model"
)

// runDecodeTokens implements the decode-tokens subcommand.
func runDecodeTokens(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("decode-tokens", stdout, stderr, "janus decode-tokens --model DIR|NAME --tokens FILE --out PATH [flags]",
		"Decode image token grids with the model's VQ decoder and write PNG files.")
	var mf modelFlags
	mf.register(fs)
	tokensPath := fs.String("tokens", "", "JSON file of image token ids (one grid, a list of grids, or generate --json output; - reads standard input)")
	out := fs.String("out", "", "output file, folder, or pattern with %d for several grids")
	force := fs.Bool("force", false, "overwrite existing files")
	if err := parseArgs(fs, args, ""); err != nil {
		return err
	}
	if err := mf.check(); err != nil {
		return err
	}
	if *tokensPath == "" {
		return errors.New("missing --tokens FILE")
	}
	if *out == "" {
		return errors.New("missing --out PATH")
	}
	var raw []byte
	var err error
	if *tokensPath == "-" {
		raw, err = io.ReadAll(stdin) // generate --json | janus decode-tokens --tokens -
	} else {
		raw, err = os.ReadFile(*tokensPath)
	}
	if err != nil {
		return fmt.Errorf("read tokens: %w", err)
	}
	grids, err := parseTokenGrids(raw)
	if err != nil {
		return fmt.Errorf("tokens file %s: %w", *tokensPath, err)
	}
	paths, err := outputPaths(*out, len(grids), "decoded")
	if err != nil {
		return err
	}
	if err := checkTargets(paths, *force); err != nil {
		return err
	}
	removeStaleTemps(paths, stderr)

	if err := mf.resolve(); err != nil {
		return err
	}
	// The decoder owns the backend loadVQ opens: Free closes it. Of the weight formats none
	// changes the decoder, whose weights are float32 whatever --weights says (as in generate).
	d, err := mf.loadVQ(model.Options{Context: ctx})
	if err != nil {
		return err
	}
	defer d.Free()
	name := mf.name
	text := []pngfile.TextField{
		{Key: "model", Value: name},
		{Key: "Software", Value: app.Software(version)},
	}
	var writeErr error
	written := 0
	err = d.DecodeEachImage(ctx, grids, nil, func(i int, img *image.NRGBA) error {
		if writeErr = pngfile.Write(paths[i], img, text, *force); writeErr != nil {
			return writeErr
		}
		written++
		fmt.Fprintln(stdout, paths[i])
		return nil
	})
	switch {
	case writeErr != nil:
		return writeErr
	case err != nil && ctx.Err() != nil && written > 0 && written < len(grids):
		// The images written stay; a run again needs --force for them, or the rest alone.
		fmt.Fprintf(stderr, "stopped: %d of %d images written (listed above); the others are not\n", written, len(grids))
		return stopSaid{ctx.Err()}
	case err != nil:
		return fmt.Errorf("tokens file %s: %w", *tokensPath, err)
	}
	return nil
}

// parseTokenGrids accepts [ids...], [[ids...], ...] or {"tokens": either}. Token ids must be
// integers; their range and the grid size are checked by the decoder.
func parseTokenGrids(raw []byte) ([][]int32, error) {
	raw = bytes.TrimSpace(raw)
	what := "the file"
	if len(raw) > 0 && raw[0] == '{' {
		var obj struct {
			Tokens json.RawMessage `json:"tokens"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("decode JSON: %w", err)
		}
		if obj.Tokens == nil {
			return nil, errors.New(`the object has no "tokens" field`)
		}
		raw = bytes.TrimSpace(obj.Tokens)
		what = "tokens"
	}
	if isNull(raw) {
		return nil, fmt.Errorf("%s is null, not an array of token ids", what)
	}
	var flat []int32
	flatErr := json.Unmarshal(raw, &flat)
	if flatErr == nil {
		if len(flat) == 0 {
			return nil, errors.New("the token list is empty")
		}
		return [][]int32{flat}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil || !slices.ContainsFunc(items, isArray) {
		// Not an array, or an array without any array in it: report it as the flat list it
		// looks like.
		return nil, fmt.Errorf("want an array of token ids, an array of such arrays, or {\"tokens\": ...}: %w", flatErr)
	}
	if len(items) == 0 {
		return nil, errors.New("the list of grids is empty")
	}
	grids := make([][]int32, len(items))
	for i, item := range items {
		if isNull(item) {
			return nil, fmt.Errorf("grid %d is null, not an array of token ids", i)
		}
		if err := json.Unmarshal(item, &grids[i]); err != nil {
			return nil, fmt.Errorf("grid %d: want an array of token ids: %w", i, err)
		}
		if len(grids[i]) == 0 {
			return nil, fmt.Errorf("grid %d is empty", i)
		}
	}
	return grids, nil
}

// isArray reports whether raw is a JSON array.
func isArray(raw json.RawMessage) bool { return bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) }

// isNull reports whether raw is the JSON literal null, which json.Unmarshal turns into an
// empty slice without complaint.
func isNull(raw []byte) bool { return string(bytes.TrimSpace(raw)) == "null" }
