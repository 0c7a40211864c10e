package vision

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/cpu"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/config"
)

// ckSource is a minimal Source over a checkpoint for tests: it keeps every tensor in its
// stored dtype for Matrix, as the model package's default policy does.
type ckSource struct {
	ck *checkpoint.Checkpoint
	be compute.Backend
}

func dtypeOf(d checkpoint.DType) (compute.DType, error) {
	switch d {
	case checkpoint.F32:
		return compute.F32, nil
	case checkpoint.F16:
		return compute.F16, nil
	case checkpoint.BF16:
		return compute.BF16, nil
	}
	return 0, fmt.Errorf("dtype %s", d)
}

func (s ckSource) load(name string, keep bool, r0, r1 int, shape []int) (*compute.Tensor, error) {
	info, ok := s.ck.Info(name)
	if !ok {
		return nil, fmt.Errorf("tensor %s missing", name)
	}
	src, err := dtypeOf(info.DType)
	if err != nil {
		return nil, err
	}
	raw, err := s.ck.Raw(name)
	if err != nil {
		return nil, err
	}
	if r1 >= 0 {
		row := info.NumBytes() / info.Shape[0]
		raw = raw[r0*row : r1*row]
		shape = append([]int{r1 - r0}, info.Shape[1:]...)
	} else if !slices.Equal(shape, info.Shape) {
		return nil, fmt.Errorf("tensor %s has shape %v, want %v", name, info.Shape, shape)
	}
	dt := compute.F32
	if keep {
		dt = src
	}
	return s.be.FromBytes(dt, shape, src, raw)
}

func (s ckSource) Matrix(name string, shape ...int) (*compute.Tensor, error) {
	return s.load(name, true, 0, -1, shape)
}
func (s ckSource) MatrixRows(name string, r0, r1 int) (*compute.Tensor, error) {
	return s.load(name, true, r0, r1, nil)
}
func (s ckSource) F32(name string, shape ...int) (*compute.Tensor, error) {
	return s.load(name, false, 0, -1, shape)
}
func (s ckSource) F32Rows(name string, r0, r1 int) (*compute.Tensor, error) {
	return s.load(name, false, r0, r1, nil)
}

func loadTiny(t *testing.T, be compute.Backend) (*Model, string) {
	t.Helper()
	dir := fixtures.Path(t, "models", "tiny-a")
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ck.Close() })
	m, err := Load(be, ckSource{ck, be}, cfg.Vision)
	if err != nil {
		t.Fatal(err)
	}
	return m, fixtures.Path(t, "golden", "tiny-a")
}

func TestGoldenTinyA(t *testing.T) {
	be := cpu.New(2)
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
			out := m.Forward(px)
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
}

func TestPixelsRejectsWrongSize(t *testing.T) {
	be := cpu.New(1)
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
}

func TestLoadErrors(t *testing.T) {
	be := cpu.New(1)
	dir := fixtures.Path(t, "models", "tiny-a")
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
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
			if m, err := Load(be, ckSource{ck, be}, c); err == nil {
				m.Free()
				t.Error("no error")
			}
		})
	}
}

// TestPixelsTowerNormalisation checks the tower's own input normalisation, which no release
// configures but the config allows: (x - mean[c]) / std[c] per channel.
func TestPixelsTowerNormalisation(t *testing.T) {
	be := cpu.New(1)
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
}
