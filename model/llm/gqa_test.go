package llm

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
	"github.com/janus-desktop/janus/internal/fixtures"
	_ "github.com/janus-desktop/janus/internal/testbackends"
	"github.com/janus-desktop/janus/model/weights"
)

// repeatKV returns the tensors of the multi-head model equivalent to the grouped-query one:
// each k_proj/v_proj gets one block of headDim rows per query head, query head h reading KV
// head kvOf(h). transformers' repeat_kv gives query head h the KV head h/(heads/kvHeads).
func repeatKV(gqa map[string]memTensor, layers, heads, headDim, hidden int, kvOf func(h int) int) map[string]memTensor {
	mha := maps.Clone(gqa)
	for i := range layers {
		for _, proj := range []string{"k_proj", "v_proj"} {
			name := fmt.Sprintf("%smodel.layers.%d.self_attn.%s.weight", weights.LLMPrefix, i, proj)
			src := gqa[name].data
			data := make([]float32, 0, heads*headDim*hidden)
			for h := range heads {
				block := kvOf(h) * headDim * hidden
				data = append(data, src[block:block+headDim*hidden]...)
			}
			mha[name] = memTensor{[]int{heads * headDim, hidden}, data}
		}
	}
	return mha
}

// TestGQAMatchesRepeatedMHA checks grouped-query attention: a decoder with fewer KV heads
// than query heads must give the logits of the multi-head decoder whose k_proj and v_proj
// repeat each KV head for its group of query heads, through a prefill and cached steps. The
// same repetition interleaved (query head h reading KV head h mod kvHeads) must not match,
// so the test would catch a backend that groups heads the wrong way.
func TestGQAMatchesRepeatedMHA(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 2}, func(t *testing.T, be compute.Backend) {
		defer be.Close()
		tests := []struct {
			name           string
			heads, kvHeads int
		}{
			{"two groups of two", 4, 2},
			{"one KV head (multi-query)", 4, 1},
			{"three groups of two", 6, 3},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				gcfg := smallConfig(tt.heads, tt.kvHeads)
				mcfg := gcfg
				mcfg.KVHeads = tt.heads
				gqa := randomWeights(gcfg, 11)
				rep := tt.heads / tt.kvHeads
				mha := repeatKV(gqa, gcfg.Layers, tt.heads, gcfg.HeadDim, gcfg.Hidden, func(h int) int { return h / rep })
				ids := randomIDs(9, gcfg.Vocab, 5)

				got := runLogits(t, be, gcfg, gqa, compute.F32, ids, 6)
				want := runLogits(t, be, mcfg, mha, compute.F32, ids, 6)
				// The same products summed in the same order: equal bit for bit on the CPU, and
				// within float32 rounding on any backend.
				if ok, diff, bound := fixtures.Close(got, want, 1e-6); !ok {
					t.Errorf("GQA logits differ from the repeated-KV MHA model: max |diff| %.3g > %.3g", diff, bound)
				} else if be.Name() == "cpu" && !slices.Equal(got, want) {
					t.Errorf("GQA logits differ from the repeated-KV MHA model by %.3g on the CPU, which sums in a fixed order", diff)
				}
				if tt.kvHeads > 1 {
					wrong := repeatKV(gqa, gcfg.Layers, tt.heads, gcfg.HeadDim, gcfg.Hidden, func(h int) int { return h % tt.kvHeads })
					if ok, _, _ := fixtures.Close(got, runLogits(t, be, mcfg, wrong, compute.F32, ids, 6), 1e-3); ok {
						t.Error("GQA logits also match interleaved KV heads: the test cannot tell the groupings apart")
					}
				}
			})
		}
	})
}

// TestHalfMatrices checks that matrix weights stored as F16 or BF16 (what Options.MatrixDType
// selects) give logits close to float32 weights with the same values: within the rounding
// of the half-precision format. The bounds are about four times the format's relative
// precision (2^-11 for F16, 2^-8 for BF16) measured against the largest logit; they also check that
// the weights really were stored in the narrower dtype.
func TestHalfMatrices(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 2}, func(t *testing.T, be compute.Backend) {
		defer be.Close()
		cfg := smallConfig(4, 2)
		w := randomWeights(cfg, 23)
		ids := randomIDs(8, cfg.Vocab, 9)
		want := runLogits(t, be, cfg, w, compute.F32, ids, 5)
		tests := []struct {
			dt  compute.DType
			tol float64
		}{
			{compute.F16, 2e-3},
			{compute.BF16, 1.5e-2},
		}
		for _, tt := range tests {
			t.Run(tt.dt.String(), func(t *testing.T) {
				m, err := Load(be, &memWeights{be: be, tensors: w, matrixDT: tt.dt}, cfg, true)
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range []*compute.Tensor{m.Embedding, m.Layers[1].K, m.Layers[0].Down, m.Head} {
					if x.DType != tt.dt {
						t.Errorf("matrix %v stored as %v, want %v", x.Shape, x.DType, tt.dt)
					}
				}
				if m.Norm.DType != compute.F32 {
					t.Errorf("norm weight stored as %v, want F32", m.Norm.DType)
				}
				m.Free()
				got := runLogits(t, be, cfg, w, tt.dt, ids, 5)
				ok, diff, bound := fixtures.Close(got, want, tt.tol)
				if !ok {
					t.Errorf("%v logits: max |diff| %.3g > %.3g", tt.dt, diff, bound)
				}
				if slices.Equal(got, want) {
					t.Errorf("%v logits equal the F32 ones bit for bit: the weights were not rounded", tt.dt)
				}
				t.Logf("%v: max |diff| %.3g (bound %.3g)", tt.dt, diff, bound)
			})
		}
	})
}
