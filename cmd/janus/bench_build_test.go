package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/weights"
)

// benchBuilt is the part of the --json line about what was built and the peak memory.
type benchBuilt struct {
	MatrixDType string `json:"matrix_dtype"`
	Model       struct {
		BytesTotal int64    `json:"bytes_total"`
		BuiltBytes int64    `json:"built_bytes"`
		BuiltParts []string `json:"built_parts"`
	} `json:"model"`
	RSS struct {
		Peak   int64  `json:"peak_bytes"`
		Source string `json:"source"`
	} `json:"rss"`
	Stages map[string]json.RawMessage `json:"stages"`
}

func runBenchJSON(t *testing.T, args ...string) benchBuilt {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args = append([]string{"--repeat", "1", "--threads", "2", "--decode-steps", "2", "--gen-steps", "2", "--json"}, args...)
	if err := runBench(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("bench %v: %v\nstderr:\n%s", args, err, stderr.String())
	}
	var got benchBuilt
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("decode JSON: %v\n%s", err, stdout.String())
	}
	return got
}

// TestBenchBuildsOnlyWhatStagesUse: each stage selection builds the parts it runs and no
// others (random weights and a model folder alike), and a release's shapes with only the
// preprocess stage build nothing at all.
func TestBenchBuildsOnlyWhatStagesUse(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	partBytes := map[weights.Part]int64{}
	for _, s := range model.Plan(cfg) {
		partBytes[s.Part] += s.Bytes(weights.BF16)
	}
	tests := []struct {
		stages string
		parts  []weights.Part
	}{
		{"preprocess", nil},
		{"vision", []weights.Part{weights.PartVision, weights.PartAligner}},
		{"decode", []weights.Part{weights.PartVision, weights.PartAligner, weights.PartLLM, weights.PartLMHead}},
		{"gen", []weights.Part{weights.PartLLM, weights.PartGen}},
		{"vq_decode", []weights.Part{weights.PartVQ}},
		{"preprocess,vq_decode", []weights.Part{weights.PartVQ}},
		{"all", weights.Parts()},
	}
	for _, source := range []string{"--config", "--model"} {
		for _, tc := range tests {
			t.Run(source+" "+tc.stages, func(t *testing.T) {
				got := runBenchJSON(t, source, dir, "--stages", tc.stages, "--bw-mb", "0")
				var want int64
				var names []string
				for _, p := range tc.parts {
					want += partBytes[p]
					names = append(names, string(p))
				}
				slices.Sort(names)
				parts := slices.Sorted(slices.Values(got.Model.BuiltParts))
				if got.Model.BuiltBytes != want || !slices.Equal(parts, names) {
					t.Errorf("built %d bytes of %v, want %d bytes of %v", got.Model.BuiltBytes, got.Model.BuiltParts, want, names)
				}
				if got.Model.BytesTotal <= want && tc.stages != "all" || got.MatrixDType != "BF16" || len(got.Stages) == 0 {
					t.Errorf("model %+v, matrices %s, %d stages", got.Model, got.MatrixDType, len(got.Stages))
				}
			})
		}
	}

	// Janus-Pro-7B's shapes (14.9 GB of BF16 weights) for the preprocess stage: nothing is
	// built, so the run needs next to no memory.
	got := runBenchJSON(t, "--preset", "janus-pro-7b", "--stages", "preprocess", "--bw-mb", "0")
	if got.Model.BuiltBytes != 0 || got.Model.BytesTotal < 14e9 || len(got.Stages) != 1 {
		t.Errorf("pro-7b preprocess: %+v", got.Model)
	}
	if got.RSS.Peak > 2e9 {
		t.Errorf("pro-7b preprocess: peak RSS %.2f GB", float64(got.RSS.Peak)/1e9)
	}
}

// TestBenchPeakExcludesBandwidthBuffer: the reported peak is the model's, not the
// bandwidth test's buffer (here 384 MiB against a tiny model of a few MB).
func TestBenchPeakExcludesBandwidthBuffer(t *testing.T) {
	cfgPath := filepath.Join(fixtures.Path(t, "models", "tiny-a"), "config.json")
	const bufMiB = 384
	got := runBenchJSON(t, "--config", cfgPath, "--stages", "vq_decode", "--bw-mb", "384")
	if got.RSS.Peak <= 0 || got.RSS.Peak >= bufMiB<<20 {
		t.Errorf("peak RSS %.0f MiB with a %d MiB bandwidth buffer (source %s)", float64(got.RSS.Peak)/(1<<20), bufMiB, got.RSS.Source)
	}
	if runtime.GOOS == "linux" && !strings.Contains(got.RSS.Source, "reset after the bandwidth test") && !strings.Contains(got.RSS.Source, "sampled") {
		t.Errorf("RSS source %q says neither how the buffer is left out nor that it is sampled", got.RSS.Source)
	}
}

// A model folder whose weights do not fit the machine's memory is refused before they are
// read, as every model command refuses it: the benchmark was killed for lack of memory.
func TestBenchRefusesWeightsOverMemory(t *testing.T) {
	dir := sparsePro7BOverMemory(t)
	var stdout, stderr bytes.Buffer
	err := runBench(context.Background(), []string{"--model", dir, "--weights", "f32", "--stages", "decode", "--bw-mb", "0"}, &stdout, &stderr)
	if !errors.Is(err, model.ErrNotEnoughMemory) || !strings.Contains(err.Error(), "--weights bf16, q8, q4m, q4") {
		t.Fatalf("bench = %v, want ErrNotEnoughMemory naming the smaller formats\n%s", err, stderr.String())
	}
}
