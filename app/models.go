package app

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/janus-desktop/janus/model"
)

// Location says where a model lives, for the picker.
type Location string

// Model locations.
const (
	// LocationApp is the app's own models folder (UserModelsDir).
	LocationApp Location = "app folder"
	// LocationHFCache is the Hugging Face hub cache.
	LocationHFCache Location = "Hugging Face cache"
	// LocationUser is a folder the user added in the settings.
	LocationUser Location = "your folder"
	// LocationEnv is a folder JANUS_MODELS names.
	LocationEnv Location = "JANUS_MODELS"
)

// SearchRoot is one folder the model search looks in.
type SearchRoot struct {
	// Path is the folder.
	Path string
	// Location says what it is.
	Location Location
	// Exists is false for a folder that is not there (often the case for the defaults).
	Exists bool
}

// ModelChoice is one line of the model picker.
type ModelChoice struct {
	ModelEntry
	// Location says where it lives.
	Location Location
	// Footprint sizes the memory it needs (Footprint.Need; the zero Footprint when unknown, as
	// for an incomplete folder).
	Footprint Footprint
}

// ModelSearch is what the picker and the "no model found" screen show.
type ModelSearch struct {
	// Roots are the folders searched, in order.
	Roots []SearchRoot
	// Models are the models found (complete or not).
	Models []ModelChoice
	// Err joins the folders that could not be read.
	Err error
}

// SearchRoots lists the folders to search: DefaultRoots(env) and then the user's extra
// folders, each with its Location.
func SearchRoots(env Env, extra []string) []SearchRoot {
	var roots []SearchRoot
	add := func(p string, loc Location) {
		if p == "" || slices.ContainsFunc(roots, func(r SearchRoot) bool { return filepath.Clean(r.Path) == filepath.Clean(p) }) {
			return
		}
		st, err := os.Stat(p)
		roots = append(roots, SearchRoot{Path: p, Location: loc, Exists: err == nil && st.IsDir()})
	}
	if env.get("JANUS_MODELS") != "" {
		for _, r := range DefaultRoots(env) {
			add(r, LocationEnv)
		}
	} else {
		add(env.UserModelsDir(), LocationApp)
		add(env.HFHubCache(), LocationHFCache)
	}
	for _, r := range extra {
		add(r, LocationUser)
	}
	return roots
}

// SearchModels runs Discover over SearchRoots(env, extra) and sizes what it finds.
func SearchModels(env Env, extra []string) ModelSearch {
	s := ModelSearch{Roots: SearchRoots(env, extra)}
	paths := make([]string, len(s.Roots))
	for i, r := range s.Roots {
		paths[i] = r.Path
	}
	entries, err := Discover(paths)
	s.Err = err
	for _, e := range entries {
		c := ModelChoice{ModelEntry: e, Location: s.locate(e.Path)}
		if e.Complete {
			if fp, err := FolderFootprint(e.Path); err == nil {
				c.Footprint = fp
			}
		}
		s.Models = append(s.Models, c)
	}
	return s
}

// locate finds the root a model folder was found under (the longest one holding it).
func (s ModelSearch) locate(dir string) Location {
	loc, best := LocationUser, -1
	for _, r := range s.Roots {
		rel, err := filepath.Rel(r.Path, dir)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		if n := len(filepath.Clean(r.Path)); n > best {
			loc, best = r.Location, n
		}
	}
	return loc
}

// Preferred is the model to use when none is named: the default model (DefaultRepo, in the
// hub cache or a folder of its name) when it is complete, else the first complete one; false
// when none is complete.
func (s ModelSearch) Preferred() (ModelChoice, bool) {
	i := preferredIndex(len(s.Models), func(i int) ModelEntry { return s.Models[i].ModelEntry })
	if i < 0 {
		return ModelChoice{}, false
	}
	return s.Models[i], true
}

// Preferred is ModelSearch.Preferred for the entries Discover returns.
func Preferred(entries []ModelEntry) (ModelEntry, bool) {
	i := preferredIndex(len(entries), func(i int) ModelEntry { return entries[i] })
	if i < 0 {
		return ModelEntry{}, false
	}
	return entries[i], true
}

// preferredIndex is the index of the preferred one of n entries, at(i) the i-th (-1 for
// none): the lists are sorted by name, which puts Janus-1.3B before the default.
func preferredIndex(n int, at func(int) ModelEntry) int {
	first := -1
	for i := range n {
		e := at(i)
		if !e.Complete {
			continue
		}
		if isCopyOf(e, DefaultRepo) {
			return i // in the hub cache, or a folder of its name
		}
		if first < 0 {
			first = i
		}
	}
	return first
}

// Copy is a complete copy of the released model repo that the search found: its hub cache
// entry, or a folder of its name (models/Janus-Pro-1B under JANUS_MODELS); false when none.
// The download screen offers to load it instead of downloading it again.
func (s ModelSearch) Copy(repo string) (ModelChoice, bool) {
	for _, m := range s.Models {
		if m.Complete && isCopyOf(m.ModelEntry, repo) {
			return m, true
		}
	}
	return ModelChoice{}, false
}

// isCopyOf reports whether e is repo: by the hub cache's name, or a plain folder's.
func isCopyOf(e ModelEntry, repo string) bool {
	return e.Repo == repo || e.Repo == "" && strings.EqualFold(e.Name, repoName(repo))
}

// Usable are the complete models.
func (s ModelSearch) Usable() []ModelChoice {
	var out []ModelChoice
	for _, m := range s.Models {
		if m.Complete {
			out = append(out, m)
		}
	}
	return out
}

// NoModelText is the "no model found" screen's text: where models were looked for and how
// to get one.
func (s ModelSearch) NoModelText() string {
	var b strings.Builder
	b.WriteString("No Janus model was found. Janus Desktop looked in:\n")
	appDir, hub := "", ""
	for _, r := range s.Roots {
		state := ""
		if !r.Exists {
			state = ", not there"
		}
		fmt.Fprintf(&b, "  • %s (%s%s)\n", r.Path, r.Location, state)
		switch r.Location {
		case LocationApp:
			appDir = r.Path
		case LocationHFCache:
			hub = r.Path
		}
	}
	if broken := len(s.Models) - len(s.Usable()); broken > 0 {
		fmt.Fprintf(&b, "%d model folder(s) were found but are incomplete; the model list says what is missing.\n", broken)
	}
	b.WriteString("\nTo get one:\n")
	repo := SuggestedRepos()[0]
	fmt.Fprintf(&b, "  • download one with Download (or in a terminal: janus pull %s)\n", repo)
	if hub != "" {
		fmt.Fprintf(&b, "  • or download it with the Hugging Face tools: huggingface-cli download %s (it lands in %s)\n", repo, hub)
	} else {
		fmt.Fprintf(&b, "  • or download it with the Hugging Face tools: huggingface-cli download %s\n", repo)
	}
	if appDir != "" {
		fmt.Fprintf(&b, "  • or put a model folder (config.json, the weights and the tokenizer files) in %s\n", appDir)
	}
	b.WriteString("  • or add the folder that holds your models with Add folder…\n")
	repos := SuggestedRepos()
	small, _ := FindKnown(repos[0])
	large, _ := FindKnown(repos[len(repos)-1])
	fmt.Fprintf(&b, "%s is a %s download that suits most computers; %s (%s) draws and reads better and needs %s of memory.",
		repoName(small.Repo), FormatBytes(small.DownloadBytes), repoName(large.Repo), FormatBytes(large.DownloadBytes), FormatBytes(large.Footprint.Need(model.WeightsStored)))
	return b.String()
}

// SuggestedRepos are the Hugging Face repositories of the released models (KnownModels),
// smallest download first, the default first among equals.
func SuggestedRepos() []string {
	known := KnownModels()
	slices.SortStableFunc(known, func(a, b KnownModel) int { return cmp.Compare(a.DownloadBytes, b.DownloadBytes) })
	repos := make([]string, len(known))
	for i, k := range known {
		repos[i] = k.Repo
	}
	return repos
}

// StartModel is the model a window loads when it starts.
type StartModel struct {
	// Path is the model folder to load, "" when there is none to load.
	Path string
	// Name is what to call it.
	Name string
	// LastProblem says why the model used last is not the one loaded ("" when it is, or when
	// none was used): another loading instead, a 1B model for the 7B one, must not pass
	// unsaid.
	LastProblem string
}

// StartModel chooses the model to load at start: requested (a folder named on the command
// line) when not "", else lastUsed (Settings.LastModel) when it is complete, loaded even where
// the search does not look (a download into the hub cache while JANUS_MODELS names other
// folders), else Preferred. It looks at lastUsed on disk: call it off a UI goroutine.
func (s ModelSearch) StartModel(requested, lastUsed string) StartModel {
	if requested != "" {
		name := filepath.Base(requested)
		for _, m := range s.Models {
			if m.Path == requested {
				name = m.Name
			}
		}
		return StartModel{Path: requested, Name: name}
	}
	var start StartModel
	if lastUsed != "" {
		var e ModelEntry
		var err error
		found := slices.IndexFunc(s.Models, func(m ModelChoice) bool { return m.Path == lastUsed })
		if found >= 0 {
			e = s.Models[found].ModelEntry
		} else {
			e, err = Inspect(lastUsed)
		}
		_, statErr := os.Stat(lastUsed)
		switch {
		case errors.Is(statErr, fs.ErrNotExist):
			start.LastProblem = fmt.Sprintf("The model used last (%s) is no longer there", lastUsed)
		case err != nil:
			problem, _, _ := strings.Cut(err.Error(), "\n") // a config error spans lines
			start.LastProblem = fmt.Sprintf("The model used last (%s) cannot be read: %s", lastUsed, problem)
		case !e.Complete:
			start.LastProblem = fmt.Sprintf("%s, the model used last, cannot be loaded: %s", e.Name, e.Summary)
		default:
			start.Path, start.Name = e.Path, e.Name
			return start
		}
	}
	if pick, ok := s.Preferred(); ok {
		start.Path, start.Name = pick.Path, pick.Name
	}
	return start
}
