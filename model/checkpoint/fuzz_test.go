package checkpoint

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// seedFiles returns the small checkpoints in testdata as fuzz seeds.
func seedFiles(f *testing.F, names ...string) [][]byte {
	f.Helper()
	var out [][]byte
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzSafetensorsHeader checks that no header makes the parser panic, and that whatever it
// accepts lies inside the file without overlaps.
func FuzzSafetensorsHeader(f *testing.F) {
	for _, b := range seedFiles(f, "small.safetensors") {
		f.Add(b)
	}
	for _, h := range []string{
		`{}`,
		`{"__metadata__":{"a":"b"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`,
		`{"a":{"dtype":"BF16","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[1,1],"data_offsets":[0,1]}}`,
		`{"w":{"dtype":"F32","shape":[-1],"data_offsets":[8,0]}}`,
	} {
		f.Add(append(append(binary.LittleEndian.AppendUint64(nil, uint64(len(h))), h...), make([]byte, 16)...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseSafetensors("fuzz", data, int64(len(data)))
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.offset < 8 || e.size < 0 || e.offset+e.size > int64(len(data)) {
				t.Fatalf("accepted %q at [%d, +%d) in %d bytes", e.info.Name, e.offset, e.size, len(data))
			}
			if int64(e.info.NumBytes()) != e.size {
				t.Fatalf("accepted %q with %d bytes for shape %v", e.info.Name, e.size, e.info.Shape)
			}
		}
	})
}

// FuzzTorchZip feeds arbitrary bytes to the zip and pickle readers: errors are fine, panics
// and tensors outside the file are not.
func FuzzTorchZip(f *testing.F) {
	for _, b := range seedFiles(f, "torch_small.bin", "torch_noncontig.bin", "torch_nested.bin") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := readTorchZip("fuzz", bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.offset < 0 || e.size < 0 || e.offset+e.size > int64(len(data)) {
				t.Fatalf("accepted %q at [%d, +%d) in %d bytes", e.info.Name, e.offset, e.size, len(data))
			}
		}
	})
}

// FuzzUnpickle runs the restricted unpickler on arbitrary bytes, seeded with the data.pkl of
// real torch.save files.
func FuzzUnpickle(f *testing.F) {
	for _, b := range seedFiles(f, "torch_small.bin", "torch_noncontig.bin", "torch_nested.bin") {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			f.Fatal(err)
		}
		for _, zf := range zr.File {
			if filepath.Base(zf.Name) != "data.pkl" {
				continue
			}
			rc, err := zf.Open()
			if err != nil {
				f.Fatal(err)
			}
			pkl, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(pkl)
		}
	}
	f.Add([]byte("\x80\x02}q\x00(X\x01\x00\x00\x00a\x8a\x02\xff\x7fh\x00\x94\x87t\x85u."))
	f.Add([]byte("(((((((((t0\x8c\x01a\x8c\x01b\x93."))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = unpickle(data)
	})
}

// FuzzIndex checks the index parser on arbitrary JSON.
func FuzzIndex(f *testing.F) {
	f.Add([]byte(`{"metadata":{"total_size":8},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"a":"../x","a":"y"}}`))
	f.Add([]byte(`{"weight_map":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		idx, err := parseIndex(data)
		if err != nil {
			return
		}
		if len(idx.names) == 0 || len(idx.shards) == 0 || len(idx.weightMap) != len(idx.names) {
			t.Fatalf("accepted an inconsistent index: %d names, %d shards", len(idx.names), len(idx.shards))
		}
	})
}
