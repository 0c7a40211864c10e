package weights

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
	"github.com/janus-desktop/janus/internal/fixtures"
	_ "github.com/janus-desktop/janus/internal/testbackends"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/checkpoint/checkpointtest"
)

func openTiny(t *testing.T) *checkpoint.Checkpoint {
	t.Helper()
	ck, err := checkpoint.Open(fixtures.Path(t, "models", "tiny-a"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ck.Close() })
	return ck
}

func readF32(t *testing.T, b compute.Backend, x *compute.Tensor) []float32 {
	t.Helper()
	out := make([]float32, x.Len())
	if err := b.Read(x, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// upload is one load through a Loader with the float32 tensor it must give.
type upload struct {
	name      string
	load      func() (*compute.Tensor, error)
	wantShape []int
	want      []float32
}

// checkUploads runs each load as a subtest and compares shape, dtype and values.
func checkUploads(t *testing.T, b compute.Backend, uploads []upload) {
	for _, tc := range uploads {
		t.Run(tc.name, func(t *testing.T) {
			x, err := tc.load()
			if err != nil {
				t.Fatal(err)
			}
			defer b.Free(x)
			if !slices.Equal(x.Shape, tc.wantShape) || x.DType != compute.F32 {
				t.Fatalf("tensor %v, want F32%v", x, tc.wantShape)
			}
			if got := readF32(t, b, x); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLoaderUploadsTinyA(t *testing.T) {
	ck := openTiny(t)
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, b compute.Backend) {
		l := NewLoader(ck, b)
		if l.Backend() != compute.Backend(b) {
			t.Fatal("Backend() is not the backend given to NewLoader")
		}
		const qkv, qkvBias = "vision_model.vision_tower.blocks.0.attn.qkv.weight", "vision_model.vision_tower.blocks.0.attn.qkv.bias"
		const width = 64
		whole := make([]float32, 3*width*width)
		if err := ck.Float32(qkv, whole); err != nil {
			t.Fatal(err)
		}
		wholeBias := make([]float32, 3*width)
		if err := ck.Float32(qkvBias, wholeBias); err != nil {
			t.Fatal(err)
		}

		tests := []upload{
			{"whole weight", func() (*compute.Tensor, error) { return l.Load(qkv, compute.F32, 3*width, width) },
				[]int{3 * width, width}, whole},
			{"k rows of the fused weight", func() (*compute.Tensor, error) { return l.LoadRows(qkv, compute.F32, width, 2*width) },
				[]int{width, width}, whole[width*width : 2*width*width]},
			{"v part of the fused bias", func() (*compute.Tensor, error) { return l.LoadRows(qkvBias, compute.F32, 2*width, 3*width) },
				[]int{width}, wholeBias[2*width:]},
			{"single row", func() (*compute.Tensor, error) { return l.LoadRows(qkv, compute.F32, 0, 1) },
				[]int{1, width}, whole[:width]},
		}
		checkUploads(t, b, tests)

		// Keeping the stored BF16 needs no conversion; the values must survive it exactly.
		x, err := l.Load(qkv, compute.BF16, 3*width, width)
		if err != nil {
			t.Fatal(err)
		}
		if x.DType != compute.BF16 || !slices.Equal(x.Shape, []int{3 * width, width}) {
			t.Errorf("BF16 upload gave %v", x)
		}
		b.Free(x)
	})
}

func TestLoaderErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	f32 := make([]byte, 4*6)
	for i := range 6 {
		binary.LittleEndian.PutUint32(f32[4*i:], math.Float32bits(float32(i)))
	}
	err := checkpointtest.WriteSafetensors(path, []checkpointtest.Tensor{
		{Name: "w", DType: checkpoint.F32, Shape: []int{2, 3}, Data: f32},
		{Name: "ids", DType: checkpoint.I64, Shape: []int{4}},
		{Name: "scalar", DType: checkpoint.F32, Shape: []int{}},
	}, checkpointtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	be, err := compute.Open("auto", compute.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	l := NewLoader(ck, be)

	tests := []struct {
		name string
		load func() (*compute.Tensor, error)
		want string
	}{
		{"missing", func() (*compute.Tensor, error) { return l.Load("nope", compute.F32, 2, 3) }, `"nope": not in the checkpoint`},
		{"transposed shape", func() (*compute.Tensor, error) { return l.Load("w", compute.F32, 3, 2) }, "checkpoint shape [2 3], the model needs [3 2]"},
		{"flattened shape", func() (*compute.Tensor, error) { return l.Load("w", compute.F32, 6) }, "checkpoint shape [2 3], the model needs [6]"},
		{"integer dtype", func() (*compute.Tensor, error) { return l.Load("ids", compute.F32, 4) }, "stored as I64"},
		{"integer rows", func() (*compute.Tensor, error) { return l.LoadRows("ids", compute.F32, 0, 1) }, "stored as I64"},
		{"rows past the end", func() (*compute.Tensor, error) { return l.LoadRows("w", compute.F32, 1, 3) }, "out of range"},
		{"empty row range", func() (*compute.Tensor, error) { return l.LoadRows("w", compute.F32, 1, 1) }, "out of range"},
		{"negative row", func() (*compute.Tensor, error) { return l.LoadRows("w", compute.F32, -1, 1) }, "out of range"},
		{"rows of a scalar", func() (*compute.Tensor, error) { return l.LoadRows("scalar", compute.F32, 0, 1) }, "scalar"},
		{"rows of a missing tensor", func() (*compute.Tensor, error) { return l.LoadRows("nope", compute.F32, 0, 1) }, "not in the checkpoint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, err := tc.load()
			if err == nil {
				t.Fatalf("loaded %v, want an error", x)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}

	x, err := l.LoadRows("w", compute.F32, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := readF32(t, l.Backend(), x); !slices.Equal(got, []float32{3, 4, 5}) {
		t.Errorf("row 1 = %v, want [3 4 5]", got)
	}
	if !l.Has("w") || l.Has("nope") {
		t.Error("Has disagrees with the checkpoint")
	}
}

// TestLoaderNarrowsF64 checks that F64 tensors load through every entry point, rounded to
// the nearest float32 as checkpoint.Float32 does, and count as F32 for the matrix policy.
func TestLoaderNarrowsF64(t *testing.T) {
	vals := []float64{1.0 / 3, -2.5, 1e-40, 3.4e38, math.Pi, 0}
	raw := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(v))
	}
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := checkpointtest.WriteSafetensors(path, []checkpointtest.Tensor{
		{Name: "w", DType: checkpoint.F64, Shape: []int{3, 2}, Data: raw},
	}, checkpointtest.Options{}); err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	want := make([]float32, len(vals))
	for i, v := range vals {
		want[i] = float32(v)
	}
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, b compute.Backend) {
		var stored []compute.DType
		l := NewLoaderWith(ck, b, LoaderOptions{MatrixDType: func(d compute.DType) compute.DType {
			stored = append(stored, d)
			return d
		}})
		tests := []upload{
			{"Load", func() (*compute.Tensor, error) { return l.Load("w", compute.F32, 3, 2) }, []int{3, 2}, want},
			{"F32", func() (*compute.Tensor, error) { return l.F32("w", 3, 2) }, []int{3, 2}, want},
			{"Matrix", func() (*compute.Tensor, error) { return l.Matrix("w", 3, 2) }, []int{3, 2}, want},
			{"F32Rows", func() (*compute.Tensor, error) { return l.F32Rows("w", 1, 3) }, []int{2, 2}, want[2:]},
			{"MatrixRows", func() (*compute.Tensor, error) { return l.MatrixRows("w", 0, 1) }, []int{1, 2}, want[:2]},
		}
		checkUploads(t, b, tests)
		if !slices.Equal(stored, []compute.DType{compute.F32, compute.F32}) {
			t.Errorf("matrix policy saw stored dtypes %v, want F32 twice", stored)
		}
	})
}

// TestLoaderMatrixPolicy checks the dtypes Matrix, MatrixRows, F32 and F32Rows give the
// tiny model's BF16 weights under each policy, and that Uploaded sees every upload.
func TestLoaderMatrixPolicy(t *testing.T) {
	ck := openTiny(t)
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, b compute.Backend) {
		const qkv = "vision_model.vision_tower.blocks.0.attn.qkv.weight"
		tests := []struct {
			name       string
			policy     func(compute.DType) compute.DType
			wantMatrix compute.DType
		}{
			{"keep stored", nil, compute.BF16},
			{"widen", func(compute.DType) compute.DType { return compute.F32 }, compute.F32},
			{"to F16", func(compute.DType) compute.DType { return compute.F16 }, compute.F16},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				type seen struct {
					name  string
					r0    int
					shape string
				}
				var got []seen
				l := NewLoaderWith(ck, b, LoaderOptions{MatrixDType: tc.policy, Uploaded: func(name string, r0 int, x *compute.Tensor) {
					got = append(got, seen{name, r0, fmt.Sprint(x.Shape)})
				}})
				loads := []struct {
					load func() (*compute.Tensor, error)
					dt   compute.DType
				}{
					{func() (*compute.Tensor, error) { return l.Matrix(qkv, 192, 64) }, tc.wantMatrix},
					{func() (*compute.Tensor, error) { return l.MatrixRows(qkv, 64, 128) }, tc.wantMatrix},
					{func() (*compute.Tensor, error) { return l.F32(qkv, 192, 64) }, compute.F32},
					{func() (*compute.Tensor, error) { return l.F32Rows(qkv, 128, 192) }, compute.F32},
				}
				for i, ld := range loads {
					x, err := ld.load()
					if err != nil {
						t.Fatal(err)
					}
					if x.DType != ld.dt {
						t.Errorf("load %d: dtype %v, want %v", i, x.DType, ld.dt)
					}
					b.Free(x)
				}
				want := []seen{{qkv, 0, "[192 64]"}, {qkv, 64, "[64 64]"}, {qkv, 0, "[192 64]"}, {qkv, 128, "[64 64]"}}
				if !slices.Equal(got, want) {
					t.Errorf("uploads %v, want %v", got, want)
				}
				if _, err := l.Matrix("nope", 1); err == nil || !strings.Contains(err.Error(), "not in the checkpoint") {
					t.Errorf("missing matrix: %v", err)
				}
			})
		}
	})
}

// TestLoaderF16Range checks that narrowing to F16 refuses a finite value beyond 65504 (which
// the conversion would make infinite), naming the tensor and its largest magnitude, through
// every entry point, and that everything else still loads: values in range, infinities the
// checkpoint already holds, rows in range of a tensor that overflows elsewhere, and wider
// target dtypes.
func TestLoaderF16Range(t *testing.T) {
	f32 := func(vs ...float32) []byte {
		b := make([]byte, 4*len(vs))
		for i, v := range vs {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		return b
	}
	bf16 := func(vs ...float32) []byte { // vs must be exact in BF16
		b := make([]byte, 2*len(vs))
		for i, v := range vs {
			binary.LittleEndian.PutUint16(b[2*i:], uint16(math.Float32bits(v)>>16))
		}
		return b
	}
	f64 := func(vs ...float64) []byte {
		b := make([]byte, 8*len(vs))
		for i, v := range vs {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
		}
		return b
	}
	inf := float32(math.Inf(1))
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := checkpointtest.WriteSafetensors(path, []checkpointtest.Tensor{
		{Name: "f32.max", DType: checkpoint.F32, Shape: []int{2, 2}, Data: f32(65504, -65504, 1, 0)},
		{Name: "f32.over", DType: checkpoint.F32, Shape: []int{2, 2}, Data: f32(1, -2, 65505, -3)},
		{Name: "f32.negative", DType: checkpoint.F32, Shape: []int{2, 2}, Data: f32(-70000, 1e5, 0, 0)},
		{Name: "f32.inf", DType: checkpoint.F32, Shape: []int{2, 2}, Data: f32(inf, -inf, float32(math.NaN()), 3)},
		{Name: "bf16.max", DType: checkpoint.BF16, Shape: []int{2, 2}, Data: bf16(65280, -65280, 0.5, 0)},
		{Name: "bf16.over", DType: checkpoint.BF16, Shape: []int{2, 2}, Data: bf16(0.5, 0, -65536, inf)},
		{Name: "bf16.huge", DType: checkpoint.BF16, Shape: []int{2, 2}, Data: bf16(0, 3.0e38, 0, 0)},
		{Name: "f64.over", DType: checkpoint.F64, Shape: []int{2, 2}, Data: f64(0, 0, 0, 1e6)},
	}, checkpointtest.Options{}); err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, b compute.Backend) {
		toF16 := NewLoaderWith(ck, b, LoaderOptions{MatrixDType: func(compute.DType) compute.DType { return compute.F16 }})
		keep := NewLoader(ck, b)

		tests := []struct {
			name string
			load func() (*compute.Tensor, error)
			want []float32 // the values read back, or nil when the load must fail
			err  []string  // what the error names
		}{
			{"F32 at the limit", func() (*compute.Tensor, error) { return toF16.Matrix("f32.max", 2, 2) },
				[]float32{65504, -65504, 1, 0}, nil},
			{"F32 just beyond", func() (*compute.Tensor, error) { return toF16.Matrix("f32.over", 2, 2) },
				nil, []string{`"f32.over"`, "65505", "stored as F32"}},
			{"largest magnitude is named", func() (*compute.Tensor, error) { return toF16.Matrix("f32.negative", 2, 2) },
				nil, []string{`"f32.negative"`, "100000"}},
			{"F32 infinities stay", func() (*compute.Tensor, error) { return toF16.Matrix("f32.inf", 2, 2) },
				nil, nil},
			{"BF16 below the limit", func() (*compute.Tensor, error) { return toF16.Matrix("bf16.max", 2, 2) },
				[]float32{65280, -65280, 0.5, 0}, nil},
			{"BF16 beyond", func() (*compute.Tensor, error) { return toF16.Matrix("bf16.over", 2, 2) },
				nil, []string{`"bf16.over"`, "65536", "stored as BF16"}},
			{"BF16 near its own max", func() (*compute.Tensor, error) { return toF16.Load("bf16.huge", compute.F16, 2, 2) },
				nil, []string{`"bf16.huge"`, "2.99"}},
			{"F64 beyond", func() (*compute.Tensor, error) { return toF16.Matrix("f64.over", 2, 2) },
				nil, []string{`"f64.over"`, "1e+06", "stored as F64"}},
			{"rows beyond", func() (*compute.Tensor, error) { return toF16.MatrixRows("f32.over", 1, 2) },
				nil, []string{"rows 1:2", `"f32.over"`, "65505"}},
			{"rows in range", func() (*compute.Tensor, error) { return toF16.MatrixRows("f32.over", 0, 1) },
				[]float32{1, -2}, nil},
			{"kept as F32", func() (*compute.Tensor, error) { return keep.Matrix("f32.over", 2, 2) },
				[]float32{1, -2, 65505, -3}, nil},
			{"widened to F32", func() (*compute.Tensor, error) { return toF16.F32("bf16.over", 2, 2) },
				[]float32{0.5, 0, -65536, inf}, nil},
			{"narrowed to BF16", func() (*compute.Tensor, error) { return keep.Load("f32.negative", compute.BF16, 2, 2) },
				[]float32{-70144, 99840, 0, 0}, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				x, err := tc.load()
				if tc.err != nil {
					if err == nil {
						b.Free(x)
						t.Fatal("loaded, want an error")
					}
					for _, w := range tc.err {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("error %q does not name %q", err, w)
						}
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				defer b.Free(x)
				if tc.want != nil && !slices.Equal(readF32(t, b, x), tc.want) {
					t.Errorf("read back %v, want %v", readF32(t, b, x), tc.want)
				}
			})
		}
	})
}

// TestLoaderBlocks uploads tensors a few rows at a time (a Loader's block made tiny) and
// checks they equal whole uploads, in every dtype a matrix takes, and that a block beyond
// F16's range fails the load and frees what was built.
func TestLoaderBlocks(t *testing.T) {
	ck := openTiny(t)
	const gate, embed = "language_model.model.layers.0.mlp.gate_proj.weight", "language_model.model.embed_tokens.weight"
	over := make([]float32, 4*compute.QBlock)
	over[3*compute.QBlock+5] = 70000
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := checkpointtest.WriteSafetensors(path, []checkpointtest.Tensor{
		{Name: "over", DType: checkpoint.F32, Shape: []int{4, compute.QBlock}, Data: le32(over)},
	}, checkpointtest.Options{}); err != nil {
		t.Fatal(err)
	}
	overCk, err := checkpoint.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer overCk.Close()
	computetest.Each(t, compute.Options{Threads: 2}, func(t *testing.T, b compute.Backend) {
		if _, ok := b.(compute.RowWriter); !ok {
			t.Skipf("%s uploads whole tensors", b.Name())
		}
		for _, dt := range []compute.DType{compute.F32, compute.F16, compute.BF16, compute.Q8, compute.Q4} {
			for _, name := range []string{gate, embed} {
				info, _ := ck.Info(name)
				whole := NewLoader(ck, b)
				blocks := NewLoader(ck, b)
				blocks.block = 5 * info.Shape[1] * 2 // five BF16 rows
				a, err := whole.Load(name, dt, info.Shape...)
				if err != nil {
					t.Fatal(err)
				}
				c, err := blocks.Load(name, dt, info.Shape...)
				if err != nil {
					t.Fatal(err)
				}
				r, err := blocks.LoadRows(name, dt, 3, info.Shape[0]-1)
				if err != nil {
					t.Fatal(err)
				}
				ids := make([]int32, info.Shape[0])
				for i := range ids {
					ids[i] = int32(i)
				}
				wa, wc := b.New(compute.F32, info.Shape...), b.New(compute.F32, info.Shape...)
				wr := b.New(compute.F32, info.Shape[0]-4, info.Shape[1])
				b.Embedding(wa, a, ids)
				b.Embedding(wc, c, ids)
				b.Embedding(wr, r, ids[:info.Shape[0]-4])
				ga, gc, gr := readF32(t, b, wa), readF32(t, b, wc), readF32(t, b, wr)
				if !slices.Equal(ga, gc) {
					t.Errorf("%s as %v: uploaded in blocks differs from a whole upload", name, dt)
				}
				if !slices.Equal(ga[3*info.Shape[1]:(info.Shape[0]-1)*info.Shape[1]], gr) {
					t.Errorf("%s as %v: rows 3:%d uploaded in blocks differ from the whole upload's", name, dt, info.Shape[0]-1)
				}
				for _, x := range []*compute.Tensor{a, c, r, wa, wc, wr} {
					b.Free(x)
				}
			}
		}

		// Cancelled between two blocks: the load fails and frees what it built.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		counting := &rowCounter{Backend: b, RowWriter: b.(compute.RowWriter), after: 2, cancel: cancel}
		held := b.MemoryUsed()
		l := NewLoaderWith(ck, counting, LoaderOptions{Context: ctx})
		l.block = 5 * 64 * 2
		if x, err := l.Load(gate, compute.Q8, 172, 64); !errors.Is(err, context.Canceled) {
			t.Errorf("load cancelled after two blocks: %v, %v; want context.Canceled", x, err)
		}
		if counting.calls != 2 || b.MemoryUsed() != held {
			t.Errorf("cancelled load: %d blocks written, %d bytes left allocated; want 2 and 0", counting.calls, b.MemoryUsed()-held)
		}

		before := b.MemoryUsed()
		l = NewLoaderWith(overCk, b, LoaderOptions{MatrixDType: func(compute.DType) compute.DType { return compute.F16 }})
		l.block = 4 * compute.QBlock // one row
		if x, err := l.Matrix("over", 4, compute.QBlock); err == nil || !strings.Contains(err.Error(), "70000") {
			t.Errorf("F16 upload in blocks of a tensor with 70000 in its last row: %v, %v; want an error naming 70000", x, err)
		}
		if after := b.MemoryUsed(); after != before {
			t.Errorf("a failed upload in blocks left %d bytes allocated", after-before)
		}
	})
}

// rowCounter counts the blocks a Loader writes and cancels a load after the first few.
type rowCounter struct {
	compute.Backend
	compute.RowWriter
	calls, after int
	cancel       func()
}

func (c *rowCounter) WriteRows(t *compute.Tensor, r0 int, src compute.DType, raw []byte) error {
	c.calls++
	if c.calls == c.after {
		c.cancel()
	}
	return c.RowWriter.WriteRows(t, r0, src, raw)
}

// le32 is vals as little-endian float32 bytes.
func le32(vals []float32) []byte {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// serialBackend runs one backend call at a time: the CPU backend's ops are not made to be
// issued from several goroutines at once, while a Loader's reads are.
type serialBackend struct {
	compute.Backend
	mu sync.Mutex
}

func (s *serialBackend) FromBytes(dt compute.DType, shape []int, src compute.DType, raw []byte) (*compute.Tensor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Backend.FromBytes(dt, shape, src, raw)
}

func (s *serialBackend) Alloc(dt compute.DType, shape []int) (*compute.Tensor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Backend.(compute.RowWriter).Alloc(dt, shape)
}

func (s *serialBackend) WriteRows(t *compute.Tensor, r0 int, src compute.DType, raw []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Backend.(compute.RowWriter).WriteRows(t, r0, src, raw)
}

func (s *serialBackend) Read(t *compute.Tensor, dst []float32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Backend.Read(t, dst)
}

func (s *serialBackend) Free(t *compute.Tensor) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Backend.Free(t)
}

// TestLoaderConcurrent: uploads through one Loader from several goroutines at once, whole and
// in blocks of rows, give the tensors a lone upload gives: each upload reads into a buffer of
// its own while another hands its bytes to the backend (whose calls serialBackend takes one
// at a time).
func TestLoaderConcurrent(t *testing.T) {
	ck := openTiny(t)
	cpu, err := compute.Open("cpu", compute.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	b := &serialBackend{Backend: cpu}
	names := []string{
		"language_model.model.embed_tokens.weight",
		"language_model.model.layers.0.mlp.gate_proj.weight",
		"language_model.model.layers.0.mlp.down_proj.weight",
		"vision_model.vision_tower.blocks.0.attn.qkv.weight",
		"language_model.model.layers.1.self_attn.q_proj.weight",
	}
	want := map[string][]float32{}
	for _, name := range names {
		info, _ := ck.Info(name)
		want[name] = make([]float32, info.NumElements())
		if err := ck.Float32(name, want[name]); err != nil {
			t.Fatal(err)
		}
	}
	for _, block := range []int{UploadBlock, 3 * 64 * 2} { // whole tensors; three BF16 rows of 64
		l := NewLoader(ck, b)
		l.block = block
		errs := make(chan error, 4*len(names))
		for g := range 4 {
			go func() {
				for i := range names {
					name := names[(i+g)%len(names)]
					info, _ := ck.Info(name)
					x, err := l.Load(name, compute.F32, info.Shape...)
					if err != nil {
						errs <- err
						continue
					}
					got := make([]float32, x.Len())
					err = b.Read(x, got)
					b.Free(x)
					if err == nil && !slices.Equal(got, want[name]) {
						err = fmt.Errorf("%s (block %d): other values than a lone upload's", name, block)
					}
					errs <- err
				}
			}()
		}
		for range 4 * len(names) {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	}
}
