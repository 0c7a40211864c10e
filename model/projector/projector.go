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
	what := "projector " + strings.TrimSuffix(prefix, ".")
	if cfg.InputDim <= 0 || (cfg.Type != config.ProjectorIdentity && cfg.NEmbed <= 0) {
		return nil, fmt.Errorf("%s: unusable widths %d → %d", what, cfg.InputDim, cfg.NEmbed)
	}
	var names []string
	var dims []int
	switch cfg.Type {
	case config.ProjectorIdentity:
	case config.ProjectorLinear:
		names, dims = []string{prefix + "layers"}, []int{cfg.InputDim, cfg.NEmbed}
	case config.ProjectorMLPGELU:
		if cfg.Depth < 1 {
			return nil, fmt.Errorf("%s: depth %d, want >= 1", what, cfg.Depth)
		}
		dims = []int{cfg.InputDim}
		for i := range cfg.Depth {
			names = append(names, fmt.Sprintf("%slayers.%d", prefix, 2*i))
			dims = append(dims, cfg.NEmbed)
		}
	default:
		return nil, fmt.Errorf("%s: unsupported projector_type %q", what, cfg.Type)
	}
	return load(be, src, cfg.InputDim, names, dims)
}

// LoadHead binds the gen_head ("vision_head") stored under prefix (weights.GenHeadPrefix,
// with its dot): output_mlp_projector (NEmbed → ImageTokenEmbed), GELU, vision_head
// (ImageTokenEmbed → ImageTokenSize).
func LoadHead(be compute.Backend, src weights.Source, prefix string, cfg config.GenHead) (*MLP, error) {
	if cfg.NEmbed <= 0 || cfg.ImageTokenEmbed <= 0 || cfg.ImageTokenSize <= 0 {
		return nil, fmt.Errorf("%s: unusable widths %+v", strings.TrimSuffix(prefix, "."), cfg)
	}
	names := []string{prefix + "output_mlp_projector", prefix + "vision_head"}
	return load(be, src, cfg.NEmbed, names, []int{cfg.NEmbed, cfg.ImageTokenEmbed, cfg.ImageTokenSize})
}

// load binds Linear i = names[i] with weight [dims[i+1], dims[i]].
func load(be compute.Backend, src weights.Source, in int, names []string, dims []int) (*MLP, error) {
	m := &MLP{in: in, be: be}
	for i, name := range names {
		w, err := src.Matrix(name+".weight", dims[i+1], dims[i])
		if err != nil {
			m.Free()
			return nil, fmt.Errorf("load projector: %w", err)
		}
		b, err := src.F32(name+".bias", dims[i+1])
		if err != nil {
			be.Free(w)
			m.Free()
			return nil, fmt.Errorf("load projector: %w", err)
		}
		m.Layers = append(m.Layers, Layer{W: w, B: b})
	}
	return m, nil
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
	be := m.be
	shape := append([]int(nil), x.Shape...)
	rows := x.Rows()
	if len(m.Layers) == 0 {
		out := be.New(compute.F32, shape...)
		be.CopyRows(be.Reshape(out, 1, rows, m.in), 0, be.Reshape(x, 1, rows, m.in), 0, rows)
		return out
	}
	cur := x
	for i, l := range m.Layers {
		if i > 0 {
			act := be.New(compute.F32, cur.Shape...)
			be.GELU(act, cur)
			be.Free(cur)
			cur = act
		}
		shape[len(shape)-1] = l.W.Shape[0]
		next := be.New(compute.F32, shape...)
		be.Linear(next, cur, l.W, l.B)
		if cur != x {
			be.Free(cur)
		}
		cur = next
	}
	return cur
}

// Free releases the weights.
func (m *MLP) Free() {
	for _, l := range m.Layers {
		m.be.Free(l.W)
		m.be.Free(l.B)
	}
	m.Layers = nil
}
