package model

import (
	"fmt"
	"slices"
	"strings"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/internal/bytesize"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/weights"
)

// Weight formats Options.Weights takes. Q8, Q4 and Q4M apply to the matrices
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
	// WeightsQ8, WeightsQ4 and WeightsQ4M quantize the token-step matrices while loading
	// (compute.Q8, compute.Q4, compute.Q4M: Q4 with an offset a block, closer to the
	// released weights for 11 % more bytes a matrix than Q4).
	WeightsQ8  = "q8"
	WeightsQ4  = "q4"
	WeightsQ4M = "q4m"
)

// WeightFormats lists the values of Options.Weights (besides "", which is WeightsStored).
func WeightFormats() []string {
	return []string{WeightsAuto, WeightsStored, WeightsF32, WeightsBF16, WeightsQ8, WeightsQ4, WeightsQ4M}
}

// quantFormats are the quantized formats' dtypes and weights precisions.
var quantFormats = map[string]struct {
	dt   compute.DType
	prec weights.Precision
}{
	WeightsQ8:  {compute.Q8, weights.Q8_0},
	WeightsQ4:  {compute.Q4, weights.Q4_0},
	WeightsQ4M: {compute.Q4M, weights.Q4M},
}

// FormatPrecision is the precision the matrices take in weight format f (a WeightFormats
// value other than WeightsAuto): WeightsStored counts as BF16, every release's stored dtype.
func FormatPrecision(f string) weights.Precision {
	f = strings.ToLower(f)
	if q, ok := quantFormats[f]; ok {
		return q.prec
	}
	if f == WeightsF32 {
		return weights.F32
	}
	return weights.BF16
}

// QuantizedDType is the dtype the quantized weight format f stores its matrices in; ok is
// false for a format that does not quantize.
func QuantizedDType(f string) (dt compute.DType, ok bool) {
	q, ok := quantFormats[strings.ToLower(f)]
	return q.dt, ok
}

// QuantizedPrecision is the weights precision of the quantized dtype dt (weights.BF16, as
// FormatPrecision gives for other formats, for a dtype no format quantizes to).
func QuantizedPrecision(dt compute.DType) weights.Precision {
	return FormatPrecision(QuantizedFormat(dt))
}

// QuantizedFormat is the weight format of the quantized dtype dt ("" for another dtype).
func QuantizedFormat(dt compute.DType) string {
	for f, q := range quantFormats {
		if q.dt == dt {
			return f
		}
	}
	return ""
}

// WeightsBytes is the memory the weights of cfg take in format f (WeightsStored and
// WeightsAuto count as BF16, every release's stored dtype), without the parts in skip (as
// Options.SkipGeneration leaves out weights.GenerationParts). EstimateLoad sizes a folder's
// checkpoint as it is stored.
func WeightsBytes(cfg *config.Config, f string, skip ...weights.Part) int64 {
	return planBytes(cfg, FormatPrecision(f), false, skip)
}

// planBytes sums the memory the tensors of cfg's plan not in skip take at precision p, the
// matrices p does not quantize held in F32 where f32 says so (F32-stored, or MatrixDType F32).
func planBytes(cfg *config.Config, p weights.Precision, f32 bool, skip []weights.Part) int64 {
	var n int64
	for _, s := range Plan(cfg) {
		if slices.Contains(skip, s.Part) {
			continue
		}
		b := s.Bytes(p)
		if f32 && b == s.Bytes(weights.BF16) {
			b = s.Bytes(weights.F32)
		}
		n += b
	}
	return n
}

// ChooseWeights is what WeightsAuto means on a machine with ram bytes of memory (0:
// unknown) for a model whose weights take bytes(f) in format f: the first of the stored
// format (exact results, and still the peers' format), Q8 and Q4M that takes at most 60% of
// the memory, else Q4. Q4M comes before Q4 because it is nearer the released weights for 11%
// more bytes in the quantized matrices. The reason says why, for `janus info` and the app's settings.
func ChooseWeights(ram int64, bytes func(format string) int64) (format, reason string) {
	if ram <= 0 {
		return WeightsStored, "memory size unknown: weights as stored"
	}
	name := map[string]string{WeightsStored: "weights as stored", WeightsQ8: "Q8 weights", WeightsQ4M: "Q4M weights"}
	var over []string // the formats that do not fit, with their sizes
	for _, f := range []string{WeightsStored, WeightsQ8, WeightsQ4M} {
		n := bytes(f)
		if n*10 <= ram*6 {
			if len(over) == 0 {
				return f, fmt.Sprintf("%s (%s) fit in 60%% of %s of memory", name[f], bytesize.Format(n), bytesize.Format(ram))
			}
			return f, fmt.Sprintf("%s exceed 60%% of %s of memory; %s take %s", strings.Join(over, " and "), bytesize.Format(ram), name[f], bytesize.Format(n))
		}
		over = append(over, fmt.Sprintf("%s (%s)", name[f], bytesize.Format(n)))
	}
	return WeightsQ4, fmt.Sprintf("%s exceed 60%% of %s of memory", strings.Join(over, ", "), bytesize.Format(ram))
}

// MachineMemory is the memory of this machine (or of its container's limit) in bytes, 0 when
// unknown: what ChooseWeights is given for WeightsAuto.
func MachineMemory() int64 { return physicalMemory() }

// LoadEstimate is what Load would hold of a model folder's weights with some Options, known
// from its configuration and its checkpoint's headers before a weight is read.
type LoadEstimate struct {
	// Format is Options.Weights resolved: WeightsAuto is replaced by Auto.
	Format string
	// Bytes is the memory the weights Load binds take in Format.
	Bytes int64
	// Matrices is the precision Format holds the token steps' matrices in: a quantized one,
	// else F32 or BF16 (16-bit) as the matrices are stored or MatrixDType says.
	Matrices weights.Precision
	// Auto is the format WeightsAuto picks for this model (without the parts the Options
	// skip) on this machine (ChooseWeights), and AutoReason says why.
	Auto, AutoReason string
}

// EstimateLoad sizes the weights Load(dir, opts) would hold, without a backend and without
// reading them, so that a caller can refuse a model that does not fit before loading it. A
// bad opts.Weights or MatrixDType is reported before the folder is read, a bad configuration
// or checkpoint with Load's errors.
func EstimateLoad(dir string, opts Options) (LoadEstimate, error) {
	if err := checkWeightsOptions(opts); err != nil {
		return LoadEstimate{}, err
	}
	cfg, err := config.Load(dir)
	if err != nil {
		return LoadEstimate{}, err
	}
	ck, err := checkpoint.Open(dir)
	if err != nil {
		return LoadEstimate{}, err
	}
	defer ck.Close()
	rep, err := checkBinding(ck, cfg, opts.skipped())
	if err != nil {
		return LoadEstimate{}, fmt.Errorf("model %s: %w", dir, err)
	}
	return EstimateWeights(cfg, rep.StoredDTypes, opts), nil
}

// EstimateWeights is EstimateLoad's sizing of the model cfg describes, its running tensors
// stored in the dtypes stored (weights.Report.StoredDTypes; nil: as the releases, BF16).
// Load sizes its weights so too.
func EstimateWeights(cfg *config.Config, stored map[checkpoint.DType]int64, opts Options) LoadEstimate {
	s := newSizer(cfg, stored, opts)
	e := LoadEstimate{Format: strings.ToLower(strings.TrimSpace(opts.Weights))}
	e.Auto, e.AutoReason = ChooseWeights(MachineMemory(), s.bytes)
	if e.Format == WeightsAuto {
		e.Format = e.Auto
	}
	e.Bytes, e.Matrices = s.bytes(e.Format), s.matrices(e.Format)
	return e
}

// StoredWeightsBytes is the memory the weights of cfg take in format f (not WeightsAuto),
// every part loaded, its running tensors stored in the dtypes stored: EstimateWeights' bytes
// without its choice of a format, for sizing every format at once.
func StoredWeightsBytes(cfg *config.Config, stored map[checkpoint.DType]int64, f string) int64 {
	return newSizer(cfg, stored, Options{}).bytes(f)
}

// sizer sizes the weights of a model in each format as Load holds them.
type sizer struct {
	cfg  *config.Config
	skip []weights.Part
	// f32 says whether the matrices no format quantizes or rounds keep F32: where
	// Options.MatrixDType says so, or, without one, where the checkpoint stores every running
	// tensor in F32 (any other keeps 16 bits).
	f32 bool
}

func newSizer(cfg *config.Config, stored map[checkpoint.DType]int64, opts Options) sizer {
	md := strings.ToUpper(opts.MatrixDType)
	return sizer{cfg: cfg, skip: opts.skipped(),
		f32: md == "F32" || md == "" && len(stored) == 1 && stored[checkpoint.F32] > 0}
}

// matrices is the precision of the token steps' matrices in format f.
func (s sizer) matrices(f string) weights.Precision {
	switch p := FormatPrecision(f); {
	case f == WeightsBF16, p != weights.BF16:
		return p
	case s.f32:
		return weights.F32
	default:
		return weights.BF16
	}
}

// bytes is the memory of the weights in format f.
func (s sizer) bytes(f string) int64 {
	return planBytes(s.cfg, s.matrices(f), s.f32 && f != WeightsBF16, s.skip)
}

// checkWeightsOptions reports an Options.Weights value that is not a WeightFormats one ("" is
// WeightsStored), a MatrixDType that is not a dtype, and the two disagreeing, as the loader's
// policy (weightsPolicy) will; WeightsAuto's choice is checked once it is made.
func checkWeightsOptions(opts Options) error {
	f := strings.ToLower(strings.TrimSpace(opts.Weights))
	if f == WeightsAuto {
		f = WeightsStored
	}
	_, _, err := weightsPolicy(f, opts)
	return err
}

// weightsPolicy turns Options.Weights and Options.MatrixDType into the loader's dtype policy.
// f is opts.Weights resolved (LoadEstimate.Format).
func weightsPolicy(f string, opts Options) (matrix func(compute.DType) compute.DType, quant compute.DType, err error) {
	md := opts.MatrixDType
	switch f {
	case "", WeightsStored:
	case WeightsF32, WeightsBF16:
		if md != "" && !strings.EqualFold(md, f) {
			return nil, 0, fmt.Errorf("weights %q and matrix dtype %q disagree", opts.Weights, md)
		}
		md = f
	case WeightsQ8, WeightsQ4, WeightsQ4M:
		quant = quantFormats[f].dt
	default:
		return nil, 0, fmt.Errorf("weights %q: want one of %s", opts.Weights, strings.Join(WeightFormats(), ", "))
	}
	matrix, err = parseMatrixDType(md)
	return matrix, quant, err
}
