package weights

import (
	"fmt"
	"slices"
	"strings"

	"github.com/janus-desktop/janus/compute"
)

// Part is the network a tensor belongs to.
type Part string

// The parts of a Janus model, in the order they are reported.
const (
	PartVision  Part = "vision"  // SigLIP ViT (understanding encoder)
	PartAligner Part = "aligner" // ViT features → LLM embeddings
	PartLLM     Part = "llm"     // LLaMA decoder, incl. embed_tokens
	PartLMHead  Part = "lm_head" // the LLM's text head (understanding; generation has gen_head)
	PartVQ      Part = "vq"      // VQ-16 decoder with codebook and post_quant_conv
	PartGen     Part = "gen"     // gen_embed, gen_aligner and gen_head
	PartUnused  Part = "unused"  // stored but never run
)

// Parts lists the parts that run, in report order.
func Parts() []Part {
	return []Part{PartVision, PartAligner, PartLLM, PartLMHead, PartVQ, PartGen}
}

// UnderstandingParts are the parts only image understanding runs: a generation-only load
// leaves them out.
func UnderstandingParts() []Part { return []Part{PartVision, PartAligner, PartLMHead} }

// GenerationParts are the parts only image generation runs: an understanding-only load
// leaves them out.
func GenerationParts() []Part { return []Part{PartVQ, PartGen} }

// Kind tells how a backend stores a weight, which decides its memory at each precision.
type Kind uint8

// Weight kinds.
const (
	// Matrix is a Linear weight or an embedding table: the backend may keep it in F32, F16,
	// BF16 or (later) a quantised format.
	Matrix Kind = iota
	// Dense is every other weight (norms, biases, convolutions, position embeddings, the VQ
	// codebook): always F32 on the backend.
	Dense
)

// Spec is one tensor the model runs, with the shape the checkpoint must hold.
type Spec struct {
	// Name is the full state-dict name, e.g. "language_model.model.norm.weight".
	Name string
	// Shape is the shape the configuration implies, in the checkpoint's (PyTorch) order.
	Shape []int
	// Part is the network the tensor belongs to, for the per-part statistics.
	Part Part
	// Kind decides which precisions the backend may keep the tensor in.
	Kind Kind
}

// Params is the number of elements.
func (s Spec) Params() int64 {
	n := int64(1)
	for _, d := range s.Shape {
		n *= int64(d)
	}
	return n
}

// Name prefixes of the official state dict, under which the networks bind their tensors
// (model/projector under the prefix it is given). They decide a tensor's Part.
const (
	VisionPrefix     = "vision_model.vision_tower."
	AlignerPrefix    = "aligner."
	GenVisionPrefix  = "gen_vision_model."
	GenAlignerPrefix = "gen_aligner."
	GenHeadPrefix    = "gen_head."
	GenEmbedName     = "gen_embed.weight"
	LLMPrefix        = "language_model."
)

// Tensors that code outside the networks (benchmarks, the random weights of tests) tells
// apart from the others: the language model's token embedding, of which decoding reads one
// row a token, and the image tokenizer's codebook.
const (
	LLMEmbedName   = LLMPrefix + "model.embed_tokens.weight"
	VQCodebookName = GenVisionPrefix + "quantize.embedding.weight"
)

// Unused reports whether name is a tensor the official model stores but inference never
// reads: the ViT's attention-pool head, the VQ encoder, quant_conv, the codebook usage
// counters and rotary inv_freq buffers.
func Unused(name string) bool {
	return strings.HasPrefix(name, VisionPrefix+"attn_pool.") ||
		strings.HasPrefix(name, GenVisionPrefix+"encoder.") ||
		strings.HasPrefix(name, GenVisionPrefix+"quant_conv.") ||
		name == GenVisionPrefix+"quantize.codebook_used" ||
		strings.HasSuffix(name, "rotary_emb.inv_freq")
}

// Recorder is the Layout that binds nothing: it lists the tensors a network's walk names, as
// Specs, and hands back nil tensors.
type Recorder struct {
	specs []Spec
}

// Specs are the tensors recorded so far, in the order they were named.
func (r *Recorder) Specs() []Spec { return r.specs }

func (r *Recorder) add(name string, kind Kind, shape []int) {
	r.specs = append(r.specs, Spec{Name: name, Shape: slices.Clone(shape), Part: partOf(name), Kind: kind})
}

// Matrix records a Matrix tensor.
func (r *Recorder) Matrix(name string, shape ...int) *compute.Tensor {
	r.add(name, Matrix, shape)
	return nil
}

// F32 records a Dense tensor.
func (r *Recorder) F32(name string, shape ...int) *compute.Tensor {
	r.add(name, Dense, shape)
	return nil
}

// MatrixSplit records the fused Matrix tensor once.
func (r *Recorder) MatrixSplit(name string, n int, shape ...int) []*compute.Tensor {
	r.add(name, Matrix, shape)
	return make([]*compute.Tensor, n)
}

// F32Split records the fused Dense tensor once.
func (r *Recorder) F32Split(name string, n int, shape ...int) []*compute.Tensor {
	r.add(name, Dense, shape)
	return make([]*compute.Tensor, n)
}

// partOf is the part of a tensor a network binds, from the prefix of its name.
func partOf(name string) Part {
	has := func(prefix string) bool { return strings.HasPrefix(name, prefix) }
	switch {
	case has(VisionPrefix):
		return PartVision
	case has(AlignerPrefix):
		return PartAligner
	case has(GenVisionPrefix):
		return PartVQ
	case has(GenAlignerPrefix), has(GenHeadPrefix), name == GenEmbedName:
		return PartGen
	case has(LLMPrefix + "lm_head."):
		return PartLMHead
	case has(LLMPrefix):
		return PartLLM
	}
	panic(fmt.Sprintf("weights: tensor %s is under none of the state-dict prefixes", name))
}
