package llm

import (
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/config"
)

// BenchmarkPrefillPrecision times a 512-token prefill through two Janus-Pro-1B decoder
// layers (the released shapes, random BF16 weights, a small vocabulary) in each
// compute.Options.Precision, on every core: the two modes back to back in one process,
// which on a shared machine compares them far better than separate janus bench runs do.
func BenchmarkPrefillPrecision(b *testing.B) {
	all, err := config.Load(fixtures.Path(b, "real-configs", "janus-pro-1b"))
	if err != nil {
		b.Fatal(err)
	}
	cfg := all.LLM
	cfg.Layers, cfg.Vocab = 2, 1000
	const prompt = 512
	for _, p := range compute.Precisions() {
		b.Run(p, func(b *testing.B) {
			be, err := compute.Open("auto", compute.Options{Precision: p})
			if err != nil {
				b.Fatal(err)
			}
			defer be.Close()
			if got, ok := be.(interface{ Precision() string }); ok && got.Precision() != p {
				b.Skipf("backend %s runs precision %s here", be.Name(), got.Precision())
			}
			m, err := Load(be, &memWeights{be: be, tensors: randomWeights(cfg, 3), matrixDT: compute.BF16}, cfg, true)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Free()
			ids := randomIDs(prompt, cfg.Vocab, 1)
			for b.Loop() {
				c, err := m.NewCache(1, prompt)
				if err != nil {
					b.Fatal(err)
				}
				x, err := m.Embed(ids, 1)
				if err != nil {
					b.Fatal(err)
				}
				h, err := m.Forward(x, c)
				if err != nil {
					b.Fatal(err)
				}
				be.Free(x)
				be.Free(h)
				c.Free()
			}
			b.ReportMetric(float64(prompt*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
