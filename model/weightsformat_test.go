package model

import (
	"slices"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/weights"
)

// TestWeightsBytesSkips: WeightsBytes without some parts is the plan's bytes of every other
// tensor, in each format, for the parts each task leaves out.
func TestWeightsBytesSkips(t *testing.T) {
	cfg, err := config.Load(fixtures.Path(t, "real-configs", "janus-pro-1b"))
	if err != nil {
		t.Fatal(err)
	}
	for f, prec := range map[string]weights.Precision{WeightsStored: weights.BF16, WeightsQ8: weights.Q8_0, WeightsQ4: weights.Q4_0} {
		for _, skip := range [][]weights.Part{nil, weights.UnderstandingParts(), weights.GenerationParts()} {
			var want int64
			for _, s := range Plan(cfg) {
				if !slices.Contains(skip, s.Part) {
					want += s.Bytes(prec)
				}
			}
			if got := WeightsBytes(cfg, f, skip...); got != want || want == 0 {
				t.Errorf("%s without %v: %d bytes, the plan's other tensors take %d", f, skip, got, want)
			}
		}
	}
	if all, gen := WeightsBytes(cfg, WeightsQ8), WeightsBytes(cfg, WeightsQ8, weights.UnderstandingParts()...); gen >= all*4/5 {
		t.Errorf("Q8 weights for generation only: %d of %d bytes, want under four fifths", gen, all)
	}
}
