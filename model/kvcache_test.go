package model

import (
	"testing"

	"github.com/janus-desktop/janus/compute"
)

// TestKVCacheDType: Options.Precision picks the language model's KV cache dtype, F16 in the
// BF16 precision and float32 otherwise, whatever products the backend runs.
func TestKVCacheDType(t *testing.T) {
	for _, c := range []struct {
		precision string
		want      compute.DType
	}{
		{"", compute.F32},
		{compute.PrecisionExact, compute.F32},
		{compute.PrecisionBF16, compute.F16},
	} {
		t.Run(c.precision, func(t *testing.T) {
			ta := loadTinyA(t, Options{Threads: 1, Precision: c.precision, SkipGeneration: true})
			if got := ta.m.LLM.KVDType; got != c.want {
				t.Fatalf("KVDType = %v, want %v", got, c.want)
			}
			cache, err := ta.m.LLM.NewCache(1, 4)
			if err != nil {
				t.Fatal(err)
			}
			defer cache.Free()
			if got := cache.K[0].DType; got != c.want {
				t.Errorf("cache keys are %v, want %v", got, c.want)
			}
		})
	}
}
