// Package compute is the layer the model code is written against: tensors that live in
// buffers a backend owns, and the coarse operations Janus needs (linear layers with
// transposed weights, attention over a KV cache, normalisations, RoPE, activations,
// embedding lookup, convolution). The CPU backend (compute/cpu) implements it in Go; the
// Metal backend (metal/) implements the same interface op for op with compute shaders.
//
// Choosing a backend: backends register themselves from init (Register), and a program
// picks the ones it links with blank imports where it is assembled (cmd/janus and the app's
// main import _ "github.com/janus-desktop/janus/compute/cpu" and, for a GPU, the metal
// package). The caller that knows the user's choice calls Open once with a name ("auto",
// "cpu", "metal"); model code receives the Backend or the name and never names a backend
// itself. "auto" picks the registered backend of highest priority that opens and logs one
// line when it passes over one. Options carries the few settings a backend reads (Threads,
// for the CPU); a backend ignores the ones that do not concern it. Test-only backends (the
// simulated Metal device) register with priority TestOnly: Open opens them by name only.
//
// Testing a backend: its tests call computetest.Run, the conformance suite. Network tests
// run on every registered backend (test-only ones included) through computetest.Each, with
// a blank import of internal/testbackends linking them all; JANUS_TEST_BACKENDS=cpu,metal-sim
// narrows or names the list.
//
// The contract, chosen so that a GPU backend gains from it:
//   - Ops are issued in order and may run asynchronously. Read waits for every op issued
//     before it; Sync waits for all of them and reports the first failure.
//   - Host memory passed to a call (the data of FromFloat32 and Write, the raw bytes of
//     FromBytes, the ids of Embedding) is copied or fully consumed before the call returns,
//     so the caller may reuse or unmap it at once while the op itself is still queued. Read
//     is the only call that writes host memory, and it waits for the ops before it.
//   - Free may be called while ops that use the tensor are queued; the backend keeps the
//     buffer until they finish. MemoryUsed counts a buffer until it is freed.
//   - Every op writes into a destination tensor the caller allocated, so a model can keep its
//     scratch buffers between steps instead of allocating per op.
//   - Shapes are row-major. Activations are float32. Weights given to Linear and Embedding may
//     be F32, F16 or BF16 (a backend widens them on use), or the block-quantized Q8, Q4 and Q4M
//     (FromBytes quantizes F32/F16/BF16 source bytes; the last dimension must be a multiple
//     of QBlock). A backend without kernels for a dtype refuses it in FromBytes with an
//     error naming it. Every other weight is F32. A KV cache may be F16: CopyRows narrows
//     F32 rows into it and Attention reads k and v from it (q and dst stay F32); on a backend
//     that implements Q8Cache, it may be Q8 too.
//   - Elementwise ops (Add, Mul, Scale, GELU, SiLU, SwiGLU), the normalisations and a Conv2D
//     that keeps the shape may write in place (dst the same tensor as an input); no other op
//     may alias dst with an input.
//   - Shape mismatches are programming errors and panic; runtime failures of the device are
//     returned by Sync and Read.
package compute

import "fmt"

// DType is the element type of a tensor in a backend buffer.
type DType uint8

// Element types a backend stores.
const (
	F32 DType = iota
	F16
	BF16
	// Q8 holds blocks of QBlock weights along the last dimension, each as QBlock signed
	// bytes and one F16 scale (value = scale·q, q in [-127, 127]): ggml's Q8_0, 8.5 bits per
	// weight.
	Q8
	// Q4 holds blocks of QBlock weights as 4-bit codes and one F16 scale (value =
	// scale·(q-8), q in [0, 15]): ggml's Q4_0, 4.5 bits per weight. Within a block, byte j
	// holds weight j in its low nibble and weight j+QBlock/2 in its high one.
	Q4
	// Q4M holds blocks of QBlock weights as Q4's codes, an F16 scale d and an F16 offset o
	// (value = d·(q-8) + o): a scale and a minimum per block, as ggml's Q4_1, the minimum
	// stored as the middle code's value so that the integer part of a product is Q4's
	// (QuantizeQ4M chooses them), 5 bits per weight.
	Q4M
)

// QBlock is the number of weights that share one scale in Q8, Q4 and Q4M tensors.
const QBlock = 32

// Quantized reports whether d is a block-quantized dtype (Q8, Q4, Q4M).
func (d DType) Quantized() bool { return d == Q8 || d == Q4 || d == Q4M }

// Size is the width of one element in bytes; quantized dtypes have none (see Bytes).
func (d DType) Size() int {
	switch d {
	case F32:
		return 4
	case F16, BF16:
		return 2
	}
	panic(fmt.Sprintf("compute: dtype %v has no whole-byte element size", d))
}

// Bytes is the storage n elements of dtype d take (n a multiple of QBlock for the quantized
// dtypes): codes plus F16 scales (and Q4M's F16 offsets).
func (d DType) Bytes(n int) int {
	switch d {
	case Q8:
		return n + 2*(n/QBlock)
	case Q4:
		return n/2 + 2*(n/QBlock)
	case Q4M:
		return n/2 + 4*(n/QBlock)
	}
	return n * d.Size()
}

// String is the dtype's safetensors-style name ("F32", "F16", "BF16", "Q8", "Q4", "Q4M").
func (d DType) String() string {
	switch d {
	case F32:
		return "F32"
	case F16:
		return "F16"
	case BF16:
		return "BF16"
	case Q8:
		return "Q8"
	case Q4:
		return "Q4"
	case Q4M:
		return "Q4M"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Tensor is a handle to a backend-owned buffer with a row-major shape. Several handles may
// share one buffer (see Backend.Reshape); the buffer is released when Free is called on any
// of them.
type Tensor struct {
	// Shape is row-major, last dimension fastest; Backend.Reshape gives another handle on
	// the same buffer with a new shape, without copying.
	Shape []int
	// DType is the element type of the buffer: weights may stay F16/BF16 as stored, while
	// activations are F32.
	DType DType
	// Buf is the backend's own storage; only the backend that made the tensor reads it.
	Buf any
}

// Len is the number of elements.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Dim returns dimension i, counting from the end when i is negative.
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.Shape)
	}
	return t.Shape[i]
}

// Rows is the product of all dimensions but the last: the M of a [M, K] view.
func (t *Tensor) Rows() int { return t.Len() / t.Dim(-1) }

// String shows the dtype and shape, e.g. "F32[1 576 1024]", for error messages.
func (t *Tensor) String() string { return fmt.Sprintf("%s%v", t.DType, t.Shape) }

// AttentionParams describes one multi-head attention call.
//
// q is [B, T, Heads*HeadDim]; k and v are [B, S, KVHeads*HeadDim] with S >= KVLen, of which
// the first KVLen rows are used (S is the KV cache's capacity). Query row t sits at absolute
// position QPos0+t; with Causal it attends to key positions 0..QPos0+t, otherwise to all
// KVLen keys. Heads must be a multiple of KVHeads (grouped-query attention shares one KV
// head among Heads/KVHeads query heads). Scores are q·kᵀ·Scale, softmax in float32.
type AttentionParams struct {
	// Heads and KVHeads are the query and key/value head counts; HeadDim is the width of
	// one head, the same for q, k and v.
	Heads, KVHeads, HeadDim int
	// KVLen is how many leading rows of k and v hold valid keys (the filled part of a KV
	// cache, or S when there is no cache).
	KVLen int
	// QPos0 is the absolute position of the first query row: 0 for a prompt, the number of
	// cached tokens for a decode step. Only Causal masking reads it.
	QPos0 int
	// Causal masks keys after each query's position (LLM); false for the ViT.
	Causal bool
	// Scale multiplies the scores, usually 1/sqrt(HeadDim).
	Scale float32
}

// RowWriter is implemented by backends that can fill a tensor a block of rows at a time,
// converting (or quantizing) raw elements as FromBytes does. A loader uploads a large tensor
// through it so that only one block of the source, not the whole tensor, needs to be in
// memory beside the weights already built: the embedding tables are among the released
// models' largest tensors.
type RowWriter interface {
	// Alloc allocates a tensor for WriteRows to fill. Unlike New it returns an error where
	// memory runs out (a device allocation failing), and for a quantized shape whose rows are
	// not whole blocks.
	Alloc(dt DType, shape []int) (*Tensor, error)
	// WriteRows fills rows [r0, r0+n) of t, a tensor Alloc made that no op has used yet,
	// from raw, n whole rows of little-endian elements of dtype src (F32, F16 or BF16). raw
	// is not retained.
	WriteRows(t *Tensor, r0 int, src DType, raw []byte) error
}

// Viewer is implemented by backends that can hand out a tensor over part of another's buffer.
// A caller that knows when each of its activations is last used can then lay them out in one
// allocation, overlapping those whose lifetimes do not (the VQ decoder's scratch): a pool of
// buffers by size instead keeps every size it ever needed, although the small ones are idle
// by the time the large ones are in use.
type Viewer interface {
	// View returns a tensor of the given shape over elements [off, off+n) of t, an F32 tensor
	// made by New (n the shape's length), off a multiple of ViewAlign; a range outside t or
	// an unaligned off is a programming error and panics. Ops on it read and write those
	// elements of t; two views are as distinct as two tensors where their ranges do not
	// overlap. Freeing a view frees no memory and leaves t alone (the view can no longer be
	// used): t holds the memory, and must outlive its views.
	View(t *Tensor, off int, shape ...int) *Tensor
}

// ViewAlign is the element alignment of a view's offset (Viewer): 64 bytes, a cache line, and
// more than the 16 bytes that Metal's float4 loads of an activation need.
const ViewAlign = 16

// Product is one of several linear products of the same input (Linears): Dst = x·Wᵀ.
type Product struct {
	Dst, W *Tensor
}

// MultiLinear is implemented by backends that run several products of one input as one op.
// A token step's q, k and v products, or gate and up, each read a few megabytes of weights:
// run one after the other, every one of them pays for waking the threads, for the threads
// that finish first waiting on the last, and for a cold start of its weight stream.
type MultiLinear interface {
	// Linears computes p.Dst = x·p.Wᵀ for every p in ps, each exactly as Linear without a
	// bias would. No Dst may overlap x or another Dst.
	Linears(x *Tensor, ps []Product)
}

// Linears computes p.Dst = x·p.Wᵀ for every p in ps on be: in one op where be is a
// MultiLinear, else by one Linear each.
func Linears(be Backend, x *Tensor, ps ...Product) {
	if ml, ok := be.(MultiLinear); ok {
		ml.Linears(x, ps)
		return
	}
	for _, p := range ps {
		be.Linear(p.Dst, x, p.W, nil)
	}
}

// RowSpan checks a WriteRows call on t with rawBytes bytes of src from row r0, and returns
// the range [e0, e1) of t's elements it fills. Rows of a quantized tensor must be whole blocks,
// so that a row starts a block.
func RowSpan(t *Tensor, r0 int, src DType, rawBytes int) (e0, e1 int, err error) {
	if src > BF16 {
		return 0, 0, fmt.Errorf("unknown source dtype %v", src)
	}
	if len(t.Shape) == 0 || t.Len() == 0 {
		return 0, 0, fmt.Errorf("%v has no rows", t)
	}
	rowLen := t.Len() / t.Shape[0]
	if t.DType.Quantized() && rowLen%QBlock != 0 {
		return 0, 0, fmt.Errorf("%v: rows of %d elements are not whole blocks of %d", t, rowLen, QBlock)
	}
	rowBytes := rowLen * src.Size()
	if rawBytes%rowBytes != 0 {
		return 0, 0, fmt.Errorf("%d bytes of %v are not whole rows of %v (%d bytes each)", rawBytes, src, t, rowBytes)
	}
	n := rawBytes / rowBytes
	if r0 < 0 || r0+n > t.Shape[0] {
		return 0, 0, fmt.Errorf("rows [%d, %d) are outside %v", r0, r0+n, t)
	}
	return r0 * rowLen, (r0 + n) * rowLen, nil
}

// Conv2DParams describes a 2-D convolution with square stride and symmetric zero padding.
type Conv2DParams struct {
	// Stride is the step in both directions; Pad is the zero border added on every side.
	Stride, Pad int
}

// Backend owns tensor memory and runs operations on it.
type Backend interface {
	// Name is a short label ("cpu", "metal") for logs and benchmarks.
	Name() string

	// New allocates a zeroed tensor.
	New(dt DType, shape ...int) *Tensor
	// FromBytes allocates a tensor of dtype dt and fills it from raw little-endian elements of
	// dtype src (F32, F16 or BF16), converting as it copies. raw is not retained, so a caller
	// may pass memory-mapped checkpoint bytes.
	FromBytes(dt DType, shape []int, src DType, raw []byte) (*Tensor, error)
	// FromFloat32 allocates an F32 tensor holding a copy of data.
	FromFloat32(data []float32, shape ...int) *Tensor
	// Write copies data into the F32 tensor t (len(data) == t.Len()), after the ops before it.
	Write(t *Tensor, data []float32)
	// Read waits for the ops issued so far and copies t into dst, widening an F16 or BF16
	// tensor; reading a freed tensor or into a dst of another length is an error.
	Read(t *Tensor, dst []float32) error
	// Reshape returns a handle to the same buffer with another shape of the same length.
	Reshape(t *Tensor, shape ...int) *Tensor
	// Free releases t's buffer once the ops issued so far are done with it.
	Free(t *Tensor)
	// Sync waits for every op issued so far and returns the first failure since the last Sync.
	Sync() error
	// Close releases what the backend holds besides tensors (worker threads, command queues).
	// Tensors must not be used afterwards.
	Close() error
	// MemoryUsed is the number of bytes held by the tensors this backend allocated and has
	// not freed (weights, caches, scratch), whether they live in RAM or on a device.
	MemoryUsed() int64

	// Linear computes dst[M,N] = x[M,K] · w[N,K]ᵀ (+ bias[N] when bias is not nil); M is
	// x.Rows(). w may be F32, F16 or BF16, or quantized where the backend has them (a backend
	// may then quantize x per block too, as the CPU's int8 kernels do).
	Linear(dst, x, w, bias *Tensor)
	// Embedding copies rows ids[i] of table[V,D] into dst[len(ids), D]. table may be F32, F16
	// or BF16, or quantized (rows dequantized) where the backend has them. An id outside [0,V) is
	// a programming error.
	Embedding(dst, table *Tensor, ids []int32)

	// Add computes dst = a + b, where b is repeated when it has fewer elements (its length must
	// divide a's): a bias over rows, or a position embedding over a batch. dst may be a.
	Add(dst, a, b *Tensor)
	// Mul computes dst = a * b elementwise, with b repeated as in Add.
	Mul(dst, a, b *Tensor)
	// Scale computes dst = x * s.
	Scale(dst, x *Tensor, s float32)
	// GELU applies the exact (erf) GELU.
	GELU(dst, x *Tensor)
	// SiLU applies x·sigmoid(x) (the VQ decoder's "swish" is the same function).
	SiLU(dst, x *Tensor)
	// SwiGLU computes dst = silu(gate) * up, the LLaMA MLP's gating.
	SwiGLU(dst, gate, up *Tensor)

	// LayerNorm normalises over the last dimension: (x-mean)/sqrt(var+eps)*w + b.
	LayerNorm(dst, x, w, b *Tensor, eps float32)
	// RMSNorm normalises over the last dimension: x/sqrt(mean(x²)+eps)*w.
	RMSNorm(dst, x, w *Tensor, eps float32)
	// GroupNorm normalises x[N,C,H,W] over groups of C/groups channels, then applies the
	// per-channel affine w[C], b[C].
	GroupNorm(dst, x, w, b *Tensor, groups int, eps float32)

	// RoPE rotates x[B,T,heads*headDim] in place with the rotate-half (non-interleaved)
	// layout: row t has position pos0+t; inv_freq[i] = theta^(-2i/headDim).
	RoPE(x *Tensor, heads, headDim, pos0 int, theta float32)
	// Attention computes softmax(q·kᵀ·scale [+ causal mask])·v per head into dst[B,T,Heads*HeadDim].
	// k and v are both F32 or both F16 (a 16-bit KV cache), or both Q8 (Q8Cache); F16
	// values are widened exactly and Q8 ones dequantized (code·scale, rounded once), so the
	// result is the one of F32 tensors holding the same values.
	Attention(dst, q, k, v *Tensor, p AttentionParams)
	// CopyRows copies src[b, srcAt:srcAt+n, :] to dst[b, dstAt:dstAt+n, :] for every b of the
	// two [B, T, D] tensors: KV cache appends, embedding replacement, picking the last row.
	// Both are F32, or dst is F16 (a KV cache) and src F32, rounded to nearest even with
	// magnitudes beyond 65504 (infinities too) saturated to ±65504 and NaN kept, or src F16
	// too (a cache growing), or (Q8Cache) dst is Q8 and src F32, quantized as QuantizeQ8
	// does, or src Q8 too. dst and src are different tensors.
	CopyRows(dst *Tensor, dstAt int, src *Tensor, srcAt, n int)
	// Transpose swaps the last two dimensions: dst[..., j, i] = x[..., i, j].
	Transpose(dst, x *Tensor)

	// Conv2D computes dst[N,Cout,Ho,Wo] from x[N,Cin,H,W] and w[Cout,Cin,kh,kw], plus b[Cout]
	// when b is not nil. dst may be x itself where the convolution keeps the shape (stride 1,
	// Cout = Cin, Ho = H, Wo = W), with the values of a separate dst; else the two must not
	// overlap.
	Conv2D(dst, x, w, b *Tensor, p Conv2DParams)
	// Upsample2x repeats every pixel of x[N,C,H,W] into a 2×2 block of dst[N,C,2H,2W]
	// (nearest neighbour).
	Upsample2x(dst, x *Tensor)
}

// Q8Cache is implemented by backends whose CopyRows and Attention take a Q8 KV cache (keys
// and values in blocks of QBlock along the last dimension): a
// token step then reads about half the bytes of an F16 cache's, at the cost of rounding
// every key and value to one of 255 steps of its block's largest magnitude.
type Q8Cache interface {
	// Q8Cache reports whether this backend's CopyRows and Attention take Q8 caches.
	Q8Cache() bool
}

// MemoryBudget is implemented by backends whose tensors live on a device with a budget of
// its own, below the machine's memory: Metal's GPU runs well only while what a command
// buffer uses fits its recommended working set (about two thirds of the memory of a 16 GB
// Mac), and fails a command buffer that needs far more. model.Load refuses weights over it
// and image generation counts it in its limit. Backends in RAM do not implement it.
type MemoryBudget interface {
	// MemoryBudget is the bytes of tensors the device runs well with, 0 when unknown.
	MemoryBudget() int64
}
