package vq

import (
	"fmt"

	"github.com/janus-desktop/janus/compute"
)

// scratch recycles activation tensors by shape during one Decode call. The decoder's
// activations are large (128×384×384 floats at the top level of the released model) and
// every block allocates the same few shapes again, so reusing them keeps the peak at a few
// buffers per resolution instead of one per op.
type scratch struct {
	b    compute.Backend
	free map[string][]*compute.Tensor
	all  []*compute.Tensor
}

func newScratch(b compute.Backend) *scratch {
	return &scratch{b: b, free: make(map[string][]*compute.Tensor)}
}

func shapeKey(shape []int) string { return fmt.Sprint(shape) }

// get returns an F32 tensor of the given shape whose contents are undefined.
func (s *scratch) get(shape ...int) *compute.Tensor {
	key := shapeKey(shape)
	if list := s.free[key]; len(list) > 0 {
		t := list[len(list)-1]
		s.free[key] = list[:len(list)-1]
		return t
	}
	t := s.b.New(compute.F32, shape...)
	s.all = append(s.all, t)
	return t
}

// put makes t available to later gets of its shape. t may be a reshaped view of a tensor
// from get; it is then reused under the view's shape.
func (s *scratch) put(t *compute.Tensor) {
	key := shapeKey(t.Shape)
	s.free[key] = append(s.free[key], t)
}

// release frees every buffer the pool allocated.
func (s *scratch) release() {
	for _, t := range s.all {
		s.b.Free(t)
	}
	s.all = nil
	clear(s.free)
}
