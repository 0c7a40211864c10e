package checkpointtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/janus-desktop/janus/model/checkpoint"
)

// LoadKeys reads a keys.json listing ({name: {"shape": [...], "dtype": "BF16"}, ...}, as in
// the shared fixtures' real-configs folders) into sparse tensors, in the file's order, which
// is the released state_dict order.
func LoadKeys(path string) ([]Tensor, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("load keys %s: not a JSON object", path)
	}
	var out []Tensor
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("load keys %s: %w", path, err)
		}
		name, _ := tok.(string)
		var v struct {
			Shape []int            `json:"shape"`
			DType checkpoint.DType `json:"dtype"`
		}
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("load keys %s: tensor %q: %w", path, name, err)
		}
		if v.DType.Size() == 0 {
			return nil, fmt.Errorf("load keys %s: tensor %q: unknown dtype %q", path, name, v.DType)
		}
		out = append(out, Tensor{Name: name, DType: v.DType, Shape: v.Shape})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("load keys %s: no tensors", path)
	}
	return out, nil
}
