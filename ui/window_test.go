package ui

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
	"github.com/janus-desktop/janus/model"
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

// An icon button says what it does while pointed at, and a click still reaches it.
func TestIconButtonHint(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	b := h.u.create.dice
	h.u.ShowCreate()
	h.settle()
	b.MouseIn(&desktop.MouseEvent{})
	if !h.u.tips.box.Visible() || h.u.tips.text.Text != "New random seed" {
		t.Fatalf("hint shown %v, text %q", h.u.tips.box.Visible(), h.u.tips.text.Text)
	}
	test.Tap(b)
	if h.u.tips.box.Visible() {
		t.Error("hint still shown after the click")
	}
	if h.u.create.seed.Text == "" {
		t.Error("the click did not roll a seed")
	}
	b.MouseIn(&desktop.MouseEvent{})
	b.MouseOut()
	if h.u.tips.box.Visible() {
		t.Error("hint still shown after the pointer left")
	}
}

// An icon button's hint in a dialog is drawn over the dialog (Settings' Remove folder): on
// the window's layer it was under it. Closed, the window's hints are the window's again.
func TestIconButtonHintInDialog(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	h.u.settings.ModelFolders = []string{"/data/models"}
	f := h.u.openSettings()
	h.settle()
	var rm *tipButton
	for _, o := range test.LaidOutObjects(f.folderList) {
		if b, ok := o.(*tipButton); ok {
			rm = b
		}
	}
	if rm == nil {
		t.Fatal("no Remove folder button in Settings")
	}
	rm.MouseIn(&desktop.MouseEvent{})
	over := h.u.win.Canvas().Overlays().Top()
	shown := ""
	for _, o := range test.LaidOutObjects(over) {
		if l, ok := o.(*widget.Label); ok && l.Text == "Remove folder" && l.Visible() {
			shown = l.Text
		}
	}
	top := h.u.tips.top()
	if shown == "" || top == h.u.tips.hintLayer || !top.box.Visible() {
		t.Errorf("the hint is not drawn in the dialog (shown there %q, on its own layer %v)", shown, top != h.u.tips.hintLayer)
	}
	if h.u.tips.box.Visible() {
		t.Error("the hint is drawn on the window's layer, under the dialog")
	}
	rm.MouseOut()
	if top.box.Visible() {
		t.Error("the hint is still shown after the pointer left")
	}
	h.u.dialogs[len(h.u.dialogs)-1].Hide()
	h.settle()
	h.u.ShowCreate()
	h.settle()
	h.u.create.dice.MouseIn(&desktop.MouseEvent{})
	if !h.u.tips.box.Visible() || h.u.tips.text.Text != "New random seed" {
		t.Errorf("the dialog closed, a hint in the window is shown %v, %q", h.u.tips.box.Visible(), h.u.tips.text.Text)
	}
}

// A settings file that cannot be read is set aside with a line saying so; the defaults apply.
func TestCorruptSettingsReported(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, app.SettingsFile), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	if !h.u.chat.notice.Visible() || !strings.Contains(h.u.chat.notice.Text, app.SettingsFile) {
		t.Errorf("notice %q", h.u.chat.notice.Text)
	}
	if h.u.settings.Generation.CFG != app.DefaultSettings().Generation.CFG {
		t.Errorf("settings %+v are not the defaults", h.u.settings)
	}
}

// Esc closes the newest dialog first (a confirmation over the picker, then the picker);
// with none open it is the views' Stop again.
func TestEscClosesDialogs(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	c := u.win.Canvas()
	esc := func() {
		if c.Focused() != nil {
			t.Fatalf("%T has the focus: Esc would not reach the window", c.Focused())
		}
		c.(test.WindowlessCanvas).OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	}
	u.showModelPicker()
	u.showAbout()
	if n := len(c.Overlays().List()); n != 2 {
		t.Fatalf("%d overlays, want the picker and About", n)
	}
	esc()
	if n := len(c.Overlays().List()); n != 1 || len(u.dialogs) != 1 {
		t.Fatalf("after one Esc: %d overlays, %d dialogs, want 1", n, len(u.dialogs))
	}
	esc()
	if c.Overlays().Top() != nil || len(u.dialogs) != 0 {
		t.Fatal("the second Esc left a dialog open")
	}
}

// A finished tile's actions fit it: with their names where there is room, as icons in
// narrower tiles, and behind one "…" button in eight tiles of the smallest window.
func TestTileActionsFit(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.create
	h.u.ShowCreate()
	const named, icons, more = 0, 1, 2
	for _, tc := range []struct {
		n    string
		size fyne.Size
		want int
	}{{"1", defaultWindowSize, named}, {"2", defaultWindowSize, named}, {"8", defaultWindowSize, icons},
		{"2", minWindowSize, icons}, {"8", minWindowSize, more}} {
		h.u.win.Resize(tc.size)
		c.prompt.SetText("tiles")
		c.count.SetSelected(tc.n)
		c.generate()
		h.pump("the images", func() bool { return c.job == nil })
		h.settle()
		for i, tl := range c.tiles {
			shown := -1
			for k, o := range tl.bar.Objects {
				if o.Visible() {
					shown = k
				}
			}
			if shown != tc.want {
				t.Errorf("%s images in %v: tile %d shows bar %d, want %d (0 names, 1 icons, 2 …)", tc.n, tc.size, i, shown, tc.want)
				continue
			}
			if w, need := tl.obj.Size().Width, tl.bar.Objects[shown].MinSize().Width; need > w {
				t.Errorf("%s images in %v: tile %d is %.0f wide, its actions need %.0f", tc.n, tc.size, i, w, need)
			}
		}
	}
}

// The menu's shortcuts work in the window: Ctrl+N a new chat, Ctrl+comma the settings; and
// Ctrl+1 and Ctrl+2 switch views.
func TestMenuShortcuts(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	c, ok := u.win.Canvas().(interface{ TypedShortcut(fyne.Shortcut) })
	if !ok {
		t.Fatal("the test canvas takes no shortcuts")
	}
	press := func(k fyne.KeyName) {
		c.TypedShortcut(&desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierShortcutDefault})
	}
	h.ask("a question")
	press(fyne.KeyN)
	if n := len(u.chat.session.Messages()); n != 0 {
		t.Errorf("after Ctrl+N the chat has %d messages, want a new one", n)
	}
	press(fyne.Key2)
	if u.tabs.SelectedIndex() != 1 {
		t.Error("Ctrl+2 did not show Create")
	}
	press(fyne.Key1)
	if u.tabs.SelectedIndex() != 0 {
		t.Error("Ctrl+1 did not show Chat")
	}
	press(fyne.KeyComma)
	if len(u.dialogs) != 1 {
		t.Errorf("after Ctrl+comma %d dialogs are open, want Settings", len(u.dialogs))
	}
	u.dialogs[0].Dismiss()
	press(fyne.KeyL)
	if len(u.dialogs) != 1 {
		t.Errorf("after Ctrl+L %d dialogs are open, want the model picker", len(u.dialogs))
	}
	u.dialogs[0].Dismiss()
	u.ShowChat()
	c.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyN, Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift})
	if !u.createShown() {
		t.Error("Ctrl+Shift+N did not show a new image")
	}
}

// Help's Keyboard shortcuts names every menu item that has a key, with its key.
func TestKeysListsTheMenus(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	u.showKeys()
	said := strings.Join(textsIn(u.win.Canvas().Overlays().Top()), "\n")
	for _, m := range u.mainMenu().Items {
		for _, item := range m.Items {
			sc, ok := item.Shortcut.(*desktop.CustomShortcut)
			if !ok {
				continue
			}
			key := string(sc.KeyName)
			if sc.KeyName == fyne.KeyComma {
				key = ","
			}
			if !strings.Contains(said, "+"+key) {
				t.Errorf("Keyboard shortcuts does not give %s's key %s", item.Label, sc.ShortcutName())
			}
		}
	}
	if !strings.Contains(said, "Esc") {
		t.Error("Keyboard shortcuts does not say Esc")
	}
}

// The large view's picture takes the room the window has: 560 pixels in the default window,
// more in a large one (up to 768), never under 320.
func TestViewerSizeFollowsWindow(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	for _, tc := range []struct {
		win  fyne.Size
		want float32
	}{
		{defaultWindowSize, 560},
		{fyne.NewSize(1600, 1000), 760},
		{fyne.NewSize(2400, 1600), 768},
		{minWindowSize, 320},
	} {
		h.u.win.Resize(tc.win)
		if got := h.u.viewerSize(); got != tc.want {
			t.Errorf("window %v: picture %v, want %v", tc.win, got, tc.want)
		}
	}
}

// After the window has closed, updates from jobs still ending are dropped, not queued for a
// UI loop that no longer runs.
func TestUpdatesAfterCloseAreDropped(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	ran := false
	u.closed.Store(true)
	u.do(func() { ran = true })
	u.closed.Store(false) // the test's cleanup closes the window itself
	h.pump("queued updates", func() bool { return true })
	if ran {
		t.Error("an update given after the window closed ran")
	}
	u.do(func() { ran = true })
	h.pump("the update", func() bool { return ran })
}

// The first-run screen fits the smallest window: its column narrows and its text wraps,
// a retry's long status line included.
func TestNoModelScreenFitsSmallestSize(t *testing.T) {
	h := firstRun(t)
	h.u.downloads.start("deepseek-ai/Janus-Pro-1B")
	h.pump("the progress", func() bool { return h.u.downloads.progress.Rate > 0 })
	h.u.downloads.progress.Status = "retrying in 4s: 500 Internal Server Error: internal error (http://127.0.0.1:18080/deepseek-ai/Janus-Pro-1B/resolve/8adc40/model.safetensors)"
	h.u.downloads.renderProgress()
	h.settle()
	if m := h.u.win.Content().MinSize(); m.Width > minWindowSize.Width {
		t.Errorf("the first-run screen needs %v wide, more than %v", m.Width, minWindowSize.Width)
	}
	// The sidebar says it too, not "Downloading … 31%" as if all were well.
	if l := h.u.sidebar.downloadL.Text; !strings.Contains(l, "retrying") {
		t.Errorf("the sidebar says %q while the download retries", l)
	}
}

// The window opens with the composer focused: the first keys typed are a question.
func TestComposerFocusedAtStart(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	if f := h.u.win.Canvas().Focused(); f != h.u.chat.entry {
		t.Errorf("focused at start: %T, want the composer", f)
	}
}

// New chat and New image (Ctrl+N) put the focus where the next keys belong, wherever it was:
// typed into the history list, a space reopened its focused chat over the new one.
func TestNewChatFocusesTheComposer(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	h.ask("a question")
	u.win.Canvas().Focus(u.sidebar.list)
	u.newChat()
	if f := u.win.Canvas().Focused(); f != u.chat.entry {
		t.Errorf("after New chat the focus is on %T, want the composer", f)
	}
	u.ShowCreate()
	u.win.Canvas().Focus(u.sidebar.list)
	u.newImage()
	if f := u.win.Canvas().Focused(); f != u.create.prompt {
		t.Errorf("after New image the focus is on %T, want the prompt", f)
	}
}

// The folder picker of Settings' "Add folder…" is a dialog as the others: Esc closes it
// alone, leaving Settings and what was edited in it (it closed both, and the edits went).
func TestEscClosesFolderPickerAlone(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	c := u.win.Canvas()
	u.openSettings()
	settings := c.Overlays().Top()
	test.Tap(buttonsIn(settings)["Add folder…"].b)
	if n := len(u.dialogs); n != 2 || c.Overlays().Top() == settings {
		t.Fatalf("after Add folder…: %d dialogs tracked, the picker on top %v", n, c.Overlays().Top() != settings)
	}
	if w := c.Overlays().Top().Size().Width; w < 600 {
		t.Errorf("the folder picker is %.0f wide", w)
	}
	c.Unfocus()
	c.(test.WindowlessCanvas).OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if c.Overlays().Top() != settings || len(u.dialogs) != 1 {
		t.Errorf("after Esc: Settings on top %v, %d dialogs", c.Overlays().Top() == settings, len(u.dialogs))
	}
}

// Closing the last dialog gives the focus back to the composer when nothing had it: a picture
// opened large by a click took it, and the keys typed after Esc went nowhere.
func TestDialogCloseRefocuses(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	u.win.Canvas().Unfocus() // a click on a picture in a message
	d := u.showPicture(image.NewNRGBA(image.Rect(0, 0, 4, 4)), "", "", canvas.ImageScaleFastest)
	d.Hide()
	h.pump("the focus back", func() bool { return u.win.Canvas().Focused() == u.chat.entry })
}

// Space on a button that closes a dialog, loads a model or puts an example into the composer
// types nothing into the composer: the key's character comes after the key, and the focus
// moved to the composer in between had it typed there.
func TestSpaceOnAButtonTypesNothing(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	c := u.win.Canvas()
	press := func(b fyne.Focusable) {
		c.Focus(b)
		typeSpace(c)
		h.settle()
	}
	u.showAbout()
	press(buttonsIn(c.Overlays().Top())["Close"].obj.(fyne.Focusable))
	if c.Overlays().Top() != nil || u.chat.entry.Text != "" || c.Focused() != u.chat.entry {
		t.Errorf("Space on About's Close: dialog open %v, composer %q, focus on %T", c.Overlays().Top() != nil, u.chat.entry.Text, c.Focused())
	}
	var chip fyne.Focusable // the widget itself, which the canvas focuses
	visit(u.chat.content, fyne.Position{}, func(o fyne.CanvasObject, _ fyne.Position) {
		if b, ok := asButton(o); ok && b.Text == chatExamples[0] && chip == nil {
			chip = o.(fyne.Focusable)
		}
	})
	if chip == nil {
		t.Fatal("no example chip")
	}
	press(chip)
	if u.chat.entry.Text != chatExamples[0] || c.Focused() != u.chat.entry {
		t.Errorf("Space on an example: composer %q, focus on %T", u.chat.entry.Text, c.Focused())
	}
}

// The large view fits the smallest window with its caption and buttons: the picture
// shrinks, nothing runs over the Close button.
func TestViewerFitsSmallestWindow(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.create
	h.u.win.Resize(minWindowSize)
	h.u.ShowCreate()
	test.Type(c.prompt, "a red fox in the snow, soft morning light, watercolour")
	c.count.SetSelected("8") // the arrows too
	c.generate()
	h.pump("the images", func() bool { return c.job == nil })
	c.openLarge(7)
	if m := h.u.win.Canvas().Overlays().Top().MinSize(); m.Height > minWindowSize.Height || m.Width > minWindowSize.Width {
		t.Errorf("the large view needs %v in a %v window", m, minWindowSize)
	}
}

// Esc closes a dialog whatever field in it has the focus (Fyne gives a focused widget the
// key, not the window); Enter answers a question, except one that deletes; Ctrl+Enter in the
// seed field generates.
func TestDialogKeys(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	esc := &fyne.KeyEvent{Name: fyne.KeyEscape}
	for name, field := range map[string]func(*settingsForm) fyne.Focusable{
		"a number":  func(f *settingsForm) fyne.Focusable { return f.cfg },
		"a list":    func(f *settingsForm) fyne.Focusable { return f.weights },
		"the port":  func(f *settingsForm) fyne.Focusable { return f.serve.port },
		"the check": func(f *settingsForm) fyne.Focusable { return f.serve.on },
		"Save":      func(f *settingsForm) fyne.Focusable { return f.saveB },
	} {
		f := u.openSettings()
		w := field(f)
		u.win.Canvas().Focus(w)
		w.TypedKey(esc)
		if len(u.dialogs) != 0 {
			t.Errorf("Esc on %s left Settings open", name)
			for len(u.dialogs) > 0 {
				u.dialogs[0].Dismiss()
			}
		}
	}

	// A dialog's Close, once Tab reached it.
	u.showAbout()
	closeB := buttonsIn(u.win.Canvas().Overlays().Top())["Close"].obj.(fyne.Focusable)
	u.win.Canvas().Focus(closeB)
	closeB.TypedKey(esc)
	if len(u.dialogs) != 0 {
		t.Error("Esc on About's Close left it open")
		u.dialogs[0].Dismiss()
	}
	// Enter presses a focused button, as Space does.
	u.showAbout()
	closeB = buttonsIn(u.win.Canvas().Overlays().Top())["Close"].obj.(fyne.Focusable)
	u.win.Canvas().Focus(closeB)
	closeB.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if len(u.dialogs) != 0 {
		t.Error("Enter on About's Close left it open")
		u.dialogs[0].Dismiss()
	}
	// A question's buttons too (Fyne's confirm dialog kept both keys).
	answered := false
	u.show(u.question("Go on?", "A question.", "Go on", "Stop here", 300, func() { answered = true }))
	no := buttonsIn(u.win.Canvas().Overlays().Top())["Stop here"].obj.(fyne.Focusable)
	u.win.Canvas().Focus(no)
	no.TypedKey(esc)
	if len(u.dialogs) != 0 || answered {
		t.Errorf("Esc on a question's button: %d dialogs open, answered %v", len(u.dialogs), answered)
	}
	u.show(u.question("Go on?", "A question.", "Go on", "Stop here", 300, func() { answered = true }))
	yes := buttonsIn(u.win.Canvas().Overlays().Top())["Go on"].obj.(fyne.Focusable)
	u.win.Canvas().Focus(yes)
	yes.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if len(u.dialogs) != 0 || !answered {
		t.Errorf("Enter on a question's confirm button: %d dialogs open, answered %v", len(u.dialogs), answered)
	}
	// An icon button too: Enter on the clip opens the file dialog.
	u.win.Canvas().Focus(u.chat.attachB)
	u.chat.attachB.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if len(u.dialogs) != 1 {
		t.Errorf("Enter on the clip: %d dialogs open, want the file dialog", len(u.dialogs))
	}
	for len(u.dialogs) > 0 {
		u.dialogs[0].Dismiss()
	}

	h.ask("a question")
	h.pump("the entry", func() bool { return len(u.sidebar.entries) == 1 })
	u.sidebar.delete(u.sidebar.entries[0])
	h.windowEnter()
	h.pump("a moment", func() bool { return true })
	if len(u.dialogs) != 1 || len(u.sidebar.entries) != 1 {
		t.Errorf("Enter on Delete?: %d dialogs, %d entries", len(u.dialogs), len(u.sidebar.entries))
	}
	u.win.Canvas().OnTypedKey()(esc)
	confirmed := false
	u.show(dialog.NewConfirm("Go on?", "", func(ok bool) { confirmed = ok }, u.win))
	h.windowEnter()
	if !confirmed || len(u.dialogs) != 0 {
		t.Errorf("Enter on a question: confirmed %v, %d dialogs", confirmed, len(u.dialogs))
	}

	c := u.create
	u.ShowCreate()
	c.prompt.SetText("a red fox")
	u.win.Canvas().Focus(c.seed)
	c.seed.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierControl})
	if c.job == nil {
		t.Fatal("Ctrl+Enter in the seed field did not generate")
	}
	h.pump("the images", func() bool { return c.job == nil })
}

// The window opens at the size it had when it last closed (it always opened at the
// default, too large for a small screen once resized), at least the smallest that works.
func TestWindowSizeKeptAcrossQuit(t *testing.T) {
	dir := t.TempDir()
	h1 := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	h1.u.win.Resize(fyne.NewSize(1000, 700))
	h1.u.shutdown()
	h2 := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	if got := h2.u.win.Canvas().Size(); got != fyne.NewSize(1000, 700) {
		t.Errorf("after a restart the window is %v, want 1000×700", got)
	}
	if got := startSize(&app.WindowSize{Width: 300, Height: 2000}); got != fyne.NewSize(minWindowSize.Width, 2000) {
		t.Errorf("a saved 300×2000 opens at %v", got)
	}
	if got := startSize(nil); got != defaultWindowSize {
		t.Errorf("no size saved: %v", got)
	}
}

// Quitting keeps what was typed and not sent: the composer's and the prompt's text are
// there at the next start.
func TestDraftsKeptAcrossQuit(t *testing.T) {
	dir := t.TempDir()
	h1 := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	test.Type(h1.u.chat.entry, "my unsent question")
	h1.u.create.prompt.SetText("a fox in the snow")
	h1.u.shutdown()

	h2 := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	if c, p := h2.u.chat.entry.Text, h2.u.create.prompt.Text; c != "my unsent question" || p != "a fox in the snow" {
		t.Errorf("after a restart the composer holds %q and the prompt %q", c, p)
	}
}

// The canvas's controls are kept across a quit as its prompt is: eight images went back to
// the default one.
func TestCanvasSettingsKeptAcrossQuit(t *testing.T) {
	dir := t.TempDir()
	h1 := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	c := h1.u.create
	c.count.SetSelected("8")
	c.cfg.SetValue(7)
	c.seed.SetText("42")
	h1.u.shutdown()

	h2 := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	c2 := h2.u.create
	if c2.count.Selected != "8" || c2.cfg.Value != 7 || c2.seed.Text != "42" || c2.temp.Value != 1 {
		t.Errorf("after a restart: %s images, guidance %v, seed %q, temperature %v", c2.count.Selected, c2.cfg.Value, c2.seed.Text, c2.temp.Value)
	}
	// Back at the defaults, nothing is kept: the Settings' defaults apply.
	c2.applySettings(h2.u.settings.Generation, false)
	if d := h2.u.drafts(); d.Canvas != nil {
		t.Errorf("the defaults are kept as %+v", *d.Canvas)
	}
}

// Drafts reach settings.json shortly after the typing stops, before any quit (a crash keeps
// them); sending empties the saved draft.
func TestDraftsSavedWhileTyping(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.draftDelay = 50 * time.Millisecond })
	saved := func() app.Drafts {
		st, _, err := h.u.store.LoadSettings()
		if err != nil {
			t.Fatal(err)
		}
		return st.Drafts
	}
	test.Type(h.u.chat.entry, "half a question")
	h.pump("the draft on disk", func() bool {
		h.u.settingsW.Flush()
		return saved().Chat == "half a question"
	})
	h.u.chat.send()
	h.waitAnswers(1)
	h.pump("the sent draft gone from disk", func() bool {
		h.u.settingsW.Flush()
		return saved().Chat == ""
	})
}

// A Create prompt too long to put back is said under the prompt, as a prompt: under the chat
// it read as a chat message not sent, and went with the next chat opened.
func TestLongPromptKeptInFile(t *testing.T) {
	dir := t.TempDir()
	st, err := app.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := app.DefaultSettings()
	s.Drafts = app.Drafts{Prompt: strings.Repeat("a pasted prompt ", maxDraftRunes/10)}
	if err := st.SaveSettings(s); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	files, _ := filepath.Glob(filepath.Join(dir, "unsent", "prompt-*.txt"))
	if len(files) != 1 {
		t.Fatalf("unsent files %v", files)
	}
	if n := h.u.create.notice; !n.Visible() || !strings.Contains(n.Text, "The prompt left in Create") || !strings.Contains(n.Text, files[0]) {
		t.Errorf("Create's notice %q (shown %v), want it to name the prompt's file", n.Text, n.Visible())
	}
	if h.u.chat.notice.Visible() {
		t.Errorf("the chat says %q", h.u.chat.notice.Text)
	}
}

// A draft too long to put back quickly is kept in a file the notice names, not lost.
func TestLongDraftKeptInFile(t *testing.T) {
	dir := t.TempDir()
	st, err := app.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a pasted document ", maxDraftRunes/10)
	// A chat of the history, with a long draft of its own.
	sess := app.NewChatSession(st, apptest.NewFakeEngine(0), model.AnswerOptions{})
	j, err := sess.Send("Gradient test", nil, app.ChatCallbacks{})
	if err != nil {
		t.Fatal(err)
	}
	j.Wait()
	<-sess.Idle()
	s := app.DefaultSettings()
	s.Drafts = app.Drafts{Chat: long, Prompt: "a short prompt", Chats: map[string]string{sess.ID(): long + "!"}}
	if err := st.SaveSettings(s); err != nil {
		t.Fatal(err)
	}
	// An image named on the command line is attached meanwhile: its news must not hide
	// where the draft went.
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir; o.Attach = []string{landscape(t)} })
	h.pump("the attachment", func() bool { return len(h.u.chat.attached) == 1 })
	if h.u.chat.entry.Text != "" || h.u.create.prompt.Text != "a short prompt" {
		t.Errorf("composer %d characters, prompt %q", len(h.u.chat.entry.Text), h.u.create.prompt.Text)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "unsent", "chat-*.txt"))
	if len(files) != 2 {
		t.Fatalf("unsent files %v", files)
	}
	for _, f := range files {
		got, _ := os.ReadFile(f)
		if string(got) != long && string(got) != long+"!" {
			t.Errorf("%s holds %d bytes, want a draft's %d", f, len(got), len(long))
		}
		if !strings.Contains(h.u.chat.notice.Text, f) || !h.u.chat.notice.Visible() {
			t.Errorf("notice %q does not name %s", h.u.chat.notice.Text, f)
		}
	}
	// Each line says which chat the text was written in: under whichever chat is open, it
	// said nothing of that.
	for _, where := range []string{"in the new chat (", "in “Gradient test” ("} {
		if !strings.Contains(h.u.chat.notice.Text, where) {
			t.Errorf("notice %q does not say %q", h.u.chat.notice.Text, where)
		}
	}
	// Kept in the file, the draft leaves the settings: a crash now does not keep it twice.
	h.u.settingsW.Flush()
	if st, _, err := h.u.store.LoadSettings(); err != nil || st.Drafts.Chat != "" || st.Drafts.Prompt != "a short prompt" {
		t.Errorf("saved drafts %+v (%v), want the long one gone and the prompt kept", st.Drafts, err)
	}
}

// A later start of the app on the same data folder reaches this window: its images are
// attached to the chat, which comes to the front.
func TestLaterStartAttaches(t *testing.T) {
	img := landscape(t)
	var claim *app.FolderClaim
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) {
		var err error
		if claim, err = app.ClaimDataFolder(o.StoreDir, app.Launch{}); err != nil {
			t.Fatal(err)
		}
		o.Claim = claim
	})
	u := h.u
	u.ShowCreate()
	// The start waits for the window to take its images: the test's UI queue runs meanwhile.
	started := make(chan error, 1)
	go func() {
		_, err := app.ClaimDataFolder(u.store.Root(), app.Launch{Attach: []string{img}})
		started <- err
	}()
	var err error
	h.pump("the second start to hand over", func() bool {
		select {
		case err = <-started:
			return true
		default:
			return false
		}
	})
	if !errors.Is(err, app.ErrAlreadyRunning) {
		t.Fatalf("second start: %v", err)
	}
	h.pump("the image of the second start", func() bool { return len(u.chat.attached) == 1 })
	if u.tabs.SelectedIndex() != 0 {
		t.Error("the chat is not in front")
	}
	// Closed, the window gives the folder up to the next start.
	u.shutdown()
	next, err := app.ClaimDataFolder(u.store.Root(), app.Launch{})
	if err != nil {
		t.Fatalf("start after the window closed: %v", err)
	}
	next.Close()
}

// A data folder that cannot be used gives way to this user's folder in the temporary one,
// or, when that name is taken by a file or by a folder others may write (another user could
// have made it first), to a new one; the window says where the history goes.
func TestStoreFallback(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(plain string) error
		plain   bool // the history goes to the plain name
	}{
		{"free", func(string) error { return nil }, true},
		{"a file", func(plain string) error { return os.WriteFile(plain, nil, 0o600) }, false},
		{"open to others", func(plain string) error {
			if err := os.Mkdir(plain, 0o700); err != nil {
				return err
			}
			return os.Chmod(plain, 0o777)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			blocker := filepath.Join(t.TempDir(), "a-file")
			if err := os.WriteFile(blocker, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			plain := filepath.Join(tmp, fmt.Sprintf("janus-desktop-%d", os.Getuid()))
			if err := tc.prepare(plain); err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = filepath.Join(blocker, "data") })
			root := h.u.store.Root()
			if rel, err := filepath.Rel(tmp, root); err != nil || strings.HasPrefix(rel, "..") || (root == plain) != tc.plain {
				t.Errorf("history in %s (the plain name %s: %v)", root, plain, tc.plain)
			}
			if !strings.Contains(h.u.chat.notice.Text, root) {
				t.Errorf("notice %q does not say where the history goes", h.u.chat.notice.Text)
			}
		})
	}
}

// Quitting while images are being made asks first (they would be lost); Keep working leaves
// the run going.
func TestQuitAsksDuringGeneration(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(50*time.Millisecond))
	u := h.u
	u.ShowCreate()
	test.Type(u.create.prompt, "a slow lighthouse")
	u.create.generate()
	h.pump("the run", func() bool { return u.create.job != nil })
	u.requestQuit()
	if len(u.dialogs) != 1 {
		t.Fatalf("%d dialogs after Quit during a generation, want the question", len(u.dialogs))
	}
	d, ok := u.dialogs[0].Dialog.(*askDialog)
	if !ok {
		t.Fatalf("the question is a %T", u.dialogs[0].Dialog)
	}
	// Enter, meant for the prompt or pressed out of habit, does not answer it: Quit loses
	// the images.
	h.windowEnter()
	if len(u.dialogs) != 1 || u.create.job == nil || u.closed.Load() {
		t.Fatalf("Enter on the quit question: %d dialogs, run going %v, window closed %v", len(u.dialogs), u.create.job != nil, u.closed.Load())
	}
	d.Dismiss() // Keep working
	if u.create.job == nil {
		t.Error("Keep working stopped the run")
	}
	// Asked again, and the run ends meanwhile: the question says nothing is lost now.
	u.requestQuit()
	h.pump("the run to end", func() bool { return u.create.job == nil })
	if u.quitNote == nil || !strings.Contains(u.quitNote.Text, "loses nothing") {
		t.Fatalf("the quit question after the run ended: %v", u.quitNote)
	}
	// Nothing to lose now: Quit is drawn as the default again, and Enter answers it.
	quitB := buttonsIn(u.win.Canvas().Overlays().Top())["Quit"].b
	if quitB == nil {
		t.Fatal("no Quit button in the question")
	}
	var fill color.Color
	for _, o := range test.WidgetRenderer(quitB).Objects() {
		if r, ok := o.(*canvas.Rectangle); ok && r.FillColor != nil && fill == nil {
			fill = r.FillColor
		}
	}
	if want := u.fapp.Settings().Theme().Color(theme.ColorNamePrimary, u.fapp.Settings().ThemeVariant()); fill != want {
		t.Errorf("once nothing is lost, Quit is drawn in %v, want the accent %v", fill, want)
	}
	h.windowEnter()
	if !u.closed.Load() {
		t.Error("Enter on the quit question once the run had ended did not quit")
	}
}

// Error lines start with a capital, except where they start with a name.
func TestSentenceStart(t *testing.T) {
	for in, want := range map[string]string{
		"read settings: open x: permission denied": "Read settings: open x: permission denied",
		"the image a.png of this chat is missing":  "The image a.png of this chat is missing",
		"deepseek-ai/Janus-Pro-1B was not found":   "deepseek-ai/Janus-Pro-1B was not found",
		"land.png: the file does not exist":        "land.png: the file does not exist",
		"holiday: the file does not exist":         "holiday: the file does not exist",
		"--cfg must be >= 0":                       "--cfg must be >= 0",
		"Already a sentence":                       "Already a sentence",
		"":                                         "",
	} {
		if got := sentenceStart(in); got != want {
			t.Errorf("sentenceStart(%q) = %q, want %q", in, got, want)
		}
	}
}

// A window that is closing takes no later start: the flag is up as soon as it closes, before
// shutdown runs, so that the start waits for the folder instead of handing its images to a
// window about to go.
func TestClosingWindowTakesNoStart(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	h.u.win.Close()
	if !h.u.closed.Load() {
		t.Error("the window closed without marking itself closing")
	}
	h.u.win = test.NewWindow(nil) // for the harness's own Close (the test driver's twice panics)
}

// A window too busy to take a start's images within app.LaunchWait says so, and the queued
// hand-over is dropped when it comes: the start, told "busy", asks again or says the window
// did not answer, and must not see its images arrive later (or twice).
func TestBusyWindowDropsLateLaunch(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.launchWait = 50 * time.Millisecond })
	// The test's UI queue is not run while takeLaunch waits: the window is busy.
	if err := h.u.takeLaunch(app.Launch{Attach: []string{landscape(t)}}); !errors.Is(err, app.ErrBusy) {
		t.Fatalf("takeLaunch on a busy window = %v, want ErrBusy", err)
	}
	h.pump("the queue", func() bool { return true })
	time.Sleep(100 * time.Millisecond)
	h.pump("any attachment", func() bool { return true })
	if n := len(h.u.chat.attached); n != 0 {
		t.Errorf("%d images attached after the start was told busy", n)
	}
}

// A history folder that cannot be written is said at start, not at the first answer.
func TestUnwritableHistorySaidAtStart(t *testing.T) {
	dir := t.TempDir()
	if _, err := app.OpenStore(dir); err != nil {
		t.Fatal(err)
	}
	// A folder where the check's file goes stands for a folder that cannot be written.
	if err := os.MkdirAll(filepath.Join(dir, "chats", ".write-check", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	if n := h.u.chat.notice; !n.Visible() || !strings.Contains(n.Text, "Nothing made now can be kept") {
		t.Errorf("notice %q", n.Text)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "chats"))
	for _, e := range entries {
		if e.Name() != ".write-check" {
			t.Errorf("left in chats/: %s", e.Name())
		}
	}

	// Only the folder itself (the settings' place): the history keeps what is made, and
	// the notice says what is lost.
	if err := os.RemoveAll(filepath.Join(dir, "chats", ".write-check")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, ".write-check", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	h2 := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	if n := h2.u.chat.notice; !n.Visible() || !strings.Contains(n.Text, "Settings and unsent text cannot be saved") || strings.Contains(n.Text, "Nothing made") {
		t.Errorf("with the settings' folder alone blocked the notice reads %q", n.Text)
	}
}

// asButton is o as a labelled button: Fyne's, or ours with Esc the window's.
func asButton(o fyne.CanvasObject) (*widget.Button, bool) {
	switch b := o.(type) {
	case *widget.Button:
		return b, true
	case *escButton:
		return &b.Button, true
	}
	return nil, false
}

// buttonsIn returns the visible buttons of o's tree by text, with their positions in o.
func buttonsIn(o fyne.CanvasObject) map[string]placed {
	out := map[string]placed{}
	visit(o, fyne.Position{}, func(obj fyne.CanvasObject, p fyne.Position) {
		if b, ok := asButton(obj); ok {
			out[b.Text] = placed{b, p, obj}
		}
	})
	return out
}

// placed is a button, where it is, and the widget the canvas holds (ours embeds b).
type placed struct {
	b   *widget.Button
	at  fyne.Position
	obj fyne.CanvasObject
}

// oneRowCloseRight checks that the buttons named are in one row, Close at its right.
func oneRowCloseRight(t *testing.T, what string, o fyne.CanvasObject, names ...string) map[string]placed {
	t.Helper()
	bs := buttonsIn(o)
	cl, ok := bs["Close"]
	if !ok {
		t.Fatalf("%s: no Close (buttons %v)", what, bs)
	}
	for _, n := range names {
		b, ok := bs[n]
		switch {
		case !ok:
			t.Errorf("%s: no %q button", what, n)
		case b.at.Y != cl.at.Y:
			t.Errorf("%s: %q at y %v, Close at y %v: not one row", what, n, b.at.Y, cl.at.Y)
		case b.at.X >= cl.at.X:
			t.Errorf("%s: %q at x %v, right of Close (x %v)", what, n, b.at.X, cl.at.X)
		}
	}
	return bs
}

// A question offering another model says the work under it (an answer, images) will stop
// only while it runs: the line goes when the work ends before the question is answered.
func TestSwitchQuestionFollowsWork(t *testing.T) {
	for _, work := range []string{"answer", "images"} {
		t.Run(work, func(t *testing.T) {
			h := newHarness(t, apptest.NewFakeEngine(30*time.Millisecond))
			u := h.u
			// An answer has ended once the window has shown it finished.
			running := func() bool { return u.chat.finished == 0 }
			if work == "images" {
				u.ShowCreate()
				test.Type(u.create.prompt, "a slow lighthouse")
				u.create.generate()
				running = func() bool { return u.create.job != nil }
			} else {
				test.Type(u.chat.entry, "what is slow?")
				u.chat.send()
				h.pump("the answer to start", func() bool { return u.chat.job != nil })
			}
			h.pump("the work to start", running)
			u.offerDownloaded(t.TempDir(), "Janus-Pro-7B")
			if len(u.dialogs) != 1 {
				t.Fatalf("%d dialogs after a download finished, want the question", len(u.dialogs))
			}
			said := func() bool {
				return strings.Contains(strings.Join(textsIn(u.win.Canvas().Overlays().Top()), " "), "in progress will stop")
			}
			if !said() {
				t.Fatalf("the question during the work does not say it stops: %q", textsIn(u.win.Canvas().Overlays().Top()))
			}
			h.pump("the work to end", func() bool { return !running() })
			if said() {
				t.Errorf("the question still says the work will stop once it ended: %q", textsIn(u.win.Canvas().Overlays().Top()))
			}
			u.dialogs[0].Dismiss()
			if u.switchNote != nil {
				t.Error("the closed question is still redrawn")
			}
		})
	}
}

// A full disk is said by the folder written to, not by the temporary file's name.
func TestErrorLineFullDisk(t *testing.T) {
	err := fmt.Errorf("save set: %w", &os.PathError{Op: "write", Path: "/data/sets/.x.json.42.tmp", Err: syscall.ENOSPC})
	if got, want := firstLine(err), "the disk holding /data/sets is full"; got != want {
		t.Errorf("firstLine(%v) = %q, want %q", err, got, want)
	}
}

// The window opens on the view it was left on: Create when quit from there (it always opened
// on Chat), but Chat when images are given at start, for a chat.
func TestViewKeptAcrossQuit(t *testing.T) {
	dir := t.TempDir()
	h1 := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	h1.u.ShowCreate()
	h1.u.shutdown()
	h2 := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	if h2.u.tabs.SelectedIndex() != 1 {
		t.Errorf("after quitting from Create the window opens on view %d", h2.u.tabs.SelectedIndex())
	}
	h2.u.shutdown()
	h3 := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir; o.Attach = []string{landscape(t)} })
	if h3.u.tabs.SelectedIndex() != 0 {
		t.Errorf("with an image given at start the window opens on view %d", h3.u.tabs.SelectedIndex())
	}
	h3.u.ShowChat()
	h3.u.shutdown()
	h4 := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	if h4.u.tabs.SelectedIndex() != 0 {
		t.Errorf("after quitting from Chat the window opens on view %d", h4.u.tabs.SelectedIndex())
	}
}

// The focus does not stay on a widget that goes away: a removed image's ✕, the settings row a
// run hides, Stop once the run ends. Keys typed then went nowhere, and Esc did not stop.
func TestFocusLeavesWhatGoes(t *testing.T) {
	eng := apptest.NewFakeEngine(time.Second) // a run that lasts until Stop, whatever the load
	h := newHarness(t, eng)
	u := h.u
	c := u.win.Canvas()
	u.chat.attach([]string{landscape(t)})
	h.pump("the chip", func() bool { return len(u.chat.attached) == 1 })
	var rm *tipButton
	visit(u.chat.attached[0].chip, fyne.Position{}, func(o fyne.CanvasObject, _ fyne.Position) {
		if b, ok := o.(*tipButton); ok {
			rm = b
		}
	})
	c.Focus(rm)
	test.Tap(rm)
	h.pump("the focus in the composer", func() bool { return c.Focused() == u.chat.entry })

	cv := u.create
	u.ShowCreate()
	cv.prompt.SetText("a lighthouse")
	c.Focus(cv.count)
	cv.generate()
	h.pump("the focus in the prompt", func() bool { return c.Focused() == cv.prompt })
	if cv.job == nil || !cv.stopB.Visible() {
		t.Fatal("the run ended before Stop could be focused")
	}
	c.Focus(cv.stopB)
	test.Tap(cv.stopB)
	h.pump("the run's end", func() bool { return cv.job == nil })
	h.pump("the focus in the prompt", func() bool { return c.Focused() == cv.prompt })
}

// An icon button reached with Tab says what it does, as it does under the pointer.
func TestTipOnFocus(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	c := u.win.Canvas()
	c.Focus(u.chat.attachB)
	if !u.tips.box.Visible() || u.tips.text.Text != "Attach images" {
		t.Errorf("focused, the clip's hint is shown %v: %q", u.tips.box.Visible(), u.tips.text.Text)
	}
	c.Focus(u.chat.entry)
	if u.tips.box.Visible() {
		t.Error("the hint stays once the focus moved on")
	}
}

// Keyboard shortcuts fits the smallest window: its list scrolls (in the real window it ran
// under Close), and Close stays inside.
func TestKeysFitSmallestWindow(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	u.win.Resize(minWindowSize)
	u.showKeys()
	top := u.win.Canvas().Overlays().Top()
	b := buttonsIn(top)["Close"]
	if b.b == nil {
		t.Fatal("no Close")
	}
	if bottom := b.at.Y + b.b.Size().Height; bottom > u.win.Canvas().Size().Height {
		t.Errorf("Close ends at %.0f in a window %.0f high", bottom, u.win.Canvas().Size().Height)
	}
	scrolled := false
	visit(top, fyne.Position{}, func(o fyne.CanvasObject, _ fyne.Position) {
		if sc, ok := o.(*container.Scroll); ok && slices.Contains(textsIn(sc.Content), "Quit") {
			scrolled = true
		}
	})
	if !scrolled {
		t.Error("the list of keys is not in a scroll")
	}
}

// In a wide window the Create view's prompt and settings keep to a centred column, as the
// chat does, instead of running edge to edge over a grid in the middle.
func TestCreateColumnInWideWindow(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	u.ShowCreate()
	u.win.Resize(fyne.NewSize(1920, 1080))
	h.settle()
	d := fyne.CurrentApp().Driver()
	p := u.create.prompt
	left := d.AbsolutePositionForObject(p).X
	right := left + p.Size().Width + u.create.genB.Size().Width
	if w := right - left; w > createWidth {
		t.Errorf("the prompt and Generate span %.0f, wider than the column's %d", w, createWidth)
	}
	side := d.AbsolutePositionForObject(u.tabs).X
	if mid, want := (left+right)/2, side+u.tabs.Size().Width/2; mid < want-40 || mid > want+40 {
		t.Errorf("the column's middle is at %.0f, the view's at %.0f", mid, want)
	}
}

// Tab follows the window as it reads: the sidebar top to bottom, then the view, the clip
// before the composer and Send after it (the history came before the buttons above it, and
// the composer before the clip on its left).
func TestTabOrder(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	c := u.win.Canvas()
	want := map[string]fyne.Focusable{}
	for name, b := range buttonsIn(u.sidebar.content) {
		if name == "New chat" || name == "New image" || name == "Models" || name == "Settings" {
			want[name] = b.obj.(fyne.Focusable)
		}
	}
	want["history"], want["clip"], want["composer"], want["Send"] = u.sidebar.list, u.chat.attachB, u.chat.entry, u.chat.sendB
	h.ask("a first question") // the history is a Tab stop once it has a row
	h.pump("the history row", func() bool { return len(u.sidebar.entries) == 1 })
	test.Type(u.chat.entry, "a question") // Send is a Tab stop once it can send
	c.Focus(u.chat.sendB)
	var order []string
	for range 40 {
		c.FocusNext()
		for name, f := range want {
			if c.Focused() == f && !slices.Contains(order, name) {
				order = append(order, name)
			}
		}
		if c.Focused() == u.chat.sendB {
			break
		}
	}
	if w := []string{"New chat", "New image", "history", "Models", "Settings", "clip", "composer", "Send"}; !slices.Equal(order, w) {
		t.Errorf("Tab goes %q, want %q", order, w)
	}
}

// Where Fyne does not finish quitting once the window closed (its 2.7 loop can hang on its own
// lifecycle queue, and ShowAndRun never returns), the app shuts down without it, the engine
// closed and the drafts saved, and exits.
func TestQuitWithoutFyne(t *testing.T) {
	eng := apptest.NewFakeEngine(0)
	exited := make(chan int, 1)
	h := newHarness(t, eng, func(o *Options) {
		o.quitWait = 50 * time.Millisecond
		o.exit = func(code int) { exited <- code }
	})
	u := h.u
	test.Type(u.chat.entry, "typed and not sent")
	u.running.Store(true) // as ShowAndRun does
	u.win.Close()
	select {
	case code := <-exited:
		if code != 0 {
			t.Errorf("exit code %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the app did not exit on its own")
	}
	if !eng.Closed() {
		t.Error("the engine was not closed before the exit")
	}
	s, _, err := u.store.LoadSettings()
	if err != nil || s.Drafts.Chat != "typed and not sent" {
		t.Errorf("the draft was not saved before the exit: %+v (%v)", s.Drafts, err)
	}
}

// View > Hide sidebar (Ctrl+B) gives the sidebar's width to the views and says Show sidebar
// next; the window opens again as it was left.
func TestSidebarHides(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	u := h.u
	u.win.Resize(fyne.NewSize(800, 560))
	c := u.win.Canvas().(interface{ TypedShortcut(fyne.Shortcut) })
	ctrlB := &desktop.CustomShortcut{KeyName: fyne.KeyB, Modifier: fyne.KeyModifierShortcutDefault}
	wide := u.main.Size().Width
	c.TypedShortcut(ctrlB)
	if u.side.Visible() || u.sidebarItem.Label != "Show sidebar" || u.main.Size().Width < wide+200 {
		t.Fatalf("after Ctrl+B: sidebar shown %v, menu %q, views %.0f wide (were %.0f)", u.side.Visible(), u.sidebarItem.Label, u.main.Size().Width, wide)
	}
	u.shutdown()
	if st, _, err := u.store.LoadSettings(); err != nil || !st.HideSidebar {
		t.Fatalf("saved at quit: hide sidebar %v (%v)", st.HideSidebar, err)
	}

	h2 := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	if h2.u.side.Visible() || h2.u.sidebarItem.Label != "Show sidebar" {
		t.Fatalf("the next start: sidebar shown %v, menu %q", h2.u.side.Visible(), h2.u.sidebarItem.Label)
	}
	h2.u.win.Canvas().(interface{ TypedShortcut(fyne.Shortcut) }).TypedShortcut(ctrlB)
	if !h2.u.side.Visible() || h2.u.sidebarItem.Label != "Hide sidebar" {
		t.Errorf("after Ctrl+B again: sidebar shown %v, menu %q", h2.u.side.Visible(), h2.u.sidebarItem.Label)
	}
}

// typeSpace types Space as the desktop driver does: the key down, the key, its character,
// the key up, each to the widget focused at that moment.
func typeSpace(c fyne.Canvas) {
	k := &fyne.KeyEvent{Name: fyne.KeySpace}
	if f, ok := c.Focused().(desktop.Keyable); ok {
		f.KeyDown(k)
	}
	if f := c.Focused(); f != nil {
		f.TypedKey(k)
	}
	if f := c.Focused(); f != nil {
		f.TypedRune(' ')
	}
	if f, ok := c.Focused().(desktop.Keyable); ok {
		f.KeyUp(k)
	}
}

// Space presses a button when it comes up, after its character: a button that opens a dialog
// whose field takes the focus (Save's file name) had that field type the space (the picture
// was saved as " name.png"). Held and let go elsewhere, it presses nothing.
func TestSpacePressesOnRelease(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	c := u.win.Canvas()
	name := widget.NewEntry()
	pressed := 0
	open := func() {
		pressed++
		d := dialog.NewCustomWithoutButtons("Save", name, u.win)
		d.Show()
		c.Focus(name)
	}
	picture := canvas.NewRectangle(color.Black)
	picture.SetMinSize(fyne.NewSize(40, 40))
	for _, b := range []fyne.Focusable{u.newButton("Save", nil, open), u.newTipButton(theme.DocumentSaveIcon(), "Save", open),
		newKeyTarget(picture, open, u.escape)} {
		name.SetText("")
		pressed = 0
		host := dialog.NewCustomWithoutButtons("Picture", b.(fyne.CanvasObject), u.win)
		host.Show()
		c.Focus(b)
		if c.Focused() != b {
			t.Fatalf("%T cannot be focused", b)
		}
		typeSpace(c)
		if pressed != 1 || name.Text != "" {
			t.Errorf("Space on %T: pressed %d times, the name field holds %q", b, pressed, name.Text)
		}
		c.Overlays().Remove(c.Overlays().Top()) // the name's dialog
		c.Focus(b)
		b.(desktop.Keyable).KeyDown(&fyne.KeyEvent{Name: fyne.KeySpace})
		c.Unfocus()
		c.Focus(b)
		b.(desktop.Keyable).KeyUp(&fyne.KeyEvent{Name: fyne.KeySpace})
		if pressed != 1 {
			t.Errorf("Space down on %T, the focus away and back, then up: pressed again", b)
		}
		host.Hide()
	}
}
