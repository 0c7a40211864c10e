package config

import (
	"errors"
	"testing"
)

// TestOnlyTheRealError: a value of the wrong type is reported once, and the checks that
// relate it to other values (LLM width against the aligners, ViT width against the aligner,
// VQ sizes against gen_embed) do not add consequences computed from a default in its place.
func TestOnlyTheRealError(t *testing.T) {
	tests := []struct {
		name       string
		file, path string
		value      any
	}{
		{"LLM hidden_size as a string", ConfigFile, "language_config.hidden_size", "2048"},
		{"LLM hidden_size fractional", ConfigFile, "language_config.hidden_size", 2048.5},
		{"LLM heads as a string", ConfigFile, "language_config.num_attention_heads", "16"},
		{"ViT width as a string", ConfigFile, "vision_config.params.width", "1024"},
		{"ViT image size as a string", ConfigFile, "vision_config.params.image_size", "384"},
		{"VQ codebook size as a string", ConfigFile, "gen_vision_config.params.codebook_size", "16384"},
		{"VQ codebook dim as a list", ConfigFile, "gen_vision_config.params.codebook_embed_dim", []int{8}},
		{"VQ image size as a string", ConfigFile, "gen_vision_config.params.image_size", "384"},
		{"aligner depth as a string", ConfigFile, "aligner_config.params.depth", "2"},
		{"processor image tokens as a string", ProcessorFile, "num_image_tokens", "576"},
		{"preprocessor min size as a string", PreprocessorFile, "min_size", "14"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := modelDir(t, set(tc.file, tc.path, tc.value))
			_, err := Load(dir)
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Load = %v, want a *config.Error", err)
			}
			if len(cerr.Problems) != 1 || cerr.Problems[0].Field != tc.path || cerr.Problems[0].File != tc.file {
				t.Errorf("want one problem in %s: %s; got %d:\n%v", tc.file, tc.path, len(cerr.Problems), err)
			}
		})
	}
}
