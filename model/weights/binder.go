package weights

import (
	"fmt"
	"slices"

	"github.com/janus-desktop/janus/compute"
)

// Layout is what a network binds its weights through, one call per tensor in state-dict
// order: a Binder uploads them from a Source, a Recorder only lists them (model.Plan). So a
// network writes each tensor's name and shape once, in the walk both run.
type Layout interface {
	// Matrix binds a Linear weight or an embedding table.
	Matrix(name string, shape ...int) *compute.Tensor
	// F32 binds any other tensor, as float32.
	F32(name string, shape ...int) *compute.Tensor
	// MatrixSplit binds a fused Linear weight of the given shape as n equal blocks of rows.
	MatrixSplit(name string, n int, shape ...int) []*compute.Tensor
	// F32Split binds a fused tensor as n equal blocks along its first dimension, as float32.
	F32Split(name string, n int, shape ...int) []*compute.Tensor
}

var _ Layout = (*Binder)(nil)

// Binder binds a network's weights from a Source and keeps the first error, so that a
// network's Load reads as a plain list of tensors with one error check at the end. After an
// error every call returns nil.
type Binder struct {
	src Source
	err error
}

// NewBinder binds from src. The Split methods need src to be a RowSource.
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

// MatrixSplit uploads each block of rows of a 2-D weight (RowSource.MatrixRows).
func (b *Binder) MatrixSplit(name string, n int, shape ...int) []*compute.Tensor {
	return b.split(name, n, shape, func(rs RowSource, r0, r1 int) (*compute.Tensor, error) {
		return rs.MatrixRows(name, r0, r1)
	})
}

// F32Split uploads each block as float32 (RowSource.F32Rows).
func (b *Binder) F32Split(name string, n int, shape ...int) []*compute.Tensor {
	return b.split(name, n, shape, func(rs RowSource, r0, r1 int) (*compute.Tensor, error) {
		return rs.F32Rows(name, r0, r1)
	})
}

// split uploads blocks [i·rows, (i+1)·rows) of the first dimension and checks that each has
// the shape's other dimensions.
func (b *Binder) split(name string, n int, shape []int, load func(rs RowSource, r0, r1 int) (*compute.Tensor, error)) []*compute.Tensor {
	out := make([]*compute.Tensor, n)
	rs, ok := b.rows(name)
	if !ok {
		return out
	}
	rows := shape[0] / n
	want := append([]int{rows}, shape[1:]...)
	for i := range out {
		out[i] = b.do(func() (*compute.Tensor, error) { return load(rs, i*rows, (i+1)*rows) })
		if t := out[i]; t != nil && !slices.Equal(t.Shape, want) {
			b.err = fmt.Errorf("tensor %s: rows have shape %v, want %v", name, t.Shape, want)
		}
	}
	return out
}
