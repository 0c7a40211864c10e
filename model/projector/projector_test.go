package projector

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
	"github.com/janus-desktop/janus/internal/fixtures"
	_ "github.com/janus-desktop/janus/internal/testbackends"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/weights"
	"github.com/janus-desktop/janus/model/weights/weightstest"
)

func openTiny(t *testing.T) (*config.Config, *checkpoint.Checkpoint) {
	t.Helper()
	return weightstest.OpenModel(t, fixtures.Path(t, "models", "tiny-a"))
}

func TestAlignerGoldenTinyA(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 2}, func(t *testing.T, be compute.Backend) {
		cfg, ck := openTiny(t)
		m, err := LoadProjector(be, weights.NewLoader(ck, be), weights.AlignerPrefix, cfg.Aligner)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Free()
		golden := fixtures.Path(t, "golden", "tiny-a")
		in := fixtures.Float32s(t, filepath.Join(golden, "vision_features.bin"))
		want := fixtures.Float32s(t, filepath.Join(golden, "aligner_features.bin"))
		x := be.FromFloat32(in, 1, 16, 64)
		out := m.Forward(x)
		if !slices.Equal(out.Shape, []int{1, 16, 64}) {
			t.Fatalf("shape %v", out.Shape)
		}
		got := make([]float32, out.Len())
		if err := be.Read(out, got); err != nil {
			t.Fatal(err)
		}
		if ok, diff, bound := fixtures.Close(got, want, 1e-4); !ok {
			t.Errorf("max |diff| %.3g > %.3g", diff, bound)
		}
		// The input is left alone.
		after := make([]float32, len(in))
		if err := be.Read(x, after); err != nil || !slices.Equal(after, in) {
			t.Errorf("Forward modified its input (err %v)", err)
		}
	})
}

// TestShapes binds each projector kind from the tiny checkpoint and checks the widths, and
// the values of the two kinds that are easy to compute here: identity, and a depth-1
// mlp_gelu, which is the aligner's first Linear alone.
func TestShapes(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, be compute.Backend) {
		cfg, ck := openTiny(t)
		src := weights.NewLoader(ck, be)
		tests := []struct {
			name    string
			load    func() (*MLP, error)
			in, out int
			layers  int
		}{
			{"aligner", func() (*MLP, error) { return LoadProjector(be, src, weights.AlignerPrefix, cfg.Aligner) }, 64, 64, 2},
			{"gen_aligner", func() (*MLP, error) { return LoadProjector(be, src, weights.GenAlignerPrefix, cfg.GenAligner) }, 8, 64, 2},
			{"gen_head", func() (*MLP, error) { return LoadHead(be, src, weights.GenHeadPrefix, cfg.GenHead) }, 64, 256, 2},
			{"depth 1", func() (*MLP, error) {
				c := cfg.Aligner
				c.Depth = 1
				return LoadProjector(be, src, weights.AlignerPrefix, c)
			}, 64, 64, 1},
			{"identity", func() (*MLP, error) {
				return LoadProjector(be, src, weights.AlignerPrefix, config.Projector{Type: config.ProjectorIdentity, InputDim: 64})
			}, 64, 64, 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m, err := tt.load()
				if err != nil {
					t.Fatal(err)
				}
				defer m.Free()
				if m.InputDim() != tt.in || m.OutputDim() != tt.out || len(m.Layers) != tt.layers {
					t.Errorf("in %d out %d layers %d, want %d %d %d", m.InputDim(), m.OutputDim(), len(m.Layers), tt.in, tt.out, tt.layers)
				}
				x := make([]float32, 3*tt.in)
				for i := range x {
					x[i] = float32(i%7) - 3
				}
				out := m.Forward(be.FromFloat32(x, 3, tt.in))
				if !slices.Equal(out.Shape, []int{3, tt.out}) {
					t.Errorf("output shape %v, want [3 %d]", out.Shape, tt.out)
				}
				got := make([]float32, out.Len())
				if err := be.Read(out, got); err != nil {
					t.Fatal(err)
				}
				switch tt.layers {
				case 0:
					if !slices.Equal(got, x) {
						t.Errorf("identity changed the rows")
					}
				case 1:
					want := hostLinear(t, ck, weights.AlignerPrefix+"layers.0", x, tt.in, tt.out)
					if ok, diff, bound := fixtures.Close(got, want, 1e-5); !ok {
						t.Errorf("depth 1: max |diff| %.3g > %.3g", diff, bound)
					}
				}
			})
		}
	})
}

// hostLinear computes x·Wᵀ + b in float64 from the checkpoint's weights.
func hostLinear(t *testing.T, ck *checkpoint.Checkpoint, name string, x []float32, in, out int) []float32 {
	w := make([]float32, in*out)
	b := make([]float32, out)
	if err := ck.Float32(name+".weight", w); err != nil {
		t.Fatal(err)
	}
	if err := ck.Float32(name+".bias", b); err != nil {
		t.Fatal(err)
	}
	rows := len(x) / in
	y := make([]float32, rows*out)
	for r := range rows {
		for o := range out {
			s := float64(b[o])
			for i := range in {
				s += float64(x[r*in+i]) * float64(w[o*in+i])
			}
			y[r*out+o] = float32(s)
		}
	}
	return y
}

func TestLoadErrors(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, be compute.Backend) {
		cfg, ck := openTiny(t)
		src := weights.NewLoader(ck, be)
		deep := cfg.Aligner
		deep.Depth = 3
		wide := cfg.Aligner
		wide.NEmbed = 128
		tests := []struct {
			name string
			cfg  config.Projector
		}{
			{"deeper than the checkpoint", deep},
			{"wider than the checkpoint", wide},
			{"unknown type", config.Projector{Type: "low_high_hybrid_split_mlp_gelu", InputDim: 64, NEmbed: 64, Depth: 2}},
			{"linear has no layers.weight", config.Projector{Type: config.ProjectorLinear, InputDim: 64, NEmbed: 64}},
			{"zero depth", config.Projector{Type: config.ProjectorMLPGELU, InputDim: 64, NEmbed: 64}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if m, err := LoadProjector(be, src, weights.AlignerPrefix, tt.cfg); err == nil {
					m.Free()
					t.Error("no error")
				}
			})
		}
	})
}
