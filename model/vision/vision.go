// Package vision is Janus' understanding encoder: the SigLIP vision transformer that turns
// preprocessed images into one feature vector per patch (spec §3.1). It runs the official
// forward path only: patch convolution, learned position embedding, pre-norm blocks with
// exact GELU, the final LayerNorm; the attention-pool head in the checkpoint is never
// loaded, and select_layer truncation (config.Vision.Layers) decides how many blocks exist.
// The patch grid is floor(image_size / patch_size), as in timm. Tensor names are under
// weights.VisionPrefix.
//
// Weights are bound once at load into the typed structs below and never looked up by name
// afterwards. Linear weights keep the dtype the weight source hands out (the checkpoint's
// own, BF16 for every release): that halves their memory against float32, and the backend
// widens them on use. Norms, biases, the patch convolution and the position embedding are
// float32.
package vision

import (
	"context"
	"fmt"
	"math"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/weights"
)

// Block is one pre-norm transformer block. The checkpoint's fused qkv projection is split at
// load into Q, K and V so that each is a plain Linear.
type Block struct {
	Norm1W, Norm1B *compute.Tensor // norm1, the LayerNorm before attention [width]
	QW, QB         *compute.Tensor // rows 0..width of attn.qkv [width, width], [width]
	KW, KB         *compute.Tensor // rows width..2·width of attn.qkv
	VW, VB         *compute.Tensor // rows 2·width..3·width of attn.qkv
	ProjW, ProjB   *compute.Tensor // attn.proj [width, width], [width]
	Norm2W, Norm2B *compute.Tensor // norm2, the LayerNorm before the MLP [width]
	FC1W, FC1B     *compute.Tensor // mlp.fc1 [mlpHidden, width], [mlpHidden]
	FC2W, FC2B     *compute.Tensor // mlp.fc2 [width, mlpHidden], [width]
}

// Model is a loaded SigLIP tower.
type Model struct {
	// Config is the resolved vision_config the weights were bound with.
	Config config.Vision

	PatchW, PatchB *compute.Tensor // [width, 3, patch, patch], [width]
	PosEmbed       *compute.Tensor // [1, tokens, width]
	Blocks         []Block         // the first Config.Layers blocks only (select_layer)
	NormW, NormB   *compute.Tensor // final norm [width], applied to the output as the official tower does

	be compute.Backend
}

// Load binds the tower's weights from src. Only cfg.Layers blocks are read.
func Load(be compute.Backend, src weights.RowSource, cfg config.Vision) (*Model, error) {
	// The grid is floor(image/patch), as timm's PatchEmbed has it: the stride-patch
	// convolution never reads the pixels right and below the last whole patch.
	if cfg.Width <= 0 || cfg.Heads <= 0 || cfg.Width%cfg.Heads != 0 || cfg.PatchSize <= 0 ||
		cfg.Grid < 1 || cfg.Grid != cfg.ImageSize/cfg.PatchSize || cfg.Tokens != cfg.Grid*cfg.Grid ||
		cfg.Layers < 0 || cfg.MLPHidden <= 0 {
		return nil, fmt.Errorf("vision tower: unusable config %+v", cfg)
	}
	l := weights.NewBinder(src)
	m := &Model{Config: cfg, be: be}
	m.bind(l)
	if l.Err() != nil {
		m.Free()
		return nil, fmt.Errorf("load vision tower: %w", l.Err())
	}
	return m, nil
}

// Tensors names the tower's weights of cfg to l: model.Plan records them.
func Tensors(l weights.Layout, cfg config.Vision) {
	(&Model{Config: cfg}).bind(l)
}

// bind binds every weight through l, in state-dict order. The fused qkv projection is bound
// as three blocks of rows, Q, K and V.
func (m *Model) bind(l weights.Layout) {
	cfg := m.Config
	w, p := cfg.Width, cfg.PatchSize
	pre := weights.VisionPrefix
	m.PosEmbed = l.F32(pre+"pos_embed", 1, cfg.Tokens, w)
	m.PatchW = l.F32(pre+"patch_embed.proj.weight", w, 3, p, p)
	m.PatchB = l.F32(pre+"patch_embed.proj.bias", w)
	m.Blocks = make([]Block, cfg.Layers)
	for i := range m.Blocks {
		b := &m.Blocks[i]
		bp := fmt.Sprintf("%sblocks.%d.", pre, i)
		b.Norm1W = l.F32(bp+"norm1.weight", w)
		b.Norm1B = l.F32(bp+"norm1.bias", w)
		qkv := l.MatrixSplit(bp+"attn.qkv.weight", 3, 3*w, w)
		b.QW, b.KW, b.VW = qkv[0], qkv[1], qkv[2]
		qkv = l.F32Split(bp+"attn.qkv.bias", 3, 3*w)
		b.QB, b.KB, b.VB = qkv[0], qkv[1], qkv[2]
		b.ProjW = l.Matrix(bp+"attn.proj.weight", w, w)
		b.ProjB = l.F32(bp+"attn.proj.bias", w)
		b.Norm2W = l.F32(bp+"norm2.weight", w)
		b.Norm2B = l.F32(bp+"norm2.bias", w)
		b.FC1W = l.Matrix(bp+"mlp.fc1.weight", cfg.MLPHidden, w)
		b.FC1B = l.F32(bp+"mlp.fc1.bias", cfg.MLPHidden)
		b.FC2W = l.Matrix(bp+"mlp.fc2.weight", w, cfg.MLPHidden)
		b.FC2B = l.F32(bp+"mlp.fc2.bias", w)
	}
	m.NormW = l.F32(pre+"norm.weight", w)
	m.NormB = l.F32(pre+"norm.bias", w)
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
	free(m.PatchW, m.PatchB, m.PosEmbed, m.NormW, m.NormB)
	for _, b := range m.Blocks {
		free(b.Norm1W, b.Norm1B, b.QW, b.QB, b.KW, b.KB, b.VW, b.VB, b.ProjW, b.ProjB,
			b.Norm2W, b.Norm2B, b.FC1W, b.FC1B, b.FC2W, b.FC2B)
	}
	m.Blocks = nil
}

// Pixels uploads preprocessed images (each 3×S×S float32 in CHW order, as the image
// processor produces) as one [n, 3, S, S] batch, applying the tower's own input
// normalisation when the config has one (no release does).
func (m *Model) Pixels(images ...[]float32) (*compute.Tensor, error) {
	s := m.Config.ImageSize
	plane := s * s
	data := make([]float32, 0, len(images)*3*plane)
	for i, img := range images {
		if len(img) != 3*plane {
			return nil, fmt.Errorf("image %d has %d values, want 3×%d×%d = %d", i, len(img), s, s, 3*plane)
		}
		data = append(data, img...)
	}
	if len(images) == 0 {
		return nil, fmt.Errorf("no images to encode")
	}
	if mean, std := m.Config.PixelMean, m.Config.PixelStd; len(mean) == 3 && len(std) == 3 {
		for i := range data {
			c := (i / plane) % 3
			data[i] = (data[i] - float32(mean[c])) / float32(std[c])
		}
	}
	return m.be.FromFloat32(data, len(images), 3, s, s), nil
}

// Forward encodes pixels [n, 3, S, S] into features [n, tokens, width] (after the final
// LayerNorm). Token k is patch (k / grid, k % grid). The caller frees the result. ctx is
// checked before each block: an image's encoding takes seconds on few threads, and Stop
// must not wait for all of it.
func (m *Model) Forward(ctx context.Context, pixels *compute.Tensor) (*compute.Tensor, error) {
	be, c := m.be, m.Config
	n, w, g, tok := pixels.Dim(0), c.Width, c.Grid, c.Tokens
	eps := float32(c.LayerNormEps)

	// Patch embedding: a stride-p convolution gives [n, w, g, g]; flattening the grid and
	// swapping the last two dimensions gives one row per patch, row-major over the grid.
	conv := be.New(compute.F32, n, w, g, g)
	be.Conv2D(conv, pixels, m.PatchW, m.PatchB, compute.Conv2DParams{Stride: c.PatchSize})
	x := be.New(compute.F32, n, tok, w)
	be.Transpose(x, be.Reshape(conv, n, w, tok))
	be.Free(conv)
	be.Add(x, x, m.PosEmbed)

	h := be.New(compute.F32, n, tok, w)
	q := be.New(compute.F32, n, tok, w)
	k := be.New(compute.F32, n, tok, w)
	v := be.New(compute.F32, n, tok, w)
	att := be.New(compute.F32, n, tok, w)
	hidden := be.New(compute.F32, n, tok, c.MLPHidden)
	act := be.New(compute.F32, n, tok, c.MLPHidden)
	defer func() {
		for _, t := range []*compute.Tensor{x, h, q, k, v, att, hidden, act} {
			be.Free(t)
		}
	}()
	ap := compute.AttentionParams{
		Heads: c.Heads, KVHeads: c.Heads, HeadDim: w / c.Heads,
		KVLen: tok, Scale: float32(1 / math.Sqrt(float64(w/c.Heads))),
	}
	for i := range m.Blocks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b := &m.Blocks[i]
		// x = x + proj(attention(norm1(x)))
		be.LayerNorm(h, x, b.Norm1W, b.Norm1B, eps)
		be.Linear(q, h, b.QW, b.QB)
		be.Linear(k, h, b.KW, b.KB)
		be.Linear(v, h, b.VW, b.VB)
		be.Attention(att, q, k, v, ap)
		be.Linear(h, att, b.ProjW, b.ProjB)
		be.Add(x, x, h)
		// x = x + fc2(gelu(fc1(norm2(x))))
		be.LayerNorm(h, x, b.Norm2W, b.Norm2B, eps)
		be.Linear(hidden, h, b.FC1W, b.FC1B)
		be.GELU(act, hidden)
		be.Linear(h, act, b.FC2W, b.FC2B)
		be.Add(x, x, h)
	}
	out := be.New(compute.F32, n, tok, w)
	be.LayerNorm(out, x, m.NormW, m.NormB, eps)
	return out, nil
}
