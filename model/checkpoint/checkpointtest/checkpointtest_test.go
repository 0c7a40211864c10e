package checkpointtest

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/model/checkpoint"
)

func TestCRC32Zeros(t *testing.T) {
	tests := []struct {
		init uint32
		n    int64
	}{
		{0, 0}, {0, 1}, {0, 7}, {0, 64}, {0, 1000}, {0, 65537}, {0xdeadbeef, 3}, {crc32.ChecksumIEEE([]byte("abc")), 4099},
	}
	for _, tc := range tests {
		want := crc32.Update(tc.init, crc32.IEEETable, make([]byte, tc.n))
		if got := crc32Zeros(tc.init, tc.n); got != want {
			t.Errorf("crc32Zeros(%#x, %d) = %#x, want %#x", tc.init, tc.n, got, want)
		}
	}
}

func TestWriteShardedSplit(t *testing.T) {
	tensors := []Tensor{
		{Name: "a", DType: checkpoint.F32, Shape: []int{100}},
		{Name: "b", DType: checkpoint.F32, Shape: []int{10}},
		{Name: "c", DType: checkpoint.F32, Shape: []int{10}},
		{Name: "d", DType: checkpoint.F32, Shape: []int{90}},
		{Name: "e", DType: checkpoint.F32, Shape: []int{1}},
	}
	tests := []struct {
		shards int
		want   map[string]string // tensor -> shard number
	}{
		{1, map[string]string{"a": "1", "b": "1", "c": "1", "d": "1", "e": "1"}},
		{2, map[string]string{"a": "1", "b": "1", "c": "2", "d": "2", "e": "2"}},
		{5, map[string]string{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"}},
	}
	for _, tc := range tests {
		dir := t.TempDir()
		index, err := WriteSharded(dir, Safetensors, tensors, tc.shards, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var idx struct {
			Metadata  map[string]int64  `json:"metadata"`
			WeightMap map[string]string `json:"weight_map"`
		}
		data, err := os.ReadFile(index)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &idx); err != nil {
			t.Fatal(err)
		}
		if idx.Metadata["total_size"] != 211*4 {
			t.Errorf("%d shards: total_size %d, want %d", tc.shards, idx.Metadata["total_size"], 211*4)
		}
		for name, n := range tc.want {
			want := "model-0000" + n + "-of-0000" + string(rune('0'+tc.shards)) + ".safetensors"
			if idx.WeightMap[name] != want {
				t.Errorf("%d shards: %s in %s, want %s", tc.shards, name, idx.WeightMap[name], want)
			}
		}
	}
	if _, err := WriteSharded(t.TempDir(), PyTorch, tensors, 6, Options{}); err == nil {
		t.Error("6 shards for 5 tensors: no error")
	}
}

func TestWritersRejectBadTensors(t *testing.T) {
	tests := []struct {
		name    string
		tensors []Tensor
		want    string
	}{
		{"duplicate", []Tensor{{Name: "x", DType: checkpoint.F32}, {Name: "x", DType: checkpoint.F32}}, "duplicate"},
		{"dtype", []Tensor{{Name: "x", DType: "F8"}}, "unknown dtype"},
		{"length", []Tensor{{Name: "x", DType: checkpoint.F32, Shape: []int{2}, Data: make([]byte, 4)}}, "needs 8"},
		{"negative", []Tensor{{Name: "x", DType: checkpoint.F32, Shape: []int{-1}}}, "negative"},
	}
	for _, tc := range tests {
		for _, write := range []func(string, []Tensor, Options) error{WriteSafetensors, WritePyTorchZip} {
			err := write(filepath.Join(t.TempDir(), "x"), tc.tensors, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
			}
		}
	}
}

// TestTorchLoadsWriterOutput has real torch.load read what WritePyTorchZip writes (single
// file and shards, dense and sparse tensors) and compares every value.
func TestTorchLoadsWriterOutput(t *testing.T) {
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Skipf("python3 not available: %v", err)
	}
	f32 := func(v ...float32) []byte {
		b := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
		return b
	}
	tensors := []Tensor{
		{Name: "w.f32", DType: checkpoint.F32, Shape: []int{2, 3}, Data: f32(1, -2, 3.5, 0, 1e-3, -1e30)},
		{Name: "w.bf16", DType: checkpoint.BF16, Shape: []int{2}, Data: []byte{0x80, 0x3f, 0x20, 0xc1}},     // 1, -10
		{Name: "w.f16", DType: checkpoint.F16, Shape: []int{1, 1, 2}, Data: []byte{0x00, 0x3c, 0x01, 0x00}}, // 1, 2^-24
		{Name: "ids", DType: checkpoint.I64, Shape: []int{2}, Data: []byte{5, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{Name: "mask", DType: checkpoint.Bool, Shape: []int{3}, Data: []byte{1, 0, 1}},
		{Name: "sparse", DType: checkpoint.BF16, Shape: []int{300, 70}},
		{Name: "scalar", DType: checkpoint.F32, Shape: []int{}, Data: f32(2.25)},
	}
	want := map[string][]float64{
		"w.f32":  {1, -2, 3.5, 0, float64(float32(1e-3)), float64(float32(-1e30))},
		"w.bf16": {1, -10}, "w.f16": {1, math.Ldexp(1, -24)}, "ids": {5, -2}, "mask": {1, 0, 1},
		"sparse": make([]float64, 300*70), "scalar": {2.25},
	}
	dir := t.TempDir()
	if err := WritePyTorchZip(filepath.Join(dir, "single.bin"), tensors, Options{}); err != nil {
		t.Fatal(err)
	}
	shardDir := filepath.Join(dir, "sharded")
	if err := os.Mkdir(shardDir, 0o755); err != nil {
		t.Fatal(err)
	}
	index, err := WriteSharded(shardDir, PyTorch, tensors, 3, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The script says when torch is missing (exit 3), so that importing torch, which takes
	// a second or more, happens once.
	script := `
import json, sys, os, collections
try:
    import torch
except ImportError as e:
    print(e, file=sys.stderr)
    sys.exit(3)
out = collections.OrderedDict()
for path in sys.argv[1:]:
    if path.endswith(".json"):
        files = sorted(set(json.load(open(path))["weight_map"].values()))
        paths = [os.path.join(os.path.dirname(path), f) for f in files]
    else:
        paths = [path]
    sd = collections.OrderedDict()
    for p in paths:
        part = torch.load(p)
        assert type(part) is collections.OrderedDict, type(part)
        sd.update(part)
    out[path] = {k: {"dtype": str(v.dtype), "shape": list(v.shape), "values": v.double().flatten().tolist()}
                 for k, v in sd.items()}
print(json.dumps(out))
`
	cmd := exec.Command(python, "-c", script, filepath.Join(dir, "single.bin"), index)
	outBytes, err := cmd.Output()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) && ee.ExitCode() == 3 {
		t.Skipf("python3 without torch: %s", ee.Stderr)
	}
	if err != nil {
		t.Fatalf("torch.load failed: %v\n%s", err, outBytes)
	}
	var got map[string]map[string]struct {
		DType  string    `json:"dtype"`
		Shape  []int     `json:"shape"`
		Values []float64 `json:"values"`
	}
	if err := json.Unmarshal(outBytes, &got); err != nil {
		t.Fatal(err)
	}
	torchNames := map[checkpoint.DType]string{
		checkpoint.F32: "torch.float32", checkpoint.BF16: "torch.bfloat16", checkpoint.F16: "torch.float16",
		checkpoint.I64: "torch.int64", checkpoint.Bool: "torch.bool",
	}
	if len(got) != 2 {
		t.Fatalf("torch read %d checkpoints, want 2", len(got))
	}
	for path, sd := range got {
		if len(sd) != len(tensors) {
			t.Errorf("%s: torch sees %d tensors, want %d", path, len(sd), len(tensors))
		}
		for _, tt := range tensors {
			g, ok := sd[tt.Name]
			if !ok {
				t.Errorf("%s: torch does not see %s", path, tt.Name)
				continue
			}
			if g.DType != torchNames[tt.DType] || !slices.Equal(g.Shape, tt.Shape) {
				t.Errorf("%s: %s is %s %v, want %s %v", path, tt.Name, g.DType, g.Shape, torchNames[tt.DType], tt.Shape)
			}
			if !slices.Equal(g.Values, want[tt.Name]) {
				t.Errorf("%s: %s = %v, want %v", path, tt.Name, g.Values, want[tt.Name])
			}
		}
	}
}
