package model

import (
	"fmt"
	"slices"
	"strings"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/weights"
)

// Weight formats Options.Weights takes. Q8 and Q4 apply to the matrices
// weights.Quantizable names whose rows are whole blocks of compute.QBlock weights (the
// language model and gen_head; the released gen_embed's rows of 8 are not); the other
// matrices keep their stored dtype (or MatrixDType).
const (
	// WeightsAuto picks a format for this machine (ChooseWeights).
	WeightsAuto = "auto"
	// WeightsStored keeps every matrix in its checkpoint dtype (BF16 for every release).
	WeightsStored = "stored"
	// WeightsF32 and WeightsBF16 store every matrix in that dtype.
	WeightsF32  = "f32"
	WeightsBF16 = "bf16"
	// WeightsQ8 and WeightsQ4 quantize the token-step matrices while loading (compute.Q8,
	// compute.Q4).
	WeightsQ8 = "q8"
	WeightsQ4 = "q4"
)

// WeightFormats lists the values of Options.Weights (besides "", which is WeightsStored).
func WeightFormats() []string {
	return []string{WeightsAuto, WeightsStored, WeightsF32, WeightsBF16, WeightsQ8, WeightsQ4}
}

// WeightsBytes is the memory the weights of cfg take in format f (WeightsStored and
// WeightsAuto count as BF16, every release's stored dtype), without the parts in skip (as
// Options.SkipGeneration leaves out weights.GenerationParts).
func WeightsBytes(cfg *config.Config, f string, skip ...weights.Part) int64 {
	p := weights.BF16
	switch strings.ToLower(f) {
	case WeightsF32:
		p = weights.F32
	case WeightsQ8:
		p = weights.Q8_0
	case WeightsQ4:
		p = weights.Q4_0
	}
	var n int64
	for _, s := range weights.Plan(cfg) {
		if slices.Contains(skip, s.Part) {
			continue
		}
		n += s.Bytes(p)
	}
	return n
}

// ChooseWeights is what WeightsAuto means on a machine with ram bytes of memory (0:
// unknown) for a model whose weights take storedBytes as stored and q8Bytes with Q8: the
// stored format while it takes at most 60% of the memory (exact results, and still the
// peers' format), else Q8 while that does, else Q4. The reason says why, for `janus info`.
func ChooseWeights(ram, storedBytes, q8Bytes int64) (format, reason string) {
	gb := func(n int64) string { return fmt.Sprintf("%.1f GB", float64(n)/1e9) }
	switch {
	case ram <= 0:
		return WeightsStored, "memory size unknown: weights as stored"
	case storedBytes*10 <= ram*6:
		return WeightsStored, fmt.Sprintf("weights as stored (%s) fit in 60%% of %s of memory", gb(storedBytes), gb(ram))
	case q8Bytes*10 <= ram*6:
		return WeightsQ8, fmt.Sprintf("weights as stored (%s) exceed 60%% of %s of memory; Q8 takes %s", gb(storedBytes), gb(ram), gb(q8Bytes))
	}
	return WeightsQ4, fmt.Sprintf("Q8 weights (%s) exceed 60%% of %s of memory", gb(q8Bytes), gb(ram))
}

// MachineMemory is the memory of this machine (or of its container's limit) in bytes, 0 when
// unknown: what ChooseWeights is given for WeightsAuto.
func MachineMemory() int64 { return physicalMemory() }

// DefaultWeights is the format WeightsAuto picks for cfg on this machine, and why, for a
// model loaded without the parts in skip.
func DefaultWeights(cfg *config.Config, skip ...weights.Part) (format, reason string) {
	return ChooseWeights(MachineMemory(), WeightsBytes(cfg, WeightsStored, skip...), WeightsBytes(cfg, WeightsQ8, skip...))
}

// weightsPolicy turns Options.Weights and Options.MatrixDType into the loader's dtype policy.
func weightsPolicy(cfg *config.Config, opts Options) (matrix func(compute.DType) compute.DType, quant compute.DType, err error) {
	f := strings.ToLower(strings.TrimSpace(opts.Weights))
	if f == WeightsAuto {
		f, _ = DefaultWeights(cfg, opts.skipped()...)
	}
	md := opts.MatrixDType
	switch f {
	case "", WeightsStored:
	case WeightsF32, WeightsBF16:
		if md != "" && !strings.EqualFold(md, f) {
			return nil, 0, fmt.Errorf("weights %q and matrix dtype %q disagree", opts.Weights, md)
		}
		md = f
	case WeightsQ8:
		quant = compute.Q8
	case WeightsQ4:
		quant = compute.Q4
	default:
		return nil, 0, fmt.Errorf("weights %q: want one of %s", opts.Weights, strings.Join(WeightFormats(), ", "))
	}
	matrix, err = parseMatrixDType(md)
	return matrix, quant, err
}
