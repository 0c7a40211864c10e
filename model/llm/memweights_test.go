package llm

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/weights"
)

// memTensor is one weight of an in-memory decoder.
type memTensor struct {
	shape []int
	data  []float32
}

// memWeights is a weights.Source over float32 values held in memory, so that tests can build
// decoders of any shape (GQA, odd sizes) without a checkpoint. Matrix stores matrices as
// matrixDT, converting from float32 as a checkpoint loader would.
type memWeights struct {
	be       compute.Backend
	tensors  map[string]memTensor
	matrixDT compute.DType
}

func (w *memWeights) upload(name string, dt compute.DType, shape []int) (*compute.Tensor, error) {
	t, ok := w.tensors[name]
	if !ok {
		return nil, fmt.Errorf("tensor %s missing", name)
	}
	if !slices.Equal(t.shape, shape) {
		return nil, fmt.Errorf("tensor %s has shape %v, want %v", name, t.shape, shape)
	}
	raw := make([]byte, 4*len(t.data))
	for i, v := range t.data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return w.be.FromBytes(dt, slices.Clone(shape), compute.F32, raw)
}

func (w *memWeights) Matrix(name string, shape ...int) (*compute.Tensor, error) {
	return w.upload(name, w.matrixDT, shape)
}

func (w *memWeights) F32(name string, shape ...int) (*compute.Tensor, error) {
	return w.upload(name, compute.F32, shape)
}

// randomWeights draws every tensor of a decoder with configuration cfg from seed: matrices
// uniform in ±1/sqrt(fan-in) (so activations keep their scale through the layers), norm
// weights near 1.
func randomWeights(cfg config.LLM, seed uint64) map[string]memTensor {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := map[string]memTensor{}
	matrix := func(name string, rows, cols int) {
		s := 1 / math.Sqrt(float64(cols))
		data := make([]float32, rows*cols)
		for i := range data {
			data[i] = float32((2*rng.Float64() - 1) * s)
		}
		out[weights.LLMPrefix+name] = memTensor{[]int{rows, cols}, data}
	}
	norm := func(name string, n int) {
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(1 + 0.2*(rng.Float64()-0.5))
		}
		out[weights.LLMPrefix+name] = memTensor{[]int{n}, data}
	}
	d, q, kv, in := cfg.Hidden, cfg.Heads*cfg.HeadDim, cfg.KVHeads*cfg.HeadDim, cfg.Intermediate
	matrix("model.embed_tokens.weight", cfg.Vocab, d)
	// Embeddings are not scaled by fan-in in LLaMA; give them unit scale.
	for i, v := range out[weights.LLMPrefix+"model.embed_tokens.weight"].data {
		out[weights.LLMPrefix+"model.embed_tokens.weight"].data[i] = v * float32(math.Sqrt(float64(d)))
	}
	for i := range cfg.Layers {
		pre := fmt.Sprintf("model.layers.%d.", i)
		norm(pre+"input_layernorm.weight", d)
		matrix(pre+"self_attn.q_proj.weight", q, d)
		matrix(pre+"self_attn.k_proj.weight", kv, d)
		matrix(pre+"self_attn.v_proj.weight", kv, d)
		matrix(pre+"self_attn.o_proj.weight", d, q)
		norm(pre+"post_attention_layernorm.weight", d)
		matrix(pre+"mlp.gate_proj.weight", in, d)
		matrix(pre+"mlp.up_proj.weight", in, d)
		matrix(pre+"mlp.down_proj.weight", d, in)
	}
	norm("model.norm.weight", d)
	matrix("lm_head.weight", cfg.Vocab, d)
	return out
}

// smallConfig is a decoder small enough to run in milliseconds but with every dimension
// distinct, so that a transposed or mixed-up axis shows.
func smallConfig(heads, kvHeads int) config.LLM {
	return config.LLM{
		Hidden: 48, Intermediate: 80, Layers: 2, Heads: heads, KVHeads: kvHeads, HeadDim: 12,
		Vocab: 70, MaxPositions: 64, HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000,
	}
}

// runLogits loads a decoder from tensors and returns the logits of every position of ids,
// fed as a prefill of prefill positions followed by one position at a time (so both the
// many-query and the one-query attention paths over the cache run).
func runLogits(t testing.TB, be compute.Backend, cfg config.LLM, tensors map[string]memTensor, dt compute.DType, ids []int32, prefill int) []float32 {
	t.Helper()
	m, err := Load(be, &memWeights{be: be, tensors: tensors, matrixDT: dt}, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	c, err := m.NewCache(1, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Free()
	var out []float32
	for at := 0; at < len(ids); {
		n := 1
		if at == 0 {
			n = prefill
		}
		x, err := m.Embed(ids[at:at+n], 1)
		if err != nil {
			t.Fatal(err)
		}
		h, err := m.Forward(x, c)
		if err != nil {
			t.Fatal(err)
		}
		lt := m.Logits(h)
		got := make([]float32, lt.Len())
		if err := be.Read(lt, got); err != nil {
			t.Fatal(err)
		}
		out = append(out, got...)
		for _, s := range []*compute.Tensor{x, h, lt} {
			be.Free(s)
		}
		at += n
	}
	return out
}

// randomIDs draws n token ids below vocab.
func randomIDs(n, vocab int, seed uint64) []int32 {
	rng := rand.New(rand.NewPCG(seed, 2))
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(rng.IntN(vocab))
	}
	return ids
}
