package weights_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/checkpoint/checkpointtest"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/weights"
	"github.com/janus-desktop/janus/model/weights/weightstest"
)

func loadConfig(t testing.TB, dir string) *config.Config {
	t.Helper()
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// fakeRelease writes a sparse checkpoint with every tensor of a release's keys.json (after
// edit) plus the release's config files into a new folder. shards 0 writes a single file.
func fakeRelease(t testing.TB, release string, format checkpointtest.Format, shards int, edit func([]checkpointtest.Tensor) []checkpointtest.Tensor) string {
	t.Helper()
	dir := t.TempDir()
	if err := weightstest.WriteRelease(dir, fixtures.Path(t, "real-configs", release), format, shards, edit); err != nil {
		t.Fatal(err)
	}
	return dir
}

func openAndCheck(t testing.TB, dir string) (*weights.Report, error) {
	t.Helper()
	cfg := loadConfig(t, dir)
	ck, err := checkpoint.Open(dir)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { ck.Close() })
	return weights.Check(ck, model.Plan(cfg))
}

func TestCheckBindsReleases(t *testing.T) {
	// Per-part parameter counts from spec §2's parameter split.
	small := map[weights.Part]int64{
		weights.PartVision: 303_688_704, weights.PartAligner: 6_295_552, weights.PartLLM: 209_715_200 + 1_233_225_728, weights.PartLMHead: 209_715_200,
		weights.PartVQ: 42_449_795 + 131_072 + 2_304, weights.PartGen: 4_214_784 + 37_767_168 + 131_072,
		weights.PartUnused: 12_595_200 + 29_298_176 + 2_056 + 65_536,
	}
	large := map[weights.Part]int64{
		weights.PartVision: 303_688_704, weights.PartAligner: 20_979_712, weights.PartLLM: 419_430_400 + 6_071_504_896, weights.PartLMHead: 419_430_400,
		weights.PartVQ: 42_449_795 + 131_072 + 2_304, weights.PartGen: 16_818_176 + 83_906_560 + 131_072,
		weights.PartUnused: 12_595_200 + 29_298_176 + 2_056 + 65_536,
	}
	tests := []struct {
		release       string
		format        checkpointtest.Format
		shards        int
		wantFiles     int
		total         int64
		tensors       int
		parts         map[weights.Part]int64
		hidden, layer int64
	}{
		{"janus-1.3b", checkpointtest.Safetensors, 0, 1, 2_089_297_547, 882, small, 2048, 24},
		{"janus-pro-1b", checkpointtest.PyTorch, 0, 1, 2_089_297_547, 882, small, 2048, 24},
		{"janus-pro-7b", checkpointtest.PyTorch, 2, 2, 7_420_434_059, 936, large, 4096, 30},
	}
	for _, tc := range tests {
		t.Run(tc.release, func(t *testing.T) {
			dir := fakeRelease(t, tc.release, tc.format, tc.shards, nil)
			cfg := loadConfig(t, dir)
			ck, err := checkpoint.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer ck.Close()
			if n := len(ck.Files()); n != tc.wantFiles {
				t.Errorf("checkpoint has %d files, want %d", n, tc.wantFiles)
			}
			rep, err := weights.Check(ck, model.Plan(cfg))
			if err != nil {
				t.Fatal(err)
			}
			if rep.TotalParams != tc.total || rep.Tensors != tc.tensors {
				t.Errorf("total %d params in %d tensors, want %d in %d", rep.TotalParams, rep.Tensors, tc.total, tc.tensors)
			}
			var sum int64
			for _, ps := range rep.Parts {
				sum += ps.Params
				if ps.Params != tc.parts[ps.Part] {
					t.Errorf("%s: %d params, want %d", ps.Part, ps.Params, tc.parts[ps.Part])
				}
			}
			if sum != rep.TotalParams || rep.UsedParams != rep.TotalParams-tc.parts[weights.PartUnused] {
				t.Errorf("parts sum to %d, used %d; total %d", sum, rep.UsedParams, rep.TotalParams)
			}
			if len(rep.Unexpected) != 0 {
				t.Errorf("unexpected tensors: %v", rep.Unexpected)
			}
			if rep.StoredDTypes[checkpoint.BF16] != rep.UsedParams || len(rep.StoredDTypes) != 1 {
				t.Errorf("stored dtypes %v, want all %d weights.BF16", rep.StoredDTypes, rep.UsedParams)
			}

			// Memory: weights.F32 is 4 bytes a parameter. In the LLM everything but the 2L+1 RMSNorm
			// weights is a matrix (2 bytes in weights.BF16; rows of 2048/4096/5632/11008 values
			// quantise in whole 32-blocks); the VQ decoder is all weights.F32.
			if rep.Memory[weights.F32] != 4*rep.UsedParams {
				t.Errorf("weights.F32 memory %d, want %d", rep.Memory[weights.F32], 4*rep.UsedParams)
			}
			llm := rep.Parts[slices.IndexFunc(rep.Parts, func(p weights.PartStats) bool { return p.Part == weights.PartLLM })]
			norms := (2*tc.layer + 1) * tc.hidden
			mat := llm.Params - norms
			for p, want := range map[weights.Precision]int64{
				weights.F32: 4 * llm.Params, weights.BF16: 2*mat + 4*norms, weights.Q8_0: mat/32*34 + 4*norms, weights.Q4_0: mat/32*18 + 4*norms,
			} {
				if llm.Bytes[p] != want {
					t.Errorf("LLM %s bytes %d, want %d", p, llm.Bytes[p], want)
				}
			}
			vq := rep.Parts[slices.IndexFunc(rep.Parts, func(p weights.PartStats) bool { return p.Part == weights.PartVQ })]
			if vq.Bytes[weights.BF16] != 4*vq.Params || vq.Bytes[weights.Q4_0] != 4*vq.Params {
				t.Errorf("VQ bytes %v, want weights.F32 everywhere (%d)", vq.Bytes, 4*vq.Params)
			}
			if !(rep.Memory[weights.F32] > rep.Memory[weights.BF16] && rep.Memory[weights.BF16] > rep.Memory[weights.Q8_0] && rep.Memory[weights.Q8_0] > rep.Memory[weights.Q4_0]) {
				t.Errorf("memory does not shrink with precision: %v", rep.Memory)
			}
		})
	}
}

func drop(names ...string) func([]checkpointtest.Tensor) []checkpointtest.Tensor {
	return func(ts []checkpointtest.Tensor) []checkpointtest.Tensor {
		return slices.DeleteFunc(ts, func(t checkpointtest.Tensor) bool { return slices.Contains(names, t.Name) })
	}
}

func change(name string, f func(*checkpointtest.Tensor)) func([]checkpointtest.Tensor) []checkpointtest.Tensor {
	return func(ts []checkpointtest.Tensor) []checkpointtest.Tensor {
		for i := range ts {
			if ts[i].Name == name {
				f(&ts[i])
			}
		}
		return ts
	}
}

func chain(edits ...func([]checkpointtest.Tensor) []checkpointtest.Tensor) func([]checkpointtest.Tensor) []checkpointtest.Tensor {
	return func(ts []checkpointtest.Tensor) []checkpointtest.Tensor {
		for _, e := range edits {
			ts = e(ts)
		}
		return ts
	}
}

func TestCheckReportsEveryProblem(t *testing.T) {
	const (
		upProj  = "language_model.model.layers.3.mlp.up_proj.weight"
		fc1     = "vision_model.vision_tower.blocks.0.mlp.fc1.weight"
		embed   = "gen_embed.weight"
		decConv = "gen_vision_model.decoder.conv_blocks.1.res.0.nin_shortcut.weight"
	)
	type wantMiss struct{ missing, mismatched []string }
	tests := []struct {
		name string
		edit func([]checkpointtest.Tensor) []checkpointtest.Tensor
		want wantMiss
		msgs []string
	}{
		{"missing tensor", drop(upProj), wantMiss{missing: []string{upProj}}, []string{"missing " + upProj + " [5632 2048]"}},
		{"wrong shape", change(fc1, func(t *checkpointtest.Tensor) { t.Shape = []int{4095, 1024} }),
			wantMiss{mismatched: []string{fc1}}, []string{"stored shape [4095 1024], the model needs [4096 1024]"}},
		{"integer dtype", change(embed, func(t *checkpointtest.Tensor) { t.DType = checkpoint.I32 }),
			wantMiss{mismatched: []string{embed}}, []string{"stored as I32"}},
		{"all at once", chain(drop(upProj, decConv),
			change(fc1, func(t *checkpointtest.Tensor) { t.Shape = []int{1024, 4096} }),
			change(embed, func(t *checkpointtest.Tensor) { t.DType = checkpoint.I64 })),
			wantMiss{missing: []string{decConv, upProj}, mismatched: []string{fc1, embed}},
			[]string{"2 tensors missing, 2 unusable", upProj, decConv, fc1, embed}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := fakeRelease(t, "janus-pro-1b", checkpointtest.Safetensors, 0, tc.edit)
			rep, err := openAndCheck(t, dir)
			var berr *weights.BindError
			if !errors.As(err, &berr) {
				t.Fatalf("weights.Check = %v, %v; want a *weights.BindError", rep, err)
			}
			var missing, mismatched []string
			for _, s := range berr.Missing {
				missing = append(missing, s.Name)
			}
			for _, m := range berr.Mismatched {
				mismatched = append(mismatched, m.Spec.Name)
			}
			if !slices.Equal(missing, tc.want.missing) || !slices.Equal(mismatched, tc.want.mismatched) {
				t.Errorf("missing %v mismatched %v, want %v %v", missing, mismatched, tc.want.missing, tc.want.mismatched)
			}
			for _, m := range tc.msgs {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error does not mention %q:\n%v", m, err)
				}
			}
		})
	}
}

func TestCheckIgnoresUnusedAndExtraTensors(t *testing.T) {
	extra := checkpointtest.Tensor{Name: "vision_model.vision_tower.blocks.24.norm1.weight", DType: checkpoint.BF16, Shape: []int{1024}}
	inv := checkpointtest.Tensor{Name: "language_model.model.layers.0.self_attn.rotary_emb.inv_freq", DType: checkpoint.F32, Shape: []int{64}}
	dir := fakeRelease(t, "janus-pro-1b", checkpointtest.Safetensors, 0, func(ts []checkpointtest.Tensor) []checkpointtest.Tensor {
		ts = slices.DeleteFunc(ts, func(t checkpointtest.Tensor) bool {
			return weights.Unused(t.Name) && !strings.Contains(t.Name, "codebook_used")
		})
		return append(ts, extra, inv)
	})
	rep, err := openAndCheck(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Unexpected, []string{extra.Name}) {
		t.Errorf("unexpected = %v, want only %s", rep.Unexpected, extra.Name)
	}
	unused := rep.Parts[len(rep.Parts)-1]
	if unused.Part != weights.PartUnused || unused.Tensors != 3 || unused.Params != 65536+1024+64 {
		t.Errorf("unused part %+v, want codebook_used + extra + inv_freq", unused)
	}
}

func TestTruncatedCheckpointIsRejected(t *testing.T) {
	tests := []struct {
		name   string
		format checkpointtest.Format
		shards int
		file   string
	}{
		{"safetensors", checkpointtest.Safetensors, 0, "model.safetensors"},
		{"pytorch zip", checkpointtest.PyTorch, 0, "pytorch_model.bin"},
		{"second shard", checkpointtest.PyTorch, 2, "pytorch_model-00002-of-00002.bin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := fakeRelease(t, "janus-pro-1b", tc.format, tc.shards, nil)
			path := filepath.Join(dir, tc.file)
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, st.Size()-1000); err != nil {
				t.Fatal(err)
			}
			rep, err := openAndCheck(t, dir)
			if err == nil {
				t.Fatalf("a truncated %s bound: %+v", tc.file, rep)
			}
			if !strings.Contains(err.Error(), tc.file) {
				t.Errorf("error does not name the truncated file %s: %v", tc.file, err)
			}
		})
	}
}

// TestBindSparsePro7BIsFast opens the sparse 14.8 GB Pro-7B checkpoint and binds it: that
// must read only headers, not the data.
func TestBindSparsePro7BIsFast(t *testing.T) {
	dir := fakeRelease(t, "janus-pro-7b", checkpointtest.PyTorch, 2, nil)
	cfg := loadConfig(t, dir)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	ck, err := checkpoint.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	if _, err := weights.Check(ck, model.Plan(cfg)); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	var size int64
	for _, f := range ck.Files() {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		size += st.Size()
	}
	// 2 bytes for each of the 7,420,434,059 weights.BF16 parameters, plus the zip and pickle.
	if size < 2*7_420_434_059 {
		t.Errorf("the fake checkpoint holds %d bytes, less than the release's data", size)
	}
	t.Logf("open+bind of the sparse Pro-7B checkpoint (%d files, %.2f GB): %v, %.1f MB allocated, RSS %s",
		len(ck.Files()), float64(size)/1e9, elapsed, float64(alloc)/1e6, rss())
	// Generous bounds for a shared machine; a reader that touched the data would need
	// minutes and gigabytes.
	if elapsed > 5*time.Second {
		t.Errorf("open+bind took %v", elapsed)
	}
	if alloc > 64<<20 {
		t.Errorf("open+bind allocated %d bytes", alloc)
	}
}

func BenchmarkOpenAndCheckPro7B(b *testing.B) {
	dir := fakeRelease(b, "janus-pro-7b", checkpointtest.PyTorch, 2, nil)
	cfg := loadConfig(b, dir)
	b.ReportAllocs()
	for b.Loop() {
		ck, err := checkpoint.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := weights.Check(ck, model.Plan(cfg)); err != nil {
			b.Fatal(err)
		}
		ck.Close()
	}
}

// rss reads the resident set size on Linux, for the log only.
func rss() string {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmRSS:"))
		}
	}
	return "unknown"
}

// TestCheckAcceptsF64: the Loader narrows F64 tensors, so weights.Check accepts them and counts
// their parameters under F64.
func TestCheckAcceptsF64(t *testing.T) {
	const embed = "gen_embed.weight"
	dir := fakeRelease(t, "janus-pro-1b", checkpointtest.Safetensors, 0,
		change(embed, func(t *checkpointtest.Tensor) { t.DType = checkpoint.F64 }))
	rep, err := openAndCheck(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := rep.StoredDTypes[checkpoint.F64]; n != 16384*8 {
		t.Errorf("F64 parameters %d, want the %d of %s", n, 16384*8, embed)
	}
}
