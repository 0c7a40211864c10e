package app

import (
	"fmt"
	"strings"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/config"
)

// Footprint sizes the memory a model takes to run, before it is loaded: its weights in each
// weight format and the engine's working memory beside them. Need is the one estimate the
// window shows, in the Models picker and on the download screen alike: a model on disk
// (FolderFootprint) and the same release offered for download (KnownModel.Footprint) give
// the same figure.
type Footprint struct {
	// Weights is the memory the weights take loaded in each weight format (model.WeightFormats
	// but "auto"), every part loaded (image generation included).
	Weights map[string]int64
	// Working is the engine's working memory beside the weights (workingMemory).
	Working int64
}

// Need is the memory the model needs loaded with the weight format f (Settings.Weights):
// its weights in Format(f) and the working memory. 0 when unknown (the zero Footprint).
func (fp Footprint) Need(f string) int64 {
	if len(fp.Weights) == 0 {
		return 0
	}
	return fp.Weights[fp.Format(f)] + fp.Working
}

// Format is the weight format a load with Settings.Weights f takes: "" keeps the stored
// dtypes, "auto" is resolved for this machine as LoadEngine resolves it, and a format not
// sized counts as stored.
func (fp Footprint) Format(f string) string {
	f = strings.ToLower(strings.TrimSpace(f))
	if f == model.WeightsAuto {
		f, _ = model.ChooseWeights(model.MachineMemory(), func(f string) int64 { return fp.Weights[f] })
	}
	if _, ok := fp.Weights[f]; !ok {
		return model.WeightsStored
	}
	return f
}

// Working memory is sized as one image generation, the largest task the window runs with
// its default settings: a prompt of memoryPromptTokens tokens and the exact precision's F32
// KV cache, the largest a setting gives (BF16 arithmetic and Q4 weights keep smaller ones).
// A long chat's cache grows past it; the generation's memory check refuses what does not fit.
const memoryPromptTokens = 64

// workingMemory is what the engine holds beside the weights of the model cfg describes
// while it runs (model.EstimateGenerationMemory, the estimate GenerateImages checks its limit
// against).
func workingMemory(cfg *config.Config) (int64, error) {
	est, err := model.EstimateGenerationMemory(cfg, compute.F32, 1, memoryPromptTokens)
	if err != nil {
		return 0, err
	}
	return est.Total(), nil
}

// footprintFormats are the formats a Footprint sizes: every model.WeightFormats value but
// "auto", which Need resolves.
func footprintFormats() []string {
	var fs []string
	for _, f := range model.WeightFormats() {
		if f != model.WeightsAuto {
			fs = append(fs, f)
		}
	}
	return fs
}

// FolderFootprint sizes the model in folder dir from its config and its weights' headers
// (Describe), as LoadEngine sizes it before loading: any folder, not only the releases.
func FolderFootprint(dir string) (Footprint, error) {
	d, cfg, err := describe(dir)
	if err != nil {
		return Footprint{}, fmt.Errorf("memory of %s: %w", dir, err)
	}
	stored := map[checkpoint.DType]int64{}
	for dt, n := range d.StoredDTypes {
		stored[checkpoint.DType(dt)] = n
	}
	return footprintOf(cfg, func(f string) int64 { return model.StoredWeightsBytes(cfg, stored, f) })
}

// ConfigFootprint sizes a model from its configuration alone (model.WeightsBytes: every
// stored matrix counted as BF16, as the releases are): what the known releases' footprints
// are checked against, without their weights.
func ConfigFootprint(cfg *config.Config) (Footprint, error) {
	return footprintOf(cfg, func(f string) int64 { return model.WeightsBytes(cfg, f) })
}

// footprintOf is the Footprint of the model cfg describes whose weights take weights(f) in
// each format f.
func footprintOf(cfg *config.Config, weights func(f string) int64) (Footprint, error) {
	work, err := workingMemory(cfg)
	if err != nil {
		return Footprint{}, err
	}
	fp := Footprint{Weights: map[string]int64{}, Working: work}
	for _, f := range footprintFormats() {
		fp.Weights[f] = weights(f)
	}
	return fp, nil
}
