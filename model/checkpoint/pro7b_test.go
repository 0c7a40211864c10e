package checkpoint_test

import (
	"path/filepath"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/checkpoint/checkpointtest"
)

const (
	pro7BTensors = 936
	pro7BParams  = 7_420_434_059
)

// writePro7B builds a sparse fake Janus-Pro-7B checkpoint (every released name and shape,
// no data on disk) sharded in two files with an index, and returns the index path.
func writePro7B(tb testing.TB, format checkpointtest.Format) string {
	tb.Helper()
	keys, err := checkpointtest.LoadKeys(fixtures.Path(tb, "real-configs", "janus-pro-7b", "keys.json"))
	if err != nil {
		tb.Fatal(err)
	}
	index, err := checkpointtest.WriteSharded(tb.TempDir(), format, keys, 2, checkpointtest.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return index
}

var formats = []struct {
	name   string
	format checkpointtest.Format
}{
	{"safetensors", checkpointtest.Safetensors},
	{"pytorch", checkpointtest.PyTorch},
}

// TestSparsePro7B opens a 15 GB sparse Pro-7B checkpoint in both formats, through the index
// and through the folder, and checks the tensor count, parameter total and order.
func TestSparsePro7B(t *testing.T) {
	keys, err := checkpointtest.LoadKeys(fixtures.Path(t, "real-configs", "janus-pro-7b", "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			index := writePro7B(t, f.format)
			for _, path := range []string{index, filepath.Dir(index)} {
				c, err := checkpoint.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				infos := c.Tensors()
				if len(infos) != pro7BTensors {
					t.Errorf("%d tensors, want %d", len(infos), pro7BTensors)
				}
				params := 0
				for i, info := range infos {
					params += info.NumElements()
					if info.DType != checkpoint.BF16 {
						t.Errorf("%s: dtype %s", info.Name, info.DType)
					}
					if i < len(keys) && info.Name != keys[i].Name {
						t.Errorf("tensor %d is %s, want %s (state-dict order)", i, info.Name, keys[i].Name)
					}
				}
				if params != pro7BParams {
					t.Errorf("%d parameters, want %d", params, pro7BParams)
				}
				if n := len(c.Files()); n != 2 {
					t.Errorf("%d files, want 2", n)
				}
				if info, _ := c.Info("language_model.lm_head.weight"); info.NumBytes() != 102400*4096*2 {
					t.Errorf("lm_head: %d bytes", info.NumBytes())
				}
				raw, err := c.Raw("language_model.model.norm.weight")
				if err != nil {
					t.Fatal(err)
				}
				if len(raw) != 4096*2 || raw[0] != 0 || raw[len(raw)-1] != 0 {
					t.Errorf("norm: %d bytes, ends %d %d", len(raw), raw[0], raw[len(raw)-1])
				}
				if err := c.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpenPro7B measures Open (headers or data.pkl plus zip directories only) and Close
// of the sparse 15 GB Pro-7B checkpoint.
func BenchmarkOpenPro7B(b *testing.B) {
	for _, f := range formats {
		b.Run(f.name, func(b *testing.B) {
			index := writePro7B(b, f.format)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				c, err := checkpoint.Open(index)
				if err != nil {
					b.Fatal(err)
				}
				if len(c.Tensors()) != pro7BTensors {
					b.Fatal("wrong tensor count")
				}
				c.Close()
			}
		})
	}
}
