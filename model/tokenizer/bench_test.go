package tokenizer

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/janus-desktop/janus/internal/fixtures"
)

func BenchmarkLoadDeepSeekLLM(b *testing.B) {
	dir := fixtures.Path(b, "tokenizers", "deepseek-llm")
	data, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	cpu := processCPU()
	for b.Loop() {
		if _, err := Load(dir); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu, 0)
}

// reportCPU adds the process CPU time per operation and, when bytes > 0, the throughput per
// CPU-second (wall-clock numbers on a busy machine overstate the cost).
func reportCPU(b *testing.B, start time.Duration, bytes int) {
	used := processCPU() - start
	if used <= 0 || b.N == 0 {
		return
	}
	b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
	if bytes > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/used.Seconds()/1e6, "MB/cpu-s")
	}
}

// benchmarkEncode encodes the whole golden corpus of one vocabulary per iteration, with a
// fresh word cache each time (cold) or the cache kept (warm).
func benchmarkEncode(b *testing.B, name string, warm bool) {
	tok, golden := loadFixtureTokenizer(b, name)
	total := 0
	for _, g := range golden {
		total += len(g.Text)
	}
	b.SetBytes(int64(total))
	cpu := processCPU()
	for b.Loop() {
		if !warm {
			b.StopTimer()
			tok.model.cache = make(map[string][]int32)
			b.StartTimer()
		}
		for _, g := range golden {
			tok.Encode(g.Text, false)
		}
	}
	reportCPU(b, cpu, total)
}

func BenchmarkEncodeCold(b *testing.B) {
	for _, name := range vocabularies {
		b.Run(name, func(b *testing.B) { benchmarkEncode(b, name, false) })
	}
}

func BenchmarkEncodeWarm(b *testing.B) {
	for _, name := range vocabularies {
		b.Run(name, func(b *testing.B) { benchmarkEncode(b, name, true) })
	}
}
