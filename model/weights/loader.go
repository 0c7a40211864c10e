// Package weights binds a checkpoint to the networks of a Janus model: it uploads named
// tensors to a compute backend with their shapes checked (Loader), lists every tensor the
// architecture of a given configuration runs (Plan), checks a checkpoint against that list
// in one pass that reports every problem at once (Check), and counts parameters and the
// memory the weights need at each precision.
//
// Uploads go one tensor at a time straight from the checkpoint's memory-mapped bytes to the
// backend, so loading never holds a second full copy of the weights: the mapped pages are
// page cache, dropped by the kernel as needed, and each backend buffer is the only copy.
package weights

import (
	"fmt"
	"slices"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model/checkpoint"
)

// Loader uploads checkpoint tensors to a backend. It adds no locking of its own: concurrent
// loads are as safe as the backend's FromBytes (checkpoint reads are). The checkpoint must
// stay open while the Loader is used; the uploaded tensors do not depend on it.
type Loader struct {
	ck *checkpoint.Checkpoint
	b  compute.Backend
}

// NewLoader returns a Loader reading ck and allocating on b.
func NewLoader(ck *checkpoint.Checkpoint, b compute.Backend) *Loader {
	return &Loader{ck: ck, b: b}
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
// its stored dtype must be F32, F16 or BF16.
func (l *Loader) Load(name string, dt compute.DType, shape ...int) (*compute.Tensor, error) {
	info, src, err := l.lookup(name)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(info.Shape, shape) {
		return nil, fmt.Errorf("load tensor %q: checkpoint shape %v, the model needs %v (file %s)", name, info.Shape, shape, info.File)
	}
	raw, err := l.raw(name, info)
	if err != nil {
		return nil, err
	}
	t, err := l.b.FromBytes(dt, slices.Clone(shape), src, raw)
	if err != nil {
		return nil, fmt.Errorf("load tensor %q: %w", name, err)
	}
	return t, nil
}

// LoadRows uploads rows [r0, r1) of dimension 0 of the named tensor as dtype dt, with shape
// [r1-r0, rest...]. It splits fused weights, such as the ViT's qkv weight [3W, W] and bias
// [3W], into their parts without copying the whole tensor.
func (l *Loader) LoadRows(name string, dt compute.DType, r0, r1 int) (*compute.Tensor, error) {
	info, src, err := l.lookup(name)
	if err != nil {
		return nil, err
	}
	if len(info.Shape) == 0 {
		return nil, fmt.Errorf("load rows %d:%d of tensor %q: it is a scalar", r0, r1, name)
	}
	if r0 < 0 || r1 <= r0 || r1 > info.Shape[0] {
		return nil, fmt.Errorf("load rows %d:%d of tensor %q: out of range for shape %v", r0, r1, name, info.Shape)
	}
	raw, err := l.raw(name, info)
	if err != nil {
		return nil, err
	}
	rowBytes := len(raw) / info.Shape[0]
	shape := append([]int{r1 - r0}, info.Shape[1:]...)
	t, err := l.b.FromBytes(dt, shape, src, raw[r0*rowBytes:r1*rowBytes])
	if err != nil {
		return nil, fmt.Errorf("load rows %d:%d of tensor %q: %w", r0, r1, name, err)
	}
	return t, nil
}

// lookup finds the tensor and maps its stored dtype to a backend source dtype.
func (l *Loader) lookup(name string) (checkpoint.TensorInfo, compute.DType, error) {
	info, ok := l.ck.Info(name)
	if !ok {
		return info, 0, fmt.Errorf("load tensor %q: not in the checkpoint", name)
	}
	src, ok := sourceDType(info.DType)
	if !ok {
		return info, 0, fmt.Errorf("load tensor %q: stored as %s, want F32, F16 or BF16 (file %s)", name, info.DType, info.File)
	}
	return info, src, nil
}

// raw returns the tensor's bytes after checking their length against its shape, so that a
// backend never reads past them.
func (l *Loader) raw(name string, info checkpoint.TensorInfo) ([]byte, error) {
	raw, err := l.ck.Raw(name)
	if err != nil {
		return nil, fmt.Errorf("load tensor %q: %w", name, err)
	}
	if len(raw) != info.NumBytes() {
		return nil, fmt.Errorf("load tensor %q: %d bytes stored, %s %v needs %d (file %s)", name, len(raw), info.DType, info.Shape, info.NumBytes(), info.File)
	}
	return raw, nil
}

// sourceDType maps the checkpoint dtypes a backend can upload from.
func sourceDType(d checkpoint.DType) (compute.DType, bool) {
	switch d {
	case checkpoint.F32:
		return compute.F32, true
	case checkpoint.F16:
		return compute.F16, true
	case checkpoint.BF16:
		return compute.BF16, true
	}
	return 0, false
}
