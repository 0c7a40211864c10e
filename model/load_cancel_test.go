package model

import (
	"context"
	"errors"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
)

// TestLoadCancel cancels Options.Context before the load and after a few weight uploads: Load
// must stop at the next upload with an error wrapping context.Canceled.
func TestLoadCancel(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	for _, tc := range []struct {
		name  string
		after int // uploads before the cancel; 0 cancels before Load
	}{{"before", 0}, {"after 3 uploads", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.after == 0 {
				cancel()
			}
			uploads, total := 0, 0
			m, err := Load(dir, Options{Context: ctx, Backend: defaultBackend(t, 1, ""), Progress: func(done, n int) {
				uploads, total = done, n
				if done == tc.after {
					cancel()
				}
			}})
			if !errors.Is(err, context.Canceled) || m != nil {
				t.Fatalf("Load = %v, %v; want nil and an error wrapping context.Canceled", m, err)
			}
			if uploads != tc.after {
				t.Errorf("%d of %d weights uploaded; want the load to stop after %d", uploads, total, tc.after)
			}
		})
	}
	// The same options without a cancel load the model.
	m, err := Load(dir, Options{Context: context.Background(), Backend: defaultBackend(t, 1, "")})
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
}
