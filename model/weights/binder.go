package weights

import (
	"fmt"

	"github.com/janus-desktop/janus/compute"
)

// Binder binds a network's weights from a Source and keeps the first error, so that a
// network's Load reads as a plain list of tensors with one error check at the end. After an
// error every call returns nil.
type Binder struct {
	src Source
	err error
}

// NewBinder binds from src. The row methods need src to be a RowSource.
func NewBinder(src Source) *Binder { return &Binder{src: src} }

// Err is the first error of any call so far.
func (b *Binder) Err() error { return b.err }

func (b *Binder) do(f func() (*compute.Tensor, error)) *compute.Tensor {
	if b.err != nil {
		return nil
	}
	t, err := f()
	if err != nil {
		b.err = err
		return nil
	}
	return t
}

func (b *Binder) rows(name string) (RowSource, bool) {
	rs, ok := b.src.(RowSource)
	if !ok && b.err == nil {
		b.err = fmt.Errorf("tensor %s: the weight source cannot load row ranges", name)
	}
	return rs, ok
}

// F32 uploads a tensor as float32 (Source.F32).
func (b *Binder) F32(name string, shape ...int) *compute.Tensor {
	return b.do(func() (*compute.Tensor, error) { return b.src.F32(name, shape...) })
}

// Matrix uploads a Linear or Embedding weight (Source.Matrix).
func (b *Binder) Matrix(name string, shape ...int) *compute.Tensor {
	return b.do(func() (*compute.Tensor, error) { return b.src.Matrix(name, shape...) })
}

// F32Rows uploads elements [r0, r1) along the first dimension as float32 (RowSource.F32Rows).
func (b *Binder) F32Rows(name string, r0, r1 int) *compute.Tensor {
	rs, ok := b.rows(name)
	if !ok {
		return nil
	}
	return b.do(func() (*compute.Tensor, error) { return rs.F32Rows(name, r0, r1) })
}

// MatrixRows uploads rows [r0, r1) of a 2-D weight (RowSource.MatrixRows) and checks that
// they have cols columns.
func (b *Binder) MatrixRows(name string, r0, r1, cols int) *compute.Tensor {
	rs, ok := b.rows(name)
	if !ok {
		return nil
	}
	t := b.do(func() (*compute.Tensor, error) { return rs.MatrixRows(name, r0, r1) })
	if t != nil && (len(t.Shape) != 2 || t.Shape[1] != cols) {
		b.err = fmt.Errorf("tensor %s: rows have shape %v, want [%d %d]", name, t.Shape, r1-r0, cols)
	}
	return t
}
