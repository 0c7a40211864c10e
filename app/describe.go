package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/janus-desktop/janus/model"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/prompt"
	"github.com/janus-desktop/janus/model/tokenizer"
	"github.com/janus-desktop/janus/model/weights"
)

// PartCounts sizes one part of the model: its tensors, parameters and the memory its weights need per precision.
type PartCounts struct {
	// Tensors counts the part's stored tensors.
	Tensors int `json:"tensors"`
	// Params counts their elements.
	Params int64 `json:"params"`
	// MemoryBytes is what the part's weights take loaded, per precision ("F32", "BF16",
	// "Q8_0", "Q4_0", "Q4M"); nil for the unused tensors, which are not loaded.
	MemoryBytes map[string]int64 `json:"memory_bytes,omitempty"`
}

// ProjectorInfo describes an aligner MLP.
type ProjectorInfo struct {
	// Type is "mlp_gelu", "linear" or "identity".
	Type string `json:"type"`
	// Depth counts an mlp_gelu's linear layers.
	Depth int `json:"depth"`
	// InputDim and OutputDim are the widths it maps between.
	InputDim  int `json:"input_dim"`
	OutputDim int `json:"output_dim"`
}

// VisionInfo describes the SigLIP vision tower.
type VisionInfo struct {
	PartCounts
	// ModelName is the config's name of the tower ("siglip_large_patch16_384").
	ModelName string `json:"model_name"`
	// ImageSize is the square input's side in pixels and PatchSize a patch's.
	ImageSize int `json:"image_size"`
	PatchSize int `json:"patch_size"`
	// Tokens is the number of patches, hence of image tokens per image in a prompt.
	Tokens int `json:"tokens"`
	// Width is the hidden size.
	Width int `json:"width"`
	// Layers counts the blocks built and run, what the config's select_layer leaves of the
	// preset's PresetLayers.
	Layers       int `json:"layers"`
	PresetLayers int `json:"preset_layers"`
	// Heads counts the attention heads, HeadDim is a head's width.
	Heads   int `json:"heads"`
	HeadDim int `json:"head_dim"`
	// MLPHidden is the feed-forward layer's hidden width.
	MLPHidden int `json:"mlp_hidden"`
}

// AlignerInfo describes the understanding aligner.
type AlignerInfo struct {
	PartCounts
	ProjectorInfo
}

// LLMInfo describes the LLaMA language model.
type LLMInfo struct {
	PartCounts
	// Hidden is the model width, Intermediate the feed-forward layers' hidden width.
	Hidden       int `json:"hidden"`
	Intermediate int `json:"intermediate"`
	// Layers counts the decoder layers.
	Layers int `json:"layers"`
	// Heads counts the query heads, KVHeads the key and value heads; HeadDim is a head's
	// width.
	Heads   int `json:"heads"`
	KVHeads int `json:"kv_heads"`
	HeadDim int `json:"head_dim"`
	// Vocab is the vocabulary size.
	Vocab int `json:"vocab"`
	// MaxPositions is the longest context the config allows.
	MaxPositions int `json:"max_positions"`
	// RopeTheta is the rotary embedding's base.
	RopeTheta float64 `json:"rope_theta"`
	// RMSNormEps is the RMS norms' epsilon.
	RMSNormEps float64 `json:"rms_norm_eps"`
	// TieWordEmbeddings is set when the LM head shares the embedding table.
	TieWordEmbeddings bool `json:"tie_word_embeddings"`
}

// VQInfo describes the VQ-16 image decoder.
type VQInfo struct {
	PartCounts
	// Ch is the decoder's base channel count, ChMult its multiplier per level.
	Ch     int   `json:"ch"`
	ChMult []int `json:"ch_mult"`
	// ResBlocks counts the residual blocks per level.
	ResBlocks int `json:"res_blocks_per_level"`
	// ZChannels is the latent's channel count.
	ZChannels int `json:"z_channels"`
	// CodebookSize counts the codes, CodebookDim is a code's width, CodebookL2Norm is set
	// when codes are normalized.
	CodebookSize   int  `json:"codebook_size"`
	CodebookDim    int  `json:"codebook_dim"`
	CodebookL2Norm bool `json:"codebook_l2_norm"`
	// ImageSize is the generated picture's side in pixels, Grid the side of its grid of
	// tokens, ImageTokens their number.
	ImageSize   int `json:"image_size"`
	Grid        int `json:"grid"`
	ImageTokens int `json:"image_tokens"`
}

// GenInfo describes the generation embedding, aligner and head.
type GenInfo struct {
	PartCounts
	// EmbedSize counts the image tokens' embeddings, EmbedDim is their width.
	EmbedSize int `json:"embed_size"`
	EmbedDim  int `json:"embed_dim"`
	// Aligner maps those embeddings into the language model.
	Aligner ProjectorInfo `json:"aligner"`
	// HeadHidden and HeadOutput are the generation head's hidden width and its output, one
	// logit per image token.
	HeadHidden int `json:"head_hidden"`
	HeadOutput int `json:"head_output"`
}

// FileInfo is one weight file.
type FileInfo struct {
	// Name is the file's base name.
	Name string `json:"name"`
	// Bytes is its size.
	Bytes int64 `json:"bytes"`
}

// TokenInfo is a special token the prompts use.
type TokenInfo struct {
	// Role is what the token is for: "bos", "eos", "pad", "image", "image_start",
	// "image_end", "user" or "assistant".
	Role string `json:"role"`
	// Token is its text (for Janus' roles, the plain words the prompt writes).
	Token string `json:"token"`
	// ID is nil when the tokenizer lacks the token, and for Janus' plain-text roles.
	ID *int `json:"id"`
}

// PreprocessInfo is the image preprocessing the vision tower expects.
type PreprocessInfo struct {
	// ImageSize is the square side images are padded to; MinSize is the smallest side
	// after the aspect-preserving resize.
	ImageSize int `json:"image_size"`
	MinSize   int `json:"min_size"`
	// ImageMean and ImageStd normalize each channel.
	ImageMean [3]float64 `json:"image_mean"`
	ImageStd  [3]float64 `json:"image_std"`
	// NumImageTokens is how many tokens an image takes in a prompt.
	NumImageTokens int `json:"num_image_tokens"`
}

// ModelInfo describes a model folder; its JSON form is `janus info --json`, whose fields are
// stable (new ones may be added).
type ModelInfo struct {
	// Model is the model folder (a --model name resolved to its folder).
	Model string `json:"model"`
	// Family is "Janus", "Janus-Pro" or "unknown" (no tokenizer.json), as the prompt builder
	// decides it from the tokenizer.
	Family string `json:"family"`
	// TorchDType is config.json's torch_dtype (informational).
	TorchDType string `json:"torch_dtype"`
	// StoredDTypes counts the parameters of the tensors run, per stored dtype ({"BF16": N}).
	StoredDTypes map[string]int64 `json:"stored_dtypes"`
	// Files are the weight files, FilesBytes their total size.
	Files      []FileInfo `json:"files"`
	FilesBytes int64      `json:"files_bytes"`
	// Vision, Aligner, LLM, VQ and Gen are the model's parts with their dimensions; Unused
	// counts the stored tensors no part runs.
	Vision  VisionInfo  `json:"vision"`
	Aligner AlignerInfo `json:"aligner"`
	LLM     LLMInfo     `json:"llm"`
	VQ      VQInfo      `json:"vq"`
	Gen     GenInfo     `json:"gen"`
	Unused  PartCounts  `json:"unused"`
	// Params counts the parameters of the tensors run (Used), of every stored tensor (Total)
	// and the stored tensors.
	Params struct {
		Used    int64 `json:"used"`
		Total   int64 `json:"total"`
		Tensors int   `json:"tensors"`
	} `json:"params"`
	// MemoryBytes is what inference loads of the weights per precision: "F32", "BF16" (also
	// F16), "Q8_0", "Q4_0" and "Q4M" (--weights q8, q4, q4m); the KV cache and activations
	// are not counted.
	MemoryBytes map[string]int64 `json:"memory_bytes"`
	// DefaultWeights is the format --weights auto picks on this machine (model.ChooseWeights:
	// "stored", "q8", "q4m" or "q4") and DefaultWeightsReason why.
	DefaultWeights       string `json:"default_weights"`
	DefaultWeightsReason string `json:"default_weights_reason"`
	// Preprocess is the image preprocessing the vision tower expects.
	Preprocess PreprocessInfo `json:"preprocess"`
	// SpecialTokens are the tokens the prompts use, in the family's role texts; empty
	// without tokenizer.json.
	SpecialTokens []TokenInfo `json:"special_tokens"`
	// Unexpected names the tensors stored but neither run nor known to be unused.
	Unexpected []string `json:"unexpected_tensors"`
}

// Describe reads the folder's configs, tokenizer files and checkpoint headers: what `janus
// info` prints and the app's model picker shows. It is instant even for Janus-Pro-7B.
func Describe(dir string) (*ModelInfo, error) {
	info, _, err := describe(dir)
	return info, err
}

// describe is Describe also returning the folder's configuration, which it reads anyway.
func describe(dir string) (*ModelInfo, *config.Config, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("model folder: %w", err)
	}
	if !st.IsDir() {
		return nil, nil, fmt.Errorf("model folder %s is a file; give the folder that holds config.json and the weights", dir)
	}
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	// model/tokenizer reads the tokenizer files; a folder without tokenizer.json is described
	// without tokens.
	tok, err := tokenizer.Load(dir)
	if errors.Is(err, fs.ErrNotExist) {
		tok = nil
	} else if err != nil {
		return nil, nil, err
	}
	ck, err := checkpoint.Open(dir)
	if err != nil {
		return nil, nil, err
	}
	defer ck.Close()
	rep, err := weights.Check(ck, model.Plan(cfg))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", dir, err)
	}

	info := &ModelInfo{
		Model:        dir,
		Family:       "unknown",
		TorchDType:   cfg.TorchDType,
		StoredDTypes: map[string]int64{},
		MemoryBytes:  memoryMap(rep.Memory),
		Unexpected:   append([]string{}, rep.Unexpected...),
	}
	auto := model.EstimateWeights(cfg, rep.StoredDTypes, model.Options{Weights: model.WeightsAuto})
	info.DefaultWeights, info.DefaultWeightsReason = auto.Auto, auto.AutoReason

	for dt, n := range rep.StoredDTypes {
		info.StoredDTypes[string(dt)] = n
	}
	for _, f := range ck.Files() {
		fst, err := os.Stat(f)
		if err != nil {
			return nil, nil, fmt.Errorf("weight file: %w", err)
		}
		info.Files = append(info.Files, FileInfo{Name: filepath.Base(f), Bytes: fst.Size()})
		info.FilesBytes += fst.Size()
	}
	info.Params.Used, info.Params.Total, info.Params.Tensors = rep.UsedParams, rep.TotalParams, rep.Tensors

	counts := map[weights.Part]PartCounts{}
	for _, ps := range rep.Parts {
		part := ps.Part
		if part == weights.PartLMHead {
			part = weights.PartLLM // reported as the language model's, as the checkpoint names it
		}
		pc := counts[part]
		pc.Tensors += ps.Tensors
		pc.Params += ps.Params
		if ps.Part != weights.PartUnused {
			if pc.MemoryBytes == nil {
				pc.MemoryBytes = map[string]int64{}
			}
			for p, b := range ps.Bytes {
				pc.MemoryBytes[string(p)] += b
			}
		}
		counts[part] = pc
	}
	v := cfg.Vision
	info.Vision = VisionInfo{counts[weights.PartVision], v.ModelName, v.ImageSize, v.PatchSize, v.Tokens,
		v.Width, v.Layers, v.PresetLayers, v.Heads, v.HeadDim, v.MLPHidden}
	info.Aligner = AlignerInfo{counts[weights.PartAligner], describeProjector(cfg.Aligner)}
	l := cfg.LLM
	info.LLM = LLMInfo{counts[weights.PartLLM], l.Hidden, l.Intermediate, l.Layers, l.Heads, l.KVHeads,
		l.HeadDim, l.Vocab, l.MaxPositions, l.RopeTheta, l.RMSNormEps, l.TieWordEmbeddings}
	q := cfg.VQ
	info.VQ = VQInfo{counts[weights.PartVQ], q.Ch, q.DecoderChMult, q.NumResBlocks + 1, q.ZChannels,
		q.CodebookSize, q.CodebookEmbedDim, q.CodebookL2Norm, q.ImageSize, q.Grid, q.ImageTokens}
	info.Gen = GenInfo{counts[weights.PartGen], cfg.GenEmbed.Size, cfg.GenEmbed.Dim, describeProjector(cfg.GenAligner),
		cfg.GenHead.ImageTokenEmbed, cfg.GenHead.ImageTokenSize}
	info.Unused = counts[weights.PartUnused]
	p := cfg.Preprocessor
	info.Preprocess = PreprocessInfo{p.ImageSize, p.MinSize, p.ImageMean, p.ImageStd, cfg.Processor.NumImageTokens}
	info.SpecialTokens = []TokenInfo{}
	if tok != nil {
		b, err := prompt.NewBuilder(tok, cfg.Processor)
		if err != nil {
			return nil, nil, fmt.Errorf("model %s: prompt format: %w", dir, err)
		}
		info.Family = string(b.Family())
		info.SpecialTokens = specialTokens(cfg.Processor, tok, b)
	}
	return info, cfg, nil
}

func describeProjector(p config.Projector) ProjectorInfo {
	return ProjectorInfo{Type: p.Type, Depth: p.Depth, InputDim: p.InputDim, OutputDim: p.OutputDim()}
}

func memoryMap(m map[weights.Precision]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for p, b := range m {
		out[string(p)] = b
	}
	return out
}

// specialTokens lists the tokens the prompts and generation loops use, with their ids in the
// folder's tokenizer tok; b is the prompt format built from it, which knows the pad token and
// the role texts.
func specialTokens(proc config.Processor, tok *tokenizer.Tokenizer, b *prompt.Builder) []TokenInfo {
	var out []TokenInfo
	add := func(role, text string, id int32, ok bool) {
		ti := TokenInfo{Role: role, Token: text}
		if ok {
			n := int(id)
			ti.ID = &n
		}
		out = append(out, ti)
	}
	// The named tokens are looked up by id, so a name the vocabulary lacks shows as absent.
	named := func(role string, id int32, ok bool) {
		text := ""
		if ok {
			text, _ = tok.IDToken(id)
		}
		add(role, text, id, ok)
	}
	bos, ok := tok.BOS()
	named("bos", bos, ok)
	eos, ok := tok.EOS()
	named("eos", eos, ok)
	pad, err := b.PadID()
	named("pad", pad, err == nil)
	for _, r := range []struct{ role, text string }{
		{"image", proc.ImageTag}, {"image_start", proc.ImageStartTag}, {"image_end", proc.ImageEndTag},
	} {
		id, ok := tok.TokenID(r.text)
		add(r.role, r.text, id, ok)
	}
	// Roles are tokens only when the tokenizer adds them (Janus-Pro); Janus writes plain words.
	user, assistant := b.Roles()
	for _, r := range []struct{ role, text string }{{"user", user}, {"assistant", assistant}} {
		id, ok := tok.TokenID(r.text)
		add(r.role, r.text, id, ok && tok.IsAdded(id))
	}
	return out
}
