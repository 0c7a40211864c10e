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
	Tensors     int              `json:"tensors"`
	Params      int64            `json:"params"`
	MemoryBytes map[string]int64 `json:"memory_bytes,omitempty"`
}

// ProjectorInfo describes an aligner MLP.
type ProjectorInfo struct {
	Type      string `json:"type"`
	Depth     int    `json:"depth"`
	InputDim  int    `json:"input_dim"`
	OutputDim int    `json:"output_dim"`
}

// VisionInfo describes the SigLIP vision tower.
type VisionInfo struct {
	PartCounts
	ModelName    string `json:"model_name"`
	ImageSize    int    `json:"image_size"`
	PatchSize    int    `json:"patch_size"`
	Tokens       int    `json:"tokens"`
	Width        int    `json:"width"`
	Layers       int    `json:"layers"`
	PresetLayers int    `json:"preset_layers"`
	Heads        int    `json:"heads"`
	HeadDim      int    `json:"head_dim"`
	MLPHidden    int    `json:"mlp_hidden"`
}

// AlignerInfo describes the understanding aligner.
type AlignerInfo struct {
	PartCounts
	ProjectorInfo
}

// LLMInfo describes the LLaMA language model.
type LLMInfo struct {
	PartCounts
	Hidden            int     `json:"hidden"`
	Intermediate      int     `json:"intermediate"`
	Layers            int     `json:"layers"`
	Heads             int     `json:"heads"`
	KVHeads           int     `json:"kv_heads"`
	HeadDim           int     `json:"head_dim"`
	Vocab             int     `json:"vocab"`
	MaxPositions      int     `json:"max_positions"`
	RopeTheta         float64 `json:"rope_theta"`
	RMSNormEps        float64 `json:"rms_norm_eps"`
	TieWordEmbeddings bool    `json:"tie_word_embeddings"`
}

// VQInfo describes the VQ-16 image decoder.
type VQInfo struct {
	PartCounts
	Ch             int   `json:"ch"`
	ChMult         []int `json:"ch_mult"`
	ResBlocks      int   `json:"res_blocks_per_level"`
	ZChannels      int   `json:"z_channels"`
	CodebookSize   int   `json:"codebook_size"`
	CodebookDim    int   `json:"codebook_dim"`
	CodebookL2Norm bool  `json:"codebook_l2_norm"`
	ImageSize      int   `json:"image_size"`
	Grid           int   `json:"grid"`
	ImageTokens    int   `json:"image_tokens"`
}

// GenInfo describes the generation embedding, aligner and head.
type GenInfo struct {
	PartCounts
	EmbedSize  int           `json:"embed_size"`
	EmbedDim   int           `json:"embed_dim"`
	Aligner    ProjectorInfo `json:"aligner"`
	HeadHidden int           `json:"head_hidden"`
	HeadOutput int           `json:"head_output"`
}

// FileInfo is one weight file.
type FileInfo struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
}

// TokenInfo is a special token the prompts use; ID is nil when the tokenizer lacks it.
type TokenInfo struct {
	Role  string `json:"role"`
	Token string `json:"token"`
	ID    *int   `json:"id"`
}

// PreprocessInfo is the image preprocessing the vision tower expects.
type PreprocessInfo struct {
	ImageSize      int        `json:"image_size"`
	MinSize        int        `json:"min_size"`
	ImageMean      [3]float64 `json:"image_mean"`
	ImageStd       [3]float64 `json:"image_std"`
	NumImageTokens int        `json:"num_image_tokens"`
}

// ModelInfo describes a model folder; its JSON form is `janus info --json` (fields documented
// in cmd/janus/info.go).
type ModelInfo struct {
	Model        string           `json:"model"`
	Family       string           `json:"family"`
	TorchDType   string           `json:"torch_dtype"`
	StoredDTypes map[string]int64 `json:"stored_dtypes"`
	Files        []FileInfo       `json:"files"`
	FilesBytes   int64            `json:"files_bytes"`
	Vision       VisionInfo       `json:"vision"`
	Aligner      AlignerInfo      `json:"aligner"`
	LLM          LLMInfo          `json:"llm"`
	VQ           VQInfo           `json:"vq"`
	Gen          GenInfo          `json:"gen"`
	Unused       PartCounts       `json:"unused"`
	Params       struct {
		Used    int64 `json:"used"`
		Total   int64 `json:"total"`
		Tensors int   `json:"tensors"`
	} `json:"params"`
	MemoryBytes map[string]int64 `json:"memory_bytes"`
	// DefaultWeights is the format --weights auto picks on this machine (model.ChooseWeights)
	// and DefaultWeightsReason why.
	DefaultWeights       string         `json:"default_weights"`
	DefaultWeightsReason string         `json:"default_weights_reason"`
	Preprocess           PreprocessInfo `json:"preprocess"`
	SpecialTokens        []TokenInfo    `json:"special_tokens"`
	Unexpected           []string       `json:"unexpected_tensors"`
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
	info.DefaultWeights, info.DefaultWeightsReason = model.DefaultWeights(cfg)

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
