// Package weights binds a checkpoint to the networks of a Janus model: it uploads named
// tensors to a compute backend with their shapes checked (Loader, the weight source every
// network binds from, with the dtype policy for Linear weights), gives the networks one
// interface to name their tensors through (Layout: a Binder uploads them, a Recorder lists
// them, which is how model.Plan is made) under the state-dict prefixes this package owns,
// checks a checkpoint against a plan in one pass that reports every problem at once (Check),
// and counts parameters and the memory the weights need at each precision.
//
// Uploads go one tensor at a time from the checkpoint to the backend through a reused read
// buffer (checkpoint's ReadAt), so loading never holds a second copy of the weights: a tensor
// larger than UploadBlock goes a block of rows at a time to a backend that takes rows
// (compute.RowWriter; the CPU and Metal backends do), so the buffer holds at most that much.
// Reading rather than mapping matters because a mapped page is faulted in at its first
// touch, and every byte of a checkpoint is touched once. Tensors stored as F64 (no release
// has any) are the exception: a backend cannot read them, so each is narrowed to float32
// through checkpoint.Float32 into a temporary buffer first.
package weights

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model/checkpoint"
)

// Source is what the language model and the projectors bind their weights from: *Loader,
// or in-memory weights in tests and benchmarks.
type Source interface {
	// Matrix uploads a weight used by Linear or Embedding, in the dtype the source's policy
	// picks, checking its shape.
	Matrix(name string, shape ...int) (*compute.Tensor, error)
	// F32 uploads a tensor as float32, checking its shape.
	F32(name string, shape ...int) (*compute.Tensor, error)
}

// RowSource is a Source that also uploads row ranges, which the ViT needs to split its fused
// qkv weight and bias.
type RowSource interface {
	Source
	// MatrixRows uploads rows [r0, r1) of a 2-D weight, as Matrix does.
	MatrixRows(name string, r0, r1 int) (*compute.Tensor, error)
	// F32Rows uploads elements [r0, r1) along the first dimension of a tensor as float32.
	F32Rows(name string, r0, r1 int) (*compute.Tensor, error)
}

// A Loader is the RowSource of every real model.
var _ RowSource = (*Loader)(nil)

// Loader uploads checkpoint tensors to a backend. It is the weight source every network
// binds from: Load and LoadRows take an explicit dtype (model/vq's interface); Matrix and
// MatrixRows keep Linear weights and embedding tables in the dtype LoaderOptions picks; F32
// and F32Rows widen everything else to float32 (model/vision, model/projector, model/llm).
//
// Concurrent loads are as safe as the backend's FromBytes and the Uploaded callback
// (checkpoint reads are, and each upload holds a read buffer of its own). The checkpoint
// must stay open while the Loader is used; the uploaded tensors do not depend on it.
type Loader struct {
	ck    *checkpoint.Checkpoint
	b     compute.Backend
	opts  LoaderOptions
	block int // UploadBlock, or less in tests

	mu    sync.Mutex
	spare []byte // the read buffer no upload is using, kept for the next
}

// LoaderOptions tune a Loader. The zero value keeps matrices in their stored dtype.
type LoaderOptions struct {
	// MatrixDType picks the dtype Matrix and MatrixRows keep a weight in from the dtype it is
	// stored in (F64 counts as F32); nil keeps the stored dtype. Narrowing to F16 fails for
	// a weight with a finite value beyond 65504 (see Load).
	MatrixDType func(stored compute.DType) compute.DType
	// Quantize, when compute.Q8, compute.Q4 or compute.Q4M, stores the matrices Quantizable names in that
	// dtype (the backend quantizes them as it uploads them) when their rows are whole blocks
	// of compute.QBlock; every other matrix follows MatrixDType. Any other value quantizes
	// nothing.
	Quantize compute.DType
	// Context, when not nil, ends a load between two uploads (and between two blocks of a
	// large tensor) once it is done: the upload fails with an error wrapping its Err.
	Context context.Context
	// Uploaded, when not nil, is called after each upload with the tensor's name, the first
	// row uploaded (0 for a whole tensor) and the uploaded tensor. It must not keep or free
	// the tensor.
	Uploaded func(name string, r0 int, t *compute.Tensor)
}

// NewLoader returns a Loader reading ck and allocating on b that keeps matrices in their
// stored dtype.
func NewLoader(ck *checkpoint.Checkpoint, b compute.Backend) *Loader {
	return &Loader{ck: ck, b: b, block: UploadBlock}
}

// NewLoaderWith returns a Loader reading ck and allocating on b, tuned by opts.
func NewLoaderWith(ck *checkpoint.Checkpoint, b compute.Backend, opts LoaderOptions) *Loader {
	return &Loader{ck: ck, b: b, opts: opts, block: UploadBlock}
}

// Backend is the backend the tensors are uploaded to.
func (l *Loader) Backend() compute.Backend { return l.b }

// Checkpoint is the checkpoint the tensors are read from.
func (l *Loader) Checkpoint() *checkpoint.Checkpoint { return l.ck }

// Has reports whether the checkpoint holds the named tensor.
func (l *Loader) Has(name string) bool {
	_, ok := l.ck.Info(name)
	return ok
}

// Load uploads the named tensor as dtype dt. Its stored shape must equal shape exactly and
// its stored dtype must be F32, F16, BF16 or F64 (narrowed to float32 on the way). Uploading
// a tensor not stored as F16 as F16 fails when a finite value in it is beyond F16's largest
// (65504), which the conversion would turn into infinity, naming the largest magnitude (of
// the block of rows that failed, for a tensor uploaded in blocks).
func (l *Loader) Load(name string, dt compute.DType, shape ...int) (*compute.Tensor, error) {
	info, ok := l.ck.Info(name)
	if !ok {
		return nil, fmt.Errorf("load tensor %q: not in the checkpoint", name)
	}
	if !slices.Equal(info.Shape, shape) {
		return nil, fmt.Errorf("load tensor %q: checkpoint shape %v, the model needs %v (file %s)", name, info.Shape, shape, info.File)
	}
	src, data, err := l.data(info)
	if err != nil {
		return nil, err
	}
	t, err := l.upload(data, dt, slices.Clone(shape), src, 0, data.size())
	if err != nil {
		return nil, fmt.Errorf("load tensor %q: %w", name, err)
	}
	return l.uploaded(name, 0, t), nil
}

// LoadRows uploads rows [r0, r1) of dimension 0 of the named tensor as dtype dt, with shape
// [r1-r0, rest...]. It splits fused weights, such as the ViT's qkv weight [3W, W] and bias
// [3W], into their parts without copying the whole tensor. Narrowing to F16 is checked as
// in Load, over the rows uploaded.
func (l *Loader) LoadRows(name string, dt compute.DType, r0, r1 int) (*compute.Tensor, error) {
	info, ok := l.ck.Info(name)
	if !ok {
		return nil, fmt.Errorf("load rows %d:%d of tensor %q: not in the checkpoint", r0, r1, name)
	}
	if len(info.Shape) == 0 {
		return nil, fmt.Errorf("load rows %d:%d of tensor %q: it is a scalar", r0, r1, name)
	}
	if r0 < 0 || r1 <= r0 || r1 > info.Shape[0] {
		return nil, fmt.Errorf("load rows %d:%d of tensor %q: out of range for shape %v", r0, r1, name, info.Shape)
	}
	src, data, err := l.data(info)
	if err != nil {
		return nil, err
	}
	rowBytes := data.size() / info.Shape[0]
	shape := append([]int{r1 - r0}, info.Shape[1:]...)
	t, err := l.upload(data, dt, shape, src, r0*rowBytes, (r1-r0)*rowBytes)
	if err != nil {
		return nil, fmt.Errorf("load rows %d:%d of tensor %q: %w", r0, r1, name, err)
	}
	return l.uploaded(name, r0, t), nil
}

// UploadBlock is the most source bytes of one tensor a weight source hands at once to a
// backend that takes rows (compute.RowWriter); a row longer than that goes on its own.
const UploadBlock = 8 << 20

// upload makes a tensor of dtype dt and the given shape from n bytes at byte offset off of
// the tensor data, elements of dtype src, checking narrowing to F16 as Load documents. A
// source larger than the Loader's block goes a block of whole rows at a time when the backend
// takes rows.
func (l *Loader) upload(data tensorData, dt compute.DType, shape []int, src compute.DType, off, n int) (*compute.Tensor, error) {
	rw, ok := l.b.(compute.RowWriter)
	rowBytes := 0
	if len(shape) > 0 && shape[0] > 0 {
		rowBytes = n / shape[0]
	}
	if err := l.cancelled(); err != nil {
		return nil, err
	}
	if !ok || n <= l.block || rowBytes == 0 {
		buf := l.takeBuffer(data, n)
		defer l.giveBuffer(buf)
		raw, err := data.read(l.ck, buf, off, n)
		if err == nil {
			err = checkF16Range(data.info, dt, src, raw)
		}
		if err != nil {
			return nil, err
		}
		return l.b.FromBytes(dt, shape, src, raw)
	}
	t, err := rw.Alloc(dt, shape)
	if err != nil {
		return nil, err
	}
	step := max(1, l.block/rowBytes)
	buf := l.takeBuffer(data, min(shape[0], step)*rowBytes)
	defer l.giveBuffer(buf)
	for r := 0; r < shape[0]; r += step {
		rows := min(shape[0], r+step) - r
		err := l.cancelled()
		var block []byte
		if err == nil {
			block, err = data.read(l.ck, buf, off+r*rowBytes, rows*rowBytes)
		}
		if err == nil {
			err = checkF16Range(data.info, dt, src, block)
		}
		if err == nil {
			err = rw.WriteRows(t, r, src, block)
		}
		if err != nil {
			l.b.Free(t)
			return nil, err
		}
	}
	return t, nil
}

// takeBuffer returns a read buffer of at least n bytes for one upload, which gives it back
// with giveBuffer once the backend has the bytes: the Loader's spare one when it is large
// enough, else a new one (none for a tensor that comes from its float32 copy). Uploads that
// run at the same time each hold their own.
func (l *Loader) takeBuffer(data tensorData, n int) []byte {
	if data.f32 != nil {
		return nil
	}
	l.mu.Lock()
	buf := l.spare
	l.spare = nil
	l.mu.Unlock()
	if cap(buf) < n {
		// New memory costs a page fault per 4 KB at its first touch: one buffer of the
		// largest block serves the whole load.
		buf = make([]byte, n)
	}
	return buf
}

// giveBuffer keeps buf as the spare read buffer when it is larger than the one kept.
func (l *Loader) giveBuffer(buf []byte) {
	l.mu.Lock()
	if cap(buf) > cap(l.spare) {
		l.spare = buf
	}
	l.mu.Unlock()
}

// cancelled is the error that ends a load once LoaderOptions.Context is done, else nil.
func (l *Loader) cancelled() error {
	if l.opts.Context == nil {
		return nil
	}
	if err := l.opts.Context.Err(); err != nil {
		return fmt.Errorf("load cancelled: %w", err)
	}
	return nil
}

// Matrix uploads a Linear weight or an embedding table in the dtype LoaderOptions.MatrixDType
// picks, checking its shape.
func (l *Loader) Matrix(name string, shape ...int) (*compute.Tensor, error) {
	dt, err := l.matrixDType(name)
	if err != nil {
		return nil, err
	}
	return l.Load(name, dt, shape...)
}

// MatrixRows uploads rows [r0, r1) of a Linear weight as Matrix does.
func (l *Loader) MatrixRows(name string, r0, r1 int) (*compute.Tensor, error) {
	dt, err := l.matrixDType(name)
	if err != nil {
		return nil, err
	}
	return l.LoadRows(name, dt, r0, r1)
}

// F32 uploads a tensor as float32, checking its shape.
func (l *Loader) F32(name string, shape ...int) (*compute.Tensor, error) {
	return l.Load(name, compute.F32, shape...)
}

// F32Rows uploads rows [r0, r1) of a tensor as float32.
func (l *Loader) F32Rows(name string, r0, r1 int) (*compute.Tensor, error) {
	return l.LoadRows(name, compute.F32, r0, r1)
}

func (l *Loader) matrixDType(name string) (compute.DType, error) {
	info, ok := l.ck.Info(name)
	if !ok {
		return 0, fmt.Errorf("load tensor %q: not in the checkpoint", name)
	}
	stored, ok := sourceDType(info.DType)
	if !ok {
		return 0, unsupportedDType(info)
	}
	if q := l.opts.Quantize; q.Quantized() && Quantizable(name) && len(info.Shape) > 0 && info.Shape[len(info.Shape)-1]%compute.QBlock == 0 {
		return q, nil
	}
	if l.opts.MatrixDType == nil {
		return stored, nil
	}
	return l.opts.MatrixDType(stored), nil
}

func (l *Loader) uploaded(name string, r0 int, t *compute.Tensor) *compute.Tensor {
	if l.opts.Uploaded != nil {
		l.opts.Uploaded(name, r0, t)
	}
	return t
}

// tensorData is where a tensor's bytes come from: the checkpoint, or for a tensor stored
// as F64, its float32 copy.
type tensorData struct {
	info checkpoint.TensorInfo
	f32  []byte
}

// read returns n bytes at offset off of the tensor's data: from the float32 copy, or read
// from ck into buf.
func (d tensorData) read(ck *checkpoint.Checkpoint, buf []byte, off, n int) ([]byte, error) {
	if d.f32 != nil {
		return d.f32[off : off+n], nil
	}
	buf = buf[:n]
	if err := ck.ReadAt(d.info.Name, buf, int64(off)); err != nil {
		return nil, err
	}
	return buf, nil
}

// size is the tensor's bytes as a backend reads them.
func (d tensorData) size() int {
	if d.f32 != nil {
		return len(d.f32)
	}
	return d.info.NumBytes()
}

// data checks that a backend can read the tensor and returns the dtype it reads it as.
// F64 tensors, which a backend cannot read, come back narrowed to float32 in a fresh
// buffer: no release stores any, so the extra copy of one tensor does not matter.
func (l *Loader) data(info checkpoint.TensorInfo) (compute.DType, tensorData, error) {
	src, ok := sourceDType(info.DType)
	if !ok {
		return 0, tensorData{}, unsupportedDType(info)
	}
	d := tensorData{info: info}
	if info.DType == checkpoint.F64 {
		vals := make([]float32, info.NumElements())
		if err := l.ck.Float32(info.Name, vals); err != nil {
			return 0, tensorData{}, fmt.Errorf("load tensor %q: %w", info.Name, err)
		}
		d.f32 = make([]byte, 4*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(d.f32[4*i:], math.Float32bits(v))
		}
	}
	return src, d, nil
}

// maxF16 is the largest finite float16 value. A backend's narrowing rounds anything from
// 65520 up to infinity, and one infinite weight turns every activation it touches into
// Inf or NaN.
const maxF16 = 65504

// checkF16Range refuses to narrow raw (stored as src) to F16 when a finite value in it is
// beyond F16's range, naming the largest magnitude: the alternative is a model whose output
// is silently garbage. Infinities and NaNs already in the checkpoint are kept as they are.
// It compares bit patterns, because for finite floats of one sign the order of the absolute
// bits is the order of the magnitudes, and this scan runs over every matrix of a model.
func checkF16Range(info checkpoint.TensorInfo, dt, src compute.DType, raw []byte) error {
	if dt != compute.F16 || src == compute.F16 {
		return nil
	}
	var largest float32
	switch src {
	case compute.F32:
		const inf, limit = 0x7f800000, 0x477fe000 // math.Float32bits(maxF16)
		var top uint32
		for i := 0; i+4 <= len(raw); i += 4 {
			if a := binary.LittleEndian.Uint32(raw[i:]) &^ (1 << 31); a > top && a < inf {
				top = a
			}
		}
		if top <= limit {
			return nil
		}
		largest = math.Float32frombits(top)
	case compute.BF16:
		const inf, limit = 0x7f80, 0x477f // 65280, the largest BF16 value not above maxF16
		var top uint16
		for i := 0; i+2 <= len(raw); i += 2 {
			if a := binary.LittleEndian.Uint16(raw[i:]) &^ (1 << 15); a > top && a < inf {
				top = a
			}
		}
		if top <= limit {
			return nil
		}
		largest = math.Float32frombits(uint32(top) << 16)
	default:
		return nil
	}
	return fmt.Errorf("stored as %s with a value of magnitude %g, beyond F16's largest %d: it would become infinite as F16 (file %s); keep this model in BF16 or F32",
		info.DType, largest, maxF16, info.File)
}

func unsupportedDType(info checkpoint.TensorInfo) error {
	return fmt.Errorf("load tensor %q: stored as %s, want F32, F16, BF16 or F64 (file %s)", info.Name, info.DType, info.File)
}

// sourceDType maps the checkpoint dtypes a Loader can upload to the dtype the backend reads
// them as: F64 is narrowed to float32 first.
func sourceDType(d checkpoint.DType) (compute.DType, bool) {
	switch d {
	case checkpoint.F32, checkpoint.F64:
		return compute.F32, true
	case checkpoint.F16:
		return compute.F16, true
	case checkpoint.BF16:
		return compute.BF16, true
	}
	return 0, false
}
