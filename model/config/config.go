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

	Vision     Vision
	Aligner    Projector
	VQ         VQ
	GenEmbed   GenEmbed
	GenAligner Projector
	GenHead    GenHead
	LLM        LLM

	Preprocessor Preprocessor
	Processor    Processor
}

// Vision is the understanding encoder: CLIPVisionTower wrapping a SigLIP ViT
// (vision_config, cls "CLIPVisionTower").
type Vision struct {
	// ModelName is the SigLIP preset (vision_config.params.model_name).
	ModelName string
	// ImageSize is the ViT input side in pixels (params.image_size, class default 336).
	ImageSize int
	PatchSize int
	// Grid is floor(ImageSize/PatchSize), as in timm (pixels past the last whole patch are
	// never read); Tokens = Grid² is the number of ViT output tokens.
	Grid   int
	Tokens int
	Width  int
	Heads  int
	// HeadDim is Width/Heads.
	HeadDim  int
	MLPRatio float64
	// MLPHidden is int(Width*MLPRatio), the fc1 width (timm truncates).
	MLPHidden int
	// PresetLayers is the preset's depth; Layers is what select_layer leaves of it (spec §3.1):
	// only that many blocks are built and run.
	PresetLayers int
	SelectLayer  int
	Layers       int
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
	Type     string
	Depth    int
	InputDim int
	NEmbed   int
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
	Ch            int
	EncoderChMult []int
	DecoderChMult []int
	// NumResBlocks is the encoder's res blocks per level; the decoder has one more.
	NumResBlocks     int
	ZChannels        int
	CodebookSize     int
	CodebookEmbedDim int
	// CodebookL2Norm: codebook rows are l2-normalised at lookup.
	CodebookL2Norm bool
	// ImageSize is the generated image side in pixels.
	ImageSize int
	// Downsample is 2^(len(DecoderChMult)-1); Grid = ImageSize/Downsample.
	Downsample int
	Grid       int
	// ImageTokens is the number of tokens per generated image (Grid²).
	ImageTokens int
	// GroupNormGroups and GroupNormEps are fixed by the VQ code.
	GroupNormGroups int
	GroupNormEps    float64
}

// GenEmbed is the embedding table of image tokens fed back to the LLM during generation
// (gen_vision_config.params image_token_size × n_embed). It is not the VQ codebook.
type GenEmbed struct {
	Size int
	Dim  int
}

// GenHead is the image-token head (gen_head_config, cls "vision_head"):
// Linear NEmbed→ImageTokenEmbed, GELU, Linear ImageTokenEmbed→ImageTokenSize.
type GenHead struct {
	NEmbed          int
	ImageTokenEmbed int
	ImageTokenSize  int
}

// LLM is the LLaMA decoder: transformers' LlamaConfig(**language_config) with every missing
// key at its LlamaConfig default.
type LLM struct {
	Hidden       int
	Intermediate int
	Layers       int
	Heads        int
	KVHeads      int
	// HeadDim is head_dim when given, else Hidden/Heads.
	HeadDim      int
	Vocab        int
	MaxPositions int
	HiddenAct    string
	RMSNormEps   float64
	RopeTheta    float64
	// TieWordEmbeddings: lm_head shares embed_tokens (false in every release).
	TieWordEmbeddings bool
}

// Preprocessor is the VLMImageProcessor setup (preprocessor_config.json).
type Preprocessor struct {
	ImageSize     int
	MinSize       int
	ImageMean     [3]float64
	ImageStd      [3]float64
	RescaleFactor float64
	DoNormalize   bool
	// FromFile is false when preprocessor_config.json was absent and the released values
	// were used.
	FromFile bool
}

// Processor is the VLChatProcessor setup (processor_config.json); model/prompt builds
// prompts from it.
type Processor struct {
	ImageTag        string
	ImageStartTag   string
	ImageEndTag     string
	PadTag          string
	NumImageTokens  int
	AddSpecialToken bool
	// SFTFormat is the conversation template; only SFTDeepSeek is accepted.
	SFTFormat string
	// MaskPrompt and IgnoreID only matter for training (label masking); they are parsed for
	// completeness, so that a malformed value is still reported.
	MaskPrompt bool
	IgnoreID   int
	// FromFile is false when processor_config.json was absent.
	FromFile bool
}

// Problem is one invalid or missing value.
type Problem struct {
	File  string
	Field string
	Msg   string
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
	Dir      string
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
		if os.IsNotExist(err) && !required {
			return nil, nil
		}
		return nil, fmt.Errorf("read model config: %w", err)
	}
	o, err := parseObject(filepath.Base(path), raw, probs)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return o, nil
}
