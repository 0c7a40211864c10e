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
