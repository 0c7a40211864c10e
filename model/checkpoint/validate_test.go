package checkpoint_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/checkpoint/checkpointtest"
)

// safetensorsBytes builds a safetensors file from a literal header and dataLen data bytes.
func safetensorsBytes(header string, dataLen int) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, make([]byte, dataLen)...)
}

// openBytes writes data to a file named name and opens it, expecting an error that names
// the file and contains every string in want.
func expectOpenError(t *testing.T, path string, want ...string) {
	t.Helper()
	c, err := checkpoint.Open(path)
	if err == nil {
		c.Close()
		t.Fatalf("Open(%s): no error, want one mentioning %q", filepath.Base(path), want)
	}
	msg := err.Error()
	t.Log(msg)
	if !strings.Contains(msg, filepath.Base(path)) {
		t.Errorf("error %q does not name the file %s", msg, filepath.Base(path))
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not mention %q", msg, w)
		}
	}
}

func TestSafetensorsValidation(t *testing.T) {
	tooLong := binary.LittleEndian.AppendUint64(nil, 200_000_000)
	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{"empty file", nil, []string{"too short"}},
		{"truncated length", []byte{8, 0, 0, 0, 0}, []string{"truncated"}},
		{"header too long", append(tooLong, "{}"...), []string{"header length 200000000 exceeds"}},
		{"header past file end", safetensorsBytes("{}", 0)[:9], []string{"exceeds", "file size", "interrupted download"}},
		{"bad JSON", safetensorsBytes(`{"w":`, 0), []string{"bad JSON"}},
		{"not an object", safetensorsBytes(`[1, 2]`, 0), []string{"not a JSON object"}},
		{"trailing data", safetensorsBytes(`{} {}`, 0), []string{"trailing data"}},
		{"invalid UTF-8", safetensorsBytes("{\"\xff\":1}", 0), []string{"UTF-8"}},
		{"missing dtype", safetensorsBytes(`{"w":{"shape":[1],"data_offsets":[0,4]}}`, 4), []string{`"w"`, "missing dtype"}},
		{"missing shape", safetensorsBytes(`{"w":{"dtype":"F32","data_offsets":[0,4]}}`, 4), []string{`"w"`, "missing shape"}},
		{"missing offsets", safetensorsBytes(`{"w":{"dtype":"F32","shape":[1]}}`, 4), []string{`"w"`, "missing data_offsets"}},
		{"entry not an object", safetensorsBytes(`{"w":[1]}`, 4), []string{`"w"`}},
		{"unknown dtype", safetensorsBytes(`{"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, 1), []string{`"w"`, "unsupported dtype"}},
		{"negative dim", safetensorsBytes(`{"w":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,4]}}`, 4), []string{`"w"`, "negative"}},
		{"fractional dim", safetensorsBytes(`{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, 4), []string{`"w"`}},
		{"overflowing shape", safetensorsBytes(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, 4), []string{`"w"`, "overflows"}},
		{"overflowing bytes", safetensorsBytes(`{"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,4]}}`, 4), []string{`"w"`, "too large"}},
		{"three offsets", safetensorsBytes(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, 8), []string{`"w"`, "3 values"}},
		{"offsets out of range", safetensorsBytes(`{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 8), []string{`"w"`, "data_offsets [0, 16] reach past the data area (8 bytes)", "shorter than its header says", "interrupted download or copy"}},
		{"begin after end", safetensorsBytes(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}`, 8), []string{`"w"`, "begin is after end"}},
		{"size mismatch", safetensorsBytes(`{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, 8), []string{`"w"`, "hold 8 bytes", "needs 12"}},
		{"overlap", safetensorsBytes(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 12), []string{`"a"`, `"b"`, "overlap"}},
		{"duplicate name", safetensorsBytes(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), []string{`"a"`, "duplicate"}},
		{"bad metadata", safetensorsBytes(`{"__metadata__":{"format":1}}`, 0), []string{"__metadata__"}},
	}
	dir := t.TempDir()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "case"+string(rune('a'+i))+".safetensors")
			if err := os.WriteFile(p, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			expectOpenError(t, p, tc.want...)
		})
	}
}

// TestSafetensorsTruncated: a file cut short is ErrTruncated, whatever part was cut; a bad
// header that fits the file is not.
func TestSafetensorsTruncated(t *testing.T) {
	whole := safetensorsBytes(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`, 16)
	tests := []struct {
		name      string
		data      []byte
		truncated bool
	}{
		{"data cut", whole[:len(whole)-3], true},
		{"header cut", whole[:20], true},
		{"whole", append(whole[:len(whole):len(whole)], 0), false}, // trailing bytes are allowed
		{"size mismatch", safetensorsBytes(`{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, 8), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "model.safetensors")
			if err := os.WriteFile(p, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := checkpoint.Open(p)
			if err == nil {
				c.Close()
			}
			if got := errors.Is(err, checkpoint.ErrTruncated); got != tt.truncated {
				t.Errorf("Open: %v; ErrTruncated %v, want %v", err, got, tt.truncated)
			}
		})
	}
}

// TestSafetensorsAccepted checks layouts the format allows: gaps, zero-size tensors sharing
// an offset, metadata, an empty header.
func TestSafetensorsAccepted(t *testing.T) {
	tests := []struct {
		name  string
		data  []byte
		count int
	}{
		{"gap", safetensorsBytes(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[8,10]}}`, 16), 2},
		{"zero-size", safetensorsBytes(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"c":{"dtype":"BOOL","shape":[3,0],"data_offsets":[4,4]}}`, 4), 3},
		{"metadata and padding", safetensorsBytes(`{"__metadata__":{"format":"pt"},"a":{"dtype":"BF16","shape":[],"data_offsets":[0,2]}}    `, 2), 1},
		{"empty", safetensorsBytes(`{}`, 0), 0},
	}
	for _, tc := range tests {
		p := filepath.Join(t.TempDir(), "ok.safetensors")
		if err := os.WriteFile(p, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := checkpoint.Open(p)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if n := len(c.Tensors()); n != tc.count {
			t.Errorf("%s: %d tensors, want %d", tc.name, n, tc.count)
		}
		c.Close()
	}
}

// TestIndexValidation writes two real shards and checks each index defect.
func TestIndexValidation(t *testing.T) {
	dir := t.TempDir()
	one := []checkpointtest.Tensor{{Name: "a", DType: checkpoint.F32, Shape: []int{1}}, {Name: "b", DType: checkpoint.F32, Shape: []int{1}}}
	two := []checkpointtest.Tensor{{Name: "c", DType: checkpoint.F32, Shape: []int{1}}, {Name: "a2", DType: checkpoint.F32, Shape: []int{1}}}
	dupe := []checkpointtest.Tensor{{Name: "a", DType: checkpoint.F32, Shape: []int{1}}}
	for name, ts := range map[string][]checkpointtest.Tensor{"s1.safetensors": one, "s2.safetensors": two, "dupe.safetensors": dupe} {
		if err := checkpointtest.WriteSafetensors(filepath.Join(dir, name), ts, checkpointtest.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	good := `"a":"s1.safetensors","b":"s1.safetensors","c":"s2.safetensors","a2":"s2.safetensors"`
	tests := []struct {
		name, index string
		want        []string
	}{
		{"bad JSON", `{"weight_map":{`, []string{"bad JSON"}},
		{"not an object", `["weight_map"]`, []string{"bad JSON"}},
		{"no weight_map", `{"metadata":{}}`, []string{"no weight_map"}},
		{"empty weight_map", `{"weight_map":{}}`, []string{"no tensors"}},
		{"shard not a string", `{"weight_map":{"a":1}}`, []string{`"a"`, "shard must be"}},
		{"duplicate key", `{"weight_map":{` + good + `,"a":"s1.safetensors"}}`, []string{`"a"`, "duplicate"}},
		{"duplicate weight_map", `{"weight_map":{` + good + `},"weight_map":{}}`, []string{"duplicate key"}},
		{"escaping shard", `{"weight_map":{"a":"../s1.safetensors"}}`, []string{"../s1.safetensors", "not a file inside"}},
		{"missing shard", `{"weight_map":{` + good + `,"z":"s3.safetensors"}}`, []string{"s3.safetensors", "no such file"}},
		{"tensor missing from shard", `{"weight_map":{` + good + `,"z":"s2.safetensors"}}`, []string{`"z"`, "not in its shard"}},
		{"tensor not in index", `{"weight_map":{"a":"s1.safetensors","c":"s2.safetensors","a2":"s2.safetensors"}}`, []string{`"b"`, "not listed in index"}},
		{"tensor in two shards", `{"weight_map":{` + good + `,"x":"dupe.safetensors"}}`, []string{`"a"`, "dupe.safetensors", "places it in s1.safetensors"}},
		{"trailing data", `{"weight_map":{` + good + `}} x`, []string{"trailing"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "index"+string(rune('a'+i))+".json")
			if err := os.WriteFile(p, []byte(tc.index), 0o644); err != nil {
				t.Fatal(err)
			}
			expectOpenError(t, p, tc.want...)
		})
	}
	p := filepath.Join(dir, "good.index.json")
	if err := os.WriteFile(p, []byte(`{"metadata":{"total_size":16},"weight_map":{`+good+`}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := checkpoint.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var names []string
	for _, info := range c.Tensors() {
		names = append(names, info.Name)
	}
	if got := strings.Join(names, ","); got != "a,b,c,a2" {
		t.Errorf("tensors %s, want a,b,c,a2", got)
	}
}

// pickleBuilder writes protocol-2 pickle opcodes for hand-made state dicts.
type pickleBuilder struct{ b []byte }

func (p *pickleBuilder) op(ops ...byte) *pickleBuilder { p.b = append(p.b, ops...); return p }

func (p *pickleBuilder) str(s string) *pickleBuilder {
	p.b = append(p.b, 'X')
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	p.b = append(p.b, s...)
	return p
}

func (p *pickleBuilder) int(v int32) *pickleBuilder {
	p.b = append(p.b, 'J')
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(v))
	return p
}

func (p *pickleBuilder) global(module, name string) *pickleBuilder {
	p.b = append(p.b, 'c')
	p.b = append(p.b, module+"\n"+name+"\n"...)
	return p
}

func (p *pickleBuilder) ints(v ...int32) *pickleBuilder {
	p.op('(')
	for _, x := range v {
		p.int(x)
	}
	return p.op('t')
}

// tensorSpec describes the one tensor "w" of a hand-made state dict.
type tensorSpec struct {
	storageModule, storageClass string
	numel, offset               int32
	shape, stride               []int32
}

var okSpec = tensorSpec{"torch", "FloatStorage", 6, 0, []int32{2, 3}, []int32{3, 1}}

// statePickle pickles OrderedDict{"w": _rebuild_tensor_v2(storage "0", ...)}.
func statePickle(s tensorSpec) []byte {
	p := &pickleBuilder{}
	p.op(0x80, 2).global("collections", "OrderedDict").op(')', 'R')
	p.str("w").global("torch._utils", "_rebuild_tensor_v2").op('(')
	p.op('(').str("storage").global(s.storageModule, s.storageClass).str("0").str("cpu").int(s.numel).op('t', 'Q')
	p.int(s.offset).ints(s.shape...).ints(s.stride...).op(0x89).global("collections", "OrderedDict").op(')', 'R')
	p.op('t', 'R', 's', '.')
	return p.b
}

type zipEntry struct {
	name   string
	data   []byte
	method uint16
}

func zipBytes(t *testing.T, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: e.method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// torchZip is a torch.save-like zip with the given pickle and one storage of storageLen bytes.
func torchZip(t *testing.T, pkl []byte, storageLen int, extra ...zipEntry) []byte {
	t.Helper()
	entries := []zipEntry{{"archive/data.pkl", pkl, zip.Store}, {"archive/data/0", make([]byte, storageLen), zip.Store}}
	return zipBytes(t, append(entries, extra...)...)
}

func TestPyTorchValidation(t *testing.T) {
	withSpec := func(f func(*tensorSpec)) []byte {
		s := okSpec
		f(&s)
		return statePickle(s)
	}
	good := statePickle(okSpec)
	evil := (&pickleBuilder{}).op(0x80, 2).global("os", "system").str("echo hi").op(0x85, 'R', '.').b
	stackGlobal := (&pickleBuilder{}).op(0x80, 2).str("builtins").str("eval").op(0x93).str("1").op(0x85, 'R', '.').b
	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{"ok", torchZip(t, good, 24), nil},
		{"legacy", append([]byte{0x80, 0x02, 0x8a, 0x0a}, make([]byte, 20)...), []string{"legacy PyTorch format not supported"}},
		{"corrupt zip", append([]byte("PK\x03\x04"), make([]byte, 40)...), []string{"zip"}},
		{"no data.pkl", zipBytes(t, zipEntry{"archive/data/0", make([]byte, 24), zip.Store}), []string{"data.pkl"}},
		{"unknown global", torchZip(t, evil, 24), []string{"os.system", "not allowed"}},
		{"unknown stack global", torchZip(t, stackGlobal, 24), []string{"builtins.eval", "not allowed"}},
		{"unknown storage class", torchZip(t, withSpec(func(s *tensorSpec) { s.storageClass = "ComplexFloatStorage" }), 24), []string{"torch.ComplexFloatStorage", "not allowed"}},
		{"non-contiguous strides", torchZip(t, withSpec(func(s *tensorSpec) { s.stride = []int32{1, 2} }), 24), []string{`"w"`, "not contiguous"}},
		{"size and stride lengths", torchZip(t, withSpec(func(s *tensorSpec) { s.stride = []int32{1} }), 24), []string{`"w"`, "differ in length"}},
		{"negative dim", torchZip(t, withSpec(func(s *tensorSpec) { s.shape = []int32{-2, 3} }), 24), []string{`"w"`, "negative"}},
		{"view past storage", torchZip(t, withSpec(func(s *tensorSpec) { s.offset = 1 }), 24), []string{`"w"`, "bytes [4, 28)", "storage 0 holds 24"}},
		{"storage size mismatch", torchZip(t, good, 20), []string{`"w"`, "entry holds 20 bytes"}},
		{"missing storage", zipBytes(t, zipEntry{"archive/data.pkl", good, zip.Store}), []string{`"w"`, "archive/data/0", "missing"}},
		{"compressed storage", zipBytes(t, zipEntry{"archive/data.pkl", good, zip.Store}, zipEntry{"archive/data/0", make([]byte, 24), zip.Deflate}), []string{`"w"`, "compressed"}},
		{"big endian", torchZip(t, good, 24, zipEntry{"archive/byteorder", []byte("big"), zip.Store}), []string{"byte order"}},
		{"truncated pickle", torchZip(t, good[:len(good)-9], 24), []string{"truncated pickle"}},
		{"no STOP", torchZip(t, good[:len(good)-1], 24), []string{"no STOP"}},
		{"not a dict", torchZip(t, []byte{0x80, 2, ']', '.'}, 0), []string{"not a state dict"}},
		{"value not a tensor", torchZip(t, (&pickleBuilder{}).op(0x80, 2, '}').str("step").int(3).op('s', '.').b, 0), []string{`"step"`, "not a tensor"}},
		{"nested state dict", torchZip(t, (&pickleBuilder{}).op(0x80, 2, '}').str("state_dict").op('}', 's', '.').b, 0), []string{`"state_dict"`, "nested"}},
		{"bad persistent id", torchZip(t, (&pickleBuilder{}).op(0x80, 2, '}').str("w").str("x").op('Q', 's', '.').b, 0), []string{"persistent id"}},
		{"bad opcode", torchZip(t, []byte{0x80, 2, 'i', '.'}, 0), []string{"opcode 0x69"}},
	}
	dir := t.TempDir()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "case"+string(rune('a'+i))+".bin")
			if err := os.WriteFile(p, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				c, err := checkpoint.Open(p)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if info, ok := c.Info("w"); !ok || info.DType != checkpoint.F32 || info.NumElements() != 6 {
					t.Errorf("tensor w: %+v %v", info, ok)
				}
				return
			}
			expectOpenError(t, p, tc.want...)
		})
	}
}
