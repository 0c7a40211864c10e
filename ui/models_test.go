package ui

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model"
)

// envWithModels is a machine whose JANUS_MODELS is dir.
func envWithModels(dir string) app.Env {
	return app.Env{GOOS: "linux", Home: "/home/test", Getenv: func(k string) string {
		if k == "JANUS_MODELS" {
			return dir
		}
		return ""
	}}
}

// At start the window finds tiny-a where JANUS_MODELS points, loads it, and shows it in the
// sidebar; the chat and canvas wait for it with a line saying so.
func TestStartLoadsFoundModel(t *testing.T) {
	models := filepath.Dir(fixtures.Path(t, "models", "tiny-a"))
	h := newHarness(t, nil, func(o *Options) { o.Env = envWithModels(models) })
	u := h.u
	h.pump("the model", func() bool { return u.engine != nil })
	if u.sidebar.modelName.Text != "tiny-a" || !strings.Contains(u.sidebar.modelDetail.Text, "CPU") {
		t.Errorf("sidebar shows %q / %q", u.sidebar.modelName.Text, u.sidebar.modelDetail.Text)
	}
	if !u.chat.ready || !u.create.ready || u.sidebar.modelBar.Visible() {
		t.Error("views still waiting after the load")
	}
	h.pump("the last model to be saved", func() bool {
		s, _, err := u.store.LoadSettings()
		return err == nil && s.LastModel != ""
	})
}

// A model found through a relative JANUS_MODELS (the README's
// JANUS_MODELS=testdata/fixtures/models make run) is remembered by its whole path: the next
// start may run elsewhere.
func TestLastModelIsAWholePath(t *testing.T) {
	tiny := fixtures.Path(t, "models", "tiny-a")
	t.Chdir(filepath.Dir(filepath.Dir(tiny)))
	h := newHarness(t, nil, func(o *Options) { o.Env = envWithModels(filepath.Base(filepath.Dir(tiny))) })
	u := h.u
	h.pump("the model", func() bool { return u.engine != nil })
	h.pump("the last model to be saved", func() bool {
		s, _, err := u.store.LoadSettings()
		return err == nil && s.LastModel != ""
	})
	if s, _, _ := u.store.LoadSettings(); !filepath.IsAbs(s.LastModel) {
		t.Errorf("the last model is saved as %q", s.LastModel)
	}
}

// The model used last loads at the next start even where the search does not look (a
// download into the hub cache while JANUS_MODELS names other folders).
func TestStartLoadsLastModelOutsideSearch(t *testing.T) {
	dir := t.TempDir()
	tiny := fixtures.Path(t, "models", "tiny-a")
	h1 := newHarness(t, nil, func(o *Options) { o.StoreDir = dir; o.Env = envWithModels(t.TempDir()) })
	h1.pump("the no-model screen", func() bool { return h1.u.noModel.content.Visible() })
	h1.u.loadModel(tiny, "tiny-a")
	h1.pump("the model and its record", func() bool {
		s, _, err := h1.u.store.LoadSettings()
		return h1.u.engine != nil && err == nil && s.LastModel == tiny
	})

	h := newHarness(t, nil, func(o *Options) { o.StoreDir = dir; o.Env = envWithModels(t.TempDir()) })
	h.pump("the last model", func() bool { return h.u.engine != nil })
	if h.u.noModel.content.Visible() || h.u.sidebar.modelName.Text != "tiny-a" {
		t.Errorf("at the next start: no-model screen %v, sidebar %q", h.u.noModel.content.Visible(), h.u.sidebar.modelName.Text)
	}
	// The Models dialog lists it, in use: it said no model was found.
	h.u.showModelPicker()
	top := h.u.win.Canvas().Overlays().Top()
	h.pump("the model in the picker", func() bool { return slices.Contains(textsIn(top), "tiny-a") })
	if b := buttonsIn(top)["In use"]; b.b == nil {
		t.Errorf("the picker lists %q, want tiny-a in use", textsIn(top))
	}
	for _, l := range textsIn(top) {
		if first, _, _ := strings.Cut(l, "\n"); strings.HasSuffix(strings.TrimSpace(first), "·") {
			t.Errorf("a row's facts end with a separator: %q", l)
		}
	}
}

// When the model used last cannot be loaded any more, the one loaded instead is not loaded
// unsaid: it was, and a 7B model could quietly become a 1B one.
func TestStartSaysLastModelIsBroken(t *testing.T) {
	dir, root := t.TempDir(), t.TempDir()
	last, other := filepath.Join(root, "a-last"), filepath.Join(root, "b-other")
	apptest.TinyA(t, last)
	apptest.TinyA(t, other)
	h1 := newHarness(t, nil, func(o *Options) { o.StoreDir = dir; o.Env = envWithModels(root) })
	h1.pump("the first model and its record", func() bool {
		s, _, err := h1.u.store.LoadSettings()
		return h1.u.engine != nil && err == nil && s.LastModel == last
	})
	apptest.CutWeights(t, last)

	h := newHarness(t, nil, func(o *Options) { o.StoreDir = dir; o.Env = envWithModels(root) })
	h.pump("the other model", func() bool { return h.u.engine != nil })
	n := h.u.chat.notice
	if !n.Visible() || !strings.Contains(n.Text, "a-last, the model used last, cannot be loaded") || !strings.Contains(n.Text, "b-other is loaded instead") {
		t.Errorf("notice %q (shown %v), want it to say a-last cannot be loaded and b-other is instead", n.Text, n.Visible())
	}

	// With no other model (b-other, used last now, deleted), the screen that offers
	// downloads says what became of it.
	h.pump("b-other recorded as the model used last", func() bool {
		s, _, err := h.u.store.LoadSettings()
		return err == nil && s.LastModel == other
	})
	if err := os.RemoveAll(other); err != nil {
		t.Fatal(err)
	}
	h2 := newHarness(t, nil, func(o *Options) { o.StoreDir = dir; o.Env = envWithModels(root) })
	h2.pump("the no-model screen", func() bool { return h2.u.noModel.content.Visible() })
	if p := h2.u.noModel.problem; !p.Visible() || !strings.Contains(p.Text, "b-other) is no longer there") {
		t.Errorf("the no-model screen says %q (shown %v)", p.Text, p.Visible())
	}
}

// Cancelling a load leaves no model and says so; the finished load is not used.
func TestCancelLoad(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	h.load(dir, "tiny-a")
	job := u.loading
	if u.chat.ready || !strings.Contains(u.chat.status.Text, "Loading tiny-a") {
		t.Errorf("while loading: send enabled %v, status %q", u.chat.ready, u.chat.status.Text)
	}
	// The sidebar names the model being loaded (it said "No model") and gives the progress
	// in its line, over a thin bar.
	if s := u.sidebar; s.modelName.Text != "tiny-a" || !strings.HasPrefix(s.modelDetail.Text, "Loading…") || !s.modelBar.Visible() {
		t.Errorf("while loading the sidebar shows %q / %q, bar shown %v", s.modelName.Text, s.modelDetail.Text, s.modelBar.Visible())
	}
	u.sidebar.showLoading("tiny-a", false, 0.08)
	if got := u.sidebar.modelDetail.Text; got != "Loading… 8%" {
		t.Errorf("at 8 %% the sidebar says %q", got)
	}
	u.cancelLoad()
	h.waitJobEnd("the load to end", job)
	if u.engine != nil {
		t.Error("the cancelled load became the model")
	}
	if !strings.Contains(u.chat.status.Text, "cancelled") {
		t.Errorf("status %q", u.chat.status.Text)
	}
}

// With the sidebar hidden, its model line's Cancel is out of sight: the chat's loading line
// and the canvas's have one while the model loads (not while the sidebar shows its own), as
// wide as its bubble allows, and it cancels the load.
func TestLoadCancelWithSidebarHidden(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	h.load(dir, "tiny-a")
	job := u.loading
	shown := func() (chat, create bool) {
		return u.chat.statusRow.Visible() && u.chat.loadCancelB.Visible(),
			u.create.loading.box.Visible() && u.create.loadCancelB.Visible()
	}
	if chat, create := shown(); chat || create {
		t.Errorf("with the sidebar shown, a Cancel in the chat %v, in Create %v", chat, create)
	}
	u.showSidebar(false)
	if chat, create := shown(); !chat || !create {
		t.Errorf("with the sidebar hidden, a Cancel in the chat %v, in Create %v", chat, create)
	}
	u.setLoading(loadingText("Loading", "tiny-a", 0.3)) // the next progress keeps it
	if chat, create := shown(); !chat || !create {
		t.Errorf("at 30 %%, a Cancel in the chat %v, in Create %v", chat, create)
	}
	text := widget.NewLabel(u.create.loading.label.Text).MinSize().Width
	if w := u.create.loading.width; w < text+u.create.loadCancelB.MinSize().Width {
		t.Errorf("the loading bubble is %v wide for a line of %v and a Cancel of %v", w, text, u.create.loadCancelB.MinSize().Width)
	}
	u.showSidebar(true)
	if chat, create := shown(); chat || create {
		t.Errorf("with the sidebar shown again, a Cancel in the chat %v, in Create %v", chat, create)
	}
	u.showSidebar(false)
	test.Tap(u.chat.loadCancelB)
	h.waitJobEnd("the load to end", job)
	// A load started with the sidebar hidden has the Cancel from its start, before its
	// first progress.
	h.load(dir, "tiny-a")
	job = u.loading
	if chat, create := shown(); !chat || !create {
		t.Errorf("a load started with the sidebar hidden: a Cancel in the chat %v, in Create %v", chat, create)
	}
	test.Tap(u.create.loadCancelB)
	h.waitJobEnd("the load to end", job)
	if u.engine != nil || u.loading != nil {
		t.Errorf("after Cancel: engine %v, loading %v", u.engine, u.loading)
	}
	if !strings.Contains(u.chat.status.Text, "cancelled") || u.chat.loadCancelB.Visible() || u.create.loadCancelB.Visible() {
		t.Errorf("after Cancel the chat says %q, its Cancel shown %v, Create's %v", u.chat.status.Text, u.chat.loadCancelB.Visible(), u.create.loadCancelB.Visible())
	}
}

// A folder whose weights are missing fails with a dialog that says what to do; with a model
// in use, that model stays (it is not unloaded for a folder that cannot load).
func TestLoadErrorDialog(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "broken")
	apptest.TinyA(t, dir, apptest.WeightFiles)
	for _, inUse := range []bool{false, true} {
		var eng app.Engine
		if inUse {
			eng = apptest.NewFakeEngine(0)
		}
		h := newHarness(t, eng, func(o *Options) { o.Env = envWithModels(t.TempDir()) })
		u := h.u
		h.pump("the start", func() bool { return u.engine != nil || u.noModel.content.Visible() })
		h.load(dir, "broken")
		h.pump("the failure", func() bool { return u.loading == nil })
		top := u.win.Canvas().Overlays().Top()
		if top == nil {
			t.Fatal("no dialog after a failed load")
		}
		if (u.engine != nil) != inUse || u.chat.ready != inUse {
			t.Errorf("model in use before %v: after the failed load %v", inUse, u.engine != nil)
		}
		all := strings.Join(textsIn(top), "\n")
		if !strings.Contains(all, "Cannot load broken") || !strings.Contains(all, "download it again") ||
			inUse && !strings.Contains(all, "fake stays loaded") {
			t.Errorf("dialog says (%d labels):\n%s", len(textsIn(top)), all)
		}
	}
}

// Settings that only a load applies (here the weights) offer to load the model in use again;
// "Later" leaves it, and the model picker then offers Reload, which loads it with them.
func TestSettingsOfferReload(t *testing.T) {
	models := filepath.Dir(fixtures.Path(t, "models", "tiny-a"))
	h := newHarness(t, nil, func(o *Options) { o.Env = envWithModels(models) })
	u := h.u
	h.pump("the model", func() bool { return u.engine != nil })
	first := u.engine
	overlays := u.win.Canvas().Overlays()

	ns := u.settings
	ns.Answer.Temperature = 0.5 // applies at once: nothing to reload
	// The dialog writes the defaults by name: the same load.
	ns.Precision, ns.Backend, ns.Weights = compute.PrecisionExact, "auto", model.WeightsAuto
	u.applySettings(ns)
	if overlays.Top() != nil {
		t.Fatal("a change that needs no load offered one")
	}
	ns.Weights = model.WeightsQ8
	u.applySettings(ns)
	top := overlays.Top()
	if top == nil || !strings.Contains(strings.Join(textsIn(top), "\n"), "tiny-a again") {
		t.Fatalf("no offer to reload after the weights changed (%v)", top != nil)
	}
	test.Tap(findButton(t, top, "Later"))
	if overlays.Top() != nil || u.engine != first {
		t.Fatal("Later did not leave the model as it was")
	}

	u.showModelPicker()
	test.Tap(findButton(t, overlays.Top(), "Reload"))
	h.pump("the model loaded again", func() bool { return u.engine != nil && u.engine != first })
	if w := u.engine.Info().Weights; w != "Q8" {
		t.Errorf("reloaded with weights %q, want Q8", w)
	}
	if u.needsReload() {
		t.Error("the reloaded model still needs a reload")
	}
}

// A load that was to replace the model in use and is cancelled, or fails, loads that model
// again as it was: a change of mind leaves the model that was there, not none. (A folder
// that cannot load at all does not unload it: TestLoadErrorDialog.)
func TestCancelledSwitchKeepsTheModel(t *testing.T) {
	tinyDir := fixtures.Path(t, "models", "tiny-a")
	models := filepath.Dir(tinyDir)
	h := newHarness(t, nil, func(o *Options) { o.Env = envWithModels(models) })
	u := h.u
	h.pump("the model", func() bool { return u.engine != nil })
	first := u.engine.Info().Dir

	for _, tc := range []struct {
		name string
		end  func()
	}{
		{"cancelled", u.cancelLoad},
		{"failed", func() {}},
	} {
		if tc.name == "failed" {
			// A setting only the new load has makes it fail: the old model comes back
			// with its own.
			u.settings.Backend = "metal-sim-missing"
		}
		h.load(tinyDir, "other")
		if u.engine != nil {
			t.Fatalf("%s: the old model is still in use during the load", tc.name)
		}
		tc.end()
		// While it comes back, the sidebar says it is the one before, not a new load.
		if got := u.sidebar.modelDetail.Text; tc.name == "cancelled" && got != "Going back to it…" {
			t.Errorf("going back, the sidebar says %q", got)
		}
		h.pump("the model back", func() bool { return u.engine != nil && u.loading == nil })
		if got := u.engine.Info().Dir; got != first {
			t.Errorf("%s: %s in use, want %s again", tc.name, got, first)
		}
		for u.win.Canvas().Overlays().Top() != nil {
			u.win.Canvas().Overlays().Remove(u.win.Canvas().Overlays().Top())
		}
	}
}

// The picker's actions and its Close share one row, Close at the right.
func TestModelPickerButtonRow(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	h.u.showModelPicker()
	oneRowCloseRight(t, "the model picker", h.u.win.Canvas().Overlays().Top(), "Add folder…", "Look again", "Download…")
}

// The no-model screen: a bullet line that wraps goes on right of its bullet, not under it;
// in the smallest window the Download buttons keep clear of the scroll bar.
func TestNoModelScreenEdges(t *testing.T) {
	h := newHarness(t, nil, func(o *Options) { o.Env = envWithModels("/nonexistent/models") })
	u := h.u
	u.win.Resize(minWindowSize)
	h.pump("the no-model screen", func() bool { return u.noModel.content.Visible() })
	var para, bullet fyne.CanvasObject
	var paraAt, bulletAt fyne.Position
	visit(u.noModel.text.box, fyne.Position{}, func(o fyne.CanvasObject, p fyne.Position) {
		if l, ok := o.(*widget.Label); ok {
			switch {
			case strings.HasPrefix(l.Text, "No Janus model was found"):
				para, paraAt = o, p
			case strings.Contains(l.Text, "huggingface-cli download"):
				bullet, bulletAt = o, p
			}
		}
	})
	if para == nil || bullet == nil {
		t.Fatalf("the paragraph or the Hugging Face bullet is not a label of its own: %q", textsIn(u.noModel.text.box))
	}
	if bulletAt.X <= paraAt.X || strings.Contains(bullet.(*widget.Label).Text, "•") {
		t.Errorf("the bullet's text starts at x %v, the paragraph's at %v: it wraps under its bullet", bulletAt.X, paraAt.X)
	}
	u = firstRun(t).u
	u.win.Resize(minWindowSize)
	scroll := u.noModel.content
	limit := scroll.Position().X + scroll.Size().Width - theme.Size(theme.SizeNameScrollBar)
	n := 0
	visit(scroll, fyne.Position{}, func(o fyne.CanvasObject, p fyne.Position) {
		if b, ok := asButton(o); ok && b.Text == "Download" && p.X+b.Size().Width > limit {
			t.Errorf("a Download button reaches x %v, under the scroll bar (from %v)", p.X+b.Size().Width, limit)
		}
		if b, ok := asButton(o); ok && b.Text == "Download" {
			n++
		}
	})
	if n == 0 {
		t.Error("no Download button on screen")
	}
}

// Without a model, New chat and New image bring the no-model screen back (the views only said
// to download one), while a chat from the history still opens.
func TestNewChatWithoutModel(t *testing.T) {
	h := newHarness(t, nil, func(o *Options) { o.Env = envWithModels("/nonexistent/models") })
	u := h.u
	h.pump("the no-model screen", func() bool { return u.noModel.content.Visible() })
	for name, start := range map[string]func(){"New chat": u.startChat, "New image": u.startImage} {
		u.showViews()
		start()
		if !u.noModel.content.Visible() || u.tabs.Visible() {
			t.Errorf("%s without a model shows the views", name)
		}
	}
}

// The picker lists the model in use first, marked as such (the others say they are ready to
// load, not in green); a broken one says why in plain words, and Details shows the readers',
// with no Load beside it.
func TestModelPickerRows(t *testing.T) {
	root := t.TempDir()
	apptest.TinyA(t, filepath.Join(root, "z-tiny"))
	apptest.TinyA(t, filepath.Join(root, "m-other"))
	broken := filepath.Join(root, "a-broken")
	apptest.TinyA(t, broken)
	apptest.CutWeights(t, broken)
	h := newHarness(t, nil, func(o *Options) { o.Env = envWithModels(root) })
	u := h.u
	h.pump("the model", func() bool { return u.engine != nil })
	if u.engine.Info().Dir != filepath.Join(root, "z-tiny") {
		h.load(filepath.Join(root, "z-tiny"), "z-tiny")
		h.pump("z-tiny", func() bool { return u.engine != nil })
	}
	u.showModelPicker()
	top := u.win.Canvas().Overlays().Top()
	var texts []string
	h.pump("both rows", func() bool {
		texts = textsIn(top)
		return slices.Contains(texts, "a-broken") && slices.Contains(texts, "z-tiny") && slices.Contains(texts, "m-other")
	})
	if !(slices.Index(texts, "z-tiny") < slices.Index(texts, "m-other") && slices.Index(texts, "m-other") < slices.Index(texts, "a-broken")) {
		t.Errorf("want the model in use first, then the one that loads, then the broken one: %q", texts)
	}
	// The rows' buttons stop short of the scroll bar, which Fyne draws over the list's right
	// edge.
	var scroll *container.Scroll
	visit(top, fyne.Position{}, func(o fyne.CanvasObject, p fyne.Position) {
		if sc, ok := o.(*container.Scroll); ok {
			scroll = sc
			if in := buttonsIn(sc.Content)["In use"]; in.b == nil || in.at.X+in.b.Size().Width > sc.Size().Width-theme.ScrollBarSize() {
				t.Errorf("the In use button (at %v, %v wide) runs under the scroll bar of a %v list", in.at, in.b.Size().Width, sc.Size())
			}
		}
	})
	if scroll == nil {
		t.Error("no scrolled list in the picker")
	}
	// With a model in use, loading another is not the dialog's main action; a folder that
	// cannot load has no Load (disabled, it looked like one that did nothing).
	loads := 0
	visit(top, fyne.Position{}, func(o fyne.CanvasObject, _ fyne.Position) {
		if b, ok := asButton(o); ok && b.Text == "Load" {
			loads++
			if b.Importance == widget.HighImportance {
				t.Error("a Load button is the main action while a model is in use")
			}
			if b.Disabled() {
				t.Error("a Load button is there, disabled: it looks usable and does nothing")
			}
		}
	})
	if loads != 1 {
		t.Errorf("%d Load buttons, want m-other's alone", loads)
	}
	joined := strings.Join(texts, "\n")
	for _, want := range []string{"Chats and images run on it", "Cannot be loaded: a weight file is cut short"} {
		if !strings.Contains(joined, want) {
			t.Errorf("the picker does not say %q: %q", want, texts)
		}
	}
	test.Tap(buttonsIn(top)["Details"].b)
	if d := strings.Join(textsIn(u.win.Canvas().Overlays().Top()), "\n"); !strings.Contains(d, "data_offsets") {
		t.Errorf("Details shows %q, want the reader's words", d)
	}
}

// Enter while a model loads: the question waits for the model and goes when it is ready (it
// did nothing, silently); a load cancelled meanwhile leaves it in the composer.
func TestSendWaitsForTheLoad(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	h := newHarness(t, nil)
	u := h.u
	c := u.chat
	h.load(dir, "tiny-a")
	test.Type(c.entry, "a question typed during the load")
	c.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if !strings.Contains(c.status.Text, "sent once it is loaded") || len(c.session.Messages()) != 0 {
		t.Fatalf("Enter during the load: status %q, %d messages", c.status.Text, len(c.session.Messages()))
	}
	// Sent once the window has taken the send's outcome (the session lists the question
	// a moment before).
	h.pump("the question sent", func() bool { return len(c.session.Messages()) > 0 && !c.sending })
	if m := c.session.Messages()[0]; m.Text != "a question typed during the load" || c.entry.Text != "" {
		t.Errorf("sent %q, the composer holds %q", m.Text, c.entry.Text)
	}
	h.pump("the answer", func() bool { return !c.session.Busy() })

	h.load(dir, "tiny-a")
	test.Type(c.entry, "another")
	c.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	u.cancelLoad() // back to the model before: the question stays where it is
	h.pump("the model back", func() bool { return u.engine != nil && u.loading == nil })
	if c.entry.Text != "another" || len(c.session.Messages()) != 2 {
		t.Errorf("after a cancelled load: the composer holds %q, %d messages", c.entry.Text, len(c.session.Messages()))
	}
	// It says so: the line that said it would go was gone, and nothing else said it.
	if !c.notice.Visible() || !strings.Contains(c.notice.Text, "not sent") {
		t.Errorf("after a cancelled load the notice says %q (shown %v)", c.notice.Text, c.notice.Visible())
	}
}

// The folder of the model in use gone (moved, deleted): Reload says it cannot load it and
// leaves the model running (it unloaded it, failed twice, and left none); the picker still
// lists the model in use, saying its folder is gone.
func TestReloadOfGoneFolderKeepsModel(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "mine")
	apptest.TinyA(t, dir)
	h := newHarness(t, nil, func(o *Options) { o.Env = envWithModels(root) })
	u := h.u
	h.pump("the model", func() bool { return u.engine != nil })
	first := u.engine
	if err := os.Rename(dir, filepath.Join(t.TempDir(), "moved")); err != nil {
		t.Fatal(err)
	}
	ns := u.settings
	ns.Weights = model.WeightsQ8
	u.applySettings(ns)
	top := u.win.Canvas().Overlays().Top()
	test.Tap(findButton(t, top, "Reload"))
	h.pump("the answer to Reload", func() bool { return len(u.dialogs) == 1 })
	if u.engine != first || u.loading != nil {
		t.Fatalf("Reload of a gone folder: model kept %v, loading %v", u.engine == first, u.loading != nil)
	}
	said := strings.Join(textsIn(u.win.Canvas().Overlays().Top()), "\n")
	if !strings.Contains(said, "mine is gone: moved or deleted") || !strings.Contains(said, "mine stays loaded") {
		t.Errorf("the error reads %q", said)
	}
	u.dialogs[0].Dismiss()
	u.showModelPicker()
	top = u.win.Canvas().Overlays().Top()
	// The picker opens with the list as it was and reads the folders again: the model in
	// use is then listed from its gone folder.
	h.pump("the model in use listed as gone", func() bool {
		return strings.Contains(strings.Join(textsIn(top), "\n"), "In use, but cannot be loaded again")
	})
	if b := buttonsIn(top)["Reload"]; b.b != nil {
		t.Error("the picker offers Reload of a gone folder")
	}
}

// A model chosen while another is in use is checked off the UI goroutine (its folder's
// headers and tokenizer take a tenth of a second or more), and only the last choice counts:
// a second choice refused (a broken folder) while the first's check still ran left the first
// free to load once its check ended, as if chosen after.
func TestLoadTheLastChosen(t *testing.T) {
	root := t.TempDir()
	first, second := filepath.Join(root, "first"), filepath.Join(root, "second")
	apptest.TinyA(t, first)
	apptest.TinyA(t, second)
	apptest.CutWeights(t, second)
	// The first check ends after the second, as a slow disk may make it.
	secondDone := make(chan struct{})
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) {
		o.inspect = func(dir string) (app.ModelEntry, error) {
			if dir == first {
				<-secondDone
			} else {
				defer close(secondDone)
			}
			return app.Inspect(dir)
		}
	})
	u := h.u
	fake := u.engine
	u.loadModel(first, "first")
	u.loadModel(second, "second")
	if u.loading != nil {
		t.Fatal("the load started before its folder was checked, on the UI goroutine")
	}
	h.pump("the second refused", func() bool { return len(u.dialogs) == 1 })
	h.settle()
	if u.loading != nil || u.engine != fake {
		t.Errorf("after the last choice was refused: loading %v, model in use changed %v", u.loading != nil, u.engine != fake)
	}
}

// A broken model's Details say the row's line, the readers' problems, and what to do, with
// the folder: the readers' words alone said less than the row, and nothing of what to do.
// Words that only name the file the row's line names are left out ("missing
// tokenizer.json" under "It has no tokenizer.json").
func TestModelProblemDetails(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	cut := "load weights: model.safetensors is cut short: 100 of 200 bytes"
	m := app.ModelChoice{ModelEntry: app.ModelEntry{Name: "broken", Path: "/models/broken",
		Summary: "a weight file is cut short: probably an interrupted download or copy; it has no tokenizer.json",
		Problem: cut + "; missing tokenizer.json"}}
	h.u.showProblem(m)
	defer h.u.dialogs[0].Dismiss()
	texts := strings.Join(textsIn(h.u.win.Canvas().Overlays().Top()), "\n")
	for _, want := range []string{"What is wrong with broken", "A weight file is cut short", "it has no tokenizer.json.", cut,
		"Download the model again", "/models/broken"} {
		if !strings.Contains(texts, want) {
			t.Errorf("Details do not say %q:\n%s", want, texts)
		}
	}
	if strings.Contains(texts, "missing tokenizer.json") {
		t.Errorf("Details repeat the row's line in the reader's words:\n%s", texts)
	}
}
