package model

import (
	"strings"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/internal/fixtures"
)

// TestKVCacheDType: Options.KVCache picks the language model's KV cache dtype; left to auto,
// Options.Precision does, F16 in the BF16 precision and float32 otherwise, whatever products
// the backend runs.
func TestKVCacheDType(t *testing.T) {
	for _, c := range []struct {
		precision, kvCache string
		want               compute.DType
	}{
		{"", "", compute.F32},
		{compute.PrecisionExact, KVCacheAuto, compute.F32},
		{compute.PrecisionBF16, "", compute.F16},
		{compute.PrecisionExact, KVCacheF16, compute.F16},
		{compute.PrecisionBF16, KVCacheF32, compute.F32},
		{compute.PrecisionExact, "Q8", compute.Q8},
		{compute.PrecisionBF16, KVCacheQ8, compute.Q8},
	} {
		t.Run(c.precision+"/"+c.kvCache, func(t *testing.T) {
			ta := loadTinyA(t, Options{Threads: 1, Precision: c.precision, KVCache: c.kvCache, SkipGeneration: true})
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

// TestKVCacheRefused: an unknown cache format, and a Q8 cache on a backend without Q8 caches,
// fail the load with an error that names them.
func TestKVCacheRefused(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	for _, c := range []struct {
		name string
		opts Options
		want string
	}{
		{"unknown format", Options{KVCache: "q4"}, `kv cache "q4": want one of auto, f32, f16, q8`},
		{"backend without Q8 caches", Options{KVCache: KVCacheQ8}, "kv cache Q8: the cpu backend keeps F32 and F16 caches only"},
	} {
		t.Run(c.name, func(t *testing.T) {
			be, err := compute.Open("cpu", compute.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer be.Close()
			// Embedding the interface hides the CPU backend's Q8Cache method.
			c.opts.Backend = struct{ compute.Backend }{be}
			m, err := Load(dir, c.opts)
			if err == nil {
				m.Close()
				t.Fatalf("Load with %+v succeeded", c.opts)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load: %v, want an error containing %q", err, c.want)
			}
		})
	}
}
