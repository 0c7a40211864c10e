package main

// janus info --model DIR [--json]
//
// Describes a model folder: family, the dimensions of every part, parameter counts, stored
// dtype, weight files, special token ids and the memory the weights need at each precision.
// It reads only headers and config files, so it is instant even for Janus-Pro-7B.
//
// The --json output is one object with these fields (stable; new fields may be added):
//
//	model           string  the folder as given
//	family          string  "Janus", "Janus-Pro" or "unknown" (no tokenizer.json), as the
//	                        prompt builder decides it from the tokenizer
//	torch_dtype     string  config.json's torch_dtype (informational)
//	stored_dtypes   object  parameters of the running tensors per stored dtype, e.g. {"BF16": N}
//	files           array   [{"name": base name, "bytes": size}] of the weight files
//	files_bytes     int     their total size
//	vision, aligner, llm, vq, gen, unused
//	                object  each with "tensors", "params" and (except unused)
//	                        "memory_bytes" {"F32","BF16","Q8_0","Q4_0"}, plus the part's dims:
//	  vision:  model_name, image_size, patch_size, tokens, width, layers, preset_layers,
//	           heads, head_dim, mlp_hidden
//	  aligner: type, depth, input_dim, output_dim
//	  llm:     hidden, intermediate, layers, heads, kv_heads, head_dim, vocab,
//	           max_positions, rope_theta, rms_norm_eps, tie_word_embeddings
//	  vq:      ch, ch_mult, res_blocks_per_level, z_channels, codebook_size, codebook_dim,
//	           codebook_l2_norm, image_size, grid, image_tokens
//	  gen:     embed_size, embed_dim, aligner {type, depth, input_dim, output_dim},
//	           head_hidden, head_output
//	params          object  {"used": N, "total": N, "tensors": N}
//	memory_bytes    object  weights inference loads, per precision: "F32", "BF16" (also F16),
//	                        "Q8_0" and "Q4_0" (estimates); KV cache and activations excluded
//	preprocess      object  image_size, min_size, image_mean, image_std, num_image_tokens
//	special_tokens  array   [{"role", "token", "id"}] for bos, eos, pad, image, image_start,
//	                        image_end, user, assistant (the family's role texts); id is null
//	                        when the tokenizer lacks the token (and for Janus' plain-text
//	                        roles); the array is empty without tokenizer.json
//	unexpected_tensors array names stored but neither run nor known to be unused

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/prompt"
	"github.com/janus-desktop/janus/model/tokenizer"
	"github.com/janus-desktop/janus/model/weights"
)

// runInfo implements the info subcommand.
func runInfo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("info", stderr, "janus info --model DIR [--json]",
		"Describe a Janus / Janus-Pro model folder: parts, parameters, files, special tokens, memory.")
	dir := fs.String("model", "", "model folder (config.json, weights, tokenizer files)")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	if err := parseArgs(fs, args, "the folder goes after --model"); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("missing --model DIR")
	}
	info, err := describeModel(*dir)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, info, true)
	}
	return writeInfoText(stdout, info)
}

type partCounts struct {
	Tensors     int              `json:"tensors"`
	Params      int64            `json:"params"`
	MemoryBytes map[string]int64 `json:"memory_bytes,omitempty"`
}

type projectorInfo struct {
	Type      string `json:"type"`
	Depth     int    `json:"depth"`
	InputDim  int    `json:"input_dim"`
	OutputDim int    `json:"output_dim"`
}

type visionInfo struct {
	partCounts
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

type alignerInfo struct {
	partCounts
	projectorInfo
}

type llmInfo struct {
	partCounts
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

type vqInfo struct {
	partCounts
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

type genInfo struct {
	partCounts
	EmbedSize  int           `json:"embed_size"`
	EmbedDim   int           `json:"embed_dim"`
	Aligner    projectorInfo `json:"aligner"`
	HeadHidden int           `json:"head_hidden"`
	HeadOutput int           `json:"head_output"`
}

type fileInfo struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
}

type tokenInfo struct {
	Role  string `json:"role"`
	Token string `json:"token"`
	ID    *int   `json:"id"`
}

type preprocessInfo struct {
	ImageSize      int        `json:"image_size"`
	MinSize        int        `json:"min_size"`
	ImageMean      [3]float64 `json:"image_mean"`
	ImageStd       [3]float64 `json:"image_std"`
	NumImageTokens int        `json:"num_image_tokens"`
}

type modelInfo struct {
	Model        string           `json:"model"`
	Family       string           `json:"family"`
	TorchDType   string           `json:"torch_dtype"`
	StoredDTypes map[string]int64 `json:"stored_dtypes"`
	Files        []fileInfo       `json:"files"`
	FilesBytes   int64            `json:"files_bytes"`
	Vision       visionInfo       `json:"vision"`
	Aligner      alignerInfo      `json:"aligner"`
	LLM          llmInfo          `json:"llm"`
	VQ           vqInfo           `json:"vq"`
	Gen          genInfo          `json:"gen"`
	Unused       partCounts       `json:"unused"`
	Params       struct {
		Used    int64 `json:"used"`
		Total   int64 `json:"total"`
		Tensors int   `json:"tensors"`
	} `json:"params"`
	MemoryBytes   map[string]int64 `json:"memory_bytes"`
	Preprocess    preprocessInfo   `json:"preprocess"`
	SpecialTokens []tokenInfo      `json:"special_tokens"`
	Unexpected    []string         `json:"unexpected_tensors"`
}

// describeModel reads the folder's configs, tokenizer files and checkpoint headers.
func describeModel(dir string) (*modelInfo, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("model folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("model folder %s is a file; give the folder that holds config.json and the weights", dir)
	}
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, err
	}
	// model/tokenizer reads the tokenizer files; a folder without tokenizer.json is described
	// without tokens.
	tok, err := tokenizer.Load(dir)
	if errors.Is(err, fs.ErrNotExist) {
		tok = nil
	} else if err != nil {
		return nil, err
	}
	ck, err := checkpoint.Open(dir)
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	rep, err := weights.Check(ck, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}

	info := &modelInfo{
		Model:        dir,
		Family:       "unknown",
		TorchDType:   cfg.TorchDType,
		StoredDTypes: map[string]int64{},
		MemoryBytes:  memoryMap(rep.Memory),
		Unexpected:   append([]string{}, rep.Unexpected...),
	}
	for dt, n := range rep.StoredDTypes {
		info.StoredDTypes[string(dt)] = n
	}
	for _, f := range ck.Files() {
		fst, err := os.Stat(f)
		if err != nil {
			return nil, fmt.Errorf("weight file: %w", err)
		}
		info.Files = append(info.Files, fileInfo{Name: filepath.Base(f), Bytes: fst.Size()})
		info.FilesBytes += fst.Size()
	}
	info.Params.Used, info.Params.Total, info.Params.Tensors = rep.UsedParams, rep.TotalParams, rep.Tensors

	counts := map[weights.Part]partCounts{}
	for _, ps := range rep.Parts {
		pc := partCounts{Tensors: ps.Tensors, Params: ps.Params}
		if ps.Part != weights.PartUnused {
			pc.MemoryBytes = memoryMap(ps.Bytes)
		}
		counts[ps.Part] = pc
	}
	v := cfg.Vision
	info.Vision = visionInfo{counts[weights.PartVision], v.ModelName, v.ImageSize, v.PatchSize, v.Tokens,
		v.Width, v.Layers, v.PresetLayers, v.Heads, v.HeadDim, v.MLPHidden}
	info.Aligner = alignerInfo{counts[weights.PartAligner], projector(cfg.Aligner)}
	l := cfg.LLM
	info.LLM = llmInfo{counts[weights.PartLLM], l.Hidden, l.Intermediate, l.Layers, l.Heads, l.KVHeads,
		l.HeadDim, l.Vocab, l.MaxPositions, l.RopeTheta, l.RMSNormEps, l.TieWordEmbeddings}
	q := cfg.VQ
	info.VQ = vqInfo{counts[weights.PartVQ], q.Ch, q.DecoderChMult, q.NumResBlocks + 1, q.ZChannels,
		q.CodebookSize, q.CodebookEmbedDim, q.CodebookL2Norm, q.ImageSize, q.Grid, q.ImageTokens}
	info.Gen = genInfo{counts[weights.PartGen], cfg.GenEmbed.Size, cfg.GenEmbed.Dim, projector(cfg.GenAligner),
		cfg.GenHead.ImageTokenEmbed, cfg.GenHead.ImageTokenSize}
	info.Unused = counts[weights.PartUnused]
	p := cfg.Preprocessor
	info.Preprocess = preprocessInfo{p.ImageSize, p.MinSize, p.ImageMean, p.ImageStd, cfg.Processor.NumImageTokens}
	info.SpecialTokens = []tokenInfo{}
	if tok != nil {
		b, err := prompt.NewBuilder(tok, cfg.Processor)
		if err != nil {
			return nil, fmt.Errorf("model %s: prompt format: %w", dir, err)
		}
		info.Family = string(b.Family())
		info.SpecialTokens = specialTokens(cfg.Processor, tok, b)
	}
	return info, nil
}

func projector(p config.Projector) projectorInfo {
	return projectorInfo{Type: p.Type, Depth: p.Depth, InputDim: p.InputDim, OutputDim: p.OutputDim()}
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
func specialTokens(proc config.Processor, tok *tokenizer.Tokenizer, b *prompt.Builder) []tokenInfo {
	var out []tokenInfo
	add := func(role, text string, id int32, ok bool) {
		ti := tokenInfo{Role: role, Token: text}
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

// writeInfoText prints the human-readable description.
func writeInfoText(w io.Writer, m *modelInfo) error {
	ew := &errWriter{w: w}
	var head table
	head.add("model", m.Model)
	family := m.Family
	if family == "unknown" {
		family = "unknown (no tokenizer.json)"
	}
	head.add("family", family)
	head.add("weights", storedDTypes(m.StoredDTypes)+" (config torch_dtype "+orDash(m.TorchDType)+")")
	head.write(ew, "")

	ew.println()
	var files table
	files.right = []bool{false, true, false}
	for _, f := range m.Files {
		files.add(f.Name, commas(f.Bytes), "bytes  ("+humanBytes(f.Bytes)+")")
	}
	if len(m.Files) > 1 {
		files.add("total", commas(m.FilesBytes), "bytes  ("+humanBytes(m.FilesBytes)+")")
	}
	ew.println("files")
	files.write(ew, "  ")

	ew.println()
	var parts table
	parts.right = []bool{false, true, true, false}
	parts.add("part", "tensors", "params", "dimensions")
	v, a, l, q, g := m.Vision, m.Aligner, m.LLM, m.VQ, m.Gen
	parts.add("vision", strconv.Itoa(v.Tensors), commas(v.Params), fmt.Sprintf(
		"SigLIP %s: %d px, patch %d, %d tokens, width %d, %d of %d blocks, %d heads × %d, MLP %d",
		v.ModelName, v.ImageSize, v.PatchSize, v.Tokens, v.Width, v.Layers, v.PresetLayers, v.Heads, v.HeadDim, v.MLPHidden))
	parts.add("aligner", strconv.Itoa(a.Tensors), commas(a.Params), describeProjector(a.projectorInfo))
	parts.add("llm", strconv.Itoa(l.Tensors), commas(l.Params), fmt.Sprintf(
		"LLaMA: hidden %d, %d layers, %d heads × %d (%d KV), FFN %d, vocab %s, RoPE θ %g, RMS ε %g, max positions %s",
		l.Hidden, l.Layers, l.Heads, l.HeadDim, l.KVHeads, l.Intermediate, commas(int64(l.Vocab)), l.RopeTheta, l.RMSNormEps, commas(int64(l.MaxPositions))))
	l2 := ""
	if q.CodebookL2Norm {
		l2 = ", l2-normalised"
	}
	parts.add("vq", strconv.Itoa(q.Tensors), commas(q.Params), fmt.Sprintf(
		"VQ-16 decoder: ch %d × %v, %d res blocks/level, z %d, codebook %s × %d%s; %d px from %d×%d = %d tokens",
		q.Ch, q.ChMult, q.ResBlocks, q.ZChannels, commas(int64(q.CodebookSize)), q.CodebookDim, l2, q.ImageSize, q.Grid, q.Grid, q.ImageTokens))
	parts.add("gen", strconv.Itoa(g.Tensors), commas(g.Params), fmt.Sprintf(
		"gen_embed %s × %d; gen_aligner %s; gen_head %d → %d → %s",
		commas(int64(g.EmbedSize)), g.EmbedDim, describeProjector(g.Aligner), l.Hidden, g.HeadHidden, commas(int64(g.HeadOutput))))
	parts.add("used", strconv.Itoa(v.Tensors+a.Tensors+l.Tensors+q.Tensors+g.Tensors), commas(m.Params.Used), "what inference loads")
	parts.add("unused", strconv.Itoa(m.Unused.Tensors), commas(m.Unused.Params), "stored, never run (ViT attn_pool, VQ encoder, quant_conv, codebook_used)")
	parts.add("total", strconv.Itoa(m.Params.Tensors), commas(m.Params.Total), "every tensor of the checkpoint")
	parts.write(ew, "")
	if len(m.Unexpected) > 0 {
		ew.printf("  ignored %d tensors the model does not know: %s\n", len(m.Unexpected), abbreviateList(m.Unexpected, 5))
	}

	ew.println()
	ew.println("memory of the weights (KV cache and activations not included; Q8_0/Q4_0 estimated)")
	var mem table
	mem.right = []bool{false, true, true, true, true}
	mem.add("", "F32", "BF16/F16", "Q8_0", "Q4_0")
	for _, r := range []struct {
		name string
		b    map[string]int64
	}{{"vision", v.MemoryBytes}, {"aligner", a.MemoryBytes}, {"llm", l.MemoryBytes}, {"vq", q.MemoryBytes}, {"gen", g.MemoryBytes}, {"total", m.MemoryBytes}} {
		row := []string{r.name}
		for _, p := range weights.Precisions() {
			row = append(row, humanBytes(r.b[string(p)]))
		}
		mem.add(row...)
	}
	mem.write(ew, "  ")

	ew.println()
	if len(m.SpecialTokens) == 0 {
		ew.println("special tokens: no tokenizer.json in the folder")
	} else {
		ew.println("special tokens")
		var tok table
		tok.right = []bool{false, true, false}
		for _, t := range m.SpecialTokens {
			id := "not in the tokenizer"
			switch {
			case t.ID != nil:
				id = strconv.Itoa(*t.ID)
			case (t.Role == "user" || t.Role == "assistant") && t.Token != "":
				id = "plain text"
			}
			tok.add(t.Role, id, orDash(t.Token))
		}
		tok.write(ew, "  ")
	}
	ew.println()
	ew.printf("image input %d px (min side %d), %d image tokens per image\n", m.Preprocess.ImageSize, m.Preprocess.MinSize, m.Preprocess.NumImageTokens)
	return ew.err
}

func describeProjector(p projectorInfo) string {
	switch p.Type {
	case config.ProjectorMLPGELU:
		if p.Depth == 1 {
			return fmt.Sprintf("Linear %d → %d", p.InputDim, p.OutputDim)
		}
		return fmt.Sprintf("%d Linear layers with GELU: %d → %d", p.Depth, p.InputDim, p.OutputDim)
	case config.ProjectorLinear:
		return fmt.Sprintf("Linear %d → %d", p.InputDim, p.OutputDim)
	}
	return fmt.Sprintf("identity (%d)", p.InputDim)
}

func storedDTypes(m map[string]int64) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	if len(names) == 1 {
		return names[0]
	}
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %s params", n, commas(m[n]))
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func abbreviateList(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(", … (%d more)", len(names)-n)
}

// commas formats n with thousands separators.
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// humanBytes writes a size in decimal units (as model hubs list file sizes) with three
// significant digits or more.
func humanBytes(n int64) string {
	f := float64(n)
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case f < 1e6:
		return fmt.Sprintf("%.1f kB", f/1e3)
	case f < 1e9:
		return fmt.Sprintf("%.1f MB", f/1e6)
	}
	return fmt.Sprintf("%.2f GB", f/1e9)
}

// table aligns columns of text; right marks right-aligned columns. text/tabwriter aligns
// every column the same way, and numbers read better right-aligned beside left-aligned text.
type table struct {
	rows  [][]string
	right []bool
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w *errWriter, indent string) {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range t.rows {
		var b strings.Builder
		b.WriteString(indent)
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			last := i == len(r)-1
			switch {
			case i < len(t.right) && t.right[i]:
				b.WriteString(pad + c)
			case last:
				b.WriteString(c)
			default:
				b.WriteString(c + pad)
			}
			if !last {
				b.WriteString("  ")
			}
		}
		w.println(strings.TrimRight(b.String(), " "))
	}
}

// errWriter keeps the first write error so the printing code can ignore them.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

func (e *errWriter) println(args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintln(e.w, args...)
	}
}
