package model

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/checkpoint/checkpointtest"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/weights"
	"github.com/janus-desktop/janus/model/weights/weightstest"
)

// TestWeightsBytesSkips: WeightsBytes without some parts is the plan's bytes of every other
// tensor, in each format, for the parts each task leaves out.
func TestWeightsBytesSkips(t *testing.T) {
	cfg, err := config.Load(fixtures.Path(t, "real-configs", "janus-pro-1b"))
	if err != nil {
		t.Fatal(err)
	}
	for f, prec := range map[string]weights.Precision{WeightsStored: weights.BF16, WeightsQ8: weights.Q8_0, WeightsQ4: weights.Q4_0} {
		for _, skip := range [][]weights.Part{nil, weights.UnderstandingParts(), weights.GenerationParts()} {
			var want int64
			for _, s := range Plan(cfg) {
				if !slices.Contains(skip, s.Part) {
					want += s.Bytes(prec)
				}
			}
			if got := WeightsBytes(cfg, f, skip...); got != want || want == 0 {
				t.Errorf("%s without %v: %d bytes, the plan's other tensors take %d", f, skip, got, want)
			}
		}
	}
	if all, gen := WeightsBytes(cfg, WeightsQ8), WeightsBytes(cfg, WeightsQ8, weights.UnderstandingParts()...); gen >= all*4/5 {
		t.Errorf("Q8 weights for generation only: %d of %d bytes, want under four fifths", gen, all)
	}
}

// TestEstimateLoad sizes sparse Janus-Pro-1B checkpoints as Load would hold them: each format,
// the parts a task skips, a checkpoint stored in F32 kept as F32 by "stored", "auto" resolved
// to ChooseWeights' pick, and the checks Load makes first.
func TestEstimateLoad(t *testing.T) {
	src := fixtures.Path(t, "real-configs", "janus-pro-1b")
	cfg, err := config.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	bf16, f32 := t.TempDir(), t.TempDir()
	if err := weightstest.WriteRelease(bf16, src, checkpointtest.Safetensors, 0, nil); err != nil {
		t.Fatal(err)
	}
	allF32 := func(ts []checkpointtest.Tensor) []checkpointtest.Tensor {
		for i := range ts {
			ts[i].DType = checkpoint.F32
		}
		return ts
	}
	if err := weightstest.WriteRelease(f32, src, checkpointtest.Safetensors, 0, allF32); err != nil {
		t.Fatal(err)
	}
	gen := weights.UnderstandingParts()
	// Q8 with the matrices it does not quantize (the ViT's, the VQ decoder's) in F32.
	var q8F32 int64
	for _, s := range Plan(cfg) {
		b := s.Bytes(weights.Q8_0)
		if b == s.Bytes(weights.BF16) {
			b = s.Bytes(weights.F32)
		}
		q8F32 += b
	}
	if q8F32 <= WeightsBytes(cfg, WeightsQ8) {
		t.Fatal("Q8 with F32 matrices is no larger than with BF16 ones: the case below checks nothing")
	}
	for _, tt := range []struct {
		name, dir string
		opts      Options
		format    string
		want      int64
		matrices  weights.Precision
	}{
		{"q8", bf16, Options{Weights: WeightsQ8}, WeightsQ8, WeightsBytes(cfg, WeightsQ8), weights.Q8_0},
		{"q4 for generation", bf16, Options{Weights: "Q4", SkipUnderstanding: true}, WeightsQ4, WeightsBytes(cfg, WeightsQ4, gen...), weights.Q4_0},
		{"stored", bf16, Options{Weights: WeightsStored}, WeightsStored, WeightsBytes(cfg, WeightsBF16), weights.BF16},
		{"as stored", bf16, Options{SkipGeneration: true}, "", WeightsBytes(cfg, WeightsBF16, weights.GenerationParts()...), weights.BF16},
		{"stored in F32", f32, Options{Weights: WeightsStored}, WeightsStored, WeightsBytes(cfg, WeightsF32), weights.F32},
		{"bf16 of F32", f32, Options{Weights: WeightsBF16}, WeightsBF16, WeightsBytes(cfg, WeightsBF16), weights.BF16},
		{"q8 of F32", f32, Options{Weights: WeightsQ8}, WeightsQ8, q8F32, weights.Q8_0},
		{"q8, matrices in F32", bf16, Options{Weights: WeightsQ8, MatrixDType: "F32"}, WeightsQ8, q8F32, weights.Q8_0},
		{"matrices in F32", bf16, Options{MatrixDType: "F32"}, "", WeightsBytes(cfg, WeightsF32), weights.F32},
		{"matrices in BF16", f32, Options{MatrixDType: "bf16"}, "", WeightsBytes(cfg, WeightsBF16), weights.BF16},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, err := EstimateLoad(tt.dir, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if e.Format != tt.format || e.Bytes != tt.want || e.Matrices != tt.matrices {
				t.Errorf("EstimateLoad = %s, %d bytes, %s matrices, want %s, %d, %s", e.Format, e.Bytes, e.Matrices, tt.format, tt.want, tt.matrices)
			}
		})
	}
	if WeightsBytes(cfg, WeightsF32) <= WeightsBytes(cfg, WeightsBF16) {
		t.Fatal("F32 weights are no larger than BF16: the test above checks nothing")
	}
	t.Run("auto", func(t *testing.T) {
		e, err := EstimateLoad(bf16, Options{Weights: WeightsAuto, SkipUnderstanding: true})
		if err != nil {
			t.Fatal(err)
		}
		auto, reason := ChooseWeights(MachineMemory(), func(f string) int64 { return WeightsBytes(cfg, f, gen...) })
		if e.Format != auto || e.Auto != auto || e.AutoReason != reason || e.Bytes != WeightsBytes(cfg, auto, gen...) {
			t.Errorf("EstimateLoad(auto) = %+v, want %s (%s) sized for generation", e, auto, reason)
		}
	})
	t.Run("errors", func(t *testing.T) {
		// The options are checked before the folder is read.
		if _, err := EstimateLoad(t.TempDir(), Options{Weights: "q3"}); err == nil || !strings.Contains(err.Error(), `"q3"`) {
			t.Errorf("weights q3: %v, want an error naming it", err)
		}
		if _, err := EstimateLoad(t.TempDir(), Options{MatrixDType: "F99"}); err == nil || !strings.Contains(err.Error(), `"F99"`) {
			t.Errorf("matrix dtype F99: %v, want an error naming it", err)
		}
		if _, err := EstimateLoad(t.TempDir(), Options{Weights: WeightsF32, MatrixDType: "BF16"}); err == nil || !strings.Contains(err.Error(), "disagree") {
			t.Errorf("weights f32 with matrix dtype BF16: %v, want them said to disagree", err)
		}
		if _, err := EstimateLoad(t.TempDir(), Options{}); err == nil || !strings.Contains(err.Error(), "config.json") {
			t.Errorf("empty folder: %v, want an error naming config.json", err)
		}
		noVision := t.TempDir()
		drop := func(ts []checkpointtest.Tensor) []checkpointtest.Tensor {
			return slices.DeleteFunc(ts, func(x checkpointtest.Tensor) bool { return strings.HasPrefix(x.Name, "vision_model.") })
		}
		if err := weightstest.WriteRelease(noVision, src, checkpointtest.Safetensors, 0, drop); err != nil {
			t.Fatal(err)
		}
		var be *weights.BindError
		if _, err := EstimateLoad(noVision, Options{}); !errors.As(err, &be) {
			t.Errorf("no vision tensors: %v, want a BindError", err)
		}
		if _, err := EstimateLoad(noVision, Options{SkipUnderstanding: true}); err != nil {
			t.Errorf("no vision tensors, loaded for generation: %v", err)
		}
	})
}
