package llm

import (
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/internal/fixtures"
	_ "github.com/janus-desktop/janus/internal/testbackends"
	"github.com/janus-desktop/janus/model/config"
)

// BenchmarkDecodeStep times one decoding step as a chat runs it: one token's embedding
// through the decoder after a 235-position prompt (tiny-a's understanding prompt length),
// then the last row's logits read back. The weights are random in tiny-a's shape, stored as
// BF16 like the release; the cache is truncated back after each step so every step sees the
// same context.
func BenchmarkDecodeStep(b *testing.B) {
	cfg, err := config.Load(fixtures.Path(b, "models", "tiny-a"))
	if err != nil {
		b.Fatal(err)
	}
	benchmarks := []struct {
		name string
		cfg  config.LLM
		rows int
	}{
		{"tiny-a", cfg.LLM, 1},
		{"tiny-a CFG 2 rows", cfg.LLM, 2},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			be, err := compute.Open("auto", compute.Options{Threads: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer be.Close()
			m, err := Load(be, &memWeights{be: be, tensors: randomWeights(bm.cfg, 3), matrixDT: compute.BF16}, bm.cfg, true)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Free()
			const prompt = 235
			c, err := m.NewCache(bm.rows, prompt+1)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Free()
			x, err := m.Embed(randomIDs(bm.rows*prompt, bm.cfg.Vocab, 1), bm.rows)
			if err != nil {
				b.Fatal(err)
			}
			h, err := m.Forward(x, c)
			if err != nil {
				b.Fatal(err)
			}
			be.Free(x)
			be.Free(h)
			tok := randomIDs(bm.rows, bm.cfg.Vocab, 2)
			logits := make([]float32, bm.rows*bm.cfg.Vocab)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				x, err := m.Embed(tok, bm.rows)
				if err != nil {
					b.Fatal(err)
				}
				h, err := m.Forward(x, c)
				if err != nil {
					b.Fatal(err)
				}
				last := m.Last(h)
				lt := m.Logits(last)
				if err := be.Read(lt, logits); err != nil {
					b.Fatal(err)
				}
				for _, t := range []*compute.Tensor{x, h, last, lt} {
					be.Free(t)
				}
				if err := c.Truncate(prompt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
