package config

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
)

// siglipPreset is one entry of siglip_vit.py's SigLIP_MODEL_CONFIG.
type siglipPreset struct {
	imageSize, patchSize, width, layers, heads int
	mlpRatio                                   float64
	globalPool                                 string
}

// siglipPresets are the official presets, verbatim. The released models use the large one.
var siglipPresets = map[string]siglipPreset{
	"siglip_so400m_patch14_384": {imageSize: 336, patchSize: 14, width: 1152, layers: 27, heads: 16, mlpRatio: 3.7362, globalPool: "map"},
	"siglip_so400m_patch14_224": {imageSize: 224, patchSize: 14, width: 1152, layers: 27, heads: 16, mlpRatio: 3.7362, globalPool: "map"},
	"siglip_large_patch16_384":  {imageSize: 384, patchSize: 16, width: 1024, layers: 24, heads: 16, mlpRatio: 4, globalPool: "map"},
}

// Class names the official model_name_to_cls maps to the modules this port implements.
const (
	clsVision    = "CLIPVisionTower"
	clsProjector = "MlpProjector"
	clsVQ        = "VQ-16"
	clsGenHead   = "vision_head"
)

// Defaults of the official code that the released configs rely on.
const (
	defaultSigLIP       = "siglip_large_patch16_384"
	defaultVisionImage  = 336 // CLIPVisionTower(image_size=336)
	defaultSelectLayer  = -2  // CLIPVisionTower(select_layer=-2)
	vitLayerNormEps     = 1e-6
	vqGroupNormGroups   = 32
	vqGroupNormEps      = 1e-6
	defaultNumResBlocks = 2
	defaultVQCh         = 128
	defaultZChannels    = 256
	defaultCodebookSize = 16384
	defaultCodebookDim  = 8
	defaultVQImageSize  = 384
)

var defaultChMult = []int{1, 1, 2, 2, 4}

// Limits on the counts and sizes a config may ask for. The weight plan lists a few tensors
// per layer, block and level, and the prompt and preprocessing allocate by token count and
// image side, before a checkpoint can contradict the config: a config asking for billions
// would exhaust memory (a fatal error, not a panic) in discovery, at every start of the app.
// The releases use at most 30 LLM and 24 ViT layers, 2 aligner layers, 2 res blocks, 5
// levels, 384-pixel images and 16,384 positions.
const (
	maxLayers    = 1024
	maxDepth     = 64
	maxResBlocks = 64
	maxLevels    = 16
	maxImageSide = 8192
	maxPositions = 1 << 20
)

// LlamaConfig defaults (transformers), for every key language_config leaves out.
const (
	llamaHidden       = 4096
	llamaIntermediate = 11008
	llamaLayers       = 32
	llamaHeads        = 32
	llamaAct          = "silu"
	llamaMaxPositions = 2048
	llamaRMSEps       = 1e-6
	llamaRopeTheta    = 10000.0
	llamaVocab        = 32000
)

func (c *Config) parseModel(root *object) {
	if v, ok := root.value("architectures"); ok {
		var archs []string
		if err := json.Unmarshal(v, &archs); err != nil {
			root.fail("architectures", "must be a list of strings")
		} else if !slices.Contains(archs, "MultiModalityCausalLM") {
			root.fail("architectures", "%q is not a Janus model (want MultiModalityCausalLM)", archs)
		}
	}
	if mt := root.stringOr("model_type", "multi_modality"); mt != "multi_modality" {
		root.fail("model_type", "%q is not a Janus model (want multi_modality)", mt)
	}
	c.TorchDType = root.stringOr("torch_dtype", "")

	c.parseVision(root.child("vision_config", true))
	c.Aligner = parseProjector(root.child("aligner_config", true))
	c.parseGenVision(root.child("gen_vision_config", true))
	c.GenAligner = parseProjector(root.child("gen_aligner_config", true))
	c.parseGenHead(root.child("gen_head_config", true))
	// The Python code would build a default 7B LLaMA from an absent language_config; no
	// Janus model lacks one, so its absence is reported instead of guessed around.
	c.parseLLM(root.child("language_config", true))
	c.checkLinks(root)
}

// checkClass reports a cls other than want.
func checkClass(o *object, want string) {
	if cls := o.stringReq("cls"); cls != "" && cls != want {
		o.fail("cls", "unknown class %q (want %s)", cls, want)
	}
}

func (c *Config) parseVision(vc *object) {
	checkClass(vc, clsVision)
	p := vc.child("params", false)
	v := &c.Vision
	v.ModelName = p.stringOr("model_name", defaultSigLIP)
	preset, ok := siglipPresets[v.ModelName]
	if !ok {
		if !strings.HasPrefix(v.ModelName, "siglip") {
			p.fail("model_name", "%q is not a SigLIP ViT; only SigLIP towers are supported (known: %s)", v.ModelName, presetNames())
		} else {
			p.fail("model_name", "unknown SigLIP preset %q (known: %s)", v.ModelName, presetNames())
		}
		return
	}
	v.GlobalPool = preset.globalPool
	v.LayerNormEps = vitLayerNormEps
	v.ImageSize = p.count("image_size", defaultVisionImage, false, maxImageSide)
	v.PatchSize = p.count("patch_size", preset.patchSize, false, maxImageSide)
	v.Width = p.positive("width", preset.width, false)
	v.Heads = p.positive("heads", preset.heads, false)
	v.PresetLayers = p.count("layers", preset.layers, false, maxLayers)
	v.MLPRatio = p.floatOr("mlp_ratio", preset.mlpRatio)
	v.SelectLayer = p.intOr("select_layer", defaultSelectLayer)
	if !p.boolOr("ignore_head", true) {
		p.fail("ignore_head", "false (running the attention-pool head) is not supported; Janus uses the token features")
	}
	// The official tower normalises only when both are set and silently ignores one alone;
	// one alone is a broken config, so it is reported.
	switch hasMean, hasStd := p.has("pixel_mean"), p.has("pixel_std"); {
	case hasMean && !hasStd:
		p.fail("pixel_mean", "is set without pixel_std; the tower normalises only with both")
	case hasStd && !hasMean:
		p.fail("pixel_std", "is set without pixel_mean; the tower normalises only with both")
	case hasMean && hasStd:
		v.PixelMean = p.floatsOr("pixel_mean", nil)
		v.PixelStd = p.floatsOr("pixel_std", nil)
		if len(v.PixelMean) != 3 {
			p.fail("pixel_mean", "must hold 3 numbers, got %d", len(v.PixelMean))
		}
		if len(v.PixelStd) != 3 {
			p.fail("pixel_std", "must hold 3 numbers, got %d", len(v.PixelStd))
		}
		for i, s := range v.PixelStd {
			if s <= 0 {
				p.fail("pixel_std", "entry %d is %g, must be positive", i, s)
			}
		}
	}

	if v.SelectLayer <= 0 {
		v.Layers = min(v.PresetLayers, v.PresetLayers+v.SelectLayer+1)
	} else {
		v.Layers = min(v.PresetLayers, v.SelectLayer)
	}
	if v.PresetLayers > 0 && v.Layers < 1 {
		p.fail("select_layer", "%d leaves no ViT block of %d", v.SelectLayer, v.PresetLayers)
	}
	if v.Width > 0 && v.Heads > 0 {
		if v.Width%v.Heads != 0 {
			p.fail("heads", "%d heads do not divide the ViT width %d", v.Heads, v.Width)
		} else {
			v.HeadDim = v.Width / v.Heads
		}
	}
	if v.MLPRatio <= 0 {
		p.fail("mlp_ratio", "must be positive, got %g", v.MLPRatio)
	} else if v.Width > 0 {
		v.MLPHidden = int(float64(v.Width) * v.MLPRatio)
		if v.MLPHidden < 1 {
			p.fail("mlp_ratio", "%g gives an empty MLP for width %d", v.MLPRatio, v.Width)
		}
	}
	if v.ImageSize > 0 && v.PatchSize > 0 {
		// timm's PatchEmbed floors: the stride-patch convolution skips a partial last patch.
		if v.Grid = v.ImageSize / v.PatchSize; v.Grid < 1 {
			p.fail("image_size", "%d is smaller than the patch size %d", v.ImageSize, v.PatchSize)
		}
		v.Tokens = v.Grid * v.Grid
	}
}

func presetNames() string {
	names := make([]string, 0, len(siglipPresets))
	for n := range siglipPresets {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func parseProjector(pc *object) Projector {
	checkClass(pc, clsProjector)
	p := pc.child("params", true)
	var out Projector
	out.Type = p.stringReq("projector_type")
	out.Depth = p.count("depth", 1, false, maxDepth)
	switch out.Type {
	case "":
	case ProjectorMLPGELU, ProjectorLinear:
		out.InputDim = p.positive("input_dim", 0, true)
		out.NEmbed = p.positive("n_embed", 0, true)
	case ProjectorIdentity:
		out.InputDim = p.positive("input_dim", 0, true)
		out.NEmbed = p.positive("n_embed", out.InputDim, false)
	case "low_high_hybrid_split_mlp_gelu":
		p.fail("projector_type", "%q needs the hybrid high/low-resolution vision encoder, which Janus does not have", out.Type)
	default:
		p.fail("projector_type", "unknown projector type %q (want mlp_gelu, linear or identity)", out.Type)
	}
	return out
}

func (c *Config) parseGenVision(gc *object) {
	checkClass(gc, clsVQ)
	p := gc.child("params", true)
	c.GenEmbed.Size = p.positive("image_token_size", 0, true)
	c.GenEmbed.Dim = p.positive("n_embed", 0, true)

	q := &c.VQ
	q.GroupNormGroups = vqGroupNormGroups
	q.GroupNormEps = vqGroupNormEps
	q.Ch = p.positive("ch", defaultVQCh, false)
	both := p.intsOr("ch_mult", defaultChMult)
	q.EncoderChMult = p.intsOr("encoder_ch_mult", both)
	q.DecoderChMult = p.intsOr("decoder_ch_mult", both)
	q.NumResBlocks = p.count("num_res_blocks", defaultNumResBlocks, false, maxResBlocks)
	q.ZChannels = p.positive("z_channels", defaultZChannels, false)
	q.CodebookSize = p.positive("codebook_size", defaultCodebookSize, false)
	q.CodebookEmbedDim = p.positive("codebook_embed_dim", defaultCodebookDim, false)
	q.CodebookL2Norm = p.boolOr("codebook_l2_norm", true)
	q.ImageSize = p.count("image_size", defaultVQImageSize, false, maxImageSide)

	multsOK := true
	for _, m := range []struct {
		key  string
		mult []int
	}{{"encoder_ch_mult", q.EncoderChMult}, {"decoder_ch_mult", q.DecoderChMult}} {
		if len(m.mult) == 0 {
			p.fail(m.key, "must list at least one level")
			multsOK = false
			continue
		}
		if len(m.mult) > maxLevels {
			p.fail(m.key, "lists %d levels, more than the %d supported", len(m.mult), maxLevels)
			multsOK = false
			continue
		}
		for i, x := range m.mult {
			if x < 1 {
				p.fail(m.key, "level %d multiplier %d must be positive", i, x)
				multsOK = false
			} else if q.Ch > 0 && (q.Ch*x)%vqGroupNormGroups != 0 {
				p.fail(m.key, "level %d has %d channels, not a multiple of the %d GroupNorm groups (ch %d)", i, q.Ch*x, vqGroupNormGroups, q.Ch)
				multsOK = false
			}
		}
	}
	if q.Ch > 0 && q.Ch%vqGroupNormGroups != 0 && multsOK {
		p.fail("ch", "%d is not a multiple of the %d GroupNorm groups", q.Ch, vqGroupNormGroups)
	}
	if multsOK && len(q.DecoderChMult) > 0 && len(q.DecoderChMult) < 31 {
		q.Downsample = 1 << (len(q.DecoderChMult) - 1)
		if q.ImageSize > 0 {
			if q.ImageSize%q.Downsample != 0 {
				p.fail("image_size", "%d is not a multiple of the VQ downsampling factor %d", q.ImageSize, q.Downsample)
			} else {
				q.Grid = q.ImageSize / q.Downsample
			}
		}
	}
	q.ImageTokens = p.intOr("image_token_num_per_image", q.Grid*q.Grid)
	if q.Grid > 0 && q.ImageTokens != q.Grid*q.Grid {
		p.fail("image_token_num_per_image", "%d differs from the VQ grid %d×%d = %d", q.ImageTokens, q.Grid, q.Grid, q.Grid*q.Grid)
	}
	if c.GenEmbed.Size > 0 && q.CodebookSize > 0 && q.CodebookSize != c.GenEmbed.Size {
		p.fail("codebook_size", "VQ codebook has %d entries but gen_embed has %d (image_token_size)", q.CodebookSize, c.GenEmbed.Size)
	}
	if c.GenEmbed.Dim > 0 && q.CodebookEmbedDim > 0 && q.CodebookEmbedDim != c.GenEmbed.Dim {
		p.fail("codebook_embed_dim", "VQ codebook entries have %d dims but gen_embed has %d (n_embed)", q.CodebookEmbedDim, c.GenEmbed.Dim)
	}
}

func (c *Config) parseGenHead(hc *object) {
	checkClass(hc, clsGenHead)
	p := hc.child("params", true)
	c.GenHead.NEmbed = p.positive("n_embed", 0, true)
	c.GenHead.ImageTokenEmbed = p.positive("image_token_embed", 0, true)
	c.GenHead.ImageTokenSize = p.positive("image_token_size", 0, true)
}

func (c *Config) parseLLM(lc *object) {
	l := &c.LLM
	l.Hidden = lc.positive("hidden_size", llamaHidden, false)
	l.Intermediate = lc.positive("intermediate_size", llamaIntermediate, false)
	l.Layers = lc.count("num_hidden_layers", llamaLayers, false, maxLayers)
	l.Heads = lc.positive("num_attention_heads", llamaHeads, false)
	l.KVHeads = lc.positive("num_key_value_heads", l.Heads, false)
	l.Vocab = lc.positive("vocab_size", llamaVocab, false)
	l.MaxPositions = lc.count("max_position_embeddings", llamaMaxPositions, false, maxPositions)
	l.HiddenAct = lc.stringOr("hidden_act", llamaAct)
	l.RMSNormEps = lc.floatOr("rms_norm_eps", llamaRMSEps)
	l.RopeTheta = lc.floatOr("rope_theta", llamaRopeTheta)
	l.TieWordEmbeddings = lc.boolOr("tie_word_embeddings", false)

	if l.Heads > 0 {
		if lc.has("head_dim") {
			l.HeadDim = lc.positive("head_dim", 0, false)
		} else if l.Hidden > 0 {
			if l.Hidden%l.Heads != 0 {
				lc.fail("num_attention_heads", "%d heads do not divide hidden_size %d", l.Heads, l.Hidden)
			} else {
				l.HeadDim = l.Hidden / l.Heads
			}
		}
		if l.KVHeads > 0 && l.Heads%l.KVHeads != 0 {
			lc.fail("num_key_value_heads", "%d KV heads do not divide the %d attention heads", l.KVHeads, l.Heads)
		}
	}
	if l.HeadDim > 0 && l.HeadDim%2 != 0 {
		lc.fail("head_dim", "%d is odd; rotary embeddings need an even head dimension", l.HeadDim)
	}
	if l.HiddenAct != llamaAct {
		lc.fail("hidden_act", "%q is not supported (the LLaMA MLP here is SwiGLU with silu)", l.HiddenAct)
	}
	if l.RMSNormEps <= 0 {
		lc.fail("rms_norm_eps", "must be positive, got %g", l.RMSNormEps)
	}
	if l.RopeTheta <= 0 {
		lc.fail("rope_theta", "must be positive, got %g", l.RopeTheta)
	}
	if lc.has("rope_scaling") {
		lc.fail("rope_scaling", "is set; RoPE scaling is not supported (no Janus release uses it)")
	}
	for _, k := range []string{"attention_bias", "mlp_bias"} {
		if lc.boolOr(k, false) {
			lc.fail(k, "true is not supported (the Janus LLaMA has no biases)")
		}
	}
}

// checkLinks reports sub-module widths that do not fit together: every one of them would
// make a matrix product fail at run time.
func (c *Config) checkLinks(root *object) {
	type link struct {
		field      string
		got, want  int
		what, from string
	}
	links := []link{
		{"aligner_config.params.input_dim", c.Aligner.InputDim, c.Vision.Width, "aligner input", "ViT width"},
		{"aligner_config.params.n_embed", c.Aligner.OutputDim(), c.LLM.Hidden, "aligner output", "LLM hidden_size"},
		{"gen_aligner_config.params.input_dim", c.GenAligner.InputDim, c.GenEmbed.Dim, "gen_aligner input", "gen_embed width (gen_vision_config.params.n_embed)"},
		{"gen_aligner_config.params.n_embed", c.GenAligner.OutputDim(), c.LLM.Hidden, "gen_aligner output", "LLM hidden_size"},
		{"gen_head_config.params.n_embed", c.GenHead.NEmbed, c.LLM.Hidden, "gen_head input", "LLM hidden_size"},
		{"gen_head_config.params.image_token_size", c.GenHead.ImageTokenSize, c.GenEmbed.Size, "gen_head output", "image token count (gen_vision_config.params.image_token_size)"},
	}
	for _, l := range links {
		if l.got > 0 && l.want > 0 && l.got != l.want {
			root.probs.add(root.file, l.field, "%s %d differs from the %s %d", l.what, l.got, l.from, l.want)
		}
	}
	// An image's tokens are a part of one sequence: more than the context holds could never
	// run, and the prompt would be built (allocated) before anything ran it.
	for _, t := range []struct {
		field, what string
		n           int
	}{
		{"vision_config.params.image_size", "an understood image's tokens", c.Vision.Tokens},
		{"gen_vision_config.params.image_token_num_per_image", "a generated image's tokens", c.VQ.ImageTokens},
	} {
		if mp := c.LLM.MaxPositions; mp > 0 && t.n > mp {
			root.probs.add(root.file, t.field, "%s, %d, are more than the language model's %d positions (language_config.max_position_embeddings)", t.what, t.n, mp)
		}
	}
}

func (c *Config) parsePreprocessor(o *object) {
	p := &c.Preprocessor
	if o == nil {
		// Every release ships the same values; use them rather than the class defaults.
		*p = Preprocessor{
			ImageSize:     c.Vision.ImageSize,
			MinSize:       14,
			ImageMean:     [3]float64{0.5, 0.5, 0.5},
			ImageStd:      [3]float64{0.5, 0.5, 0.5},
			RescaleFactor: 1.0 / 255.0,
			DoNormalize:   true,
		}
		return
	}
	p.FromFile = true
	p.ImageSize = o.count("image_size", 0, true, maxImageSide)
	p.MinSize = o.count("min_size", 14, false, maxImageSide)
	// VLMImageProcessor's class defaults are the OpenAI CLIP statistics.
	p.ImageMean = triple(o, "image_mean", [3]float64{0.48145466, 0.4578275, 0.40821073})
	p.ImageStd = triple(o, "image_std", [3]float64{0.26862954, 0.26130258, 0.27577711})
	p.RescaleFactor = o.floatOr("rescale_factor", 1.0/255.0)
	p.DoNormalize = o.boolOr("do_normalize", true)
	if o.has("background_color") {
		// Decoded only to report a malformed value: the processor pads with int(mean*255)
		// instead (model/imageproc's Params.Background).
		bg := o.intsOr("background_color", nil)
		if len(bg) != 3 {
			o.fail("background_color", "must hold 3 integers, got %d", len(bg))
		}
	}
	for i, m := range p.ImageMean {
		if m < 0 || m > 1 {
			o.fail("image_mean", "entry %d is %g, outside [0, 1]", i, m)
		}
	}
	for i, s := range p.ImageStd {
		if s <= 0 {
			o.fail("image_std", "entry %d is %g, must be positive", i, s)
		}
	}
	if p.RescaleFactor <= 0 {
		o.fail("rescale_factor", "must be positive, got %g", p.RescaleFactor)
	}
	if p.ImageSize > 0 && c.Vision.ImageSize > 0 && p.ImageSize != c.Vision.ImageSize {
		o.fail("image_size", "%d differs from the ViT input size %d (config.json vision_config.params.image_size)", p.ImageSize, c.Vision.ImageSize)
	}
	if p.MinSize > p.ImageSize && p.ImageSize > 0 {
		o.fail("min_size", "%d exceeds image_size %d", p.MinSize, p.ImageSize)
	}
}

// triple reads a list of exactly three numbers.
func triple(o *object, key string, def [3]float64) [3]float64 {
	vals := o.floatsOr(key, def[:])
	if len(vals) != 3 {
		o.fail(key, "must hold 3 numbers, got %d", len(vals))
		return def
	}
	return [3]float64{vals[0], vals[1], vals[2]}
}

// SFTDeepSeek is the conversation template ("sft_format") of every Janus release, the only
// one this port implements.
const SFTDeepSeek = "deepseek"

// DefaultProcessor returns VLChatProcessor's class defaults with numImageTokens image
// tokens (the class default 576 is right for the 384-pixel releases only).
func DefaultProcessor(numImageTokens int) Processor {
	return Processor{
		ImageTag:       "<image_placeholder>",
		ImageStartTag:  "<begin_of_image>",
		ImageEndTag:    "<end_of_image>",
		PadTag:         "<｜▁pad▁｜>",
		NumImageTokens: numImageTokens,
		SFTFormat:      SFTDeepSeek,
		MaskPrompt:     true,
		IgnoreID:       -100,
	}
}

func (c *Config) parseProcessor(o *object) {
	p := &c.Processor
	*p = DefaultProcessor(c.Vision.Tokens)
	p.FromFile = o != nil
	if o == nil {
		o = &object{file: ProcessorFile, m: map[string]json.RawMessage{}, probs: &problems{}}
	}
	p.ImageTag = o.stringOr("image_tag", p.ImageTag)
	p.ImageStartTag = o.stringOr("image_start_tag", p.ImageStartTag)
	p.ImageEndTag = o.stringOr("image_end_tag", p.ImageEndTag)
	p.PadTag = o.stringOr("pad_tag", p.PadTag)
	p.NumImageTokens = o.positive("num_image_tokens", p.NumImageTokens, false)
	p.AddSpecialToken = o.boolOr("add_special_token", p.AddSpecialToken)
	p.SFTFormat = o.stringOr("sft_format", p.SFTFormat)
	p.MaskPrompt = o.boolOr("mask_prompt", p.MaskPrompt)
	p.IgnoreID = o.intOr("ignore_id", p.IgnoreID)
	for _, t := range []struct{ key, val string }{
		{"image_tag", p.ImageTag}, {"image_start_tag", p.ImageStartTag},
		{"image_end_tag", p.ImageEndTag}, {"pad_tag", p.PadTag},
	} {
		if t.val == "" {
			o.fail(t.key, "must not be empty")
		}
	}
	if p.SFTFormat != SFTDeepSeek {
		o.fail("sft_format", "%q is not supported: Janus prompts use the %q template", p.SFTFormat, SFTDeepSeek)
	}
	if p.NumImageTokens > 0 && c.Vision.Tokens > 0 && p.NumImageTokens != c.Vision.Tokens {
		o.fail("num_image_tokens", "%d differs from the ViT's token count %d (floor(%d/%d)²)", p.NumImageTokens, c.Vision.Tokens, c.Vision.ImageSize, c.Vision.PatchSize)
	}
}
