package ui

import (
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/janus-desktop/janus/app/apptest"
)

// While a generation runs on a slow engine (300 ms a step), the window's handlers — typing,
// switching views, pressing buttons, sending a question — and the updates the job hands to
// the UI goroutine return within milliseconds: no handler waits for the model. A handler
// that waited would take at least one 300 ms step; the bounds (median 60 ms, worst 250 ms)
// stay below that and leave room for a slow machine: unloaded the medians are 0.1-3 ms, but
// on the development machine's slow hours a tab switch alone takes 15-35 ms.
func TestResponsiveWhileGenerating(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes every handler many times slower: timings mean nothing")
	}
	eng := apptest.NewFakeEngine(300 * time.Millisecond)
	eng.Grid, eng.ImageSize = 12, 384
	h := newHarness(t, eng)
	c := h.u.create
	h.u.ShowCreate()
	test.Type(c.prompt, "a slow picture")
	c.count.SetSelected("8")
	c.generate()
	if c.job == nil {
		t.Fatalf("generation did not start: %q", c.notice.Text)
	}
	h.pump("the first preview", func() bool { return c.previews > 0 })

	times := map[string][]time.Duration{}
	measure := func(name string, f func()) {
		start := time.Now()
		f()
		times[name] = append(times[name], time.Since(start))
		h.pump("queued updates", func() bool { return true })
	}
	for range 5 {
		measure("type a word in the chat", func() { test.Type(h.u.chat.entry, "word ") })
		measure("switch to chat", h.u.ShowChat)
		measure("switch to create", h.u.ShowCreate)
		measure("roll a seed", func() { test.Tap(c.dice) })
		measure("type in the prompt", func() { test.Type(c.prompt, "x") })
	}
	for range 5 {
		measure("send a question", func() {
			h.u.chat.entry.SetText("a question while the picture is made")
			test.Tap(h.u.chat.sendB)
		})
		measure("new chat", func() { h.u.newChat() })
	}
	if c.job == nil {
		t.Fatal("the generation ended before the measurements did: make the engine slower")
	}
	for name, ds := range times {
		slices.Sort(ds)
		median, worst := ds[len(ds)/2], ds[len(ds)-1]
		t.Logf("%-24s median %v, worst %v", name, median, worst)
		if median > 60*time.Millisecond || worst > 250*time.Millisecond {
			t.Errorf("%s: median %v, worst %v while generating", name, median, worst)
		}
	}
	t.Logf("slowest UI update from the job: %v", h.slowest)
	if h.slowest > 250*time.Millisecond {
		t.Errorf("a UI update from the job took %v", h.slowest)
	}
}
