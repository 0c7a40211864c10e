package app

import (
	"slices"
	"strings"

	"github.com/janus-desktop/janus/model"
)

// DefaultRepo is the model the app offers first: the smallest Janus-Pro.
const DefaultRepo = "deepseek-ai/Janus-Pro-1B"

// KnownModel is a released Janus model the app offers to download. The sizes are
// estimates, for the download screen: DownloadBytes is every tensor at 2 bytes (the
// releases store BF16) plus the tokenizer and config files; Footprint is what a copy on
// disk gives (FolderFootprint), so that the download screen and the Models picker say the
// same. app/hub's TestKnownModelSizes checks them against the released tensor shapes and
// configs (ConfigFootprint).
type KnownModel struct {
	// Repo is the Hugging Face repository.
	Repo string
	// Params counts the elements of every released tensor.
	Params int64
	// DownloadBytes is the size of the download.
	DownloadBytes int64
	// Footprint sizes its memory in each weight format (`janus pull`'s list says it with
	// the weights as stored).
	Footprint Footprint
	// Summary is one line for a picker.
	Summary string
}

var knownModels = []KnownModel{
	{Repo: "deepseek-ai/Janus-Pro-1B", Params: 2_089_297_547, DownloadBytes: 4_185_000_000, Footprint: footprint1B,
		Summary: "Janus-Pro 1B: understanding and generation; the default"},
	{Repo: "deepseek-ai/Janus-Pro-7B", Params: 7_420_434_059, DownloadBytes: 14_847_000_000, Footprint: footprint7B,
		Summary: "Janus-Pro 7B: the best answers and images; needs a large machine"},
	{Repo: "deepseek-ai/Janus-1.3B", Params: 2_089_297_547, DownloadBytes: 4_185_000_000, Footprint: footprint1B,
		Summary: "Janus 1.3B: the first release"},
}

// The released shapes' footprints, as ConfigFootprint gives them for the released configs
// (Janus-1.3B has Pro-1B's shapes).
var (
	footprint1B = Footprint{Working: 931_301_440, Weights: map[string]int64{
		model.WeightsStored: 4_183_491_084, model.WeightsBF16: 4_183_491_084, model.WeightsF32: 8_189_346_316,
		model.WeightsQ8: 2_598_830_604, model.WeightsQ4: 1_753_678_348, model.WeightsQ4M: 1_859_322_380}}
	footprint7B = Footprint{Working: 1_698_023_488, Weights: map[string]int64{
		model.WeightsStored: 14_846_083_596, model.WeightsBF16: 14_846_083_596, model.WeightsF32: 29_513_892_364,
		model.WeightsQ8: 8_289_206_796, model.WeightsQ4: 4_792_205_836, model.WeightsQ4M: 5_229_330_956}}
)

// KnownModels lists the released Janus models, the default first.
func KnownModels() []KnownModel { return slices.Clone(knownModels) }

// FindKnown finds the released model (KnownModels) called name: its hub id
// ("deepseek-ai/Janus-Pro-7B") or the name part alone ("Janus-Pro-7B"), either in any case,
// as people type them after `janus pull` or --model.
func FindKnown(name string) (KnownModel, bool) {
	for _, k := range knownModels {
		if strings.EqualFold(name, k.Repo) || strings.EqualFold(name, repoName(k.Repo)) {
			return k, true
		}
	}
	return KnownModel{}, false
}

// repoName is the name part of a repository id: "Janus-Pro-1B".
func repoName(repo string) string {
	_, name, _ := strings.Cut(repo, "/")
	return name
}
