// Package weightstest builds fake model folders for tests: the config files of a released
// model plus a sparse checkpoint holding every tensor name and shape of its keys.json (the
// fixtures' real-configs), so that loading and binding code can be tested against the real
// 2B and 7B layouts without their weights. The data regions are holes, so a 14.8 GB Janus-Pro-7B
// checkpoint takes no disk and is written in milliseconds. OpenModel opens a model folder
// for the tests of the networks that bind from it.
package weightstest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/checkpoint/checkpointtest"
	"github.com/janus-desktop/janus/model/config"
)

// OpenModel reads the configuration of the model folder dir and opens its checkpoint, which
// is closed when t ends. A failure fails t.
func OpenModel(t testing.TB, dir string) (*config.Config, *checkpoint.Checkpoint) {
	t.Helper()
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ck.Close() })
	return cfg, ck
}

// configFiles are copied from the release folder when present.
var configFiles = []string{
	"config.json", "preprocessor_config.json", "processor_config.json",
	"special_tokens_map.json", "tokenizer_config.json", "tokenizer.json",
}

// ReadKeys reads a keys.json ({name: {"shape": [...], "dtype": "BF16"}}) in file order, which
// is the official state-dict order, as tensors without data.
func ReadKeys(path string) ([]checkpointtest.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read keys: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("read keys %s: want a JSON object", path)
	}
	var out []checkpointtest.Tensor
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("read keys %s: %w", path, err)
		}
		var v struct {
			Shape []int            `json:"shape"`
			DType checkpoint.DType `json:"dtype"`
		}
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("read keys %s: tensor %v: %w", path, tok, err)
		}
		out = append(out, checkpointtest.Tensor{Name: tok.(string), DType: v.DType, Shape: v.Shape})
	}
	return out, nil
}

// WriteRelease fills dst with the config files of the release folder src and a sparse
// checkpoint of src/keys.json, after edit (nil for none) changed the tensor list. With shards
// 0 it writes one model.safetensors or pytorch_model.bin; otherwise that many shards and the
// index, named as Hugging Face names them.
func WriteRelease(dst, src string, format checkpointtest.Format, shards int, edit func([]checkpointtest.Tensor) []checkpointtest.Tensor) error {
	for _, name := range configFiles {
		raw, err := os.ReadFile(filepath.Join(src, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("copy release config: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), raw, 0o644); err != nil {
			return fmt.Errorf("copy release config: %w", err)
		}
	}
	tensors, err := ReadKeys(filepath.Join(src, "keys.json"))
	if err != nil {
		return err
	}
	if edit != nil {
		tensors = edit(tensors)
	}
	switch {
	case shards > 0:
		_, err = checkpointtest.WriteSharded(dst, format, tensors, shards, checkpointtest.Options{})
	case format == checkpointtest.PyTorch:
		err = checkpointtest.WritePyTorchZip(filepath.Join(dst, "pytorch_model.bin"), tensors, checkpointtest.Options{})
	default:
		err = checkpointtest.WriteSafetensors(filepath.Join(dst, "model.safetensors"), tensors, checkpointtest.Options{})
	}
	return err
}
