package ui

import (
	"testing"

	"github.com/janus-desktop/janus/app/apptest"
)

// The window works down to 800×560: no view asks for more.
func TestWindowFitsSmallestSize(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	for _, view := range []struct {
		name string
		show func()
	}{{"chat", h.u.ShowChat}, {"create", h.u.ShowCreate}} {
		view.show()
		h.settle()
		if m := h.u.win.Content().MinSize(); m.Width > minWindowSize.Width || m.Height > minWindowSize.Height {
			t.Errorf("%s view needs %v, more than %v", view.name, m, minWindowSize)
		}
	}
}
