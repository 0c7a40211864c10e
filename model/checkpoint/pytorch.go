package checkpoint

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxPickleLen bounds data.pkl (a 936-tensor state dict needs about 300 kB).
const maxPickleLen = 1 << 30

// readTorchZip reads the tensor table of a torch.save zip checkpoint: <prefix>/data.pkl
// describes the state dict, <prefix>/data/<key> holds each storage's raw bytes, stored
// uncompressed, and <prefix>/byteorder (torch >= 2.1) must say "little".
func readTorchZip(path string, ra io.ReaderAt, size int64) ([]tensorEntry, error) {
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, fmt.Errorf("read PyTorch zip %s: %w", path, err)
	}
	files := make(map[string]*zip.File, len(zr.File))
	prefix := ""
	for _, f := range zr.File {
		if _, dup := files[f.Name]; dup {
			return nil, fmt.Errorf("read PyTorch zip %s: duplicate entry %s", path, f.Name)
		}
		files[f.Name] = f
		if dir, ok := strings.CutSuffix(f.Name, "/data.pkl"); ok && dir != "" && !strings.Contains(dir, "/") {
			if prefix != "" {
				return nil, fmt.Errorf("read PyTorch zip %s: two data.pkl entries (%s/ and %s/)", path, prefix, dir)
			}
			prefix = dir
		}
	}
	if prefix == "" {
		return nil, fmt.Errorf("read PyTorch zip %s: no <name>/data.pkl entry; not a torch.save checkpoint", path)
	}
	if bo, ok := files[prefix+"/byteorder"]; ok {
		b, err := readSmallEntry(bo, 64)
		if err != nil {
			return nil, fmt.Errorf("read PyTorch zip %s: byteorder: %w", path, err)
		}
		if strings.TrimSpace(string(b)) != "little" {
			return nil, fmt.Errorf("read PyTorch zip %s: byte order %q is not supported (only little)", path, b)
		}
	}
	pkl, err := readSmallEntry(files[prefix+"/data.pkl"], maxPickleLen)
	if err != nil {
		return nil, fmt.Errorf("read PyTorch zip %s: data.pkl: %w", path, err)
	}
	obj, err := unpickle(pkl)
	if err != nil {
		return nil, fmt.Errorf("read PyTorch zip %s: data.pkl: %w", path, err)
	}
	dict, ok := obj.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("read PyTorch zip %s: data.pkl holds %s, not a state dict", path, describe(obj))
	}

	storageOffsets := make(map[string]int64) // storage key -> absolute data offset
	entries := make([]tensorEntry, 0, len(dict.keys))
	for i, k := range dict.keys {
		name, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("read PyTorch zip %s: state dict key %s is not a string", path, describe(k))
		}
		t, ok := dict.values[i].(*tensorRef)
		if !ok {
			if _, nested := dict.values[i].(*pyDict); nested {
				return nil, fmt.Errorf("read PyTorch zip %s: %q holds a nested dict; nested state dicts ({%q: {...}}) are not supported, save model.state_dict() itself",
					path, name, name)
			}
			return nil, fmt.Errorf("read PyTorch zip %s: %q is %s, not a tensor", path, name, describe(dict.values[i]))
		}
		e, err := placeTensor(name, t)
		if err != nil {
			return nil, fmt.Errorf("read PyTorch zip %s: tensor %q: %w", path, name, err)
		}
		base, ok := storageOffsets[t.storage.key]
		if !ok {
			base, err = storageOffset(files[prefix+"/data/"+t.storage.key], t.storage, size)
			if err != nil {
				return nil, fmt.Errorf("read PyTorch zip %s: tensor %q: storage %s/data/%s: %w", path, name, prefix, t.storage.key, err)
			}
			storageOffsets[t.storage.key] = base
		}
		e.offset += base
		entries = append(entries, e)
	}
	return entries, nil
}

// placeTensor checks shape, strides and bounds of a storage view; the returned offset is
// relative to the storage's first byte.
func placeTensor(name string, t *tensorRef) (tensorEntry, error) {
	if len(t.stride) != len(t.shape) {
		return tensorEntry{}, fmt.Errorf("size %v and stride %v differ in length", t.shape, t.stride)
	}
	shape, nbytes, err := checkShape(t.shape, t.dtype)
	if err != nil {
		return tensorEntry{}, err
	}
	elem := int64(t.dtype.Size())
	if nbytes > 0 {
		// Row-major contiguity; a dimension of size 1 may carry any stride (as in torch).
		want := int64(1)
		for i := len(t.shape) - 1; i >= 0; i-- {
			if t.shape[i] != 1 && t.stride[i] != want {
				return tensorEntry{}, fmt.Errorf("strides %v of shape %v are not contiguous row-major (want %d at dim %d)",
					t.stride, t.shape, want, i)
			}
			want *= t.shape[i]
		}
	}
	if t.offset > (t.storage.nbytes)/elem {
		return tensorEntry{}, fmt.Errorf("storage offset %d is past the end of storage %s (%d bytes)", t.offset, t.storage.key, t.storage.nbytes)
	}
	start := t.offset * elem
	if nbytes > t.storage.nbytes-start {
		return tensorEntry{}, fmt.Errorf("%s %v at storage offset %d needs bytes [%d, %d), storage %s holds %d",
			t.dtype, shape, t.offset, start, start+nbytes, t.storage.key, t.storage.nbytes)
	}
	return tensorEntry{
		info:   TensorInfo{Name: name, DType: t.dtype, Shape: shape},
		offset: start,
		size:   nbytes,
	}, nil
}

// storageOffset finds where a storage entry's bytes begin in the file, from its local file
// header. The entry must be stored uncompressed and hold exactly the storage's bytes.
func storageOffset(f *zip.File, s *storageRef, fileSize int64) (int64, error) {
	if f == nil {
		return 0, errors.New("entry missing")
	}
	if f.Method != zip.Store {
		return 0, fmt.Errorf("entry is compressed (method %d); only stored entries, as torch.save writes them, can be read in place", f.Method)
	}
	if f.CompressedSize64 != f.UncompressedSize64 {
		return 0, fmt.Errorf("stored entry has compressed size %d but uncompressed size %d", f.CompressedSize64, f.UncompressedSize64)
	}
	if f.UncompressedSize64 != uint64(s.nbytes) {
		return 0, fmt.Errorf("entry holds %d bytes, the pickle describes %d", f.UncompressedSize64, s.nbytes)
	}
	off, err := f.DataOffset()
	if err != nil {
		return 0, fmt.Errorf("locate data: %w", err)
	}
	if off < 0 || off > fileSize || s.nbytes > fileSize-off {
		return 0, fmt.Errorf("data [%d, +%d) lies outside the file (%d bytes)", off, s.nbytes, fileSize)
	}
	return off, nil
}

// readSmallEntry reads a whole zip entry of at most limit bytes, verifying its CRC.
func readSmallEntry(f *zip.File, limit uint64) ([]byte, error) {
	if f.UncompressedSize64 > limit {
		return nil, fmt.Errorf("entry of %d bytes exceeds the limit of %d", f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if uint64(len(b)) > limit {
		return nil, fmt.Errorf("entry exceeds the limit of %d bytes", limit)
	}
	return b, nil
}
