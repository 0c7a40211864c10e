// Package randweights makes the weights of a Janus model from a seeded random source instead
// of a checkpoint, so that benchmarks can run the released shapes (model.Plan of a config)
// without downloading gigabytes. A *Source hands out tensors the way *weights.Loader does:
// it is a weights.RowSource, what every network binds from, so they bind from it unchanged.
//
// Values follow the PyTorch performance peer of the project: Linear and convolution weights
// N(0, 1/fan_in), biases N(0, 0.02²), embedding tables (embed_tokens, gen_embed, the VQ
// codebook) N(0, 1), the ViT position embedding N(0, 0.02²), norm weights 1 and norm biases 0.
// With a norm in front of every block the activations stay of order one through all layers,
// so timing runs see ordinary numbers, not NaN or denormals.
//
// Drawing two billion normal values one by one would take half a minute, so, like the peer,
// each tensor copies slices of one seeded pool of 2²⁴+43 standard normal values at random
// offsets (memory-copy speed); every tensor still holds normally distributed values, which is
// all a timing run needs. The values are written straight in the dtype the backend keeps, one
// tensor at a time through one reused buffer (a block of rows at a time for a large tensor,
// when the backend takes rows), so building never holds a float32 copy of a BF16 model, nor
// a whole embedding table beside the weights. The float32→BF16 rounding is hand-written
// (round to nearest even, a few lines) because the standard library has no bfloat16 type.
package randweights

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model/weights"
)

// poolSize is the number of pooled normal values; odd so that tensors of power-of-two sizes
// do not line up with it.
const poolSize = 1<<24 + 43

// Options tune a Source.
type Options struct {
	// Seed decides every value.
	Seed uint64
	// MatrixDType is the dtype of Linear weights and embedding tables (Matrix, MatrixRows):
	// compute.BF16 (as released) or compute.F32. The zero value is compute.F32.
	MatrixDType compute.DType
	// Quantize, when a quantized dtype (compute.Q8, Q4, Q4M), uploads the matrices
	// weights.Quantizable names in that dtype: their float32 values are quantized by the
	// backend (FromBytes), as a checkpoint's are when a model loads with quantized weights.
	Quantize compute.DType
	// HeavyTails draws every tensor from a Student t distribution with 5 degrees of freedom
	// (scaled to the same standard deviation) instead of a normal one, and norm weights from
	// |N(1, 0.3²)| with one channel in 256 at 10: closer to trained weights, whose values have
	// heavier tails than a normal draw and whose norms make a few activation channels large,
	// which is what block quantization is sensitive to. Quality measurements use it.
	HeavyTails bool
	// Uploaded, when not nil, is called after each upload with the tensor's name, its first
	// row (0 for a whole tensor) and the tensor. It must not keep or free the tensor.
	Uploaded func(name string, r0 int, t *compute.Tensor)
}

// A Source is bound exactly like a checkpoint loader.
var _ weights.RowSource = (*Source)(nil)

// Source uploads seeded random tensors of the shapes a model's plan lists.
// It is not safe for concurrent use (it reuses one staging buffer).
type Source struct {
	be    compute.Backend
	opts  Options
	specs map[string]weights.Spec
	pool  []float32
	buf   []byte
	block int // weights.UploadBlock, or less in tests
}

// New returns a Source for the tensors of plan (model.Plan of a config) on be.
func New(plan []weights.Spec, be compute.Backend, opts Options) (*Source, error) {
	switch opts.MatrixDType {
	case compute.F32, compute.BF16:
	default:
		return nil, fmt.Errorf("random weights: unknown matrix dtype %v", opts.MatrixDType)
	}
	s := &Source{be: be, opts: opts, specs: map[string]weights.Spec{}, block: weights.UploadBlock}
	for _, sp := range plan {
		s.specs[sp.Name] = sp
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x6a616e7573))
	s.pool = make([]float32, poolSize)
	for i := range s.pool {
		s.pool[i] = float32(rng.NormFloat64())
	}
	if opts.HeavyTails {
		// t = z / sqrt(χ²₅/5), times sqrt(3/5) for unit variance.
		for i := range s.pool {
			var chi2 float64
			for range 5 {
				g := rng.NormFloat64()
				chi2 += g * g
			}
			s.pool[i] = float32(float64(s.pool[i]) / math.Sqrt(chi2/5) * math.Sqrt(3.0/5))
		}
	}
	return s, nil
}

// Backend is the backend the tensors are uploaded to.
func (s *Source) Backend() compute.Backend { return s.be }

// Release drops the value pool and the staging buffer; the Source must not be used afterwards.
// The uploaded tensors do not depend on them.
func (s *Source) Release() { s.pool, s.buf, s.specs = nil, nil, nil }

// Matrix uploads a Linear weight or embedding table in Options.MatrixDType, checking its shape.
func (s *Source) Matrix(name string, shape ...int) (*compute.Tensor, error) {
	return s.Load(name, s.matrixDType(name), shape...)
}

// matrixDType is the dtype a matrix is uploaded in: Options.Quantize for the quantizable
// ones whose rows are whole blocks, else Options.MatrixDType.
func (s *Source) matrixDType(name string) compute.DType {
	if sp, ok := s.specs[name]; ok && s.opts.Quantize.Quantized() && weights.Quantizable(name) &&
		sp.Shape[len(sp.Shape)-1]%compute.QBlock == 0 {
		return s.opts.Quantize
	}
	return s.opts.MatrixDType
}

// MatrixRows uploads rows [r0, r1) of a Linear weight as Matrix does.
func (s *Source) MatrixRows(name string, r0, r1 int) (*compute.Tensor, error) {
	return s.LoadRows(name, s.matrixDType(name), r0, r1)
}

// F32 uploads a tensor as float32, checking its shape.
func (s *Source) F32(name string, shape ...int) (*compute.Tensor, error) {
	return s.Load(name, compute.F32, shape...)
}

// F32Rows uploads rows [r0, r1) of a tensor as float32.
func (s *Source) F32Rows(name string, r0, r1 int) (*compute.Tensor, error) {
	return s.LoadRows(name, compute.F32, r0, r1)
}

// Load uploads the named tensor as dtype dt; shape must be the plan's shape exactly.
func (s *Source) Load(name string, dt compute.DType, shape ...int) (*compute.Tensor, error) {
	sp, err := s.spec(name)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(sp.Shape, shape) {
		return nil, fmt.Errorf("random weights: tensor %s has shape %v in the plan, not %v", name, sp.Shape, shape)
	}
	return s.upload(sp, dt, 0, sp.Shape[0])
}

// LoadRows uploads rows [r0, r1) of dimension 0 of the named tensor as dtype dt, with shape
// [r1-r0, rest...], as weights.Loader.LoadRows does for fused tensors.
func (s *Source) LoadRows(name string, dt compute.DType, r0, r1 int) (*compute.Tensor, error) {
	sp, err := s.spec(name)
	if err != nil {
		return nil, err
	}
	if r0 < 0 || r1 <= r0 || r1 > sp.Shape[0] {
		return nil, fmt.Errorf("random weights: rows [%d, %d) of tensor %s %v are out of range", r0, r1, name, sp.Shape)
	}
	return s.upload(sp, dt, r0, r1)
}

func (s *Source) spec(name string) (weights.Spec, error) {
	if s.specs == nil {
		return weights.Spec{}, fmt.Errorf("random weights: tensor %s requested after Release", name)
	}
	sp, ok := s.specs[name]
	if !ok {
		return weights.Spec{}, fmt.Errorf("random weights: tensor %s is not in the model's plan", name)
	}
	if len(sp.Shape) == 0 {
		return weights.Spec{}, fmt.Errorf("random weights: tensor %s has no dimensions", name)
	}
	return sp, nil
}

// upload fills rows [r0, r1) of sp in dtype dt and hands them to the backend.
func (s *Source) upload(sp weights.Spec, dt compute.DType, r0, r1 int) (*compute.Tensor, error) {
	shape := slices.Clone(sp.Shape)
	shape[0] = r1 - r0
	n := 1
	for _, d := range shape {
		n *= d
	}
	// Quantized tensors are made in the matrix dtype (as a checkpoint stores them) and
	// quantized by the backend.
	src := dt
	if dt.Quantized() {
		src = s.opts.MatrixDType
	}
	if src != compute.F32 && src != compute.BF16 {
		return nil, fmt.Errorf("random weights: tensor %s requested as %v (only F32, BF16 and the quantized dtypes are made)", sp.Name, dt)
	}
	size := src.Size()
	mean, std := s.distribution(sp)
	rng := rand.New(rand.NewPCG(s.opts.Seed, nameSeed(sp.Name, r0)))
	heavy := s.opts.HeavyTails && len(sp.Shape) == 1 && mean == 1 && std == 0

	// next fills the reused buffer with the tensor's next m values. Runs of pooled values
	// continue from one call to the next, so the values do not depend on how they are cut.
	var run []float32
	done := 0
	next := func(m int) []byte {
		if cap(s.buf) < m*size {
			s.buf = make([]byte, m*size)
		}
		raw := s.buf[:m*size]
		for i := 0; i < m; {
			if len(run) == 0 {
				off := rng.IntN(poolSize / 2)
				run = s.pool[off : off+min(n-done-i, poolSize-off)]
			}
			k := min(len(run), m-i)
			fill(raw, i, run[:k], mean, std, src)
			run, i = run[k:], i+k
		}
		done += m
		return raw
	}

	// A large tensor goes a block of rows at a time to a backend that takes rows, so the
	// reused buffer stays one block long instead of growing to the largest tensor.
	rowBytes := 0
	if shape[0] > 0 {
		rowBytes = n / shape[0] * size
	}
	rw, ok := s.be.(compute.RowWriter)
	if !ok || heavy || n*size <= s.block || rowBytes == 0 {
		raw := next(n)
		if heavy {
			vals := make([]float32, n)
			for i := range vals {
				vals[i] = float32(math.Abs(1 + 0.3*rng.NormFloat64()))
				if rng.IntN(256) == 0 {
					vals[i] = 10
				}
			}
			fill(raw, 0, vals, 0, 1, src)
		}
		t, err := s.be.FromBytes(dt, shape, src, raw)
		if err != nil {
			return nil, fmt.Errorf("random weights: upload %s: %w", sp.Name, err)
		}
		if s.opts.Uploaded != nil {
			s.opts.Uploaded(sp.Name, r0, t)
		}
		return t, nil
	}
	t, err := rw.Alloc(dt, shape)
	if err != nil {
		return nil, fmt.Errorf("random weights: upload %s: %w", sp.Name, err)
	}
	step := max(1, s.block/rowBytes)
	for b0 := 0; b0 < shape[0]; b0 += step {
		b1 := min(shape[0], b0+step)
		if err := rw.WriteRows(t, b0, src, next((b1-b0)*rowBytes/size)); err != nil {
			s.be.Free(t)
			return nil, fmt.Errorf("random weights: upload rows %d:%d of %s: %w", b0, b1, sp.Name, err)
		}
	}
	if s.opts.Uploaded != nil {
		s.opts.Uploaded(sp.Name, r0, t)
	}
	return t, nil
}

// distribution returns the mean and standard deviation of a tensor's values (a constant when
// std is 0), following the peer's initialisation by module type, recognised from the name and
// shape: one-dimensional weights are norm scales, the bias beside one is a norm shift.
func (s *Source) distribution(sp weights.Spec) (mean, std float32) {
	name := sp.Name
	switch {
	case strings.HasSuffix(name, ".bias"):
		if w, ok := s.specs[strings.TrimSuffix(name, ".bias")+".weight"]; ok && len(w.Shape) == 1 {
			return 0, 0
		}
		return 0, 0.02
	case strings.HasSuffix(name, "pos_embed"):
		return 0, 0.02
	case name == weights.LLMEmbedName, name == weights.GenEmbedName, name == weights.VQCodebookName:
		return 0, 1
	case len(sp.Shape) == 1:
		return 1, 0
	}
	fanIn := 1
	for _, d := range sp.Shape[1:] {
		fanIn *= d
	}
	return 0, float32(1 / math.Sqrt(float64(fanIn)))
}

// nameSeed gives each tensor (and each row range of a split tensor) its own random stream,
// so its values do not depend on the order in which the networks are loaded.
func nameSeed(name string, r0 int) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64() ^ uint64(r0)*0x9e3779b97f4a7c15
}

// fill stores mean+std·v for each v of vals as elements at, at+1, … of the little-endian
// buffer raw of dtype dt (F32 or BF16).
func fill(raw []byte, at int, vals []float32, mean, std float32, dt compute.DType) {
	if dt == compute.BF16 {
		out := raw[2*at : 2*(at+len(vals))]
		for j, v := range vals {
			binary.LittleEndian.PutUint16(out[2*j:], bf16(mean+float32(std*v)))
		}
		return
	}
	out := raw[4*at : 4*(at+len(vals))]
	for j, v := range vals {
		// std*v rounded before the add, so that arm64 (which would fuse them) draws the
		// same weights as amd64.
		binary.LittleEndian.PutUint32(out[4*j:], math.Float32bits(mean+float32(std*v)))
	}
}

// bf16 rounds a finite float32 to bfloat16, to nearest even.
func bf16(v float32) uint16 {
	b := math.Float32bits(v)
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}
