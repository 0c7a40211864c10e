package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
)

// A chat and an image set land in the history; reopening the chat shows its messages and
// continues it (the conversation rebuilt from the saved turns), reopening the set shows its
// images; rename and delete change the list.
func TestHistoryReopenRenameDelete(t *testing.T) {
	eng := apptest.NewFakeEngine(time.Millisecond)
	h := newHarness(t, eng)
	u := h.u
	h.ask("first question")
	chatID := u.chat.session.ID()
	u.ShowCreate()
	test.Type(u.create.prompt, "three squares")
	u.create.count.SetSelected("3")
	u.create.generate()
	h.pump("the images", func() bool { return u.create.job == nil })
	h.pump("both entries", func() bool { return len(u.sidebar.entries) == 2 })

	index := func(kind app.Kind) int {
		for i, e := range u.sidebar.entries {
			if e.Kind == kind {
				return i
			}
		}
		t.Fatalf("no %s in the history", kind)
		return -1
	}

	// Opened with a click on its title, as the pointer delivers it.
	u.newChat()
	clickRow(t, u, index(app.KindChat))
	h.pump("the chat", func() bool { return u.chat.session.ID() == chatID && len(u.chat.msgs) == 2 })
	if u.tabs.SelectedIndex() != 0 || u.chat.msgs[0].text.Text != "first question" {
		t.Fatalf("reopened chat: tab %d, first message %q", u.tabs.SelectedIndex(), u.chat.msgs[0].text.Text)
	}
	h.ask("second question")
	hist := eng.Histories()
	if last := hist[len(hist)-1]; len(last) != 2 || last[0].Text != "first question" {
		t.Errorf("the reopened chat continued from %d messages, want the 2 saved", len(last))
	}

	u.newImage()
	u.ShowChat()
	clickRow(t, u, index(app.KindImageSet))
	h.pump("the images", func() bool {
		if len(u.create.tiles) != 3 {
			return false
		}
		for _, tl := range u.create.tiles {
			if tl.result == nil {
				return false
			}
		}
		return true
	})
	if u.tabs.SelectedIndex() != 1 || u.create.prompt.Text != "three squares" {
		t.Errorf("reopened set: tab %d, prompt %q", u.tabs.SelectedIndex(), u.create.prompt.Text)
	}

	set := u.sidebar.entries[index(app.KindImageSet)]
	u.sidebar.doRename(set, "Squares")
	h.pump("the new title", func() bool { return u.sidebar.entries[index(app.KindImageSet)].Title == "Squares" })

	u.chat.openSession(mustOpen(t, u, chatID))
	u.sidebar.doDelete(u.sidebar.entries[index(app.KindChat)])
	h.pump("the deletion", func() bool { return len(u.sidebar.entries) == 1 })
	if u.chat.session.ID() == chatID || len(u.chat.msgs) != 0 {
		t.Error("the deleted chat is still open")
	}
}

func mustOpen(t *testing.T, u *UI, id string) *app.ChatSession {
	t.Helper()
	s, err := app.OpenChatSession(u.store, id, u.engine, u.settings.Answer.Options())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A model without its generation networks leaves the canvas disabled, saying why.
func TestCanvasDisabledWithoutGeneration(t *testing.T) {
	eng := apptest.NewFakeEngine(0)
	eng.NoGeneration = true
	h := newHarness(t, eng)
	if !h.u.create.genB.Disabled() || !strings.Contains(h.u.create.status.Text, "without its image generation") {
		t.Errorf("generate enabled %v, status %q", !h.u.create.genB.Disabled(), h.u.create.status.Text)
	}
	test.Type(h.u.chat.entry, "what is this?")
	if !h.u.chat.ready || h.u.chat.sendB.Disabled() {
		t.Error("chat disabled too")
	}
}

// The model line says the weight format in use when the engine tells it.
func TestSidebarModelWeights(t *testing.T) {
	eng := apptest.NewFakeEngine(0)
	eng.Weights = "Q8"
	h := newHarness(t, eng)
	if got := h.u.sidebar.modelDetail.Text; !strings.Contains(got, "Janus-Pro · Q8 weights, 1 MB\nfake") {
		t.Errorf("model line %q, want the family, memory and weights", got)
	}
}

// While a model loads, the sidebar and the chat say the same percentage of one fraction (they
// said 46 % and 47 %), and neither says 100 % before the load is done.
func TestLoadingPercentAgrees(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	for _, tc := range []struct {
		frac float64
		want string
	}{
		{0.467, "46%"},
		{0.5, "50%"},
		{29.0 / 100, "29%"}, // 28.999… in floating point
		{57.0 / 100, "57%"},
		{0.995, "99%"},
		{1, "100%"},
	} {
		h.u.sidebar.showLoading("Janus-Pro-1B", false, tc.frac)
		side := h.u.sidebar.modelDetail.Text
		chat := loadingText("Loading", "Janus-Pro-1B", tc.frac)
		if !strings.HasSuffix(side, " "+tc.want) || !strings.HasSuffix(chat, " "+tc.want) {
			t.Errorf("at %v the sidebar says %q and the chat %q, want both %s", tc.frac, side, chat, tc.want)
		}
	}
}

// A corrupt history file is set aside with a message, and the rest of the history still shows.
func TestHistoryCorruptFileSetAside(t *testing.T) {
	dir := t.TempDir()
	store, err := app.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	good := &app.ChatRecord{ID: app.NewID(app.KindChat), Title: "kept", Created: time.Now(),
		Messages: []app.ChatMessage{{Text: "hello", State: app.StateDone}, {Assistant: true, Text: "hi", State: app.StateDone}}}
	if err := store.SaveChat(good); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "chats", app.NewID(app.KindChat)+".json")
	if err := os.WriteFile(bad, []byte(`{"version": 1, "messages": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	h.pump("the history", func() bool { return len(h.u.sidebar.entries) == 1 && h.u.chat.notice.Visible() })
	if h.u.sidebar.entries[0].Title != "kept" {
		t.Errorf("history lists %q", h.u.sidebar.entries[0].Title)
	}
	if !strings.Contains(h.u.chat.notice.Text, filepath.Base(bad)) {
		t.Errorf("notice %q does not name the file", h.u.chat.notice.Text)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Error("the corrupt file was not set aside")
	}
}

// The dialog of an entry that cannot be opened says the file was set aside only when it was:
// one deleted meanwhile, unreadable or from a newer version is where it was.
func TestHistoryOpenFailureSaysWhatHappened(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind app.Kind
		// spoil changes the entry's file after the history listed it.
		spoil func(t *testing.T, path string)
		want  string
	}{
		{"deleted chat", app.KindChat, func(t *testing.T, path string) { os.Remove(path) }, "no longer in the history folder"},
		{"deleted set", app.KindImageSet, func(t *testing.T, path string) { os.Remove(path) }, "no longer in the history folder"},
		{"corrupt chat", app.KindChat, func(t *testing.T, path string) {
			os.WriteFile(path, []byte(`{"version": 1, "messages": [`), 0o600)
		}, "was set aside"},
		{"unreadable chat", app.KindChat, func(t *testing.T, path string) {
			os.Remove(path)
			if err := os.Symlink(t.TempDir(), path); err != nil {
				t.Skipf("no symbolic links here: %v", err)
			}
		}, "Once it can be read"},
		{"newer set", app.KindImageSet, func(t *testing.T, path string) {
			os.WriteFile(path, []byte(`{"version": 2, "title": "later"}`), 0o600)
		}, "for the newer version to open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			store, err := app.OpenStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			var path string
			if tc.kind == app.KindChat {
				c := &app.ChatRecord{Title: "entry", Messages: []app.ChatMessage{{Text: "hello", State: app.StateDone}}}
				if err := store.SaveChat(c); err != nil {
					t.Fatal(err)
				}
				path = filepath.Join(dir, "chats", c.ID+".json")
			} else {
				set := &app.ImageSet{Title: "entry", Settings: app.DefaultGenerationSettings()}
				if err := store.SaveSet(set); err != nil {
					t.Fatal(err)
				}
				path = filepath.Join(dir, "sets", set.ID+".json")
			}
			h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
			h.pump("the history", func() bool { return len(h.u.sidebar.entries) == 1 })
			tc.spoil(t, path)
			h.u.sidebar.open(0)
			h.pump("the dialog", func() bool { return h.u.win.Canvas().Overlays().Top() != nil })
			text := strings.Join(textsIn(h.u.win.Canvas().Overlays().Top()), "\n")
			if !strings.Contains(text, tc.want) {
				t.Errorf("dialog says %q, want %q", text, tc.want)
			}
			if tc.want != "was set aside" && strings.Contains(text, "set aside") {
				t.Errorf("dialog says %q: the file was not set aside", text)
			}
		})
	}
}

// clickRow clicks the title of history entry i (on screen in the test window).
func clickRow(t *testing.T, u *UI, i int) {
	t.Helper()
	want := u.sidebar.entries[i].Title
	var title *widget.Label
	visit(u.sidebar.list, fyne.Position{}, func(o fyne.CanvasObject, _ fyne.Position) {
		if l, ok := o.(*widget.Label); ok && l.Text == want && title == nil {
			title = l
		}
	})
	if title == nil {
		t.Fatalf("no history row titled %q on screen", want)
	}
	click(t, u.win.Canvas(), title)
}

// Rename opens with the title selected in a focused entry: typing replaces it, Enter renames.
func TestRenameTypeAndEnter(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	h.ask("a question")
	h.pump("the entry", func() bool { return len(u.sidebar.entries) == 1 })
	u.sidebar.rename(u.sidebar.entries[0])
	focused, ok := u.win.Canvas().Focused().(*fieldEntry)
	if !ok {
		t.Fatalf("focus on %T, not the title", u.win.Canvas().Focused())
	}
	test.Type(focused, "Renamed")
	focused.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.pump("the new title", func() bool { return u.sidebar.entries[0].Title == "Renamed" })
	if u.win.Canvas().Overlays().Top() != nil {
		t.Error("Enter left the dialog open")
	}

	// An empty title is not taken: the dialog stays, with no error dialog over it.
	u.sidebar.rename(u.sidebar.entries[0])
	focused = u.win.Canvas().Focused().(*fieldEntry)
	focused.SetText("   ")
	focused.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.pump("the refusal", func() bool { return true })
	if _, form := u.win.Canvas().Focused().(*fieldEntry); len(u.dialogs) != 1 || !form || u.sidebar.entries[0].Title != "Renamed" {
		t.Fatalf("an empty title: %d dialogs open (the form's entry focused: %v), title %q", len(u.dialogs), form, u.sidebar.entries[0].Title)
	}
}

// The highlighted entry is the one the view in front shows, though new entries push it
// down the list: the chat in Chat, the image set in Create, none for a new chat.
func TestHistoryHighlightFollowsTheView(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	h.ask("a question")
	chatID := u.chat.session.ID()
	u.ShowCreate()
	test.Type(u.create.prompt, "a lighthouse")
	u.create.generate()
	highlighted := func() string {
		if i := u.sidebar.selected; i >= 0 && i < len(u.sidebar.entries) {
			return u.sidebar.entries[i].ID
		}
		return ""
	}
	// The history is read again as the run ends (a read started during the run may land
	// first, before the set is the canvas's): the highlight follows once it is in.
	h.pump("the set highlighted in the history", func() bool {
		return u.create.job == nil && len(u.sidebar.entries) == 2 && u.create.setID != "" && highlighted() == u.create.setID
	})
	u.ShowChat()
	if got := highlighted(); got != chatID {
		t.Errorf("in Chat the highlight is %q, want the chat %q", got, chatID)
	}
	u.newChat()
	if got := highlighted(); got != "" {
		t.Errorf("a new chat leaves %q highlighted", got)
	}

	// A chat opened from the history while Create is in front: the highlight is the chat
	// opened, not the one open before (selecting Chat marked that one).
	h.ask("a second chat")
	second := u.chat.session.ID()
	h.pump("three entries", func() bool { return len(u.sidebar.entries) == 3 })
	u.ShowCreate()
	for i, e := range u.sidebar.entries {
		if e.ID == chatID {
			u.sidebar.list.Select(i)
		}
	}
	h.pump("the first chat", func() bool { return u.chat.session.ID() == chatID })
	if got := highlighted(); got != chatID {
		t.Errorf("after opening the first chat from Create the highlight is %q, want %q (the second chat: %q)", got, chatID, second)
	}
}

// Entries with the same title (one prompt run twice) say when each was made, before the
// title so that a cut title keeps it; to the second where they share the minute, numbered
// where even that is shared; a title of its own stands alone.
func TestHistorySameTitlesTellWhen(t *testing.T) {
	now := time.Date(2026, 12, 5, 14, 30, 0, 0, time.Local)
	for _, tc := range []struct {
		t       time.Time
		seconds bool
		want    string
	}{
		{time.Date(2026, 12, 5, 9, 7, 0, 0, time.Local), false, "09:07"},
		{time.Date(2026, 12, 5, 9, 7, 31, 0, time.Local), true, "09:07:31"},
		{time.Date(2026, 12, 3, 9, 7, 0, 0, time.Local), false, "3 Dec 09:07"},
		{time.Date(2025, 12, 5, 9, 7, 0, 0, time.Local), false, "5 Dec 2025"},
	} {
		if got := whenLabel(tc.t, now, tc.seconds); got != tc.want {
			t.Errorf("whenLabel(%v, %v) = %q, want %q", tc.t, tc.seconds, got, tc.want)
		}
	}
	at := func(h, m, s int) time.Time { return time.Date(2026, 12, 5, h, m, s, 0, time.Local) }
	lines := rowTitles([]app.HistoryEntry{
		{ID: "a", Title: "a lighthouse", Created: at(9, 7, 1)},
		{ID: "b", Title: "a lighthouse", Created: at(9, 7, 40)},
		{ID: "c", Title: "a lighthouse", Created: at(11, 0, 0)},
		{ID: "d", Title: "a fox", Created: at(9, 7, 1)},
		{ID: "e", Title: "a cat", Created: at(10, 0, 5)},
		{ID: "f", Title: "a cat", Created: at(10, 0, 5)},
	}, now)
	for id, want := range map[string]string{
		"a": "09:07:01 · a lighthouse", "b": "09:07:40 · a lighthouse", "c": "11:00 · a lighthouse",
		"e": "10:00:05 · a cat", "f": "10:00:05 (2) · a cat",
	} {
		if lines[id] != want {
			t.Errorf("entry %s reads %q, want %q", id, lines[id], want)
		}
	}
	if _, ok := lines["d"]; ok {
		t.Errorf("a title of its own is changed: %q", lines["d"])
	}

	// In the window: the rows of a prompt run twice differ.
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	u.ShowCreate()
	for _, p := range []string{"a lighthouse", "a lighthouse", "a fox"} {
		u.create.prompt.SetText(p)
		u.create.generate()
		h.pump("the images", func() bool { return u.create.job == nil })
	}
	h.pump("the history", func() bool { return len(u.sidebar.entries) == 3 })
	seen := map[string]bool{}
	for _, e := range u.sidebar.entries {
		got := u.sidebar.rowTitle(e)
		if e.Title == "a fox" && got != "a fox" {
			t.Errorf("a title of its own reads %q", got)
		}
		if e.Title == "a lighthouse" && (!strings.HasSuffix(got, " · a lighthouse") || seen[got]) {
			t.Errorf("a repeated title reads %q (seen before: %v)", got, seen[got])
		}
		seen[got] = true
	}
}

// Without a model the history still opens: a chat shows its messages and an image set its
// images, with sending and generating waiting for a model.
func TestHistoryWithoutModel(t *testing.T) {
	dir := t.TempDir()
	h1 := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	h1.ask("is it a fox?")
	h1.u.ShowCreate()
	h1.u.create.prompt.SetText("two foxes")
	h1.u.create.count.SetSelected("2")
	h1.u.create.generate()
	h1.pump("both entries", func() bool { return h1.u.create.job == nil && len(h1.u.sidebar.entries) == 2 })

	h := newHarness(t, nil, func(o *Options) { o.StoreDir = dir; o.Env = envWithModels(t.TempDir()) })
	u := h.u
	h.pump("the no-model screen and the history", func() bool { return u.noModel.content.Visible() && len(u.sidebar.entries) == 2 })
	for i, e := range u.sidebar.entries {
		clickRow(t, u, i)
		if e.Kind == app.KindChat {
			h.pump("the chat", func() bool { return len(u.chat.msgs) == 2 })
			if u.tabs.SelectedIndex() != 0 {
				t.Errorf("the chat opened in tab %d", u.tabs.SelectedIndex())
			}
		} else {
			h.pump("the images", func() bool { return len(u.create.tiles) == 2 && u.create.tiles[1].result != nil })
		}
		if !u.tabs.Visible() || u.noModel.content.Visible() {
			t.Errorf("%s: the views are not in front of the no-model screen", e.Kind)
		}
	}
	test.Type(u.chat.entry, "what is this?")
	test.Type(u.create.prompt, "a red fox")
	if u.chat.ready || !u.chat.sendB.Disabled() || !u.create.genB.Disabled() {
		t.Error("send or generate enabled without a model")
	}
	if s := u.chat.status.Text; !strings.Contains(s, "Models") {
		t.Errorf("the chat says %q without a model, not where to get one", s)
	}
}

// A chat opened from the history says it is opening until it is read (a long one takes
// seconds), instead of showing the empty chat as if it were lost.
func TestHistoryChatSaysOpening(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	h.ask("is it a fox?")
	h.pump("the entry", func() bool { return len(u.sidebar.entries) == 1 })
	u.newChat()
	u.sidebar.open(0)
	if !u.chat.opening.Visible() || !strings.Contains(u.chat.opening.Text, "is it a fox?") || u.chat.empty.Visible() {
		t.Errorf("while opening: %q shown %v, empty state shown %v", u.chat.opening.Text, u.chat.opening.Visible(), u.chat.empty.Visible())
	}
	h.pump("the chat", func() bool { return len(u.chat.msgs) == 2 })
	if u.chat.opening.Visible() {
		t.Error("the opening line stays after the chat is shown")
	}

	// A new chat asked for while one is read: the read is dropped, not shown over it.
	u.newChat()
	u.sidebar.open(0)
	u.newChat()
	if u.chat.opening.Visible() {
		t.Error("the opening line stays over a new chat")
	}
	// The read takes milliseconds: let it end and its result reach the window.
	for end := time.Now().Add(500 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		h.pump("late updates", func() bool { return true })
	}
	if len(u.chat.msgs) != 0 || u.chat.session.ID() != "" && len(u.chat.session.Messages()) != 0 {
		t.Errorf("the chat read after a new chat replaced it: %d messages", len(u.chat.msgs))
	}
}

// The titles of the history line up whether an entry shows a thumbnail or an icon.
func TestHistoryTitlesLineUp(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	h.ask("a question")
	u.ShowCreate()
	u.create.prompt.SetText("a lighthouse")
	u.create.generate()
	h.pump("both entries", func() bool { return u.create.job == nil && len(u.sidebar.entries) == 2 })
	h.pump("the thumbnail", func() bool {
		for _, th := range u.sidebar.thumbs {
			if th != nil {
				return true
			}
		}
		return false
	})
	u.sidebar.list.Refresh()
	h.settle()
	var xs []float32
	for _, o := range test.LaidOutObjects(u.sidebar.list) {
		if r, ok := o.(*historyRow); ok {
			title := r.row.Objects[0].(*widget.Label)
			xs = append(xs, title.Position().X) // within the row
		}
	}
	if len(xs) != 2 || xs[0] != xs[1] {
		t.Errorf("the titles start at %v", xs)
	}
}

// From the keyboard, the focused history entry opens with Enter as with Space.
func TestHistoryEnterOpens(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	h.ask("a question")
	chatID := u.chat.session.ID()
	h.pump("the chat in the history", func() bool { return len(u.sidebar.entries) == 1 })
	u.newChat()
	u.win.Canvas().Focus(u.sidebar.list)
	u.sidebar.list.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.pump("the chat to open", func() bool { return u.chat.session.ID() == chatID })
}

// Tab passes by the rows' "…" buttons (a dozen chats were a dozen stops on the way to
// Settings): the list is one stop, where F2 renames and Delete deletes the focused entry (the
// one Up and Down moved to; they acted on the open one, whatever row the keys had reached).
func TestHistoryKeyboard(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	for _, q := range []string{"one", "two", "three"} {
		u.newChat()
		h.ask(q)
	}
	h.pump("the chats in the history", func() bool { return len(u.sidebar.entries) == 3 })
	c := u.win.Canvas()
	c.Focus(u.chat.entry)
	stops := 0
	for range 40 {
		c.FocusNext()
		if c.Focused() == u.chat.entry {
			break
		}
		stops++
		if o, ok := c.Focused().(fyne.CanvasObject); ok && isInside(u.sidebar.list, o) && o != fyne.CanvasObject(u.sidebar.list) {
			t.Errorf("Tab stops on %T in the history list", o)
		}
	}
	if stops == 0 || stops >= 40 {
		t.Fatalf("%d Tab stops from the composer back to it", stops)
	}

	open := u.chat.session.ID()
	c.Focus(u.sidebar.list)
	u.sidebar.list.TypedKey(&fyne.KeyEvent{Name: fyne.KeyF2})
	if len(u.dialogs) != 1 {
		t.Fatalf("F2 on the list: %d dialogs, want Rename", len(u.dialogs))
	}
	u.dialogs[0].Dismiss()
	c.Focus(u.sidebar.list)
	u.sidebar.list.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDelete})
	if len(u.dialogs) != 1 || !strings.Contains(strings.Join(textsIn(c.Overlays().Top()), " "), "three") {
		t.Fatalf("Delete on the list: %d dialogs (%q), want the question naming the open chat %s", len(u.dialogs), textsIn(c.Overlays().Top()), open)
	}
	u.dialogs[0].Dismiss()
	c.Focus(u.sidebar.list)
	for range 3 { // past the end: it stays on the last row
		u.sidebar.list.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	}
	u.sidebar.list.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDelete})
	if len(u.dialogs) != 1 || !strings.Contains(strings.Join(textsIn(c.Overlays().Top()), " "), "“one”") {
		t.Fatalf("Delete on the last row: %d dialogs (%q), want the question naming “one”", len(u.dialogs), textsIn(c.Overlays().Top()))
	}
	// Esc there is the window's: it closes the question.
	c.Focus(u.sidebar.list)
	u.sidebar.list.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if len(u.dialogs) != 0 {
		t.Errorf("Esc on the history left %d dialogs open", len(u.dialogs))
	}
}

// isInside reports whether o is in root's tree.
func isInside(root, o fyne.CanvasObject) bool {
	found := false
	visit(root, fyne.Position{}, func(obj fyne.CanvasObject, _ fyne.Position) { found = found || obj == o })
	return found
}

// Many history problems make one line beside the start's notices, which a later failed
// settings save (here: over a settings file a newer version wrote) neither replaces nor
// repeats.
func TestManyHistoryProblemsOneLine(t *testing.T) {
	dir := t.TempDir()
	if _, err := app.OpenStore(dir); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		bad := filepath.Join(dir, "chats", fmt.Sprintf("20261205-12000%d-c0000000%d.json", i, i))
		if err := os.WriteFile(bad, []byte(`{"version": 1, "messages": [`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, app.SettingsFile), []byte(`{"version": 9}`), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	n := h.u.chat.notice
	h.pump("the history's line", func() bool { return strings.Contains(n.Text, "5 history files could not be used") })
	h.u.saveSettings(nil)
	h.u.settingsW.Flush()
	h.pump("the save's answer", func() bool { return true })
	if lines := strings.Split(n.Text, "\n"); len(lines) != 2 || !strings.Contains(n.Text, "newer Janus Desktop") {
		t.Errorf("notice %q, want the settings line and the history line", n.Text)
	}
}

// Delete's question names the entry as its row does: of two chats with one title, the one
// being deleted (it gave the bare title, the same for both).
func TestDeleteNamesTheRow(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	h.ask("the same question")
	h.u.newChat()
	h.ask("the same question")
	h.pump("both entries", func() bool { return len(u.sidebar.entries) == 2 })
	e := u.sidebar.entries[0]
	row := u.sidebar.rowTitle(e)
	if row == e.Title {
		t.Fatalf("the row of a repeated title reads %q, as the title", row)
	}
	u.sidebar.delete(e)
	if len(u.dialogs) != 1 || !slices.Contains(textsIn(u.win.Canvas().Overlays().Top()), "“"+row+"” will be deleted from this computer.") {
		t.Errorf("the Delete question does not name the row %q", row)
	}
}

// Delete's question has a Delete button with a trash icon in the danger colour (not the
// ✓ of Fyne's confirm); Esc dismisses it, Tab to Delete and Space delete.
func TestDeleteButton(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	h.ask("a question")
	h.pump("the entry", func() bool { return len(u.sidebar.entries) == 1 })
	u.sidebar.delete(u.sidebar.entries[0])
	bs := buttonsIn(u.win.Canvas().Overlays().Top())
	del, ok := bs["Delete"]
	if !ok {
		t.Fatalf("no Delete button: %v", bs)
	}
	if del.b.Icon == nil || del.b.Icon.Name() != theme.DeleteIcon().Name() || del.b.Importance != widget.DangerImportance {
		t.Errorf("Delete: icon %v, importance %v", del.b.Icon, del.b.Importance)
	}
	u.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if len(u.dialogs) != 0 || u.win.Canvas().Overlays().Top() != nil {
		t.Fatal("Esc left the question open")
	}
	u.sidebar.delete(u.sidebar.entries[0])
	bs = buttonsIn(u.win.Canvas().Overlays().Top())
	del = bs["Delete"]
	u.win.Canvas().Focus(del.obj.(fyne.Focusable))
	typeSpace(u.win.Canvas())
	h.pump("the deletion", func() bool { return len(u.sidebar.entries) == 0 })
}

// Rename's field shows no tick for a good title (a blank one disables Rename instead), and
// its buttons stand off the field.
func TestRenameDialogLook(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	h.ask("a question")
	h.pump("the entry", func() bool { return len(u.sidebar.entries) == 1 })
	u.sidebar.rename(u.sidebar.entries[0])
	entry := u.win.Canvas().Focused().(*fieldEntry)
	top := u.win.Canvas().Overlays().Top()
	if entry.Validator != nil {
		t.Error("the title field has a validator: it shows a tick on every good title")
	}
	bs := buttonsIn(top)
	var entryAt fyne.Position
	visit(top, fyne.Position{}, func(o fyne.CanvasObject, p fyne.Position) {
		if o == entry {
			entryAt = p
		}
	})
	if gap := bs["Rename"].at.Y - (entryAt.Y + entry.Size().Height); gap < 2*theme.Padding() {
		t.Errorf("the buttons are %v under the field", gap)
	}
	entry.SetText("  ")
	if !bs["Rename"].b.Disabled() {
		t.Error("Rename is enabled for a blank title")
	}
	entry.SetText("Fine")
	if bs["Rename"].b.Disabled() {
		t.Error("Rename is disabled for a good title")
	}
}

// A title the row cuts shows whole while the pointer is on the row; a short one shows no hint.
func TestHistoryRowShowsCutTitle(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	long := "what is the small animal sitting on the left side of this old photograph"
	h.ask(long)
	u.newChat()
	h.ask("hi")
	h.pump("the chats in the history", func() bool { return len(u.sidebar.entries) == 2 })
	h.settle()
	rows := map[string]*historyRow{}
	visit(u.sidebar.list, fyne.Position{}, func(o fyne.CanvasObject, _ fyne.Position) {
		if r, ok := o.(*historyRow); ok {
			rows[r.row.Objects[0].(*widget.Label).Text] = r
		}
	})
	for title, r := range rows {
		r.MouseIn(&desktop.MouseEvent{})
		shown := u.tips.box.Visible()
		if cut := title != "hi"; shown != cut || shown && u.tips.text.Text != title {
			t.Errorf("row %q: hint shown %v (%q), want it shown %v", title, shown, u.tips.text.Text, cut)
		}
		r.MouseOut()
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows on screen, want 2", len(rows))
	}
}

// The whole title of a long history row is a hint of wrapped lines, at most maxTipWidth
// wide, and the hint layer asks the window for no room: a thousand-character title made
// the window wider than the screen (2075 px), and it stayed so once the hint was hidden.
func TestLongTitleHintKeepsTheWindow(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	u.win.Resize(fyne.NewSize(1000, 700))
	h.ask("hi")
	h.pump("the chat in the history", func() bool { return len(u.sidebar.entries) == 1 })
	u.sidebar.doRename(u.sidebar.entries[0], strings.Repeat("Long title ", 100)) // as Rename takes it
	h.pump("the new title", func() bool { return len(u.sidebar.entries[0].Title) > 500 })
	h.settle()
	before := u.win.Content().MinSize()
	var row *historyRow
	visit(u.sidebar.list, fyne.Position{}, func(o fyne.CanvasObject, _ fyne.Position) {
		if r, ok := o.(*historyRow); ok {
			row = r
		}
	})
	if row == nil {
		t.Fatal("no history row")
	}
	row.MouseIn(&desktop.MouseEvent{})
	line := widget.NewLabel("Long title").MinSize().Height
	if box := u.tips.box.Size(); !u.tips.box.Visible() || box.Width > maxTipWidth || box.Height < 2*line {
		t.Errorf("the hint is %v (shown %v), want lines at most %d wide", box, u.tips.box.Visible(), maxTipWidth)
	}
	if m := u.win.Content().MinSize(); m != before {
		t.Errorf("with the hint shown the window asks for %v, before %v", m, before)
	}
	row.MouseOut()
	if m := u.win.Content().MinSize(); m != before {
		t.Errorf("with the hint hidden the window asks for %v, before %v", m, before)
	}
}

// The history's search keeps the entries whose titles have all its words, without case; a
// row opens its own entry; a new answer keeps the search; nothing found says so; Esc empties
// it. Ctrl+F shows a hidden sidebar and puts the keyboard there; with no history there is
// no field.
func TestHistorySearch(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	s := u.sidebar
	if s.search.Visible() {
		t.Error("a search field over an empty history")
	}
	for i, q := range []string{"Cats on a roof", "dogs in the snow", "a cat and a DOG"} {
		if i > 0 {
			u.newChat()
		}
		h.ask(q)
	}
	h.pump("the history", func() bool { return len(s.entries) == 3 })
	titles := func() []string {
		var out []string
		for _, e := range s.entries {
			out = append(out, e.Title)
		}
		return out
	}
	if !s.search.Visible() {
		t.Fatal("no search field over a history of three")
	}
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"cat", []string{"a cat and a DOG", "Cats on a roof"}},
		{"  dog   CAT ", []string{"a cat and a DOG"}},
		{"", []string{"a cat and a DOG", "dogs in the snow", "Cats on a roof"}},
	} {
		s.search.SetText(tc.text)
		if got := titles(); !slices.Equal(got, tc.want) {
			t.Errorf("search %q keeps %q, want %q", tc.text, got, tc.want)
		}
	}
	s.search.SetText("snow")
	found := s.entries[0].ID
	s.open(0)
	h.pump("the chat", func() bool { return u.chat.session.ID() == found && len(u.chat.session.Messages()) == 2 })
	if m := u.chat.session.Messages(); m[0].Text != "dogs in the snow" {
		t.Errorf("the row found opened %q", m[0].Text)
	}
	if s.selected != 0 {
		t.Errorf("the chat open is not the row marked (%d)", s.selected)
	}
	u.newChat()
	h.ask("snowy owls")
	h.pump("the new chat in the history", func() bool { return len(s.all) == 4 })
	if got := titles(); !slices.Equal(got, []string{"snowy owls", "dogs in the snow"}) || s.search.Text != "snow" {
		t.Errorf("after a new answer, search %q keeps %q", s.search.Text, got)
	}
	s.search.SetText("zebra")
	if len(s.entries) != 0 || !s.emptyL.Visible() || !strings.Contains(s.emptyL.Text, "zebra") {
		t.Errorf("nothing found: %d entries, line %q shown %v", len(s.entries), s.emptyL.Text, s.emptyL.Visible())
	}
	s.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if s.search.Text != "" || len(s.entries) != 4 || s.emptyL.Visible() {
		t.Errorf("after Esc: %q, %d entries", s.search.Text, len(s.entries))
	}
	u.showSidebar(false)
	u.sidebar.focusSearch() // Ctrl+F
	if !u.side.Visible() || u.win.Canvas().Focused() != s.search {
		t.Errorf("Ctrl+F: sidebar shown %v, focus on %T", u.side.Visible(), u.win.Canvas().Focused())
	}
	s.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	if u.win.Canvas().Focused() != s.list {
		t.Errorf("Down from the search: focus on %T, want the list", u.win.Canvas().Focused())
	}
	// The keyboard's row on the third entry, then a search of one result: Down, Enter and F2
	// act on that result (the row stayed third, past the results).
	s.list.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	s.list.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	u.win.Canvas().Focus(s.search)
	s.search.SetText("roof")
	want := s.entries[0].ID
	s.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	s.list.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.pump("the chat found", func() bool { return u.chat.session.ID() == want })
	s.list.TypedKey(&fyne.KeyEvent{Name: fyne.KeyF2})
	if len(u.dialogs) != 1 {
		t.Errorf("F2 on the result found: %d dialogs, want Rename", len(u.dialogs))
	}
}

// A history file that cannot be used is told once, not again after every answer (the list is
// read again then, and the notice, cleared by the send, came back each time).
func TestHistoryProblemToldOnce(t *testing.T) {
	dir := t.TempDir()
	if _, err := app.OpenStore(dir); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "chats", app.NewID(app.KindChat)+".json")
	if err := os.WriteFile(bad, []byte(`{"version": 99}`), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	c := h.u.chat
	h.pump("the problem told", func() bool { return strings.Contains(c.notice.Text, filepath.Base(bad)) })
	h.ask("a question")
	h.pump("the history read again", func() bool { return len(h.u.sidebar.entries) == 1 })
	h.ask("another")
	before := &h.u.sidebar.entries[0]
	h.u.sidebar.reloadHistory()
	h.pump("the history read again", func() bool { return len(h.u.sidebar.entries) == 1 && &h.u.sidebar.entries[0] != before })
	if strings.Contains(c.notice.Text, filepath.Base(bad)) {
		t.Errorf("the problem is told again after an answer: %q", c.notice.Text)
	}
}

// A row's hint with its whole title goes when the row is given another entry (the list
// scrolled under a pointer that did not move): it said the title of the entry gone.
func TestHistoryRowHintGoesWithItsEntry(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	long := strings.Repeat("a question with a title far too long for the sidebar ", 2)
	h.ask(long)
	h.pump("the chat in the history", func() bool { return len(u.sidebar.entries) == 1 })
	row := u.sidebar.newItem().(*historyRow)
	u.sidebar.updateItem(0, row)
	row.Resize(fyne.NewSize(240, 40))
	row.row.Resize(fyne.NewSize(240, 40))
	row.MouseIn(nil)
	if !u.tips.box.Visible() {
		t.Fatal("no hint over a cut title")
	}
	u.sidebar.updateItem(0, row) // the list's reuse of the row
	if u.tips.box.Visible() {
		t.Error("the hint stayed over the row given another entry")
	}
}

// A chat left with text not sent shows a pencil in the history until it is opened again,
// where the composer holds that text.
func TestDraftMark(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	h.ask("first")
	h.waitAnswers(1)
	u.newChat()
	h.ask("second")
	h.pump("the chats in the history", func() bool { return len(u.sidebar.entries) == 2 })
	h.waitAnswers(1)
	marks := func() map[string]bool {
		h.settle()
		out := map[string]bool{}
		visit(u.sidebar.list, fyne.Position{}, func(o fyne.CanvasObject, _ fyne.Position) {
			if r, ok := o.(*historyRow); ok && r.Visible() {
				title := r.row.Objects[0].(*widget.Label).Text
				out[title] = r.row.Objects[2].(*fyne.Container).Objects[0].Visible()
			}
		})
		return out
	}
	if m := marks(); m["first"] || m["second"] {
		t.Errorf("marks with no draft: %v", m)
	}
	test.Type(u.chat.entry, "not sent yet")
	var first widget.ListItemID = -1
	for i, e := range u.sidebar.entries {
		if e.Title == "first" {
			first = i
		}
	}
	u.sidebar.list.Select(first)
	h.pump("the first chat", func() bool { return u.chat.entry.Text == "" })
	if m := marks(); !m["second"] || m["first"] {
		t.Errorf("after leaving the second chat with a draft: %v, want its pencil alone", m)
	}
	u.sidebar.list.Select(1 - first)
	h.pump("the second chat", func() bool { return u.chat.entry.Text == "not sent yet" })
	if m := marks(); m["second"] || m["first"] {
		t.Errorf("with the draft back in the composer: %v", m)
	}
}

// Tab passes the history list by while it has no rows (no history yet, none the search
// finds): it was a stop that showed nothing. With rows it is a stop.
func TestEmptyHistoryIsNoTabStop(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	stops := func() map[fyne.Focusable]bool {
		c := u.win.Canvas()
		c.Unfocus()
		seen := map[fyne.Focusable]bool{}
		for range 40 {
			c.FocusNext()
			f := c.Focused()
			if f == nil || seen[f] {
				break
			}
			seen[f] = true
		}
		return seen
	}
	if stops()[u.sidebar.list] {
		t.Error("Tab stops on the empty history")
	}
	h.ask("first question")
	h.pump("the history row", func() bool { return len(u.sidebar.entries) == 1 })
	if !stops()[u.sidebar.list] {
		t.Error("Tab passes a history with a row by")
	}
	// Emptied while it has the focus, it hands the focus to the search: Fyne keeps it on a
	// widget that becomes disabled, and Tab from there went back to the window's first control.
	u.win.Canvas().Focus(u.sidebar.list)
	u.sidebar.search.SetText("nothing like it")
	h.pump("the search", func() bool { return len(u.sidebar.entries) == 0 })
	if f := u.win.Canvas().Focused(); f != u.sidebar.search {
		t.Errorf("the focused history emptied: the focus is on %T", f)
	}
	if stops()[u.sidebar.list] {
		t.Error("Tab stops on a history the search emptied")
	}
}
