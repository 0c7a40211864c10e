package weights

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/janus-desktop/janus/model/checkpoint"
)

// Precision is a storage format for the Matrix weights; Dense weights are F32 in all of them.
type Precision string

// Weight precisions. Q8_0, Q4_0 and Q4M are compute.Q8, compute.Q4 and compute.Q4M: blocks of
// 32 values along a row with one F16 scale (34 and 18 bytes per block; Q4M adds an F16
// offset, 20), used for the matrices Quantizable names; the other matrices, and a row whose
// length is not a multiple of 32, stay BF16.
const (
	F32  Precision = "F32"
	BF16 Precision = "BF16" // the same size as F16
	Q8_0 Precision = "Q8_0"
	Q4_0 Precision = "Q4_0"
	Q4M  Precision = "Q4M"
)

// Precisions lists the precisions memory is reported for.
func Precisions() []Precision { return []Precision{F32, BF16, Q8_0, Q4_0, Q4M} }

const quantBlock = 32

// Bytes is the backend memory the tensor takes when Matrix weights use precision p.
func (s Spec) Bytes(p Precision) int64 {
	n := s.Params()
	if s.Kind == Dense {
		return 4 * n
	}
	var blockBytes int64
	switch p {
	case F32:
		return 4 * n
	case BF16:
		return 2 * n
	case Q8_0:
		blockBytes = 2 + quantBlock
	case Q4_0:
		blockBytes = 2 + quantBlock/2
	case Q4M:
		blockBytes = 4 + quantBlock/2
	default:
		panic(fmt.Sprintf("weights: unknown precision %q", p))
	}
	if len(s.Shape) == 0 || s.Shape[len(s.Shape)-1]%quantBlock != 0 || !Quantizable(s.Name) {
		return 2 * n
	}
	return n / quantBlock * blockBytes
}

// PartStats sums the tensors of one part.
type PartStats struct {
	// Part names the network the tensors belong to.
	Part Part
	// Tensors is the number of tensors in the part (from the plan; for PartUnused, from the
	// checkpoint).
	Tensors int
	// Params is their element count.
	Params int64
	// Bytes is the backend memory at each precision (not for PartUnused, which is never
	// loaded).
	Bytes map[Precision]int64
}

// Summary counts the tensors and memory of a plan, per part, in Parts order.
func Summary(specs []Spec) []PartStats {
	parts, precisions := Parts(), Precisions()
	idx := map[Part]int{}
	out := make([]PartStats, len(parts))
	for i, p := range parts {
		idx[p] = i
		out[i] = PartStats{Part: p, Bytes: map[Precision]int64{}}
	}
	for _, s := range specs {
		ps := &out[idx[s.Part]]
		ps.Tensors++
		ps.Params += s.Params()
		for _, p := range precisions {
			ps.Bytes[p] += s.Bytes(p)
		}
	}
	return out
}

// Report describes a checkpoint bound to a configuration.
type Report struct {
	// Parts are the running parts (from the plan) followed by PartUnused (tensors stored but
	// never read, including any the plan does not know).
	Parts []PartStats
	// UsedParams sums the parameters of the running parts.
	UsedParams int64
	// TotalParams sums every tensor of the checkpoint, used or not.
	TotalParams int64
	// Tensors counts every tensor of the checkpoint.
	Tensors int
	// Memory is the backend memory of the weights inference loads, per precision (KV cache
	// and activations not included).
	Memory map[Precision]int64
	// StoredDTypes counts the parameters of the running tensors per stored dtype.
	StoredDTypes map[checkpoint.DType]int64
	// Unexpected lists stored tensors that are neither run nor known to be unused (for
	// example ViT blocks that select_layer cuts off). They are ignored.
	Unexpected []string
}

// Mismatch is a stored tensor that cannot be used as the plan's Spec.
type Mismatch struct {
	// Spec is what the model needs.
	Spec Spec
	// Stored is what the checkpoint holds under Spec.Name.
	Stored checkpoint.TensorInfo
	// Reason says how they differ (shape or dtype), for the error message.
	Reason string
}

// BindError lists every tensor the model needs that the checkpoint lacks or stores in an
// unusable shape or dtype.
type BindError struct {
	// Missing are the needed tensors the checkpoint does not store at all.
	Missing []Spec
	// Mismatched are the stored tensors whose shape or dtype cannot be used.
	Mismatched []Mismatch
}

// Error lists every missing and unusable tensor, one per line.
func (e *BindError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "checkpoint does not fit the model configuration: %d tensors missing, %d unusable", len(e.Missing), len(e.Mismatched))
	for _, s := range e.Missing {
		fmt.Fprintf(&b, "\n  missing %s %v", s.Name, s.Shape)
	}
	for _, m := range e.Mismatched {
		fmt.Fprintf(&b, "\n  %s: %s (in %s)", m.Spec.Name, m.Reason, m.Stored.File)
	}
	return b.String()
}

// Check binds ck to a model's plan (model.Plan): every tensor of plan must be stored with
// exactly its shape, as F32, F16 or BF16. All problems come back at once as a *BindError.
// Tensors the official model stores but never runs are ignored.
func Check(ck *checkpoint.Checkpoint, plan []Spec) (*Report, error) {
	planned := make(map[string]bool, len(plan))
	berr := &BindError{}
	rep := &Report{StoredDTypes: map[checkpoint.DType]int64{}, Memory: map[Precision]int64{}}
	for _, s := range plan {
		planned[s.Name] = true
		info, ok := ck.Info(s.Name)
		switch {
		case !ok:
			berr.Missing = append(berr.Missing, s)
		case !slices.Equal(info.Shape, s.Shape):
			berr.Mismatched = append(berr.Mismatched, Mismatch{s, info, fmt.Sprintf("stored shape %v, the model needs %v", info.Shape, s.Shape)})
		default:
			if _, ok := sourceDType(info.DType); !ok {
				berr.Mismatched = append(berr.Mismatched, Mismatch{s, info, fmt.Sprintf("stored as %s, want F32, F16, BF16 or F64", info.DType)})
			} else {
				rep.StoredDTypes[info.DType] += s.Params()
			}
		}
	}
	if len(berr.Missing) > 0 || len(berr.Mismatched) > 0 {
		return nil, berr
	}

	rep.Parts = Summary(plan)
	unused := PartStats{Part: PartUnused}
	for _, t := range ck.Tensors() {
		rep.Tensors++
		n := int64(t.NumElements())
		rep.TotalParams += n
		if planned[t.Name] {
			continue
		}
		unused.Tensors++
		unused.Params += n
		if !Unused(t.Name) {
			rep.Unexpected = append(rep.Unexpected, t.Name)
		}
	}
	sort.Strings(rep.Unexpected)
	for _, ps := range rep.Parts {
		rep.UsedParams += ps.Params
		for p, b := range ps.Bytes {
			rep.Memory[p] += b
		}
	}
	rep.Parts = append(rep.Parts, unused)
	return rep, nil
}
