package checkpoint_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/model/checkpoint"
)

// expectedTensor is one entry of testdata/expected.json, written by make_testdata.py.
type expectedTensor struct {
	Name   string
	DType  checkpoint.DType `json:"dtype"`
	Shape  []int            `json:"shape"`
	Values []float64        `json:"values"`
}

// readExpected returns file name -> tensors in the order the Python side listed them.
func readExpected(t *testing.T) map[string][]expectedTensor {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var files map[string]json.RawMessage
	if err := json.Unmarshal(data, &files); err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]expectedTensor)
	for file, raw := range files {
		dec := json.NewDecoder(bytes.NewReader(raw))
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			var e expectedTensor
			if err := dec.Decode(&e); err != nil {
				t.Fatal(err)
			}
			e.Name = tok.(string)
			out[file] = append(out[file], e)
		}
	}
	return out
}

// intValues decodes an integer tensor's raw bytes.
func intValues(t *testing.T, dt checkpoint.DType, raw []byte) []float64 {
	t.Helper()
	n := len(raw) / dt.Size()
	out := make([]float64, n)
	for i := range n {
		switch dt {
		case checkpoint.I64:
			out[i] = float64(int64(binary.LittleEndian.Uint64(raw[8*i:])))
		case checkpoint.I32:
			out[i] = float64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
		case checkpoint.I16:
			out[i] = float64(int16(binary.LittleEndian.Uint16(raw[2*i:])))
		case checkpoint.I8:
			out[i] = float64(int8(raw[i]))
		case checkpoint.U8, checkpoint.Bool:
			out[i] = float64(raw[i])
		default:
			t.Fatalf("intValues: %s is not an integer type", dt)
		}
	}
	return out
}

// checkAgainstExpected compares every tensor of c with the Python-side description.
func checkAgainstExpected(t *testing.T, c *checkpoint.Checkpoint, want []expectedTensor, checkOrder bool) {
	t.Helper()
	got := c.Tensors()
	if len(got) != len(want) {
		t.Fatalf("%d tensors, want %d", len(got), len(want))
	}
	for i, w := range want {
		if checkOrder && got[i].Name != w.Name {
			t.Errorf("tensor %d is %q, want %q", i, got[i].Name, w.Name)
		}
		info, ok := c.Info(w.Name)
		if !ok {
			t.Errorf("tensor %q missing", w.Name)
			continue
		}
		if info.DType != w.DType || !slices.Equal(info.Shape, w.Shape) {
			t.Errorf("%q: %s %v, want %s %v", w.Name, info.DType, info.Shape, w.DType, w.Shape)
			continue
		}
		var vals []float64
		switch w.DType {
		case checkpoint.F32, checkpoint.F16, checkpoint.BF16, checkpoint.F64:
			dst := make([]float32, info.NumElements())
			if err := c.Float32(w.Name, dst); err != nil {
				t.Errorf("%q: %v", w.Name, err)
				continue
			}
			for _, v := range dst {
				vals = append(vals, float64(v))
			}
		default:
			raw, err := c.Raw(w.Name)
			if err != nil {
				t.Errorf("%q: %v", w.Name, err)
				continue
			}
			vals = intValues(t, w.DType, raw)
		}
		if len(vals) != len(w.Values) {
			t.Errorf("%q: %d values, want %d", w.Name, len(vals), len(w.Values))
			continue
		}
		for k := range vals {
			if vals[k] != w.Values[k] || math.Signbit(vals[k]) != math.Signbit(w.Values[k]) {
				t.Errorf("%q[%d] = %v, want %v", w.Name, k, vals[k], w.Values[k])
				break
			}
		}
	}
}

// TestFilesFromPython reads a file written by real torch.save and a safetensors file written
// in Python, and checks every dtype, shape and value (including two views of one storage).
func TestFilesFromPython(t *testing.T) {
	expected := readExpected(t)
	for _, file := range []string{"torch_small.bin", "small.safetensors"} {
		t.Run(file, func(t *testing.T) {
			c, err := checkpoint.Open(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			checkAgainstExpected(t, c, expected[file], true)
		})
	}
}

// TestTorchFilesRefused checks the torch.save outputs this package refuses on purpose.
func TestTorchFilesRefused(t *testing.T) {
	tests := []struct {
		file, want string
	}{
		{"torch_noncontig.bin", "not contiguous"},
		{"torch_nested.bin", "nested"},
		{"torch_legacy.bin", "legacy PyTorch format not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			c, err := checkpoint.Open(filepath.Join("testdata", tc.file))
			if err == nil {
				c.Close()
				t.Fatal("opened without error")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.file) {
				t.Fatalf("error %q should mention %q and the file", err, tc.want)
			}
		})
	}
}
