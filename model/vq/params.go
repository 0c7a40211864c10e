// Package vq is the image half of Janus generation: the VQ-16 decoder of LlamaGen that turns a
// grid of image token ids into RGB pixels (spec §3.4). Only decoding exists here; the VQ
// encoder, quant_conv and the codebook usage counters are checkpoint-only tensors that Janus
// never runs.
//
// The decoder's block structure is derived from Params exactly as LlamaGen's Decoder builds
// itself, so any ch / ch_mult / num_res_blocks / z_channels / codebook / image size that a
// config.json can express loads and runs; nothing assumes the released 384 px, 24×24 model.
// Weights are bound once at load time into typed structs, so the forward pass never looks a
// tensor up by name and a GPU backend can keep them resident.
package vq

import (
	"fmt"

	"github.com/janus-desktop/janus/model/config"
)

// Params are the hyperparameters of a VQ-16 decoder and its codebook (spec §3.4 and the
// config extension of §13), from the model's config: nothing here assumes the releases'
// 384-pixel images.
type Params struct {
	// Ch is the base channel count; level i has Ch*ChMult[i] channels.
	Ch int
	// ChMult are the decoder's per-level channel multipliers, listed from the full-resolution
	// level to the lowest one (the config's decoder_ch_mult).
	ChMult []int
	// NumResBlocks is the config's num_res_blocks; the decoder runs one more per level.
	NumResBlocks int
	// ZChannels is the latent width between post_quant_conv and conv_in.
	ZChannels int
	// CodebookSize is the number of image token ids.
	CodebookSize int
	// CodebookDim is the width of a codebook row.
	CodebookDim int
	// L2Norm selects the l2-normalised codebook lookup (true in every release).
	L2Norm bool
	// ImageSize is the side of the decoded square image in pixels.
	ImageSize int
	// Groups and Eps are the GroupNorm settings of LlamaGen's Normalize (32 and 1e-6, fixed
	// in the original code), so every decoder channel count must be a multiple of Groups.
	Groups int
	// Eps is the GroupNorm eps (1e-6).
	Eps float64
}

// ParamsFromConfig takes the decoder settings from a parsed config.json.
func ParamsFromConfig(c config.VQ) Params {
	return Params{
		Ch:           c.Ch,
		ChMult:       append([]int(nil), c.DecoderChMult...),
		NumResBlocks: c.NumResBlocks,
		ZChannels:    c.ZChannels,
		CodebookSize: c.CodebookSize,
		CodebookDim:  c.CodebookEmbedDim,
		L2Norm:       c.CodebookL2Norm,
		ImageSize:    c.ImageSize,
		Groups:       c.GroupNormGroups,
		Eps:          c.GroupNormEps,
	}
}

// Downsample is the factor between image pixels and token grid cells: 2^(levels-1).
func (p Params) Downsample() int { return 1 << (len(p.ChMult) - 1) }

// Grid is the side of the token grid: ImageSize / Downsample.
func (p Params) Grid() int { return p.ImageSize / p.Downsample() }

// Tokens is the number of image tokens per image: Grid².
func (p Params) Tokens() int { return p.Grid() * p.Grid() }

// Validate reports the first parameter the decoder cannot be built from.
func (p Params) Validate() error {
	switch {
	case p.Ch <= 0:
		return fmt.Errorf("vq: ch %d must be positive", p.Ch)
	case len(p.ChMult) == 0:
		return fmt.Errorf("vq: ch_mult is empty")
	case len(p.ChMult) > 16:
		return fmt.Errorf("vq: ch_mult has %d levels, more than 16", len(p.ChMult))
	case p.NumResBlocks < 0:
		return fmt.Errorf("vq: num_res_blocks %d is negative", p.NumResBlocks)
	case p.ZChannels <= 0:
		return fmt.Errorf("vq: z_channels %d must be positive", p.ZChannels)
	case p.CodebookSize <= 0 || p.CodebookDim <= 0:
		return fmt.Errorf("vq: codebook %d×%d must have positive dimensions", p.CodebookSize, p.CodebookDim)
	case p.Groups <= 0:
		return fmt.Errorf("vq: GroupNorm groups %d must be positive", p.Groups)
	case !(p.Eps > 0):
		return fmt.Errorf("vq: GroupNorm eps %v must be positive", p.Eps)
	case p.ImageSize <= 0:
		return fmt.Errorf("vq: image_size %d must be positive", p.ImageSize)
	case p.ImageSize%p.Downsample() != 0:
		return fmt.Errorf("vq: image_size %d is not a multiple of the downsample factor %d (%d levels)",
			p.ImageSize, p.Downsample(), len(p.ChMult))
	}
	for i, m := range p.ChMult {
		if m <= 0 {
			return fmt.Errorf("vq: ch_mult[%d] = %d must be positive", i, m)
		}
		if c := p.Ch * m; c%p.Groups != 0 {
			return fmt.Errorf("vq: level %d has %d channels (ch %d × ch_mult %d), not a multiple of the %d GroupNorm groups",
				i, c, p.Ch, m, p.Groups)
		}
	}
	return nil
}

// blockPlan is one level of the decoder as LlamaGen builds it: conv_blocks.<index> runs at
// resolution side, its res blocks map channels in→out (first block) then out→out, it has
// attention blocks when it is the lowest-resolution level, and an upsample unless it is the
// full-resolution level.
type blockPlan struct {
	index    int
	in, out  int
	side     int
	attn     bool
	upsample bool
}

// plan lists the decoder levels in execution order (conv_blocks.0 first = lowest resolution).
// It mirrors `for i_level in reversed(range(num_resolutions))` of the original constructor.
func (p Params) plan() []blockPlan {
	n := len(p.ChMult)
	blockIn := p.Ch * p.ChMult[n-1]
	side := p.Grid()
	out := make([]blockPlan, 0, n)
	for iLevel := n - 1; iLevel >= 0; iLevel-- {
		bp := blockPlan{
			index:    n - 1 - iLevel,
			in:       blockIn,
			out:      p.Ch * p.ChMult[iLevel],
			side:     side,
			attn:     iLevel == n-1,
			upsample: iLevel != 0,
		}
		out = append(out, bp)
		blockIn = bp.out
		if bp.upsample {
			side *= 2
		}
	}
	return out
}

// midChannels is the width of conv_in's output and of the mid blocks.
func (p Params) midChannels() int { return p.Ch * p.ChMult[len(p.ChMult)-1] }
