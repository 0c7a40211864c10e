package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/janus-desktop/janus/model"
)

// modelFlags are the flags every command that runs a model shares: the model folder and
// where to run it.
type modelFlags struct {
	dir     string
	threads int
	backend string
}

// register adds --model, --threads and --backend to fs.
func (f *modelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dir, "model", "", "model folder (config.json, weights, tokenizer files)")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads per operation (0: every core)")
	fs.StringVar(&f.backend, "backend", "auto", "compute backend: auto, cpu or metal")
}

// check reports missing or invalid model flags before anything is loaded.
func (f *modelFlags) check() error {
	if f.dir == "" {
		return errors.New("missing --model DIR")
	}
	if f.threads < 0 {
		return fmt.Errorf("--threads %d is negative", f.threads)
	}
	return nil
}

// load checks the flags and loads the model with opts, the backend taken from the flags.
func (f *modelFlags) load(opts model.Options) (*model.Model, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	be, err := model.NewBackend(f.backend, f.threads)
	if err != nil {
		return nil, err
	}
	opts.Backend = be
	return model.Load(f.dir, opts)
}
