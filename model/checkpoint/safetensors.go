package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"
	"unicode/utf8"
)

// ErrTruncated is wrapped by Open's error when a file is shorter than its header says: almost
// always a download or copy that was cut short, mended by fetching the file again.
var ErrTruncated = errors.New("the file is shorter than its header says: probably an interrupted download or copy")

// maxHeaderLen bounds a safetensors JSON header (the official library uses the same limit).
const maxHeaderLen = 100_000_000

// safetensorsEntry is the JSON value of one tensor in a safetensors header. Pointers tell a
// missing field from a zero one.
type safetensorsEntry struct {
	DType       *string   `json:"dtype"`
	Shape       *[]int64  `json:"shape"`
	DataOffsets *[]uint64 `json:"data_offsets"`
}

// headerLen decodes the little-endian length of the JSON header from the first 8 bytes of
// prefix and checks it against the limit and the size of the file.
func headerLen(path string, prefix []byte, fileSize int64) (uint64, error) {
	if len(prefix) < 8 || fileSize < 8 {
		return 0, fmt.Errorf("read safetensors %s: truncated: %d bytes, need at least 8", path, fileSize)
	}
	n := binary.LittleEndian.Uint64(prefix)
	if n > maxHeaderLen {
		return 0, fmt.Errorf("read safetensors %s: header length %d exceeds the limit (%d)", path, n, maxHeaderLen)
	}
	if n > uint64(fileSize-8) {
		return 0, fmt.Errorf("read safetensors %s: header length %d exceeds the file size (%d): %w", path, n, fileSize, ErrTruncated)
	}
	return n, nil
}

// parseSafetensors validates a safetensors header. head holds the 8-byte length prefix and
// the header (at least; more is ignored), fileSize is the whole file's length. The returned
// entries are sorted by data offset and carry absolute file offsets.
func parseSafetensors(path string, head []byte, fileSize int64) ([]tensorEntry, error) {
	n, err := headerLen(path, head, fileSize)
	if err != nil {
		return nil, err
	}
	if uint64(len(head)-8) < n {
		return nil, fmt.Errorf("read safetensors %s: truncated header: have %d of %d bytes", path, len(head)-8, n)
	}
	header := head[8 : 8+n]
	dataStart := int64(8 + n)
	dataLen := fileSize - dataStart
	if !utf8.Valid(header) {
		return nil, fmt.Errorf("read safetensors %s: header is not valid UTF-8", path)
	}

	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	bad := func(err error) error {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("read safetensors %s: bad JSON header: %w", path, err)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, bad(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, bad(fmt.Errorf("header is not a JSON object"))
	}
	var entries []tensorEntry
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad(err)
		}
		name, _ := tok.(string) // object keys are always strings
		if seen[name] {
			return nil, fmt.Errorf("read safetensors %s: duplicate entry %q in header", path, name)
		}
		seen[name] = true
		if name == "__metadata__" {
			var meta map[string]string
			if err := dec.Decode(&meta); err != nil {
				return nil, fmt.Errorf("read safetensors %s: __metadata__ must map strings to strings: %w", path, err)
			}
			continue
		}
		var raw safetensorsEntry
		if err := dec.Decode(&raw); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("read safetensors %s: tensor %q: bad JSON: %w", path, name, err)
		}
		e, err := checkSafetensorsEntry(name, raw, dataLen)
		if err != nil {
			return nil, fmt.Errorf("read safetensors %s: tensor %q: %w", path, name, err)
		}
		e.offset += dataStart
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, bad(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad(fmt.Errorf("trailing data after the header object"))
	}

	sort.SliceStable(entries, func(i, j int) bool { return entries[i].offset < entries[j].offset })
	var prev *tensorEntry
	for i := range entries {
		e := &entries[i]
		if e.size == 0 {
			continue
		}
		if prev != nil && prev.offset+prev.size > e.offset {
			return nil, fmt.Errorf("read safetensors %s: tensors %q and %q overlap", path, prev.info.Name, e.info.Name)
		}
		prev = e
	}
	return entries, nil
}

// checkSafetensorsEntry validates one header entry; offsets stay relative to the data area.
func checkSafetensorsEntry(name string, raw safetensorsEntry, dataLen int64) (tensorEntry, error) {
	switch {
	case raw.DType == nil:
		return tensorEntry{}, errors.New("missing dtype")
	case raw.Shape == nil:
		return tensorEntry{}, errors.New("missing shape")
	case raw.DataOffsets == nil:
		return tensorEntry{}, errors.New("missing data_offsets")
	}
	dt := DType(*raw.DType)
	if dt.Size() == 0 {
		return tensorEntry{}, fmt.Errorf("unsupported dtype %q", *raw.DType)
	}
	shape, nbytes, err := checkShape(*raw.Shape, dt)
	if err != nil {
		return tensorEntry{}, err
	}
	offs := *raw.DataOffsets
	if len(offs) != 2 {
		return tensorEntry{}, fmt.Errorf("data_offsets has %d values, want 2", len(offs))
	}
	begin, end := offs[0], offs[1]
	if begin > end {
		return tensorEntry{}, fmt.Errorf("data_offsets [%d, %d]: begin is after end", begin, end)
	}
	if end > uint64(dataLen) {
		return tensorEntry{}, fmt.Errorf("data_offsets [%d, %d] reach past the data area (%d bytes): %w", begin, end, dataLen, ErrTruncated)
	}
	if end-begin != uint64(nbytes) {
		return tensorEntry{}, fmt.Errorf("data_offsets [%d, %d] hold %d bytes, but %s %v needs %d",
			begin, end, end-begin, dt, shape, nbytes)
	}
	return tensorEntry{
		info:   TensorInfo{Name: name, DType: dt, Shape: shape},
		offset: int64(begin),
		size:   nbytes,
	}, nil
}

// checkShape rejects negative dimensions and sizes that overflow, and returns the shape as
// ints with the tensor's byte size.
func checkShape(dims []int64, dt DType) ([]int, int64, error) {
	shape := make([]int, len(dims))
	n := uint64(1)
	for i, d := range dims {
		if d < 0 {
			return nil, 0, fmt.Errorf("shape %v has a negative dimension", dims)
		}
		if int64(int(d)) != d {
			return nil, 0, fmt.Errorf("shape %v has a dimension too large for this platform", dims)
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return nil, 0, fmt.Errorf("shape %v overflows", dims)
		}
		n = lo
		shape[i] = int(d)
	}
	hi, lo := bits.Mul64(n, uint64(dt.Size()))
	if hi != 0 || lo > math.MaxInt64 || int64(int(lo)) != int64(lo) {
		return nil, 0, fmt.Errorf("shape %v of %s is too large", dims, dt)
	}
	return shape, int64(lo), nil
}
