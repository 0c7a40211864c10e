package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/internal/fixtures"
)

// harness runs a window in the test driver. Work the window hands to its UI goroutine is
// queued and run by pump on the test's goroutine, as the real app runs it on its one UI
// goroutine, so widgets are never touched from two goroutines at once.
type harness struct {
	t  *testing.T
	u  *UI
	mu sync.Mutex
	q  []func()
	// slowest is the longest a queued UI update took to run.
	slowest time.Duration
}

// testEnv describes a machine with no models and no variables, the same on every run.
var testEnv = app.Env{GOOS: "linux", Home: "/home/test"}

func newHarness(t *testing.T, engine app.Engine, opts ...func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t}
	a := test.NewTempApp(t)
	o := Options{Env: testEnv, StoreDir: t.TempDir(), Engine: engine, Version: "test", RunOnUI: h.push}
	for _, f := range opts {
		f(&o)
	}
	u, err := New(a, o)
	if err != nil {
		t.Fatal(err)
	}
	h.u = u
	t.Cleanup(func() {
		// As when the window closes: every job stops and saves before the folders go.
		closed := h.u.closed.Load() // a test may have closed it (Quit); shutdown sets it too
		h.u.shutdownOnce.Do(h.u.shutdown)
		if !closed { // Fyne's test window closes once
			h.u.win.Close()
		}
	})
	h.pump("the history to load", func() bool { return true })
	return h
}

func (h *harness) push(f func()) {
	h.mu.Lock()
	h.q = append(h.q, f)
	h.mu.Unlock()
}

// pump runs queued UI updates until cond holds, failing after a generous timeout (the
// machine may be busy; nothing here measures speed).
func (h *harness) pump(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		h.mu.Lock()
		q := h.q
		h.q = nil
		h.mu.Unlock()
		for _, f := range q {
			start := time.Now()
			f()
			h.slowest = max(h.slowest, time.Since(start))
		}
		if len(q) == 0 && cond() {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		if len(q) == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// tinyA loads the tiny-a fixture model (skipping without the fixtures).
func tinyA(t *testing.T) app.Engine {
	t.Helper()
	dir := fixtures.Path(t, "models", "tiny-a")
	e, err := app.LoadEngine(context.Background(), dir, app.LoadOptions{Name: "tiny-a", Threads: 1}, nil)
	if err != nil {
		t.Fatalf("load tiny-a: %v", err)
	}
	return e // the window closes it at shutdown
}

// landscape is the fixture photo the tests attach.
func landscape(t *testing.T) string {
	return fixtures.Path(t, "inputs", "synthetic_landscape_150x100.png")
}

// fileURI is path as a dropped file.
func fileURI(t *testing.T, path string) fyne.URI {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return storage.NewFileURI(abs)
}

// writeFile writes a test file and returns its path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// textsIn returns the texts of the labels in o's tree.
func textsIn(o fyne.CanvasObject) []string {
	var out []string
	for _, obj := range test.LaidOutObjects(o) {
		if l, ok := obj.(*widget.Label); ok {
			out = append(out, l.Text)
		}
	}
	return out
}

// picturesIn returns the pictures (images drawn from an image.Image, not icons) in o's tree.
func picturesIn(o fyne.CanvasObject) []*canvas.Image {
	var out []*canvas.Image
	for _, obj := range test.LaidOutObjects(o) {
		if p, ok := obj.(*canvas.Image); ok && p.Image != nil && p.Resource == nil {
			out = append(out, p)
		}
	}
	return out
}

// ask types question into the chat, sends it and waits for its answer.
func (h *harness) ask(question string) {
	h.t.Helper()
	n := h.u.chat.finished
	test.Type(h.u.chat.entry, question)
	h.u.chat.send()
	h.waitAnswers(n + 1)
}

// waitAnswers runs UI updates until the window has shown n finished answers (done, stopped
// or failed) since it opened.
func (h *harness) waitAnswers(n int) {
	h.t.Helper()
	h.pump(fmt.Sprintf("%d finished answers", n), func() bool { return h.u.chat.finished >= n })
}

// visit calls f on every visible object of o's tree with its position in the window, parents
// before their children, children in drawing order.
func visit(o fyne.CanvasObject, at fyne.Position, f func(fyne.CanvasObject, fyne.Position)) {
	if o == nil || !o.Visible() {
		return
	}
	at = at.Add(o.Position())
	f(o, at)
	var children []fyne.CanvasObject
	switch v := o.(type) {
	case *fyne.Container:
		children = v.Objects
	case fyne.Widget:
		children = test.WidgetRenderer(v).Objects()
	}
	for _, c := range children {
		visit(c, at, f)
	}
}

// click is a left click at the middle of target as the desktop driver delivers it: to the
// topmost object under the pointer that takes any mouse event (a tap, a secondary tap, a
// double tap, focus or raw mouse events), which gets the tap only if it is fyne.Tappable.
// test.TapCanvas looks for Tappable objects alone, so it reaches a list row that a
// right-click-only widget on top would keep from the real pointer.
func click(t *testing.T, c fyne.Canvas, target fyne.CanvasObject) {
	t.Helper()
	var at fyne.Position
	found := false
	visit(c.Content(), fyne.Position{}, func(o fyne.CanvasObject, p fyne.Position) {
		if o == target {
			at, found = p.Add(fyne.NewPos(o.Size().Width/2, o.Size().Height/2)), true
		}
	})
	if !found {
		t.Fatal("the object to click is not on screen")
	}
	var hit fyne.CanvasObject
	var hitAt fyne.Position
	visit(c.Content(), fyne.Position{}, func(o fyne.CanvasObject, p fyne.Position) {
		switch o.(type) {
		case fyne.Tappable, fyne.SecondaryTappable, fyne.DoubleTappable, fyne.Focusable, desktop.Mouseable:
		default:
			return
		}
		if s := o.Size(); at.X >= p.X && at.Y >= p.Y && at.X < p.X+s.Width && at.Y < p.Y+s.Height {
			hit, hitAt = o, p // later in the walk: deeper, or drawn above
		}
	})
	if tp, ok := hit.(fyne.Tappable); ok {
		tp.Tapped(&fyne.PointEvent{AbsolutePosition: at, Position: at.Subtract(hitAt)})
	}
}

// load is loadModel with the check of the folder (off the UI goroutine while a model is in
// use) done: its load has started (or already ended: a tiny model loads within one pass of
// the queue), or its refusal is shown.
func (h *harness) load(dir, name string) {
	h.t.Helper()
	u := h.u
	before, engine := len(u.dialogs), u.engine
	u.loadModel(dir, name)
	h.pumpEach("the folder checked", func() bool { return u.loading != nil || u.engine != engine || len(u.dialogs) > before })
}

// pumpEach is pump that stops as soon as cond holds after any update, leaving the rest
// queued: a load started by one update (the folder's check) was over, its next model served,
// by the time pump had run the queue empty, so that tests of what happens while a model
// loads saw none of it.
func (h *harness) pumpEach(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		h.mu.Lock()
		var f func()
		if len(h.q) > 0 {
			f, h.q = h.q[0], h.q[1:]
		}
		h.mu.Unlock()
		if f != nil {
			f()
			continue
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// windowEnter types Enter with nothing focused, as the desktop driver delivers a fresh press:
// the key down, then the key.
func (h *harness) windowEnter() {
	k := &fyne.KeyEvent{Name: fyne.KeyReturn}
	h.u.windowKeyDown(k)
	h.u.win.Canvas().OnTypedKey()(k)
}
