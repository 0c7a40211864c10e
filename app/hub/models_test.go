package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model"
	"github.com/janus-desktop/janus/model/config"
)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestKnownModelSizes checks app.KnownModels's estimates against the released tensor shapes
// (keys.json: every tensor at 2 bytes, BF16) plus the config files and the DeepSeek-LLM
// tokenizer.json (the released ones add a few tokens to it), and their footprints against
// the released configs.
func TestKnownModelSizes(t *testing.T) {
	configs := fixtures.Path(t, "real-configs")
	tok, err := os.Stat(fixtures.Path(t, "tokenizers", "deepseek-llm", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	known := app.KnownModels()
	if known[0].Repo != app.DefaultRepo || len(known) != 3 {
		t.Fatalf("known models %v, want 3 with the default first", known)
	}
	for _, m := range known {
		t.Run(m.Repo, func(t *testing.T) {
			dir := filepath.Join(configs, strings.ToLower(strings.TrimPrefix(m.Repo, "deepseek-ai/")))
			var keys map[string]struct {
				Shape []int64 `json:"shape"`
			}
			fixtures.JSON(t, filepath.Join(dir, "keys.json"), &keys)
			var params int64
			for _, k := range keys {
				n := int64(1)
				for _, d := range k.Shape {
					n *= d
				}
				params += n
			}
			size := 2*params + tok.Size()
			files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
			for _, f := range files {
				if filepath.Base(f) != "keys.json" {
					st, _ := os.Stat(f)
					size += st.Size()
				}
			}
			if params != m.Params {
				t.Errorf("params %d, keys.json has %d", m.Params, params)
			}
			if math.Abs(float64(m.DownloadBytes-size))/float64(size) > 0.005 {
				t.Errorf("download %s, the released shapes give %s", app.PreciseBytes(m.DownloadBytes), app.PreciseBytes(size))
			}
			if m.Footprint.Need(model.WeightsStored) < 2*params {
				t.Errorf("memory %s is less than the weights", app.PreciseBytes(m.Footprint.Need(model.WeightsStored)))
			}
			// The download screen's memory is the Models picker's for a copy on disk
			// (app.FolderFootprint, which ConfigFootprint gives for BF16 weights).
			cfg, err := config.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			want, err := app.ConfigFootprint(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if m.Footprint.Working != want.Working || len(m.Footprint.Weights) != len(want.Weights) {
				t.Errorf("footprint %+v, the released config gives %+v", m.Footprint, want)
			}
			for f, n := range want.Weights {
				if m.Footprint.Weights[f] != n {
					t.Errorf("weights %s: %d, the released config gives %d", f, m.Footprint.Weights[f], n)
				}
			}
		})
	}
}
