package model

import (
	"strings"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/config"
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
			ta := loadTinyA(t, Options{Backend: defaultBackend(t, 1, c.precision), Precision: c.precision, KVCache: c.kvCache, SkipGeneration: true})
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

// TestKVCacheAuto: auto takes a Q8 cache with 4-bit weights where the backend and the model's
// shape allow it, else the precision's; q8 asked for where they do not fails, saying why.
func TestKVCacheAuto(t *testing.T) {
	be, err := compute.Open("cpu", compute.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	noQ8 := struct{ compute.Backend }{be}
	whole := config.LLM{KVHeads: 4, HeadDim: 16}   // 64 values a position: two blocks
	partial := config.LLM{KVHeads: 2, HeadDim: 12} // 24: not a block
	for _, c := range []struct {
		name, format, precision string
		weights                 compute.DType
		be                      compute.Backend
		cfg                     config.LLM
		want                    compute.DType
		err                     string
	}{
		{"Q4 weights", KVCacheAuto, "", compute.Q4, be, whole, compute.Q8, ""},
		{"Q4M weights, BF16", "", compute.PrecisionBF16, compute.Q4M, be, whole, compute.Q8, ""},
		{"Q8 weights keep the precision's", KVCacheAuto, compute.PrecisionBF16, compute.Q8, be, whole, compute.F16, ""},
		{"stored weights", KVCacheAuto, "", compute.BF16, be, whole, compute.F32, ""},
		{"Q4 on a backend without Q8 caches", KVCacheAuto, "", compute.Q4, noQ8, whole, compute.F32, ""},
		{"Q4, rows not whole blocks", KVCacheAuto, compute.PrecisionBF16, compute.Q4, be, partial, compute.F16, ""},
		{"q8, rows not whole blocks", KVCacheQ8, "", compute.Q4, be, partial, 0, "keys of 24 values a position are not whole blocks of 32"},
		{"q8 on a backend without Q8 caches", KVCacheQ8, "", compute.F32, noQ8, whole, 0, "keeps F32 and F16 caches only"},
		{"f16 asked for", KVCacheF16, "", compute.Q4, be, whole, compute.F16, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := KVCacheDType(c.format, c.precision, c.weights, c.be, c.cfg)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("KVCacheDType = %v, %v; want an error containing %q", got, err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("KVCacheDType = %v, %v; want %v", got, err, c.want)
			}
		})
	}
}
