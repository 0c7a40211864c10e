package main

// janus decode-tokens --model DIR --tokens FILE --out PATH [--force] [--threads N] [--backend B]
//
// Decodes grids of image token ids with the model's VQ decoder alone (the language model is
// not loaded) and writes them as PNG files, named like generate's --out (a file for one grid;
// a pattern with %d, a folder or a name that gets -<index> for several). FILE is JSON: a flat
// array of grid² ids, an array of such arrays, or an object whose "tokens" holds either (what
// generate --json prints).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/janus-desktop/janus/model"
	"github.com/janus-desktop/janus/model/imageproc"
)

// runDecodeTokens implements the decode-tokens subcommand.
func runDecodeTokens(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("decode-tokens", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var mf modelFlags
	mf.register(fs)
	tokensPath := fs.String("tokens", "", "JSON file of image token ids (one grid, a list of grids, or generate --json output)")
	out := fs.String("out", "", "output file, folder, or pattern with %d for several grids")
	force := fs.Bool("force", false, "overwrite existing files")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: janus decode-tokens --model DIR --tokens FILE --out PATH [flags]")
		fmt.Fprintln(stderr, "Decode image token grids with the model's VQ decoder and write PNG files.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
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
	raw, err := os.ReadFile(*tokensPath)
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

	be, err := model.NewBackend(mf.backend, mf.threads)
	if err != nil {
		return err
	}
	d, err := model.LoadVQ(mf.dir, model.Options{Backend: be})
	if err != nil {
		return err
	}
	defer d.Free()
	imgs, err := d.DecodeToImages(ctx, grids, nil)
	if err != nil {
		return fmt.Errorf("tokens file %s: %w", *tokensPath, err)
	}
	name := filepath.Base(filepath.Clean(mf.dir))
	for i, img := range imgs {
		text := []imageproc.TextField{
			{Key: "model", Value: name},
			{Key: "Software", Value: "Janus Desktop " + version},
		}
		if err := imageproc.WritePNG(paths[i], img, text, *force); err != nil {
			return err
		}
		fmt.Fprintln(stdout, paths[i])
	}
	return nil
}

// parseTokenGrids accepts [ids...], [[ids...], ...] or {"tokens": either}. Token ids must be
// integers; their range and the grid size are checked by the decoder.
func parseTokenGrids(raw []byte) ([][]int32, error) {
	raw = bytes.TrimSpace(raw)
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
	}
	var flat []int32
	if err := json.Unmarshal(raw, &flat); err == nil {
		if len(flat) == 0 {
			return nil, errors.New("the token list is empty")
		}
		return [][]int32{flat}, nil
	}
	var grids [][]int32
	if err := json.Unmarshal(raw, &grids); err != nil {
		return nil, fmt.Errorf("want an array of token ids, an array of such arrays, or {\"tokens\": ...}: %w", err)
	}
	if len(grids) == 0 {
		return nil, errors.New("the list of grids is empty")
	}
	for i, g := range grids {
		if len(g) == 0 {
			return nil, fmt.Errorf("grid %d is empty", i)
		}
	}
	return grids, nil
}
