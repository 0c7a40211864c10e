package vision

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
	"github.com/janus-desktop/janus/internal/ctxtest"
	"github.com/janus-desktop/janus/internal/fixtures"
	_ "github.com/janus-desktop/janus/internal/testbackends"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/weights"
	"github.com/janus-desktop/janus/model/weights/weightstest"
)

// openTiny reads tiny-a's config and opens its checkpoint for the test's duration.
func openTiny(t *testing.T) (*config.Config, *checkpoint.Checkpoint) {
	t.Helper()
	return weightstest.OpenModel(t, fixtures.Path(t, "models", "tiny-a"))
}

func loadTiny(t *testing.T, be compute.Backend) (*Model, string) {
	t.Helper()
	cfg, ck := openTiny(t)
	m, err := Load(be, weights.NewLoader(ck, be), cfg.Vision)
	if err != nil {
		t.Fatal(err)
	}
	return m, fixtures.Path(t, "golden", "tiny-a")
}

func TestGoldenTinyA(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 2}, func(t *testing.T, be compute.Backend) {
		m, golden := loadTiny(t, be)
		defer m.Free()
		pixels := fixtures.Float32s(t, filepath.Join(golden, "pixel_values.bin"))
		tests := []struct {
			name   string
			images [][]float32
		}{
			{"one image", [][]float32{pixels}},
			// A batch must give each image exactly what it gets alone.
			{"batch of three", [][]float32{pixels, pixels, pixels}},
		}
		want := fixtures.Float32s(t, filepath.Join(golden, "vision_features.bin"))
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				px, err := m.Pixels(tt.images...)
				if err != nil {
					t.Fatal(err)
				}
				out, err := m.Forward(context.Background(), px)
				if err != nil {
					t.Fatal(err)
				}
				if got, wantShape := out.Shape, []int{len(tt.images), 16, 64}; !slices.Equal(got, wantShape) {
					t.Fatalf("shape %v, want %v", got, wantShape)
				}
				got := make([]float32, out.Len())
				if err := be.Read(out, got); err != nil {
					t.Fatal(err)
				}
				for i := range tt.images {
					if ok, diff, bound := fixtures.Close(got[i*len(want):(i+1)*len(want)], want, 1e-4); !ok {
						t.Errorf("image %d: max |diff| %.3g > %.3g", i, diff, bound)
					}
				}
			})
		}
	})
}

func TestPixelsRejectsWrongSize(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, be compute.Backend) {
		m, _ := loadTiny(t, be)
		defer m.Free()
		tests := []struct {
			name   string
			images [][]float32
		}{
			{"none", nil},
			{"too short", [][]float32{make([]float32, 3*64*64-1)}},
			{"second wrong", [][]float32{make([]float32, 3*64*64), make([]float32, 3*32*32)}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if _, err := m.Pixels(tt.images...); err == nil {
					t.Error("no error")
				}
			})
		}
	})
}

func TestLoadErrors(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, be compute.Backend) {
		cfg, ck := openTiny(t)
		tests := []struct {
			name   string
			change func(*config.Vision)
		}{
			{"wider than the checkpoint", func(c *config.Vision) { c.Width, c.HeadDim = 128, 32 }},
			{"more layers than the checkpoint", func(c *config.Vision) { c.Layers = 5 }},
			{"heads do not divide width", func(c *config.Vision) { c.Heads = 5 }},
			{"wrong mlp width", func(c *config.Vision) { c.MLPHidden = 100 }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := cfg.Vision
				tt.change(&c)
				if m, err := Load(be, weights.NewLoader(ck, be), c); err == nil {
					m.Free()
					t.Error("no error")
				}
			})
		}
	})
}

// TestPixelsTowerNormalisation checks the tower's own input normalisation, which no release
// configures but the config allows: (x - mean[c]) / std[c] per channel.
func TestPixelsTowerNormalisation(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, be compute.Backend) {
		tests := []struct {
			name      string
			mean, std []float64
			want      [3]float32 // result for an input of 1 in every channel
		}{
			{"none", nil, nil, [3]float32{1, 1, 1}},
			{"per channel", []float64{0.5, 0, 1}, []float64{0.5, 2, 4}, [3]float32{1, 0.5, 0}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := &Model{Config: config.Vision{ImageSize: 2, PixelMean: tt.mean, PixelStd: tt.std}, be: be}
				img := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
				px, err := m.Pixels(img, img)
				if err != nil {
					t.Fatal(err)
				}
				got := make([]float32, px.Len())
				if err := be.Read(px, got); err != nil {
					t.Fatal(err)
				}
				for i, v := range got {
					if c := (i / 4) % 3; v != tt.want[c] {
						t.Fatalf("value %d (channel %d) = %v, want %v", i, c, v, tt.want[c])
					}
				}
				if img[0] != 1 {
					t.Error("Pixels modified its input")
				}
			})
		}
	})
}

// TestGridFloorsImageSize: with an image size that is not a multiple of the patch size the
// grid is floor(image/patch), as in timm, and the pixels right of and below the last whole
// patch are never read. tiny-a's tower at 70 px (patch 16) still has a 4×4 grid, so an image
// whose top-left 64×64 pixels are tiny-a's golden input gives the golden features, whatever
// the other pixels hold.
func TestGridFloorsImageSize(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 2}, func(t *testing.T, be compute.Backend) {
		golden := fixtures.Path(t, "golden", "tiny-a")
		cfg, ck := openTiny(t)
		const size, inner = 70, 64
		c := cfg.Vision
		c.ImageSize = size
		m, err := Load(be, weights.NewLoader(ck, be), c)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Free()
		pixels := fixtures.Float32s(t, filepath.Join(golden, "pixel_values.bin"))
		big := make([]float32, 3*size*size)
		for i := range big {
			big[i] = float32(i%13)/6 - 1 // the margin: anything
		}
		for ch := range 3 {
			for y := range inner {
				copy(big[(ch*size+y)*size:][:inner], pixels[(ch*inner+y)*inner:][:inner])
			}
		}
		px, err := m.Pixels(big)
		if err != nil {
			t.Fatal(err)
		}
		out, err := m.Forward(context.Background(), px)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out.Shape, []int{1, 16, 64}) {
			t.Fatalf("shape %v, want [1 16 64]", out.Shape)
		}
		got := make([]float32, out.Len())
		if err := be.Read(out, got); err != nil {
			t.Fatal(err)
		}
		if ok, diff, bound := fixtures.Close(got, fixtures.Float32s(t, filepath.Join(golden, "vision_features.bin")), 1e-4); !ok {
			t.Errorf("max |diff| %.3g > %.3g", diff, bound)
		}
		bad := c
		bad.Grid, bad.Tokens = 5, 25 // what rounding up would give
		if m, err := Load(be, weights.NewLoader(ck, be), bad); err == nil {
			m.Free()
			t.Error("a grid rounded up was accepted")
		}
	})
}

// TestForwardStops: an encoding whose context ends partway returns the context's error
// before the next block and frees everything it allocated.
func TestForwardStops(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 2}, func(t *testing.T, be compute.Backend) {
		m, golden := loadTiny(t, be)
		defer m.Free()
		px, err := m.Pixels(fixtures.Float32s(t, filepath.Join(golden, "pixel_values.bin")))
		if err != nil {
			t.Fatal(err)
		}
		defer be.Free(px)
		if len(m.Blocks) < 2 {
			t.Fatalf("%d blocks: the stop must fall between two", len(m.Blocks))
		}
		before := be.MemoryUsed()
		out, err := m.Forward(ctxtest.StopAfter(1), px)
		if out != nil || err != context.Canceled {
			t.Fatalf("an encoding stopped after its first block returned %v, %v; want nil, context.Canceled", out, err)
		}
		if err := be.Sync(); err != nil {
			t.Fatal(err)
		}
		if after := be.MemoryUsed(); after != before {
			t.Errorf("a stopped encoding left %d bytes allocated", after-before)
		}
	})
}
