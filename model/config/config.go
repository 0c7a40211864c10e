// Package config reads the configuration files of a Janus / Janus-Pro model folder
// (config.json, preprocessor_config.json, processor_config.json) and resolves them into the
// numbers the networks are built from, applying the defaults the official Python code applies
// (LlamaConfig defaults, the SigLIP presets, the VQ-16 defaults, the image- and chat-processor
// class defaults) and rejecting values no model could run with.
//
// The files are decoded field by field from raw JSON instead of into tagged structs, because
// the resolution rules depend on whether a key is present (a missing LlamaConfig key takes
// the LlamaConfig default, a null num_key_value_heads means "same as heads"), and because
// every error must name the file and the field it comes from.
//
// Files and what happens when they are missing:
//   - config.json is required.
//   - preprocessor_config.json is optional: when absent, the released values are used
//     (image_size = the ViT's image size, min_size 14, mean = std = 0.5, rescale 1/255,
//     normalisation on), since every Janus release ships these. When present, keys it omits
//     take the VLMImageProcessor class defaults (CLIP mean/std), as the Python code does, and
//     image_size is required.
//   - processor_config.json is optional: absent keys (or the whole file) take the
//     VLChatProcessor class defaults, except num_image_tokens, which then defaults to the
//     ViT's token count (the class default 576 is only right for the 384-pixel releases).
//
// This package is the only reader of these three files: model/imageproc and model/prompt
// take their settings from Config.Preprocessor and Config.Processor. Tokenizer files are
// model/tokenizer's.
//
// The tiny test models use the extension keys of spec §13 (vision width/layers/heads/mlp_ratio/
// patch_size, VQ ch/ch_mult/... ); released configs never contain them and the presets apply.
package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// File names inside a model folder.
const (
	ConfigFile       = "config.json"
	PreprocessorFile = "preprocessor_config.json"
	ProcessorFile    = "processor_config.json"
)

// Config is the resolved configuration of a model folder.
type Config struct {
	// Dir is the folder the files were read from.
	Dir string
	// TorchDType is config.json's top-level torch_dtype ("bfloat16" in the releases). It is
	// informational: the stored dtype of each tensor is what the checkpoint says.
	TorchDType string

	// Vision is the understanding ViT (config.json vision_config).
	Vision Vision
	// Aligner maps ViT features to LLM embeddings (aligner_config).
	Aligner Projector
	// VQ is the image decoder of generation (gen_vision_config, VQ-16 defaults).
	VQ VQ
	// GenEmbed is the image-token embedding table (gen_vision_config.params).
	GenEmbed GenEmbed
	// GenAligner maps GenEmbed rows to LLM embeddings (gen_aligner_config).
	GenAligner Projector
	// GenHead turns LLM hidden states into image-token logits (gen_head_config).
	GenHead GenHead
	// LLM is the language model (language_config, LlamaConfig defaults).
	LLM LLM

	// Preprocessor comes from preprocessor_config.json, or the released values when absent.
	Preprocessor Preprocessor
	// Processor comes from processor_config.json, or VLChatProcessor's defaults when absent.
	Processor Processor
}

// Vision is the understanding encoder: CLIPVisionTower wrapping a SigLIP ViT
// (vision_config, cls "CLIPVisionTower").
type Vision struct {
	// ModelName is the SigLIP preset (vision_config.params.model_name).
	ModelName string
	// ImageSize is the ViT input side in pixels (params.image_size, class default 336).
	ImageSize int
	// PatchSize is the side of one square patch in pixels (params.patch_size; preset value,
	// 16 in the released large preset).
	PatchSize int
	// Grid is floor(ImageSize/PatchSize), as in timm (pixels past the last whole patch are
	// never read).
	Grid int
	// Tokens = Grid² is the number of ViT output tokens, hence of image tokens per image
	// in a prompt.
	Tokens int
	// Width is the embedding width of every ViT block (params.width; preset value, 1024 in
	// the released large preset).
	Width int
	// Heads is the attention head count (params.heads; preset value, 16).
	Heads int
	// HeadDim is Width/Heads.
	HeadDim int
	// MLPRatio sizes the MLP (params.mlp_ratio; preset value: 4, or 3.7362 for so400m).
	MLPRatio float64
	// MLPHidden is int(Width*MLPRatio), the fc1 width (timm truncates).
	MLPHidden int
	// PresetLayers is the preset's depth; Layers is what select_layer leaves of it (spec §3.1):
	// only that many blocks are built and run.
	PresetLayers int
	// SelectLayer is params.select_layer (CLIPVisionTower default -2): negative counts from
	// the end of the preset's blocks, as Python indexing does.
	SelectLayer int
	// Layers is the number of blocks actually built and run.
	Layers int
	// GlobalPool is the preset's pooling head ("map": attn_pool tensors exist in the
	// checkpoint but are never run, since ignore_head is true).
	GlobalPool string
	// LayerNormEps is the eps of every ViT LayerNorm.
	LayerNormEps float64
	// PixelMean and PixelStd are the tower's own input normalisation; nil in every release
	// (normalisation happens in the image processor only). They are set together or not at
	// all.
	PixelMean, PixelStd []float64
}

// Projector is an MlpProjector (aligner_config, gen_aligner_config; cls "MlpProjector").
type Projector struct {
	// Type is "mlp_gelu" (Linear, then Depth-1 × [GELU, Linear]), "linear" or "identity".
	Type string
	// Depth is params.depth (default 1): the number of Linear layers of an mlp_gelu.
	Depth int
	// InputDim is params.input_dim, the width of the features fed in (ViT width or
	// gen_embed width); required.
	InputDim int
	// NEmbed is params.n_embed, the output width, which must be the LLM hidden size;
	// required except for identity, where it defaults to InputDim.
	NEmbed int
}

// Projector types the official MlpProjector builds and this port runs.
const (
	ProjectorMLPGELU  = "mlp_gelu"
	ProjectorLinear   = "linear"
	ProjectorIdentity = "identity"
)

// OutputDim is the width of the projector's output.
func (p Projector) OutputDim() int {
	if p.Type == ProjectorIdentity {
		return p.InputDim
	}
	return p.NEmbed
}

// VQ is the generation image tokenizer, LlamaGen's VQ-16 (gen_vision_config, cls "VQ-16").
// Only its decoder runs. The official code builds it from fixed defaults; the fields can be
// changed only through the tiny-model extension keys.
type VQ struct {
	// Ch is the base channel count; level i has Ch*ChMult[i] channels.
	Ch int
	// EncoderChMult is encoder_ch_mult, else ch_mult, else [1 1 2 2 4]; parsed only to be
	// validated, since the encoder never runs.
	EncoderChMult []int
	// DecoderChMult is decoder_ch_mult, else ch_mult, else [1 1 2 2 4]; its length sets
	// the number of upsampling levels.
	DecoderChMult []int
	// NumResBlocks is the encoder's res blocks per level; the decoder has one more.
	NumResBlocks int
	// ZChannels is the latent width between quant_conv/post_quant_conv and the decoder
	// (z_channels, default 256).
	ZChannels int
	// CodebookSize is the number of codebook entries, i.e. of image token ids
	// (codebook_size, default 16384); it must equal GenEmbed.Size.
	CodebookSize int
	// CodebookEmbedDim is the width of one codebook entry (codebook_embed_dim, default 8);
	// it must equal GenEmbed.Dim.
	CodebookEmbedDim int
	// CodebookL2Norm: codebook rows are l2-normalised at lookup.
	CodebookL2Norm bool
	// ImageSize is the generated image side in pixels.
	ImageSize int
	// Downsample is 2^(len(DecoderChMult)-1); Grid = ImageSize/Downsample.
	Downsample int
	// Grid is the side of the token grid of one generated image (24 for 384 pixels).
	Grid int
	// ImageTokens is the number of tokens per generated image (Grid²).
	ImageTokens int
	// GroupNormGroups and GroupNormEps are fixed by the VQ code.
	GroupNormGroups int
	// GroupNormEps is the eps of every decoder GroupNorm (1e-6; not configurable).
	GroupNormEps float64
}

// GenEmbed is the embedding table of image tokens fed back to the LLM during generation
// (gen_vision_config.params image_token_size × n_embed). It is not the VQ codebook.
type GenEmbed struct {
	// Size is the number of rows, one per image token id (params.image_token_size; required).
	Size int
	// Dim is the row width (params.n_embed; required), the gen_aligner's input width.
	Dim int
}

// GenHead is the image-token head (gen_head_config, cls "vision_head"):
// Linear NEmbed→ImageTokenEmbed, GELU, Linear ImageTokenEmbed→ImageTokenSize.
type GenHead struct {
	// NEmbed is the input width (params.n_embed; required), the LLM hidden size.
	NEmbed int
	// ImageTokenEmbed is the hidden width between the two Linears
	// (params.image_token_embed; required).
	ImageTokenEmbed int
	// ImageTokenSize is the number of logits, one per image token id
	// (params.image_token_size; required), the VQ codebook size.
	ImageTokenSize int
}

// LLM is the LLaMA decoder: transformers' LlamaConfig(**language_config) with every missing
// key at its LlamaConfig default.
type LLM struct {
	// Hidden is the residual-stream width (hidden_size; LlamaConfig default 4096).
	Hidden int
	// Intermediate is the SwiGLU MLP width (intermediate_size; default 11008).
	Intermediate int
	// Layers is the decoder depth (num_hidden_layers; default 32).
	Layers int
	// Heads is the query head count (num_attention_heads; default 32).
	Heads int
	// KVHeads is the key/value head count for grouped-query attention
	// (num_key_value_heads; absent or null means Heads); it must divide Heads.
	KVHeads int
	// HeadDim is head_dim when given, else Hidden/Heads.
	HeadDim int
	// Vocab is the embedding and lm_head row count (vocab_size; default 32000). It can
	// exceed the tokenizer's vocabulary.
	Vocab int
	// MaxPositions is max_position_embeddings (default 2048), the context length the
	// model was trained for; prompts plus generated tokens must fit in it.
	MaxPositions int
	// HiddenAct is hidden_act (default "silu"); only silu is accepted.
	HiddenAct string
	// RMSNormEps is rms_norm_eps (default 1e-6).
	RMSNormEps float64
	// RopeTheta is the rotary base (rope_theta; default 10000).
	RopeTheta float64
	// TieWordEmbeddings: lm_head shares embed_tokens (false in every release).
	TieWordEmbeddings bool
}

// Preprocessor is the VLMImageProcessor setup (preprocessor_config.json).
type Preprocessor struct {
	// ImageSize is the square side images are padded to (image_size; required when the
	// file exists, else the ViT's ImageSize); it must equal Vision.ImageSize.
	ImageSize int
	// MinSize is the smallest side after the aspect-preserving resize (min_size; default 14).
	MinSize int
	// ImageMean is the per-channel mean (image_mean; class default the CLIP statistics,
	// 0.5 in the releases).
	ImageMean [3]float64
	// ImageStd is the per-channel std (image_std; class default the CLIP statistics,
	// 0.5 in the releases).
	ImageStd [3]float64
	// RescaleFactor maps uint8 pixels to [0, 1] (rescale_factor; default 1/255).
	RescaleFactor float64
	// DoNormalize applies ImageMean and ImageStd after rescaling (do_normalize; default true).
	DoNormalize bool
	// FromFile is false when preprocessor_config.json was absent and the released values
	// were used.
	FromFile bool
}

// Processor is the VLChatProcessor setup (processor_config.json); model/prompt builds
// prompts from it.
type Processor struct {
	// ImageTag marks where an image goes in a prompt (image_tag; default
	// "<image_placeholder>").
	ImageTag string
	// ImageStartTag opens each expanded image (image_start_tag; default "<begin_of_image>").
	ImageStartTag string
	// ImageEndTag closes each expanded image (image_end_tag; default "<end_of_image>").
	ImageEndTag string
	// PadTag is the token batches are left-padded with (pad_tag; default "<｜▁pad▁｜>").
	PadTag string
	// NumImageTokens is how many ImageTag tokens one image expands to (num_image_tokens;
	// default Vision.Tokens); it must equal Vision.Tokens.
	NumImageTokens int
	// AddSpecialToken is add_special_token (default false, as in every release); parsed
	// only so a malformed value is reported.
	AddSpecialToken bool
	// SFTFormat is the conversation template; only SFTDeepSeek is accepted.
	SFTFormat string
	// MaskPrompt and IgnoreID only matter for training (label masking); they are parsed for
	// completeness, so that a malformed value is still reported.
	MaskPrompt bool
	// IgnoreID is the label of masked positions (ignore_id; default -100).
	IgnoreID int
	// FromFile is false when processor_config.json was absent.
	FromFile bool
}

// Problem is one invalid or missing value.
type Problem struct {
	// File is the base name of the file at fault, e.g. "config.json".
	File string
	// Field is the dotted JSON key path (e.g. "language_config.rope_theta"); empty when
	// the problem concerns the whole file.
	Field string
	// Msg says what is wrong with the value.
	Msg string
}

// String is "file: field: message".
func (p Problem) String() string {
	if p.Field == "" {
		return p.File + ": " + p.Msg
	}
	return p.File + ": " + p.Field + ": " + p.Msg
}

// Error lists every problem found in a model folder's configuration files.
type Error struct {
	// Dir is the model folder that was loaded.
	Dir string
	// Problems are all the problems found, in the order they were found.
	Problems []Problem
}

// Error lists the problems one per line.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid model configuration in %s", e.Dir)
	if len(e.Problems) == 1 {
		b.WriteString(": " + e.Problems[0].String())
		return b.String()
	}
	fmt.Fprintf(&b, " (%d problems):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// Load reads and resolves the configuration files of the model folder dir. A file that
// cannot be read or decoded is reported as such; invalid values come back together as one
// *Error.
func Load(dir string) (*Config, error) {
	cfg := &Config{Dir: dir}
	probs := &problems{}

	root, err := readObject(filepath.Join(dir, ConfigFile), true, probs)
	if err != nil {
		return nil, err
	}
	cfg.parseModel(root)

	pre, err := readObject(filepath.Join(dir, PreprocessorFile), false, probs)
	if err != nil {
		return nil, err
	}
	cfg.parsePreprocessor(pre)

	proc, err := readObject(filepath.Join(dir, ProcessorFile), false, probs)
	if err != nil {
		return nil, err
	}
	cfg.parseProcessor(proc)

	if len(probs.list) > 0 {
		return nil, &Error{Dir: dir, Problems: probs.list}
	}
	return cfg, nil
}

// readObject reads a JSON object file. A missing optional file gives a nil object; a missing
// required file, an unreadable file or one that is not a JSON object is an error.
func readObject(path string, required bool, probs *problems) (*object, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		switch {
		case os.IsNotExist(err) && !required:
			return nil, nil
		case os.IsNotExist(err):
			// The folder given is not a model's (its parent, a download's cache folder).
			return nil, fmt.Errorf("%s has no %s: give the folder of a model, which holds it and the weights: %w",
				filepath.Dir(path), filepath.Base(path), err)
		}
		return nil, fmt.Errorf("read model config: %w", err)
	}
	o, err := parseObject(filepath.Base(path), raw, probs)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return o, nil
}
