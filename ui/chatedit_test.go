package ui

// Edit's paths a second review found wanting: deleted chats, quitting, pictures alone,
// edits refused at once, drafts restored without their pictures.

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
)

// After TestChatDeleteMidEdit's flow: the edit's pictures given to the new chat are still
// stored (the delete kept them, as it keeps the drafts' pictures).
func TestChatEditDeleteMidEditPictures(t *testing.T) {
	h, eng, _ := editDeletedMidway(t)
	c := h.u.chat
	h.u.waitBackground(5 * time.Second)
	for _, a := range slices.Clone(c.attached) {
		if _, err := os.Stat(a.path); err != nil {
			t.Errorf("the picture given back to the new chat is gone: %v", err)
		}
	}
	eng.Delay = 0
	n := c.finished
	c.send()
	h.pump("sent", func() bool { return !c.sending })
	t.Logf("notice after Send: %q; finished %d->%d", c.notice.Text, n, c.finished)
}

// An edit that dropped a picture, quit while its answer streams: the picture no record
// mentions any more is released at quit.
func TestChatEditQuitMidEditLeavesDroppedPicture(t *testing.T) {
	h, eng := editChat(t)
	c := h.u.chat
	picture := c.session.ImagePath(c.session.Messages()[2].Images[0])
	startEditing(h)
	c.discardChip(picture)
	c.entry.SetText("second, without the picture")
	eng.Delay = 100 * time.Millisecond
	eng.Words = slices.Repeat([]string{"w"}, 100)
	c.send()
	h.pump("words", func() bool { return !c.sending && len(c.msgs) == 4 && c.session.AnswerText(3) != "" })
	time.Sleep(1200 * time.Millisecond) // a periodic save wrote the edited question
	h.u.shutdownOnce.Do(h.u.shutdown)
	rec, _ := h.u.store.LoadChat(c.session.ID())
	t.Logf("record question %q images %d", rec.Messages[2].Text, len(rec.Messages[2].Images))
	if _, err := os.Stat(picture); err == nil {
		t.Errorf("the dropped picture is still stored and no record mentions it")
	}
}

// Edit of a question that is a picture alone, the chat left before the picture is read back:
// back in the chat the picture is in the composer, still an edit.
func TestChatEditPictureOnlyEditLeftWhileReading(t *testing.T) {
	h, _ := editChat(t)
	c := h.u.chat
	// a third turn: a picture alone
	h.u.OnDropped(fyne.Position{}, []fyne.URI{fileURI(t, landscape(t))})
	h.pump("the attachment", func() bool { return len(c.attached) == 1 })
	n := c.finished
	c.send()
	h.waitAnswers(n + 1)
	id := c.session.ID()
	test.Tap(c.msgs[4].editB)
	if !c.editing || c.entry.Text != "" {
		t.Fatalf("editing %v composer %q", c.editing, c.entry.Text)
	}
	h.u.newChat() // before the read is back
	h.pump("the read", func() bool { return len(c.editReads) == 0 })
	c.openSession(mustOpen(t, h.u, id))
	t.Logf("back: editing %v, %d pictures", c.editing, len(c.attached))
	if len(c.attached) == 1 && !c.editing {
		t.Errorf("the edit's picture came back as a new question's, not an edit")
	}
}

// hold takes what the UI queue holds now (run later with release).
func (h *harness) hold() []func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	q := h.q
	h.q = nil
	return q
}

// An edit's pictures read back after its chat was deleted go to the new chat, never to a
// draft of the deleted chat.
func TestChatEditEditReadAfterDelete(t *testing.T) {
	h, _ := editChat(t)
	c := h.u.chat
	id := c.session.ID()
	h.u.sidebar.reloadHistory()
	h.pump("the history", func() bool { return len(h.u.sidebar.entries) > 0 })
	test.Tap(c.msgs[2].editB)
	// the read is slow: its result waits
	deadline := time.Now().Add(5 * time.Second)
	var held []func()
	for len(held) == 0 && time.Now().Before(deadline) {
		held = append(held, h.hold()...)
		time.Sleep(time.Millisecond)
	}
	if len(held) == 0 {
		t.Fatal("no read result")
	}
	for _, e := range h.u.sidebar.entries {
		if e.ID == id {
			h.u.sidebar.doDelete(e)
		}
	}
	h.pump("the chat deleted", func() bool { return c.deleted[id] })
	for _, f := range held {
		f()
	}
	h.pump("settle", func() bool { return len(c.editReads) == 0 })
	d, ok := c.drafts[id]
	t.Logf("draft of deleted chat: %v %+v; new chat composer %q with %d pictures; saved drafts %+v", ok, d, c.entry.Text, len(c.attached), h.u.drafts())
	if ok {
		t.Errorf("a draft for the deleted chat %s came back with %d pictures (the new chat has %d)", id, len(d.attached), len(c.attached))
	}
}

// Quitting right after Send of an edit (before the window took the send's outcome) saves the
// edited question once, an edit.
func TestChatEditQuitRightAfterEditSend(t *testing.T) {
	h, eng := editChat(t)
	c := h.u.chat
	id := c.session.ID()
	startEditing(h)
	c.entry.SetText("second, edited")
	eng.Delay = time.Hour
	c.send()
	for { // the Edit has returned; its outcome waits in the queue
		c.jobsMu.Lock()
		n := c.pendingSends
		c.jobsMu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	h.u.shutdownOnce.Do(h.u.shutdown)
	d := h.u.settings.Drafts
	t.Logf("saved: %q editing %v images %v", d.Chats[id], d.Editing, d.Images[id])
	if strings.Count(d.Chats[id], "second, edited") != 1 {
		t.Errorf("the edited question saved %d times: %q", strings.Count(d.Chats[id], "second, edited"), d.Chats[id])
	}
}

// An Edit refused at once (a picture gone) leaves nothing in c.edits.
func TestChatEditFailedEditLeaks(t *testing.T) {
	eng := apptest.NewFakeEngine(0)
	h := newHarness(t, eng)
	c := h.u.chat
	h.ask("first")
	h.ask("second")
	for i := 0; i < 3; i++ {
		test.Tap(c.msgs[2].editB)
		p := writeFile(t, "x.png", []byte("not a png"))
		c.attached = append(c.attached, attachment{path: p, label: "x"})
		c.send()
		h.pump("the send", func() bool { return !c.sending })
		t.Logf("notice %q", c.notice.Text)
		c.attached = nil
		c.cancelEdit()
	}
	if len(c.edits) != 0 {
		t.Errorf("%d edits kept after refused Edits", len(c.edits))
	}
}

// An edit kept across a restart whose pictures can no longer be read does not come back as
// an empty edit.
func TestChatEditRestoredEditPicturesGone(t *testing.T) {
	dir := t.TempDir()
	eng := apptest.NewFakeEngine(0)
	h := newHarness(t, eng, func(o *Options) { o.StoreDir = dir })
	c := h.u.chat
	h.ask("first")
	h.ask("second")
	id := c.session.ID()
	pic := filepath.Join(t.TempDir(), "gone.png")
	src, _ := os.ReadFile(landscape(t))
	os.WriteFile(pic, src, 0o644)
	h.u.settings.Drafts = app.Drafts{Images: map[string][]app.DraftImage{id: {{Path: pic, Label: "gone.png"}}}, Editing: []string{id}}
	h.u.newChat()
	h.u.settings.Drafts = app.Drafts{Images: map[string][]app.DraftImage{id: {{Path: pic, Label: "gone.png"}}}, Editing: []string{id}}
	h.u.saveSettings(nil)
	h.u.settingsW.Flush()
	h.u.shutdownOnce.Do(func() {}) // no shutdown save
	os.Remove(pic)

	h2 := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	c2 := h2.u.chat
	h2.pump("restore", func() bool { return len(c2.restoring) == 0 })
	c2.openSession(mustOpen(t, h2.u, id))
	t.Logf("editing %v composer %q pictures %d notice %q", c2.editing, c2.entry.Text, len(c2.attached), c2.notice.Text)
	if c2.editing && c2.entry.Text == "" && len(c2.attached) == 0 {
		t.Errorf("an empty edit came back")
	}
	_ = fyne.Position{}
}

// An edited question's answer, written in the view of the answer it replaces, does not keep
// that answer's note ("The same answer again…" of the Try again before the edit).
func TestChatEditDropsTheNote(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.chat
	h.ask("first")
	test.Tap(c.msgs[1].retryB)
	h.waitAnswers(2)
	if !strings.Contains(c.msgs[1].footer.Text, sameAnswerNote) {
		t.Fatalf("the same answer again, footer %q", c.msgs[1].footer.Text)
	}
	c.startEdit()
	h.pump("the question in the composer", func() bool { return c.entry.Text == "first" })
	c.entry.SetText("first, edited")
	c.send()
	h.waitAnswers(3)
	if len(c.msgs) != 2 || c.msgs[0].shown() != "first, edited" || strings.Contains(c.msgs[1].footer.Text, sameAnswerNote) {
		t.Errorf("after the edit: %d messages, the question %q, the answer's footer %q", len(c.msgs), c.msgs[0].shown(), c.msgs[1].footer.Text)
	}
}
