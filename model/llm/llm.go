// Package llm is Janus' language model: a LLaMA decoder (transformers' LlamaForCausalLM as
// Janus configures it, spec §3.3) with RMSNorm, rotate-half RoPE, SwiGLU MLPs, multi-head or
// grouped-query attention without biases, and an untied lm_head.
//
// The decoder works on input embeddings, not token ids, because Janus feeds it three kinds of
// rows: text embeddings (Embed), image features from the aligner spliced into them, and
// generated image tokens through the gen_aligner. Forward returns the final-norm hidden
// states; the text head (Logits) and the image head (gen_head, in model/projector) are
// applied by the caller to the rows it needs. Keys and values live in a Cache that the caller
// owns, so a chat can keep the cache of an unchanged prefix and truncate the rest.
//
// Weights are bound once at load into typed structs. Linear weights and the embedding table
// keep the dtype the weight source hands out (the checkpoint's own, BF16 in every release):
// half the memory of float32, and token-by-token decoding is bound by memory bandwidth, so
// reading half the bytes matters more than the cost of widening on use. Norm weights are
// float32.
//
// The KV cache holds keys and values in Model.KVDType: float32 in the exact precision, so
// every golden stays exact, and IEEE half (F16) in the BF16 precision (CacheDType), half the
// memory and half the bytes each token step reads. F16 rather than BF16: its 10-bit mantissa
// keeps keys and values 8 times more precise, their range (post-RoPE keys and values of
// LLaMA layers stay far below 65504, and a backend saturates there) does not need BF16's,
// and Metal has it natively. A caller may ask for Q8 instead (compute.Q8Cache backends,
// CheckQ8Cache): blocks of 32 int8 codes and an F16 scale, about half an F16 cache's bytes
// again, for a rounding error of about half a step of a block's largest magnitude over 127
// (more for blocks of magnitudes below about 0.008, whose F16 scale is subnormal).
// CacheBytes tells a caller what a cache costs before it allocates one.
package llm

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/weights"
)

// Layer is one decoder layer.
type Layer struct {
	AttnNorm   *compute.Tensor // input_layernorm [hidden]
	Q, K, V, O *compute.Tensor // [heads*headDim, hidden], [kvHeads*headDim, hidden] ×2, [hidden, heads*headDim]
	MLPNorm    *compute.Tensor // post_attention_layernorm [hidden]
	Gate, Up   *compute.Tensor // [intermediate, hidden]
	Down       *compute.Tensor // [hidden, intermediate]
}

// Model is a loaded decoder.
type Model struct {
	// Config is the resolved language_config the weights were bound with.
	Config config.LLM

	Embedding *compute.Tensor // embed_tokens [vocab, hidden]
	Layers    []Layer         // model.layers.{i}, Config.Layers of them
	Norm      *compute.Tensor // final norm [hidden]
	// Head is lm_head [vocab, hidden]; the same tensor as Embedding when the config ties them,
	// nil when Load was told to leave it out.
	Head *compute.Tensor
	// KVDType is the dtype of the keys and values of the caches NewCache makes: compute.F32
	// (the zero value, exact), compute.F16 (see CacheDType) or compute.Q8 (CheckQ8Cache).
	// Set it before making a cache.
	KVDType compute.DType

	be compute.Backend
}

// Load binds the decoder's weights from src. Without textHead an untied lm_head stays
// unloaded (Head is nil and Logits must not be called): image generation never reads it, and
// it is a tenth of the weights.
func Load(be compute.Backend, src weights.Source, cfg config.LLM, textHead bool) (*Model, error) {
	if cfg.Hidden <= 0 || cfg.Heads <= 0 || cfg.KVHeads <= 0 || cfg.Heads%cfg.KVHeads != 0 ||
		cfg.HeadDim <= 0 || cfg.HeadDim%2 != 0 || cfg.Intermediate <= 0 || cfg.Vocab <= 0 || cfg.Layers < 0 {
		return nil, fmt.Errorf("language model: unusable config %+v", cfg)
	}
	if cfg.HiddenAct != "" && cfg.HiddenAct != "silu" {
		return nil, fmt.Errorf("language model: hidden_act %q is not supported (Janus uses silu)", cfg.HiddenAct)
	}
	l := weights.NewBinder(src)
	m := &Model{Config: cfg, be: be}
	m.bind(l, textHead)
	if l.Err() != nil {
		m.Free()
		return nil, fmt.Errorf("load language model: %w", l.Err())
	}
	return m, nil
}

// Tensors names the decoder's weights of cfg, lm_head included, to l: model.Plan records them.
func Tensors(l weights.Layout, cfg config.LLM) {
	(&Model{Config: cfg}).bind(l, true)
}

// bind binds every weight through l, in state-dict order.
func (m *Model) bind(l weights.Layout, textHead bool) {
	cfg := m.Config
	d, q, kv, in := cfg.Hidden, cfg.Heads*cfg.HeadDim, cfg.KVHeads*cfg.HeadDim, cfg.Intermediate
	pre := weights.LLMPrefix + "model."
	m.Embedding = l.Matrix(weights.LLMEmbedName, cfg.Vocab, d)
	m.Layers = make([]Layer, cfg.Layers)
	for i := range m.Layers {
		y := &m.Layers[i]
		b := fmt.Sprintf("%slayers.%d.", pre, i)
		y.Q = l.Matrix(b+"self_attn.q_proj.weight", q, d)
		y.K = l.Matrix(b+"self_attn.k_proj.weight", kv, d)
		y.V = l.Matrix(b+"self_attn.v_proj.weight", kv, d)
		y.O = l.Matrix(b+"self_attn.o_proj.weight", d, q)
		y.Gate = l.Matrix(b+"mlp.gate_proj.weight", in, d)
		y.Up = l.Matrix(b+"mlp.up_proj.weight", in, d)
		y.Down = l.Matrix(b+"mlp.down_proj.weight", d, in)
		y.AttnNorm = l.F32(b+"input_layernorm.weight", d)
		y.MLPNorm = l.F32(b+"post_attention_layernorm.weight", d)
	}
	m.Norm = l.F32(pre+"norm.weight", d)
	switch {
	case cfg.TieWordEmbeddings:
		m.Head = m.Embedding
	case textHead:
		m.Head = l.Matrix(weights.LLMPrefix+"lm_head.weight", cfg.Vocab, d)
	}
}

// Free releases every weight.
func (m *Model) Free() {
	free := func(ts ...*compute.Tensor) {
		for _, t := range ts {
			if t != nil {
				m.be.Free(t)
			}
		}
	}
	if m.Head != m.Embedding && m.Head != nil {
		free(m.Head)
	}
	free(m.Embedding, m.Norm)
	for _, y := range m.Layers {
		free(y.AttnNorm, y.Q, y.K, y.V, y.O, y.MLPNorm, y.Gate, y.Up, y.Down)
	}
	m.Layers, m.Head, m.Embedding = nil, nil, nil
}

// Backend is the backend the weights live on.
func (m *Model) Backend() compute.Backend { return m.be }

// Cache holds every layer's keys and values for Rows sequences that share positions (one
// for a chat, 2P for classifier-free guidance over P images). Positions [0, Len) are filled.
//
// It also keeps Forward's scratch activations, because they belong to the same sequences:
// a decoding step then allocates only its output instead of seven zeroed buffers per token.
type Cache struct {
	// K and V are per layer [rows, capacity, kvHeads*headDim], of the model's KVDType.
	K, V []*compute.Tensor

	rows, capacity, length int
	width, maxPos          int
	dt                     compute.DType // of K and V
	be                     compute.Backend
	scratch                scratch
}

// scratch holds Forward's intermediate activations for inputs of t positions. A backend's
// Reshape cannot make a shorter view of a buffer, so one set serves exactly one t: it is
// replaced when another t arrives. In practice that is once per prompt (the last prefill
// chunk, then every decoding step has t = 1), and a long prompt's scratch does not stay
// allocated through the decoding that follows.
type scratch struct {
	t                           int
	res, q, k, v, att, gate, up *compute.Tensor
}

func (s *scratch) tensors() []*compute.Tensor {
	return []*compute.Tensor{s.res, s.q, s.k, s.v, s.att, s.gate, s.up}
}

// CacheDType is the dtype of the KV cache for a model run with numerics precision (the
// values of compute.Options.Precision): F16 in the BF16 precision, which already trades
// float32 exactness for speed, F32 otherwise. It follows the precision asked for, not the
// products a backend runs: every backend reads an F16 cache.
func CacheDType(precision string) compute.DType {
	if precision == compute.PrecisionBF16 {
		return compute.F16
	}
	return compute.F32
}

// CheckQ8Cache says why be cannot keep a Q8 cache for a model of configuration cfg, or
// returns nil: the backend must take Q8 caches (compute.Q8Cache), and a position's keys (of
// every head) must be whole blocks of compute.QBlock values.
func CheckQ8Cache(be compute.Backend, cfg config.LLM) error {
	if c, ok := be.(compute.Q8Cache); !ok || !c.Q8Cache() {
		return fmt.Errorf("kv cache Q8: the %s backend keeps F32 and F16 caches only", be.Name())
	}
	if w := cfg.KVHeads * cfg.HeadDim; w%compute.QBlock != 0 {
		return fmt.Errorf("kv cache Q8: keys of %d values a position are not whole blocks of %d", w, compute.QBlock)
	}
	return nil
}

// CacheBytes is the memory NewCache(rows, capacity) allocates for a model with
// configuration cfg whose keys and values are of dtype dt (F32, F16 or Q8): keys and values of
// every layer. Forward doubles the capacity when an input outgrows it (up to
// max_position_embeddings), holding both buffers while it copies. It does not count
// Forward's scratch (ScratchBytes).
func CacheBytes(cfg config.LLM, dt compute.DType, rows, capacity int) int64 {
	if mp := cfg.MaxPositions; mp > 0 && capacity > mp {
		capacity = mp
	}
	return 2 * int64(cfg.Layers) * int64(rows) * int64(capacity) * int64(dt.Bytes(cfg.KVHeads*cfg.HeadDim))
}

// ScratchBytes is the activation memory Forward uses for an input of rows × t positions,
// besides the cache: the float32 buffers it keeps in the cache plus the hidden states it
// returns.
func ScratchBytes(cfg config.LLM, rows, t int) int64 {
	perPos := 2*cfg.Hidden + 2*cfg.Heads*cfg.HeadDim + 2*cfg.KVHeads*cfg.HeadDim + 2*cfg.Intermediate
	return int64(rows) * int64(t) * int64(perPos) * 4
}

// CacheBytes is CacheBytes for this model's configuration and KVDType.
func (m *Model) CacheBytes(rows, capacity int) int64 {
	return CacheBytes(m.Config, m.KVDType, rows, capacity)
}

// NewCache allocates an empty cache of KVDType keys and values for rows sequences of up to
// capacity positions. Forward grows it when a longer input arrives, up to the config's
// max_position_embeddings.
func (m *Model) NewCache(rows, capacity int) (*Cache, error) {
	if rows <= 0 || capacity <= 0 {
		return nil, fmt.Errorf("kv cache: %d rows × %d positions", rows, capacity)
	}
	switch m.KVDType {
	case compute.F32, compute.F16:
	case compute.Q8:
		if err := CheckQ8Cache(m.be, m.Config); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("kv cache: dtype %v, want F32, F16 or Q8", m.KVDType)
	}
	if mp := m.Config.MaxPositions; mp > 0 && capacity > mp {
		capacity = mp
	}
	c := &Cache{rows: rows, width: m.Config.KVHeads * m.Config.HeadDim, maxPos: m.Config.MaxPositions, dt: m.KVDType, be: m.be}
	c.alloc(len(m.Layers), capacity)
	return c, nil
}

// alloc replaces the buffers by ones of the given capacity, keeping the filled positions.
// Each layer's old buffers go as soon as they are copied, so growing a cache needs one
// layer's worth of memory besides the new cache, not the whole old one.
func (c *Cache) alloc(layers, capacity int) {
	k := make([]*compute.Tensor, layers)
	v := make([]*compute.Tensor, layers)
	for i := range k {
		k[i] = c.be.New(c.dt, c.rows, capacity, c.width)
		v[i] = c.be.New(c.dt, c.rows, capacity, c.width)
		if i < len(c.K) {
			if c.length > 0 {
				c.be.CopyRows(k[i], 0, c.K[i], 0, c.length)
				c.be.CopyRows(v[i], 0, c.V[i], 0, c.length)
			}
			c.be.Free(c.K[i])
			c.be.Free(c.V[i])
		}
	}
	c.K, c.V, c.capacity = k, v, capacity
}

// Rows is the number of sequences.
func (c *Cache) Rows() int { return c.rows }

// Len is the number of filled positions: the position of the next input row.
func (c *Cache) Len() int { return c.length }

// Capacity is the number of positions allocated.
func (c *Cache) Capacity() int { return c.capacity }

// Truncate forgets every position from n on, so that the next Forward continues at position
// n (a chat that keeps an unchanged prefix).
func (c *Cache) Truncate(n int) error {
	if n < 0 || n > c.length {
		return fmt.Errorf("kv cache: truncate to %d positions, have %d", n, c.length)
	}
	c.length = n
	return nil
}

// Reserve makes room for at least n positions in total.
func (c *Cache) Reserve(n int) error {
	if n <= c.capacity {
		return nil
	}
	if c.maxPos > 0 && n > c.maxPos {
		return fmt.Errorf("kv cache: %d positions exceed the model's context of %d (max_position_embeddings)", n, c.maxPos)
	}
	grown := max(n, 2*c.capacity)
	if c.maxPos > 0 {
		grown = min(grown, c.maxPos)
	}
	c.alloc(len(c.K), grown)
	return nil
}

// Free releases the cache's buffers: keys, values and Forward's scratch.
func (c *Cache) Free() {
	c.freeKV()
	c.freeScratch()
}

func (c *Cache) freeKV() {
	for i := range c.K {
		c.be.Free(c.K[i])
		c.be.Free(c.V[i])
	}
	c.K, c.V = nil, nil
}

func (c *Cache) freeScratch() {
	for _, t := range c.scratch.tensors() {
		if t != nil {
			c.be.Free(t)
		}
	}
	c.scratch = scratch{}
}

// scratchFor returns Forward's scratch for t positions of cfg's model, allocating it when
// the cache holds none of that length.
func (c *Cache) scratchFor(cfg config.LLM, t int) *scratch {
	if c.scratch.t == t && c.scratch.res != nil {
		return &c.scratch
	}
	c.freeScratch()
	be, rows, hd := c.be, c.rows, cfg.HeadDim
	c.scratch = scratch{
		t:    t,
		res:  be.New(compute.F32, rows, t, cfg.Hidden),
		q:    be.New(compute.F32, rows, t, cfg.Heads*hd),
		k:    be.New(compute.F32, rows, t, cfg.KVHeads*hd),
		v:    be.New(compute.F32, rows, t, cfg.KVHeads*hd),
		att:  be.New(compute.F32, rows, t, cfg.Heads*hd),
		gate: be.New(compute.F32, rows, t, cfg.Intermediate),
		up:   be.New(compute.F32, rows, t, cfg.Intermediate),
	}
	return &c.scratch
}

// Embed looks up token embeddings: ids holds rows sequences of equal length, one after the
// other, and the result is [rows, len(ids)/rows, hidden]. The caller frees it.
func (m *Model) Embed(ids []int32, rows int) (*compute.Tensor, error) {
	if rows <= 0 || len(ids) == 0 || len(ids)%rows != 0 {
		return nil, fmt.Errorf("embed: %d ids do not split into %d rows", len(ids), rows)
	}
	out := m.be.New(compute.F32, rows, len(ids)/rows, m.Config.Hidden)
	if err := m.EmbedInto(out, ids); err != nil {
		m.be.Free(out)
		return nil, err
	}
	return out, nil
}

// EmbedInto writes the embeddings of ids into dst [rows, T, hidden] with rows·T = len(ids),
// the ids of each row one after the other: Embed for a caller that keeps dst from one
// decoding step to the next.
func (m *Model) EmbedInto(dst *compute.Tensor, ids []int32) error {
	if len(dst.Shape) != 3 || dst.Shape[2] != m.Config.Hidden || dst.Rows() != len(ids) {
		return fmt.Errorf("embed: %d ids into %v, want [rows, T, %d] with rows·T = %d", len(ids), dst, m.Config.Hidden, len(ids))
	}
	for i, id := range ids {
		if id < 0 || int(id) >= m.Config.Vocab {
			return fmt.Errorf("embed: token id %d at index %d is outside the vocabulary of %d", id, i, m.Config.Vocab)
		}
	}
	m.be.Embedding(m.be.Reshape(dst, len(ids), m.Config.Hidden), m.Embedding, ids)
	return nil
}

// Forward runs the decoder over x [rows, T, hidden] at positions c.Len() … c.Len()+T-1 of
// every row, appending their keys and values to c, and returns the hidden states after the
// final RMSNorm, [rows, T, hidden]. x is not modified; the caller frees the result. The
// intermediate activations live in c (see ScratchBytes) and are reused by the next call
// with the same T.
func (m *Model) Forward(x *compute.Tensor, c *Cache) (*compute.Tensor, error) {
	if err := m.checkInput(x, c); err != nil {
		return nil, err
	}
	h := m.be.New(compute.F32, x.Shape...)
	if err := m.ForwardInto(context.Background(), h, x, c); err != nil {
		m.be.Free(h)
		return nil, err
	}
	return h, nil
}

// checkInput reports an input Forward cannot run with cache c.
func (m *Model) checkInput(x *compute.Tensor, c *Cache) error {
	if len(x.Shape) != 3 || x.Shape[2] != m.Config.Hidden {
		return fmt.Errorf("language model input %v, want [rows, T, %d]", x, m.Config.Hidden)
	}
	if x.Shape[1] == 0 {
		return fmt.Errorf("language model input %v has no positions", x)
	}
	if x.Shape[0] != c.rows || len(c.K) != len(m.Layers) {
		return fmt.Errorf("language model input has %d rows, the kv cache %d", x.Shape[0], c.rows)
	}
	return nil
}

// ForwardInto is Forward writing the hidden states into dst, a tensor of x's shape that the
// caller keeps (a decoding loop's run state), so that a step allocates nothing. dst may be x.
// ctx is checked before each layer, so that Stop ends a long prompt within a layer's time
// (a chunk of a 630-token prompt took seconds on one thread); a forward it ends leaves c's
// length as it was, the rows its first layers wrote past it to be overwritten.
func (m *Model) ForwardInto(ctx context.Context, dst, x *compute.Tensor, c *Cache) error {
	if err := m.checkInput(x, c); err != nil {
		return err
	}
	if !slices.Equal(dst.Shape, x.Shape) {
		return fmt.Errorf("language model output %v for input %v", dst, x)
	}
	cfg := m.Config
	t := x.Shape[1]
	pos0 := c.length
	if err := c.Reserve(pos0 + t); err != nil {
		return err
	}
	be := m.be
	hd, eps, theta := cfg.HeadDim, float32(cfg.RMSNormEps), float32(cfg.RopeTheta)
	s := c.scratchFor(cfg, t)
	res, q, k, v, att, gate, up := s.res, s.q, s.k, s.v, s.att, s.gate, s.up
	be.CopyRows(res, 0, x, 0, t)
	// dst is the layers' working buffer (x is no longer read) and ends with the output.
	h := dst
	ap := compute.AttentionParams{
		Heads: cfg.Heads, KVHeads: cfg.KVHeads, HeadDim: hd,
		KVLen: pos0 + t, QPos0: pos0, Causal: true,
		Scale: float32(1 / math.Sqrt(float64(hd))),
	}
	for i := range m.Layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		y := &m.Layers[i]
		// res = res + o_proj(attention(rope(q), rope(k), v)) over norm(res)
		be.RMSNorm(h, res, y.AttnNorm, eps)
		compute.Linears(be, h, compute.Product{Dst: q, W: y.Q}, compute.Product{Dst: k, W: y.K}, compute.Product{Dst: v, W: y.V})
		be.RoPE(q, cfg.Heads, hd, pos0, theta)
		be.RoPE(k, cfg.KVHeads, hd, pos0, theta)
		be.CopyRows(c.K[i], pos0, k, 0, t)
		be.CopyRows(c.V[i], pos0, v, 0, t)
		be.Attention(att, q, c.K[i], c.V[i], ap)
		be.Linear(h, att, y.O, nil)
		be.Add(res, res, h)
		// res = res + down(silu(gate(norm(res))) * up(norm(res)))
		be.RMSNorm(h, res, y.MLPNorm, eps)
		compute.Linears(be, h, compute.Product{Dst: gate, W: y.Gate}, compute.Product{Dst: up, W: y.Up})
		be.SwiGLU(gate, gate, up) // in place: a prompt's third [T, intermediate] buffer saved
		be.Linear(h, gate, y.Down, nil)
		be.Add(res, res, h)
	}
	be.RMSNorm(h, res, m.Norm, eps)
	c.length = pos0 + t
	return nil
}

// Last returns the hidden state of the last position of every row of h [rows, T, hidden] as
// [rows, 1, hidden] (what the heads read when generating). The caller frees it.
func (m *Model) Last(h *compute.Tensor) *compute.Tensor {
	rows, t, d := h.Dim(0), h.Dim(1), h.Dim(2)
	out := m.be.New(compute.F32, rows, 1, d)
	m.be.CopyRows(out, 0, h, t-1, 1)
	return out
}

// Logits applies lm_head to every row of h [..., hidden] and returns [..., vocab] float32.
// Call it on Last(h) to get only the next-token logits. The caller frees the result.
func (m *Model) Logits(h *compute.Tensor) *compute.Tensor {
	shape := append([]int(nil), h.Shape...)
	shape[len(shape)-1] = m.Config.Vocab
	out := m.be.New(compute.F32, shape...)
	m.LogitsInto(out, h)
	return out
}

// LogitsInto is Logits writing into dst [..., vocab], which the caller keeps.
func (m *Model) LogitsInto(dst, h *compute.Tensor) {
	if m.Head == nil {
		panic("llm: Logits on a model loaded without lm_head (Load's textHead was false)")
	}
	m.be.Linear(dst, h, m.Head, nil)
}
