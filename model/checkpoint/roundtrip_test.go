package checkpoint_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/checkpoint/checkpointtest"
)

// encodeFloats stores values that are exact in dt (the test picks them so) in dt's bytes.
func encodeFloats(t *testing.T, dt checkpoint.DType, vals []float32) []byte {
	t.Helper()
	out := make([]byte, 0, len(vals)*dt.Size())
	for _, v := range vals {
		bits := math.Float32bits(v)
		switch dt {
		case checkpoint.F32:
			out = binary.LittleEndian.AppendUint32(out, bits)
		case checkpoint.BF16:
			if bits&0xffff != 0 {
				t.Fatalf("%v is not exact in BF16", v)
			}
			out = binary.LittleEndian.AppendUint16(out, uint16(bits>>16))
		case checkpoint.F16:
			// Normal numbers only: rebias the exponent and drop 13 mantissa bits.
			sign := uint16(bits>>16) & 0x8000
			if v == 0 {
				out = binary.LittleEndian.AppendUint16(out, sign)
				continue
			}
			exp := int(bits>>23&0xff) - 127 + 15
			if exp <= 0 || exp >= 31 || bits&0x1fff != 0 {
				t.Fatalf("%v is not a normal F16 value", v)
			}
			out = binary.LittleEndian.AppendUint16(out, sign|uint16(exp)<<10|uint16(bits>>13&0x3ff))
		case checkpoint.F64:
			out = binary.LittleEndian.AppendUint64(out, math.Float64bits(float64(v)))
		default:
			t.Fatalf("encodeFloats: %s", dt)
		}
	}
	return out
}

// testTensors makes tensors of every float type with values exact in all of them (k/8 for
// small k), plus integer tensors with random bytes, a scalar and an empty tensor.
func testTensors(t *testing.T, rng *rand.Rand) ([]checkpointtest.Tensor, map[string][]float32) {
	t.Helper()
	var tensors []checkpointtest.Tensor
	values := make(map[string][]float32)
	shapes := [][]int{{7}, {3, 5}, {2, 3, 4}, {}, {0, 4}}
	for i, dt := range []checkpoint.DType{checkpoint.F32, checkpoint.F16, checkpoint.BF16, checkpoint.F64} {
		for j, shape := range shapes {
			n := 1
			for _, d := range shape {
				n *= d
			}
			vals := make([]float32, n)
			for k := range vals {
				vals[k] = float32(rng.IntN(129)-64) / 8
			}
			name := "layer." + string(rune('a'+i)) + "." + string(rune('0'+j)) + ".weight"
			tensors = append(tensors, checkpointtest.Tensor{Name: name, DType: dt, Shape: shape, Data: encodeFloats(t, dt, vals)})
			values[name] = vals
		}
	}
	for _, dt := range []checkpoint.DType{checkpoint.I64, checkpoint.I32, checkpoint.I16, checkpoint.I8, checkpoint.U8, checkpoint.Bool} {
		data := make([]byte, 6*dt.Size())
		for k := range data {
			data[k] = byte(rng.IntN(256))
		}
		if dt == checkpoint.Bool {
			for k := range data {
				data[k] &= 1
			}
		}
		tensors = append(tensors, checkpointtest.Tensor{Name: "ints." + string(dt), DType: dt, Shape: []int{2, 3}, Data: data})
	}
	tensors = append(tensors, checkpointtest.Tensor{Name: "holes", DType: checkpoint.BF16, Shape: []int{64, 64}})
	return tensors, values
}

// TestRoundTrip writes tensors with each writer, single and sharded, opens them every way
// Open accepts, and checks names, order, dtypes, shapes, raw bytes and float32 values.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tensors, values := testTensors(t, rng)
	for _, f := range formats {
		for _, shards := range []int{1, 3} {
			t.Run(f.name+"/"+string(rune('0'+shards)), func(t *testing.T) {
				dir := t.TempDir()
				var paths []string
				if shards == 1 {
					name := "model.safetensors"
					write := checkpointtest.WriteSafetensors
					if f.format == checkpointtest.PyTorch {
						name, write = "pytorch_model.bin", checkpointtest.WritePyTorchZip
					}
					p := filepath.Join(dir, name)
					if err := write(p, tensors, checkpointtest.Options{Metadata: map[string]string{"format": "pt"}}); err != nil {
						t.Fatal(err)
					}
					paths = []string{p, dir}
				} else {
					index, err := checkpointtest.WriteSharded(dir, f.format, tensors, shards, checkpointtest.Options{})
					if err != nil {
						t.Fatal(err)
					}
					paths = []string{index, dir}
				}
				for _, p := range paths {
					c, err := checkpoint.Open(p)
					if err != nil {
						t.Fatal(err)
					}
					checkRoundTrip(t, c, tensors, values, shards)
					if err := c.Close(); err != nil {
						t.Fatal(err)
					}
					if _, err := c.Raw(tensors[0].Name); err == nil {
						t.Error("Raw after Close: no error")
					}
				}
			})
		}
	}
}

func checkRoundTrip(t *testing.T, c *checkpoint.Checkpoint, tensors []checkpointtest.Tensor, values map[string][]float32, shards int) {
	t.Helper()
	if n := len(c.Files()); n != shards {
		t.Errorf("%d files, want %d", n, shards)
	}
	got := c.Tensors()
	if len(got) != len(tensors) {
		t.Fatalf("%d tensors, want %d", len(got), len(tensors))
	}
	for i, want := range tensors {
		info := got[i]
		if info.Name != want.Name || info.DType != want.DType || !slices.Equal(info.Shape, want.Shape) {
			t.Errorf("tensor %d: %s %s %v, want %s %s %v", i, info.Name, info.DType, info.Shape, want.Name, want.DType, want.Shape)
			continue
		}
		if int64(info.NumBytes()) != want.NumBytes() {
			t.Errorf("%s: NumBytes %d, want %d", want.Name, info.NumBytes(), want.NumBytes())
		}
		raw, err := c.Raw(want.Name)
		if err != nil {
			t.Fatal(err)
		}
		wantRaw := want.Data
		if wantRaw == nil {
			wantRaw = make([]byte, want.NumBytes())
		}
		if !bytes.Equal(raw, wantRaw) {
			t.Errorf("%s: raw bytes differ", want.Name)
		}
		if vals, ok := values[want.Name]; ok {
			dst := make([]float32, len(vals))
			if err := c.Float32(want.Name, dst); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(dst, vals) {
				t.Errorf("%s: float32 %v, want %v", want.Name, dst, vals)
			}
		}
	}
}

// TestFloat32Errors checks the length and dtype checks of Float32.
func TestFloat32Errors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.safetensors")
	err := checkpointtest.WriteSafetensors(p, []checkpointtest.Tensor{
		{Name: "w", DType: checkpoint.F32, Shape: []int{2, 2}, Data: make([]byte, 16)},
		{Name: "ids", DType: checkpoint.I32, Shape: []int{2}, Data: make([]byte, 8)},
	}, checkpointtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := checkpoint.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tests := []struct {
		name string
		n    int
		want string
	}{
		{"w", 3, "dst holds 3 values"},
		{"w", 5, "dst holds 5 values"},
		{"ids", 2, "not a floating type"},
		{"nope", 1, "no such tensor"},
	}
	for _, tc := range tests {
		err := c.Float32(tc.name, make([]float32, tc.n))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("Float32(%s, %d): %v, want an error naming the tensor and %q", tc.name, tc.n, err, tc.want)
		}
	}
	if _, ok := c.Info("nope"); ok {
		t.Error("Info of a missing tensor: ok")
	}
}

// TestHalfConversion checks F16 widening on every bit pattern class against math.
func TestHalfConversion(t *testing.T) {
	tests := []struct {
		bits uint16
		want float64
	}{
		{0x0000, 0}, {0x8000, math.Copysign(0, -1)}, {0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504},
		{0x0001, math.Ldexp(1, -24)}, {0x03ff, 1023 * math.Ldexp(1, -24)}, {0x0400, math.Ldexp(1, -14)},
		{0x7c00, math.Inf(1)}, {0xfc00, math.Inf(-1)}, {0x3555, 0.333251953125},
	}
	p := filepath.Join(t.TempDir(), "h.safetensors")
	data := make([]byte, 0, 2*len(tests)+2)
	for _, tc := range tests {
		data = binary.LittleEndian.AppendUint16(data, tc.bits)
	}
	data = binary.LittleEndian.AppendUint16(data, 0x7e00) // NaN
	err := checkpointtest.WriteSafetensors(p, []checkpointtest.Tensor{{Name: "h", DType: checkpoint.F16, Shape: []int{len(tests) + 1}, Data: data}}, checkpointtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := checkpoint.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dst := make([]float32, len(tests)+1)
	if err := c.Float32("h", dst); err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		if float64(dst[i]) != tc.want || math.Signbit(float64(dst[i])) != math.Signbit(tc.want) {
			t.Errorf("F16 %#04x -> %v, want %v", tc.bits, dst[i], tc.want)
		}
	}
	if !math.IsNaN(float64(dst[len(tests)])) {
		t.Errorf("F16 NaN -> %v", dst[len(tests)])
	}
}

// TestOpenFolder checks the folder preference order and the error listing what was tried.
func TestOpenFolder(t *testing.T) {
	dir := t.TempDir()
	_, err := checkpoint.Open(dir)
	if err == nil {
		t.Fatal("empty folder: no error")
	}
	for _, name := range []string{"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not list %s", err, name)
		}
	}
	bin := []checkpointtest.Tensor{{Name: "from.bin", DType: checkpoint.F32, Shape: []int{1}}}
	st := []checkpointtest.Tensor{{Name: "from.safetensors", DType: checkpoint.F32, Shape: []int{1}}}
	if err := checkpointtest.WritePyTorchZip(filepath.Join(dir, "pytorch_model.bin"), bin, checkpointtest.Options{}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		write func() error
		want  string
	}{
		{func() error { return nil }, "from.bin"},
		{func() error {
			return checkpointtest.WriteSafetensors(filepath.Join(dir, "model.safetensors"), st, checkpointtest.Options{})
		}, "from.safetensors"},
	}
	for _, s := range steps {
		if err := s.write(); err != nil {
			t.Fatal(err)
		}
		c, err := checkpoint.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Tensors()[0].Name; got != s.want {
			t.Errorf("folder opened %s, want %s", got, s.want)
		}
		c.Close()
	}
	if _, err := checkpoint.Open(filepath.Join(dir, "missing.safetensors")); err == nil || !os.IsNotExist(errorsUnwrapAll(err)) {
		t.Errorf("missing file: %v", err)
	}
}

func errorsUnwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// TestTinyA reads the tiny-a model: 420 BF16 tensors, with shapes from its config.
func TestTinyA(t *testing.T) {
	c, err := checkpoint.Open(fixtures.Path(t, "models", "tiny-a"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	infos := c.Tensors()
	if len(infos) != 420 {
		t.Fatalf("%d tensors, want 420", len(infos))
	}
	var total int64
	for _, info := range infos {
		if info.DType != checkpoint.BF16 {
			t.Errorf("%s: %s, want BF16", info.Name, info.DType)
		}
		raw, err := c.Raw(info.Name)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) != info.NumBytes() {
			t.Errorf("%s: %d bytes, want %d", info.Name, len(raw), info.NumBytes())
		}
		total += int64(len(raw))
	}
	var size int64
	for _, f := range c.Files() {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		size += st.Size()
	}
	if total > size || total < size-200_000 {
		t.Errorf("tensors hold %d bytes of %d bytes of files", total, size)
	}
	shapes := map[string][]int{ // from models/tiny-a/config.json and the README
		"vision_model.vision_tower.pos_embed":                {1, 16, 64},
		"language_model.model.embed_tokens.weight":           {384, 64},
		"language_model.lm_head.weight":                      {384, 64},
		"gen_vision_model.quantize.embedding.weight":         {256, 8},
		"language_model.model.layers.1.mlp.gate_proj.weight": {172, 64},
	}
	for name, want := range shapes {
		info, ok := c.Info(name)
		if !ok || !slices.Equal(info.Shape, want) {
			t.Errorf("%s: %v (found %v), want %v", name, info.Shape, ok, want)
		}
	}
	// Values against a digest torch computed (testdata/make_testdata.py).
	var digest map[string]struct {
		Shape []int     `json:"shape"`
		First []float32 `json:"first"`
		Sum   float64   `json:"sum"`
	}
	fixtures.JSON(t, filepath.Join("testdata", "tiny_a_digest.json"), &digest)
	if len(digest) == 0 {
		t.Fatal("empty digest")
	}
	for name, want := range digest {
		info, ok := c.Info(name)
		if !ok || !slices.Equal(info.Shape, want.Shape) {
			t.Errorf("%s: shape %v, want %v", name, info.Shape, want.Shape)
			continue
		}
		dst := make([]float32, info.NumElements())
		if err := c.Float32(name, dst); err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, v := range dst {
			sum += float64(v)
		}
		if !slices.Equal(dst[:len(want.First)], want.First) || math.Abs(sum-want.Sum) > 1e-9*math.Max(1, math.Abs(want.Sum)) {
			t.Errorf("%s: starts %v sum %v, want %v sum %v", name, dst[:len(want.First)], sum, want.First, want.Sum)
		}
	}
}
