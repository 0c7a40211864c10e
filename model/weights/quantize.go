package weights

import "strings"

// Quantizable reports whether quantized weights (LoaderOptions.Quantize) apply to the named
// matrix: the language model's linear layers, its token embedding and lm_head, gen_head and
// gen_embed. Those are what every generated or answered token reads, so their size sets the
// speed of a token step; the ViT, the aligners and the VQ decoder run large matrix products
// once per image and stay in their stored precision.
func Quantizable(name string) bool {
	return strings.HasPrefix(name, LLMPrefix) || strings.HasPrefix(name, GenHeadPrefix) || name == GenEmbedName
}
