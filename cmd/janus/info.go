package main

// janus info --model DIR|NAME [--json]
//
// Describes a model folder: family, the dimensions of every part, parameter counts, stored
// dtype, weight files, special token ids and the memory the weights need at each precision.
// It reads only headers and config files, so it is instant even for Janus-Pro-7B.
//
// The --json output is app.ModelInfo, whose fields' comments say what each holds (stable;
// new fields may be added), and "compute": the backend this machine runs the model on
// (computeInfo: "backend" and, for the CPU, "kernels" as JANUS_CPU_KERNELS caps them,
// "bf16_kernels" and "int8_kernels", what --precision bf16 and --weights q8|q4|q4m would run).

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/weights"
)

// runInfo implements the info subcommand.
func runInfo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("info", stdout, stderr, "janus info --model DIR|NAME [--json]",
		"Describe a Janus / Janus-Pro model folder: parts, parameters, files, special tokens, memory.")
	dir := fs.String("model", "", modelFlagUsage)
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	if err := parseArgs(fs, args, "the folder goes after --model"); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("missing --model DIR|NAME ('janus models' lists the models found)")
	}
	resolved, err := resolveModel(*dir)
	if err != nil {
		return err
	}
	info, err := app.Describe(resolved)
	if err != nil {
		return withLoadHint(err, *dir)
	}
	// The backend is made only to name it: which kernels run depends on this machine and on
	// JANUS_CPU_KERNELS, not on the model folder.
	var ci *computeInfo
	if be, err := compute.Open("auto", compute.Options{Threads: 1}); err == nil {
		c := describeBackend(be)
		be.Close()
		ci = &c
	}
	if *asJSON {
		return writeJSON(stdout, struct {
			*app.ModelInfo
			Compute *computeInfo `json:"compute,omitempty"`
		}{info, ci}, true)
	}
	return writeInfoText(stdout, info, ci)
}

// writeInfoText prints the human-readable description, with the compute backend when ci is
// not nil.
func writeInfoText(w io.Writer, m *app.ModelInfo, ci *computeInfo) error {
	ew := &errWriter{w: w}
	var head table
	head.add("model", m.Model)
	family := m.Family
	if family == "unknown" {
		family = "unknown (no tokenizer.json)"
	}
	head.add("family", family)
	head.add("weights", storedDTypes(m.StoredDTypes)+" (config torch_dtype "+orDash(m.TorchDType)+")")
	if ci != nil {
		head.add("compute", ci.String())
		switch ci.BF16Kernels {
		case "avx512+amx":
			head.add("--precision bf16", "runs the large products on AMX here: prompts, vision and image decoding several times faster, within the README's tolerance")
		case "avx512", "avx512+vdpbf16ps":
			head.add("--precision bf16", "runs the large products in BF16 on AVX-512 here: faster prompts and images, within the README's tolerance")
		}
		if ci.Int8Kernels != "" {
			note := " (Linear with --weights q8|q4|q4m)"
			if strings.HasSuffix(ci.Int8Kernels, "+amx") {
				note = " (Linear with --weights q8|q4|q4m; the released models' matrices run in row groups on the VNNI kernels, +amx: Q8 matrices of other shapes with 2–15 rows on the AMX tiles)"
			}
			head.add("int8 kernels", ci.Int8Kernels+note)
		}
	}
	head.add("default --weights", m.DefaultWeights+" on this machine: "+m.DefaultWeightsReason)
	head.write(ew, "")

	ew.println()
	var files table
	files.right = []bool{false, true, false}
	for _, f := range m.Files {
		files.add(f.Name, commas(f.Bytes), "bytes  ("+app.PreciseBytes(f.Bytes)+")")
	}
	if len(m.Files) > 1 {
		files.add("total", commas(m.FilesBytes), "bytes  ("+app.PreciseBytes(m.FilesBytes)+")")
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
	parts.add("aligner", strconv.Itoa(a.Tensors), commas(a.Params), describeProjector(a.ProjectorInfo))
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
	ew.println("memory of the weights (KV cache and activations not included; Q8_0/Q4_0/Q4M as --weights q8/q4/q4m stores them)")
	var mem table
	mem.right = []bool{false, true, true, true, true, true}
	mem.add("", "F32", "BF16/F16", "Q8_0", "Q4_0", "Q4M")
	for _, r := range []struct {
		name string
		b    map[string]int64
	}{{"vision", v.MemoryBytes}, {"aligner", a.MemoryBytes}, {"llm", l.MemoryBytes}, {"vq", q.MemoryBytes}, {"gen", g.MemoryBytes}, {"total", m.MemoryBytes}} {
		row := []string{r.name}
		for _, p := range weights.Precisions() {
			row = append(row, app.PreciseBytes(r.b[string(p)]))
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

func describeProjector(p app.ProjectorInfo) string {
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
