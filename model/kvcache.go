package model

import (
	"fmt"
	"strings"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/llm"
)

// KV cache formats Options.KVCache takes.
const (
	// KVCacheAuto is Q8 with 4-bit weights (Q4, Q4M) where the backend takes a Q8 cache,
	// whose cost is a small part of theirs (README, "Quantized weights"), else the
	// precision's (llm.CacheDType): F32 in the exact one, F16 in BF16. Q8 weights keep the
	// precision's cache: with them tiny-a's greedy tokens are the goldens', and with a Q8
	// cache too its image tokens are not.
	KVCacheAuto = "auto"
	// KVCacheF32 and KVCacheF16 keep keys and values in that dtype.
	KVCacheF32 = "f32"
	KVCacheF16 = "f16"
	// KVCacheQ8 keeps them as Q8 blocks (compute.Q8): half an F16 cache's bytes, which a
	// token step over a long context reads for every token, on backends that take it
	// (llm.CheckQ8Cache).
	KVCacheQ8 = "q8"
)

// KVCacheFormats lists the values of Options.KVCache (besides "", which is KVCacheAuto).
func KVCacheFormats() []string {
	return []string{KVCacheAuto, KVCacheF32, KVCacheF16, KVCacheQ8}
}

// CheckKVCache returns an error naming f unless it is a KVCacheFormats value (any case) or "".
func CheckKVCache(f string) error {
	switch strings.ToLower(f) {
	case "", KVCacheAuto, KVCacheF32, KVCacheF16, KVCacheQ8:
		return nil
	}
	return fmt.Errorf("kv cache %q: want one of %s", f, strings.Join(KVCacheFormats(), ", "))
}

// KVCacheDType is the cache dtype of format f (CheckKVCache) for a language model of
// configuration cfg run on be in numerics precision, its quantizable weights of dtype
// weights (Options.Weights' compute.Q8, Q4 or Q4M; any other dtype for unquantized ones).
// Asked for explicitly, a Q8 cache that be cannot keep is an error; auto then takes the
// precision's.
func KVCacheDType(f, precision string, weights compute.DType, be compute.Backend, cfg config.LLM) (compute.DType, error) {
	if err := CheckKVCache(f); err != nil {
		return 0, err
	}
	switch strings.ToLower(f) {
	case KVCacheF32:
		return compute.F32, nil
	case KVCacheF16:
		return compute.F16, nil
	case KVCacheQ8:
		if err := llm.CheckQ8Cache(be, cfg); err != nil {
			return 0, err
		}
		return compute.Q8, nil
	}
	if (weights == compute.Q4 || weights == compute.Q4M) && llm.CheckQ8Cache(be, cfg) == nil {
		return compute.Q8, nil
	}
	return llm.CacheDType(precision), nil
}
