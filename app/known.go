package app

import (
	"slices"
	"strings"
)

// DefaultRepo is the model the app offers first: the smallest Janus-Pro.
const DefaultRepo = "deepseek-ai/Janus-Pro-1B"

// KnownModel is a released Janus model the app offers to download. The sizes are
// estimates, for the download screen: DownloadBytes is every tensor at 2 bytes (the
// releases store BF16) plus the tokenizer and config files; MemoryBytes adds the engine's
// working memory to the weights (measured for Pro-1B shapes with `janus bench`, scaled
// for the 7B's larger cache). app/hub's TestKnownModelSizes checks them against the
// released tensor shapes.
type KnownModel struct {
	// Repo is the Hugging Face repository.
	Repo string
	// Params counts the elements of every released tensor.
	Params int64
	// DownloadBytes and MemoryBytes are the size of the download and the memory the model
	// needs to run.
	DownloadBytes, MemoryBytes int64
	// Summary is one line for a picker.
	Summary string
}

var knownModels = []KnownModel{
	{Repo: "deepseek-ai/Janus-Pro-1B", Params: 2_089_297_547, DownloadBytes: 4_185_000_000, MemoryBytes: 6_000_000_000,
		Summary: "Janus-Pro 1B: understanding and generation; the default"},
	{Repo: "deepseek-ai/Janus-Pro-7B", Params: 7_420_434_059, DownloadBytes: 14_847_000_000, MemoryBytes: 18_000_000_000,
		Summary: "Janus-Pro 7B: the best answers and images; needs a large machine"},
	{Repo: "deepseek-ai/Janus-1.3B", Params: 2_089_297_547, DownloadBytes: 4_185_000_000, MemoryBytes: 6_000_000_000,
		Summary: "Janus 1.3B: the first release"},
}

// KnownModels lists the released Janus models, the default first.
func KnownModels() []KnownModel { return slices.Clone(knownModels) }

// knownModel is the entry of repo in KnownModels (the zero value for another repository).
func knownModel(repo string) KnownModel {
	for _, k := range knownModels {
		if k.Repo == repo {
			return k
		}
	}
	return KnownModel{Repo: repo}
}

// repoName is the name part of a repository id: "Janus-Pro-1B".
func repoName(repo string) string {
	_, name, _ := strings.Cut(repo, "/")
	return name
}
