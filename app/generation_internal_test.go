package app

import (
	"image"
	"testing"
	"time"

	"github.com/janus-desktop/janus/model"
)

// TestTimeLeft feeds timeLeft a run of 10 steps of 1 s for 2 images (the first also running
// the prompt, 3 s) with a preview decode of 4 s after step 5.
func TestTimeLeft(t *testing.T) {
	var tl timeLeft
	s := time.Second
	preview := []*image.NRGBA{{}, {}}
	for _, tc := range []struct {
		p    model.ImageProgress
		want time.Duration
	}{
		// Step 1: only the engine's estimate is known.
		{model.ImageProgress{Token: 1, Tokens: 10, Images: 2, Elapsed: 3 * s, Remaining: 9 * s}, 9 * s},
		{model.ImageProgress{Token: 2, Tokens: 10, Images: 2, Elapsed: 4 * s, TokensPerSecond: 2}, 8 * s},
		{model.ImageProgress{Token: 4, Tokens: 10, Images: 2, Elapsed: 6 * s, TokensPerSecond: 2}, 6 * s},
		// Step 5 ends with a 4 s preview: 4 steps took 8 s, and the final decode will take 4 s.
		{model.ImageProgress{Token: 5, Tokens: 10, Images: 2, Elapsed: 11 * s, TokensPerSecond: 2, Preview: preview}, 10*s + 4*s},
		{model.ImageProgress{Token: 10, Tokens: 10, Images: 2, Elapsed: 16 * s, TokensPerSecond: 2}, 4 * s},
	} {
		if got := tl.update(tc.p); got != tc.want {
			t.Errorf("step %d: %v left, want %v", tc.p.Token, got, tc.want)
		}
		// The estimate counts a decode from the first preview on: before, the window
		// shows none (it read "354 images/s · 0 s left" over grey tiles).
		if known := tc.p.Token >= 5; tl.decodeKnown() != known {
			t.Errorf("step %d: decode known %v, want %v", tc.p.Token, tl.decodeKnown(), known)
		}
	}
}
