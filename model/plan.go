package model

import (
	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/llm"
	"github.com/janus-desktop/janus/model/projector"
	"github.com/janus-desktop/janus/model/vision"
	"github.com/janus-desktop/janus/model/vq"
	"github.com/janus-desktop/janus/model/weights"
)

// Plan lists every tensor the networks of cfg run, with its shape, in state-dict order
// (spec §4.2 and Appendix A). It runs the walks the networks bind their weights with, on a
// weights.Recorder, so it names exactly what Load reads.
func Plan(cfg *config.Config) []weights.Spec {
	var r weights.Recorder
	vision.Tensors(&r, cfg.Vision)
	projector.ProjectorTensors(&r, weights.AlignerPrefix, cfg.Aligner)
	vq.Tensors(&r, vq.ParamsFromConfig(cfg.VQ))
	projector.ProjectorTensors(&r, weights.GenAlignerPrefix, cfg.GenAligner)
	projector.HeadTensors(&r, weights.GenHeadPrefix, cfg.GenHead)
	GenEmbed(&r, cfg.GenEmbed)
	llm.Tensors(&r, cfg.LLM)
	return r.Specs()
}

// GenEmbed binds gen_embed, the image-token embedding table [image_token_size, n_embed].
func GenEmbed(l weights.Layout, cfg config.GenEmbed) *compute.Tensor {
	return l.Matrix(weights.GenEmbedName, cfg.Size, cfg.Dim)
}
