package main

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/cpu"
)

// benchOps times the ops of the token steps for --op-times: a step is a few hundred ops, and
// the bandwidth floor alone does not say which of them take its time (the products, the
// attention over the KV cache, the rest). It embeds the CPU backend's own type, so every
// optional interface the engine asks for (compute.MultiLinear, compute.Viewer, …) stays as
// it is; only the backend's synchronous ops can be timed this way, so the CPU's.
type benchOps struct {
	*cpu.Backend
	on    bool
	times map[string]time.Duration
}

func newBenchOps(be *cpu.Backend) *benchOps {
	return &benchOps{Backend: be, times: map[string]time.Duration{}}
}

// reset forgets what was counted, before a stage.
func (o *benchOps) reset() {
	if o != nil {
		clear(o.times)
	}
}

// timing starts (on) or stops counting: only the timed runs' steps count.
func (o *benchOps) timing(on bool) {
	if o != nil {
		o.on = on
	}
}

// count adds the time since t0 to op, while timing.
func (o *benchOps) count(op string, t0 time.Time) {
	if o.on {
		o.times[op] += time.Since(t0)
	}
}

// perStep returns the milliseconds each op took per step over the timed runs ts (seconds
// each) of steps steps, and those of a step that no timed op took ("other": the host's
// sampling and guidance, the untimed ops, the calls between them), from the runs' mean step.
func (o *benchOps) perStep(ts []float64, steps int) map[string]float64 {
	if o == nil || steps <= 0 || len(ts) == 0 {
		return nil
	}
	steps *= len(ts)
	stepMs := 0.0
	for _, s := range ts {
		stepMs += 1000 * s / float64(steps)
	}
	out := map[string]float64{}
	sum := 0.0
	for op, d := range o.times {
		ms := float64(d) / 1e6 / float64(steps)
		out[op] = benchRound(ms, 3)
		sum += ms
	}
	out["other"] = benchRound(max(0, stepMs-sum), 3)
	return out
}

// benchOpsText is perStep's line under a stage of the table, largest first.
func benchOpsText(ops map[string]float64) string {
	names := slices.Collect(maps.Keys(ops))
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(ops[b], ops[a]), strings.Compare(a, b)) })
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %.2f", n, ops[n])
	}
	return "ms per step: " + strings.Join(parts, ", ")
}

func (o *benchOps) Linear(dst, x, w, bias *compute.Tensor) {
	defer o.count("Linear", time.Now())
	o.Backend.Linear(dst, x, w, bias)
}

func (o *benchOps) Linears(x *compute.Tensor, ps []compute.Product) {
	defer o.count("Linears", time.Now())
	o.Backend.Linears(x, ps)
}

func (o *benchOps) Attention(dst, q, k, v *compute.Tensor, p compute.AttentionParams) {
	defer o.count("Attention", time.Now())
	o.Backend.Attention(dst, q, k, v, p)
}

func (o *benchOps) CopyRows(dst *compute.Tensor, dstAt int, src *compute.Tensor, srcAt, n int) {
	defer o.count("CopyRows", time.Now())
	o.Backend.CopyRows(dst, dstAt, src, srcAt, n)
}

func (o *benchOps) RMSNorm(dst, x, w *compute.Tensor, eps float32) {
	defer o.count("RMSNorm", time.Now())
	o.Backend.RMSNorm(dst, x, w, eps)
}

func (o *benchOps) RoPE(x *compute.Tensor, heads, headDim, pos0 int, theta float32) {
	defer o.count("RoPE", time.Now())
	o.Backend.RoPE(x, heads, headDim, pos0, theta)
}

func (o *benchOps) Add(dst, a, b *compute.Tensor) {
	defer o.count("Add", time.Now())
	o.Backend.Add(dst, a, b)
}

func (o *benchOps) SwiGLU(dst, gate, up *compute.Tensor) {
	defer o.count("SwiGLU", time.Now())
	o.Backend.SwiGLU(dst, gate, up)
}

func (o *benchOps) GELU(dst, x *compute.Tensor) {
	defer o.count("GELU", time.Now())
	o.Backend.GELU(dst, x)
}

func (o *benchOps) Embedding(dst, table *compute.Tensor, ids []int32) {
	defer o.count("Embedding", time.Now())
	o.Backend.Embedding(dst, table, ids)
}

func (o *benchOps) Read(t *compute.Tensor, dst []float32) error {
	defer o.count("Read", time.Now())
	return o.Backend.Read(t, dst)
}
