package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/janus-desktop/janus/model"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/prompt"
	"github.com/janus-desktop/janus/model/tokenizer"
	"github.com/janus-desktop/janus/model/weights"
)

// FamilyUnknown is ModelEntry.Family when the folder has no readable tokenizer.
const FamilyUnknown = "unknown"

// ModelEntry describes one model folder found on disk. Broken folders are entries too
// (Complete false, Problem saying why), so the app can offer to repair a download rather
// than hide it.
type ModelEntry struct {
	// Name is what the user calls the model: the repository name for a Hugging Face cache
	// entry ("Janus-Pro-1B"), otherwise the folder's name.
	Name string `json:"name"`
	// Repo is the Hugging Face repository ("deepseek-ai/Janus-Pro-1B") of a cache entry; ""
	// for a plain folder.
	Repo string `json:"repo,omitempty"`
	// Path is the folder holding config.json (for a cache entry, the snapshot folder), which
	// model.Load takes.
	Path string `json:"path"`
	// Family is "Janus" or "Janus-Pro" as the prompt builder tells it from the tokenizer, or
	// FamilyUnknown without one.
	Family string `json:"family"`
	// Params counts the elements of every tensor in the checkpoint (0 when it cannot be opened).
	Params int64 `json:"params"`
	// WeightBytes is the size of the weight files present (indexes not counted).
	WeightBytes int64 `json:"weight_bytes"`
	// Complete is true when config, weights and tokenizer are all present and consistent.
	Complete bool `json:"complete"`
	// Problem says what is wrong when Complete is false: every problem found, as the config,
	// checkpoint and tokenizer readers word them, "; "-separated (a config error spans lines).
	Problem string `json:"problem,omitempty"`
	// Summary is Problem in one plain line for a window ("a weight file is cut short:
	// probably an interrupted download or copy"), which shows Problem on request.
	Summary string `json:"summary,omitempty"`
	// Damaged is set when Complete is false for more than missing or cut-short files (what
	// an unfinished download or copy leaves): a config, weights or tokenizer present but
	// unusable, which downloading the rest would not mend.
	Damaged bool `json:"damaged,omitempty"`
}

// Status is the entry's state in a word: "ok", "incomplete" (files missing or cut short) or
// "damaged" (see Damaged).
func (e ModelEntry) Status() string {
	switch {
	case e.Complete:
		return "ok"
	case e.Damaged:
		return "damaged"
	}
	return "incomplete"
}

// ErrNotModel is returned by Inspect for a folder that is not a Janus model folder.
var ErrNotModel = errors.New("not a Janus model folder")

// ErrNoModel is wrapped by Find when no model has the name asked for.
var ErrNoModel = errors.New("no such model")

// maxScanDepth is how far below a root Discover looks for model folders: the root itself, a
// folder in it (models/Janus-Pro-1B, hub/models--...), or one more level
// (models/deepseek-ai/Janus-Pro-1B, ~/.cache/huggingface/hub/models--...).
const maxScanDepth = 2

// maxConfigBytes bounds the config.json Discover reads to tell whether a folder is a Janus
// model; released ones are under 2 kB, and a huge file is not a model config.
const maxConfigBytes = 1 << 20

// weightFiles are the checkpoint files a model folder may hold, in the order
// checkpoint.Open tries them.
var weightFiles = []string{
	"model.safetensors", "model.safetensors.index.json",
	"pytorch_model.bin", "pytorch_model.bin.index.json",
}

// Discover finds the Janus model folders under roots, in root order and, within a root, in
// path order. A root may be a model folder itself, a folder of model folders (one or two
// levels deep), or a Hugging Face hub cache. Roots that do not exist are skipped, since the
// default ones often do not; folders reached twice (overlapping roots, symlinks) are listed
// once. It opens only config files, tokenizers and checkpoint headers, never tensor data.
//
// Discover returns every model it found even when err is not nil; err joins the folders it
// could not read.
func Discover(roots []string) ([]ModelEntry, error) {
	d := discovery{seen: map[string]bool{}}
	for _, root := range roots {
		st, err := os.Stat(root)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			d.errs = append(d.errs, fmt.Errorf("model folder root: %w", err))
			continue
		}
		if !st.IsDir() {
			d.errs = append(d.errs, fmt.Errorf("model folder root %s is a file, not a folder", root))
			continue
		}
		d.scan(root, 0)
	}
	return d.found, errors.Join(d.errs...)
}

// discovery is the state of one Discover call.
type discovery struct {
	found []ModelEntry
	seen  map[string]bool // real paths of the folders already inspected
	errs  []error
}

func (d *discovery) scan(dir string, depth int) {
	if repo, ok := hfRepoName(filepath.Base(dir)); ok {
		d.scanHFRepo(dir, repo)
		return
	}
	if e, err := Inspect(dir); err == nil {
		d.add(e)
		return
	} else if !errors.Is(err, ErrNotModel) {
		d.errs = append(d.errs, err)
		return
	}
	if depth >= maxScanDepth {
		return
	}
	children, err := os.ReadDir(dir)
	if err != nil {
		d.errs = append(d.errs, fmt.Errorf("search for models: %w", err))
		return
	}
	for _, c := range children {
		name := c.Name()
		// Hidden folders (.git, the cache's .locks) and the cache's datasets and spaces hold
		// no models.
		if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "datasets--") || strings.HasPrefix(name, "spaces--") {
			continue
		}
		p := filepath.Join(dir, name)
		if !c.IsDir() {
			// Follow symlinks to folders: users link models in from other disks.
			if c.Type()&fs.ModeSymlink == 0 {
				continue
			}
			if st, err := os.Stat(p); err != nil || !st.IsDir() {
				continue
			}
		}
		d.scan(p, depth+1)
	}
}

// add records e unless its folder was already found through another path.
func (d *discovery) add(e ModelEntry) {
	key := e.Path
	if real, err := filepath.EvalSymlinks(e.Path); err == nil {
		key = real
	}
	if abs, err := filepath.Abs(key); err == nil {
		key = abs
	}
	if d.seen[key] {
		return
	}
	d.seen[key] = true
	d.found = append(d.found, e)
}

// scanHFRepo inspects the snapshot refs/main names in a cache folder models--ORG--NAME.
// Cache folders of other models are skipped like any non-Janus folder.
func (d *discovery) scanHFRepo(dir, repo string) {
	snap, err := hfSnapshot(dir)
	if err != nil {
		d.errs = append(d.errs, err)
		return
	}
	if snap == "" {
		return // nothing downloaded yet, so nothing says it is a Janus model
	}
	e, err := Inspect(snap)
	if errors.Is(err, ErrNotModel) {
		return
	}
	if err != nil {
		d.errs = append(d.errs, err)
		return
	}
	e.Repo = repo
	e.Name = repo[strings.IndexByte(repo, '/')+1:]
	if !e.Complete && hasUnfinishedBlobs(dir) {
		e.Problem += "; a download into " + filepath.Join(dir, "blobs") + " is unfinished"
		e.Summary += "; a download of it is unfinished"
	}
	d.add(e)
}

// RepoOf is the Hugging Face repository ("deepseek-ai/Janus-Pro-1B") whose snapshot dir
// is, in a hub cache (…/models--ORG--NAME/snapshots/REVISION), or "" for another folder:
// what a model loaded from the cache is also called.
func RepoOf(dir string) string {
	snapshots := filepath.Dir(filepath.Clean(dir))
	if filepath.Base(snapshots) != "snapshots" {
		return ""
	}
	repo, _ := hfRepoName(filepath.Base(filepath.Dir(snapshots)))
	return repo
}

// hfRepoName turns a hub cache folder name models--ORG--NAME into ORG/NAME. Hub repository
// names cannot contain "--", so the first one after the prefix separates the two.
func hfRepoName(folder string) (string, bool) {
	rest, ok := strings.CutPrefix(folder, "models--")
	if !ok {
		return "", false
	}
	org, name, ok := strings.Cut(rest, "--")
	if !ok || org == "" || name == "" {
		return "", false
	}
	return org + "/" + name, true
}

// hfSnapshot returns the snapshot folder of a cache repository folder: the one refs/main
// names, or, when that file or its snapshot is missing (a download of a pinned revision),
// the most recently modified snapshot. It returns "" when there is none.
func hfSnapshot(repoDir string) (string, error) {
	snapshots := filepath.Join(repoDir, "snapshots")
	if ref, err := os.ReadFile(filepath.Join(repoDir, "refs", "main")); err == nil {
		// A revision is a commit hash; anything that could leave snapshots/ is ignored.
		rev := strings.TrimSpace(string(ref))
		p := filepath.Join(snapshots, rev)
		valid := rev != "" && rev != "." && rev != ".." && !strings.ContainsAny(rev, `/\`)
		if st, err := os.Stat(p); err == nil && st.IsDir() && valid {
			return p, nil
		}
	}
	revs, err := os.ReadDir(snapshots)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read hub cache snapshots: %w", err)
	}
	newest, best := "", int64(0)
	for _, r := range revs {
		if !r.IsDir() {
			continue
		}
		info, err := r.Info()
		if err != nil {
			continue
		}
		if t := info.ModTime().UnixNano(); newest == "" || t > best {
			newest, best = filepath.Join(snapshots, r.Name()), t
		}
	}
	return newest, nil
}

// hasUnfinishedBlobs reports whether huggingface_hub left a partial download (a
// blobs/*.incomplete file) in a cache repository folder.
func hasUnfinishedBlobs(repoDir string) bool {
	m, _ := filepath.Glob(filepath.Join(repoDir, "blobs", "*.incomplete"))
	return len(m) > 0
}

// Inspect describes the model folder dir. A folder is a Janus model folder when its
// config.json names model_type "multi_modality" or the MultiModalityCausalLM architecture;
// anything else gives ErrNotModel. Such a folder is an entry even when its weights or
// tokenizer are missing, since that is what an unfinished download looks like; Complete
// and Problem tell. Other errors mean the folder could not be read at all.
func Inspect(dir string) (ModelEntry, error) {
	ok, err := isJanusConfig(dir)
	if err != nil {
		return ModelEntry{}, err
	}
	if !ok {
		return ModelEntry{}, fmt.Errorf("%s: %w", dir, ErrNotModel)
	}
	e := ModelEntry{Name: filepath.Base(dir), Path: dir, Family: FamilyUnknown}
	if abs, err := filepath.Abs(dir); err == nil {
		e.Name = filepath.Base(abs) // "." names no model
	}
	if repo := RepoOf(dir); repo != "" {
		// A hub cache snapshot, named by its commit: the window showed the hash.
		e.Name, e.Repo = path.Base(repo), repo
	}
	// Each problem in full, and in the plain words of a window; damaged, as opposed to
	// missing or cut short.
	var problems, plain []string
	add := func(err error, summary string, damaged bool) {
		problems = append(problems, err.Error())
		plain = append(plain, summary)
		e.Damaged = e.Damaged || damaged
	}

	cfg, err := config.Load(dir)
	if err != nil {
		add(err, "its config.json cannot be used", true)
	}

	switch ck, err := openWeights(dir); {
	case errors.Is(err, checkpoint.ErrTruncated):
		add(err, "a weight file is cut short: probably an interrupted download or copy", false)
		e.WeightBytes = presentWeightBytes(dir)
	case errors.Is(err, errNoWeights):
		add(err, "it has no weight files", false)
	case errors.Is(err, fs.ErrNotExist):
		add(err, "a weight file is missing: probably an unfinished download", false)
		e.WeightBytes = presentWeightBytes(dir)
	case err != nil:
		add(err, "its weights cannot be read", true)
		e.WeightBytes = presentWeightBytes(dir)
	default:
		e.WeightBytes, err = filesBytes(ck.Files())
		if err != nil {
			add(err, "a weight file cannot be read", true)
		}
		e.Params = checkpointParams(ck)
		if cfg != nil {
			if _, err := weights.Check(ck, model.Plan(cfg)); err != nil {
				add(err, "its weights do not match its config.json", true)
			}
		}
		ck.Close()
	}

	tok, err := tokenizer.Load(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		add(errors.New("missing tokenizer.json"), "it has no tokenizer.json", false)
	case err != nil:
		add(err, "its tokenizer cannot be read", true)
	default:
		e.Family = string(prompt.FamilyOf(tok))
	}

	e.Complete = len(problems) == 0
	e.Problem = strings.Join(problems, "; ")
	e.Summary = strings.Join(plain, "; ")
	return e, nil
}

// isJanusConfig reports whether dir/config.json identifies a Janus model. Only the two
// identifying fields are read here: config.Load then reads the whole file, and would take
// a config without either field for a Janus one (the Python code defaults them), which is
// right for loading a folder the user named but not for telling models apart in a cache
// full of other ones. A config.json that is not JSON cannot tell either way: it counts as a
// Janus one, so that the folder is listed as incomplete with config.Load's error instead of
// vanishing from the list.
func isJanusConfig(dir string) (bool, error) {
	p := filepath.Join(dir, config.ConfigFile)
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("inspect model folder: %w", err)
	}
	if st.IsDir() || st.Size() > maxConfigBytes {
		return false, nil
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		return false, fmt.Errorf("inspect model folder: %w", err)
	}
	var id struct {
		ModelType     any `json:"model_type"`
		Architectures any `json:"architectures"`
	}
	if json.Unmarshal(raw, &id) != nil {
		return true, nil
	}
	if id.ModelType == "multi_modality" {
		return true, nil
	}
	archs, _ := id.Architectures.([]any)
	return slices.Contains(archs, any("MultiModalityCausalLM")), nil
}

// openWeights opens the checkpoint of dir, with a short error when there is none at all.
func openWeights(dir string) (*checkpoint.Checkpoint, error) {
	for _, name := range weightFiles {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return checkpoint.Open(dir)
		}
	}
	return nil, errNoWeights
}

var errNoWeights = errors.New("no weight files (model.safetensors, pytorch_model.bin or a sharded index)")

// checkpointParams counts the elements of every tensor.
func checkpointParams(ck *checkpoint.Checkpoint) int64 {
	var n int64
	for _, t := range ck.Tensors() {
		n += int64(t.NumElements())
	}
	return n
}

// filesBytes sums the sizes of files (following symlinks, as the cache's are).
func filesBytes(files []string) (int64, error) {
	var n int64
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return n, fmt.Errorf("weight file: %w", err)
		}
		n += st.Size()
	}
	return n, nil
}

// presentWeightBytes sums the weight files in dir when its checkpoint cannot be opened
// (a missing shard), so a partial download still shows how much of it is there.
func presentWeightBytes(dir string) int64 {
	var n int64
	for _, pattern := range []string{"*.safetensors", "pytorch_model*.bin"} {
		files, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, f := range files {
			if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
				n += st.Size()
			}
		}
	}
	return n
}

// Find returns the entry the user means by name: the one whose Name or Repo equals it,
// ignoring case ("janus-pro-1b", "deepseek-ai/Janus-Pro-1B"). When several match, the first
// complete one wins (entries are in root order, so the app's own folder comes before the
// Hugging Face cache); when only incomplete or damaged ones match, the error says what is wrong with
// the first, which is returned with it (so the app can offer to repair it). Without a match
// the error wraps ErrNoModel and lists the known names.
func Find(entries []ModelEntry, name string) (ModelEntry, error) {
	var broken *ModelEntry
	for i, e := range entries {
		if !strings.EqualFold(e.Name, name) && (e.Repo == "" || !strings.EqualFold(e.Repo, name)) {
			continue
		}
		if e.Complete {
			return e, nil
		}
		if broken == nil {
			broken = &entries[i]
		}
	}
	if broken != nil {
		return *broken, fmt.Errorf("model %s in %s is %s: %s", broken.Name, broken.Path, broken.Status(), broken.Problem)
	}
	var names []string
	for _, e := range entries {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, e.Name) }) {
			names = append(names, e.Name)
		}
	}
	if len(names) == 0 {
		return ModelEntry{}, fmt.Errorf("%w %q: no models found", ErrNoModel, name)
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return ModelEntry{}, fmt.Errorf("%w %q; known models: %s", ErrNoModel, name, strings.Join(names, ", "))
}
