package vq

import (
	"context"
	"sort"

	"github.com/janus-desktop/janus/compute"
)

// scratch hands out the activation tensors of one Decode call. The decoder's activations are
// large (128×384×384 floats at the top level of the released model) and every block uses the
// same few sizes again, so they are recycled rather than allocated per op: laid out in one
// arena by a plan where the backend has views (planned), else pooled by length (pooled).
type scratch interface {
	// begin starts an image: decodeOne asks for the same tensors in the same order each time.
	begin()
	// get returns an F32 tensor of the given shape whose contents are undefined.
	get(shape ...int) *compute.Tensor
	// put says t, a tensor from get or a reshaped view of one, is no longer used.
	put(t *compute.Tensor)
	// release frees every buffer the scratch allocated.
	release()
	// inPlace reports whether the top level's convolutions should run in place, which
	// shrinks a planned arena by a third. A pool keeps every length it was asked for, so
	// there it would save one buffer of the sum and cost the in-place convolution's band
	// copies.
	inPlace() bool
}

// newScratch returns the scratch of a Decode call of d: planned where d's backend has views,
// else pooled.
func newScratch(d *Decoder) scratch {
	if v, ok := d.b.(compute.Viewer); ok {
		if spans, total, bin := d.scratchPlan(); total > 0 {
			s := &planned{b: d.b, v: v, spans: spans, bin: bin, spill: newPooled(d.b), spilled: map[any]bool{}}
			for off := 0; off < total; off += bin {
				s.arena = append(s.arena, d.b.New(compute.F32, min(bin, total-off)))
			}
			return s
		}
	}
	return newPooled(d.b)
}

// pooled recycles buffers by length, not shape: a block may hand back a reshaped view ([1, C,
// HW] as [1, C, H, W]), and pooling by shape would then strand the buffer in another shape's
// list and allocate anew for every image of a long Decode. It keeps every length it was asked
// for, so its peak is the sum over the levels, not the largest level's.
type pooled struct {
	b    compute.Backend
	free map[int][]*compute.Tensor
	all  []*compute.Tensor
}

func newPooled(b compute.Backend) *pooled {
	return &pooled{b: b, free: make(map[int][]*compute.Tensor)}
}

func (s *pooled) begin() {}

func (s *pooled) inPlace() bool { return false }

func (s *pooled) get(shape ...int) *compute.Tensor {
	n := elements(shape)
	if list := s.free[n]; len(list) > 0 {
		t := list[len(list)-1]
		s.free[n] = list[:len(list)-1]
		return s.b.Reshape(t, shape...)
	}
	t := s.b.New(compute.F32, shape...)
	s.all = append(s.all, t)
	return t
}

func (s *pooled) put(t *compute.Tensor) {
	s.free[t.Len()] = append(s.free[t.Len()], t)
}

func (s *pooled) release() {
	for _, t := range s.all {
		s.b.Free(t)
	}
	s.all = nil
	clear(s.free)
}

// planned hands out views of an arena at the offsets of the decoder's plan
// (Decoder.scratchPlan): the k-th get of an image gets span k. Tensors whose lifetimes overlap
// never share memory, so the arena is about the largest level's live activations (two
// top-level buffers in the released model, whose top-level convolutions run in place) rather
// than the pool's sum over levels.
type planned struct {
	b     compute.Backend
	v     compute.Viewer
	spans []span
	arena []*compute.Tensor // its bins
	bin   int
	next  int
	// spill serves the gets from the first one the plan does not foresee to the image's
	// end (astray), which would be a change to decodeOne that the plan missed: it keeps the
	// decode correct, only larger. spilled holds the buffers it handed out, by Tensor.Buf
	// (which reshapes share, and which must be comparable: the CPU's is a pointer).
	spill   *pooled
	spilled map[any]bool
	astray  bool
}

func (s *planned) begin() { s.next, s.astray = 0, false }

func (s *planned) inPlace() bool { return true }

func (s *planned) get(shape ...int) *compute.Tensor {
	n := elements(shape)
	k := s.next
	s.next++
	if s.astray = s.astray || k >= len(s.spans) || s.spans[k].n != n; s.astray {
		t := s.spill.get(shape...)
		s.spilled[t.Buf] = true
		return t
	}
	off := s.spans[k].off
	return s.v.View(s.arena[off/s.bin], off%s.bin, shape...)
}

func (s *planned) put(t *compute.Tensor) {
	if s.spilled[t.Buf] {
		s.spill.put(t)
	}
}

func (s *planned) release() {
	for _, t := range s.arena {
		s.b.Free(t)
	}
	s.arena = nil
	s.spill.release()
}

// ScratchBytes is the memory one Decode (or DecodeToImages, DecodeEachImage) call allocates on
// the backend for activations: the planned arena where the backend has views, else the pool's
// buffers. Either is reused from one image to the next and freed when the call returns. The
// decoded values handed back come on top: 3·ImageSize² float32 per image held (one for
// DecodeEachImage), or 4 bytes per pixel for an 8-bit picture.
//
// It is measured, not derived: decodeOne runs once on a backend that only records the
// buffers it is asked for, so the figure follows the decoder's code exactly.
func (d *Decoder) ScratchBytes() int64 {
	if _, ok := d.b.(compute.Viewer); ok {
		_, total, _ := d.scratchPlan()
		return 4 * int64(total)
	}
	sizer := &sizingBackend{}
	d.dryRun(sizer, newPooled(sizer))
	return sizer.bytes
}

// dryRun runs decodeOne for one image of d on the sizing backend sizer, taking its
// activations from s, and returns the decoded image's tensor (s's). The weights stay d's.
func (d *Decoder) dryRun(sizer *sizingBackend, s scratch) *compute.Tensor {
	dry := *d
	dry.b = sizer
	r := &run{d: &dry, b: sizer, ctx: context.Background(), scratch: s}
	img, err := r.decodeOne(make([]int32, d.p.Tokens()))
	if err != nil {
		return nil // only a done context stops decodeOne, and Background never is
	}
	return img
}

// elements is the number of elements of a tensor of the given shape (compute.Tensor.Len).
func elements(shape []int) int { return (&compute.Tensor{Shape: shape}).Len() }

// span is where the planned arena holds one activation: n elements from off.
type span struct{ off, n int }

// spanAlign is the alignment, in elements, of the planned spans: 4 KB, so that no two
// tensors share a page or a cache line.
const spanAlign = 1024

func aligned(n int) int { return (n + spanAlign - 1) / spanAlign * spanAlign }

// scratchPlan lays out the activations of one image's decodeOne in an arena of total
// elements: span k for its k-th get. It places the tensors largest first, each at the lowest
// offset clear of the placed ones alive at the same time (greedy by size, as TensorFlow Lite
// plans its arena). A tensor put before another is got may share its memory: the backend runs
// ops in issue order.
//
// The arena is allocated in bins of bin elements, the largest tensor's size, and no span
// crosses from one bin into the next. A single allocation of the whole arena would need that
// much contiguous free memory, where the heap (the CPU backend's is Go's) more often has
// holes the size of one large tensor, freed by the stage before (README, "What the speed
// rests on").
func (d *Decoder) scratchPlan() (spans []span, total, bin int) {
	lives := d.lifetimes()
	order := make([]int, len(lives))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return lives[order[a]].n > lives[order[b]].n })
	if len(order) == 0 {
		return nil, 0, 0
	}
	bin = aligned(lives[order[0]].n)
	// inBin moves off to the next bin where a tensor of n elements from off would cross
	// into it.
	inBin := func(off, n int) int {
		if off/bin != (off+n-1)/bin {
			return (off/bin + 1) * bin
		}
		return off
	}
	spans = make([]span, len(lives))
	var placed []int
	for _, k := range order {
		n := lives[k].n
		var busy []span
		for _, j := range placed {
			if lives[j].overlaps(lives[k]) {
				busy = append(busy, spans[j])
			}
		}
		sort.Slice(busy, func(a, b int) bool { return busy[a].off < busy[b].off })
		off := 0
		for _, sp := range busy {
			if off = inBin(off, n); off+n <= sp.off {
				break
			}
			off = max(off, sp.off+aligned(sp.n))
		}
		off = inBin(off, n)
		spans[k] = span{off: off, n: n}
		placed = append(placed, k)
		total = max(total, off+aligned(n))
	}
	return spans, total, bin
}

// lifetimes runs decodeOne on the sizing backend with a recorder and returns when each of
// its gets' tensors was got and put.
func (d *Decoder) lifetimes() []life {
	rec := &recorder{}
	if img := d.dryRun(&sizingBackend{}, rec); img != nil {
		rec.put(img) // as decodeEach does once it has read the image
	}
	for i := range rec.lives {
		if rec.lives[i].end < 0 {
			rec.lives[i].end = rec.clock
		}
	}
	return rec.lives
}

// recorder is the scratch of scratchPlan's dry run: it hands out weightless tensors and
// notes, on one clock, when each was got and when put.
type recorder struct {
	lives []life
	clock int
}

// life is when the k-th got tensor, of n elements, was got and put on the recorder's clock
// (end -1 while it is in use).
type life struct{ n, start, end int }

// overlaps reports whether the two tensors were in use at the same time.
func (l life) overlaps(o life) bool { return l.start < o.end && o.start < l.end }

// recorded is the Buf of a recorder's tensor, which the sizing backend's Reshape keeps.
type recorded struct{ k int }

func (r *recorder) begin() {}

func (r *recorder) inPlace() bool { return true } // it plans for planned

func (r *recorder) get(shape ...int) *compute.Tensor {
	t := &compute.Tensor{Shape: append([]int(nil), shape...), DType: compute.F32, Buf: &recorded{len(r.lives)}}
	r.lives = append(r.lives, life{n: t.Len(), start: r.clock, end: -1})
	r.clock++
	return t
}

func (r *recorder) put(t *compute.Tensor) {
	if k, ok := t.Buf.(*recorded); ok && r.lives[k.k].end < 0 {
		r.lives[k.k].end = r.clock
		r.clock++
	}
}

func (r *recorder) release() {}

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
	return &compute.Tensor{Shape: append([]int(nil), shape...), DType: t.DType, Buf: t.Buf}
}

// ScratchBytesFor is ScratchBytes for a decoder of structure p on a backend without views,
// found without its weights (a dry-run Load on the sizing backend), so that a caller can
// budget memory before it loads anything: the pool's figure, which bounds the planned
// arena of a backend with views (393 against 144 MiB for the released decoder).
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

func (w sizingWeights) F32(_ string, shape ...int) (*compute.Tensor, error) {
	return w.b.New(compute.F32, shape...), nil
}

func (w sizingWeights) Matrix(_ string, shape ...int) (*compute.Tensor, error) {
	return w.b.New(compute.F32, shape...), nil
}
