// Package formulaweights turns the weights.json of the small generated test fixtures
// (model/testdata/generate and model/vq/testdata) into real checkpoints. Those fixtures store
// each tensor as a formula instead of its bytes, which keeps a whole model in a few KB: element
// i of a tensor is
//
//	offset + scale·q,  q = ((splitmix64(seed<<32 | i) >> (64-bits)) − 2^(bits−1)) / 2^(bits−1)
//
// with scale a power of two, so every value is exact in BF16. The script that made the
// fixtures evaluates the same formula in numpy.
package formulaweights

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/checkpoint/checkpointtest"
)

// Spec is one line of weights.json: [name, shape, seed, bits, scale, offset].
type Spec struct {
	// Name is the state-dict key of the tensor.
	Name string
	// Shape is the tensor's row-major shape.
	Shape []int
	// Seed picks the tensor's pseudo-random stream (the high 32 bits of the splitmix64 input).
	Seed uint64
	// Bits is the resolution of q, in [2, 24] so that offset + scale·q stays exact.
	Bits uint
	// Scale (a power of two) and Offset map q in [-1, 1) to the element value.
	Scale, Offset float64
}

// Read reads a weights.json.
func Read(path string) ([]Spec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read weight formulas: %w", err)
	}
	var rows [][6]json.RawMessage
	if err := json.Unmarshal(raw, &rows); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	specs := make([]Spec, len(rows))
	for i, r := range rows {
		s := &specs[i]
		for j, dst := range []any{&s.Name, &s.Shape, &s.Seed, &s.Bits, &s.Scale, &s.Offset} {
			if err := json.Unmarshal(r[j], dst); err != nil {
				return nil, fmt.Errorf("%s: entry %d field %d: %w", path, i, j, err)
			}
		}
		if s.Bits < 2 || s.Bits > 24 {
			return nil, fmt.Errorf("%s: tensor %s: %d bits outside [2, 24]", path, s.Name, s.Bits)
		}
	}
	return specs, nil
}

// Values evaluates the tensor's formula.
func (s Spec) Values() []float32 {
	n := 1
	for _, d := range s.Shape {
		n *= d
	}
	out := make([]float32, n)
	half := int64(1) << (s.Bits - 1)
	for i := range out {
		h := splitmix64(s.Seed<<32 | uint64(i))
		q := float64(int64(h>>(64-s.Bits))-half) / float64(half)
		out[i] = float32(s.Offset + float64(s.Scale*q)) // not fused on arm64: exact formulas everywhere
	}
	return out
}

// Tensors evaluates every spec as a BF16 checkpoint tensor (the formula's values are exact
// in BF16, so the truncation below loses nothing).
func Tensors(specs []Spec) []checkpointtest.Tensor {
	out := make([]checkpointtest.Tensor, len(specs))
	for i, s := range specs {
		vals := s.Values()
		data := make([]byte, 2*len(vals))
		for j, v := range vals {
			binary.LittleEndian.PutUint16(data[2*j:], uint16(math.Float32bits(v)>>16))
		}
		out[i] = checkpointtest.Tensor{Name: s.Name, DType: checkpoint.BF16, Shape: s.Shape, Data: data}
	}
	return out
}

// WriteModel makes a loadable model folder dst from a fixture folder src: every file of src
// except weights.json and the goldens (golden.json, *.bin) is copied, and the formulas of
// src/weights.json become dst/model.safetensors.
func WriteModel(dst, src string) error {
	specs, err := Read(filepath.Join(src, "weights.json"))
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("list fixture %s: %w", src, err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("make model folder: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || name == "weights.json" || name == "golden.json" || filepath.Ext(name) == ".bin" || filepath.Ext(name) == ".py" {
			continue
		}
		if err := copyFile(filepath.Join(dst, name), filepath.Join(src, name)); err != nil {
			return err
		}
	}
	return checkpointtest.WriteSafetensors(filepath.Join(dst, "model.safetensors"), Tensors(specs),
		checkpointtest.Options{Metadata: map[string]string{"format": "pt"}})
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy fixture file: %w", err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("copy fixture file: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return nil
}

func splitmix64(x uint64) uint64 {
	z := x + 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}
