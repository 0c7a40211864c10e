package checkpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
)

// shardIndex is a parsed model.safetensors.index.json or pytorch_model.bin.index.json:
// {"metadata": {...}, "weight_map": {tensor name: shard file}}.
type shardIndex struct {
	weightMap map[string]string
	names     []string // weight_map keys in file order
	shards    []string // shard files, sorted by name (00001-of-N first)
}

// parseIndex validates an index file: a JSON object with a non-empty weight_map whose values
// are shard files inside the index's folder, and no duplicate keys anywhere at the top two
// levels. Other top-level keys (metadata) are accepted as any JSON value.
func parseIndex(data []byte) (*shardIndex, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := expectDelim(dec, '{'); err != nil {
		return nil, fmt.Errorf("bad JSON: %w", err)
	}
	idx := &shardIndex{weightMap: make(map[string]string)}
	seenTop := make(map[string]bool)
	haveMap := false
	for dec.More() {
		tok, err := token(dec)
		if err != nil {
			return nil, fmt.Errorf("bad JSON: %w", err)
		}
		key, _ := tok.(string)
		if seenTop[key] {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		seenTop[key] = true
		if key != "weight_map" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fmt.Errorf("bad JSON in %q: %w", key, err)
			}
			continue
		}
		haveMap = true
		if err := idx.readWeightMap(dec); err != nil {
			return nil, err
		}
	}
	if _, err := token(dec); err != nil {
		return nil, fmt.Errorf("bad JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("bad JSON: trailing data after the index object")
	}
	if !haveMap {
		return nil, errors.New("no weight_map")
	}
	if len(idx.names) == 0 {
		return nil, errors.New("weight_map lists no tensors")
	}
	// weight_map is usually sorted by tensor name, so first mention says nothing about shard
	// order; sorted file names put -00001-of-N first, as transformers loads them.
	sort.Strings(idx.shards)
	return idx, nil
}

func (idx *shardIndex) readWeightMap(dec *json.Decoder) error {
	if err := expectDelim(dec, '{'); err != nil {
		return fmt.Errorf("weight_map: %w", err)
	}
	seenShard := make(map[string]bool)
	for dec.More() {
		tok, err := token(dec)
		if err != nil {
			return fmt.Errorf("weight_map: bad JSON: %w", err)
		}
		name, _ := tok.(string)
		tok, err = token(dec)
		if err != nil {
			return fmt.Errorf("weight_map: bad JSON: %w", err)
		}
		shard, ok := tok.(string)
		if !ok {
			return fmt.Errorf("weight_map: tensor %q: shard must be a file name string", name)
		}
		if _, dup := idx.weightMap[name]; dup {
			return fmt.Errorf("weight_map: duplicate tensor %q", name)
		}
		if shard == "" || !filepath.IsLocal(shard) {
			return fmt.Errorf("weight_map: tensor %q: shard %q is not a file inside the index's folder", name, shard)
		}
		idx.weightMap[name] = shard
		idx.names = append(idx.names, name)
		if !seenShard[shard] {
			seenShard[shard] = true
			idx.shards = append(idx.shards, shard)
		}
	}
	if _, err := token(dec); err != nil {
		return fmt.Errorf("weight_map: bad JSON: %w", err)
	}
	return nil
}

// expectDelim reads the next token and checks it is the delimiter d.
func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := token(dec)
	if err != nil {
		return err
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		return fmt.Errorf("expected %q, found %v", d, tok)
	}
	return nil
}

// token is dec.Token with a premature end reported as io.ErrUnexpectedEOF, so that only a
// complete document yields io.EOF.
func token(dec *json.Decoder) (json.Token, error) {
	tok, err := dec.Token()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return tok, err
}
