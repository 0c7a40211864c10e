package formulaweights

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/model/checkpoint"
)

// TestValues compares the formula with numpy's evaluation in the fixture script
// (model/testdata/formulaweights.py, function formula).
func TestValues(t *testing.T) {
	tests := []struct {
		spec Spec
		want []float32
	}{
		{Spec{Seed: 0, Bits: 8, Scale: 1}, []float32{0.765625, 0.1328125, 0.1796875, -0.7734375, -0.140625}},
		{Spec{Seed: 70*65536 + 5, Bits: 8, Scale: 0.0625}, []float32{-0.06201171875, -0.0107421875, -0.02587890625, -0.029296875, -0.009765625}},
		{Spec{Seed: 327681, Bits: 4, Scale: 0.25, Offset: 1}, []float32{0.90625, 1.125, 0.875, 1.09375, 1.03125}},
		{Spec{Seed: 1<<31 + 7, Bits: 12, Scale: 0.5, Offset: -0.25}, []float32{-0.595947265625, 0.2080078125, -0.298095703125, -0.386474609375, -0.41748046875}},
	}
	for _, tt := range tests {
		tt.spec.Shape = []int{len(tt.want)}
		if got := tt.spec.Values(); !slices.Equal(got, tt.want) {
			t.Errorf("seed %d: %v, want %v", tt.spec.Seed, got, tt.want)
		}
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, json, want string
	}{
		{"ok", `[["a.weight", [2, 3], 5, 8, 0.5, 0.0]]`, ""},
		{"not a list", `{"a": 1}`, "decode"},
		{"short entry", `[["a.weight", [2, 3], 5]]`, "field 3"},
		{"bad shape", `[["a.weight", "2x3", 5, 8, 0.5, 0.0]]`, "field 1"},
		{"too many bits", `[["a.weight", [2], 5, 40, 0.5, 0.0]]`, "40 bits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name+".json")
			if err := os.WriteFile(p, []byte(tt.json), 0o644); err != nil {
				t.Fatal(err)
			}
			specs, err := Read(p)
			if tt.want == "" {
				if err != nil || len(specs) != 1 || specs[0].Name != "a.weight" || !slices.Equal(specs[0].Shape, []int{2, 3}) {
					t.Fatalf("Read = %+v, %v", specs, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Read = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestWriteModel writes a fixture's checkpoint and reads it back through model/checkpoint.
func TestWriteModel(t *testing.T) {
	src := filepath.Join("..", "testdata", "gen-d")
	dst := t.TempDir()
	if err := WriteModel(dst, src); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "config.json")); err != nil {
		t.Fatalf("config.json not copied: %v", err)
	}
	for _, skipped := range []string{"weights.json", "golden.json", "vq_grid_decoded.bin"} {
		if _, err := os.Stat(filepath.Join(dst, skipped)); err == nil {
			t.Errorf("%s was copied into the model folder", skipped)
		}
	}
	specs, err := Read(filepath.Join(src, "weights.json"))
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	for _, s := range specs {
		got := make([]float32, len(s.Values()))
		if err := ck.Float32(s.Name, got); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		if !slices.Equal(got, s.Values()) {
			t.Fatalf("%s: checkpoint values differ from the formula", s.Name)
		}
	}
}
