// Package checkpoint reads model weights as Hugging Face ships them: safetensors files and
// PyTorch zip checkpoints (pytorch_model.bin), single or sharded with an index file. Files
// are memory-mapped, so opening a checkpoint reads only headers; tensor bytes are paged in
// when a caller asks for them (Raw), or read into the caller's buffer (ReadAt), which suits
// a loader that copies each tensor once.
//
// On unix the files are mapped read-only with MAP_SHARED, so the mapping shows the file as it
// is on disk for as long as the checkpoint is open. A weight file truncated or rewritten in
// place while it is open makes the next read of a vanished page through Raw kill the process
// with SIGBUS (no error can be returned for it; ReadAt returns one). Whoever writes model
// files (the app's downloader) must therefore write to a temporary file and rename it over
// the old name: the rename leaves the mapped inode alive and unchanged until the checkpoint
// is closed.
//
// The readers are hand-written rather than taken from a library because no pure-Go library
// reads PyTorch checkpoints without executing a general unpickler, and the safetensors
// libraries read whole files into memory instead of mapping them. The pickle reader here
// understands only the handful of opcodes and globals a state dict uses and refuses every
// other global by name, so a checkpoint can never make it run anything.
//
// Validation is strict: every structural problem (truncated file, bad header, offsets out of
// range, overlapping tensors, size mismatches, duplicate names, missing shards, unknown
// pickle globals, non-contiguous strides) is an error naming the file and the tensor.
// Choices where the formats leave room:
//   - A sharded checkpoint's index is its manifest: a tensor found in a shard but not listed
//     in the index (or listed for another shard) is an error, as is a listed tensor missing
//     from its shard.
//   - Gaps between safetensors tensors are allowed; overlaps are not.
//   - CRC-32 checksums of PyTorch storage entries are not verified (that would read every
//     byte of a 15 GB checkpoint at open time); data.pkl's checksum is.
//   - Compressed (deflated) storage entries are refused: torch.save always stores them
//     uncompressed, and reading them in place is the point of this package.
//   - Nested state dicts ({"state_dict": {...}}) and legacy (pre-1.6, non-zip) PyTorch files
//     are refused with an error saying so.
package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// DType is a tensor element type as named in safetensors headers.
type DType string

// Element types found in checkpoints.
const (
	F64  DType = "F64"
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	Bool DType = "BOOL"
)

// Size is the width of one element in bytes, or 0 for a type this package does not know.
func (d DType) Size() int {
	switch d {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16, I16:
		return 2
	case I8, U8, Bool:
		return 1
	}
	return 0
}

// TensorInfo describes one tensor of a checkpoint. Shape is shared with the checkpoint and
// must not be modified.
type TensorInfo struct {
	// Name is the state-dict key, e.g. "language_model.model.norm.weight".
	Name string
	// DType is the element type as stored; pickled PyTorch dtypes are mapped to the
	// safetensors names.
	DType DType
	// Shape is the stored shape in PyTorch (row-major) order; empty for a scalar.
	Shape []int
	// File is the path of the file that holds the tensor.
	File string
}

// NumElements is the product of the shape (1 for a scalar).
func (t TensorInfo) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// NumBytes is the size of the tensor's data.
func (t TensorInfo) NumBytes() int {
	return t.NumElements() * t.DType.Size()
}

// tensorEntry is a tensor plus where its bytes are.
type tensorEntry struct {
	info   TensorInfo
	file   int   // index into Checkpoint.files
	offset int64 // absolute byte offset of the data in the file
	size   int64
}

// Checkpoint is an open set of tensors from one or more weight files. Raw, ReadAt, Float32,
// Info and Tensors may be called from several goroutines at once; Close must not overlap
// them.
type Checkpoint struct {
	files   []*weightFile
	paths   []string
	tensors []tensorEntry
	byName  map[string]int
	closed  bool
}

// Candidate file names in a model folder, in order of preference (the order transformers
// uses).
var folderCandidates = []string{
	"model.safetensors",
	"model.safetensors.index.json",
	"pytorch_model.bin",
	"pytorch_model.bin.index.json",
}

// Open opens a checkpoint: a .safetensors file, a PyTorch .bin file, an index .json of a
// sharded checkpoint, or a model folder holding one of model.safetensors,
// model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json (tried in
// that order).
func Open(path string) (*Checkpoint, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open checkpoint: %w", err)
	}
	if st.IsDir() {
		found := ""
		for _, name := range folderCandidates {
			p := filepath.Join(path, name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				found = p
				break
			}
		}
		if found == "" {
			return nil, fmt.Errorf("open checkpoint: no weights in folder %s (looked for %s)",
				path, strings.Join(folderCandidates, ", "))
		}
		path = found
	}
	c := &Checkpoint{byName: make(map[string]int)}
	if strings.EqualFold(filepath.Ext(path), ".json") {
		err = c.openIndex(path)
	} else {
		err = c.addFile(path, nil)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// openIndex opens every shard an index names and checks the shards against the index.
func (c *Checkpoint) openIndex(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read index: %w", err)
	}
	idx, err := parseIndex(data)
	if err != nil {
		return fmt.Errorf("index %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	for _, shard := range idx.shards {
		sp := filepath.Join(dir, shard)
		if _, err := os.Stat(sp); err != nil {
			return fmt.Errorf("index %s: shard %s: %w", path, shard, err)
		}
		if err := c.addFile(sp, func(name string) error {
			want, ok := idx.weightMap[name]
			if !ok {
				return fmt.Errorf("tensor %q is in shard %s but not listed in index %s", name, sp, path)
			}
			if want != shard {
				return fmt.Errorf("tensor %q is in shard %s but index %s places it in %s", name, sp, path, want)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	for _, name := range idx.names {
		if _, ok := c.byName[name]; !ok {
			return fmt.Errorf("index %s: tensor %q is not in its shard %s", path, name, idx.weightMap[name])
		}
	}
	return nil
}

// addFile maps one weight file and appends its tensors. check, when set, vets each name.
func (c *Checkpoint) addFile(path string, check func(name string) error) error {
	wf, err := openWeightFile(path)
	if err != nil {
		return fmt.Errorf("open weights %s: %w", path, err)
	}
	c.files = append(c.files, wf)
	c.paths = append(c.paths, path)
	fileIdx := len(c.files) - 1

	entries, err := readEntries(path, wf)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if check != nil {
			if err := check(e.info.Name); err != nil {
				return err
			}
		}
		if prev, dup := c.byName[e.info.Name]; dup {
			return fmt.Errorf("duplicate tensor %q in %s (also in %s)", e.info.Name, path, c.tensors[prev].info.File)
		}
		e.file = fileIdx
		e.info.File = path
		c.byName[e.info.Name] = len(c.tensors)
		c.tensors = append(c.tensors, e)
	}
	return nil
}

// openSized opens a weight file for reading and returns its size.
func openSized(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// readEntries tells the formats apart by their first bytes, not by the file name.
func readEntries(path string, wf *weightFile) ([]tensorEntry, error) {
	var magic [9]byte
	n, err := wf.ReadAt(magic[:], 0)
	if n < 4 {
		if err == nil {
			err = errors.New("short read")
		}
		return nil, fmt.Errorf("read %s: file too short (%d bytes) to be a checkpoint: %w", path, wf.Size(), err)
	}
	switch {
	case n == len(magic) && magic[8] == '{':
		// A safetensors header: its length (any value, e.g. 0x280, whose first byte looks
		// like a pickle's protocol opcode) and then the JSON object.
	case string(magic[:4]) == "PK\x03\x04" || string(magic[:4]) == "PK\x05\x06":
		return readTorchZip(path, wf, wf.Size())
	case magic[0] == 0x80 && magic[1] <= 5:
		return nil, fmt.Errorf("read %s: legacy PyTorch format not supported (re-save with torch.save from torch >= 1.6)", path)
	}
	head, err := readSafetensorsHead(path, wf)
	if err != nil {
		return nil, err
	}
	return parseSafetensors(path, head, wf.Size())
}

// readSafetensorsHead returns the length prefix plus the JSON header bytes.
func readSafetensorsHead(path string, wf *weightFile) ([]byte, error) {
	var lenBuf [8]byte
	if wf.Size() >= 8 {
		if _, err := wf.ReadAt(lenBuf[:], 0); err != nil {
			return nil, fmt.Errorf("read safetensors header length of %s: %w", path, err)
		}
	}
	n, err := headerLen(path, lenBuf[:], wf.Size())
	if err != nil {
		return nil, err
	}
	return wf.Slice(0, 8+int64(n))
}

// Tensors lists every tensor in file order (shards sorted by file name;
// safetensors tensors by data offset; PyTorch tensors in state-dict order).
func (c *Checkpoint) Tensors() []TensorInfo {
	out := make([]TensorInfo, len(c.tensors))
	for i, e := range c.tensors {
		out[i] = e.info
	}
	return out
}

// Info describes the named tensor.
func (c *Checkpoint) Info(name string) (TensorInfo, bool) {
	i, ok := c.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	return c.tensors[i].info, true
}

// Files lists the weight files in the order they were opened.
func (c *Checkpoint) Files() []string {
	return append([]string(nil), c.paths...)
}

// Raw returns the contiguous little-endian bytes of the named tensor. On unix the slice is a
// read-only view into the mapped file (writing to it crashes the program) and stays valid
// until Close; elsewhere it is a fresh copy.
func (c *Checkpoint) Raw(name string) ([]byte, error) {
	if c.closed {
		return nil, fmt.Errorf("read tensor %q: checkpoint is closed", name)
	}
	i, ok := c.byName[name]
	if !ok {
		return nil, fmt.Errorf("read tensor %q: no such tensor", name)
	}
	e := c.tensors[i]
	b, err := c.files[e.file].Slice(e.offset, e.size)
	if err != nil {
		return nil, fmt.Errorf("read tensor %q from %s: %w", name, e.info.File, err)
	}
	return b, nil
}

// ReadAt reads bytes [off, off+len(dst)) of the named tensor's data into dst with read
// calls on the file, not through the map. A loader that copies every tensor once into a
// backend reads this way: it never maps the file's pages into the process, so they need
// neither faulting in (each fault a trap, which in a virtual machine costs several times a
// read of the same bytes) nor evicting afterwards.
func (c *Checkpoint) ReadAt(name string, dst []byte, off int64) error {
	if c.closed {
		return fmt.Errorf("read tensor %q: checkpoint is closed", name)
	}
	i, ok := c.byName[name]
	if !ok {
		return fmt.Errorf("read tensor %q: no such tensor", name)
	}
	e := c.tensors[i]
	if off < 0 || off > e.size || int64(len(dst)) > e.size-off {
		return fmt.Errorf("read tensor %q: bytes [%d, %d) are outside its %d", name, off, off+int64(len(dst)), e.size)
	}
	if k, err := c.files[e.file].ReadAt(dst, e.offset+off); k < len(dst) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("read tensor %q from %s: %w", name, e.info.File, err)
	}
	return nil
}

// Float32 converts the named F32, F16, BF16 or F64 tensor into dst, which must hold exactly
// its number of elements. F16 and BF16 widen exactly; F64 rounds to nearest.
func (c *Checkpoint) Float32(name string, dst []float32) error {
	i, ok := c.byName[name]
	if !ok {
		return fmt.Errorf("read tensor %q as float32: no such tensor", name)
	}
	info := c.tensors[i].info
	if n := info.NumElements(); len(dst) != n {
		return fmt.Errorf("read tensor %q as float32: dst holds %d values, tensor %v has %d", name, len(dst), info.Shape, n)
	}
	raw, err := c.Raw(name)
	if err != nil {
		return err
	}
	if err := decodeFloat32(info.DType, raw, dst); err != nil {
		return fmt.Errorf("read tensor %q as float32: %w", name, err)
	}
	return nil
}

// Close unmaps every file. Slices returned by Raw must not be used afterwards.
func (c *Checkpoint) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	for i, f := range c.files {
		if err := f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", c.paths[i], err))
		}
	}
	return errors.Join(errs...)
}

// decodeFloat32 widens little-endian floats of type dt.
func decodeFloat32(dt DType, raw []byte, dst []float32) error {
	if len(raw) != len(dst)*dt.Size() {
		return fmt.Errorf("%s data holds %d bytes, want %d", dt, len(raw), len(dst)*dt.Size())
	}
	switch dt {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
		}
	case F16:
		for i := range dst {
			dst[i] = halfToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	default:
		return fmt.Errorf("dtype %s is not a floating type", dt)
	}
	return nil
}

// halfToFloat32 widens an IEEE binary16 value exactly, including subnormals, infinities and
// NaN payloads.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case 0:
		// Subnormal (or zero): mant * 2^-24 is exact in float32.
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}
