// Package projector runs Janus' small MLPs that map between embedding spaces: the aligner
// (ViT features to LLM embeddings), the gen_aligner (image-token embeddings to LLM
// embeddings) and the gen_head (LLM hidden states to image-token logits). All three are a
// chain of Linear layers with exact (erf) GELU between consecutive layers (spec §3.2, §3.5);
// they differ only in their tensor names and widths.
//
// Linear weights keep the dtype the weight source hands out (the checkpoint's own, BF16 in
// every release: half the memory of float32, widened by the backend on use); biases are
// float32.
package projector

import (
	"fmt"
	"slices"
	"strings"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/weights"
)

// Layer is one Linear: y = x·Wᵀ + B.
type Layer struct {
	W *compute.Tensor // [out, in]
	B *compute.Tensor // [out]
}

// MLP is Linear, then GELU and Linear for each further layer. With no layers it is the
// identity.
type MLP struct {
	// Layers are the Linears in order (state-dict layers.0, layers.2, … for mlp_gelu; layers
	// for linear); empty for identity.
	Layers []Layer
	in     int
	be     compute.Backend
}

// LoadProjector binds an MlpProjector stored under prefix, a state-dict prefix with its dot
// (weights.AlignerPrefix or weights.GenAlignerPrefix): "mlp_gelu" has layers
// prefix+"layers.0", ".2", ".4", … (the odd indices are the parameter-free GELUs of the
// official nn.Sequential), "linear" a single prefix+"layers", and
// "identity" none.
func LoadProjector(be compute.Backend, src weights.Source, prefix string, cfg config.Projector) (*MLP, error) {
	names, dims, err := projectorLayers(prefix, cfg)
	if err != nil {
		return nil, err
	}
	return load(be, src, names, dims)
}

// ProjectorTensors names the weights of the MlpProjector LoadProjector binds to l: model.Plan
// records them.
func ProjectorTensors(l weights.Layout, prefix string, cfg config.Projector) {
	if names, dims, err := projectorLayers(prefix, cfg); err == nil {
		bind(l, names, dims)
	}
}

// projectorLayers names an MlpProjector's Linear layers and their widths (see bind).
func projectorLayers(prefix string, cfg config.Projector) (names []string, dims []int, err error) {
	what := "projector " + strings.TrimSuffix(prefix, ".")
	if cfg.InputDim <= 0 || (cfg.Type != config.ProjectorIdentity && cfg.NEmbed <= 0) {
		return nil, nil, fmt.Errorf("%s: unusable widths %d → %d", what, cfg.InputDim, cfg.NEmbed)
	}
	dims = []int{cfg.InputDim}
	switch cfg.Type {
	case config.ProjectorIdentity:
	case config.ProjectorLinear:
		names, dims = []string{prefix + "layers"}, []int{cfg.InputDim, cfg.NEmbed}
	case config.ProjectorMLPGELU:
		if cfg.Depth < 1 {
			return nil, nil, fmt.Errorf("%s: depth %d, want >= 1", what, cfg.Depth)
		}
		for i := range cfg.Depth {
			names = append(names, fmt.Sprintf("%slayers.%d", prefix, 2*i))
			dims = append(dims, cfg.NEmbed)
		}
	default:
		return nil, nil, fmt.Errorf("%s: unsupported projector_type %q", what, cfg.Type)
	}
	return names, dims, nil
}

// LoadHead binds the gen_head ("vision_head") stored under prefix (weights.GenHeadPrefix,
// with its dot): output_mlp_projector (NEmbed → ImageTokenEmbed), GELU, vision_head
// (ImageTokenEmbed → ImageTokenSize).
func LoadHead(be compute.Backend, src weights.Source, prefix string, cfg config.GenHead) (*MLP, error) {
	if cfg.NEmbed <= 0 || cfg.ImageTokenEmbed <= 0 || cfg.ImageTokenSize <= 0 {
		return nil, fmt.Errorf("%s: unusable widths %+v", strings.TrimSuffix(prefix, "."), cfg)
	}
	names, dims := headLayers(prefix, cfg)
	return load(be, src, names, dims)
}

// HeadTensors names the weights of the gen_head LoadHead binds to l: model.Plan records them.
func HeadTensors(l weights.Layout, prefix string, cfg config.GenHead) {
	names, dims := headLayers(prefix, cfg)
	bind(l, names, dims)
}

func headLayers(prefix string, cfg config.GenHead) (names []string, dims []int) {
	return []string{prefix + "output_mlp_projector", prefix + "vision_head"},
		[]int{cfg.NEmbed, cfg.ImageTokenEmbed, cfg.ImageTokenSize}
}

// load binds the layers from src.
func load(be compute.Backend, src weights.Source, names []string, dims []int) (*MLP, error) {
	l := weights.NewBinder(src)
	m := &MLP{Layers: bind(l, names, dims), in: dims[0], be: be}
	if l.Err() != nil {
		m.Free()
		return nil, fmt.Errorf("load projector: %w", l.Err())
	}
	return m, nil
}

// bind binds Linear i, names[i] with weight [dims[i+1], dims[i]] and bias [dims[i+1]],
// through l in state-dict order.
func bind(l weights.Layout, names []string, dims []int) []Layer {
	var layers []Layer
	for i, name := range names {
		layers = append(layers, Layer{W: l.Matrix(name+".weight", dims[i+1], dims[i]), B: l.F32(name+".bias", dims[i+1])})
	}
	return layers
}

// InputDim is the width of the input rows.
func (m *MLP) InputDim() int { return m.in }

// OutputDim is the width of the output rows.
func (m *MLP) OutputDim() int {
	if len(m.Layers) == 0 {
		return m.in
	}
	return m.Layers[len(m.Layers)-1].W.Shape[0]
}

// Forward applies the MLP to every row of x [..., in] and returns a new F32 tensor with the
// same leading dimensions and OutputDim columns. The caller frees it.
func (m *MLP) Forward(x *compute.Tensor) *compute.Tensor {
	out := m.be.New(compute.F32, m.outShape(x.Shape)...)
	s := m.NewScratch(x.Shape...)
	m.ForwardInto(out, x, s)
	s.Free()
	return out
}

// outShape is the output shape for inputs of shape in.
func (m *MLP) outShape(in []int) []int {
	shape := append([]int(nil), in...)
	shape[len(shape)-1] = m.OutputDim()
	return shape
}

// Scratch holds the hidden activations of an MLP for inputs of one shape, so that a caller
// applying it at every step (generation's gen_aligner and gen_head) allocates them once.
type Scratch struct {
	be     compute.Backend
	shape  []int
	hidden []*compute.Tensor // the outputs of every layer but the last
}

// NewScratch allocates the hidden activations for inputs of the given shape [..., in].
func (m *MLP) NewScratch(shape ...int) *Scratch {
	s := &Scratch{be: m.be, shape: append([]int(nil), shape...)}
	for _, l := range m.Layers[:max(0, len(m.Layers)-1)] {
		h := append([]int(nil), shape...)
		h[len(h)-1] = l.W.Shape[0]
		s.hidden = append(s.hidden, m.be.New(compute.F32, h...))
	}
	return s
}

// Free releases the activations.
func (s *Scratch) Free() {
	for _, t := range s.hidden {
		s.be.Free(t)
	}
	s.hidden = nil
}

// ForwardInto applies the MLP to x, whose shape s was made for, writing dst [..., OutputDim],
// which must not be x. Each hidden layer's GELU runs in place on its Linear's output, which
// gives the same values as a separate buffer.
func (m *MLP) ForwardInto(dst, x *compute.Tensor, s *Scratch) {
	be := m.be
	if !slices.Equal(x.Shape, s.shape) || !slices.Equal(dst.Shape, m.outShape(x.Shape)) {
		panic(fmt.Sprintf("projector: input %v and output %v for a scratch made for %v", x, dst, s.shape))
	}
	if len(m.Layers) == 0 {
		rows := x.Rows()
		be.CopyRows(be.Reshape(dst, 1, rows, m.in), 0, be.Reshape(x, 1, rows, m.in), 0, rows)
		return
	}
	cur := x
	for i, l := range m.Layers {
		out := dst
		if i < len(m.Layers)-1 {
			out = s.hidden[i]
		}
		if i > 0 {
			be.GELU(cur, cur)
		}
		be.Linear(out, cur, l.W, l.B)
		cur = out
	}
}

// Free releases the weights.
func (m *MLP) Free() {
	for _, l := range m.Layers {
		for _, t := range []*compute.Tensor{l.W, l.B} {
			if t != nil {
				m.be.Free(t)
			}
		}
	}
	m.Layers = nil
}
