package main

// janus generate --model DIR --prompt TEXT|--prompt-file FILE [--n N] [--cfg W] [--temperature T] [--top-k K]
//                [--top-p P] [--seed S] [--out PATH] [--force] [--json] [--preview-every K]
//                [--max-memory GB] [--threads N] [--backend auto|cpu|metal]
//
// Generates N images for a prompt and writes them as PNG files, with the prompt, seed, CFG
// weight, temperature and model name in tEXt/iTXt chunks. Image i is stored with seed S+i:
// `--seed S+i --n 1` regenerates it alone. Files are written atomically (temporary file, then
// a rename), never over an existing file unless --force, and only once every image is done,
// so an interrupted run leaves no image behind.
//
// Output names (--out PATH): for one image PATH is the file, or a folder to write
// janus-<seed>.png into. For several images PATH is a pattern with %d (the image index from
// 0), a folder (janus-<seed>-%d.png inside it), or a file name that gets -<index> before its
// extension. Without --out the files go to the current folder. Only .png is written.
//
// Progress goes to stderr, for the token loop and then the VQ decode of the images: a bar
// redrawn in place on a terminal, otherwise a line every 10%.
// With --preview-every K a preview of every image is written after every K rows of the token
// grid to a file of the run's own beside the final one, <name>.preview-<random>.png (created
// so that it can never be an existing file, named on stderr, replaced atomically by each new
// preview and removed when generation ends). Without --preview-every no preview file is made
// or touched.
//
// Every option is checked before the model is loaded, and so is the output folder: it must
// exist and take a new file. The hidden temporary files (.NAME.png.NNN.tmp) that a run
// killed while writing an image left in it are removed then, once 10 minutes old. Before the token loop the memory the
// run needs (mostly the KV cache: two rows per image, in the --kv-cache format) is estimated and compared with
// --max-memory, by default 80% of physical memory less what the loaded model holds; a run
// that does not fit is refused with the numbers and the largest --n that fits.
//
// With --json one object is printed to stdout at the end:
//
//	images             array   per image, its written path (null for one that could not be saved)
//	tokens             array   per image, its image token ids (row-major grid)
//	seed               int     the seed of image 0
//	seconds            float   the whole run, decoding included
//	tokens_per_second  float   image tokens (all images) per second of the token loop

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/internal/pngfile"
	"github.com/janus-desktop/janus/model"
)

// generateResult is the --json output.
type generateResult struct {
	Images          []*string `json:"images"`
	Tokens          [][]int32 `json:"tokens"`
	Seed            uint64    `json:"seed"`
	Seconds         float64   `json:"seconds"`
	TokensPerSecond float64   `json:"tokens_per_second"`
}

// runGenerate implements the generate subcommand.
func runGenerate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("generate", stdout, stderr, "janus generate --model DIR|NAME --prompt TEXT|--prompt-file FILE [flags]",
		"Generate images from a text prompt and write them as PNG files.")
	var mf modelFlags
	mf.register(fs)
	var pf promptFlags
	pf.register(fs, "what to draw")
	n := fs.Int("n", 1, fmt.Sprintf("number of images, generated together (1 to %d)", model.MaxImages))
	cfg := fs.Float64("cfg", model.DefaultCFG, "classifier-free guidance weight, 0 or more (0: the prompt is ignored; higher follows it more closely)")
	temperature := fs.Float64("temperature", model.DefaultTemperature, "sampling temperature; 0 picks the most likely token")
	topK := fs.Int("top-k", 0, "sample among the K most likely tokens only (0: all, as the original)")
	topP := fs.Float64("top-p", 0, "sample among the most likely tokens holding this probability mass (0: all, as the original)")
	seed := fs.Uint64("seed", 0, "random seed (default: a random one, printed)")
	out := fs.String("out", "", "output file, folder, or pattern with %d for several images (default: janus-<seed>[-%d].png here)")
	force := fs.Bool("force", false, "overwrite existing files")
	asJSON := fs.Bool("json", false, "print one JSON object with the paths and tokens at the end")
	previewEvery := fs.Int("preview-every", 0, "write a preview every K rows of the token grid (0: none) to a temporary file beside the image, <name>.preview-<random>.png, named on stderr and removed when the images are written")
	maxMemory := fs.Float64("max-memory", 0, "GB the generation may allocate besides the weights (0: 80% of memory less the model; negative: no check)")
	if err := parseArgs(fs, args, "the prompt goes after --prompt"); err != nil {
		return err
	}
	if err := mf.check(); err != nil {
		return err
	}
	prompt, err := pf.read(stdin)
	if err != nil {
		return err
	}
	if err := app.CheckImagePrompt(prompt); err != nil {
		if pf.file != "" {
			err = fmt.Errorf("--prompt-file %s: %w", pf.file, err)
		}
		return err
	}
	if *n < 1 || *n > model.MaxImages {
		return fmt.Errorf("--n %d must be between 1 and %d", *n, model.MaxImages)
	}
	if math.IsNaN(*maxMemory) || math.IsInf(*maxMemory, 0) {
		return fmt.Errorf("--max-memory %v is not a number of GB", *maxMemory)
	}
	if !flagSet(fs, "seed") {
		s, err := app.RandomSeed()
		if err != nil {
			return err
		}
		*seed = s
	}
	opts := model.GenerateImageOptions{
		N: *n, CFG: *cfg, Temperature: *temperature, TopK: *topK, TopP: *topP, Seed: *seed,
		PreviewEvery: *previewEvery, MaxMemoryBytes: int64(*maxMemory * 1e9),
	}
	if *maxMemory < 0 {
		opts.MaxMemoryBytes = -1
	}
	if err := opts.Validate(); err != nil {
		return optionFlagError(err, map[string]string{"temperature": "temperature", "top-k": "top-k", "top-p": "top-p",
			"guidance": "cfg", "image count": "n", "preview interval": "preview-every"})
	}
	paths, err := outputPaths(*out, *n, fmt.Sprintf("janus-%d", *seed))
	if err != nil {
		return err
	}
	if err := checkTargets(paths, *force); err != nil {
		return err
	}
	removeStaleTemps(paths, stderr)

	start := time.Now()
	m, err := mf.load(ctx, model.Options{SkipUnderstanding: true}, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	if !flagSet(fs, "seed") {
		fmt.Fprintf(stderr, "seed %d\n", *seed)
	}

	bar := newProgressBar(stderr)
	previews := &previewFiles{finals: paths, announce: bar.note}
	defer previews.remove()
	var previewErr error
	res, err := m.GenerateImages(ctx, prompt, opts, func(p model.ImageProgress) {
		if p.DecodeStages > 0 {
			bar.decode(p.DecodeStage, p.DecodeStages)
			return
		}
		bar.update(p.Token, p.Tokens, p.TokensPerSecond, p.Remaining)
		if p.Preview != nil && previewErr == nil {
			previewErr = previews.write(p.Preview)
		}
	})
	bar.done()
	previews.remove()
	if me := (*model.MemoryError)(nil); errors.As(err, &me) {
		if me.Fits > 0 {
			return fmt.Errorf("%w (try --n %d, or --max-memory to change the limit)", err, me.Fits)
		}
		return fmt.Errorf("%w (--max-memory changes the limit)", err)
	}
	if err != nil {
		return err
	}
	if previewErr != nil {
		fmt.Fprintf(stderr, "warning: %v\n", previewErr)
	}

	name := mf.name
	// Every image made is saved that can be: one that cannot (a full disk, a file made
	// meanwhile without --force) does not cost the others, minutes of work.
	var failed []error
	var listErr error                         // writing the list of paths to stdout
	saved := make([]*string, len(res.Images)) // by image, as the tokens are: nil when not saved
	for i, img := range res.Images {
		meta := app.ImageMeta{
			Prompt: prompt, Seed: *seed + uint64(i), CFG: *cfg, Temperature: *temperature,
			TopK: *topK, TopP: *topP, Model: name, Software: app.Software(version),
		}
		if err := app.SaveImage(paths[i], img, meta, *force); err != nil {
			failed = append(failed, err)
			continue
		}
		saved[i] = &paths[i]
		if !*asJSON && listErr == nil {
			_, listErr = fmt.Fprintln(stdout, paths[i])
		}
	}
	err = nil
	if len(failed) > 0 {
		err = fmt.Errorf("%d of %d images not saved: %w", len(failed), len(res.Images), errors.Join(failed...))
	}
	if listErr != nil {
		err = errors.Join(err, fmt.Errorf("the images are saved, but their paths could not be written: %w", listErr))
	}
	if *asJSON {
		// Every image, also when some were not saved: a program reading it learns which.
		if jerr := writeJSON(stdout, generateResult{
			Images: saved, Tokens: res.Tokens, Seed: *seed,
			Seconds: time.Since(start).Seconds(), TokensPerSecond: res.TokensPerSecond(),
		}, false); err == nil {
			err = jerr
		}
	}
	return err
}

// outputPaths resolves --out for n images (see the command's comment); stem names the files
// when out is empty or a folder.
func outputPaths(out string, n int, stem string) ([]string, error) {
	isDir := false
	if out != "" {
		if st, err := os.Stat(out); err == nil && st.IsDir() {
			isDir = true
		} else if strings.HasSuffix(out, string(os.PathSeparator)) || strings.HasSuffix(out, "/") {
			return nil, fmt.Errorf("--out %s: no such folder", out)
		}
	}
	// A pattern's %d is in the file's name: a % in a folder's name is the folder's.
	dir, base := filepath.Split(out)
	paths := make([]string, n)
	for i := range paths {
		switch {
		case out == "" || isDir:
			name := stem + ".png"
			if n > 1 {
				name = fmt.Sprintf("%s-%d.png", stem, i)
			}
			paths[i] = filepath.Join(out, name)
		case strings.Contains(base, "%"):
			if strings.Count(base, "%") != 1 || !strings.Contains(base, "%d") {
				return nil, fmt.Errorf("--out %s: a pattern needs exactly one %%d and no other %% in the file name", out)
			}
			paths[i] = dir + strings.Replace(base, "%d", strconv.Itoa(i), 1)
		case n == 1:
			paths[i] = out
		default:
			ext := filepath.Ext(out)
			paths[i] = fmt.Sprintf("%s-%d%s", strings.TrimSuffix(out, ext), i, ext)
		}
	}
	return checkPNGPaths(paths)
}

// checkPNGPaths refuses names that would not be PNG files.
func checkPNGPaths(paths []string) ([]string, error) {
	for _, p := range paths {
		if ext := strings.ToLower(filepath.Ext(p)); ext != ".png" {
			return nil, fmt.Errorf("--out %s: images are written as PNG, the name must end in .png", p)
		}
	}
	return paths, nil
}

// checkTargets fails early, before a long generation, when an output already exists (unless
// force) or its folder does not exist or cannot be written to.
func checkTargets(paths []string, force bool) error {
	seen := map[string]bool{}
	writable := map[string]bool{}
	for _, p := range paths {
		if seen[p] {
			return fmt.Errorf("--out names %s twice", p)
		}
		seen[p] = true
		dir := filepath.Dir(p)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("cannot write %s: folder %s does not exist", p, dir)
		}
		if !writable[dir] {
			if err := checkWritable(dir); err != nil {
				return fmt.Errorf("cannot write %s: %w", p, err)
			}
			writable[dir] = true
		}
		if _, err := os.Lstat(p); err == nil && !force {
			return fmt.Errorf("%s already exists (use --force to overwrite)", p)
		}
	}
	return nil
}

// removeStaleTemps deletes, in the folders of paths, the hidden temporary files an earlier
// run killed while writing an image left behind, and says so on stderr; younger ones are kept
// (another run may be writing them) and named, so that a user can remove them once no run
// is. A failure is only a warning: the run itself does not need those files gone.
func removeStaleTemps(paths []string, stderr io.Writer) {
	done := map[string]bool{}
	for _, p := range paths {
		dir := filepath.Dir(p)
		if done[dir] {
			continue
		}
		done[dir] = true
		removed, kept, err := pngfile.RemoveStaleTemps(dir, pngfile.StaleTempAge)
		for _, r := range removed {
			fmt.Fprintf(stderr, "removed %s, left by an interrupted run\n", r)
		}
		for _, k := range kept {
			fmt.Fprintf(stderr, "kept %s: a temporary file younger than %v, which a run still writing may own (remove it if none is)\n", k, pngfile.StaleTempAge)
		}
		if err != nil {
			fmt.Fprintf(stderr, "warning: %v\n", err)
		}
	}
}

// checkWritable creates and removes a file in dir: permissions alone do not tell (root,
// ACLs, read-only mounts), and the outputs are only written after the whole generation.
func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".janus-write-check-*")
	if err != nil {
		return fmt.Errorf("folder %s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// previewNote follows a preview file's name on stderr: the file is the run's own, and
// goes away with it.
const previewNote = " (temporary: removed when the images are written)"

// previewFiles are the preview files of one run. Each is created on the first preview,
// whole, under a name no file has (newPreviewFile), and later previews replace it
// atomically, so a viewer never reads half a PNG and no file of the user's is ever written
// over or removed.
type previewFiles struct {
	finals   []string     // the images' final paths
	paths    []string     // the preview files created so far, by image
	announce func(string) // tells the user where a preview is
}

// write stores one preview per image.
func (p *previewFiles) write(imgs []*image.NRGBA) error {
	if p.paths == nil {
		p.paths = make([]string, len(p.finals))
	}
	for i, img := range imgs {
		if i >= len(p.finals) {
			break
		}
		if p.paths[i] == "" {
			path, err := newPreviewFile(p.finals[i], img)
			if err != nil {
				return err
			}
			p.paths[i] = path
			if p.announce != nil {
				p.announce("preview: " + path + previewNote)
			}
			continue
		}
		if err := pngfile.Write(p.paths[i], img, nil, true); err != nil {
			return fmt.Errorf("preview: %w", err)
		}
	}
	return nil
}

// newPreviewFile writes the first preview of the image final under a name no file has,
// <stem>.preview-<random>.png beside it. The file appears only once it holds the whole PNG:
// pngfile.Write without overwrite links its finished temporary file to the name and fails if the
// name is taken, and then another name is drawn.
func newPreviewFile(final string, img *image.NRGBA) (string, error) {
	stem := strings.TrimSuffix(filepath.Base(final), filepath.Ext(final))
	for range 100 {
		path := filepath.Join(filepath.Dir(final), fmt.Sprintf("%s.preview-%d.png", stem, mrand.Uint32()))
		err := pngfile.Write(path, img, nil, false)
		if errors.Is(err, pngfile.ErrExists) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("preview of %s: %w", final, err)
		}
		return path, nil
	}
	return "", fmt.Errorf("preview of %s: no free file name", final)
}

// remove deletes the preview files this run created, and only those.
func (p *previewFiles) remove() {
	for i, path := range p.paths {
		if path != "" {
			os.Remove(path)
			p.paths[i] = ""
		}
	}
}

// progressBar draws generation progress on stderr, the token loop then the VQ decode: in
// place on a terminal, as a line every 10% otherwise (logs and pipes).
type progressBar struct {
	w          io.Writer
	terminal   bool
	lastTick   int
	decodeTick int
	drawn      bool
}

func newProgressBar(w io.Writer) *progressBar {
	return &progressBar{w: w, terminal: isTerminal(w), lastTick: -1, decodeTick: -1}
}

// decode shows the final VQ decode: done of total decoder stages over all images.
func (b *progressBar) decode(done, total int) {
	if b.terminal {
		const width = 30
		fill := done * width / total
		fmt.Fprintf(b.w, "\r[%s%s] decoding the images: %d/%d stages\033[K", strings.Repeat("#", fill), strings.Repeat("-", width-fill), done, total)
		b.drawn = true
		return
	}
	if tick := done * 10 / total; tick != b.decodeTick {
		b.decodeTick = tick
		fmt.Fprintf(b.w, "decode:   %3d%%  %d/%d stages\n", done*100/total, done, total)
	}
}

// isTerminal reports whether w is a character device (a terminal), without cgo or ioctls.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (b *progressBar) update(done, total int, rate float64, left time.Duration) {
	stats := fmt.Sprintf("%d/%d tokens", done, total)
	if rate > 0 {
		stats += fmt.Sprintf("  %.1f tok/s  %s left", rate, formatDuration(left))
	}
	if b.terminal {
		const width = 30
		fill := done * width / total
		fmt.Fprintf(b.w, "\r[%s%s] %s\033[K", strings.Repeat("#", fill), strings.Repeat("-", width-fill), stats)
		b.drawn = true
		return
	}
	if tick := done * 10 / total; tick != b.lastTick {
		b.lastTick = tick
		fmt.Fprintf(b.w, "generate: %3d%%  %s\n", done*100/total, stats)
	}
}

// note prints a line of its own between two updates of the bar.
func (b *progressBar) note(msg string) {
	if b.terminal && b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
		b.drawn = false
	}
	fmt.Fprintln(b.w, msg)
}

func (b *progressBar) done() {
	if b.terminal && b.drawn {
		fmt.Fprintln(b.w)
	}
}

// formatDuration prints m:ss (or h:mm:ss).
func formatDuration(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
