package main

import (
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/janus-desktop/janus/model"
)

// modelFlags are the flags every command that runs a model shares: the model folder and
// where to run it.
type modelFlags struct {
	dir     string
	threads int
	backend string
	weights string
	// name is what the user called the model: the --model name, or the folder's base name.
	name string
}

// register adds --model, --threads and --backend to fs.
func (f *modelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dir, "model", "", "model folder (config.json, weights, tokenizer files), or the name of one 'janus models' lists")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads per operation (0: every core)")
	fs.StringVar(&f.backend, "backend", "auto", "compute backend: auto, cpu or metal")
	fs.StringVar(&f.weights, "weights", model.WeightsAuto, "weight format: auto (per machine, see 'janus info'), stored, f32, bf16, q8 or q4 (q8/q4 quantize the language model, gen_head and gen_embed while loading)")
}

// check reports missing or invalid model flags before anything is loaded.
func (f *modelFlags) check() error {
	if f.dir == "" {
		return errors.New("missing --model DIR")
	}
	if f.threads < 0 {
		return fmt.Errorf("--threads %d is negative", f.threads)
	}
	if !slices.Contains(model.WeightFormats(), strings.ToLower(f.weights)) {
		return fmt.Errorf("--weights %q: want one of %s", f.weights, strings.Join(model.WeightFormats(), ", "))
	}
	return nil
}

// resolve turns --model into a folder (a name is looked up among the models 'janus models'
// finds) and remembers what to call the model in outputs. It runs after the other flags are
// checked, so that a bad option is reported before the model search.
func (f *modelFlags) resolve() error {
	if f.name != "" {
		return nil
	}
	dir, err := resolveModel(f.dir)
	if err != nil {
		return err
	}
	f.name = filepath.Base(filepath.Clean(f.dir))
	f.dir = dir
	return nil
}

// load checks the flags and loads the model with opts, on the backend the flags name; the
// model owns that backend and closes it with itself.
func (f *modelFlags) load(opts model.Options) (*model.Model, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	if err := f.resolve(); err != nil {
		return nil, err
	}
	opts.BackendName, opts.Threads, opts.Weights = f.backend, f.threads, f.weights
	return model.Load(f.dir, opts)
}
