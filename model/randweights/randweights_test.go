package randweights

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
	_ "github.com/janus-desktop/janus/internal/testbackends"
	"github.com/janus-desktop/janus/model"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/llm"
	"github.com/janus-desktop/janus/model/projector"
	"github.com/janus-desktop/janus/model/vision"
	"github.com/janus-desktop/janus/model/vq"
	"github.com/janus-desktop/janus/model/weights"
)

func tinyConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Load("testdata/tiny")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestBindsEveryNetwork loads every network of the tiny config from a Source and checks that
// exactly the plan's tensors were made, with matrices in the requested dtype.
func TestBindsEveryNetwork(t *testing.T) {
	cfg := tinyConfig(t)
	computetest.Each(t, compute.Options{Threads: 2}, func(t *testing.T, be compute.Backend) {
		bindsEveryNetwork(t, be, cfg)
	})
}

func bindsEveryNetwork(t *testing.T, be compute.Backend, cfg *config.Config) {
	for _, dt := range []compute.DType{compute.BF16, compute.F32} {
		t.Run(dt.String(), func(t *testing.T) {
			made := map[string]compute.DType{}
			src, err := New(model.Plan(cfg), be, Options{Seed: 1, MatrixDType: dt, Uploaded: func(name string, _ int, t *compute.Tensor) {
				made[name] = t.DType
			}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := vision.Load(be, src, cfg.Vision); err != nil {
				t.Fatal(err)
			}
			if _, err := projector.LoadProjector(be, src, weights.AlignerPrefix, cfg.Aligner); err != nil {
				t.Fatal(err)
			}
			m, err := llm.Load(be, src, cfg.LLM, true)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := src.Matrix(weights.GenEmbedName, cfg.GenEmbed.Size, cfg.GenEmbed.Dim); err != nil {
				t.Fatal(err)
			}
			if _, err := projector.LoadProjector(be, src, weights.GenAlignerPrefix, cfg.GenAligner); err != nil {
				t.Fatal(err)
			}
			if _, err := projector.LoadHead(be, src, weights.GenHeadPrefix, cfg.GenHead); err != nil {
				t.Fatal(err)
			}
			if _, err := vq.Load(be, src, vq.ParamsFromConfig(cfg.VQ)); err != nil {
				t.Fatal(err)
			}
			var planned []string
			for _, s := range model.Plan(cfg) {
				planned = append(planned, s.Name)
				got, ok := made[s.Name]
				switch {
				case !ok:
					t.Errorf("%s was not made", s.Name)
				case s.Kind == weights.Matrix && got != dt:
					t.Errorf("matrix %s made as %v, want %v", s.Name, got, dt)
				case s.Kind == weights.Dense && got != compute.F32:
					t.Errorf("dense %s made as %v, want F32", s.Name, got)
				}
			}
			for name := range made {
				if !slices.Contains(planned, name) {
					t.Errorf("%s made but not in the plan", name)
				}
			}
			// The decoder runs on these weights and gives finite numbers.
			x, err := m.Embed([]int32{1, 2, 3}, 1)
			if err != nil {
				t.Fatal(err)
			}
			c, err := m.NewCache(1, 3)
			if err != nil {
				t.Fatal(err)
			}
			h, err := m.Forward(x, c)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float32, h.Len())
			if err := be.Read(h, out); err != nil {
				t.Fatal(err)
			}
			for i, v := range out {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v == 0 {
					t.Fatalf("hidden state %d is %v", i, v)
				}
			}
		})
	}
}

// TestDistributions checks each kind of tensor against the peer's initialisation by its
// sample mean and standard deviation.
func TestDistributions(t *testing.T) {
	cfg := tinyConfig(t)
	computetest.Each(t, compute.Options{Threads: 2}, func(t *testing.T, be compute.Backend) {
		defer be.Close()
		src, err := New(model.Plan(cfg), be, Options{Seed: 3, MatrixDType: compute.F32})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name      string
			mean, std float64
		}{
			{"language_model.model.layers.0.self_attn.q_proj.weight", 0, 1 / 8.0},         // [64, 64]
			{"language_model.model.layers.1.mlp.down_proj.weight", 0, 1 / math.Sqrt(172)}, // [64, 172]
			{"language_model.model.embed_tokens.weight", 0, 1},
			{"language_model.lm_head.weight", 0, 1 / 8.0},
			{"language_model.model.layers.0.input_layernorm.weight", 1, 0},
			{"language_model.model.norm.weight", 1, 0},
			{"vision_model.vision_tower.patch_embed.proj.weight", 0, 1 / math.Sqrt(3*16*16)},
			{"vision_model.vision_tower.patch_embed.proj.bias", 0, 0.02},
			{"vision_model.vision_tower.pos_embed", 0, 0.02},
			{"vision_model.vision_tower.blocks.0.norm1.weight", 1, 0},
			{"vision_model.vision_tower.blocks.0.norm1.bias", 0, 0},
			{"vision_model.vision_tower.blocks.0.attn.qkv.bias", 0, 0.02},
			{"gen_embed.weight", 0, 1},
			{"gen_head.vision_head.weight", 0, 1 / 8.0},
			{"gen_vision_model.quantize.embedding.weight", 0, 1},
			{"gen_vision_model.decoder.conv_in.weight", 0, 1 / math.Sqrt(32*3*3)}, // [128, 32, 3, 3]
			{"gen_vision_model.decoder.norm_out.bias", 0, 0},
		}
		specs := map[string]weights.Spec{}
		for _, s := range model.Plan(cfg) {
			specs[s.Name] = s
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				sp, ok := specs[tt.name]
				if !ok {
					t.Fatalf("%s is not in the plan", tt.name)
				}
				tn, err := src.F32(tt.name, sp.Shape...)
				if err != nil {
					t.Fatal(err)
				}
				v := make([]float32, tn.Len())
				if err := be.Read(tn, v); err != nil {
					t.Fatal(err)
				}
				var sum, sq float64
				for _, x := range v {
					sum += float64(x)
				}
				mean := sum / float64(len(v))
				for _, x := range v {
					sq += (float64(x) - mean) * (float64(x) - mean)
				}
				std := math.Sqrt(sq / float64(len(v)))
				// Sampling error of n values: about std/sqrt(n) for the mean, std/sqrt(2n) for std.
				tol := 5 * tt.std / math.Sqrt(float64(len(v)))
				if math.Abs(mean-tt.mean) > tol+1e-7 || math.Abs(std-tt.std) > 1.5*tol+1e-7 {
					t.Errorf("%d values: mean %.5f std %.5f, want %.5f and %.5f (±%.5f)", len(v), mean, std, tt.mean, tt.std, tol)
				}
			})
		}
	})
}

// TestDeterministic checks that a seed fixes every value and that another seed changes them.
func TestDeterministic(t *testing.T) {
	cfg := tinyConfig(t)
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, be compute.Backend) {
		defer be.Close()
		values := func(seed uint64, load func(*Source) (*compute.Tensor, error)) []float32 {
			src, err := New(model.Plan(cfg), be, Options{Seed: seed, MatrixDType: compute.BF16})
			if err != nil {
				t.Fatal(err)
			}
			tn, err := load(src)
			if err != nil {
				t.Fatal(err)
			}
			// Read takes F32 tensors only: widen the BF16 matrix through an embedding lookup.
			out := make([]float32, tn.Len())
			rows := tn.Dim(0)
			ids := make([]int32, rows)
			for i := range ids {
				ids[i] = int32(i)
			}
			dst := be.New(compute.F32, rows, tn.Len()/rows)
			be.Embedding(dst, tn, ids)
			if err := be.Read(dst, out); err != nil {
				t.Fatal(err)
			}
			return out
		}
		const name = "language_model.model.layers.0.mlp.up_proj.weight"
		whole := func(s *Source) (*compute.Tensor, error) { return s.Matrix(name, 172, 64) }
		a, b, c := values(5, whole), values(5, whole), values(6, whole)
		if !slices.Equal(a, b) {
			t.Error("the same seed gave different values")
		}
		if slices.Equal(a, c) {
			t.Error("seeds 5 and 6 gave the same values")
		}
		rows := func(s *Source) (*compute.Tensor, error) { return s.MatrixRows(name, 0, 172) }
		if r := values(5, rows); !slices.Equal(a, r) {
			t.Error("MatrixRows over all rows differs from Matrix")
		}
		if _, ok := be.(compute.RowWriter); ok {
			// Made a few rows at a time (a backend that takes rows), the values are the same.
			for _, block := range []int{64 * 2, 5 * 64 * 2, 3000} {
				blocks := func(s *Source) (*compute.Tensor, error) { s.block = block; return s.Matrix(name, 172, 64) }
				if got := values(5, blocks); !slices.Equal(a, got) {
					t.Errorf("made in blocks of %d bytes, the values differ", block)
				}
			}
		}
	})
}

// TestErrors checks that requests the plan cannot serve fail with the tensor's name.
func TestErrors(t *testing.T) {
	cfg := tinyConfig(t)
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, be compute.Backend) {
		defer be.Close()
		src, err := New(model.Plan(cfg), be, Options{MatrixDType: compute.BF16})
		if err != nil {
			t.Fatal(err)
		}
		const q = "language_model.model.layers.0.self_attn.q_proj.weight"
		tests := []struct {
			name string
			call func() (*compute.Tensor, error)
			want string
		}{
			{"unknown", func() (*compute.Tensor, error) { return src.F32("no.such.weight", 3) }, "no.such.weight is not in the model's plan"},
			{"shape", func() (*compute.Tensor, error) { return src.Matrix(q, 64, 65) }, "has shape [64 64] in the plan, not [64 65]"},
			{"rank", func() (*compute.Tensor, error) { return src.Matrix(q, 4096) }, "not [4096]"},
			{"rows past the end", func() (*compute.Tensor, error) { return src.MatrixRows(q, 10, 65) }, "rows [10, 65)"},
			{"empty rows", func() (*compute.Tensor, error) { return src.F32Rows(q, 3, 3) }, "rows [3, 3)"},
			{"f16", func() (*compute.Tensor, error) { return src.Load(q, compute.F16, 64, 64) }, "only F32, BF16 and the quantized dtypes"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tn, err := tt.call()
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got %v, %v; want an error containing %q", tn, err, tt.want)
				}
			})
		}
		if _, err := New(model.Plan(cfg), be, Options{MatrixDType: compute.F16}); err == nil {
			t.Error("New accepted F16 matrices")
		}
		src.Release()
		if _, err := src.F32(q, 64, 64); err == nil || !strings.Contains(err.Error(), "after Release") {
			t.Errorf("after Release: %v", err)
		}
	})
}

// TestBF16 checks the float32 → bfloat16 rounding: to nearest, ties to even.
func TestBF16(t *testing.T) {
	tests := []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // tie, even stays
		{0x3f818000, 0x3f82}, // tie, odd rounds up
		{0x3f808001, 0x3f81}, // above the tie
		{0x3f807fff, 0x3f80}, // below the tie
		{0xbf800000, 0xbf80}, // -1
		{0x00000000, 0x0000},
		{0x7f7fffff, 0x7f80}, // the largest float32 rounds to +Inf, as torch does
	}
	for _, tt := range tests {
		if got := bf16(math.Float32frombits(tt.in)); got != tt.want {
			t.Errorf("bf16(%#08x) = %#04x, want %#04x", tt.in, got, tt.want)
		}
	}
}
