package weights

import (
	"fmt"
	"slices"
	"strings"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model/config"
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

// Name prefixes of the official state dict. They are written here only: the networks bind
// their tensors under them (model/vision, model/llm, model/vq, and model/projector through the
// prefix model.Load passes), so Plan and the loaders cannot drift apart.
const (
	VisionPrefix     = "vision_model.vision_tower."
	AlignerPrefix    = "aligner."
	GenVisionPrefix  = "gen_vision_model."
	GenAlignerPrefix = "gen_aligner."
	GenHeadPrefix    = "gen_head."
	GenEmbedName     = "gen_embed.weight"
	LLMPrefix        = "language_model."
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

// Plan lists every tensor the networks of cfg run, with its shape, in state-dict order
// (spec §4.2 and Appendix A): the truncated ViT's blocks, the aligners' linear layers, every
// LLM layer, and the VQ decoder's levels, res blocks, attention blocks and shortcuts.
func Plan(cfg *config.Config) []Spec {
	var p planner
	p.vision(cfg.Vision)
	p.projector(AlignerPrefix, PartAligner, cfg.Aligner)
	p.vqDecoder(cfg.VQ)
	p.projector(GenAlignerPrefix, PartGen, cfg.GenAligner)
	h := cfg.GenHead
	p.linear(GenHeadPrefix+"output_mlp_projector", PartGen, h.ImageTokenEmbed, h.NEmbed, true)
	p.linear(GenHeadPrefix+"vision_head", PartGen, h.ImageTokenSize, h.ImageTokenEmbed, true)
	p.add(GenEmbedName, PartGen, Matrix, cfg.GenEmbed.Size, cfg.GenEmbed.Dim)
	p.llm(cfg.LLM)
	return p.specs
}

type planner struct {
	specs []Spec
}

func (p *planner) add(name string, part Part, kind Kind, shape ...int) {
	p.specs = append(p.specs, Spec{Name: name, Shape: shape, Part: part, Kind: kind})
}

// linear adds a Linear layer's weight [out, in] and, with bias, its bias [out].
func (p *planner) linear(prefix string, part Part, out, in int, bias bool) {
	p.add(prefix+".weight", part, Matrix, out, in)
	if bias {
		p.add(prefix+".bias", part, Dense, out)
	}
}

// affine adds a LayerNorm's or GroupNorm's weight and bias.
func (p *planner) affine(prefix string, part Part, n int) {
	p.add(prefix+".weight", part, Dense, n)
	p.add(prefix+".bias", part, Dense, n)
}

func (p *planner) conv(prefix string, out, in, k int) {
	p.add(prefix+".weight", PartVQ, Dense, out, in, k, k)
	p.add(prefix+".bias", PartVQ, Dense, out)
}

func (p *planner) vision(v config.Vision) {
	pre := VisionPrefix
	p.add(pre+"pos_embed", PartVision, Dense, 1, v.Tokens, v.Width)
	p.add(pre+"patch_embed.proj.weight", PartVision, Dense, v.Width, 3, v.PatchSize, v.PatchSize)
	p.add(pre+"patch_embed.proj.bias", PartVision, Dense, v.Width)
	for i := range v.Layers {
		b := fmt.Sprintf("%sblocks.%d.", pre, i)
		p.affine(b+"norm1", PartVision, v.Width)
		p.linear(b+"attn.qkv", PartVision, 3*v.Width, v.Width, true)
		p.linear(b+"attn.proj", PartVision, v.Width, v.Width, true)
		p.affine(b+"norm2", PartVision, v.Width)
		p.linear(b+"mlp.fc1", PartVision, v.MLPHidden, v.Width, true)
		p.linear(b+"mlp.fc2", PartVision, v.Width, v.MLPHidden, true)
	}
	p.affine(pre+"norm", PartVision, v.Width)
}

// projector adds an MlpProjector: mlp_gelu keeps its Linear layers at even indices of an
// nn.Sequential (the GELUs between them have no weights); linear is a bare nn.Linear.
func (p *planner) projector(prefix string, part Part, c config.Projector) {
	switch c.Type {
	case config.ProjectorMLPGELU:
		p.linear(prefix+"layers.0", part, c.NEmbed, c.InputDim, true)
		for i := 1; i < c.Depth; i++ {
			p.linear(fmt.Sprintf("%slayers.%d", prefix, 2*i), part, c.NEmbed, c.NEmbed, true)
		}
	case config.ProjectorLinear:
		p.linear(prefix+"layers", part, c.NEmbed, c.InputDim, true)
	}
}

func (p *planner) resBlock(prefix string, cin, cout int) {
	p.affine(prefix+"norm1", PartVQ, cin)
	p.conv(prefix+"conv1", cout, cin, 3)
	p.affine(prefix+"norm2", PartVQ, cout)
	p.conv(prefix+"conv2", cout, cout, 3)
	if cin != cout {
		p.conv(prefix+"nin_shortcut", cout, cin, 1)
	}
}

func (p *planner) attnBlock(prefix string, c int) {
	p.affine(prefix+"norm", PartVQ, c)
	for _, m := range []string{"q", "k", "v", "proj_out"} {
		p.conv(prefix+m, c, c, 1)
	}
}

// vqDecoder adds what decode_code runs: the codebook, post_quant_conv and the decoder. The
// decoder's conv_blocks.j is level n-1-j: it has NumResBlocks+1 res blocks, attention after
// each of them on the deepest level only, and an upsampling conv on every level but the last.
func (p *planner) vqDecoder(q config.VQ) {
	pre := GenVisionPrefix + "decoder."
	n := len(q.DecoderChMult)
	if n == 0 {
		return
	}
	blockIn := q.Ch * q.DecoderChMult[n-1]
	p.conv(pre+"conv_in", blockIn, q.ZChannels, 3)
	p.resBlock(pre+"mid.0.", blockIn, blockIn)
	p.attnBlock(pre+"mid.1.", blockIn)
	p.resBlock(pre+"mid.2.", blockIn, blockIn)
	for j := range n {
		level := n - 1 - j
		blockOut := q.Ch * q.DecoderChMult[level]
		lp := fmt.Sprintf("%sconv_blocks.%d.", pre, j)
		for r := range q.NumResBlocks + 1 {
			p.resBlock(fmt.Sprintf("%sres.%d.", lp, r), blockIn, blockOut)
			blockIn = blockOut
		}
		if level == n-1 {
			for r := range q.NumResBlocks + 1 {
				p.attnBlock(fmt.Sprintf("%sattn.%d.", lp, r), blockIn)
			}
		}
		if level != 0 {
			p.conv(lp+"upsample.conv", blockIn, blockIn, 3)
		}
	}
	p.affine(pre+"norm_out", PartVQ, blockIn)
	p.conv(pre+"conv_out", 3, blockIn, 3)
	p.add(GenVisionPrefix+"quantize.embedding.weight", PartVQ, Dense, q.CodebookSize, q.CodebookEmbedDim)
	p.conv(GenVisionPrefix+"post_quant_conv", q.ZChannels, q.CodebookEmbedDim, 1)
}

func (p *planner) llm(l config.LLM) {
	pre := LLMPrefix + "model."
	p.add(pre+"embed_tokens.weight", PartLLM, Matrix, l.Vocab, l.Hidden)
	q, kv := l.Heads*l.HeadDim, l.KVHeads*l.HeadDim
	for i := range l.Layers {
		b := fmt.Sprintf("%slayers.%d.", pre, i)
		p.linear(b+"self_attn.q_proj", PartLLM, q, l.Hidden, false)
		p.linear(b+"self_attn.k_proj", PartLLM, kv, l.Hidden, false)
		p.linear(b+"self_attn.v_proj", PartLLM, kv, l.Hidden, false)
		p.linear(b+"self_attn.o_proj", PartLLM, l.Hidden, q, false)
		p.linear(b+"mlp.gate_proj", PartLLM, l.Intermediate, l.Hidden, false)
		p.linear(b+"mlp.up_proj", PartLLM, l.Intermediate, l.Hidden, false)
		p.linear(b+"mlp.down_proj", PartLLM, l.Hidden, l.Intermediate, false)
		p.add(b+"input_layernorm.weight", PartLLM, Dense, l.Hidden)
		p.add(b+"post_attention_layernorm.weight", PartLLM, Dense, l.Hidden)
	}
	p.add(pre+"norm.weight", PartLLM, Dense, l.Hidden)
	if !l.TieWordEmbeddings {
		p.add(LLMPrefix+"lm_head.weight", PartLMHead, Matrix, l.Vocab, l.Hidden)
	}
}
