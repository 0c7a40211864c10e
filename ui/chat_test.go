package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model"
)

// The whole chat path on a real model: type, drop an image, send, and the answer streams in,
// exactly the answer the engine gives for that question and image.
func TestChatAnswersAboutDroppedImage(t *testing.T) {
	eng := tinyA(t)
	h := newHarness(t, eng)
	c := h.u.chat
	img := landscape(t)

	test.Type(c.entry, "What is in this picture?")
	h.u.OnDropped(fyne.NewPos(300, 300), []fyne.URI{fileURI(t, img)})
	h.pump("the attachment", func() bool { return len(c.attached) == 1 })
	if c.notice.Visible() {
		t.Fatalf("notice after a good drop: %q", c.notice.Text)
	}
	test.Tap(c.sendB)
	h.pump("the composer to clear after send", func() bool { return c.entry.Text == "" && len(c.attached) == 0 })
	h.waitAnswers(1)
	msgs := c.session.Messages()
	if msgs[1].State != app.StateDone {
		t.Fatalf("answer state %s (%s)", msgs[1].State, msgs[1].Error)
	}
	if len(msgs[0].Images) != 1 || msgs[0].Text != "What is in this picture?" {
		t.Fatalf("question %+v", msgs[0])
	}
	if c.updates < 2 {
		t.Errorf("answer shown in %d updates, want it streamed piece by piece", c.updates)
	}
	if got := c.msgs[1].shown(); got != msgs[1].Text {
		t.Errorf("shown answer %q, session has %q", got, msgs[1].Text)
	}
	if !strings.Contains(c.msgs[1].footer.Text, "tokens/s") {
		t.Errorf("footer %q lacks the speed", c.msgs[1].footer.Text)
	}
	if !c.msgs[1].copyB.Visible() {
		t.Error("no Copy button on the finished answer")
	}
	test.Tap(c.msgs[1].copyB)
	if got := h.u.fapp.Clipboard().Content(); got != msgs[1].Text {
		t.Errorf("clipboard %q, want the answer", got)
	}
	h.pump("the thumbnail", func() bool { return thumbLoaded(c.msgs[0]) })

	// The same question to the engine directly gives the same answer.
	conv, err := eng.NewConversation(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conv.Close()
	pic, err := eng.ReadImage(img)
	if err != nil {
		t.Fatal(err)
	}
	want, err := conv.Reply(context.Background(), "What is in this picture?", []*model.Image{pic}, h.u.settings.Answer.Options(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want.Text != msgs[1].Text {
		t.Errorf("window's answer %q, engine's %q", msgs[1].Text, want.Text)
	}
	h.pump("the history", func() bool { return len(h.u.sidebar.entries) == 1 })
	if e := h.u.sidebar.entries[0]; e.Kind != app.KindChat || e.Title == "" {
		t.Errorf("history entry %+v", e)
	}
}

// An image of a chat that is missing from the store, or damaged there, says so in its bubble
// rather than leaving a blank grey box.
func TestChatImageMissingSaysSo(t *testing.T) {
	for _, tc := range []struct {
		name string
		file []byte // the stored image's bytes; nil: no file
		want string
	}{
		{"missing", nil, "Image missing"},
		{"damaged", []byte("not a picture"), "Image cannot be shown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			store, err := app.OpenStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			ref := app.ImageRef{SHA256: strings.Repeat("ab", 32), Ext: ".png", Name: "cat.png", Width: 150, Height: 100}
			if tc.file != nil {
				if err := os.WriteFile(store.ImagePath(ref), tc.file, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			rec := &app.ChatRecord{Title: "cat", Messages: []app.ChatMessage{
				{Text: "What is this?", Images: []app.ImageRef{ref}, State: app.StateDone},
				{Assistant: true, Text: "A cat.", State: app.StateDone},
			}}
			if err := store.SaveChat(rec); err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
			c := h.u.chat
			c.openSession(mustOpen(t, h.u, rec.ID))
			h.pump("the line in the bubble", func() bool {
				return len(c.msgs) == 2 && slices.Contains(textsIn(c.msgs[0].images), tc.want)
			})
		})
	}
}

// thumbLoaded reports whether a user message's thumbnail has its picture.
func thumbLoaded(v *messageView) bool {
	if len(v.images.Objects) == 0 {
		return false
	}
	img := findImage(v.images.Objects[0])
	return img != nil && img.Image != nil
}

// A dropped folder, non-image, oversized or missing file gets a line under the composer and
// attaches nothing; a good file dropped with them is still attached.
func TestDropRejectsUnusableFiles(t *testing.T) {
	big := filepath.Join(t.TempDir(), "huge.png")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(app.MaxAttachmentBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, tc := range []struct {
		name, path string
	}{
		{"folder", t.TempDir()},
		{"text file", writeFile(t, "notes.png", []byte("not an image at all"))},
		{"too large", big},
		{"missing", filepath.Join(t.TempDir(), "gone.png")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, apptest.NewFakeEngine(0))
			c := h.u.chat
			h.u.OnDropped(fyne.Position{}, []fyne.URI{fileURI(t, tc.path)})
			h.pump("the notice", func() bool { return c.notice.Visible() })
			if len(c.attached) != 0 {
				t.Errorf("%d attachments after dropping a %s", len(c.attached), tc.name)
			}
			if !strings.Contains(c.notice.Text, filepath.Base(tc.path)) {
				t.Errorf("notice %q does not name %s", c.notice.Text, filepath.Base(tc.path))
			}
			h.u.OnDropped(fyne.Position{}, []fyne.URI{fileURI(t, tc.path), fileURI(t, landscape(t))})
			h.pump("the good file", func() bool { return len(c.attached) == 1 })
			// Once a good file is taken alone, the refusals before it are old news.
			h.u.OnDropped(fyne.Position{}, []fyne.URI{fileURI(t, writeFile(t, "another.png", pngBytes(t)))})
			h.pump("the other good file", func() bool { return len(c.attached) == 2 })
			if strings.Contains(c.notice.Text, filepath.Base(tc.path)) {
				t.Errorf("after a good file the notice still says %q", c.notice.Text)
			}
		})
	}
}

// Many files refused in one drop take a few lines, the last saying how many more; a later
// drop's refusals replace them rather than pile up under the composer.
func TestDropOfManyUnusableFiles(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.chat
	var uris []fyne.URI
	for i := range 10 {
		uris = append(uris, fileURI(t, writeFile(t, fmt.Sprintf("notes-%d.txt", i), []byte("words"))))
	}
	h.u.OnDropped(fyne.Position{}, uris)
	h.pump("the notice", func() bool { return c.notice.Visible() })
	lines := strings.Split(c.notice.Text, "\n")
	if len(lines) != maxRefusedLines || !strings.Contains(lines[0], "notes-0.txt") ||
		!strings.Contains(lines[len(lines)-1], "7 more files") {
		t.Errorf("ten files refused: the notice says\n%s", c.notice.Text)
	}
	h.u.OnDropped(fyne.Position{}, []fyne.URI{fileURI(t, writeFile(t, "later.txt", []byte("words")))})
	h.pump("the later refusal", func() bool { return strings.Contains(c.notice.Text, "later.txt") })
	if strings.Contains(c.notice.Text, "notes-0.txt") || strings.Contains(c.notice.Text, "more files") {
		t.Errorf("after another refused drop the notice says\n%s", c.notice.Text)
	}
}

// Shift held as the focus leaves the composer (Shift+Tab, Ctrl+Shift+N) is released
// elsewhere: back in the composer, Enter sends again, not a new line.
func TestShiftReleasedElsewhere(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c, canvas := h.u.chat, h.u.win.Canvas()
	canvas.Focus(c.entry)
	c.entry.KeyDown(&fyne.KeyEvent{Name: desktop.KeyShiftLeft})
	canvas.Focus(c.attachB) // Shift+Tab; Shift comes up there
	canvas.Focus(c.entry)
	test.Type(c.entry, "a question")
	c.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	// Sent once the window has taken the outcome (sent clears the composer): the session
	// holds the question a moment before that, while the send's result is on its way.
	h.pump("the question sent", func() bool { return len(c.session.Messages()) > 0 && !c.sending })
	if c.entry.Text != "" {
		t.Errorf("the composer holds %q after Enter", c.entry.Text)
	}
}

// Enter sends, Shift+Enter is a new line, Esc stops and keeps what was written.
func TestChatKeys(t *testing.T) {
	eng := apptest.NewFakeEngine(50 * time.Millisecond)
	eng.Words = strings.Fields("one two three four five six seven eight nine ten eleven twelve")
	h := newHarness(t, eng)
	c := h.u.chat
	h.u.win.Canvas().Focus(c.entry)

	test.Type(c.entry, "first line")
	c.entry.KeyDown(&fyne.KeyEvent{Name: desktop.KeyShiftLeft})
	c.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	c.entry.KeyUp(&fyne.KeyEvent{Name: desktop.KeyShiftLeft})
	test.Type(c.entry, "second line")
	if c.entry.Text != "first line\nsecond line" {
		t.Fatalf("Shift+Enter: entry %q", c.entry.Text)
	}
	if len(c.session.Messages()) != 0 {
		t.Fatal("Shift+Enter sent the question")
	}
	c.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.pump("Enter to send", func() bool { return c.session.Busy() && c.sendB.Text == "Stop" })
	h.pump("two words", func() bool {
		m := c.session.Messages()
		return len(m) == 2 && len(strings.Fields(m[1].Text)) >= 2
	})
	c.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	h.waitAnswers(1)
	m := c.session.Messages()
	if m[0].Text != "first line\nsecond line" {
		t.Errorf("question %q", m[0].Text)
	}
	if m[1].State != app.StateStopped || m[1].Text == "" || len(strings.Fields(m[1].Text)) == len(eng.Words) {
		t.Errorf("after Esc: state %s, text %q", m[1].State, m[1].Text)
	}
	if !strings.Contains(c.msgs[1].footer.Text, "Stopped") {
		t.Errorf("footer %q does not say it stopped", c.msgs[1].footer.Text)
	}

	// Esc stops it from Send (Stop while it runs) too, which Fyne's Button kept.
	test.Type(c.entry, "again")
	c.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.pump("the second answer", func() bool { return c.session.Busy() && c.sendB.Text == "Stop" })
	h.u.win.Canvas().Focus(c.sendB)
	c.sendB.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	h.waitAnswers(2)
	if m := c.session.Messages(); m[3].State != app.StateStopped {
		t.Errorf("after Esc on Stop: state %s", m[3].State)
	}
}

// A conversation longer than the context says so and what to do, and the question goes back
// into the composer.
func TestChatContextFull(t *testing.T) {
	eng := apptest.NewFakeEngine(0)
	eng.ContextLimit = 12
	h := newHarness(t, eng)
	c := h.u.chat
	for i, q := range []string{"a short question", "and another question that no longer fits the tiny window"} {
		test.Type(c.entry, q)
		c.send()
		h.waitAnswers(i + 1)
	}
	// The question that got no answer is the user's to shorten or take to a new chat: it
	// goes back into the composer, and out of the chat (sent again, it was there twice);
	// the line above the composer says why. (Checked once the send has cleared the composer
	// too, whichever of the two ended first.)
	h.pump("the question taken back", func() bool { return !c.sending && len(c.session.Messages()) == 2 && c.notice.Visible() })
	if c.entry.Text != "and another question that no longer fits the tiny window" {
		t.Errorf("the composer holds %q after the question was refused, want the question back", c.entry.Text)
	}
	if !strings.Contains(c.notice.Text, "Start a new chat") || len(c.msgs) != 2 {
		t.Errorf("the notice says %q, %d messages shown", c.notice.Text, len(c.msgs))
	}
	h.pump("the chat in the history", func() bool { return len(h.u.sidebar.entries) == 1 })
}

// A first question too long for the model goes back into the composer with its image, and
// leaves no chat in the history: only its refusal would be there.
func TestChatFirstQuestionTooLong(t *testing.T) {
	eng := apptest.NewFakeEngine(0)
	eng.ContextLimit = 12
	h := newHarness(t, eng)
	c := h.u.chat
	c.attach([]string{landscape(t)})
	h.pump("the image", func() bool { return len(c.attached) == 1 })
	q := strings.Repeat("a question far too long for the tiny window ", 3)
	test.Type(c.entry, q)
	c.send()
	h.pump("the question taken back", func() bool {
		return !c.sending && c.notice.Visible() && len(c.session.Messages()) == 0 && len(c.attached) == 1
	})
	if c.entry.Text != strings.TrimSpace(q) || !strings.Contains(c.notice.Text, "too long") || len(c.msgs) != 0 || !c.empty.Visible() {
		t.Errorf("composer %q, notice %q, %d messages shown, welcome shown %v", c.entry.Text, c.notice.Text, len(c.msgs), c.empty.Visible())
	}
	h.settle()
	if n := len(h.u.sidebar.entries); n != 0 {
		t.Errorf("%d history entries after a refused first question", n)
	}
	// Sent again once shortened (without its image, which the tiny window cannot hold), it
	// makes the chat.
	c.removeChip(c.attached[0].path)
	c.entry.SetText("short")
	c.send()
	h.waitAnswers(2)
	h.pump("the chat in the history", func() bool { return len(h.u.sidebar.entries) == 1 && len(c.session.Messages()) == 2 })
}

// A new chat started while an answer streams shows nothing of that answer, which still
// finishes (stopped) into the history.
func TestNewChatWhileAnswering(t *testing.T) {
	eng := apptest.NewFakeEngine(30 * time.Millisecond)
	eng.Words = strings.Fields("a long answer that keeps on going for quite a few more words")
	h := newHarness(t, eng)
	c := h.u.chat
	test.Type(c.entry, "first chat")
	c.send()
	h.pump("a word", func() bool { return c.updates > 1 })
	h.u.newChat()
	if len(c.msgs) != 0 || c.sendB.Text != "Send" {
		t.Fatalf("new chat shows %d messages, button %q", len(c.msgs), c.sendB.Text)
	}
	h.waitAnswers(1)
	if len(c.msgs) != 0 {
		t.Errorf("the old chat's answer appeared in the new chat (%d messages)", len(c.msgs))
	}
	h.pump("the history", func() bool { return len(h.u.sidebar.entries) == 1 })
}

// A streaming answer keeps the conversation at its end, unless the reader scrolled up.
func TestChatFollowsAnswerUnlessScrolledUp(t *testing.T) {
	eng := apptest.NewFakeEngine(time.Millisecond)
	eng.Words = strings.Fields(strings.Repeat("many words that make a long answer ", 60))
	h := newHarness(t, eng)
	c := h.u.chat
	for i, scrollUp := range []bool{false, true} {
		test.Type(c.entry, "tell me a long story")
		c.send()
		h.pump("a few words", func() bool { return !c.sending && c.updates > 5*(i+1) })
		if scrollUp {
			c.scroll.Scrolled(&fyne.ScrollEvent{Scrolled: fyne.Delta{DY: 100000}}) // the wheel, up to the top
		}
		h.waitAnswers(i + 1)
		h.settle()
		if scrollUp && (c.atBottom() || c.scroll.Offset.Y > 100) {
			t.Errorf("scrolled up, the answer pulled the view to %v of %v", c.scroll.Offset.Y, c.scroll.Content.MinSize().Height)
		}
		if !scrollUp && !c.atBottom() {
			t.Errorf("not at the end after the answer: offset %v of %v", c.scroll.Offset.Y, c.scroll.Content.MinSize().Height)
		}
	}
}

// Sending checks the attached files off the UI goroutine: send returns before the question
// is in the chat; a file gone since it was attached gets the one-line message naming it,
// and the composer keeps the question and the image; a good send then clears only what it
// sent.
func TestSendChecksFilesOffTheUIGoroutine(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.chat
	gone := writeFile(t, "gone.png", pngBytes(t))
	h.u.OnDropped(fyne.Position{}, []fyne.URI{fileURI(t, gone)})
	h.pump("the attachment", func() bool { return len(c.attached) == 1 })
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	test.Type(c.entry, "what is this?")
	c.send()
	if !c.sending || len(c.session.Messages()) != 0 || !c.sendB.Disabled() {
		t.Fatalf("send ran on the UI goroutine: sending %v, %d messages", c.sending, len(c.session.Messages()))
	}
	c.send() // a second press while the first is checked does nothing
	h.pump("the refusal", func() bool { return !c.sending })
	if !c.notice.Visible() || !strings.Contains(c.notice.Text, "gone.png") || strings.Contains(c.notice.Text, "\n") {
		t.Errorf("notice %q, want one line naming gone.png", c.notice.Text)
	}
	if c.entry.Text != "what is this?" || len(c.attached) != 1 || len(c.session.Messages()) != 0 || c.sendB.Disabled() {
		t.Errorf("after a refused send: text %q, %d attachments, %d messages", c.entry.Text, len(c.attached), len(c.session.Messages()))
	}

	c.removeChip(gone)
	if len(c.attached) != 0 || len(c.chips.Objects) != 0 {
		t.Fatalf("remove left %d attachments, %d chips", len(c.attached), len(c.chips.Objects))
	}
	c.send()
	h.waitAnswers(1)
	if c.entry.Text != "" || c.notice.Visible() || len(c.session.Messages()) != 2 {
		t.Errorf("after a good send: text %q, notice %q, %d messages", c.entry.Text, c.notice.Text, len(c.session.Messages()))
	}
}

// pngBytes is a small PNG.
func pngBytes(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(landscape(t))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// An answer cut off by the answer length says so under it; one that ended says nothing.
func TestChatSaysWhenCutOff(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.chat
	test.Type(c.entry, "a full answer")
	c.send()
	h.waitAnswers(1)
	if foot := c.msgs[1].footer.Text; strings.Contains(foot, "Cut off") {
		t.Errorf("a whole answer's footer says %q", foot)
	}
	ns := h.u.settings
	ns.Answer.MaxNewTokens = 2
	h.u.applySettings(ns)
	test.Type(c.entry, "a short answer")
	c.send()
	h.waitAnswers(2)
	if foot := c.msgs[3].footer.Text; !strings.Contains(foot, "Cut off at the answer length") {
		t.Errorf("a cut answer's footer says %q", foot)
	}
	if m := c.session.Messages()[3]; m.Finish != model.FinishLength {
		t.Errorf("the stored answer's finish is %q", m.Finish)
	}
}

// A streaming answer is redrawn with its newest state, at most frameRate times a second, and
// never after it ended (the end's own update shows the final state).
func TestLatestMessageThrottles(t *testing.T) {
	var l latestMessage
	if ok, wait := l.set(1, app.ChatMessage{Text: "a"}); !ok || wait != 0 {
		t.Fatalf("first state: schedule %v after %v, want at once", ok, wait)
	}
	if ok, _ := l.set(1, app.ChatMessage{Text: "a b"}); ok {
		t.Error("a second redraw was scheduled while one was pending")
	}
	if _, m, ok := l.take(); !ok || m.Text != "a b" {
		t.Errorf("take gave %q (%v), want the newest state", m.Text, ok)
	}
	ok, wait := l.set(1, app.ChatMessage{Text: "a b c"})
	if !ok || wait <= 0 || wait > time.Second/frameRate {
		t.Errorf("right after a redraw: schedule %v after %v, want a wait of up to %v", ok, wait, time.Second/frameRate)
	}
	l.end()
	if _, _, ok := l.take(); ok {
		t.Error("a redraw after the end would show the answer unfinished")
	}
}

// Tab leaves the composer and the canvas prompt for the next control, as in the chat apps,
// instead of typing a tab character.
func TestTabLeavesThePrompts(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.win.Canvas()
	for _, e := range []*promptEntry{h.u.chat.entry, h.u.create.prompt} {
		if e.AcceptsTab() {
			t.Error("a prompt entry takes Tab")
		}
	}
	c.Focus(h.u.chat.entry)
	c.FocusNext()
	if c.Focused() == h.u.chat.entry {
		t.Error("the focus stayed in the composer")
	}
}

// The composer grows with the lines typed, up to composerMaxRows, and shrinks back once the
// question is sent.
func TestComposerGrows(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.chat
	short := c.entry.MinSize().Height
	c.entry.SetText("one\ntwo\nthree\nfour")
	if c.entry.rows != 4 || c.entry.MinSize().Height <= short {
		t.Errorf("four lines: %d rows, height %v (short %v)", c.entry.rows, c.entry.MinSize().Height, short)
	}
	c.entry.SetText(strings.Repeat("line\n", 30))
	if c.entry.rows != composerMaxRows {
		t.Errorf("thirty lines: %d rows, want %d", c.entry.rows, composerMaxRows)
	}
	c.send()
	h.waitAnswers(1)
	if c.entry.rows != composerRows || c.entry.MinSize().Height != short {
		t.Errorf("after sending: %d rows, height %v, want %d and %v", c.entry.rows, c.entry.MinSize().Height, composerRows, short)
	}
}

// A thumbnail keeps its picture's shape, up to a point: a tall scan or a panorama is shown
// at least 0.4 of the long side across, not as a sliver.
func TestThumbSize(t *testing.T) {
	s := float32(app.ThumbnailSize)
	for _, tc := range []struct {
		w, h   int
		ww, wh float32
	}{
		{400, 300, s, s * 0.75},
		{300, 400, s * 0.75, s},
		{100, 3000, s * minThumbSide, s},
		{3000, 100, s, s * minThumbSide},
		{0, 0, s, s},
	} {
		if w, h := thumbSize(tc.w, tc.h); w != tc.ww || h != tc.wh {
			t.Errorf("thumbSize(%d, %d) = %v×%v, want %v×%v", tc.w, tc.h, w, h, tc.ww, tc.wh)
		}
	}
}

// A new chat is in the history from its first question, not from the end of its answer.
func TestNewChatInHistoryAtOnce(t *testing.T) {
	eng := apptest.NewFakeEngine(50 * time.Millisecond)
	eng.Words = strings.Fields("a long answer that keeps on going for quite a few more words")
	h := newHarness(t, eng)
	c := h.u.chat
	test.Type(c.entry, "is it a fox?")
	c.send()
	h.pump("the chat in the history", func() bool { return len(h.u.sidebar.entries) == 1 })
	if !c.session.Busy() {
		t.Error("the answer ended before the chat showed in the history")
	}
	if h.u.sidebar.selected != 0 {
		t.Errorf("the new chat is not marked open (selected %d)", h.u.sidebar.selected)
	}
	h.waitAnswers(1)
}

// An answer is shown a paragraph a label: as it streams only the last paragraph changes,
// the labels before it are kept as they are.
func TestParagraphs(t *testing.T) {
	p := newParagraphs()
	p.set("The first paragraph.\n\nThe sec")
	if len(p.labels) != 2 || p.labels[0].Text != "The first paragraph." || p.labels[1].Text != "The sec" {
		t.Fatalf("labels %d: %q", len(p.labels), textsIn(p.box))
	}
	first := p.labels[0]
	p.set("The first paragraph.\n\nThe second one.\n\nA third")
	if len(p.labels) != 3 || p.labels[0] != first || p.labels[2].Text != "A third" || len(p.box.Objects) != 3 {
		t.Fatalf("after more text: %d labels, first kept %v, %q", len(p.labels), p.labels[0] == first, textsIn(p.box))
	}
	p.set("Replaced")
	if len(p.labels) != 1 || len(p.box.Objects) != 1 || p.labels[0].Text != "Replaced" || p.text != "Replaced" {
		t.Fatalf("after a shorter text: %d labels, %q", len(p.labels), textsIn(p.box))
	}
}

// A paragraph of many lines (a list, code) is cut at its newlines into labels of about
// chunkBytes, which stay as they are while the text grows after them, and which stand as
// one label would: no gap between them.
func TestParagraphChunks(t *testing.T) {
	test.NewTempApp(t)
	var lines []string
	for i := range 80 {
		lines = append(lines, fmt.Sprintf("%d. a line of a long list, with some words on it", i+1))
	}
	text := strings.Join(lines, "\n")
	p := newParagraphs()
	w := test.NewWindow(p.box)
	defer w.Close()
	w.Resize(fyne.NewSize(readableWidth, 600))
	p.set(text)
	if len(p.labels) < 3 {
		t.Fatalf("%d labels for %d bytes of lines", len(p.labels), len(text))
	}
	if strings.Join(textsIn(p.box), "\n") != text {
		t.Error("the pieces do not make the text")
	}
	for i, l := range p.labels {
		if len(l.Text) > chunkBytes || p.joined[i] != (i > 0) {
			t.Errorf("label %d: %d bytes, joined %v", i, len(l.Text), p.joined[i])
		}
	}
	first, firstText := p.labels[0], p.labels[0].Text
	p.set(text + " and more")
	if p.labels[0] != first || p.labels[0].Text != firstText {
		t.Error("the first piece changed as the text grew after it")
	}
	one := widget.NewLabel(text + " and more")
	one.Wrapping = fyne.TextWrapWord
	one.Resize(fyne.NewSize(readableWidth, 10))
	if got, want := p.box.MinSize().Height, one.MinSize().Height; got < want-1 || got > want+1 {
		t.Errorf("the pieces stand %v high, one label %v", got, want)
	}
}

// BenchmarkAnswerRedraw is one streamed update of a long answer (60 paragraphs of 60
// words): what each redraw lays out again. On the test driver (2026-12-05, 30 updates, one
// run beside the other) it took 9.6 ms an update, where one label for the whole answer took
// 52 ms.
//
// Lines is the same with one newline between the paragraphs (a list, code): no blank line.
// Cut at newlines into pieces of about chunkBytes it took 9.1 ms an update, 45.8 ms as one
// label (2026-12-06, `CGO_ENABLED=0 go test ./ui -run '^$' -bench AnswerRedraw -benchtime
// 30x`, paragraphs 8.7 ms in the same run).
func BenchmarkAnswerRedraw(b *testing.B) {
	for _, c := range []struct{ name, sep string }{{"paragraphs", "\n\n"}, {"lines", "\n"}} {
		b.Run(c.name, func(b *testing.B) {
			test.NewTempApp(b)
			p := newParagraphs()
			w := test.NewWindow(container.NewVScroll(p.box))
			defer w.Close()
			w.Resize(fyne.NewSize(readableWidth, 600))
			para := strings.TrimSpace(strings.Repeat("word ", 60))
			text := strings.TrimSuffix(strings.Repeat(para+c.sep, 60), c.sep)
			for b.Loop() {
				text += " more"
				p.set(text)
				p.box.Refresh()
				p.box.MinSize()
			}
		})
	}
}

// A chat the app died in while answering (its file holds the answer streaming, as last
// saved) reopens with that text marked interrupted, not stopped, and answers a follow-up.
func TestChatReopensInterrupted(t *testing.T) {
	dir := t.TempDir()
	store, err := app.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	rec := &app.ChatRecord{Messages: []app.ChatMessage{
		{Text: "tell me a long story", State: app.StateDone, Time: now},
		{Assistant: true, Text: "Once upon a time", State: app.StateStreaming, Tokens: 4, TokensPerSecond: 9, Time: now},
	}}
	if err := store.SaveChat(rec); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	u := h.u
	h.pump("the history", func() bool { return len(u.sidebar.entries) == 1 })
	u.sidebar.open(0)
	h.pump("the chat", func() bool { return len(u.chat.msgs) == 2 })
	v := u.chat.msgs[1]
	if foot := v.footer.Text; !strings.HasPrefix(foot, "Interrupted (the app closed before the answer ended)") || strings.Contains(foot, "Stopped") {
		t.Errorf("the interrupted answer's footer says %q", foot)
	}
	if v.shown() != "Once upon a time" || !v.copyB.Visible() {
		t.Errorf("the interrupted answer shows %q, Copy shown %v", v.shown(), v.copyB.Visible())
	}
	h.ask("go on")
	if m := u.chat.session.Messages()[3]; m.State != app.StateDone {
		t.Errorf("the follow-up: %+v", m)
	}
	if foot := u.chat.msgs[1].footer.Text; !strings.HasPrefix(foot, "Interrupted") {
		t.Errorf("after the follow-up the interrupted answer's footer says %q", foot)
	}
}

// TestDraftsStayWithTheirChat: what is typed and attached in one chat stays there when
// another is opened (it came along into the next chat, where Send put it into the wrong
// conversation), and comes back with its chat; a line about one chat's files is not kept
// for the next; Send waits for something to send.
func TestDraftsStayWithTheirChat(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(time.Millisecond))
	c := h.u.chat
	if !c.sendB.Disabled() {
		t.Error("Send enabled in an empty composer")
	}
	h.ask("first question") // the chat is in the history from here
	old := c.session.ID()
	test.Type(c.entry, "a second question, unsent")
	if c.sendB.Disabled() {
		t.Error("Send disabled with a question typed")
	}
	h.u.OnDropped(fyne.Position{}, []fyne.URI{fileURI(t, landscape(t))})
	h.pump("the attachment", func() bool { return len(c.attached) == 1 })
	c.setNotice("notes.txt is not an image")

	h.u.newChat()
	if c.entry.Text != "" || len(c.attached) != 0 || len(c.chips.Objects) != 0 || c.notice.Visible() || !c.sendB.Disabled() {
		t.Errorf("a new chat's composer holds %q, %d images (%d chips), notice shown %v, Send enabled %v",
			c.entry.Text, len(c.attached), len(c.chips.Objects), c.notice.Visible(), !c.sendB.Disabled())
	}
	test.Type(c.entry, "the new chat's draft")

	c.openSession(mustOpen(t, h.u, old))
	if c.entry.Text != "a second question, unsent" || len(c.attached) != 1 || len(c.chips.Objects) != 1 || c.sendB.Disabled() {
		t.Errorf("back in the first chat the composer holds %q and %d images (%d chips), Send enabled %v",
			c.entry.Text, len(c.attached), len(c.chips.Objects), !c.sendB.Disabled())
	}
	test.Type(c.entry, "?") // goes on after the draft, not before it
	if c.entry.Text != "a second question, unsent?" {
		t.Errorf("typed after the draft came back: %q", c.entry.Text)
	}
	h.u.newChat()
	if c.entry.Text != "the new chat's draft" || len(c.attached) != 0 {
		t.Errorf("a new chat again holds %q and %d images, want its own draft", c.entry.Text, len(c.attached))
	}
}

// shown is the text v shows.
func (v *messageView) shown() string {
	if v.answer != nil {
		return v.answer.text
	}
	return v.text.Text
}

// A message's text is no Tab stop: Fyne makes a selectable label one, with no mark, so Tab
// and Shift+Tab crossed every question and every paragraph unseen (seen under Xvfb). The
// text is selectable while the pointer is over its message; a text with a selection keeps it
// after the pointer leaves, for Ctrl+C, until the keyboard goes elsewhere; a text clicked
// without making one gives the keyboard back to the composer as the pointer moves on (it
// kept Esc).
func TestMessageTextNoTabStop(t *testing.T) {
	fake := apptest.NewFakeEngine(0)
	fake.Words = []string{"An", "answer.\n\nIn", "two", "paragraphs."}
	h := newHarness(t, fake)
	c := h.u.chat
	h.ask("first question")
	h.ask("second question")
	h.settle()
	isText := func(f fyne.Focusable) bool { return fmt.Sprintf("%T", f) == "*widget.focusSelectable" }
	canvas := h.u.win.Canvas()
	canvas.Focus(c.entry)
	for range 40 {
		canvas.FocusPrevious()
		if f := canvas.Focused(); isText(f) {
			t.Fatalf("Shift+Tab stopped on a message's text")
		}
	}
	// textOf is label l's selectable text, to tap.
	textOf := func(l *widget.Label) fyne.CanvasObject {
		t.Helper()
		for _, o := range test.LaidOutObjects(l) {
			if f, ok := o.(fyne.Focusable); ok && isText(f) {
				return o
			}
		}
		t.Fatalf("no selectable text in %q", l.Text)
		return nil
	}
	v := c.msgs[1] // the first answer
	area := v.obj.(*hoverArea)
	area.MouseIn(&desktop.MouseEvent{})
	if len(v.answer.labels) < 2 {
		t.Fatalf("the answer is in %d labels, want one a paragraph", len(v.answer.labels))
	}
	for _, l := range v.answer.labels {
		if !l.Selectable {
			t.Fatal("with the pointer over it, the answer cannot be selected")
		}
	}
	test.DoubleTap(textOf(v.answer.labels[0]).(fyne.DoubleTappable)) // selects a word, takes the keyboard
	if v.answer.labels[0].SelectedText() == "" || !isText(canvas.Focused()) {
		t.Fatalf("a double tap selected %q, focused %T", v.answer.labels[0].SelectedText(), canvas.Focused())
	}
	area.MouseOut()
	if !v.answer.labels[0].Selectable {
		t.Error("the pointer gone, the answer's selection was dropped before Ctrl+C")
	}
	if v.answer.labels[1].Selectable {
		t.Error("the pointer gone, a paragraph without the keyboard is still selectable (a Tab stop)")
	}
	// The keyboard goes elsewhere; then the pointer comes over another message.
	canvas.Focus(c.entry)
	q := c.msgs[2].obj.(*hoverArea)
	q.MouseIn(&desktop.MouseEvent{})
	if !c.msgs[2].text.Selectable {
		t.Error("with the pointer over it, the question cannot be selected")
	}
	if v.answer.labels[0].Selectable {
		t.Error("a selection the keyboard has left keeps its text a Tab stop")
	}
	// A click on the question's text, and the pointer moves on over it, then leaves: the
	// keyboard is the composer's each time; a drag (a button held) keeps it.
	canvas.Focus(textOf(c.msgs[2].text).(fyne.Focusable)) // as the pointer's press does
	q.MouseMoved(&desktop.MouseEvent{Button: desktop.MouseButtonPrimary})
	if !isText(canvas.Focused()) {
		t.Errorf("a drag over the clicked text gave the keyboard to %T", canvas.Focused())
	}
	q.MouseMoved(&desktop.MouseEvent{})
	if canvas.Focused() != c.entry {
		t.Errorf("the pointer moved on after a click on the text, the keyboard is %T's, not the composer's", canvas.Focused())
	}
	canvas.Focus(textOf(c.msgs[2].text).(fyne.Focusable))
	q.MouseOut()
	if canvas.Focused() != c.entry {
		t.Errorf("the clicked text left, the keyboard is %T's, not the composer's", canvas.Focused())
	}
	if c.msgs[2].text.Selectable {
		t.Error("the pointer gone, the question is still selectable (a Tab stop)")
	}
}

// The composer takes the messages' column: its edges (the clip's left, Send's right) are an
// answer's, in a wide window and in the smallest.
func TestComposerAlignsWithMessages(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.chat
	h.ask("a question")
	for _, size := range []fyne.Size{defaultWindowSize, minWindowSize} {
		h.u.win.Resize(size)
		var answer, clip, send fyne.CanvasObject
		var answerAt, clipAt, sendAt fyne.Position
		inner := c.list.Objects[len(c.list.Objects)-1].(*hoverArea).content.(*fyne.Container).Objects[0] // the answer's box, inside its padding
		visit(h.u.win.Canvas().Content(), fyne.Position{}, func(o fyne.CanvasObject, p fyne.Position) {
			switch o {
			case inner:
				answer, answerAt = o, p
			case c.attachB:
				clip, clipAt = o, p
			case c.sendB:
				send, sendAt = o, p
			}
		})
		if answer == nil || clip == nil || send == nil {
			t.Fatalf("%v: the answer or the composer's buttons are not on screen", size)
		}
		if clipAt.X != answerAt.X || sendAt.X+send.Size().Width != answerAt.X+answer.Size().Width {
			t.Errorf("%v: composer x %v–%v, answer x %v–%v", size, clipAt.X, sendAt.X+send.Size().Width,
				answerAt.X, answerAt.X+answer.Size().Width)
		}
	}
}

// Copy says "Copied" for a moment, then Copy again, in the room it had (it widened).
func TestCopySaysCopied(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.copiedFor = 50 * time.Millisecond })
	c := h.u.chat
	h.ask("a question")
	b := c.msgs[1].copyB
	w := b.Size().Width
	test.Tap(b)
	if b.Text != "Copied" || h.u.fapp.Clipboard().Content() == "" {
		t.Fatalf("after Copy the button says %q, the clipboard holds %q", b.Text, h.u.fapp.Clipboard().Content())
	}
	if b.MinSize().Width > w {
		t.Errorf("Copied needs %v px, the button has %v", b.MinSize().Width, w)
	}
	h.pump("Copy again", func() bool { return b.Text == "Copy" })
	if b.Icon.Name() != theme.ContentCopyIcon().Name() {
		t.Errorf("the icon after: %v", b.Icon.Name())
	}
}

// An image still being read when the window moves to another chat lands in the chat it was
// attached to (its draft), not in the one open when it is ready.
func TestAttachmentInFlightStaysWithItsChat(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(time.Millisecond))
	c := h.u.chat
	h.ask("first question")
	first := c.session.ID()
	h.u.OnDropped(fyne.Position{}, []fyne.URI{fileURI(t, landscape(t))})
	h.u.newChat() // before the image is ready
	h.pump("the image", func() bool { return len(c.drafts[first].attached) == 1 || len(c.attached) == 1 })
	if len(c.attached) != 0 || len(c.drafts[first].attached) != 1 {
		t.Errorf("the new chat holds %d images, the first chat's draft %d; want 0 and 1", len(c.attached), len(c.drafts[first].attached))
	}
}

// Each chat's unsent text is saved for the next start, not only the open chat's, and comes
// back in its chat.
func TestChatDraftsKeptAcrossQuit(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, apptest.NewFakeEngine(time.Millisecond), func(o *Options) { o.StoreDir = dir; o.draftDelay = 5 * time.Millisecond })
	c := h.u.chat
	h.ask("first question")
	first := c.session.ID()
	test.Type(c.entry, "a follow-up, unsent")
	h.u.newChat()
	test.Type(c.entry, "a new chat's question")
	h.pump("the drafts on disk", func() bool {
		h.u.settingsW.Flush()
		st, _, err := h.u.store.LoadSettings()
		return err == nil && st.Drafts.Chats[first] == "a follow-up, unsent" && st.Drafts.Chat == "a new chat's question"
	})
	h.u.shutdown()

	h2 := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	c2 := h2.u.chat
	test.Type(c2.entry, "?")
	if c2.entry.Text != "a new chat's question?" {
		t.Errorf("after a restart and a key the new chat's composer holds %q", c2.entry.Text)
	}
	c2.openSession(mustOpen(t, h2.u, first))
	if c2.entry.Text != "a follow-up, unsent" {
		t.Errorf("after a restart the first chat's composer holds %q", c2.entry.Text)
	}
}

// An answer the window's closing stops says so, not that its chat was left (the user did
// not leave it for another).
func TestQuitStopsTheAnswerAsClosed(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, apptest.NewFakeEngine(time.Minute), func(o *Options) { o.StoreDir = dir }) // a word a minute: only the quit ends it
	c := h.u.chat
	test.Type(c.entry, "a long question")
	c.send()
	h.pump("the answer under way", func() bool { return c.session.Busy() && c.session.ID() != "" })
	id := c.session.ID()
	h.u.shutdown()
	rec, err := h.u.store.LoadChat(id)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Messages); n != 2 || rec.Messages[1].State != app.StateStopped || rec.Messages[1].Stopped != "Janus Desktop was closed" {
		t.Errorf("the chat saved at quit: %+v", rec.Messages)
	}
}

// The images attached and not sent are kept across a quit too, each in its chat; one gone
// since is told by name, and the others come back.
func TestChatDraftImagesKeptAcrossQuit(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, apptest.NewFakeEngine(time.Millisecond), func(o *Options) { o.StoreDir = dir; o.draftDelay = 5 * time.Millisecond })
	c := h.u.chat
	h.ask("first question")
	first := c.session.ID()
	kept := writeFile(t, "kept.png", pngBytes(t))
	gone := writeFile(t, "gone.png", pngBytes(t))
	c.attach([]string{kept, gone})
	h.pump("two attachments", func() bool { return len(c.attached) == 2 })
	h.u.newChat()
	c.attach([]string{kept})
	h.pump("the new chat's attachment", func() bool { return len(c.attached) == 1 })
	h.pump("the drafts on disk", func() bool {
		h.u.settingsW.Flush()
		st, _, err := h.u.store.LoadSettings()
		return err == nil && len(st.Drafts.Images[first]) == 2 && len(st.Drafts.Images[""]) == 1
	})
	h.u.shutdown()
	// A start that quits before the images are read again keeps them.
	quick := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	quick.u.shutdown()
	if st, _, err := quick.u.store.LoadSettings(); err != nil || len(st.Drafts.Images[first]) != 2 || len(st.Drafts.Images[""]) != 1 {
		t.Fatalf("after a start and a quick quit the saved images are %v (%v)", st.Drafts.Images, err)
	}
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}

	h2 := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	c2 := h2.u.chat
	h2.pump("the new chat's image", func() bool { return len(c2.attached) == 1 })
	h2.pump("the first chat's image", func() bool { return len(c2.drafts[first].attached) == 1 })
	if !strings.Contains(c2.notice.Text, "gone.png") || !strings.Contains(c2.notice.Text, "“first question”") {
		t.Errorf("the notice says %q, want it to name the image gone since and its chat", c2.notice.Text)
	}
	c2.openSession(mustOpen(t, h2.u, first))
	if len(c2.attached) != 1 || c2.attached[0].path != kept || c2.sendB.Disabled() {
		t.Errorf("after a restart the first chat's composer holds %v (Send enabled %v), want %s", c2.attached, !c2.sendB.Disabled(), kept)
	}
}

// An image named by a path relative to the folder the app started in (the command line's
// `janus-desktop photo.jpg`) is kept by its whole path.
func TestAttachRelativePath(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.chat
	dir := filepath.Dir(writeFile(t, "photo.png", pngBytes(t)))
	t.Chdir(dir)
	c.attach([]string{"photo.png"})
	h.pump("the image", func() bool { return len(c.attached) == 1 })
	if p := c.attached[0].path; p != filepath.Join(dir, "photo.png") {
		t.Errorf("attached as %q, want the whole path", p)
	}
}

// Deleting the open chat keeps what was typed in it and not sent (it comes to the new chat),
// and no draft of the deleted chat is kept.
func TestDeletingAChatKeepsItsUnsentText(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(time.Millisecond))
	c := h.u.chat
	h.ask("first question")
	h.pump("the entry", func() bool { return len(h.u.sidebar.entries) == 1 })
	e := h.u.sidebar.entries[0]
	test.Type(c.entry, "unsent")
	h.u.sidebar.doDelete(e)
	h.pump("the deletion", func() bool { return c.session.ID() != e.ID })
	if _, ok := c.drafts[e.ID]; ok || c.entry.Text != "unsent" {
		t.Errorf("after deleting the open chat: its draft kept %v, the new chat's composer %q", ok, c.entry.Text)
	}
	// Said, or it reads as the new chat's own, come from nowhere.
	if !c.notice.Visible() || !strings.Contains(c.notice.Text, "“first question” is kept here") {
		t.Errorf("after deleting the open chat the notice says %q (shown %v)", c.notice.Text, c.notice.Visible())
	}
}

// A new chat's draft, brought back, edited and sent, is not brought back again (it came back
// at every New chat, and after a restart).
func TestSentDraftDoesNotComeBack(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(time.Millisecond), func(o *Options) { o.draftDelay = 5 * time.Millisecond })
	c := h.u.chat
	h.ask("an older chat")
	older := c.session.ID()
	h.u.newChat()
	test.Type(c.entry, "hello")
	c.openSession(mustOpen(t, h.u, older))
	h.u.newChat()
	if c.entry.Text != "hello" {
		t.Fatalf("the new chat's draft came back as %q", c.entry.Text)
	}
	h.ask(" world") // the draft, edited, is sent
	h.u.newChat()
	if c.entry.Text != "" {
		t.Errorf("after the draft was sent a new chat holds %q", c.entry.Text)
	}
	h.pump("the drafts on disk", func() bool {
		h.u.settingsW.Flush()
		st, _, err := h.u.store.LoadSettings()
		return err == nil && st.Drafts.Chat == ""
	})
}

// Deleting the open chat brings its unsent text to the new chat even when that one holds a
// draft of its own: both are kept.
func TestDeletedChatTextJoinsTheNewChatsDraft(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(time.Millisecond))
	c := h.u.chat
	test.Type(c.entry, "a new chat's draft")
	h.ask("first question") // sends the draft's text with it: type a new one
	h.u.newChat()
	test.Type(c.entry, "another new chat's draft")
	h.pump("the entries", func() bool { return len(h.u.sidebar.entries) == 1 })
	e := h.u.sidebar.entries[0]
	c.openSession(mustOpen(t, h.u, e.ID))
	test.Type(c.entry, "unsent in the first chat")
	h.u.sidebar.doDelete(e)
	h.pump("the deletion", func() bool { return c.session.ID() != e.ID })
	if want := "another new chat's draft\n\nunsent in the first chat"; c.entry.Text != want {
		t.Errorf("after deleting the open chat the composer holds %q, want %q", c.entry.Text, want)
	}
}

// Chips of attached images wrap in the smallest window: three wide ones ran past Send to the
// window's edge and widened it.
func TestComposerChipsWrap(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.chat
	h.u.win.Resize(minWindowSize)
	var paths []string
	for _, n := range []string{"a-long-holiday-name-one.png", "a-long-holiday-name-two.png", "a-long-holiday-name-three.png", "four.png"} {
		paths = append(paths, writeFile(t, n, pngBytes(t)))
	}
	c.attach(paths)
	h.pump("the chips", func() bool { return len(c.attached) == 4 })
	h.settle()
	if m := h.u.win.Content().MinSize(); m.Width > minWindowSize.Width {
		t.Errorf("with four chips the window needs %v wide, more than %v", m.Width, minWindowSize.Width)
	}
	for _, chip := range c.chips.Objects {
		if end := chip.Position().X + chip.Size().Width; end > c.chips.Size().Width+1 {
			t.Errorf("a chip ends at %v, past the composer's %v", end, c.chips.Size().Width)
		}
	}
}

// An answer that could not be saved says so under itself, as a problem.
func TestChatUnsavedAnswer(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(20*time.Millisecond))
	c := h.u.chat
	test.Type(c.entry, "what is slow?")
	c.send()
	h.pump("the answer to start", func() bool { return len(c.msgs) == 2 && c.msgs[1].answer != nil && c.session.Busy() })
	chats := filepath.Join(h.u.store.Root(), "chats")
	if err := os.Rename(chats, chats+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(chats, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h.waitAnswers(1)
	f := c.msgs[1].footer
	if !strings.Contains(f.Text, "Not saved in the history") || f.Importance != widget.DangerImportance {
		t.Errorf("the unsaved answer's footer: %q (importance %v)", f.Text, f.Importance)
	}
	os.Remove(chats)
	os.Rename(chats+".away", chats) // so that the window's shutdown saves as usual
}

// answeringAfterAnother opens a window on eng with a chat answered (other, its id) and a new
// one whose long answer is streaming.
func answeringAfterAnother(t *testing.T, eng *apptest.FakeEngine) (h *harness, other string) {
	t.Helper()
	h = newHarness(t, eng)
	c := h.u.chat
	h.ask("a short one")
	other = c.session.ID()
	eng.Words = strings.Fields(strings.Repeat("word ", 200))
	h.u.newChat()
	test.Type(c.entry, "a long one")
	c.send()
	h.pump("the answer to stream", func() bool { return len(c.msgs) == 2 && c.msgs[1].answer != nil && c.updates > 2 })
	return h, other
}

// A chat reopened while the answer it was writing when it was left is still ending comes
// back with all of that answer, stopped: its file is read once the last save is done. Read
// before, it held what the answer had written while streaming ("Interrupted", shorter), and
// the next question saved that over the whole answer.
func TestChatReopenWhileItsAnswerEnds(t *testing.T) {
	eng := apptest.NewFakeEngine(10 * time.Millisecond)
	eng.StopDelay = 300 * time.Millisecond
	h, other := answeringAfterAnother(t, eng)
	u, c := h.u, h.u.chat
	long := c.session.ID()
	index := func(id string) int {
		i := -1
		h.pump(id+" in the history", func() bool {
			i = slices.IndexFunc(u.sidebar.entries, func(e app.HistoryEntry) bool { return e.ID == id })
			return i >= 0
		})
		return i
	}
	u.sidebar.open(index(other))
	h.pump("the other chat", func() bool { return c.session.ID() == other && !c.opening.Visible() })
	u.sidebar.open(index(long))
	h.pump("the long chat again", func() bool { return c.session.ID() == long && !c.opening.Visible() })
	m := c.session.Messages()[1]
	if m.State != app.StateStopped || m.Stopped != "the chat was left" {
		t.Errorf("the reopened chat's answer: state %s, why %q, %d characters", m.State, m.Stopped, len(m.Text))
	}
	if !strings.Contains(c.msgs[1].footer.Text, "Stopped: the chat was left") {
		t.Errorf("its footer reads %q", c.msgs[1].footer.Text)
	}
}

// The chat the view holds, clicked while another is being read, is shown as it is, its
// answer still being written: read again from its file, it would lack that answer.
func TestChatClickHeldWhileOpening(t *testing.T) {
	h, other := answeringAfterAnother(t, apptest.NewFakeEngine(10*time.Millisecond))
	u, c := h.u, h.u.chat
	held := c.session
	iOther, iHeld := -1, -1
	h.pump("both chats in the history", func() bool {
		for i, e := range u.sidebar.entries {
			switch e.ID {
			case other:
				iOther = i
			case held.ID():
				iHeld = i
			}
		}
		return iOther >= 0 && iHeld >= 0
	})
	u.sidebar.open(iOther) // not pumped: still being read
	u.sidebar.open(iHeld)
	if c.session != held || c.opening.Visible() || !held.Busy() {
		t.Fatalf("clicking the held chat: same session %v, opening shown %v, answer running %v", c.session == held, c.opening.Visible(), held.Busy())
	}
	// The other chat's read ends on a goroutine: wait until its result has reached the
	// window (the history lists it again), then the held chat must still be there.
	before := c.opened
	time.Sleep(100 * time.Millisecond)
	h.pump("the other chat's read to end", func() bool { return true })
	if c.opened != before || c.session != held {
		t.Error("the other chat's read replaced the held chat")
	}
	held.Stop()
	h.waitAnswers(2)
}

// Several pictures in one question wrap in rows inside its bubble, which stays in the window;
// a question of pictures alone has no empty text line under them.
func TestChatManyPicturesWrap(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.chat
	h.u.win.Resize(fyne.NewSize(900, 700))
	var paths []string
	for i := range 7 {
		img := image.NewNRGBA(image.Rect(0, 0, 60+10*i, 40))
		for p := range img.Pix {
			img.Pix[p] = uint8(i*30 + p%7)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, writeFile(t, fmt.Sprintf("p%d.png", i), buf.Bytes()))
	}
	c.attach(paths)
	h.pump("seven attachments", func() bool { return len(c.attached) == 7 })
	c.send()
	h.waitAnswers(1)
	v := c.msgs[0]
	if v.text.Visible() {
		t.Error("a question of pictures alone shows a text line")
	}
	win := h.u.win.Canvas().Size()
	d := fyne.CurrentApp().Driver()
	rows := map[float32]bool{}
	for _, o := range v.images.Objects {
		at := d.AbsolutePositionForObject(o)
		if at.X+o.Size().Width > win.Width {
			t.Errorf("a picture ends at %v, past the window's %v", at.X+o.Size().Width, win.Width)
		}
		rows[at.Y] = true
	}
	if len(rows) < 2 {
		t.Errorf("seven pictures in %d row(s) in a %v window", len(rows), win)
	}
}

// A paste of files (a file manager's Copy, whatever the files hold, or paths of existing
// pictures) attaches them, files that are not pictures getting the one-line message a drop
// gets; any other text is pasted as text.
func TestPastedFiles(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a photo.png")
	b := filepath.Join(dir, "b.JPG")
	notes := filepath.Join(dir, "notes.txt")
	for _, p := range []string{a, b, notes} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	uri := func(p string) string { return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String() }
	for _, c := range []struct {
		text string
		want []string
	}{
		{a, []string{a}},
		{uri(a) + "\n" + uri(b) + "\n", []string{a, b}},
		{"x-special/nautilus-clipboard\ncopy\n" + uri(a), []string{a}},
		{"copy\n" + uri(b), []string{b}},
		{notes, nil},                                    // not an image: the path is the text
		{a + "\nand some words", nil},                   // not files alone
		{filepath.Join(dir, "gone.png"), nil},           // no such file
		{"photo.png", nil},                              // not a whole path
		{"file://otherhost" + filepath.ToSlash(a), nil}, // another machine's
		{"What is in the picture?", nil},
		{"copy", nil},           // a word, not a list of files
		{"copy\n" + notes, nil}, // a verb and a typed path: text
		{"cut\n" + filepath.Join(dir, "gone.txt"), nil},
		// A file manager's Copy names files whatever they hold: the attach says what
		// each is, where the URIs were pasted as text.
		{"x-special/nautilus-clipboard\ncopy\n" + uri(notes), []string{notes}},
		{uri(notes) + "\n" + uri(a), []string{notes, a}},
		{uri(filepath.Join(dir, "gone.png")), []string{filepath.Join(dir, "gone.png")}},
	} {
		if got := pastedFiles(c.text); !slices.Equal(got, c.want) {
			t.Errorf("pastedFiles(%q) = %q, want %q", c.text, got, c.want)
		}
	}

	h := newHarness(t, apptest.NewFakeEngine(0))
	ch := h.u.chat
	cb := fyne.CurrentApp().Clipboard()
	cb.SetContent(uri(landscape(t)))
	ch.entry.TypedShortcut(&fyne.ShortcutPaste{Clipboard: cb})
	h.pump("the pasted file attached", func() bool { return len(ch.attached) == 1 })
	if ch.entry.Text != "" {
		t.Errorf("the paste also typed %q", ch.entry.Text)
	}
	cb.SetContent("x-special/nautilus-clipboard\ncopy\n" + uri(notes))
	ch.entry.TypedShortcut(&fyne.ShortcutPaste{Clipboard: cb})
	h.pump("the message about the text file", func() bool { return ch.notice.Visible() })
	if !strings.Contains(ch.notice.Text, "notes.txt") || ch.entry.Text != "" || len(ch.attached) != 1 {
		t.Errorf("a file manager's copy of a text file: notice %q, composer %q, %d attached", ch.notice.Text, ch.entry.Text, len(ch.attached))
	}
	cb.SetContent("just words")
	ch.entry.TypedShortcut(&fyne.ShortcutPaste{Clipboard: cb})
	if ch.entry.Text != "just words" {
		t.Errorf("a paste of words typed %q", ch.entry.Text)
	}
}

// A paste with a line longer than maxPastedLine is refused with a line saying why and what to
// do, in the composer and in Create's prompt (a pasted line of 20,000 characters froze the
// window for seconds at every key); as many characters in short lines, and a line of
// maxPastedLine, are pasted.
func TestLongPastedLineRefused(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	cb := fyne.CurrentApp().Clipboard()
	for name, v := range map[string]struct {
		e      *promptEntry
		notice *widget.Label
	}{
		"composer": {h.u.chat.entry, h.u.chat.notice},
		"prompt":   {h.u.create.prompt, h.u.create.notice},
	} {
		cb.SetContent(strings.Repeat("lorem ipsum ", 2000)) // one line of 24,000 characters
		v.e.TypedShortcut(&fyne.ShortcutPaste{Clipboard: cb})
		if v.e.Text != "" || !v.notice.Visible() || !strings.Contains(v.notice.Text, "a line of 24,000 characters") {
			t.Errorf("%s: a line of 24,000 characters: %d pasted, notice %q (shown %v)", name, len(v.e.Text), v.notice.Text, v.notice.Visible())
		}
		for _, text := range []string{strings.Repeat("a short line\n", 3000), strings.Repeat("x", maxPastedLine)} {
			v.e.SetText("")
			cb.SetContent(text)
			v.e.TypedShortcut(&fyne.ShortcutPaste{Clipboard: cb})
			if v.e.Text != text {
				t.Errorf("%s: %d characters in lines of at most %d: %d pasted", name, len(text), longestLine(text), len(v.e.Text))
			}
		}
		v.e.SetText("")
	}
	if got := thousands(1234567); got != "1,234,567" {
		t.Errorf("thousands(1234567) = %q", got)
	}
}

// An answer that fails is scrolled into sight even when the reader was not following the end
// (a long question had pushed its error out of view).
func TestChatFailedAnswerInSight(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.chat
	h.u.win.Resize(fyne.NewSize(900, 500))
	for range 4 {
		h.ask("a question with a few words to fill the screen a little")
	}
	c.follow = false
	c.scroll.ScrollToTop()
	last := len(c.msgs) - 1
	m := c.session.Messages()[last]
	m.State, m.Error = app.StateError, "The question is too long for the model"
	c.update(last, m)
	if !c.atBottom() {
		t.Errorf("the failed answer is out of sight (offset %v of %v)", c.scroll.Offset.Y, c.scroll.Content.MinSize().Height)
	}
}

// A notice or the model's loading line coming and going does not move the entry: it was
// under the entry and moved it up under the pointer about to click it.
func TestChatEntryStaysPut(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.chat
	d := fyne.CurrentApp().Driver()
	before := d.AbsolutePositionForObject(c.entry)
	c.setReady(false, "Loading tiny-c… 98%")
	c.setNotice("gone.png: the file does not exist")
	h.u.win.Content().Refresh()
	if after := d.AbsolutePositionForObject(c.entry); after != before {
		t.Errorf("the entry moved from %v to %v when lines came under the composer", before, after)
	}
	c.setReady(true, "")
	c.setNotice("")
}

// The welcome's line asking for a picture goes once one is attached, and comes back when it
// is removed.
func TestChatDropHintFollowsAttachments(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.chat
	if !c.dropHint.Visible() {
		t.Fatal("a new chat does not ask for a picture")
	}
	c.attach([]string{landscape(t)})
	h.pump("the attachment", func() bool { return len(c.attached) == 1 })
	if c.dropHint.Visible() {
		t.Error("the welcome asks for a picture with one attached")
	}
	c.removeChip(c.attached[0].path)
	if !c.dropHint.Visible() {
		t.Error("the line did not come back once the picture was removed")
	}
}

// Page Up and Page Down in a one-line composer scroll the conversation, a page at a time, as
// the mouse wheel does: a keyboard user can read back a long answer.
func TestChatPagesFromComposer(t *testing.T) {
	eng := apptest.NewFakeEngine(0)
	eng.Words = strings.Fields(strings.Repeat("many words that make a long answer ", 80))
	h := newHarness(t, eng)
	c := h.u.chat
	h.ask("tell me a long story")
	h.settle()
	bottom := c.scroll.Offset.Y
	if bottom <= 0 {
		t.Fatalf("the answer does not scroll (offset %v)", bottom)
	}
	page := func(name fyne.KeyName) { c.entry.TypedKey(&fyne.KeyEvent{Name: name}) }
	page(fyne.KeyPageUp)
	if y := c.scroll.Offset.Y; y >= bottom || c.follow {
		t.Errorf("Page Up: offset %v from %v, following %v", y, bottom, c.follow)
	}
	page(fyne.KeyPageDown)
	if y := c.scroll.Offset.Y; y != bottom || !c.follow {
		t.Errorf("Page Down: offset %v, want %v, following %v", y, bottom, c.follow)
	}
	// In text of several lines they move the cursor, as in any text field.
	c.entry.SetText("line one\nline two")
	page(fyne.KeyPageUp)
	if y := c.scroll.Offset.Y; y != bottom {
		t.Errorf("Page Up in a two-line question scrolled the conversation to %v", y)
	}
}

// Read to its end, the conversation stays at its end when a picture is attached (its chip
// takes room from below): the last lines went under the chips.
func TestConversationKeepsItsEnd(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.chat
	h.u.win.Resize(minWindowSize)
	for i := range 4 {
		h.ask(fmt.Sprintf("question %d, long enough to take a line or two of the conversation's column", i))
		h.waitAnswers(i + 1)
	}
	h.settle()
	if c.scroll.Content.MinSize().Height <= c.scroll.Size().Height || !c.atBottom() {
		t.Fatalf("the conversation (%v in %v) does not overflow, or is not at its end", c.scroll.Content.MinSize(), c.scroll.Size())
	}
	c.attach([]string{landscape(t)})
	h.pump("the chip", func() bool { return len(c.attached) == 1 })
	c.content.Refresh() // as the driver lays out again what changed its minimum size
	h.settle()
	if !c.atBottom() {
		t.Errorf("with a chip shown the conversation is at %v of %v in %v, not at its end", c.scroll.Offset, c.scroll.Content.MinSize(), c.scroll.Size())
	}
}

// Try again under the last answer answers its question again in place of the answer: only
// the last answer has it, not while an answer runs, and disabled while no model is ready. A
// retry stopped or failing before its first word leaves the answer as it was, the failure
// or the stop said under it, and the question is not put back into the composer.
func TestChatTryAgain(t *testing.T) {
	eng := apptest.NewFakeEngine(0)
	h := newHarness(t, eng)
	c := h.u.chat
	h.ask("first")
	h.ask("second")
	if len(c.msgs) != 4 || c.msgs[1].retryB.Visible() || !c.msgs[3].retryB.Visible() || c.msgs[3].retryB.Disabled() {
		t.Fatalf("Try again shown under the first answer %v, the last %v (disabled %v)",
			c.msgs[1].retryB.Visible(), c.msgs[3].retryB.Visible(), c.msgs[3].retryB.Disabled())
	}

	eng.Words = strings.Fields("Another answer.")
	test.Tap(c.msgs[3].retryB)
	h.waitAnswers(3)
	if len(c.msgs) != 4 || c.msgs[3].shown() != "Another answer." || c.msgs[2].shown() != "second" {
		t.Fatalf("after Try again: %d messages, the last %q", len(c.msgs), c.msgs[3].shown())
	}
	if strings.Contains(c.msgs[3].footer.Text, "The same answer") {
		t.Errorf("a new answer's footer %q", c.msgs[3].footer.Text)
	}
	// The same answer again (the answer temperature is 0) says why.
	test.Tap(c.msgs[3].retryB)
	h.waitAnswers(4)
	if !strings.Contains(c.msgs[3].footer.Text, sameAnswerNote) {
		t.Errorf("the same answer again, footer %q", c.msgs[3].footer.Text)
	}

	eng.Delay = time.Hour
	test.Tap(c.msgs[3].retryB)
	h.pump("the retry to start", func() bool { return c.session.Busy() && c.msgs[3].shown() == "…" })
	if c.msgs[3].retryB.Visible() {
		t.Error("Try again shown while the answer is written")
	}
	c.stop()
	h.waitAnswers(5)
	if c.msgs[3].shown() != "Another answer." || !c.msgs[3].retryB.Visible() || strings.Contains(c.msgs[3].footer.Text, "The same answer") {
		t.Errorf("a retry stopped before its first word left %q (Try again shown %v), footer %q", c.msgs[3].shown(), c.msgs[3].retryB.Visible(), c.msgs[3].footer.Text)
	}
	// The answer put back keeps its own footer (a stop's reason, if it had one), which
	// must not read as this stop's: a note says what happened.
	if !strings.Contains(c.msgs[3].footer.Text, retryStoppedNote) {
		t.Errorf("a retry stopped before its first word: footer %q does not say the answer is the one from before", c.msgs[3].footer.Text)
	}

	eng.Delay, eng.ContextLimit = 0, 3
	test.Tap(c.msgs[3].retryB)
	h.waitAnswers(6)
	if c.msgs[3].shown() != "Another answer." || !strings.Contains(c.msgs[3].footer.Text, "Could not answer again") ||
		c.msgs[3].footer.Importance != widget.DangerImportance || c.entry.Text != "" || len(c.msgs) != 4 {
		t.Errorf("a failed retry left %q, footer %q, composer %q, %d messages", c.msgs[3].shown(), c.msgs[3].footer.Text, c.entry.Text, len(c.msgs))
	}
	if strings.Contains(c.msgs[3].footer.Text, retryStoppedNote) {
		t.Errorf("a failed retry's footer %q says it was stopped", c.msgs[3].footer.Text)
	}

	c.setReady(false, "Loading")
	if !c.msgs[3].retryB.Disabled() {
		t.Error("Try again enabled without a model ready")
	}
	c.setReady(true, "")
	if c.msgs[3].retryB.Disabled() {
		t.Error("Try again still disabled with the model ready")
	}
}

// While a refused question is being taken back out of the chat (it goes back into the
// composer), its failed answer offers no Try again, which would answer it a second time.
func TestChatNoTryAgainWhileGivingBack(t *testing.T) {
	eng := apptest.NewFakeEngine(0)
	h := newHarness(t, eng)
	c := h.u.chat
	h.ask("first")
	eng.ContextLimit = 12
	test.Type(c.entry, strings.Repeat("word ", 20))
	c.send()
	h.pumpEach("the question to be given back", func() bool { return c.withdrawing })
	if last := c.msgs[len(c.msgs)-1]; last.retryB.Visible() {
		t.Error("Try again shown under the refused question's answer while it is taken back")
	}
	h.pump("the question taken back", func() bool { return !c.withdrawing && len(c.msgs) == 2 })
	if !c.msgs[1].retryB.Visible() || !strings.Contains(c.entry.Text, "word") {
		t.Errorf("after: Try again under the first answer %v, composer %q", c.msgs[1].retryB.Visible(), c.entry.Text)
	}
}

// Settings saved while a chat is being read from the history apply to it once it is open:
// it was opened with the options of the moment it was clicked.
func TestChatOpenedTakesNewSettings(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u, c := h.u, h.u.chat
	h.ask("first")
	first := c.session.ID()
	u.newChat()
	h.pump("the chat in the history", func() bool { return len(u.sidebar.entries) == 1 })
	u.sidebar.open(0) // not pumped: still being read
	u.settings.Answer.Temperature = 0.7
	h.pump("the chat open", func() bool { return c.session.ID() == first && !c.opening.Visible() })
	if got := c.session.AnswerOptions().Temperature; got != 0.7 {
		t.Errorf("the opened chat answers at temperature %v, want the settings' 0.7", got)
	}
}

// Edit under the last question puts it, pictures and all, into the empty composer (Send
// waits for the pictures); Send replaces the question and its answer; Esc leaves the chat as
// it was; an edit whose answer ends without a word comes back into the composer, an edit
// again; and Edit never overwrites what the composer holds.
func TestChatEdit(t *testing.T) {
	h, eng := editChat(t)
	c := h.u.chat
	if len(c.msgs) != 4 || c.msgs[0].editRow.Visible() || !c.msgs[2].editRow.Visible() || c.msgs[2].editB.Disabled() {
		t.Fatalf("Edit shown under the first question %v, the last %v (disabled %v)",
			c.msgs[0].editRow.Visible(), c.msgs[2].editRow.Visible(), c.msgs[2].editB.Disabled())
	}

	// With something in the composer, Edit says so and changes nothing.
	test.Type(c.entry, "not sent yet")
	test.Tap(c.msgs[2].editB)
	if c.editing || c.entry.Text != "not sent yet" || !strings.Contains(c.notice.Text, "first, then edit") {
		t.Errorf("Edit over a composer holding text: editing %v, composer %q, notice %q", c.editing, c.entry.Text, c.notice.Text)
	}
	c.entry.SetText("")

	// Edit, then Esc: the chat is as it was.
	test.Tap(c.msgs[2].editB)
	if !c.editing || c.entry.Text != "second" || !c.editBar.Visible() || c.msgs[3].retryB.Visible() || c.msgs[2].editRow.Visible() {
		t.Fatalf("editing %v, composer %q, bar shown %v, Try again shown %v, Edit shown %v",
			c.editing, c.entry.Text, c.editBar.Visible(), c.msgs[3].retryB.Visible(), c.msgs[2].editRow.Visible())
	}
	if c.sendB.Disabled() != (len(c.attached) == 0) {
		t.Errorf("Send enabled %v with %d of the question's pictures read back", !c.sendB.Disabled(), len(c.attached))
	}
	c.send() // Enter before the picture is back: nothing goes
	if c.sending || c.session.Busy() {
		t.Fatal("the edit went before its picture was read back")
	}
	h.pump("the question's picture", func() bool { return len(c.attached) == 1 && !c.sendB.Disabled() })
	c.entry.onEscape()
	if c.editing || c.entry.Text != "" || len(c.attached) != 0 || c.editBar.Visible() || !c.msgs[2].editRow.Visible() || c.msgs[2].shown() != "second" {
		t.Fatalf("after Esc: editing %v, composer %q with %d pictures, bar %v, Edit shown %v, question %q",
			c.editing, c.entry.Text, len(c.attached), c.editBar.Visible(), c.msgs[2].editRow.Visible(), c.msgs[2].shown())
	}

	// Edit and send: the question and its answer are replaced, the picture kept.
	test.Tap(c.msgs[2].editB)
	h.pump("the question's picture", func() bool { return len(c.attached) == 1 && !c.sendB.Disabled() })
	c.entry.SetText("second, edited at some length")
	eng.Words = strings.Fields("An edited answer.")
	n := c.finished
	c.send()
	h.waitAnswers(n + 1)
	msgs := c.session.Messages()
	if len(c.msgs) != 4 || c.msgs[2].shown() != "second, edited at some length" || c.msgs[3].shown() != "An edited answer." || c.editing ||
		c.entry.Text != "" || len(c.attached) != 0 || len(msgs[2].Images) != 1 || msgs[2].Images[0].Name != "synthetic_landscape_150x100.png" {
		t.Fatalf("after the edit: %d messages, question %q, answer %q, editing %v, composer %q with %d pictures, images %+v",
			len(c.msgs), c.msgs[2].shown(), c.msgs[3].shown(), c.editing, c.entry.Text, len(c.attached), msgs[2].Images)
	}

	// The bubble fits the new text (its width was the old question's).
	h.u.win.Resize(fyne.NewSize(1200, 800))
	if w, need := c.msgs[2].text.Size().Width, fyne.MeasureText("second, edited at some length", theme.TextSize(), fyne.TextStyle{}).Width; w < need {
		t.Errorf("the edited question's label is %.0f wide, its text %.0f", w, need)
	}

	// An edit the model refuses (too long) comes back into the composer, an edit again,
	// with why above it; the chat keeps the turn it had.
	test.Tap(c.msgs[2].editB)
	h.pump("the question's picture", func() bool { return len(c.attached) == 1 && !c.sendB.Disabled() })
	c.entry.SetText(strings.Repeat("word ", 40))
	eng.ContextLimit = 20
	n = c.finished
	c.send()
	h.waitAnswers(n + 1)
	h.pump("the edit given back", func() bool { return c.editing })
	if !strings.Contains(c.entry.Text, "word word") || len(c.attached) != 1 || !c.editBar.Visible() ||
		!strings.Contains(c.notice.Text, "Could not answer the edited question") ||
		c.msgs[2].shown() != "second, edited at some length" || c.msgs[3].shown() != "An edited answer." || strings.Contains(c.msgs[3].footer.Text, "Could not") {
		t.Errorf("a refused edit: composer %q with %d pictures, bar %v, notice %q, question %q, answer %q, footer %q",
			c.entry.Text, len(c.attached), c.editBar.Visible(), c.notice.Text, c.msgs[2].shown(), c.msgs[3].shown(), c.msgs[3].footer.Text)
	}
	eng.ContextLimit = 0
	c.cancelEdit()

	// An edit stopped before its first word while the window shows another chat: the edited
	// question waits in its chat's draft, an edit again when the chat is opened.
	test.Tap(c.msgs[2].editB)
	h.pump("the question's picture", func() bool { return len(c.attached) == 1 && !c.sendB.Disabled() })
	c.entry.SetText("second, edited again")
	eng.Delay = time.Hour
	id := c.session.ID()
	session := c.session
	c.send()
	h.pump("the edit to start", func() bool { return !c.sending && c.session.Busy() })
	h.u.newChat()
	session.Stop()
	h.pump("the stopped edit given back to its draft", func() bool { return strings.Contains(c.drafts[id].text, "edited again") })
	if d := c.drafts[id]; len(d.attached) != 1 {
		t.Errorf("the draft of the chat left: %+v", d)
	}
	eng.Delay = 0
	c.openSession(mustOpen(t, h.u, id))
	if !c.editing || c.entry.Text != "second, edited again" || len(c.attached) != 1 || c.msgs[2].shown() != "second, edited at some length" {
		t.Errorf("back in the chat: editing %v, composer %q with %d pictures, question %q", c.editing, c.entry.Text, len(c.attached), c.msgs[2].shown())
	}
}

// editDeletedMidway is editChat with its last question edited and the chat deleted before
// the edit's first word, waiting until the edit is given back (to the new chat's composer);
// it returns the deleted chat's id.
func editDeletedMidway(t *testing.T) (*harness, *apptest.FakeEngine, string) {
	t.Helper()
	h, eng := editChat(t)
	c := h.u.chat
	id := c.session.ID()
	s1 := c.session
	editWaiting(h, eng, "second, edited")
	deleteChat(h, id)
	<-s1.Idle()
	h.pump("the edit given back", func() bool { return strings.Contains(c.entry.Text, "edited") })
	return h, eng, id
}

// editChat is a chat of two turns, the second question with a picture, shown in h.
func editChat(t *testing.T) (*harness, *apptest.FakeEngine) {
	t.Helper()
	eng := apptest.NewFakeEngine(0)
	h := newHarness(t, eng)
	c := h.u.chat
	h.ask("first")
	h.u.OnDropped(fyne.Position{}, []fyne.URI{fileURI(t, landscape(t))})
	h.pump("the attachment", func() bool { return len(c.attached) == 1 })
	h.ask("second")
	return h, eng
}

// startEditing taps Edit under the last question and waits for its picture to be back.
func startEditing(h *harness) {
	h.t.Helper()
	c := h.u.chat
	test.Tap(c.msgs[len(c.msgs)-2].editB)
	h.pump("the question's picture", func() bool { return len(c.attached) == 1 && !c.sendB.Disabled() })
}

// editWaiting edits the last question to text and sends it, the engine then taking an hour
// a word: the edit waits for its first word when it returns.
func editWaiting(h *harness, eng *apptest.FakeEngine, text string) {
	h.t.Helper()
	c := h.u.chat
	startEditing(h)
	c.entry.SetText(text)
	eng.Delay = time.Hour
	c.send()
	h.pump("the edit to start", func() bool { return !c.sending && c.session.Busy() })
}

// deleteChat deletes chat id from the history as its entry's Delete does, and waits for the
// window to leave it.
func deleteChat(h *harness, id string) {
	h.t.Helper()
	h.u.sidebar.reloadHistory()
	h.pump("the history", func() bool { return len(h.u.sidebar.entries) > 0 })
	for _, e := range h.u.sidebar.entries {
		if e.ID == id {
			h.u.sidebar.doDelete(e)
		}
	}
	h.pump("the chat deleted", func() bool { return h.u.chat.session.ID() != id })
}

// The chat opened again from the history (another session) while its question's pictures are
// read back into the composer still gets them there, and Send waits for them.
func TestChatEditReopenedWhileReading(t *testing.T) {
	h, _ := editChat(t)
	c := h.u.chat
	id := c.session.ID()
	test.Tap(c.msgs[2].editB) // the read's result waits in the queue
	h.u.newChat()
	c.openSession(mustOpen(t, h.u, id))
	if !c.editing || !c.sendB.Disabled() {
		t.Errorf("reopened while reading: editing %v, Send enabled %v", c.editing, !c.sendB.Disabled())
	}
	h.pump("the picture back", func() bool { return len(c.attached) == 1 })
	if !c.editing || c.sendB.Disabled() || len(c.drafts[id].attached) != 0 {
		t.Errorf("after the read: editing %v, Send enabled %v, %d pictures in a hidden draft", c.editing, !c.sendB.Disabled(), len(c.drafts[id].attached))
	}
}

// A picture still being read back when the edit is cancelled does not land in the composer.
func TestChatCancelledEditReadDropped(t *testing.T) {
	h, _ := editChat(t)
	c := h.u.chat
	test.Tap(c.msgs[2].editB)
	c.entry.onEscape()
	test.Type(c.entry, "a new question")
	h.pump("the read to end", func() bool { return len(c.editReads) == 0 })
	if c.editing || len(c.attached) != 0 || c.entry.Text != "a new question" {
		t.Errorf("after a cancelled edit's read: editing %v, %d pictures, composer %q", c.editing, len(c.attached), c.entry.Text)
	}
}

// Quitting while an edit waits for its first word keeps the edited question in the saved
// drafts (the chat's file keeps the old turn), an edit again at the next start, where Send
// replaces the question.
func TestChatEditKeptAcrossQuit(t *testing.T) {
	dir := t.TempDir()
	eng := apptest.NewFakeEngine(0)
	h := newHarness(t, eng, func(o *Options) { o.StoreDir = dir })
	c := h.u.chat
	h.ask("first")
	h.ask("second")
	id := c.session.ID()
	test.Tap(c.msgs[2].editB)
	c.entry.SetText("second, carefully rewritten")
	eng.Delay = time.Hour
	c.send()
	h.pump("the edit to start", func() bool { return !c.sending && c.session.Busy() })
	h.u.shutdownOnce.Do(h.u.shutdown)
	d := h.u.settings.Drafts
	if d.Chats[id] != "second, carefully rewritten" || !slices.Equal(d.Editing, []string{id}) {
		t.Fatalf("the drafts saved at quit: %+v", d)
	}

	h2 := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	c2 := h2.u.chat
	c2.openSession(mustOpen(t, h2.u, id))
	if !c2.editing || c2.entry.Text != "second, carefully rewritten" || c2.session.Messages()[2].Text != "second" {
		t.Fatalf("after the restart: editing %v, composer %q, question %q", c2.editing, c2.entry.Text, c2.session.Messages()[2].Text)
	}
	n := c2.finished
	c2.send()
	h2.waitAnswers(n + 1)
	if msgs := c2.session.Messages(); len(msgs) != 4 || msgs[2].Text != "second, carefully rewritten" {
		t.Errorf("the edit sent after the restart: %d messages, question %q", len(msgs), msgs[2].Text)
	}
}

// Esc (and Cancel) while an edit is being sent do not cancel it on screen: it goes.
func TestChatEscWhileSendingEdit(t *testing.T) {
	h, eng := editChat(t)
	c := h.u.chat
	startEditing(h)
	c.entry.SetText("second, edited")
	eng.Words = strings.Fields("Edited answer.")
	n := c.finished
	c.send()
	if !c.sending || !c.cancelB.Disabled() {
		t.Errorf("while sending: sending %v, Cancel enabled %v", c.sending, !c.cancelB.Disabled())
	}
	c.entry.onEscape()
	c.cancelEdit()
	if !c.editing || c.entry.Text == "" {
		t.Errorf("Esc while sending cancelled the edit on screen (composer %q)", c.entry.Text)
	}
	h.waitAnswers(n + 1)
	if c.editing || c.entry.Text != "" || c.session.Messages()[2].Text != "second, edited" {
		t.Errorf("after the edit: editing %v, composer %q, question %q", c.editing, c.entry.Text, c.session.Messages()[2].Text)
	}
}

// An edit undone over an answer that had failed puts it back with its own reason.
func TestChatUndoneEditOverFailedAnswer(t *testing.T) {
	eng := apptest.NewFakeEngine(0)
	h := newHarness(t, eng)
	c := h.u.chat
	h.ask("first")
	eng.PanicAfter = 2 // fails after two words: an error with text, kept
	h.ask("second")
	eng.PanicAfter = 0
	before := c.msgs[3].footer.Text
	test.Tap(c.msgs[2].editB)
	c.entry.SetText(strings.Repeat("word ", 40))
	eng.ContextLimit = 20
	n := c.finished
	c.send()
	h.waitAnswers(n + 1)
	h.pump("the edit given back", func() bool { return c.editing })
	if !strings.Contains(before, "nternal error") || c.msgs[3].footer.Text != before {
		t.Errorf("the failed answer's footer %q, was %q", c.msgs[3].footer.Text, before)
	}
}

// An edit undone after its chat was left and opened again from the history (another
// session), while another chat's send was being checked, comes back into its composer.
func TestChatUndoneEditToReopenedChat(t *testing.T) {
	h, eng := editChat(t)
	c := h.u.chat
	id := c.session.ID()
	s1 := c.session
	editWaiting(h, eng, "second, edited")
	h.u.newChat() // the edit stops before a word
	<-s1.Idle()
	eng.Delay = 0 // the engine's fields are set while no reply reads them
	test.Type(c.entry, "a question in another chat")
	c.send() // being checked
	c.openSession(mustOpen(t, h.u, id))
	h.pump("the edit given back", func() bool { return !c.sending && strings.Contains(c.entry.Text, "edited") })
	if !c.editing || len(c.drafts[id].attached) != 0 || c.drafts[id].text != "" {
		t.Errorf("back in the chat: editing %v, composer %q, hidden draft %+v", c.editing, c.entry.Text, c.drafts[id])
	}
}

// An edit undone after its chat was deleted goes to the new chat's draft, as the deleted
// chat's unsent text does; no draft is kept for the chat that is gone.
func TestChatDeleteMidEdit(t *testing.T) {
	h, _, id := editDeletedMidway(t)
	c := h.u.chat
	if _, ok := c.drafts[id]; ok || c.editing || slices.Contains(h.u.drafts().Editing, id) {
		t.Errorf("after the delete: a draft for the deleted chat %v, editing %v, saved drafts %+v", ok, c.editing, h.u.drafts())
	}
}

// An edit undone while the composer of its chat holds something new comes back after it,
// said above the composer; the pictures an edit dropped leave the store.
func TestChatEditGivenBackAfterTextAndDroppedPicture(t *testing.T) {
	h, eng := editChat(t)
	c := h.u.chat
	picture := c.session.ImagePath(c.session.Messages()[2].Images[0])
	editWaiting(h, eng, "second, edited")
	test.Type(c.entry, "something else")
	n := c.finished
	c.stop()
	h.waitAnswers(n + 1)
	if !strings.Contains(c.entry.Text, "something else") || !strings.Contains(c.entry.Text, "second, edited") || len(c.attached) != 1 ||
		!strings.Contains(c.notice.Text, "back in the composer") || c.editing {
		t.Errorf("given back after text: composer %q with %d pictures, notice %q, editing %v", c.entry.Text, len(c.attached), c.notice.Text, c.editing)
	}
	c.entry.SetText("")
	for _, a := range slices.Clone(c.attached) {
		c.discardChip(a.path)
	}

	// An edit without the picture: once answered, no record mentions it, and it goes.
	eng.Delay = 0
	startEditing(h)
	c.discardChip(picture)
	c.entry.SetText("second, without the picture")
	n = c.finished
	c.send()
	h.waitAnswers(n + 1)
	h.u.waitBackground(5 * time.Second)
	if _, err := os.Stat(picture); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the picture the edit dropped is still stored: %v", err)
	}
}

// A picture an edit adds is shown in the question before it is stored (it is, with the
// answer's first word): its thumbnail is read from where it was attached.
func TestChatEditNewPictureShownBeforeStored(t *testing.T) {
	h, eng := editChat(t)
	c := h.u.chat
	startEditing(h)
	added := fixtures.Path(t, "inputs", "synthetic_portrait_90x140.png")
	h.u.OnDropped(fyne.Position{}, []fyne.URI{fileURI(t, added)})
	h.pump("the new picture", func() bool { return len(c.attached) == 2 })
	eng.Delay = time.Hour
	c.send()
	h.pump("the edit to start", func() bool { return !c.sending && c.session.Busy() && len(c.msgs[2].digests) == 2 })
	ref := c.session.Messages()[2].Images[1]
	if _, err := os.Stat(h.u.store.ImagePath(ref)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the new picture is stored before the answer's first word: %v", err)
	}
	h.u.waitBackground(5 * time.Second)
	h.pump("the thumbnails", func() bool { return true })
	var shown, problems int
	visit(c.msgs[2].images, fyne.Position{}, func(o fyne.CanvasObject, _ fyne.Position) {
		switch o := o.(type) {
		case *canvas.Image:
			if o.Image != nil {
				shown++
			}
		case *widget.Label:
			problems++ // thumbnailProblem's line
		}
	})
	if shown != 2 || problems != 0 {
		t.Errorf("the edited question shows %d thumbnails and %d problems, want 2 and 0", shown, problems)
	}
	c.stop()
}

// TestExamplesKeepTypedQuestion: the welcome's example questions go while the composer
// holds a question (one would replace it, and the composer has no undo), come back when it
// is cleared, and then put their text into it.
func TestExamplesKeepTypedQuestion(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	example := func() *widget.Button {
		b, ok := buttonsIn(u.chat.content)[chatExamples[0]]
		if !ok {
			return nil
		}
		return b.b
	}
	typed := "How much is the total on this receipt?"
	test.Type(u.chat.entry, typed)
	h.settle()
	if example() != nil {
		t.Errorf("an example is shown over the question typed")
	}
	u.chat.examples.Objects[0].(*fyne.Container).Objects[0].(*escButton).OnTapped() // as if clicked anyway
	if u.chat.entry.Text != typed {
		t.Errorf("an example replaced the question typed: composer %q", u.chat.entry.Text)
	}
	u.chat.entry.SetText("  ")
	h.settle()
	b := example()
	if b == nil {
		t.Fatal("no example once the composer holds only spaces")
	}
	test.Tap(b)
	h.settle()
	if u.chat.entry.Text != chatExamples[0] {
		t.Errorf("the example put %q into the composer", u.chat.entry.Text)
	}
}

// TestChatStopSaysStopping: Stop, while the model ends the step it is in, turns into a
// disabled "Stopping…" at once (a Stop that looked unheard was pressed again and again), as
// wide as the button is, and Send comes back when the answer has ended.
func TestChatStopSaysStopping(t *testing.T) {
	eng := apptest.NewFakeEngine(time.Hour) // an answer that only Stop ends
	eng.StopDelay = 400 * time.Millisecond
	h := newHarness(t, eng)
	c := h.u.chat
	test.Type(c.entry, "a long question")
	c.send()
	h.pump("the answer to start", func() bool { return c.session.Busy() && c.sendB.Text == "Stop" })
	c.stop()
	if c.sendB.Text != stoppingText || !c.sendB.Disabled() {
		t.Errorf("just after Stop the button reads %q (disabled %v), want a disabled Stopping…", c.sendB.Text, c.sendB.Disabled())
	}
	h.settle()
	if got, need := c.sendB.Size().Width, c.sendB.MinSize().Width; got < need {
		t.Errorf("%q is %v wide, it needs %v: the text runs past the button", c.sendB.Text, got, need)
	}
	h.waitAnswers(1)
	h.pump("Send again", func() bool { return c.sendB.Text == "Send" })
	if m := c.session.Messages()[1]; m.State != app.StateStopped {
		t.Errorf("the answer ended %s, want stopped", m.State)
	}
}

// A wait with nothing to show counts its time once it is long enough to be noticed: an
// answer that has no word yet says how long the question has been read, Create's run how
// long it has been starting (a long prompt on a slow machine looked like a hang).
func TestWaitsCountTheTime(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		since time.Time
		want  string
	}{
		{time.Time{}, "Reading…"},
		{now.Add(-time.Second), "Reading…"},
		{now.Add(-12 * time.Second), "Reading… 12 s"},
		{now.Add(-(2*time.Minute + 5*time.Second)), "Reading… 2 min 5 s"},
	} {
		if got := waitedLine("Reading…", tc.since); got != tc.want {
			t.Errorf("since %v: %q, want %q", now.Sub(tc.since), got, tc.want)
		}
	}
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.chat
	h.ask("a question")
	m := c.session.Messages()[1]
	m.State, m.Text, m.TokensPerSecond, m.Time = app.StateStreaming, "", 0, now.Add(-20*time.Second)
	c.fill(c.msgs[1], m)
	if got := c.msgs[1].footer.Text; !strings.Contains(got, "Reading the question… 20 s") {
		t.Errorf("an answer read for 20 s says %q", got)
	}
	v := h.u.create
	v.job, v.waiting, v.started = &app.GenerationJob{}, true, now.Add(-15*time.Second)
	v.showWaiting()
	if got := v.progText.Text; got != "Starting… 15 s" {
		t.Errorf("a run starting for 15 s says %q", got)
	}
	v.job = nil
}
