package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/config"
)

// benchJSON is the part of the --json line the tests check.
type benchJSON struct {
	Tool        string  `json:"tool"`
	Preset      string  `json:"preset"`
	Weights     string  `json:"weights"`
	DType       string  `json:"dtype"`
	MatrixDType string  `json:"matrix_dtype"`
	Threads     int     `json:"threads"`
	Parallel    []int   `json:"parallel"`
	Backend     string  `json:"backend"`
	KVCache     string  `json:"kv_cache"`
	GoVersion   string  `json:"go_version"`
	ImageTokens int     `json:"image_tokens"`
	WallS       float64 `json:"wall_s"`
	Model       struct {
		ParamsTotal int64 `json:"params_total"`
		BytesTotal  int64 `json:"bytes_total"`
		DecodeBytes int64 `json:"decode_weight_bytes"`
		GenBytes    int64 `json:"gen_weight_bytes"`
	} `json:"model"`
	Bandwidth *struct {
		ReadGBs float64 `json:"read_gbs"`
	} `json:"bandwidth"`
	RSS struct {
		Peak int64 `json:"peak_bytes"`
	} `json:"rss"`
	Stages map[string]struct {
		TimesS       []float64 `json:"times_s"`
		MinS         float64   `json:"min_s"`
		MedianS      float64   `json:"median_s"`
		Tokens       int       `json:"tokens"`
		TokPerS      float64   `json:"tok_per_s"`
		Steps        int       `json:"steps"`
		CtxStart     int       `json:"ctx_start"`
		MsPerStep    float64   `json:"ms_per_step"`
		Rows         int       `json:"rows"`
		ExtrapFlat   float64   `json:"extrap_image_set_s_flat"`
		ImagesPerS   float64   `json:"images_per_s"`
		PctOfBWFloor float64   `json:"pct_of_bw_floor"`
		PctWithKV    float64   `json:"pct_of_bw_floor_with_kv"`
		PeakRSS      int64     `json:"peak_rss_after_bytes"`
		Work         string    `json:"work"`
	} `json:"stages"`
}

// TestBenchTinyModel runs every stage once on the tiny fixture model's config (random
// weights) and checks that the JSON line reports each requested stage with positive times
// and the rates that follow from them.
func TestBenchTinyModel(t *testing.T) {
	cfgPath := fixtures.Path(t, "models", "tiny-a", "config.json")
	cfg, err := config.Load(filepath.Dir(cfgPath))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		stages  []string
		dtype   string
		weights string
	}{
		{"all stages bf16", []string{"--config", cfgPath, "--stages", "all", "--parallel", "1,2", "--bw-mb", "4"},
			[]string{"preprocess", "vision", "prefill", "decode", "gen_prefill_p1", "gen_step_p1", "vq_decode_p1",
				"gen_prefill_p2", "gen_step_p2", "vq_decode_p2"}, "bfloat16", "random"},
		{"decode pulls in prefill and vision, f32", []string{"--config", cfgPath, "--stages", "decode", "--matrix-dtype", "f32", "--bw-mb", "0"},
			[]string{"vision", "prefill", "decode"}, "float32", "random"},
		{"generation only", []string{"--config", cfgPath, "--stages", "gen", "--bw-mb", "0"},
			[]string{"gen_prefill_p1", "gen_step_p1"}, "bfloat16", "random"},
		{"model folder", []string{"--model", filepath.Dir(cfgPath), "--stages", "preprocess,gen,vq_decode", "--bw-mb", "0"},
			[]string{"preprocess", "gen_prefill_p1", "gen_step_p1", "vq_decode_p1"}, "bfloat16", "checkpoint"},
		{"q8 weights", []string{"--config", cfgPath, "--stages", "decode,gen", "--weights", "q8", "--bw-mb", "0"},
			[]string{"vision", "prefill", "decode", "gen_prefill_p1", "gen_step_p1"}, "q8_0", "random"},
		{"q4 weights from a model folder", []string{"--model", filepath.Dir(cfgPath), "--stages", "gen", "--weights", "q4", "--bw-mb", "0"},
			[]string{"gen_prefill_p1", "gen_step_p1"}, "q4_0", "checkpoint"},
		{"q4 weights, f16 cache", []string{"--config", cfgPath, "--stages", "decode,gen", "--weights", "q4", "--kv-cache", "f16", "--bw-mb", "0"},
			[]string{"vision", "prefill", "decode", "gen_prefill_p1", "gen_step_p1"}, "q4_0", "random"},
		{"q8 cache from a model folder", []string{"--model", filepath.Dir(cfgPath), "--stages", "gen", "--kv-cache", "q8", "--bw-mb", "0"},
			[]string{"gen_prefill_p1", "gen_step_p1"}, "bfloat16", "checkpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--repeat", "1", "--threads", "2", "--decode-steps", "3",
				"--gen-steps", "2", "--json"}, tt.args...)
			var stdout, stderr bytes.Buffer
			if err := runBench(context.Background(), args, &stdout, &stderr); err != nil {
				t.Fatalf("bench %v: %v\nstderr:\n%s", args, err, stderr.String())
			}
			if n := strings.Count(strings.TrimSpace(stdout.String()), "\n"); n != 0 {
				t.Fatalf("stdout has %d lines, want one JSON line:\n%s", n+1, stdout.String())
			}
			var got benchJSON
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("decode JSON: %v\n%s", err, stdout.String())
			}
			// 4-bit weights take a Q8 cache unless --kv-cache says otherwise.
			wantKV := "F32"
			if i := slices.Index(tt.args, "--weights"); i >= 0 && strings.HasPrefix(tt.args[i+1], "q4") {
				wantKV = "Q8"
			}
			if i := slices.Index(tt.args, "--kv-cache"); i >= 0 {
				wantKV = strings.ToUpper(tt.args[i+1])
			}
			if slices.Equal(tt.stages, []string{"preprocess"}) {
				wantKV = "" // no stage runs the language model
			}
			if got.KVCache != wantKV {
				t.Errorf("kv_cache %q, want %q", got.KVCache, wantKV)
			}
			for _, name := range []string{"decode", "gen_step_p1"} {
				// The steps say the cache they read, from the language model that ran them.
				if st, ok := got.Stages[name]; ok && !strings.Contains(st.Work, wantKV+" KV cache") && !strings.Contains(st.Work, "("+wantKV+",") {
					t.Errorf("%s: %q does not name a %s cache", name, st.Work, wantKV)
				}
			}
			if got.Tool != "janus_bench" || got.Preset != "tiny-a" || got.DType != tt.dtype || got.Weights != tt.weights || got.Threads != 2 ||
				got.Backend != "cpu" || got.GoVersion == "" || got.ImageTokens != cfg.VQ.ImageTokens {
				t.Errorf("header = %+v", got)
			}
			if got.Model.ParamsTotal <= 0 || got.Model.DecodeBytes <= 0 || got.Model.GenBytes <= 0 ||
				got.Model.DecodeBytes >= got.Model.BytesTotal || got.RSS.Peak <= 0 || got.WallS < 0 {
				t.Errorf("model/rss = %+v %+v", got.Model, got.RSS)
			}
			var names []string
			for name := range got.Stages {
				names = append(names, name)
			}
			slices.Sort(names)
			want := slices.Sorted(slices.Values(tt.stages))
			if !slices.Equal(names, want) {
				t.Fatalf("stages %v, want %v", names, want)
			}
			for name, st := range got.Stages {
				if len(st.TimesS) != 1 || st.MinS <= 0 || st.MedianS <= 0 || st.MinS > st.MedianS || st.PeakRSS <= 0 {
					t.Errorf("%s: times %v min %v median %v peak RSS %d", name, st.TimesS, st.MinS, st.MedianS, st.PeakRSS)
				}
				switch {
				case name == "vision" && (st.Tokens != cfg.Vision.Tokens || st.TokPerS <= 0):
					t.Errorf("vision: %d tokens at %v tok/s, want %d tokens", st.Tokens, st.TokPerS, cfg.Vision.Tokens)
				case name == "prefill" && (st.Tokens != benchUndTextTokens+2+cfg.Vision.Tokens || st.TokPerS <= 0):
					t.Errorf("prefill: %d tokens at %v tok/s", st.Tokens, st.TokPerS)
				case name == "decode" && (st.Steps != 3 || st.CtxStart != benchUndTextTokens+2+cfg.Vision.Tokens || st.MsPerStep <= 0):
					t.Errorf("decode: %d steps from %d, %v ms/step", st.Steps, st.CtxStart, st.MsPerStep)
				case strings.HasPrefix(name, "gen_step") && (st.Steps != 2 || st.ExtrapFlat < st.MedianS || st.Rows < 2):
					t.Errorf("%s: %d steps, %d rows, extrapolated %v s", name, st.Steps, st.Rows, st.ExtrapFlat)
				case strings.HasPrefix(name, "vq_decode") && st.ImagesPerS <= 0:
					t.Errorf("%s: %v images/s", name, st.ImagesPerS)
				}
			}
			if (got.Bandwidth != nil) != slices.Contains(tt.args, "4") {
				t.Errorf("bandwidth section %+v for args %v", got.Bandwidth, tt.args)
			}
			// The two percentages are rounded to 0.1: on a slow run of the tiny model (whose KV
			// cache is small) they may round to the same figure.
			if st, ok := got.Stages["decode"]; ok && got.Bandwidth != nil && (st.PctOfBWFloor <= 0 || st.PctWithKV < st.PctOfBWFloor) {
				t.Errorf("decode has no bandwidth floor, or a lower one with the KV cache read: %+v", st)
			}
			if !strings.Contains(stderr.String(), "stage ") {
				t.Errorf("no progress on stderr:\n%s", stderr.String())
			}
		})
	}
}

// TestBenchOpTimes checks --op-times: the decoding and generation steps' ops, each timed
// op's milliseconds per step and the rest ("other"), add up to the mean step time of the
// timed runs, and the table shows them under each stage.
func TestBenchOpTimes(t *testing.T) {
	cfgPath := fixtures.Path(t, "models", "tiny-a", "config.json")
	args := []string{"--config", cfgPath, "--stages", "decode,gen", "--repeat", "2", "--threads", "2",
		"--decode-steps", "3", "--gen-steps", "2", "--bw-mb", "0", "--weights", "q8", "--op-times"}
	var stdout, stderr bytes.Buffer
	if err := runBench(context.Background(), append(args, "--json"), &stdout, &stderr); err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr.String())
	}
	var got struct {
		Stages map[string]struct {
			TimesS []float64          `json:"times_s"`
			Steps  int                `json:"steps"`
			Ops    map[string]float64 `json:"op_ms_per_step"`
		} `json:"stages"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("decode JSON: %v\n%s", err, stdout.String())
	}
	for name, ops := range map[string][]string{
		"decode":      {"Linears", "Linear", "Attention", "CopyRows", "RMSNorm", "Embedding", "Read"},
		"gen_step_p1": {"Linears", "Linear", "Attention", "GELU", "Embedding", "Read"},
	} {
		st, ok := got.Stages[name]
		if !ok {
			t.Fatalf("no stage %s in %s", name, stdout.String())
		}
		for _, op := range ops {
			if _, ok := st.Ops[op]; !ok {
				t.Errorf("%s: no time for %s: %v", name, op, st.Ops)
			}
		}
		mean := 0.0
		for _, s := range st.TimesS {
			mean += 1000 * s / float64(len(st.TimesS)*st.Steps)
		}
		timed := 0.0
		for op, ms := range st.Ops {
			if op != "other" {
				timed += ms
			}
		}
		// The ops of a step run one after another within it, and "other" is the rest; each
		// figure is rounded to 0.001 ms.
		tol := 0.001 * float64(len(st.Ops))
		if other, ok := st.Ops["other"]; !ok || timed > mean+tol || math.Abs(timed+other-mean) > tol {
			t.Errorf("%s: timed ops %v take %.3f ms of the mean step's %.3f", name, st.Ops, timed, mean)
		}
	}
	got.Stages = nil
	stdout.Reset()
	if err := runBench(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr.String())
	}
	// The ops are listed slowest first, and on tiny-a the attention can take longer than the
	// products: look for the products anywhere in the line.
	ops := regexp.MustCompile(`ms per step: .*\bLinears? \d`)
	if n := strings.Count(stdout.String(), "ops (--op-times)"); n != 2 || !ops.MatchString(stdout.String()) {
		t.Errorf("the table has %d op lines, want 2 (decode, generation step):\n%s", n, stdout.String())
	}
}

// TestBenchTable checks the default output: a table with one row per stage.
func TestBenchTable(t *testing.T) {
	cfgPath := fixtures.Path(t, "models", "tiny-a", "config.json")
	var stdout, stderr bytes.Buffer
	args := []string{"--config", cfgPath, "--repeat", "2", "--stages", "prefill,vq_decode", "--bw-mb", "0"}
	if err := runBench(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"janus bench: preset=tiny-a", "\nvision ", "\nprefill ", "\nvq_decode_p1 ", "RSS: after build",
		"(vision, aligner, llm, lm_head, vq) in "} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "{") {
		t.Errorf("table output contains JSON:\n%s", out)
	}
}

// TestBenchFloors checks that the floors come from the higher of the run's two bandwidth
// readings, count the KV cache only in its own share, and are left out without a reading or
// for stages that are not token steps.
func TestBenchFloors(t *testing.T) {
	for _, tt := range []struct {
		name            string
		start, end      float64 // GB/s, 0: no reading
		bw, pct, withKV float64
	}{
		{"higher at the end", 40, 80, 80, 50, 62.5},
		{"higher at the start", 80, 40, 80, 50, 62.5},
		{"start only", 80, 0, 80, 50, 62.5},
		{"no reading", 0, 0, 0, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := &benchResult{}
			if tt.start > 0 {
				res.Bandwidth = &benchBandwidth{ReadGBs: tt.start}
			}
			if tt.end > 0 {
				res.BandwidthE = &benchBandwidth{ReadGBs: tt.end}
			}
			// 8 GB of weights read in a step of 0.2 s, 2 GB of cache beside them.
			step := &benchStage{KVBytes: 2e9, WeightBytes: 8e9, Steps: 4, MedianS: 0.8}
			other := &benchStage{}
			res.Stages = []benchNamedStage{{"decode", step}, {"vision", other}}
			floors(res)
			if step.BWUsed != tt.bw || step.PctOfBWFloor != tt.pct || step.PctWithKV != tt.withKV {
				t.Errorf("bandwidth %v, %v %% of the floor, %v %% with the KV cache; want %v, %v, %v",
					step.BWUsed, step.PctOfBWFloor, step.PctWithKV, tt.bw, tt.pct, tt.withKV)
			}
			if tt.bw > 0 && (step.BWFloorMs != 100 || step.BWFloorTokS != 10) {
				t.Errorf("floor %v ms, %v tok/s; want 100 and 10", step.BWFloorMs, step.BWFloorTokS)
			}
			if other.BWUsed != 0 || other.PctOfBWFloor != 0 {
				t.Errorf("a stage without weights read per step has a floor: %+v", other)
			}
		})
	}
}

// TestBenchFlagErrors checks that bad flags fail before anything is built, with a message
// naming the flag.
func TestBenchFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown preset", []string{"--preset", "janus-9b"}, `unknown --preset "janus-9b"`},
		{"preset and config", []string{"--preset", "janus-pro-1b", "--config", "x.json"}, "only one of --preset, --config and --model"},
		{"config and model", []string{"--config", "x.json", "--model", "dir"}, "only one of"},
		{"empty model", []string{"--model", ""}, "need a path"},
		{"unknown stage", []string{"--stages", "vision,warp"}, `unknown stage "warp"`},
		{"empty stages", []string{"--stages", " , "}, "--stages is empty"},
		{"zero repeat", []string{"--repeat", "0"}, "--repeat 0 must be at least 1"},
		{"negative threads", []string{"--threads", "-1"}, "--threads -1"},
		{"parallel zero", []string{"--parallel", "1,0"}, `--parallel "0"`},
		{"parallel word", []string{"--parallel", "two"}, `--parallel "two"`},
		{"parallel too many", []string{"--parallel", "17"}, "between 1 and 16"},
		{"decode steps", []string{"--decode-steps", "0"}, "--decode-steps 0"},
		{"gen steps", []string{"--gen-steps", "-3"}, "--gen-steps -3"},
		{"matrix dtype", []string{"--matrix-dtype", "q4"}, `unknown --matrix-dtype "q4"`},
		{"weights", []string{"--weights", "q5"}, `unknown --weights "q5"`},
		{"kv cache", []string{"--kv-cache", "q4"}, `--kv-cache "q4": want one of auto, f32, f16, q8`},
		{"weights and matrix dtype", []string{"--weights", "bf16", "--matrix-dtype", "f32"}, "disagree"},
		{"prompt length", []string{"--gen-prompt-tokens", "1"}, "--gen-prompt-tokens 1"},
		{"positional", []string{"extra"}, `unexpected argument "extra"`},
		{"missing config", []string{"--config", filepath.Join(t.TempDir(), "none.json")}, "--config:"},
		{"not a flag", []string{"--frobnicate"}, "flag provided but not defined"},
		{"op times on metal", []string{"--op-times", "--backend", "metal"}, "--op-times times the CPU backend's ops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runBench(context.Background(), append(tt.args, "--bw-mb", "0"), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("bench %v = %v, want an error containing %q", tt.args, err, tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout not empty: %s", stdout.String())
			}
		})
	}
}

// TestBenchBadConfig checks that a config file that is not a Janus config is reported with
// its problem, also when it is not called config.json.
func TestBenchBadConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(path, []byte(`{"language_config": {"hidden_size": "wide"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	err := runBench(context.Background(), []string{"--config", path, "--bw-mb", "0"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "config of tmp") && !strings.Contains(err.Error(), "hidden_size") {
		t.Fatalf("bench on a broken config = %v", err)
	}
}

// benchCancelWriter cancels a context once a progress line contains at.
type benchCancelWriter struct {
	at     string
	cancel context.CancelFunc
	buf    bytes.Buffer
}

func (w *benchCancelWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(w.at)) {
		w.cancel()
	}
	return w.buf.Write(p)
}

// TestBenchCancel checks that a context cancelled before or during the run (as Ctrl-C does)
// stops it with context.Canceled and no output.
func TestBenchCancel(t *testing.T) {
	cfgPath := fixtures.Path(t, "models", "tiny-a", "config.json")
	for _, at := range []string{"", "stage decode", "gen run 1/", "stage vq_decode"} {
		t.Run(at, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if at == "" {
				cancel()
			}
			stderr := &benchCancelWriter{at: at, cancel: cancel}
			var stdout bytes.Buffer
			err := runBench(ctx, []string{"--config", cfgPath, "--bw-mb", "0", "--repeat", "2", "--gen-steps", "3",
				"--decode-steps", "3"}, &stdout, stderr)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("bench cancelled at %q = %v, want context.Canceled\n%s", at, err, stderr.buf.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout not empty: %s", stdout.String())
			}
		})
	}
}

// TestBenchPresets checks that every embedded preset resolves to the released shapes.
func TestBenchPresets(t *testing.T) {
	tests := []struct {
		preset                 string
		hidden, layers, vision int
	}{
		{"janus-pro-1b", 2048, 24, 576},
		{"janus-1.3b", 2048, 24, 576},
		{"janus-pro-7b", 4096, 30, 576},
	}
	if got := benchPresets(); !slices.Equal(got, []string{"janus-1.3b", "janus-pro-1b", "janus-pro-7b"}) {
		t.Fatalf("presets %v", got)
	}
	for _, tt := range tests {
		t.Run(tt.preset, func(t *testing.T) {
			cfg, name, err := benchConfig(&benchOptions{preset: tt.preset})
			if err != nil {
				t.Fatal(err)
			}
			if name != tt.preset || cfg.LLM.Hidden != tt.hidden || cfg.LLM.Layers != tt.layers ||
				cfg.Vision.Tokens != tt.vision || cfg.VQ.ImageTokens != 576 || cfg.LLM.Vocab != 102400 {
				t.Errorf("%s: name %s, hidden %d, layers %d, vision tokens %d, image tokens %d, vocab %d", tt.preset, name,
					cfg.LLM.Hidden, cfg.LLM.Layers, cfg.Vision.Tokens, cfg.VQ.ImageTokens, cfg.LLM.Vocab)
			}
		})
	}
}

// TestBenchMedian checks the median against the peer's statistics.median.
func TestBenchMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		if got := benchMedian(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// A config that cannot be read is told before anything runs (the bandwidth test would
// print its lines and take its seconds first).
func TestBenchMissingConfigFirst(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := runBench(context.Background(), []string{"--config", filepath.Join(t.TempDir(), "none.json")}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--config:") || stderr.Len() != 0 {
		t.Errorf("bench with a missing config = %v, stderr %q", err, stderr.String())
	}
}
