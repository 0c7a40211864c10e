package vq

import (
	"context"

	"github.com/janus-desktop/janus/compute"
)

// scratch recycles activation tensors during one Decode call. The decoder's activations are
// large (128×384×384 floats at the top level of the released model) and every block
// allocates the same few sizes again, so reusing them keeps the peak at a few buffers per
// resolution instead of one per op.
//
// Buffers are pooled by length, not shape: a block may hand back a reshaped view ([1, C, HW]
// as [1, C, H, W]), and pooling by shape would then strand the buffer in another shape's list
// and allocate anew for every image of a long Decode.
type scratch struct {
	b    compute.Backend
	free map[int][]*compute.Tensor
	all  []*compute.Tensor
}

func newScratch(b compute.Backend) *scratch {
	return &scratch{b: b, free: make(map[int][]*compute.Tensor)}
}

// get returns an F32 tensor of the given shape whose contents are undefined.
func (s *scratch) get(shape ...int) *compute.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if list := s.free[n]; len(list) > 0 {
		t := list[len(list)-1]
		s.free[n] = list[:len(list)-1]
		return s.b.Reshape(t, shape...)
	}
	t := s.b.New(compute.F32, shape...)
	s.all = append(s.all, t)
	return t
}

// put makes t, a tensor from get or a reshaped view of one, available to later gets of its
// length.
func (s *scratch) put(t *compute.Tensor) {
	s.free[t.Len()] = append(s.free[t.Len()], t)
}

// release frees every buffer the pool allocated.
func (s *scratch) release() {
	for _, t := range s.all {
		s.b.Free(t)
	}
	s.all = nil
	clear(s.free)
}

// ScratchBytes is the memory one Decode (or DecodeToImages, DecodeEachImage) call allocates on
// the backend for activations: the scratch pool's buffers, which are reused from one image
// to the next and freed when the call returns. The decoded values handed back come on top:
// 3·ImageSize² float32 per image held (one for DecodeEachImage), or 4 bytes per pixel for an
// 8-bit picture.
//
// It is measured, not derived: decodeOne runs once on a backend that only records the
// buffers it is asked for, so the figure follows the decoder's code exactly.
func (d *Decoder) ScratchBytes() int64 {
	sizer := &sizingBackend{}
	dry := *d
	dry.b = sizer
	r := &run{d: &dry, b: sizer, ctx: context.Background(), pool: newScratch(sizer)}
	if _, err := r.decodeOne(make([]int32, d.p.Tokens())); err != nil {
		return 0 // only a done context stops decodeOne, and Background never is
	}
	return sizer.bytes
}

// sizingBackend is a compute.Backend that allocates nothing and computes nothing: it adds up
// the bytes of the tensors New is asked for, for ScratchBytes.
type sizingBackend struct{ bytes int64 }

func (s *sizingBackend) Name() string { return "sizing" }
func (s *sizingBackend) New(dt compute.DType, shape ...int) *compute.Tensor {
	t := &compute.Tensor{Shape: append([]int(nil), shape...), DType: dt}
	s.bytes += int64(t.Len()) * int64(dt.Size())
	return t
}
func (s *sizingBackend) FromBytes(dt compute.DType, shape []int, _ compute.DType, _ []byte) (*compute.Tensor, error) {
	return s.New(dt, shape...), nil
}
func (s *sizingBackend) FromFloat32(_ []float32, shape ...int) *compute.Tensor {
	return s.New(compute.F32, shape...)
}
func (s *sizingBackend) Write(*compute.Tensor, []float32)                                {}
func (s *sizingBackend) Read(*compute.Tensor, []float32) error                           { return nil }
func (s *sizingBackend) Free(*compute.Tensor)                                            {}
func (s *sizingBackend) Sync() error                                                     { return nil }
func (s *sizingBackend) MemoryUsed() int64                                               { return s.bytes }
func (s *sizingBackend) Close() error                                                    { return nil }
func (s *sizingBackend) Linear(_, _, _, _ *compute.Tensor)                               {}
func (s *sizingBackend) Embedding(*compute.Tensor, *compute.Tensor, []int32)             {}
func (s *sizingBackend) Add(_, _, _ *compute.Tensor)                                     {}
func (s *sizingBackend) Mul(_, _, _ *compute.Tensor)                                     {}
func (s *sizingBackend) Scale(_, _ *compute.Tensor, _ float32)                           {}
func (s *sizingBackend) GELU(_, _ *compute.Tensor)                                       {}
func (s *sizingBackend) SiLU(_, _ *compute.Tensor)                                       {}
func (s *sizingBackend) SwiGLU(_, _, _ *compute.Tensor)                                  {}
func (s *sizingBackend) LayerNorm(_, _, _, _ *compute.Tensor, _ float32)                 {}
func (s *sizingBackend) RMSNorm(_, _, _ *compute.Tensor, _ float32)                      {}
func (s *sizingBackend) GroupNorm(_, _, _, _ *compute.Tensor, _ int, _ float32)          {}
func (s *sizingBackend) RoPE(*compute.Tensor, int, int, int, float32)                    {}
func (s *sizingBackend) Attention(_, _, _, _ *compute.Tensor, _ compute.AttentionParams) {}
func (s *sizingBackend) CopyRows(*compute.Tensor, int, *compute.Tensor, int, int)        {}
func (s *sizingBackend) Transpose(_, _ *compute.Tensor)                                  {}
func (s *sizingBackend) Conv2D(_, _, _, _ *compute.Tensor, _ compute.Conv2DParams)       {}
func (s *sizingBackend) Upsample2x(_, _ *compute.Tensor)                                 {}
func (s *sizingBackend) Reshape(t *compute.Tensor, shape ...int) *compute.Tensor {
	return &compute.Tensor{Shape: append([]int(nil), shape...), DType: t.DType}
}

// ScratchBytesFor is ScratchBytes for a decoder of structure p, found without its weights
// (a dry-run Load on the sizing backend), so that a caller can budget memory before it
// loads anything.
func ScratchBytesFor(p Params) (int64, error) {
	sizer := &sizingBackend{}
	d, err := Load(sizer, sizingWeights{sizer}, p)
	if err != nil {
		return 0, err
	}
	return d.ScratchBytes(), nil
}

// sizingWeights hands out weightless tensors of the asked shapes on a sizing backend.
type sizingWeights struct{ b *sizingBackend }

func (w sizingWeights) Load(_ string, dt compute.DType, shape ...int) (*compute.Tensor, error) {
	return w.b.New(dt, shape...), nil
}
