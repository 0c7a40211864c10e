// Package checkpointtest writes checkpoints for tests and tools: safetensors files and
// PyTorch zip checkpoints byte-compatible with what torch.save writes, single or sharded with
// a Hugging Face index. A tensor without data becomes a hole in a sparse file, so a fake
// 15 GB checkpoint with every released tensor name and shape takes no disk and writes in
// milliseconds.
//
// The zip container is written by hand instead of with archive/zip because torch.save's
// layout needs control archive/zip does not give: every entry's data 64-byte aligned via
// padding in the local header's extra field, and data regions skipped with Seek so they stay
// holes. For the same reason CRC-32s of all-zero regions are computed arithmetically rather
// than by hashing gigabytes of zeros.
package checkpointtest

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/janus-desktop/janus/model/checkpoint"
)

// Tensor is one tensor to write. Data holds its little-endian row-major bytes; nil means
// "sparse": the data region is left as a hole that reads as zeros.
type Tensor struct {
	// Name is the state-dict key it is written under.
	Name string
	// DType is the element type written to the file; Data must already be in it.
	DType checkpoint.DType
	// Shape is the row-major shape; it must match len(Data) when Data is not nil.
	Shape []int
	// Data is the raw little-endian bytes, or nil for a sparse tensor.
	Data []byte
}

// NumBytes is the size of the tensor's data.
func (t Tensor) NumBytes() int64 {
	n := int64(t.DType.Size())
	for _, d := range t.Shape {
		n *= int64(d)
	}
	return n
}

// Options tune the written files. The zero value writes what the official tools write.
type Options struct {
	// Metadata goes into a safetensors header's __metadata__ (ignored for PyTorch files).
	Metadata map[string]string
	// ArchiveName is the folder inside a PyTorch zip ("archive", as torch >= 1.13 writes,
	// when empty).
	ArchiveName string
}

// Format selects the file format of WriteSharded.
type Format int

// Formats WriteSharded can write.
const (
	Safetensors Format = iota
	PyTorch
)

// checkTensors validates names, dtypes and data lengths before anything is written.
func checkTensors(tensors []Tensor) error {
	seen := make(map[string]bool, len(tensors))
	for _, t := range tensors {
		if t.Name == "" {
			return fmt.Errorf("tensor with an empty name")
		}
		if seen[t.Name] {
			return fmt.Errorf("duplicate tensor %q", t.Name)
		}
		seen[t.Name] = true
		if t.DType.Size() == 0 {
			return fmt.Errorf("tensor %q: unknown dtype %q", t.Name, t.DType)
		}
		for _, d := range t.Shape {
			if d < 0 {
				return fmt.Errorf("tensor %q: negative dimension in %v", t.Name, t.Shape)
			}
		}
		if t.Data != nil && int64(len(t.Data)) != t.NumBytes() {
			return fmt.Errorf("tensor %q: %d data bytes, %s %v needs %d", t.Name, len(t.Data), t.DType, t.Shape, t.NumBytes())
		}
	}
	return nil
}

// WriteSharded splits tensors, in order, into shards files of about equal size in dir,
// named as Hugging Face names them (model-00001-of-00002.safetensors or
// pytorch_model-00001-of-00002.bin), and writes the index (model.safetensors.index.json or
// pytorch_model.bin.index.json), whose path it returns.
func WriteSharded(dir string, format Format, tensors []Tensor, shards int, opts Options) (string, error) {
	if err := checkTensors(tensors); err != nil {
		return "", fmt.Errorf("write sharded checkpoint: %w", err)
	}
	if shards < 1 || shards > len(tensors) {
		return "", fmt.Errorf("write sharded checkpoint: %d shards for %d tensors", shards, len(tensors))
	}
	stem, ext, indexName := "model", ".safetensors", "model.safetensors.index.json"
	write := WriteSafetensors
	if format == PyTorch {
		stem, ext, indexName = "pytorch_model", ".bin", "pytorch_model.bin.index.json"
		write = WritePyTorchZip
	}
	var total int64
	for _, t := range tensors {
		total += t.NumBytes()
	}
	// Cut after the tensor that crosses k/shards of the bytes, keeping every shard non-empty.
	groups := make([][]Tensor, shards)
	var acc int64
	g := 0
	for i, t := range tensors {
		groups[g] = append(groups[g], t)
		acc += t.NumBytes()
		left := len(tensors) - i - 1
		if g < shards-1 && (left == shards-1-g || acc*int64(shards) >= total*int64(g+1)) {
			g++
		}
	}
	weightMap := make(map[string]string, len(tensors))
	for i, group := range groups {
		name := fmt.Sprintf("%s-%05d-of-%05d%s", stem, i+1, shards, ext)
		if err := write(filepath.Join(dir, name), group, opts); err != nil {
			return "", err
		}
		for _, t := range group {
			weightMap[t.Name] = name
		}
	}
	// encoding/json sorts map keys, as transformers does for weight_map.
	index := struct {
		Metadata  map[string]int64  `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}{map[string]int64{"total_size": total}, weightMap}
	data, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		return "", fmt.Errorf("write index: %w", err)
	}
	indexPath := filepath.Join(dir, indexName)
	if err := os.WriteFile(indexPath, append(data, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("write index: %w", err)
	}
	return indexPath, nil
}

// WriteSafetensors writes tensors as one safetensors file, data in the given order, header
// padded with spaces to a multiple of 8 bytes as the official library does.
func WriteSafetensors(path string, tensors []Tensor, opts Options) error {
	if err := checkTensors(tensors); err != nil {
		return fmt.Errorf("write safetensors %s: %w", path, err)
	}
	// json.Marshal would sort the keys; the header lists tensors in data order instead.
	header := []byte{'{'}
	if len(opts.Metadata) > 0 {
		meta, err := json.Marshal(opts.Metadata)
		if err != nil {
			return fmt.Errorf("write safetensors %s: metadata: %w", path, err)
		}
		header = append(header, `"__metadata__":`...)
		header = append(header, meta...)
	}
	var off int64
	for i, t := range tensors {
		if i > 0 || len(opts.Metadata) > 0 {
			header = append(header, ',')
		}
		name, _ := json.Marshal(t.Name)
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		entry, _ := json.Marshal(struct {
			DType       checkpoint.DType `json:"dtype"`
			Shape       []int            `json:"shape"`
			DataOffsets [2]int64         `json:"data_offsets"`
		}{t.DType, shape, [2]int64{off, off + t.NumBytes()}})
		header = append(append(append(header, name...), ':'), entry...)
		off += t.NumBytes()
	}
	header = append(header, '}')
	for len(header)%8 != 0 {
		header = append(header, ' ')
	}
	out := newSparseFile()
	var lenBuf [8]byte
	putUint64(lenBuf[:], uint64(len(header)))
	out.write(lenBuf[:])
	out.write(header)
	for _, t := range tensors {
		out.data(t.Data, t.NumBytes())
	}
	if err := out.saveAs(path); err != nil {
		return fmt.Errorf("write safetensors %s: %w", path, err)
	}
	return nil
}

// sparseFile collects a file as small written pieces and holes, then writes it with holes
// seeked over, so only real bytes reach the disk.
type sparseFile struct {
	pieces []piece
	size   int64
}

type piece struct {
	off  int64
	data []byte
}

func newSparseFile() *sparseFile { return &sparseFile{} }

func (s *sparseFile) write(b []byte) {
	s.pieces = append(s.pieces, piece{s.size, b})
	s.size += int64(len(b))
}

// data writes b, or a hole of n bytes when b is nil.
func (s *sparseFile) data(b []byte, n int64) {
	if b != nil {
		s.write(b)
		return
	}
	s.size += n
}

func (s *sparseFile) saveAs(path string) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	sort.SliceStable(s.pieces, func(i, j int) bool { return s.pieces[i].off < s.pieces[j].off })
	for _, p := range s.pieces {
		if len(p.data) == 0 {
			continue
		}
		if _, err := f.Seek(p.off, io.SeekStart); err != nil {
			return err
		}
		if _, err := f.Write(p.data); err != nil {
			return err
		}
	}
	// Truncate extends the file over a trailing hole without writing it.
	return f.Truncate(s.size)
}

func putUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}
