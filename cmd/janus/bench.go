package main

// janus bench [--preset janus-pro-1b|janus-1.3b|janus-pro-7b | --config FILE | --model DIR]
//             [--stages preprocess,vision,prefill,decode,gen,vq_decode] [--repeat N]
//             [--threads N] [--parallel P[,P...]] [--decode-steps N] [--gen-steps N]
//             [--matrix-dtype bf16|f32] [--weights f32|bf16|q8|q4|q4m] [--json] [--seed S] [--backend auto|cpu|metal]
//             [--bw-mb MIB] [--und-text-tokens N] [--gen-prompt-tokens N] [--op-times] [--force]
//
// Times the engine stage by stage with the shapes, prompt lengths and stage boundaries of the
// project's PyTorch performance peer (shared/bench/torch_peer.py, described in its README), so
// that the two can be put side by side. A preset builds the released shapes (the config.json
// files under testdata/presets, embedded in the binary) with seeded random weights made in
// memory by model/randweights: no checkpoint is needed. --config does the same for any
// config.json, --model loads a real model folder instead.
//
// Stages (each gets one untimed warm-up, shape-reduced like the peer's for the language model
// stages, then --repeat timed runs; min and median are reported):
//
//	preprocess      640×480 in-memory RGB picture → pixel values on the backend
//	vision          ViT + aligner on one image → image embeddings
//	prefill         52 text + BOI + image tokens + EOI (630 for the releases) through the LLM,
//	                lm_head on the last position, argmax
//	decode          --decode-steps greedy steps after that prefill
//	gen_prefill_pP  generation iteration 0 for P images: 2P CFG rows × 24-token prompt, gen_head,
//	                CFG mix, sampling, gen_embed → gen_aligner feedback
//	gen_step_pP     --gen-steps single-token iterations after it, with the extrapolated time of
//	                a whole image set (flat: gen_prefill + (tokens-1) × the median step)
//	vq_decode_pP    VQ decoder on P random token grids → float32 RGB
//
// decode needs prefill, which needs vision; they are added when missing, as the peer does. Only
// the networks the chosen stages run are built or loaded (preprocess needs none). The peer's
// KV-linear extrapolation (late steps on a synthetic cache) is not reproduced: the engine's
// cache can only be filled by running the model.
//
// The peak RSS is the model's and its stages': the start-of-run bandwidth test's buffer is
// handed back and the kernel's high-water mark reset before the build (rss.source says how
// it was measured), and the end-of-run bandwidth test comes after the peak is read.
//
// Output: a text table on stdout, or with --json one JSON line whose fields are named like the
// peer's (tool "janus_bench", schema 1; stages → name → times_s, min_s, median_s, work,
// peak_rss_after_bytes and the peer's rate fields), so a script can compare the two. Progress
// goes to stderr. Ctrl-C stops the run between two model calls.

import (
	"bufio"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/cpu"
	"github.com/janus-desktop/janus/model"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/imageproc"
	"github.com/janus-desktop/janus/model/llm"
	proj "github.com/janus-desktop/janus/model/projector"
	"github.com/janus-desktop/janus/model/prompt"
	"github.com/janus-desktop/janus/model/randweights"
	"github.com/janus-desktop/janus/model/sample"
	"github.com/janus-desktop/janus/model/vision"
	"github.com/janus-desktop/janus/model/vq"
	"github.com/janus-desktop/janus/model/weights"
)

// benchPresetFS holds the released configurations (reconstructed config.json files).
//
//go:embed testdata/presets/*/config.json
var benchPresetFS embed.FS

// Peer defaults: prompt lengths and the token ids that fill prompts (Janus-Pro-1B's special
// ids, spec §7.2; only the embedding rows they select matter).
const (
	benchUndTextTokens   = 52
	benchGenPromptTokens = 24
	benchBOS, benchPad   = 100000, 100002
	benchBOI, benchEOI   = 100003, 100004
	benchImageID         = 100581
	benchCFG             = float32(model.DefaultCFG)
	benchSchema          = 1
)

// benchStageOrder lists the stage groups --stages accepts, in run order.
func benchStageOrder() []string {
	return []string{"preprocess", "vision", "prefill", "decode", "gen", "vq_decode"}
}

// benchOptions are the checked flags.
type benchOptions struct {
	preset, configPath, modelDir string
	modelName                    string         // what --model called the model (modelDir is its folder)
	cfg                          *config.Config // the preset's or --config's (random weights), read by runBench
	cfgName                      string         // the preset's or config folder's name
	cpuProfile                   string         // --cpuprofile's file, "" for none
	memProfile                   string         // --memprofile's file, "" for none
	stages                       map[string]bool
	repeat, threads              int
	parallel                     []int
	decodeSteps, genSteps        int
	matrixDType                  string        // "BF16", "F32" or "" (a real model's stored dtype)
	quant                        compute.DType // Q8, Q4 or Q4M for --weights q8|q4|q4m, else F32 (none)
	json, force                  bool
	opTimes                      bool // --op-times
	seed                         uint64
	backend                      string
	precision                    string // compute.Options.Precision
	kvCache                      string // --kv-cache, a model.KVCacheFormats value
	bwMiB                        int
	undText, genPrompt           int
}

// benchNetworks are the networks a run times, from random weights or a loaded model. Only
// the parts the chosen stages use are built (benchParts); the others are nil.
type benchNetworks struct {
	matrix     compute.DType // the dtype of the Linear weights and embedding tables
	cfg        *config.Config
	be         compute.Backend
	images     imageproc.Params
	vision     *vision.Model
	aligner    *proj.MLP
	llm        *llm.Model
	genEmbed   *compute.Tensor
	genAligner *proj.MLP
	genHead    *proj.MLP
	vq         *vq.Decoder
	ops        *benchOps // --op-times' timer, which be is; nil without it
	close      func() error
}

// benchResult is the --json line.
type benchResult struct {
	Tool        string          `json:"tool"`
	Schema      int             `json:"schema"`
	Preset      string          `json:"preset"`
	Source      string          `json:"weights"`
	DType       string          `json:"dtype"`
	MatrixDType string          `json:"matrix_dtype"`
	Activations string          `json:"activations"`
	Threads     int             `json:"threads"`
	Repeat      int             `json:"repeat"`
	Parallel    []int           `json:"parallel"`
	Seed        uint64          `json:"seed"`
	Init        string          `json:"init,omitempty"`
	Sampling    string          `json:"sampling"`
	CFGWeight   float64         `json:"cfg_weight"`
	ImageTokens int             `json:"image_tokens"`
	Backend     string          `json:"backend"`
	Kernels     string          `json:"kernels,omitempty"`
	Int8Kernels string          `json:"int8_kernels,omitempty"`
	Precision   string          `json:"precision,omitempty"`
	KVCache     string          `json:"kv_cache,omitempty"` // the KV cache's dtype (F32, F16 or Q8) where a stage runs the language model
	GoVersion   string          `json:"go_version"`
	Env         benchEnv        `json:"env"`
	Bandwidth   *benchBandwidth `json:"bandwidth,omitempty"`
	BandwidthE  *benchBandwidth `json:"bandwidth_end,omitempty"`
	Model       benchModelInfo  `json:"model"`
	RSS         benchRSS        `json:"rss"`
	LoadavgEnd  []float64       `json:"loadavg_end,omitempty"`
	WallS       float64         `json:"wall_s"`
	Stages      benchStages     `json:"stages"`
}

type benchEnv struct {
	Date         string    `json:"date"`
	GOOS         string    `json:"goos"`
	GOARCH       string    `json:"goarch"`
	GOMAXPROCS   int       `json:"gomaxprocs"`
	NumCPU       int       `json:"num_cpu"`
	CPUModel     string    `json:"cpu_model,omitempty"`
	MemTotal     int64     `json:"mem_total_bytes,omitempty"`
	MemAvailable int64     `json:"mem_available_bytes,omitempty"`
	LoadavgStart []float64 `json:"loadavg_start,omitempty"`
}

type benchBandwidth struct {
	ArrayBytes int64   `json:"array_bytes"`
	ReadGBs    float64 `json:"read_gbs"`
	ReadBest   float64 `json:"read_gbs_best"`
	Threads    int     `json:"threads"`
	Method     string  `json:"method"`
}

type benchModelInfo struct {
	ParamsTotal      int64          `json:"params_total"`
	BytesTotal       int64          `json:"bytes_total"`
	DecodeWeightByte int64          `json:"decode_weight_bytes"`
	GenWeightBytes   int64          `json:"gen_weight_bytes"`
	BuildS           float64        `json:"build_s"`
	BuiltBytes       int64          `json:"built_bytes"`
	BuiltParts       []string       `json:"built_parts"`
	LLM              map[string]int `json:"llm"`
	Note             string         `json:"note"`
}

type benchRSS struct {
	AfterInit int64  `json:"after_init_bytes,omitempty"`
	Peak      int64  `json:"peak_bytes"`
	Source    string `json:"source"`
}

// benchStage is one stage's record; the rate fields follow the peer's names and are left out
// where they do not apply.
type benchStage struct {
	TimesS        []float64          `json:"times_s"`
	MinS          float64            `json:"min_s"`
	MedianS       float64            `json:"median_s"`
	Work          string             `json:"work"`
	Tokens        int                `json:"tokens,omitempty"`
	ImageTokens   int                `json:"image_tokens,omitempty"`
	TokPerS       float64            `json:"tok_per_s,omitempty"`
	TokPerSBest   float64            `json:"tok_per_s_best,omitempty"`
	Steps         int                `json:"steps,omitempty"`
	Batch         int                `json:"batch,omitempty"`
	CtxStart      int                `json:"ctx_start,omitempty"`
	CtxEnd        int                `json:"ctx_end,omitempty"`
	Parallel      int                `json:"parallel,omitempty"`
	Rows          int                `json:"rows,omitempty"`
	PromptTokens  int                `json:"prompt_tokens,omitempty"`
	KVStart       int                `json:"kv_start,omitempty"`
	KVEnd         int                `json:"kv_end,omitempty"`
	StepsPerS     float64            `json:"steps_per_s,omitempty"`
	StepsPerSBest float64            `json:"steps_per_s_best,omitempty"`
	ImageTokPerS  float64            `json:"image_tokens_per_s,omitempty"`
	MsPerStep     float64            `json:"ms_per_step,omitempty"`
	WeightBytes   int64              `json:"weight_bytes_per_step,omitempty"`
	KVBytes       int64              `json:"kv_bytes_per_step,omitempty"` // the filled cache a step reads on average, outside the floor
	BWUsed        float64            `json:"bw_gbs_used,omitempty"`
	BWFloorMs     float64            `json:"bw_floor_ms_per_step,omitempty"`
	BWFloorTokS   float64            `json:"bw_floor_tok_per_s,omitempty"`
	PctOfBWFloor  float64            `json:"pct_of_bw_floor,omitempty"`
	PctWithKV     float64            `json:"pct_of_bw_floor_with_kv,omitempty"` // the floor of the weights plus KVBytes
	Extrapolated  bool               `json:"extrapolated,omitempty"`
	ExtrapFlat    float64            `json:"extrap_image_set_s_flat,omitempty"`
	ExtrapNote    string             `json:"extrap_note,omitempty"`
	OpMsPerStep   map[string]float64 `json:"op_ms_per_step,omitempty"` // --op-times
	ImagesPerS    float64            `json:"images_per_s,omitempty"`
	PeakRSSAfter  int64              `json:"peak_rss_after_bytes,omitempty"`
}

// benchStages keeps the stages in run order; it encodes as one JSON object.
type benchStages []benchNamedStage

type benchNamedStage struct {
	Name  string
	Stage *benchStage
}

// MarshalJSON writes {"name": {...}, ...} in run order.
func (s benchStages) MarshalJSON() ([]byte, error) {
	out := []byte{'{'}
	for i, st := range s {
		if i > 0 {
			out = append(out, ',')
		}
		k, err := json.Marshal(st.Name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(st.Stage)
		if err != nil {
			return nil, err
		}
		out = append(append(append(out, k...), ':'), v...)
	}
	return append(out, '}'), nil
}

// runBench implements the bench subcommand.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseBenchFlags(args, stdout, stderr)
	if err != nil {
		return err
	}
	if o.modelDir != "" {
		o.modelName = modelName(o.modelDir)
		if o.modelDir, err = resolveModel(o.modelDir); err != nil {
			return err
		}
	}
	// The random weights' config is read once, before the bandwidth test's seconds: a
	// --config that cannot be read is told at once.
	if o.modelDir == "" {
		if o.cfg, o.cfgName, err = benchConfig(o); err != nil {
			return err
		}
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "[janus bench %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if o.memProfile != "" {
		defer func() {
			if err := writeHeapProfile(o.memProfile); err != nil {
				logf("--memprofile: %v", err)
			}
		}()
	}
	start := time.Now()
	res := &benchResult{
		Tool: "janus_bench", Schema: benchSchema, Threads: o.threads, Repeat: o.repeat, Parallel: o.parallel,
		Seed: o.seed, Sampling: "multinomial", CFGWeight: float64(benchCFG), Activations: "float32",
		GoVersion: runtime.Version(), Env: benchEnvironment(),
	}
	if res.Threads == 0 {
		res.Threads = runtime.GOMAXPROCS(0)
	}
	if o.bwMiB > 0 {
		logf("memory bandwidth test (%d MiB, %d threads)", o.bwMiB, res.Threads)
		res.Bandwidth = benchMeasureBandwidth(o.bwMiB, res.Threads)
		logf("  read %.1f GB/s median, %.1f best", res.Bandwidth.ReadGBs, res.Bandwidth.ReadBest)
	}
	// The peak is the model's: tracking starts once the bandwidth test's buffer is gone.
	rss := newBenchPeak(o.bwMiB > 0)
	res.RSS.Source = rss.source()
	if err := ctx.Err(); err != nil {
		return err
	}

	net, err := benchBuild(o, res, logf)
	if err != nil {
		return err
	}
	defer net.close()
	res.RSS.AfterInit = benchRSSNow()
	rss.note()

	b := &benchRun{o: o, net: net, res: res, rss: rss, logf: logf, ctx: ctx,
		rng: rand.New(rand.NewPCG(o.seed, 7))}
	if err := b.run(); err != nil {
		return err
	}
	rss.note()
	res.RSS.Peak = rss.peak()
	if o.bwMiB > 0 {
		logf("memory bandwidth test again (end of run)")
		res.BandwidthE = benchMeasureBandwidth(o.bwMiB, res.Threads)
	}
	floors(res)
	res.LoadavgEnd = benchLoadavg()
	res.WallS = benchRound(time.Since(start).Seconds(), 1)
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(res)
	}
	_, err = io.WriteString(stdout, benchTable(res))
	return err
}

// parseBenchFlags reads and checks every flag before anything is built.
func parseBenchFlags(args []string, stdout, stderr io.Writer) (*benchOptions, error) {
	fs := newFlagSet("bench", stdout, stderr, "janus bench [--preset NAME | --config FILE | --model DIR] [flags]",
		"Time the engine stage by stage, comparable with the PyTorch peer benchmark.")
	o := &benchOptions{}
	fs.StringVar(&o.preset, "preset", "janus-pro-1b", "released shapes with random weights: "+strings.Join(benchPresets(), ", "))
	fs.StringVar(&o.configPath, "config", "", "config.json (or its folder) to build with random weights instead of a preset")
	fs.StringVar(&o.modelDir, "model", "", "model folder (or the name of one 'janus models' lists) to load and time instead of random weights")
	stages := fs.String("stages", strings.Join(benchStageOrder(), ","), "comma list of "+strings.Join(benchStageOrder(), ", ")+" (or all)")
	fs.IntVar(&o.repeat, "repeat", 3, "timed runs per stage (min and median are reported)")
	fs.IntVar(&o.threads, "threads", 0, "CPU threads per operation (0: every core)")
	parallel := fs.String("parallel", "1", "images generated together (P) for gen and vq_decode, comma list, e.g. 1,4")
	fs.IntVar(&o.decodeSteps, "decode-steps", 64, "timed greedy decoding steps")
	fs.IntVar(&o.genSteps, "gen-steps", 64, "timed single-token generation iterations")
	matrix := fs.String("matrix-dtype", "", "Linear weights and embedding tables as bf16 or f32 (default: bf16 for random weights, the stored dtype for --model)")
	weightsFlag := fs.String("weights", "", "weight format: f32, bf16 (--matrix-dtype by another name), q8, q4 or q4m (the language model and gen_head quantized)")
	fs.BoolVar(&o.json, "json", false, "print one JSON line instead of the table")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the random weights, token ids and sampling")
	fs.StringVar(&o.backend, "backend", "auto", "compute backend: auto, cpu or metal")
	fs.StringVar(&o.precision, "precision", compute.PrecisionExact, precisionUsage)
	fs.StringVar(&o.kvCache, "kv-cache", model.KVCacheAuto, kvCacheUsage)
	fs.IntVar(&o.bwMiB, "bw-mb", 1024, "array size of the memory bandwidth test in MiB (0 skips it)")
	fs.IntVar(&o.undText, "und-text-tokens", benchUndTextTokens, "text tokens of the understanding prompt besides BOI, the image tokens and EOI")
	fs.IntVar(&o.genPrompt, "gen-prompt-tokens", benchGenPromptTokens, "generation prompt length including BOS and <begin_of_image>")
	fs.StringVar(&o.memProfile, "memprofile", "", "write a heap profile (what is live at the end, and every allocation) to this file, for go tool pprof")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (build included) to this file, for go tool pprof")
	fs.BoolVar(&o.opTimes, "op-times", false, "time the decode and generation steps' ops (CPU backend): milliseconds per step of each, under the stage")
	fs.BoolVar(&o.force, "force", false, "build random weights even when they need more than 90% of the available memory")
	if err := parseArgs(fs, args, ""); err != nil {
		return nil, err
	}
	if err := compute.CheckPrecision(o.precision); err != nil {
		return nil, fmt.Errorf("--%w", err)
	}
	if err := checkKVCache(o.kvCache); err != nil {
		return nil, err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	sources := 0
	for _, n := range []string{"preset", "config", "model"} {
		if given[n] {
			sources++
		}
	}
	if sources > 1 {
		return nil, errors.New("give only one of --preset, --config and --model")
	}
	switch {
	case o.configPath != "" || o.modelDir != "":
		o.preset = ""
	case !slices.Contains(benchPresets(), o.preset):
		return nil, fmt.Errorf("unknown --preset %q (have %s)", o.preset, strings.Join(benchPresets(), ", "))
	}
	if given["config"] && o.configPath == "" || given["model"] && o.modelDir == "" {
		return nil, errors.New("--config and --model need a path")
	}
	if o.opTimes && o.backend != "auto" && o.backend != "cpu" {
		return nil, fmt.Errorf("--op-times times the CPU backend's ops, not --backend %s's", o.backend)
	}
	var err error
	if o.stages, err = parseBenchStages(*stages); err != nil {
		return nil, err
	}
	if o.parallel, err = parseBenchParallel(*parallel); err != nil {
		return nil, err
	}
	switch strings.ToLower(*matrix) {
	case "":
		if o.modelDir == "" {
			o.matrixDType = "BF16"
		}
	case "bf16", "bfloat16":
		o.matrixDType = "BF16"
	case "f32", "float32":
		o.matrixDType = "F32"
	default:
		return nil, fmt.Errorf("unknown --matrix-dtype %q (want bf16 or f32)", *matrix)
	}
	switch w := strings.ToLower(*weightsFlag); w {
	case "":
	case "f32", "bf16":
		if *matrix != "" && !strings.EqualFold(*matrix, w) {
			return nil, fmt.Errorf("--weights %s and --matrix-dtype %s disagree", w, *matrix)
		}
		o.matrixDType = strings.ToUpper(w)
	case model.WeightsQ8, model.WeightsQ4, model.WeightsQ4M:
		o.quant, _ = model.QuantizedDType(w)
		if o.modelDir == "" && *matrix == "" {
			o.matrixDType = "BF16"
		}
	default:
		return nil, fmt.Errorf("unknown --weights %q (want f32, bf16, q8, q4 or q4m)", *weightsFlag)
	}
	for _, c := range []struct {
		name string
		v    int
		min  int
	}{
		{"--repeat", o.repeat, 1}, {"--threads", o.threads, 0}, {"--decode-steps", o.decodeSteps, 1},
		{"--gen-steps", o.genSteps, 1}, {"--bw-mb", o.bwMiB, 0}, {"--und-text-tokens", o.undText, 2},
		{"--gen-prompt-tokens", o.genPrompt, 2},
	} {
		if c.v < c.min {
			return nil, fmt.Errorf("%s %d must be at least %d", c.name, c.v, c.min)
		}
	}
	return o, nil
}

// parseBenchStages expands a --stages list; decode needs prefill, which needs vision.
func parseBenchStages(s string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
		case f == "all":
			for _, n := range benchStageOrder() {
				out[n] = true
			}
		case slices.Contains(benchStageOrder(), f):
			out[f] = true
		default:
			return nil, fmt.Errorf("unknown stage %q in --stages (have %s, all)", f, strings.Join(benchStageOrder(), ", "))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("--stages is empty")
	}
	if out["decode"] {
		out["prefill"] = true
	}
	if out["prefill"] {
		out["vision"] = true
	}
	return out, nil
}

// parseBenchParallel reads --parallel: positive image counts up to model.MaxImages.
func parseBenchParallel(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := strconv.Atoi(f)
		if err != nil || p < 1 || p > model.MaxImages {
			return nil, fmt.Errorf("--parallel %q: want image counts between 1 and %d", f, model.MaxImages)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, errors.New("--parallel is empty")
	}
	return out, nil
}

// benchPresets lists the embedded preset names.
func benchPresets() []string {
	dirs, err := benchPresetFS.ReadDir("testdata/presets")
	if err != nil {
		return nil
	}
	var out []string
	for _, d := range dirs {
		out = append(out, d.Name())
	}
	return out
}

// benchConfig resolves the configuration of a preset or a config file. model/config reads
// only folders, so a preset's embedded file (or a config file with another name) is copied
// into a temporary folder first.
func benchConfig(o *benchOptions) (*config.Config, string, error) {
	var raw []byte
	name := o.preset
	if o.preset != "" {
		var err error
		if raw, err = benchPresetFS.ReadFile("testdata/presets/" + o.preset + "/config.json"); err != nil {
			return nil, "", fmt.Errorf("preset %s: %w", o.preset, err)
		}
	} else {
		path := o.configPath
		st, err := os.Stat(path)
		if err != nil {
			return nil, "", fmt.Errorf("--config: %w", err)
		}
		if st.IsDir() {
			path = filepath.Join(path, config.ConfigFile)
		}
		name = filepath.Base(filepath.Dir(path))
		if filepath.Base(path) == config.ConfigFile {
			cfg, err := config.Load(filepath.Dir(path))
			return cfg, name, err
		}
		if raw, err = os.ReadFile(path); err != nil {
			return nil, "", fmt.Errorf("--config: %w", err)
		}
	}
	dir, err := os.MkdirTemp("", "janus-bench-config-")
	if err != nil {
		return nil, "", fmt.Errorf("temporary config folder: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, config.ConfigFile), raw, 0o600); err != nil {
		return nil, "", fmt.Errorf("write temporary config: %w", err)
	}
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, "", fmt.Errorf("config of %s: %w", name, err)
	}
	return cfg, name, nil
}

// benchBuild builds the networks: random weights of a preset or config, or a model folder.
func benchBuild(o *benchOptions, res *benchResult, logf func(string, ...any)) (*benchNetworks, error) {
	be, err := app.OpenBackend(o.backend, o.threads, o.precision)
	if err != nil {
		return nil, err
	}
	ci := describeBackend(be)
	res.Backend, res.Kernels, res.Precision = ci.Backend, ci.Kernels, ci.Precision
	if k, ok := be.(interface{ Int8KernelsFor(compute.DType) string }); ok && o.quant.Quantized() {
		res.Int8Kernels = k.Int8KernelsFor(o.quant)
	}
	logf("backend %s", ci)
	var ops *benchOps
	if o.opTimes {
		cb, ok := be.(*cpu.Backend)
		if !ok {
			be.Close()
			return nil, fmt.Errorf("--op-times times the CPU backend's ops; the %s backend runs them asynchronously", be.Name())
		}
		ops = newBenchOps(cb)
		be = ops
	}
	t0 := time.Now()
	var net *benchNetworks
	if o.modelDir != "" {
		net, err = benchLoadModel(o, be, logf)
		res.Source = "checkpoint"
		res.Preset = o.modelName
	} else {
		res.Preset = o.cfgName
		net, err = benchRandomNetworks(o, o.cfg, be, logf)
		res.Source, res.Init = "random", "pool"
	}
	if err != nil {
		be.Close()
		return nil, err
	}
	net.ops = ops
	res.MatrixDType = net.matrix.String()
	res.DType = map[compute.DType]string{compute.F32: "float32", compute.BF16: "bfloat16", compute.F16: "float16", compute.Q8: "q8_0", compute.Q4: "q4_0", compute.Q4M: "q4m"}[net.matrix]
	res.ImageTokens = net.cfg.VQ.ImageTokens
	if net.llm != nil {
		res.KVCache = net.llm.KVDType.String()
	}
	res.Model = benchModelStats(net, time.Since(t0).Seconds(), benchParts(o.stages))
	logf("  built in %.1f s: %.2f GB of weights (%s) of the model's %.2f G parameters, %.2f GB (%s matrices)",
		res.Model.BuildS, float64(res.Model.BuiltBytes)/1e9, benchPartsText(res.Model.BuiltParts),
		float64(res.Model.ParamsTotal)/1e9, float64(res.Model.BytesTotal)/1e9, res.MatrixDType)
	return net, nil
}

// benchParts lists the networks the chosen stages run: preprocess needs none, vision the ViT
// and the aligner, prefill and decode the LLM with its text head (and vision, which
// parseBenchStages adds), gen the LLM and the generation networks, vq_decode the VQ decoder.
func benchParts(stages map[string]bool) map[weights.Part]bool {
	parts := map[weights.Part]bool{}
	if stages["vision"] {
		parts[weights.PartVision], parts[weights.PartAligner] = true, true
	}
	if stages["prefill"] || stages["decode"] || stages["gen"] {
		parts[weights.PartLLM] = true
	}
	if stages["prefill"] || stages["decode"] {
		parts[weights.PartLMHead] = true
	}
	if stages["gen"] {
		parts[weights.PartGen] = true
	}
	if stages["vq_decode"] {
		parts[weights.PartVQ] = true
	}
	return parts
}

// benchPartsText lists built parts for the log ("none" for a run that builds nothing).
func benchPartsText(parts []string) string {
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// benchLoadModel loads what the chosen stages use of a real model folder: nothing but the
// config for preprocess, the VQ decoder alone for vq_decode, the model without its
// generation networks when no generation stage runs and without its understanding ones
// (the ViT, its aligner, lm_head) when no understanding stage runs.
func benchLoadModel(o *benchOptions, be compute.Backend, logf func(string, ...any)) (*benchNetworks, error) {
	parts := benchParts(o.stages)
	cfg, err := config.Load(o.modelDir)
	if err != nil {
		return nil, err
	}
	n := &benchNetworks{cfg: cfg, be: be, images: imageproc.ParamsFromConfig(cfg.Preprocessor), close: be.Close}
	switch {
	case len(parts) == 0:
		logf("reading %s (config only: the chosen stages need no weights)", o.modelDir)
		n.matrix, err = benchStoredMatrixDType(o)
		return n, err
	case !parts[weights.PartLLM] && !parts[weights.PartVision]:
		logf("loading the VQ decoder of %s", o.modelDir)
		d, err := model.LoadVQ(o.modelDir, model.Options{Backend: be})
		if err != nil {
			return nil, err
		}
		n.vq = d
		n.close = func() error { d.Free(); return be.Close() }
		n.matrix, err = benchStoredMatrixDType(o)
		if err != nil {
			n.close()
			return nil, err
		}
		return n, nil
	}
	skipGen := !parts[weights.PartGen] && !parts[weights.PartVQ]
	skipUnd := !parts[weights.PartVision] && !parts[weights.PartLMHead]
	logf("loading %s", o.modelDir)
	opts := model.Options{Backend: be, MatrixDType: o.matrixDType, SkipGeneration: skipGen,
		SkipUnderstanding: skipUnd, Precision: o.precision, KVCache: o.kvCache}
	if o.quant.Quantized() {
		opts.Weights = strings.ToLower(o.quant.String())
	}
	if est, err := app.CheckLoadMemory(o.modelDir, opts, 0); err != nil {
		return nil, withWeightsHint(err, est.Matrices)
	}
	m, err := model.Load(o.modelDir, opts)
	if err != nil {
		return nil, err
	}
	if !skipGen && (m.VQ == nil || m.GenHead == nil) {
		m.Close()
		return nil, fmt.Errorf("model %s was loaded without its generation networks", o.modelDir)
	}
	n.cfg, n.images, n.vision, n.aligner, n.llm = m.Config, m.Images, m.Vision, m.Aligner, m.LLM
	n.genEmbed, n.genAligner, n.genHead, n.vq = m.GenEmbed, m.GenAligner, m.GenHead, m.VQ
	n.matrix = m.LLM.Layers[0].Q.DType
	n.close = func() error { return errors.Join(m.Close(), be.Close()) }
	return n, nil
}

// benchStoredMatrixDType is the dtype the matrices of a model folder would be loaded in when
// no LLM is loaded to tell: --matrix-dtype, else the stored dtype of the first LLM layer.
func benchStoredMatrixDType(o *benchOptions) (compute.DType, error) {
	switch o.matrixDType {
	case "F32":
		return compute.F32, nil
	case "BF16":
		return compute.BF16, nil
	}
	cfg, err := config.Load(o.modelDir)
	if err != nil {
		return 0, err
	}
	ck, err := checkpoint.Open(o.modelDir)
	if err != nil {
		return 0, err
	}
	defer ck.Close()
	// The first of the language model's layer matrices the plan names, as stored.
	for _, s := range model.Plan(cfg) {
		if s.Part != weights.PartLLM || s.Kind != weights.Matrix || s.Name == weights.LLMEmbedName {
			continue
		}
		t, ok := ck.Info(s.Name)
		if !ok {
			break
		}
		switch t.DType {
		case checkpoint.F32:
			return compute.F32, nil
		case checkpoint.F16:
			return compute.F16, nil
		}
		return compute.BF16, nil
	}
	return compute.BF16, nil
}

// benchRandomNetworks builds every network of cfg from seeded random weights.
func benchRandomNetworks(o *benchOptions, cfg *config.Config, be compute.Backend, logf func(string, ...any)) (*benchNetworks, error) {
	plan := model.Plan(cfg)
	prec := weights.BF16
	dt := compute.BF16
	if o.matrixDType == "F32" {
		prec, dt = weights.F32, compute.F32
	}
	parts := benchParts(o.stages)
	if o.quant.Quantized() {
		prec = model.QuantizedPrecision(o.quant)
	}
	var need int64
	tensors := 0
	for _, s := range plan {
		if parts[s.Part] {
			need += s.Bytes(prec)
			tensors++
		}
	}
	n := &benchNetworks{cfg: cfg, be: be, images: imageproc.ParamsFromConfig(cfg.Preprocessor), matrix: dt}
	if o.quant.Quantized() && parts[weights.PartLLM] {
		n.matrix = o.quant // the language model's matrices, which every token step reads
	}
	if tensors == 0 {
		logf("no weights to build: the chosen stages use none")
		n.close = be.Close
		return n, nil
	}
	if _, avail := benchMeminfo(); avail > 0 && float64(need) > 0.9*float64(avail) && !o.force {
		return nil, fmt.Errorf("the weights need %.1f GB as %s but only %.1f GB of memory is available (use --matrix-dtype bf16, or --force)",
			float64(need)/1e9, prec, float64(avail)/1e9)
	}
	logf("building %d tensors (%.2f GB, %s matrices) with random weights", tensors, float64(need)/1e9, prec)
	done, next := 0, 10
	src, err := randweights.New(plan, be, randweights.Options{Seed: o.seed, MatrixDType: dt, Quantize: o.quant,
		Uploaded: func(_ string, r0 int, _ *compute.Tensor) {
			if r0 != 0 {
				return
			}
			done++
			if 100*done >= next*tensors {
				logf("  %d%% of the tensors", next)
				next += 10
			}
		}})
	if err != nil {
		return nil, err
	}
	defer src.Release()
	free := func() {
		if n.vision != nil {
			n.vision.Free()
		}
		for _, p := range []*proj.MLP{n.aligner, n.genAligner, n.genHead} {
			if p != nil {
				p.Free()
			}
		}
		if n.llm != nil {
			n.llm.Free()
		}
		if n.genEmbed != nil {
			be.Free(n.genEmbed)
		}
		if n.vq != nil {
			n.vq.Free()
		}
	}
	n.close = func() error {
		free()
		return be.Close()
	}
	if err := func() (err error) {
		if parts[weights.PartVision] {
			if n.vision, err = vision.Load(be, src, cfg.Vision); err != nil {
				return err
			}
			if n.aligner, err = proj.LoadProjector(be, src, weights.AlignerPrefix, cfg.Aligner); err != nil {
				return err
			}
		}
		if parts[weights.PartLLM] {
			if n.llm, err = llm.Load(be, src, cfg.LLM, parts[weights.PartLMHead]); err != nil {
				return err
			}
			if n.llm.KVDType, err = model.KVCacheDType(o.kvCache, o.precision, o.quant, be, cfg.LLM); err != nil {
				return err
			}
		}
		if parts[weights.PartGen] {
			l := weights.NewBinder(src)
			if n.genEmbed = model.GenEmbed(l, cfg.GenEmbed); l.Err() != nil {
				return l.Err()
			}
			if n.genAligner, err = proj.LoadProjector(be, src, weights.GenAlignerPrefix, cfg.GenAligner); err != nil {
				return err
			}
			if n.genHead, err = proj.LoadHead(be, src, weights.GenHeadPrefix, cfg.GenHead); err != nil {
				return err
			}
		}
		if parts[weights.PartVQ] {
			if n.vq, err = vq.Load(be, src, vq.ParamsFromConfig(cfg.VQ)); err != nil {
				return fmt.Errorf("VQ decoder: %w", err)
			}
		}
		return be.Sync()
	}(); err != nil {
		free()
		return nil, fmt.Errorf("random weights: %w", err)
	}
	src.Release()
	// The staging buffer (up to the largest tensor) is garbage now: hand it back before timing.
	debug.FreeOSMemory()
	return n, nil
}

// benchModelStats counts parameters and the weight bytes each step reads, from the plan at the
// dtype the matrices were actually stored in.
func benchModelStats(n *benchNetworks, buildS float64, parts map[weights.Part]bool) benchModelInfo {
	prec := weights.BF16
	switch {
	case n.matrix == compute.F32:
		prec = weights.F32
	case n.matrix.Quantized():
		prec = model.QuantizedPrecision(n.matrix)
	}
	info := benchModelInfo{BuildS: benchRound(buildS, 2), LLM: map[string]int{
		"hidden_size": n.cfg.LLM.Hidden, "intermediate_size": n.cfg.LLM.Intermediate,
		"num_hidden_layers": n.cfg.LLM.Layers, "num_attention_heads": n.cfg.LLM.Heads,
		"num_key_value_heads": n.cfg.LLM.KVHeads, "vocab_size": n.cfg.LLM.Vocab,
	}, Note: "the tensors inference runs (model.Plan); the peer also counts the VQ encoder and other unused tensors; built_bytes: those of the parts the chosen stages use",
		BuiltParts: []string{}}
	for _, p := range weights.Parts() {
		if parts[p] {
			info.BuiltParts = append(info.BuiltParts, string(p))
		}
	}
	for _, s := range model.Plan(n.cfg) {
		b := s.Bytes(prec)
		info.ParamsTotal += s.Params()
		info.BytesTotal += b
		if parts[s.Part] {
			info.BuiltBytes += b
		}
		embed := s.Name == weights.LLMEmbedName
		switch {
		case s.Part == weights.PartLMHead:
			info.DecodeWeightByte += b
		case s.Part == weights.PartLLM && !embed:
			info.DecodeWeightByte += b
			info.GenWeightBytes += b
		case strings.HasPrefix(s.Name, weights.GenHeadPrefix), strings.HasPrefix(s.Name, weights.GenAlignerPrefix):
			info.GenWeightBytes += b
		}
	}
	return info
}

// benchRun runs the stages of one benchmark.
type benchRun struct {
	o    *benchOptions
	net  *benchNetworks
	res  *benchResult
	rss  *benchPeak
	logf func(string, ...any)
	ctx  context.Context
	rng  *rand.Rand

	imgEmb  *compute.Tensor // the vision stage's output, for the prefill
	undIDs  []int32
	cache   *llm.Cache
	step    *model.DecodeStep // the chat's decoding state: the prefill's logits and the decode's steps
	undNext int32             // the prefill's argmax, the decode's first input
}

func (b *benchRun) run() error {
	defer b.freeUnderstanding()
	for _, s := range []struct {
		name string
		fn   func() error
	}{{"preprocess", b.preprocess}, {"vision", b.visionStage}, {"prefill", b.prefill}, {"decode", b.decode}} {
		if !b.o.stages[s.name] {
			continue
		}
		b.logf("stage %s", s.name)
		if err := s.fn(); err != nil {
			return fmt.Errorf("stage %s: %w", s.name, err)
		}
	}
	b.freeUnderstanding()
	for _, p := range b.o.parallel {
		if b.o.stages["gen"] {
			b.logf("stage gen (P=%d)", p)
			if err := b.gen(p); err != nil {
				return fmt.Errorf("stage gen (P=%d): %w", p, err)
			}
		}
		if b.o.stages["vq_decode"] {
			b.logf("stage vq_decode (P=%d)", p)
			if err := b.vqDecode(p); err != nil {
				return fmt.Errorf("stage vq_decode (P=%d): %w", p, err)
			}
		}
	}
	return nil
}

func (b *benchRun) freeUnderstanding() {
	if b.imgEmb != nil {
		b.net.be.Free(b.imgEmb)
		b.imgEmb = nil
	}
	if b.cache != nil {
		b.cache.Free()
		b.cache = nil
	}
	if b.step != nil {
		b.step.Free()
		b.step = nil
	}
}

// times runs fn once untimed (warmup, when not nil) and then --repeat times, returning the
// seconds of each timed run. Every run ends with a Sync so that an asynchronous backend's
// work is inside the time.
func (b *benchRun) times(name string, warmup, fn func() error) ([]float64, error) {
	be := b.net.be
	if warmup != nil {
		if err := b.ctx.Err(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if err := warmup(); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
		if err := be.Sync(); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
		b.logf("  %s warm-up %.3f s", name, time.Since(t0).Seconds())
	}
	var ts []float64
	for i := range b.o.repeat {
		if err := b.ctx.Err(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		err := fn()
		if err == nil {
			err = be.Sync()
		}
		if err != nil {
			return nil, err
		}
		ts = append(ts, time.Since(t0).Seconds())
		b.logf("  %s run %d/%d: %.3f s", name, i+1, b.o.repeat, ts[i])
	}
	return ts, nil
}

// add records a stage with its times and the peak RSS so far.
func (b *benchRun) add(name string, ts []float64, st *benchStage) *benchStage {
	st.TimesS = make([]float64, len(ts))
	for i, t := range ts {
		st.TimesS[i] = benchRound(t, 6)
	}
	st.MinS, st.MedianS = benchRound(slices.Min(ts), 6), benchRound(benchMedian(ts), 6)
	b.rss.note()
	st.PeakRSSAfter = b.rss.peak()
	b.res.Stages = append(b.res.Stages, benchNamedStage{name, st})
	return st
}

// floors fills the bandwidth-floor fields of every per-step stage (the weights it reads, its
// median time over its steps), once the run's last bandwidth reading is taken, from the higher of the
// read bandwidths measured at the start and at the end of the run: this machine's bandwidth
// moves within minutes (README, "The bandwidth probe"), and a floor set by a reading taken
// in a slow minute would flatter every step.
func floors(res *benchResult) {
	var bw float64
	for _, m := range []*benchBandwidth{res.Bandwidth, res.BandwidthE} {
		if m != nil {
			bw = max(bw, m.ReadGBs)
		}
	}
	if bw <= 0 {
		return
	}
	for _, ns := range res.Stages {
		st := ns.Stage
		if st.WeightBytes <= 0 || st.Steps <= 0 || st.MedianS <= 0 {
			continue
		}
		stepS := st.MedianS / float64(st.Steps)
		floor := float64(st.WeightBytes) / (bw * 1e9)
		st.BWUsed = bw
		st.BWFloorMs = benchRound(1000*floor, 2)
		st.PctOfBWFloor = benchRound(100*floor/stepS, 1)
		if ns.Name == "decode" && st.BWFloorMs > 0 {
			st.BWFloorTokS = benchRound(1000/st.BWFloorMs, 3)
		}
		if st.KVBytes > 0 {
			// The step reads the cache too; the floor leaves it out, as the issue's target does.
			st.PctWithKV = benchRound(100*float64(st.WeightBytes+st.KVBytes)/(bw*1e9)/stepS, 1)
			st.Work += fmt.Sprintf("; %.0f%% of the floor counting it", st.PctWithKV)
		}
	}
}

func (b *benchRun) preprocess() error {
	img := benchPicture(640, 480, b.o.seed)
	p := b.net.images
	var last []float32
	run := func() error {
		pv, err := p.Preprocess(img)
		if err != nil {
			return err
		}
		var t *compute.Tensor
		if b.net.vision != nil {
			t, err = b.net.vision.Pixels(pv)
		} else {
			// No tower built (preprocess alone): upload the values as Pixels does; no release
			// has the tower's own normalisation that Pixels would add.
			t = b.net.be.FromFloat32(pv, 1, 3, p.ImageSize, p.ImageSize)
		}
		if err != nil {
			return err
		}
		b.net.be.Free(t)
		last = pv
		return nil
	}
	ts, err := b.times("preprocess", run, run)
	if err != nil {
		return err
	}
	if !benchFinite(last) {
		return errors.New("pixel values are not finite")
	}
	b.add("preprocess", ts, &benchStage{Work: fmt.Sprintf("640x480 RGB (in memory) -> [1,3,%d,%d] float32 on the backend", p.ImageSize, p.ImageSize)})
	return nil
}

func (b *benchRun) visionStage() error {
	n, be := b.net, b.net.be
	pv, err := n.images.Preprocess(benchPicture(640, 480, b.o.seed))
	if err != nil {
		return err
	}
	pix, err := n.vision.Pixels(pv)
	if err != nil {
		return err
	}
	defer be.Free(pix)
	var emb *compute.Tensor
	run := func() error {
		if emb != nil {
			be.Free(emb)
		}
		f, err := n.vision.Forward(context.Background(), pix)
		if err != nil {
			return err
		}
		emb = n.aligner.Forward(f)
		be.Free(f)
		return nil
	}
	ts, err := b.times("vision", run, run)
	if err != nil {
		if emb != nil {
			be.Free(emb)
		}
		return err
	}
	b.imgEmb = emb
	out := make([]float32, emb.Len())
	if err := be.Read(emb, out); err != nil {
		return err
	}
	if !benchFinite(out) {
		return errors.New("image embeddings are not finite")
	}
	tok := n.cfg.Vision.Tokens
	med := benchMedian(ts)
	b.add("vision", ts, &benchStage{Tokens: tok, TokPerS: benchRound(float64(tok)/med, 2),
		Work: fmt.Sprintf("ViT %d layers + aligner, 1 image %dx%d -> [1,%d,%d]", n.cfg.Vision.Layers,
			n.cfg.Vision.ImageSize, n.cfg.Vision.ImageSize, tok, n.cfg.LLM.Hidden)})
	return nil
}

// benchSpecial keeps a special token id inside a small test vocabulary, as the peer does.
func benchSpecial(id, vocab int) int32 {
	if id < vocab {
		return int32(id)
	}
	return int32(vocab - 1 - id%7)
}

// randomIDs draws n text token ids below min(vocab, 100000).
func (b *benchRun) randomIDs(n int) []int32 {
	hi := min(b.net.cfg.LLM.Vocab, 100000)
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(b.rng.IntN(hi))
	}
	return out
}

// understandingIDs is BOS + text + BOI + image tokens + EOI + text, the image block after
// three quarters of the text (after the system prompt and the user role).
func (b *benchRun) understandingIDs() ([]int32, int) {
	vocab, nImg := b.net.cfg.LLM.Vocab, b.net.cfg.Vision.Tokens
	t := b.o.undText
	before := t * 3 / 4
	ids := []int32{benchSpecial(benchBOS, vocab)}
	ids = append(ids, b.randomIDs(before-1)...)
	ids = append(ids, benchSpecial(benchBOI, vocab))
	at := len(ids)
	for range nImg {
		ids = append(ids, benchSpecial(benchImageID, vocab))
	}
	ids = append(ids, benchSpecial(benchEOI, vocab))
	ids = append(ids, b.randomIDs(t-before)...)
	return ids, at
}

func (b *benchRun) prefill() error {
	lm, be := b.net.llm, b.net.be
	ids, at := b.understandingIDs()
	b.undIDs = ids
	T := len(ids)
	capacity := T
	if b.o.stages["decode"] {
		capacity += b.o.decodeSteps
	}
	if mp := lm.Config.MaxPositions; mp > 0 && capacity > mp {
		return fmt.Errorf("%d positions exceed the model's context of %d", capacity, mp)
	}
	cache, err := lm.NewCache(1, capacity)
	if err != nil {
		return err
	}
	b.cache = cache
	// Allocated once, as a chat allocates it at its first prompt.
	b.step = model.NewDecodeStep(be, lm)
	var logits []float32
	nImg := b.net.cfg.Vision.Tokens
	warm := func() error { // the peer's short warm-up: the first 32 tokens, text only
		defer cache.Truncate(0)
		x, err := lm.Embed(ids[:min(32, T)], 1)
		if err != nil {
			return err
		}
		h, err := lm.Forward(x, cache)
		be.Free(x)
		if err == nil {
			be.Free(h)
		}
		return err
	}
	run := func() error {
		if err := cache.Truncate(0); err != nil {
			return err
		}
		// As a chat prefills: in its chunks, through its decoding state.
		var err error
		logits, _, err = b.step.Prompt(b.ctx, cache, 0, T, func(x *compute.Tensor, c0, c1 int) error {
			if err := lm.EmbedInto(x, ids[c0:c1]); err != nil {
				return err
			}
			if lo, hi := max(at, c0), min(at+nImg, c1); lo < hi {
				be.CopyRows(x, lo-c0, b.imgEmb, lo-at, hi-lo)
			}
			return nil
		})
		if err == nil {
			b.undNext = int32(sample.Argmax(logits))
		}
		return err
	}
	ts, err := b.times("prefill", warm, run)
	if err != nil {
		return err
	}
	if !benchFinite(logits) {
		return errors.New("prefill logits are not finite")
	}
	med := benchMedian(ts)
	b.add("prefill", ts, &benchStage{Tokens: T, ImageTokens: nImg,
		TokPerS: benchRound(float64(T)/med, 2), TokPerSBest: benchRound(float64(T)/slices.Min(ts), 2),
		Work: fmt.Sprintf("LLM over %d tokens (%d text + BOI + %d image + EOI) in chunks of %d as a chat runs them -> last logits [1,%d]",
			T, T-nImg-2, nImg, model.PrefillChunk(T), lm.Config.Vocab)})
	return nil
}

func (b *benchRun) decode() error {
	lm, cache := b.net.llm, b.cache
	ctx0 := len(b.undIDs)
	var logits []float32
	// The chat's own decoding step, on the state the prefill allocated.
	steps := func(n int) error {
		if err := cache.Truncate(ctx0); err != nil {
			return err
		}
		tok := b.undNext
		for range n {
			if err := b.ctx.Err(); err != nil {
				return err
			}
			var err error
			if logits, err = b.step.Next(tok, cache); err != nil {
				return err
			}
			tok = int32(sample.Argmax(logits))
		}
		return nil
	}
	n := b.o.decodeSteps
	ops := b.net.ops
	ops.reset()
	ts, err := b.times("decode", func() error { return steps(min(2, n)) }, func() error {
		ops.timing(true)
		defer ops.timing(false)
		return steps(n)
	})
	if err != nil {
		return err
	}
	if !benchFinite(logits) {
		return errors.New("decode logits are not finite")
	}
	med := benchMedian(ts)
	st := b.add("decode", ts, &benchStage{Steps: n, Batch: 1, CtxStart: ctx0, CtxEnd: ctx0 + n,
		TokPerS: benchRound(float64(n)/med, 3), TokPerSBest: benchRound(float64(n)/slices.Min(ts), 3),
		MsPerStep: benchRound(1000*med/float64(n), 2),
		KVBytes:   lm.CacheBytes(1, ctx0+n/2), WeightBytes: b.res.Model.DecodeWeightByte,
		Work: fmt.Sprintf("%d greedy steps, batch 1, KV cache from the %d-token prefill (%s, %.2f GB read per step, not in the floor)",
			n, ctx0, lm.KVDType, float64(lm.CacheBytes(1, ctx0+n/2))/1e9)})
	st.OpMsPerStep = ops.perStep(ts, n)
	return nil
}

// genRows are the CFG prompt rows of p images: conditional rows BOS + text + BOI,
// unconditional rows BOS + pad… + BOI, interleaved as the engine's prompt builder lays them.
func (b *benchRun) genRows(p, l int) ([][]int32, error) {
	vocab := b.net.cfg.LLM.Vocab
	cond := append(append([]int32{benchSpecial(benchBOS, vocab)}, b.randomIDs(l-2)...), benchSpecial(benchBOI, vocab))
	uncond := slices.Clone(cond)
	for i := 1; i < l-1; i++ {
		uncond[i] = benchSpecial(benchPad, vocab)
	}
	return prompt.CFGRows(cond, uncond, p)
}

// benchColumns returns the first k positions of each row.
func benchColumns(rows [][]int32, k int) [][]int32 {
	out := make([][]int32, len(rows))
	for i, r := range rows {
		out[i] = r[:k]
	}
	return out
}

func (b *benchRun) gen(p int) error {
	n, be := b.net, b.net.be
	l := b.o.genPrompt
	total := n.cfg.VQ.ImageTokens
	vocab := n.cfg.GenHead.ImageTokenSize
	steps := min(b.o.genSteps, total-1)
	if vocab > n.cfg.GenEmbed.Size {
		return fmt.Errorf("gen_head scores %d image tokens but gen_embed has %d rows", vocab, n.cfg.GenEmbed.Size)
	}
	if mp := n.llm.Config.MaxPositions; mp > 0 && l+total-1 > mp {
		return fmt.Errorf("%d prompt + %d image positions exceed the model's context of %d", l, total, mp)
	}
	// Allocated for a whole image set, as a real generation does, before its timer starts.
	cache, err := n.llm.NewCache(2*p, l+total-1)
	if err != nil {
		return err
	}
	defer cache.Free()
	// The engine's own step of the token loop; image i samples from seed+1+i.
	st, err := model.NewGenerationStep(be,
		model.GenerationNetworks{LLM: n.llm, GenEmbed: n.genEmbed, GenAligner: n.genAligner, GenHead: n.genHead},
		model.GenerateImageOptions{N: p, CFG: float64(benchCFG), Temperature: model.DefaultTemperature, Seed: b.o.seed + 1})
	if err != nil {
		return err
	}
	defer st.Free()
	rows, err := b.genRows(p, l)
	if err != nil {
		return err
	}
	// iterate finishes an iteration from the last hidden states: gen_head, CFG mix, sampling,
	// and the next input through gen_embed and gen_aligner.
	iterate := func() error {
		if _, err := st.Sample(); err != nil {
			return err
		}
		st.Feed()
		return nil
	}
	ops := n.ops
	// loop times a prompt pass and the steps after it; timed says whether the steps' ops count.
	loop := func(rows [][]int32, steps int, timed bool) (pre, rest float64, err error) {
		if err := cache.Truncate(0); err != nil {
			return 0, 0, err
		}
		t0 := time.Now()
		if err := st.Prefill(b.ctx, rows, cache); err != nil {
			return 0, 0, err
		}
		if err := iterate(); err != nil {
			return 0, 0, err
		}
		if err := be.Sync(); err != nil {
			return 0, 0, err
		}
		t1 := time.Now()
		ops.timing(timed)
		defer ops.timing(false)
		for range steps {
			if err := b.ctx.Err(); err != nil {
				return 0, 0, err
			}
			if err := st.Forward(cache); err != nil {
				return 0, 0, err
			}
			if err := iterate(); err != nil {
				return 0, 0, err
			}
		}
		err = be.Sync()
		return t1.Sub(t0).Seconds(), time.Since(t1).Seconds(), err
	}
	// Warm-up as the peer's: an 8-token prompt and two iterations.
	t0 := time.Now()
	ops.reset()
	if _, _, err := loop(benchColumns(rows, min(8, l)), min(2, steps), false); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	b.logf("  gen warm-up %.3f s", time.Since(t0).Seconds())
	var tPre, tSteps []float64
	for i := range b.o.repeat {
		if err := b.ctx.Err(); err != nil {
			return err
		}
		pre, rest, err := loop(rows, steps, true)
		if err != nil {
			return err
		}
		tPre, tSteps = append(tPre, pre), append(tSteps, rest)
		b.logf("  gen run %d/%d: prefill %.3f s, %d steps %.3f s (%.1f ms/step)", i+1, b.o.repeat, pre, steps, rest, 1000*rest/float64(steps))
	}
	if _, guided := st.Logits(); !benchFinite(guided) {
		return errors.New("generation logits are not finite")
	}
	preMed := benchMedian(tPre)
	stepMed := benchMedian(tSteps) / float64(steps)
	stepBest := slices.Min(tSteps) / float64(steps)
	flat := preMed + float64(total-1)*stepMed
	b.add(fmt.Sprintf("gen_prefill_p%d", p), tPre, &benchStage{Parallel: p, Rows: 2 * p, PromptTokens: l,
		Work: fmt.Sprintf("generation iteration 0: CFG prompt prefill [%d rows x %d tokens] + gen_head + CFG + multinomial + feedback embed", 2*p, l)})
	stage := b.add(fmt.Sprintf("gen_step_p%d", p), tSteps, &benchStage{Parallel: p, Rows: 2 * p, Steps: steps,
		KVStart: l, KVEnd: l + steps, StepsPerS: benchRound(1/stepMed, 3), StepsPerSBest: benchRound(1/stepBest, 3),
		ImageTokPerS: benchRound(float64(p)/stepMed, 3), MsPerStep: benchRound(1000*stepMed, 2),
		Extrapolated: true, ExtrapFlat: benchRound(flat, 6), // seconds, to the microsecond like the stage times
		ExtrapNote: fmt.Sprintf("EXTRAPOLATED, not measured: seconds for %d image tokens x P=%d = median gen_prefill + %d x the median per-step time of %d steps from KV %d (flat; no KV-linear probe)",
			total, p, total-1, steps, l),
		KVBytes: n.llm.CacheBytes(2*p, l+steps/2), WeightBytes: b.res.Model.GenWeightBytes,
		Work: fmt.Sprintf("%d CFG iterations [%d rows]: LLM step + gen_head + CFG + multinomial + gen_embed->gen_aligner (%s KV cache, %.2f GB read per step, not in the floor)",
			steps, 2*p, n.llm.KVDType, float64(n.llm.CacheBytes(2*p, l+steps/2))/1e9)})
	stage.OpMsPerStep = ops.perStep(tSteps, steps)
	return nil
}

func (b *benchRun) vqDecode(p int) error {
	n := b.net
	prm := n.vq.Params()
	grids := make([][]int32, p)
	for i := range grids {
		grids[i] = make([]int32, prm.Tokens())
		for j := range grids[i] {
			grids[i][j] = int32(b.rng.IntN(prm.CodebookSize))
		}
	}
	var out []float32
	run := func(g [][]int32) func() error {
		return func() (err error) {
			out, err = n.vq.Decode(b.ctx, g, nil)
			return err
		}
	}
	ts, err := b.times("vq_decode", run(grids[:1]), run(grids))
	if err != nil {
		return err
	}
	if !benchFinite(out) {
		return errors.New("decoded pixels are not finite")
	}
	b.add(fmt.Sprintf("vq_decode_p%d", p), ts, &benchStage{Parallel: p, ImagesPerS: benchRound(float64(p)/benchMedian(ts), 3),
		Work: fmt.Sprintf("VQ-16 decode of %d x %dx%d tokens -> [%d,3,%d,%d]", p, prm.Grid(), prm.Grid(), p, prm.ImageSize, prm.ImageSize)})
	return nil
}

// benchPicture is a deterministic test picture like the peer's: colour gradients, a disc,
// a rectangle and mild noise, so the bicubic resize sees texture rather than a constant.
func benchPicture(w, h int, seed uint64) *image.NRGBA {
	rng := rand.New(rand.NewPCG(seed, 3))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	clip := func(v float64) uint8 { return uint8(math.Max(0, math.Min(255, math.Round(v)))) }
	for y := range h {
		for x := range w {
			fx, fy := float64(x), float64(y)
			r, g, bl := 255*fx/float64(w-1), 255*fy/float64(h-1), 127+100*math.Sin(fx/23)*math.Cos(fy/17)
			if dx, dy := fx-0.3*float64(w), fy-0.4*float64(h); dx*dx+dy*dy < 0.04*float64(h*h) {
				r, g, bl = 240, 30, 30
			}
			if y >= int(0.6*float64(h)) && y < int(0.85*float64(h)) && x >= int(0.55*float64(w)) && x < int(0.9*float64(w)) {
				r, g, bl = 20, 200, 60
			}
			img.SetNRGBA(x, y, color.NRGBA{clip(r + 6*rng.NormFloat64()), clip(g + 6*rng.NormFloat64()), clip(bl + 6*rng.NormFloat64()), 255})
		}
	}
	return img
}

// benchMeasureBandwidth times 10 passes of cpu.ReadRate over a large array with threads
// goroutines, and returns the median and best read rate. Each goroutine sums its share with
// cpu.SumWords, whose vector loads leave memory, not arithmetic, to bound the pass.
func benchMeasureBandwidth(mib, threads int) *benchBandwidth {
	words := make([]uint64, mib<<20/8)
	for i := range words {
		words[i] = uint64(i)
	}
	threads = max(1, threads)
	var rates []float64
	for range 10 {
		rates = append(rates, cpu.ReadRate(words, threads))
	}
	return &benchBandwidth{ArrayBytes: int64(len(words) * 8), ReadGBs: benchRound(benchMedian(rates), 2),
		ReadBest: benchRound(slices.Max(rates), 2), Threads: threads,
		Method: fmt.Sprintf("vector sum of 64-bit words (cpu.ReadRate, cpu.SumWords), %d goroutines, median and best of 10 passes", threads)}
}

// benchPeak tracks the peak resident memory of the model and its stages, without the
// bandwidth test's buffer: the kernel's high-water mark (VmHWM) on Linux, reset once that
// buffer is returned to the system; where that cannot be done, the largest resident size
// sampled at the points note is called (VmRSS, or the Go runtime's memory less what it gave
// back), which can miss a short peak inside a stage. getrusage's maxrss would be the
// portable high-water mark, but it cannot be reset and needs a build-tagged file per platform.
type benchPeak struct {
	hwm   bool  // VmHWM is the peak: it exists, and was reset after the bandwidth test if one ran
	reset bool  // VmHWM was reset
	max   int64 // the largest sample seen by note
}

// newBenchPeak starts tracking; afterBuffer says that the bandwidth test ran, so its buffer
// must be handed back and the high-water mark reset.
func newBenchPeak(afterBuffer bool) *benchPeak {
	p := &benchPeak{}
	if afterBuffer {
		debug.FreeOSMemory()
	}
	if _, ok := benchProcStatus("VmHWM:"); ok {
		switch {
		case !afterBuffer:
			p.hwm = true
		case benchResetHWM() == nil:
			p.hwm, p.reset = true, true
		}
	}
	p.note()
	return p
}

// benchResetHWM sets VmHWM to the current resident size (Linux 4.0 and later).
func benchResetHWM() error {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

func (p *benchPeak) source() string {
	switch {
	case p.hwm && p.reset:
		return "VmHWM (/proc/self/status), reset after the bandwidth test (/proc/self/clear_refs)"
	case p.hwm:
		return "VmHWM (/proc/self/status)"
	}
	if _, ok := benchProcStatus("VmRSS:"); ok {
		return "max of VmRSS (/proc/self/status) sampled after each stage"
	}
	return "max of the Go runtime's memory (runtime/metrics, less what it returned to the OS) sampled after each stage"
}

// note samples the resident size.
func (p *benchPeak) note() {
	p.max = max(p.max, benchRSSNow())
}

func (p *benchPeak) peak() int64 {
	if p.hwm {
		if v, ok := benchProcStatus("VmHWM:"); ok {
			return v
		}
	}
	return p.max
}

// benchRSSNow is the current resident set (VmRSS) on Linux, else the memory the Go runtime
// holds from the OS.
func benchRSSNow() int64 {
	if v, ok := benchProcStatus("VmRSS:"); ok {
		return v
	}
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64() - s[1].Value.Uint64())
}

// benchProcStatus reads one "Key:  N kB" line of /proc/self/status in bytes.
func benchProcStatus(key string) (int64, bool) {
	v, ok := benchKBField("/proc/self/status", key)
	return v, ok
}

// benchMeminfo returns MemTotal and MemAvailable in bytes (0 where unknown).
func benchMeminfo() (total, avail int64) {
	total, _ = benchKBField("/proc/meminfo", "MemTotal:")
	avail, _ = benchKBField("/proc/meminfo", "MemAvailable:")
	return total, avail
}

func benchKBField(path, key string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == key {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, false
			}
			return kb * 1024, true
		}
	}
	return 0, false
}

// benchLoadavg is the 1, 5 and 15 minute load average (Linux; nil elsewhere).
func benchLoadavg() []float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	fields := strings.Fields(string(raw))
	if len(fields) < 3 {
		return nil
	}
	var out []float64
	for _, f := range fields[:3] {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil
		}
		out = append(out, v)
	}
	return out
}

func benchEnvironment() benchEnv {
	e := benchEnv{Date: time.Now().UTC().Format(time.RFC3339), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH,
		GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(), LoadavgStart: benchLoadavg()}
	e.MemTotal, e.MemAvailable = benchMeminfo()
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				e.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return e
}

func benchMedian(xs []float64) float64 {
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func benchRound(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

func benchFinite(xs []float32) bool {
	for _, v := range xs {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return len(xs) > 0
}

// benchSeconds formats a time like the peer's table.
func benchSeconds(x float64) string {
	switch {
	case x < 1:
		return strconv.FormatFloat(x, 'f', 4, 64)
	case x < 100:
		return strconv.FormatFloat(x, 'f', 3, 64)
	}
	return strconv.FormatFloat(x, 'f', 1, 64)
}

// benchTable renders the result as the peer's text table.
func benchTable(r *benchResult) string {
	var sb strings.Builder
	kernels := ""
	if r.Kernels != "" {
		kernels = " kernels=" + r.Kernels
	}
	if r.Int8Kernels != "" {
		kernels += " int8=" + r.Int8Kernels
	}
	if r.Precision != "" {
		kernels += " precision=" + r.Precision
	}
	if r.KVCache != "" {
		kernels += " kv=" + r.KVCache
	}
	fmt.Fprintf(&sb, "janus bench: preset=%s weights=%s matrices=%s threads=%d repeat=%d backend=%s%s %s %s/%s\n",
		r.Preset, r.Source, r.MatrixDType, r.Threads, r.Repeat, r.Backend, kernels, r.GoVersion, r.Env.GOOS, r.Env.GOARCH)
	fmt.Fprintf(&sb, "date %s  cpu %q  load avg at start %v, at end %v\n", r.Env.Date, r.Env.CPUModel, r.Env.LoadavgStart, r.LoadavgEnd)
	for _, bw := range []struct {
		when string
		b    *benchBandwidth
	}{{"start", r.Bandwidth}, {"end", r.BandwidthE}} {
		if bw.b != nil {
			fmt.Fprintf(&sb, "memory bandwidth at %-5s read %.1f GB/s median / %.1f best (%d goroutines)\n", bw.when+":", bw.b.ReadGBs, bw.b.ReadBest, bw.b.Threads)
		}
	}
	for _, ns := range r.Stages {
		if ns.Stage.BWUsed > 0 {
			fmt.Fprintf(&sb, "bandwidth floors from the higher median, %.1f GB/s\n", ns.Stage.BWUsed)
			break
		}
	}
	sb.WriteString("\n")
	row := "%-15s %9s %9s  %-44s %s\n"
	fmt.Fprintf(&sb, row, "stage", "min s", "median s", "rate (from the median)", "work")
	sb.WriteString(strings.Repeat("-", 120) + "\n")
	for _, ns := range r.Stages {
		d, rate := ns.Stage, ""
		switch {
		case ns.Name == "vision" || ns.Name == "prefill":
			rate = fmt.Sprintf("%.1f tok/s", d.TokPerS)
		case ns.Name == "decode":
			rate = fmt.Sprintf("%.2f tok/s = %.1f ms/step", d.TokPerS, d.MsPerStep)
			if d.PctOfBWFloor > 0 {
				rate += fmt.Sprintf(" (%.0f%% of BW floor)", d.PctOfBWFloor)
			}
		case strings.HasPrefix(ns.Name, "gen_step"):
			rate = fmt.Sprintf("%.2f steps/s = %.1f ms/step", d.StepsPerS, d.MsPerStep)
			if d.PctOfBWFloor > 0 {
				rate += fmt.Sprintf(" (%.0f%% of BW fl.)", d.PctOfBWFloor)
			}
		case strings.HasPrefix(ns.Name, "vq_decode"):
			rate = fmt.Sprintf("%.3f img/s", d.ImagesPerS)
		}
		fmt.Fprintf(&sb, row, ns.Name, benchSeconds(d.MinS), benchSeconds(d.MedianS), rate, d.Work)
		if strings.HasPrefix(ns.Name, "gen_step") {
			fmt.Fprintf(&sb, row, "", "", "", fmt.Sprintf("EXTRAPOLATED (not measured) %d-token set:", r.ImageTokens),
				fmt.Sprintf("%.1f s flat (P=%d)", d.ExtrapFlat, d.Parallel))
		}
		if len(d.OpMsPerStep) > 0 {
			fmt.Fprintf(&sb, row, "", "", "", "ops (--op-times), mean of the timed runs:", benchOpsText(d.OpMsPerStep))
		}
	}
	m := r.Model
	fmt.Fprintf(&sb, "\nmodel: %.3f G params (%.2f GB, %s matrices); LLM weights read per decode step %.2f GB, per generation step %.2f GB; built %.2f GB (%s) in %.1f s\n",
		float64(m.ParamsTotal)/1e9, float64(m.BytesTotal)/1e9, r.MatrixDType, float64(m.DecodeWeightByte)/1e9, float64(m.GenWeightBytes)/1e9,
		float64(m.BuiltBytes)/1e9, benchPartsText(m.BuiltParts), m.BuildS)
	var peaks []string
	for _, ns := range r.Stages {
		peaks = append(peaks, fmt.Sprintf("%s %.2f", ns.Name, float64(ns.Stage.PeakRSSAfter)/1e9))
	}
	fmt.Fprintf(&sb, "RSS: after build %.2f GB, peak %.2f GB (%s); peak after stage: %s\n",
		float64(r.RSS.AfterInit)/1e9, float64(r.RSS.Peak)/1e9, r.RSS.Source, strings.Join(peaks, ", "))
	fmt.Fprintf(&sb, "total wall time %.1f s\n", r.WallS)
	return sb.String()
}

// writeHeapProfile writes the heap profile to path, after a collection so that it holds
// every allocation up to now (the profile is updated by collections).
func writeHeapProfile(path string) error {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
