package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/vq"
	"github.com/janus-desktop/janus/model/weights"
)

// modelFlags are the flags every command that runs a model shares: the model folder and
// where to run it.
type modelFlags struct {
	dir       string
	threads   int
	backend   string
	weights   string
	precision string
	kvCache   string
	// name is what the user called the model: the --model name, or the folder's base name.
	name string
}

// modelFlagUsage is the help of every --model flag.
const modelFlagUsage = "model folder (config.json, weights, tokenizer files), or the name of one 'janus models' lists"

// register adds --model, --threads, --backend, --precision, --weights and --kv-cache to fs.
func (f *modelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dir, "model", "", modelFlagUsage)
	fs.IntVar(&f.threads, "threads", 0, "CPU threads per operation (0: every core)")
	fs.StringVar(&f.backend, "backend", "auto", "compute backend: auto, cpu or metal")
	fs.StringVar(&f.precision, "precision", compute.PrecisionExact, precisionUsage)
	fs.StringVar(&f.weights, "weights", model.WeightsAuto, "weight format: auto (per machine, see 'janus info'), stored, f32, bf16, q8, q4 or q4m (q8/q4/q4m quantize the language model and gen_head while loading)")
	fs.StringVar(&f.kvCache, "kv-cache", model.KVCacheAuto, kvCacheUsage)
}

// checkKVCache reports a --kv-cache value that is not a model.KVCacheFormats one.
func checkKVCache(f string) error {
	if !slices.Contains(model.KVCacheFormats(), strings.ToLower(f)) {
		return fmt.Errorf("--kv-cache %q: want one of %s", f, strings.Join(model.KVCacheFormats(), ", "))
	}
	return nil
}

// kvCacheUsage is the help of every --kv-cache flag.
const kvCacheUsage = "KV cache format: auto (q8 with --weights q4|q4m on the cpu backend, else f32, or f16 with --precision bf16), f32, f16 or q8 (half f16's memory and of the bytes every token step reads; cpu backend; faster where its AVX-512 kernels run)"

// check reports missing or invalid model flags before anything is loaded.
func (f *modelFlags) check() error {
	if f.dir == "" {
		return errors.New("missing --model DIR|NAME ('janus models' lists the models found)")
	}
	return f.checkOptions()
}

// checkOptions reports invalid --threads, --precision, --weights or --kv-cache: check without --model,
// for a command that finds a model itself when none is given (serve).
func (f *modelFlags) checkOptions() error {
	if f.threads < 0 {
		return fmt.Errorf("--threads %d is negative", f.threads)
	}
	if err := compute.CheckPrecision(f.precision); err != nil {
		return fmt.Errorf("--%w", err)
	}
	if !slices.Contains(model.WeightFormats(), strings.ToLower(f.weights)) {
		return fmt.Errorf("--weights %q: want one of %s", f.weights, strings.Join(model.WeightFormats(), ", "))
	}
	if err := checkKVCache(f.kvCache); err != nil {
		return err
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
	f.name = modelName(f.dir)
	f.dir = dir
	return nil
}

// modelName is what outputs call the model given as arg: a name as it is, a folder by its
// base name, that of the absolute path for "." or "..".
func modelName(arg string) string {
	if abs, err := filepath.Abs(arg); err == nil {
		arg = abs
	}
	return filepath.Base(filepath.Clean(arg))
}

// load checks the flags and loads the model with opts on the backend the flags name
// (loadModel). On a terminal, stderr shows how much of the weights is loaded (and quantized,
// with --weights q8|q4|q4m). Cancelling ctx (Ctrl-C) stops the load within a tensor.
func (f *modelFlags) load(ctx context.Context, opts model.Options, stderr io.Writer) (*model.Model, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	if err := f.resolve(); err != nil {
		return nil, err
	}
	p := newLoadProgress(stderr, f.name)
	opts.Progress, opts.Context = p.update, ctx
	m, err := f.loadModel(opts)
	p.end()
	return m, withLoadHint(err, f.name)
}

// loadModel loads the model folder f.dir with opts and the flags' options, on the backend the
// flags name (app.OpenBackend); the model owns that backend and closes it with itself, and a
// failed load closes it. A model whose weights do not fit the machine's memory is refused
// before anything is read, as the window refuses it (app.CheckLoadMemory).
func (f *modelFlags) loadModel(opts model.Options) (*model.Model, error) {
	opts.Weights = f.weights
	est, err := app.CheckLoadMemory(f.dir, opts, 0)
	if err != nil {
		return nil, withWeightsHint(err, est.Matrices)
	}
	opts, err = f.options(opts)
	if err != nil {
		return nil, err
	}
	opts.Weights = est.Format
	return model.Load(f.dir, opts)
}

// withWeightsHint adds to a model refused for its memory, whose matrices were sized in
// precision matrices (model.LoadEstimate.Matrices), the smaller weight formats to try, or,
// for the smallest, a smaller model.
func withWeightsHint(err error, matrices weights.Precision) error {
	if !errors.Is(err, model.ErrNotEnoughMemory) {
		return err
	}
	// Largest first, each format with its matrices' precision.
	bySize := []string{model.WeightsF32, model.WeightsBF16, model.WeightsQ8, model.WeightsQ4M, model.WeightsQ4}
	i := slices.IndexFunc(bySize, func(f string) bool { return model.FormatPrecision(f) == matrices })
	if i < 0 || i == len(bySize)-1 {
		return fmt.Errorf("%w; try a smaller model", err)
	}
	return fmt.Errorf("%w; smaller weights may fit: --weights %s", err, strings.Join(bySize[i+1:], ", "))
}

// loadVQ loads the VQ decoder of the model folder f.dir (model.LoadVQ) with opts, on the
// backend the flags name; the decoder owns that backend, and its Free closes it.
func (f *modelFlags) loadVQ(opts model.Options) (*vq.Decoder, error) {
	opts, err := f.options(opts)
	if err != nil {
		return nil, err
	}
	return model.LoadVQ(f.dir, opts)
}

// withLoadHint adds to a model's loading error what to do when the likely cause is a
// download cut short (checkpoint.ErrTruncated): download it again. name is what the user
// called the model; the pull command is given with it when it names a released model.
func withLoadHint(err error, name string) error {
	if !errors.Is(err, checkpoint.ErrTruncated) {
		return err
	}
	if _, ok := app.FindKnown(name); ok {
		return fmt.Errorf("%w; download it again: `janus pull %s` (it resumes an interrupted download)", err, quoteArg(name))
	}
	return fmt.Errorf("%w; download it again (`janus pull ORG/NAME` for a model from Hugging Face; it resumes an interrupted download)", err)
}

// options is opts with the weight format, precision and KV cache format the flags give, on
// a backend opened as --backend, --threads and --precision say and handed to the model
// (OwnBackend): the caller loads with them at once, and the load closes the backend if it fails.
func (f *modelFlags) options(opts model.Options) (model.Options, error) {
	be, err := app.OpenBackend(f.backend, f.threads, f.precision)
	if err != nil {
		return opts, err
	}
	opts.Backend, opts.OwnBackend = be, true
	opts.Weights, opts.Precision, opts.KVCache = f.weights, f.precision, f.kvCache
	return opts, nil
}

// loadProgress shows a model's loading as a percentage on one terminal line. Where stderr is
// not a terminal (a log, a pipe, a test) it writes nothing: a line per step would fill a log.
type loadProgress struct {
	w    io.Writer // nil: not a terminal
	name string
	pct  int
}

func newLoadProgress(stderr io.Writer, name string) *loadProgress {
	p := &loadProgress{name: name, pct: -1}
	if f, ok := stderr.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.w = stderr
		}
	}
	return p
}

// update is model.Options.Progress: it redraws the line when the percentage changes.
func (p *loadProgress) update(done, total int) {
	if p.w == nil || total <= 0 {
		return
	}
	if pct := 100 * done / total; pct != p.pct {
		p.pct = pct
		fmt.Fprintf(p.w, "\rloading %s: %d%%", p.name, pct)
	}
}

// end finishes the line, if one was drawn.
func (p *loadProgress) end() {
	if p.w != nil && p.pct >= 0 {
		fmt.Fprintln(p.w)
	}
}

// precisionUsage is the help of every --precision flag.
const precisionUsage = "many-row products (prompt, vision, convolutions): exact (float32, the default) or bf16 (BF16 activations and weights, float32 sums: faster on CPUs with AVX512_BF16, several times faster with AMX, within the README's tolerance)"

// computeInfo names a compute backend and, for the CPU, the kernel set it runs and the
// precision of its many-row products, so that a measurement says what it measured.
type computeInfo struct {
	Backend   string `json:"backend"`
	Kernels   string `json:"kernels,omitempty"`
	Precision string `json:"precision,omitempty"`
	// BF16Kernels is what --precision bf16 runs on here ("avx512+amx", "avx512+vdpbf16ps",
	// "avx512"), "" where it runs exact.
	BF16Kernels string `json:"bf16_kernels,omitempty"`
	// Int8Kernels is the int8 kernel set Linear with --weights q8|q4|q4m has ("avx512-vnni+amx",
	// "avx512-vnni", …); with +amx the tiles take only Q8 matrices not in row groups.
	Int8Kernels string `json:"int8_kernels,omitempty"`
}

// describeBackend reads be's name and kernel set (backends without kernel sets leave it empty).
func describeBackend(be compute.Backend) computeInfo {
	ci := computeInfo{Backend: be.Name()}
	if k, ok := be.(interface{ Kernels() string }); ok {
		ci.Kernels = k.Kernels()
	}
	if p, ok := be.(interface{ Precision() string }); ok {
		ci.Precision = p.Precision()
	}
	if k, ok := be.(interface{ BF16Kernels() string }); ok {
		ci.BF16Kernels = k.BF16Kernels()
	}
	if k, ok := be.(interface{ Int8Kernels() string }); ok {
		ci.Int8Kernels = k.Int8Kernels()
	}
	return ci
}

// String is "cpu, avx512 kernels" (", bf16 products" in the BF16 mode), or the backend
// name alone.
func (c computeInfo) String() string {
	s := c.Backend
	if c.Kernels != "" {
		s += ", " + c.Kernels + " kernels"
	}
	if c.Precision != "" && c.Precision != compute.PrecisionExact {
		s += ", " + c.Precision + " products"
	}
	return s
}
