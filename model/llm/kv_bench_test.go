package llm

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/config"
)

// BenchmarkDecodeKVCache times decoding steps at 630 positions of context (janus bench's
// decode stage) through 16 Janus-Pro-1B decoder layers with Q4 weights (the released
// shapes, a small vocabulary; 0.56 GB of weights and 0.17 GB of float32 cache, more than
// this machine's share of its large L3 cache) on two threads, with a float32 and an F16 cache: one model,
// each iteration one step on each cache (in alternating order), so both see the same
// machine from one moment to the next, which compares them far better than separate janus
// bench runs on a shared machine. It reports the median step of each and their ratio;
// MB/step is what a step reads, the layers' weights plus the filled cache.
func BenchmarkDecodeKVCache(b *testing.B) {
	all, err := config.Load(fixtures.Path(b, "real-configs", "janus-pro-1b"))
	if err != nil {
		b.Fatal(err)
	}
	cfg := all.LLM
	cfg.Layers, cfg.Vocab = 16, 1000
	const prompt = 630
	be, err := compute.Open("cpu", compute.Options{Threads: 2, Precision: compute.PrecisionBF16})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	m, err := Load(be, &memWeights{be: be, tensors: randomWeights(cfg, 3), matrixDT: compute.Q4}, cfg, true)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Free()
	weightBytes := be.MemoryUsed()
	ids := randomIDs(prompt, cfg.Vocab, 1)
	dts := []compute.DType{compute.F32, compute.F16}
	caches := make([]*Cache, len(dts))
	for i, dt := range dts {
		m.KVDType = dt
		if caches[i], err = m.NewCache(1, prompt+1); err != nil {
			b.Fatal(err)
		}
		defer caches[i].Free()
		x, err := m.Embed(ids, 1)
		if err != nil {
			b.Fatal(err)
		}
		h, err := m.Forward(x, caches[i])
		if err != nil {
			b.Fatal(err)
		}
		be.Free(x)
		be.Free(h)
	}
	x, err := m.Embed(ids[:1], 1)
	if err != nil {
		b.Fatal(err)
	}
	defer be.Free(x)
	h := be.New(compute.F32, x.Shape...)
	defer be.Free(h)
	steps := make([][]float64, len(dts))
	step := func(i int) {
		t0 := time.Now()
		if err := m.ForwardInto(context.Background(), h, x, caches[i]); err != nil {
			b.Fatal(err)
		}
		steps[i] = append(steps[i], time.Since(t0).Seconds())
		if err := caches[i].Truncate(prompt); err != nil {
			b.Fatal(err)
		}
	}
	n := 0
	for b.Loop() {
		step(n % 2)
		step(1 - n%2)
		n++
	}
	med := func(s []float64) float64 { s = slices.Clone(s); slices.Sort(s); return s[len(s)/2] }
	for i, dt := range dts {
		m.KVDType = dt
		b.ReportMetric(1000*med(steps[i]), "ms/step-"+dt.String())
		b.ReportMetric(float64(weightBytes+m.CacheBytes(1, prompt+1))/1e6, "MB/step-"+dt.String())
	}
	b.ReportMetric(med(steps[1])/med(steps[0]), "F16/F32")
}
