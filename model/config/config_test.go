package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
)

var releasedVQ = VQ{
	Ch: 128, EncoderChMult: []int{1, 1, 2, 2, 4}, DecoderChMult: []int{1, 1, 2, 2, 4},
	NumResBlocks: 2, ZChannels: 256, CodebookSize: 16384, CodebookEmbedDim: 8, CodebookL2Norm: true,
	ImageSize: 384, Downsample: 16, Grid: 24, ImageTokens: 576, GroupNormGroups: 32, GroupNormEps: 1e-6,
}

var releasedVision = Vision{
	ModelName: "siglip_large_patch16_384", ImageSize: 384, PatchSize: 16, Grid: 24, Tokens: 576,
	Width: 1024, Heads: 16, HeadDim: 64, MLPRatio: 4, MLPHidden: 4096, PresetLayers: 24,
	SelectLayer: -1, Layers: 24, GlobalPool: "map", LayerNormEps: 1e-6,
}

var releasedPreprocessor = Preprocessor{
	ImageSize: 384, MinSize: 14, ImageMean: [3]float64{0.5, 0.5, 0.5}, ImageStd: [3]float64{0.5, 0.5, 0.5},
	RescaleFactor: 0.00392156862745098, DoNormalize: true, FromFile: true,
}

func releasedProcessor(tokens int) Processor {
	return Processor{
		ImageTag: "<image_placeholder>", ImageStartTag: "<begin_of_image>", ImageEndTag: "<end_of_image>",
		PadTag: "<｜▁pad▁｜>", NumImageTokens: tokens, SFTFormat: "deepseek", MaskPrompt: true, IgnoreID: -100,
		FromFile: true,
	}
}

func llm(hidden, inter, layers, heads int) LLM {
	return LLM{
		Hidden: hidden, Intermediate: inter, Layers: layers, Heads: heads, KVHeads: heads, HeadDim: hidden / heads,
		Vocab: 102400, MaxPositions: 16384, HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000,
	}
}

func mlp(in, out int) Projector {
	return Projector{Type: "mlp_gelu", Depth: 2, InputDim: in, NEmbed: out}
}

func TestLoadReleasedAndTiny(t *testing.T) {
	tiny := Config{
		TorchDType: "bfloat16",
		Vision: Vision{
			ModelName: "siglip_large_patch16_384", ImageSize: 64, PatchSize: 16, Grid: 4, Tokens: 16,
			Width: 64, Heads: 4, HeadDim: 16, MLPRatio: 4, MLPHidden: 256, PresetLayers: 2,
			SelectLayer: -1, Layers: 2, GlobalPool: "map", LayerNormEps: 1e-6,
		},
		Aligner: mlp(64, 64),
		VQ: VQ{
			Ch: 32, EncoderChMult: []int{1, 1, 2, 2, 4}, DecoderChMult: []int{1, 1, 2, 2, 4},
			NumResBlocks: 2, ZChannels: 32, CodebookSize: 256, CodebookEmbedDim: 8, CodebookL2Norm: true,
			ImageSize: 96, Downsample: 16, Grid: 6, ImageTokens: 36, GroupNormGroups: 32, GroupNormEps: 1e-6,
		},
		GenEmbed:   GenEmbed{Size: 256, Dim: 8},
		GenAligner: mlp(8, 64),
		GenHead:    GenHead{NEmbed: 64, ImageTokenEmbed: 64, ImageTokenSize: 256},
		LLM: LLM{
			Hidden: 64, Intermediate: 172, Layers: 2, Heads: 4, KVHeads: 4, HeadDim: 16, Vocab: 384,
			MaxPositions: 16384, HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000,
		},
		Preprocessor: releasedPreprocessor,
		Processor:    releasedProcessor(16),
	}
	tiny.Preprocessor.ImageSize = 64

	oneB := Config{
		TorchDType: "bfloat16", Vision: releasedVision, Aligner: mlp(1024, 2048), VQ: releasedVQ,
		GenEmbed: GenEmbed{Size: 16384, Dim: 8}, GenAligner: mlp(8, 2048),
		GenHead: GenHead{NEmbed: 2048, ImageTokenEmbed: 2048, ImageTokenSize: 16384},
		LLM:     llm(2048, 5632, 24, 16), Preprocessor: releasedPreprocessor, Processor: releasedProcessor(576),
	}
	sevenB := oneB
	sevenB.Aligner = mlp(1024, 4096)
	sevenB.GenAligner = mlp(8, 4096)
	sevenB.GenHead = GenHead{NEmbed: 4096, ImageTokenEmbed: 4096, ImageTokenSize: 16384}
	// Pro-7B's language_config names only the layer count, vocabulary and positions; the
	// rest are LlamaConfig defaults.
	sevenB.LLM = llm(4096, 11008, 30, 32)

	tests := []struct {
		name string
		dir  []string
		want Config
	}{
		{"janus-1.3b", []string{"real-configs", "janus-1.3b"}, oneB},
		{"janus-pro-1b", []string{"real-configs", "janus-pro-1b"}, oneB},
		{"janus-pro-7b", []string{"real-configs", "janus-pro-7b"}, sevenB},
		{"tiny-a", []string{"models", "tiny-a"}, tiny},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := fixtures.Path(t, tc.dir...)
			got, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Dir = dir
			compareConfig(t, got, &tc.want)
		})
	}
}

func compareConfig(t *testing.T, got, want *Config) {
	t.Helper()
	gv, wv := reflect.ValueOf(*got), reflect.ValueOf(*want)
	for i := range gv.NumField() {
		if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
			t.Errorf("%s:\n got %+v\nwant %+v", gv.Type().Field(i).Name, gv.Field(i).Interface(), wv.Field(i).Interface())
		}
	}
}

// modelDir copies the Janus-Pro-1B config files into a temporary folder after applying edit
// to each decoded file (keyed by file name; a nil result deletes the file).
func modelDir(t *testing.T, edit func(file string, doc map[string]any) map[string]any) string {
	t.Helper()
	src := fixtures.Path(t, "real-configs", "janus-pro-1b")
	dir := t.TempDir()
	for _, name := range []string{ConfigFile, PreprocessorFile, ProcessorFile} {
		raw, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			doc = edit(name, doc)
		}
		if doc == nil {
			continue
		}
		out, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// at walks a dotted path of nested objects, creating none.
func at(doc map[string]any, path string) map[string]any {
	cur := doc
	for _, k := range strings.Split(path, ".") {
		cur = cur[k].(map[string]any)
	}
	return cur
}

// set returns an edit that sets key (the last element of a dotted path) in file.
func set(file, path string, v any) func(string, map[string]any) map[string]any {
	return func(name string, doc map[string]any) map[string]any {
		if name != file {
			return doc
		}
		parent, key := doc, path
		if i := strings.LastIndex(path, "."); i >= 0 {
			parent, key = at(doc, path[:i]), path[i+1:]
		}
		if v == deleteKey {
			delete(parent, key)
		} else {
			parent[key] = v
		}
		return doc
	}
}

type deleteMarker struct{}

var deleteKey = deleteMarker{}

func TestLoadRejectsBrokenConfigs(t *testing.T) {
	type want struct{ file, field, msg string }
	tests := []struct {
		name  string
		edits []func(string, map[string]any) map[string]any
		want  []want
	}{
		{"unknown architecture", edits(set(ConfigFile, "architectures", []string{"LlamaForCausalLM"})),
			[]want{{ConfigFile, "architectures", "not a Janus model"}}},
		{"unknown model_type", edits(set(ConfigFile, "model_type", "llava")),
			[]want{{ConfigFile, "model_type", "not a Janus model"}}},
		{"unknown vision class", edits(set(ConfigFile, "vision_config.cls", "SamViT")),
			[]want{{ConfigFile, "vision_config.cls", "unknown class"}}},
		{"missing aligner class", edits(set(ConfigFile, "aligner_config.cls", deleteKey)),
			[]want{{ConfigFile, "aligner_config.cls", "missing"}}},
		{"unknown VQ class", edits(set(ConfigFile, "gen_vision_config.cls", "VQ-8")),
			[]want{{ConfigFile, "gen_vision_config.cls", "unknown class"}}},
		{"unknown gen head class", edits(set(ConfigFile, "gen_head_config.cls", "head")),
			[]want{{ConfigFile, "gen_head_config.cls", "unknown class"}}},
		{"unknown SigLIP preset", edits(set(ConfigFile, "vision_config.params.model_name", "siglip_huge_patch8")),
			[]want{{ConfigFile, "vision_config.params.model_name", "unknown SigLIP preset"}}},
		{"non-SigLIP tower", edits(set(ConfigFile, "vision_config.params.model_name", "openai/clip-vit-large-patch14")),
			[]want{{ConfigFile, "vision_config.params.model_name", "not a SigLIP ViT"}}},
		{"ViT heads do not divide width", edits(set(ConfigFile, "vision_config.params.heads", 7)),
			[]want{{ConfigFile, "vision_config.params.heads", "do not divide"}}},
		{"select_layer leaves nothing", edits(set(ConfigFile, "vision_config.params.select_layer", -25)),
			[]want{{ConfigFile, "vision_config.params.select_layer", "leaves no ViT block"}}},
		{"image smaller than a patch", edits(
			set(ConfigFile, "vision_config.params.image_size", 15),
			set(PreprocessorFile, "image_size", 15)),
			[]want{{ConfigFile, "vision_config.params.image_size", "smaller than the patch size 16"}}},
		{"image tokens differ from the floored grid", edits(
			set(ConfigFile, "vision_config.params.image_size", 380),
			set(PreprocessorFile, "image_size", 380)),
			[]want{{ProcessorFile, "num_image_tokens", "576 differs from the ViT's token count 529 (floor(380/16)²)"}}},
		{"pixel_mean without pixel_std", edits(set(ConfigFile, "vision_config.params.pixel_mean", []float64{0.5, 0.5, 0.5})),
			[]want{{ConfigFile, "vision_config.params.pixel_mean", "without pixel_std"}}},
		{"pixel_std without pixel_mean", edits(set(ConfigFile, "vision_config.params.pixel_std", []float64{0.5, 0.5, 0.5})),
			[]want{{ConfigFile, "vision_config.params.pixel_std", "without pixel_mean"}}},
		{"short pixel_std", edits(set(ConfigFile, "vision_config.params.pixel_mean", []float64{0.5, 0.5, 0.5}),
			set(ConfigFile, "vision_config.params.pixel_std", []float64{0.5, 0.5})),
			[]want{{ConfigFile, "vision_config.params.pixel_std", "must hold 3 numbers, got 2"}}},
		{"unknown sft_format", edits(set(ProcessorFile, "sft_format", "plain")),
			[]want{{ProcessorFile, "sft_format", `"plain" is not supported`}}},
		{"empty pad tag", edits(set(ProcessorFile, "pad_tag", "")),
			[]want{{ProcessorFile, "pad_tag", "must not be empty"}}},
		{"preprocessor size differs from the ViT", edits(set(PreprocessorFile, "image_size", 336)),
			[]want{{PreprocessorFile, "image_size", "differs from the ViT input size 384"}}},
		{"zero LLM layers", edits(set(ConfigFile, "language_config.num_hidden_layers", 0)),
			[]want{{ConfigFile, "language_config.num_hidden_layers", "must be positive"}}},
		{"negative intermediate size", edits(set(ConfigFile, "language_config.intermediate_size", -5632)),
			[]want{{ConfigFile, "language_config.intermediate_size", "must be positive, got -5632"}}},
		{"LLM heads do not divide hidden", edits(set(ConfigFile, "language_config.num_attention_heads", 15)),
			[]want{{ConfigFile, "language_config.num_attention_heads", "do not divide hidden_size 2048"}}},
		{"KV heads do not divide heads", edits(set(ConfigFile, "language_config.num_key_value_heads", 5)),
			[]want{{ConfigFile, "language_config.num_key_value_heads", "do not divide the 16"}}},
		{"string where a number belongs", edits(set(ConfigFile, "language_config.hidden_size", "2048")),
			[]want{{ConfigFile, "language_config.hidden_size", "must be a number"}}},
		{"fractional layer count", edits(set(ConfigFile, "language_config.num_hidden_layers", 2.5)),
			[]want{{ConfigFile, "language_config.num_hidden_layers", "must be an integer"}}},
		{"unsupported activation", edits(set(ConfigFile, "language_config.hidden_act", "gelu")),
			[]want{{ConfigFile, "language_config.hidden_act", "not supported"}}},
		{"rope scaling", edits(set(ConfigFile, "language_config.rope_scaling", map[string]any{"type": "linear", "factor": 2})),
			[]want{{ConfigFile, "language_config.rope_scaling", "not supported"}}},
		{"attention bias", edits(set(ConfigFile, "language_config.attention_bias", true)),
			[]want{{ConfigFile, "language_config.attention_bias", "not supported"}}},
		{"missing language_config", edits(set(ConfigFile, "language_config", deleteKey)),
			[]want{{ConfigFile, "language_config", "missing"}}},
		{"missing aligner_config", edits(set(ConfigFile, "aligner_config", deleteKey)),
			[]want{{ConfigFile, "aligner_config", "missing"}}},
		{"missing gen head width", edits(set(ConfigFile, "gen_head_config.params.n_embed", deleteKey)),
			[]want{{ConfigFile, "gen_head_config.params.n_embed", "missing"}}},
		{"missing gen_embed size", edits(set(ConfigFile, "gen_vision_config.params.image_token_size", deleteKey)),
			[]want{{ConfigFile, "gen_vision_config.params.image_token_size", "missing"}}},
		{"hybrid projector", edits(set(ConfigFile, "aligner_config.params.projector_type", "low_high_hybrid_split_mlp_gelu")),
			[]want{{ConfigFile, "aligner_config.params.projector_type", "hybrid"}}},
		{"unknown projector", edits(set(ConfigFile, "gen_aligner_config.params.projector_type", "mlp_relu")),
			[]want{{ConfigFile, "gen_aligner_config.params.projector_type", "unknown projector type"}}},
		{"negative depth", edits(set(ConfigFile, "aligner_config.params.depth", -1)),
			[]want{{ConfigFile, "aligner_config.params.depth", "must be positive"}}},
		{"aligner width differs from the LLM", edits(set(ConfigFile, "aligner_config.params.n_embed", 1000)),
			[]want{{ConfigFile, "aligner_config.params.n_embed", "differs from the LLM hidden_size 2048"}}},
		{"aligner input differs from the ViT", edits(set(ConfigFile, "aligner_config.params.input_dim", 768)),
			[]want{{ConfigFile, "aligner_config.params.input_dim", "differs from the ViT width 1024"}}},
		{"gen head output differs from the codebook", edits(set(ConfigFile, "gen_head_config.params.image_token_size", 8192)),
			[]want{{ConfigFile, "gen_head_config.params.image_token_size", "differs"}}},
		{"codebook size differs from gen_embed", edits(set(ConfigFile, "gen_vision_config.params.codebook_size", 8192)),
			[]want{{ConfigFile, "gen_vision_config.params.codebook_size", "gen_embed has 16384"}}},
		{"codebook dim differs from gen_embed", edits(set(ConfigFile, "gen_vision_config.params.codebook_embed_dim", 16)),
			[]want{{ConfigFile, "gen_vision_config.params.codebook_embed_dim", "gen_embed has 8"}}},
		{"VQ channels not multiples of 32", edits(set(ConfigFile, "gen_vision_config.params.ch", 48)),
			[]want{{ConfigFile, "gen_vision_config.params.encoder_ch_mult", "not a multiple of the 32 GroupNorm groups"},
				{ConfigFile, "gen_vision_config.params.decoder_ch_mult", "not a multiple of the 32 GroupNorm groups"}}},
		{"VQ image size not a multiple of the downsampling", edits(set(ConfigFile, "gen_vision_config.params.image_size", 100)),
			[]want{{ConfigFile, "gen_vision_config.params.image_size", "not a multiple of the VQ downsampling factor 16"}}},
		{"VQ token count differs from the grid", edits(set(ConfigFile, "gen_vision_config.params.image_token_num_per_image", 500)),
			[]want{{ConfigFile, "gen_vision_config.params.image_token_num_per_image", "differs from the VQ grid"}}},
		{"empty ch_mult", edits(set(ConfigFile, "gen_vision_config.params.ch_mult", []int{})),
			[]want{{ConfigFile, "gen_vision_config.params.decoder_ch_mult", "at least one level"}}},
		{"image tokens differ from the ViT", edits(set(ProcessorFile, "num_image_tokens", 577)),
			[]want{{ProcessorFile, "num_image_tokens", "differs from the ViT's token count 576"}}},
		{"zero std", edits(set(PreprocessorFile, "image_std", []float64{0.5, 0, 0.5})),
			[]want{{PreprocessorFile, "image_std", "entry 1 is 0, must be positive"}}},
		{"short mean", edits(set(PreprocessorFile, "image_mean", []float64{0.5, 0.5})),
			[]want{{PreprocessorFile, "image_mean", "must hold 3 numbers"}}},
		{"preprocessor without image_size", edits(set(PreprocessorFile, "image_size", deleteKey)),
			[]want{{PreprocessorFile, "image_size", "missing"}}},
		// Counts that would exhaust memory in the weight plan or the prompt before a
		// checkpoint could contradict them.
		{"two billion LLM layers", edits(set(ConfigFile, "language_config.num_hidden_layers", 2000000000)),
			[]want{{ConfigFile, "language_config.num_hidden_layers", "2000000000 is more than the 1024 supported"}}},
		{"a million ViT layers", edits(set(ConfigFile, "vision_config.params.layers", 1000000)),
			[]want{{ConfigFile, "vision_config.params.layers", "more than the 1024 supported"}}},
		{"a million res blocks", edits(set(ConfigFile, "gen_vision_config.params.num_res_blocks", 1000000)),
			[]want{{ConfigFile, "gen_vision_config.params.num_res_blocks", "more than the 64 supported"}}},
		{"a deep aligner", edits(set(ConfigFile, "gen_aligner_config.params.depth", 100000)),
			[]want{{ConfigFile, "gen_aligner_config.params.depth", "more than the 64 supported"}}},
		{"forty VQ levels", edits(set(ConfigFile, "gen_vision_config.params.ch_mult", make([]int, 40))),
			[]want{{ConfigFile, "gen_vision_config.params.decoder_ch_mult", "40 levels, more than the 16 supported"}}},
		{"an image side of a million", edits(set(PreprocessorFile, "image_size", 1048576)),
			[]want{{PreprocessorFile, "image_size", "more than the 8192 supported"}}},
		{"a context of four billion", edits(set(ConfigFile, "language_config.max_position_embeddings", 4000000000)),
			[]want{{ConfigFile, "language_config.max_position_embeddings", "out of range"}}},
		{"a context of two billion", edits(set(ConfigFile, "language_config.max_position_embeddings", 2000000000)),
			[]want{{ConfigFile, "language_config.max_position_embeddings", "more than the 1048576 supported"}}},
		{"more image tokens than positions", edits(
			set(ConfigFile, "vision_config.params.image_size", 8192),
			set(ConfigFile, "vision_config.params.patch_size", 1),
			set(PreprocessorFile, "image_size", 8192),
			set(ProcessorFile, "num_image_tokens", deleteKey)),
			[]want{{ConfigFile, "vision_config.params.image_size", "an understood image's tokens, 67108864, are more than the language model's 16384 positions"}}},
		{"more generated image tokens than positions", edits(
			set(ConfigFile, "language_config.max_position_embeddings", 500)),
			[]want{{ConfigFile, "gen_vision_config.params.image_token_num_per_image", "a generated image's tokens, 576, are more than the language model's 500 positions"}}},
		{"several problems at once", edits(
			set(ConfigFile, "language_config.num_hidden_layers", -1),
			set(ConfigFile, "vision_config.params.heads", 5),
			set(ProcessorFile, "num_image_tokens", 100)),
			[]want{{ConfigFile, "language_config.num_hidden_layers", "must be positive"},
				{ConfigFile, "vision_config.params.heads", "do not divide"},
				{ProcessorFile, "num_image_tokens", "differs"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := modelDir(t, func(file string, doc map[string]any) map[string]any {
				for _, e := range tc.edits {
					doc = e(file, doc)
				}
				return doc
			})
			cfg, err := Load(dir)
			if err == nil {
				t.Fatalf("Load accepted the broken config: %+v", cfg)
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("error is %T (%v), want *config.Error", err, err)
			}
			for _, w := range tc.want {
				found := false
				for _, p := range cerr.Problems {
					if p.File == w.file && p.Field == w.field && strings.Contains(p.Msg, w.msg) {
						found = true
					}
				}
				if !found {
					t.Errorf("no problem %s: %s: ...%s...; got:\n%v", w.file, w.field, w.msg, err)
				}
			}
			if !strings.Contains(err.Error(), tc.want[0].field) {
				t.Errorf("message %q does not name the field %s", err, tc.want[0].field)
			}
		})
	}
}

func edits(e ...func(string, map[string]any) map[string]any) []func(string, map[string]any) map[string]any {
	return e
}

func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		name    string
		content map[string]string // file -> content; absent config.json when not listed
		want    string
	}{
		{"no config.json", map[string]string{PreprocessorFile: "{}"}, "has no config.json: give the folder of a model"},
		{"malformed config.json", map[string]string{ConfigFile: `{"vision_config": `}, "decode"},
		{"config.json not an object", map[string]string{ConfigFile: `[1, 2]`}, "decode"},
		{"config.json null", map[string]string{ConfigFile: `null`}, "want a JSON object"},
		{"malformed processor_config.json", map[string]string{ConfigFile: `{}`, ProcessorFile: `{"num_image_tokens": }`}, ProcessorFile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, c := range tc.content {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestLoadDefaults checks the defaults of the official classes where the files omit keys.
func TestLoadDefaults(t *testing.T) {
	t.Run("optional files absent", func(t *testing.T) {
		dir := modelDir(t, func(file string, doc map[string]any) map[string]any {
			if file == PreprocessorFile || file == ProcessorFile {
				return nil
			}
			return doc
		})
		cfg, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		wantPre := releasedPreprocessor
		wantPre.FromFile = false
		if cfg.Preprocessor != wantPre {
			t.Errorf("preprocessor = %+v, want %+v", cfg.Preprocessor, wantPre)
		}
		wantProc := releasedProcessor(576)
		wantProc.FromFile = false
		if cfg.Processor != wantProc {
			t.Errorf("processor = %+v, want %+v", cfg.Processor, wantProc)
		}
	})
	t.Run("class defaults", func(t *testing.T) {
		dir := modelDir(t, func(file string, doc map[string]any) map[string]any {
			switch file {
			case ConfigFile:
				doc["language_config"] = map[string]any{"vocab_size": 102400, "num_key_value_heads": nil, "hidden_size": 4096}
				doc["vision_config"] = map[string]any{"cls": "CLIPVisionTower", "params": map[string]any{}}
				doc["aligner_config"] = map[string]any{"cls": "MlpProjector", "params": map[string]any{"input_dim": 1024, "n_embed": 4096, "projector_type": "mlp_gelu"}}
				doc["gen_aligner_config"] = map[string]any{"cls": "MlpProjector", "params": map[string]any{"input_dim": 8, "n_embed": 4096, "projector_type": "linear"}}
				doc["gen_head_config"].(map[string]any)["params"] = map[string]any{"image_token_embed": 4096, "image_token_size": 16384, "n_embed": 4096}
				return doc
			case PreprocessorFile:
				return map[string]any{"image_size": 336}
			case ProcessorFile:
				return map[string]any{}
			}
			return doc
		})
		cfg, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		wantVision := releasedVision
		wantVision.ImageSize, wantVision.Grid, wantVision.Tokens = 336, 21, 441
		wantVision.SelectLayer, wantVision.Layers = -2, 23
		if !reflect.DeepEqual(cfg.Vision, wantVision) {
			t.Errorf("vision = %+v, want %+v", cfg.Vision, wantVision)
		}
		wantLLM := LLM{Hidden: 4096, Intermediate: 11008, Layers: 32, Heads: 32, KVHeads: 32, HeadDim: 128,
			Vocab: 102400, MaxPositions: 2048, HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000}
		if cfg.LLM != wantLLM {
			t.Errorf("LLM = %+v, want %+v", cfg.LLM, wantLLM)
		}
		if want := (Projector{Type: "mlp_gelu", Depth: 1, InputDim: 1024, NEmbed: 4096}); cfg.Aligner != want {
			t.Errorf("aligner = %+v, want %+v", cfg.Aligner, want)
		}
		if want := (Projector{Type: "linear", Depth: 1, InputDim: 8, NEmbed: 4096}); cfg.GenAligner != want {
			t.Errorf("gen aligner = %+v, want %+v", cfg.GenAligner, want)
		}
		wantPre := Preprocessor{ImageSize: 336, MinSize: 14,
			ImageMean: [3]float64{0.48145466, 0.4578275, 0.40821073}, ImageStd: [3]float64{0.26862954, 0.26130258, 0.27577711},
			RescaleFactor: 1.0 / 255, DoNormalize: true, FromFile: true}
		if cfg.Preprocessor != wantPre {
			t.Errorf("preprocessor = %+v, want %+v", cfg.Preprocessor, wantPre)
		}
		if cfg.Processor.NumImageTokens != 441 || cfg.Processor.ImageStartTag != "<begin_of_image>" || cfg.Processor.PadTag != "<｜▁pad▁｜>" {
			t.Errorf("processor = %+v, want the class defaults with 441 image tokens", cfg.Processor)
		}
	})
}

// TestLoadFloorsTheGrid: an image size that is not a multiple of the patch size is accepted
// with the grid timm uses, floor(image/patch), and the tower's pixel_mean/pixel_std pair is
// read when both are given.
func TestLoadFloorsTheGrid(t *testing.T) {
	dir := modelDir(t, func(file string, doc map[string]any) map[string]any {
		for _, e := range edits(
			set(ConfigFile, "vision_config.params.image_size", 390),
			set(ConfigFile, "vision_config.params.pixel_mean", []float64{0.1, 0.2, 0.3}),
			set(ConfigFile, "vision_config.params.pixel_std", []float64{0.4, 0.5, 0.6}),
			set(PreprocessorFile, "image_size", 390)) {
			doc = e(file, doc)
		}
		return doc
	})
	cfg, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := releasedVision
	want.ImageSize = 390 // 24 whole patches of 16; the last 6 pixels are never read
	want.PixelMean, want.PixelStd = []float64{0.1, 0.2, 0.3}, []float64{0.4, 0.5, 0.6}
	if !reflect.DeepEqual(cfg.Vision, want) {
		t.Errorf("vision = %+v, want %+v", cfg.Vision, want)
	}
	if cfg.Processor.NumImageTokens != 576 || cfg.Preprocessor.ImageSize != 390 {
		t.Errorf("processor tokens %d, preprocessor size %d; want 576 and 390", cfg.Processor.NumImageTokens, cfg.Preprocessor.ImageSize)
	}
}

// TestDefaultProcessor: the defaults an absent processor_config.json gets are
// VLChatProcessor's class defaults with the ViT's token count.
func TestDefaultProcessor(t *testing.T) {
	want := releasedProcessor(441)
	want.FromFile = false
	if got := DefaultProcessor(441); got != want {
		t.Errorf("DefaultProcessor(441) = %+v, want %+v", got, want)
	}
}
