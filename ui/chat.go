package ui

import (
	"errors"
	"fmt"
	"image"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/model"
)

// chatPlaceholder is what the empty composer says.
const chatPlaceholder = "Ask about an image — drop one anywhere in the window"

// chatExamples are the empty chat's example questions.
var chatExamples = []string{"Describe this photo", "What is written on this sign?"}

// chatView is the Chat screen: the conversation and the composer under it.
type chatView struct {
	u       *UI
	session *app.ChatSession
	// job is the current chat's reply; jobs are every reply not yet finished, including
	// those of chats left while answering (they stop, then save what was written), guarded
	// by jobsMu because a reply starts on a send goroutine. sending is set while a send
	// checks its files.
	job     *app.Job
	jobsMu  sync.Mutex
	jobs    []*app.Job
	sending bool
	// afterSent is what an answer that ended while its send was still being checked left
	// for sent to do once it has cleared the composer (give the question back). whenSent
	// waits for the send under way to be settled, whatever chat is shown (afterSending).
	afterSent func()
	whenSent  []func()
	// withdrawing is set while a refused question is being taken back out of the chat.
	withdrawing bool
	// editing is set while the composer holds the last question to change (Edit), which
	// Send then replaces with its answer (ChatSession.Edit); editBar says so above the
	// composer, with Cancel (cancelB). editReads are the edits' pictures being read back into
	// their chats' composers: Send waits for them, or the question would go without them.
	// edits are the edits sent whose answers have not ended.
	editing   bool
	editBar   *fyne.Container
	cancelB   *escButton
	editReads []*editRead
	edits     []*sentEdit
	// deleted are the chats deleted from the history (by id) while the window ran: an edit
	// of one that comes back goes to the new chat, as the chat's unsent text did.
	deleted map[string]bool
	// pendingSends counts the sends whose Send has not returned (guarded by jobsMu);
	// sendDone is signalled when one returns.
	pendingSends int
	sendDone     *sync.Cond

	msgs   []*messageView
	list   *fyne.Container
	scroll *container.Scroll
	empty  fyne.CanvasObject
	// opening says a chat is being read from the history; opened counts the chats shown
	// or asked for, so that a read the user has moved on from is dropped.
	opening *widget.Label
	opened  int
	body    *fyne.Container
	entry   *promptEntry
	attachB *tipButton
	sendB   *escButton
	// copyW is the width of an answer's Copy button, which says "Copied" for a moment.
	copyW  float32
	chips  *fyne.Container
	notice *widget.Label
	status *widget.Label
	// statusRow holds status and, while a model loads with the sidebar (and its model line's
	// Cancel) hidden, loadCancelB.
	statusRow   *fyne.Container
	loadCancelB *escButton
	attached    []attachment
	// restoring holds the images of the last start's drafts while they are read again, by
	// chat id.
	restoring map[string][]attachment
	// sendOnReady is set by a send while a model loads: it goes when the model is ready.
	// notReady is why the composer waits, as setReady was last told.
	sendOnReady bool
	notReady    string
	// refused are the notice's lines about files refused since one was last taken.
	refused []string
	// drafts holds what the composer held in the chats the window left, by chat id ("" for
	// a chat not yet in the history): a chat's text and images never go to another.
	drafts map[string]composerDraft
	// dropHint is the welcome's line asking for a picture.
	dropHint *widget.Label
	// examples are the welcome's example questions, hidden while the composer holds text.
	examples *fyne.Container
	// left are the chats the view has left whose reply may still be ending, by id: reading
	// one's file again waits for that reply's last save (ChatSession.Idle).
	left  map[string]*app.ChatSession
	ready bool
	// follow keeps the view at the end of the conversation while an answer grows.
	follow bool
	// updates counts the answer updates shown, finished the answers ended (tests check that
	// answers stream, and wait for them).
	updates, finished int
	content           fyne.CanvasObject
}

// The composer shows composerRows lines of text when it is short, growing with what is typed
// to composerMaxRows, after which it scrolls.
const composerRows, composerMaxRows = 2, 8

// fitComposer grows or shrinks the composer to the lines its text takes, within
// composerRows and composerMaxRows.
func (c *chatView) fitComposer() {
	if c.entry.fitRows(composerRows, composerMaxRows) && c.content != nil {
		c.content.Refresh() // the composer's height is the layout's to change
	}
}

// textRows is the number of lines text takes in width (0 or less: one per line break).
func textRows(text string, width float32) int {
	rows := 0
	for _, line := range strings.Split(text, "\n") {
		n := 1
		if width > 0 {
			w := fyne.MeasureText(line, theme.TextSize(), fyne.TextStyle{}).Width
			n = max(1, int(math.Ceil(float64(w/width))))
		}
		rows += n
	}
	return rows
}

// attachment is an image waiting in the composer.
type attachment struct {
	path string
	// label names it on its chip: the file's name, or what a stored picture is.
	label string
	thumb image.Image
	chip  fyne.CanvasObject
}

// composerDraft is a chat's unsent text and images; editing when they are the chat's last
// question being changed (Edit), which Send replaces.
type composerDraft struct {
	text     string
	attached []attachment
	editing  bool
}

// joinTexts joins the texts that are not blank with a blank line between them.
func joinTexts(texts ...string) string {
	return strings.Join(slices.DeleteFunc(texts, func(t string) bool { return strings.TrimSpace(t) == "" }), "\n\n")
}

// messageView is one message on screen.
type messageView struct {
	index int
	// text is a question's; answer is an answer's, one label a paragraph.
	text   *widget.Label
	answer *paragraphs
	footer *widget.Label
	copyB  *escButton
	// retryB answers the question again; only the last answer shows it. note is a line the
	// footer adds while the message is the last and is the answer noteFor began (Time) at
	// (sameAnswerNote): an edited question's new answer in the same view had the note of
	// the Try again before it.
	retryB  *escButton
	note    string
	noteFor time.Time
	// editB puts a question back into the composer to change and send again (editRow holds
	// it under the bubble); only the last question shows it.
	editB   *escButton
	editRow *fyne.Container
	images  *fyne.Container
	// digests are the shown images' SHA-256s, so that a refill keeps their thumbnails.
	digests []string
	obj     fyne.CanvasObject
}

func newChatView(u *UI) *chatView {
	c := &chatView{u: u, drafts: map[string]composerDraft{}, left: map[string]*app.ChatSession{}, restoring: map[string][]attachment{},
		deleted: map[string]bool{}}
	c.sendDone = sync.NewCond(&c.jobsMu)
	c.list = container.NewVBox()
	c.scroll = container.NewVScroll(container.New(centeredColumn{readableWidth}, container.NewPadded(c.list)))
	c.scroll.OnScrolled = c.scrolled
	c.empty = c.emptyState()
	c.opening = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{})
	c.opening.Importance = widget.LowImportance
	c.opening.Hide()
	c.body = container.New(&keepEnd{c: c}, c.scroll, c.empty, container.NewCenter(c.opening))
	c.scroll.Hide()

	c.entry = newPromptEntry(chatPlaceholder, true)
	c.entry.fitRows(composerRows, composerMaxRows)
	c.entry.OnChanged = func(text string) {
		c.u.showExamplesFor(c.examples, text, c.entry)
		c.fitComposer()
		c.updateButtons()
		u.draftChanged()
	}
	c.entry.onSubmit = c.send
	c.entry.onPasteFiles = c.attach
	c.entry.onPastePicture = c.pastePicture
	c.entry.onRefused = c.setNotice
	c.entry.onPage = c.page
	c.entry.onEscape = func() {
		if c.editing && !c.sending && !c.session.Busy() {
			c.cancelEdit()
			return
		}
		c.stop()
	}
	c.attachB = u.newTipButton(theme.MailAttachmentIcon(), "Attach images", c.openFileDialog)
	c.sendB = c.u.newButton("Send", theme.MailSendIcon(), c.sendOrStop)
	c.sendB.Importance = widget.HighImportance
	c.chips = container.New(&flowRows{gap: theme.Padding()}) // they wrap: three wide chips ran past Send
	c.notice = widget.NewLabel("")
	c.notice.Importance = widget.DangerImportance
	c.notice.Wrapping = fyne.TextWrapWord
	c.notice.Hide()
	c.status = widget.NewLabel("")
	c.status.Importance = widget.MediumImportance
	c.loadCancelB = c.u.newLoadCancel()
	c.statusRow = container.NewBorder(nil, nil, nil, c.loadCancelB, c.status)
	c.statusRow.Hide()

	// Send keeps one width as it becomes Stop and Stopping… (the entry beside it does not
	// jump), and both buttons one line's height as the entry grows.
	sendW := steadyWidth(widget.NewButtonWithIcon("Send", theme.MailSendIcon(), nil),
		widget.NewButtonWithIcon("Stop", theme.MediaStopIcon(), nil),
		widget.NewButtonWithIcon(stoppingText, theme.MediaStopIcon(), nil))
	c.copyW = steadyWidth(widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), nil),
		widget.NewButtonWithIcon("Copied", theme.ConfirmIcon(), nil))
	row := border(nil, nil, container.New(atBottom{}, c.attachB),
		container.New(atBottom{}, container.New(fixedWidth{sendW}, c.sendB)), c.entry)
	// The lines that come and go (a notice, the model's loading) go above the entry, as the
	// chips do: under it, each moved the entry up under the pointer about to click it.
	editNote := widget.NewLabel("Editing your last question: Send replaces it and its answer")
	editNote.Importance = widget.MediumImportance
	editNote.Wrapping = fyne.TextWrapWord
	c.cancelB = c.u.newButton("Cancel", theme.CancelIcon(), c.cancelEdit)
	c.editBar = container.NewBorder(nil, nil, nil, c.cancelB, editNote)
	c.editBar.Hide()
	composer := container.NewVBox(c.editBar, c.notice, c.statusRow, c.chips, row)
	// The composer takes the messages' column, with their two paddings (the list's and a
	// message's): its edges are theirs at every width.
	c.content = container.NewBorder(nil,
		container.New(centeredColumn{readableWidth}, container.NewPadded(container.NewPadded(composer))),
		nil, nil, c.body)
	c.newSession()
	return c
}

// emptyState is the welcome of a new chat: what to do, two examples and the drop hint.
func (c *chatView) emptyState() fyne.CanvasObject {
	title := widget.NewLabelWithStyle("What would you like to know?", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	title.SizeName = theme.SizeNameHeadingText
	title.Wrapping = fyne.TextWrapWord
	sub := widget.NewLabelWithStyle("Janus reads images and answers questions about them, on this computer.",
		fyne.TextAlignCenter, fyne.TextStyle{})
	sub.Importance = widget.LowImportance
	sub.Wrapping = fyne.TextWrapWord
	box := container.NewVBox(layout.NewSpacer(), title, sub)
	// The examples go while the composer holds a question: one would replace it, and the
	// composer has no undo.
	c.examples = container.NewVBox()
	for _, ex := range chatExamples {
		c.examples.Add(container.NewCenter(c.u.exampleChip(ex, func() {
			if strings.TrimSpace(c.entry.Text) != "" {
				return
			}
			c.entry.putText(ex)
			c.u.focusSoon(c.entry)
		})))
	}
	box.Add(c.examples)
	c.dropHint = widget.NewLabelWithStyle("Drop an image anywhere in the window, paste one, or attach one with the clip.",
		fyne.TextAlignCenter, fyne.TextStyle{})
	c.dropHint.Wrapping = fyne.TextWrapWord
	box.Add(c.dropHint)
	box.Add(layout.NewSpacer())
	// A column that narrows with the window (large text scales, small windows): the text
	// wraps instead of running off both sides.
	return container.New(centeredColumn{560}, box)
}

// newSession starts an empty chat (the old one is closed off the UI goroutine, since
// closing waits for a running reply to stop).
func (c *chatView) newSession() {
	c.leave()
	c.session = app.NewChatSession(c.u.store, c.u.engine, c.u.settings.Answer.Options())
	c.shown()
}

// openSession shows a chat from the history.
func (c *chatView) openSession(s *app.ChatSession) {
	c.leave()
	c.session = s
	c.shown()
}

// leave keeps the composer's text and images as the current chat's draft and closes it.
func (c *chatView) leave() {
	c.opened++
	if c.session == nil {
		return
	}
	id := c.session.ID()
	// An edit of a question of pictures alone may hold nothing yet: its pictures are on
	// their way to the draft.
	if strings.TrimSpace(c.entry.Text) != "" || len(c.attached) > 0 || c.editing && c.readingEdit() {
		c.drafts[id] = composerDraft{text: c.entry.Text, attached: slices.Clone(c.attached), editing: c.editing}
	} else {
		delete(c.drafts, id)
	}
	old := c.session
	go old.Close()
	maps.DeleteFunc(c.left, func(_ string, s *app.ChatSession) bool { return ended(s.Idle()) })
	if id != "" {
		c.left[id] = old
	}
}

// shown shows the current chat with its draft in the composer; a line about another chat's
// files or send is not kept.
func (c *chatView) shown() {
	c.job = nil
	// The composer holds the draft from here (leave files it again): a copy left in drafts
	// would come back after it was edited and sent (a new chat's, in the next new chat).
	d := c.drafts[c.session.ID()]
	delete(c.drafts, c.session.ID())
	for _, a := range slices.Clone(c.attached) {
		c.removeChip(a.path)
	}
	c.entry.SetText("")
	c.addDraft(d)
	// An edit of the last question left unsent is one again, while that is still the last.
	c.editing = false
	c.editBar.Hide()
	if d.editing && c.session.Retryable() && (strings.TrimSpace(d.text) != "" || len(d.attached) > 0 || c.readingEdit() || len(c.restoring[c.session.ID()]) > 0) {
		c.editing = true
		c.editBar.Show()
	}
	c.setNotice("")
	c.render()
	c.updateButtons()
}

// attachedPaths are the files attached to messages not sent yet: in the composer, in every
// chat's draft, and in the drafts of the last start still being read back.
func (c *chatView) attachedPaths() []string {
	var out []string
	for _, a := range c.attached {
		out = append(out, a.path)
	}
	for _, d := range c.drafts {
		for _, a := range d.attached {
			out = append(out, a.path)
		}
	}
	for _, files := range c.restoring {
		for _, a := range files {
			out = append(out, a.path)
		}
	}
	// An edit's pictures come back to a composer if its chat undoes it; those being read
	// back are on their way to one.
	for _, e := range c.edits {
		for _, a := range e.files {
			out = append(out, a.path)
		}
	}
	for _, r := range c.editReads {
		for _, a := range r.files {
			out = append(out, a.path)
		}
	}
	return out
}

// holdsDraft reports whether the chat id, not the one shown, keeps text or pictures not sent.
func (c *chatView) holdsDraft(id string) bool {
	d, ok := c.drafts[id]
	return ok && (c.session == nil || id != c.session.ID()) && (strings.TrimSpace(d.text) != "" || len(d.attached) > 0)
}

// addDraft adds d to the composer: its text after what the composer holds, its images
// beside those attached.
func (c *chatView) addDraft(d composerDraft) {
	c.entry.putText(joinTexts(c.entry.Text, d.text))
	for _, a := range d.attached {
		c.addChip(a)
	}
}

// forgetDraft removes text and the images at paths from the draft a chat left (by its id,
// or "" from before its first message) once they have been sent.
func (c *chatView) forgetDraft(s *app.ChatSession, text string, paths []string) {
	for _, id := range []string{s.ID(), ""} {
		d, ok := c.drafts[id]
		if !ok || strings.TrimSpace(d.text) != text {
			continue
		}
		d.text = ""
		d.attached = slices.DeleteFunc(d.attached, func(a attachment) bool { return slices.Contains(paths, a.path) })
		if len(d.attached) == 0 {
			delete(c.drafts, id)
		} else {
			c.drafts[id] = d
		}
		c.u.sidebar.list.Refresh() // its mark, when the chat is not the one shown
		return
	}
}

// close stops the running reply, releases the conversation, and waits until every reply
// has stopped and saved what it wrote: at shutdown, so that nothing is left half-done.
func (c *chatView) close() {
	c.session.Quit()
	for _, j := range c.runningReplies() { // with a reply a send under way starts
		<-j.Done()
	}
}

func (c *chatView) setEngine(e app.Engine) {
	c.session.SetEngine(e)
	c.setReady(e != nil, "")
}

// setReady enables the composer, or disables it with a line saying why. A question sent
// while a model loads goes once it is ready; when the load ends without one, it stays in
// the composer.
func (c *chatView) setReady(ready bool, why string) {
	c.ready = ready
	if ready {
		c.statusRow.Hide()
		c.entry.Enable()
	} else {
		c.notReady = why
		if c.u.loading == nil && c.sendOnReady {
			// The load it waited for ended without a model (cancelled, failed): the question
			// stays in the composer, and the line that said it would go goes too.
			c.sendOnReady = false
			c.setNotice("Your question was not sent: the model it waited for was not loaded. Send it again once a model is ready")
		}
		if c.sendOnReady {
			why += ". Your question is sent once it is loaded"
		}
		c.status.SetText(why)
		c.loadCancelB.Hidden = !c.u.loadCancelShown()
		c.statusRow.Show()
		c.statusRow.Refresh()
	}
	c.updateButtons()
	if ready && c.sendOnReady {
		c.sendOnReady = false
		c.send()
	}
}

func (c *chatView) updateButtons() {
	// With a picture attached, the welcome no longer asks for one.
	if hide := len(c.attached) > 0; c.dropHint != nil && c.dropHint.Hidden != hide {
		c.dropHint.Hidden = hide
		c.dropHint.Refresh()
	}
	busy := c.session != nil && c.session.Busy()
	if busy {
		c.sendB.SetText("Stop")
		c.sendB.SetIcon(theme.MediaStopIcon())
		// The accent, as Send: one accent colour in the window (an orange Stop was a third).
		c.sendB.Importance = widget.HighImportance
		c.sendB.Enable()
		if c.session.Stopping() {
			// The model ends the step it is in first: a Stop that looked unheard was
			// pressed again and again.
			c.sendB.SetText(stoppingText)
			c.sendB.Disable()
		}
	} else {
		c.sendB.SetText("Send")
		c.sendB.SetIcon(theme.MailSendIcon())
		c.sendB.Importance = widget.HighImportance
		if c.ready && !c.sending && !c.readingEdit() && (strings.TrimSpace(c.entry.Text) != "" || len(c.attached) > 0) {
			c.sendB.Enable()
		} else {
			c.sendB.Disable()
		}
	}
	c.sendB.Refresh()
	if c.sending {
		c.cancelB.Disable() // the edit is under way: Stop, once it is, ends it
	} else {
		c.cancelB.Enable()
	}
	c.showRetry()
}

// setNotice shows a one-line message under the composer ("" hides it).
func (c *chatView) setNotice(s string) {
	c.notice.SetText(sentenceStart(s))
	c.notice.Hidden = s == ""
	c.notice.Refresh()
}

// dropNotice removes lines from the notice shown (those it does not show are skipped).
func (c *chatView) dropNotice(lines []string) {
	kept := slices.DeleteFunc(strings.Split(c.notice.Text, "\n"), func(l string) bool {
		return slices.ContainsFunc(lines, func(d string) bool { return sentenceStart(d) == l })
	})
	c.setNotice(strings.Join(kept, "\n"))
}

// addNotice adds lines to the notice shown, skipping those it shows already: the start's
// notices (settings reset, a temporary history folder) and the history's problems arrive
// apart and must all be read.
func (c *chatView) addNotice(s string) {
	if c.notice.Hidden || c.notice.Text == "" {
		c.setNotice(s)
		return
	}
	lines := strings.Split(c.notice.Text, "\n")
	for _, l := range strings.Split(s, "\n") {
		if l = sentenceStart(l); l != "" && !slices.Contains(lines, l) {
			lines = append(lines, l)
		}
	}
	c.setNotice(strings.Join(lines, "\n"))
}

func (c *chatView) sendOrStop() {
	if c.sending {
		return
	}
	if c.session.Busy() {
		c.stop()
		return
	}
	c.send()
}

// stop is Esc and the Stop button: the answer keeps what was written.
func (c *chatView) stop() {
	if c.session != nil {
		c.session.Stop()
		c.updateButtons()
	}
}

// send starts the answer to the composer's question and attachments. Sending checks the
// image files (ChatSession.Send reads their headers), so it runs off the UI goroutine; the
// composer is cleared once the question is accepted, or a bad file gets the one-line
// message and the composer is kept as it is.
func (c *chatView) send() {
	text := strings.TrimSpace(c.entry.Text)
	var paths []string
	for _, a := range c.attached {
		paths = append(paths, a.path)
	}
	if text == "" && len(paths) == 0 {
		return
	}
	files := slices.Clone(c.attached)
	if !c.ready && c.u.loading != nil && !c.sendOnReady {
		// Enter while a model loads: the question waits for it, and the line says so.
		c.sendOnReady = true
		c.setReady(false, c.notReady)
		return
	}
	if !c.ready || c.sending || c.session.Busy() || c.readingEdit() {
		return
	}
	// A reply of a chat the window has left since (New chat, the history) updates nothing
	// on screen, but still lands in the history.
	session := c.session
	editing := c.editing
	var e *sentEdit
	if editing {
		e = c.newSentEdit(session, text, files)
	}
	cb := c.replyCallbacks(session, func(i int, m app.ChatMessage) {
		giveBack := func() { c.giveBack(session, i-1, m, text, files) }
		if editing {
			giveBack = func() { c.editEnded(e, m) }
		}
		if c.sending {
			// The answer ended before sent cleared the composer of its question: given
			// back now, the question would be cleared after.
			c.afterSent = giveBack
		} else {
			giveBack()
		}
	})
	if editing {
		e.hook(&cb, func(m app.ChatMessage) {
			c.u.do(func() {
				// The session shown has had its ended (replyCallbacks); this is for every
				// other, the chat opened again from the history included.
				c.afterSending(func() {
					if c.session != session {
						c.editEnded(e, m)
					}
				})
			})
		})
	}
	c.sending = true
	c.sendB.Disable()
	c.cancelB.Disable()
	c.jobsMu.Lock()
	c.pendingSends++
	c.jobsMu.Unlock()
	go func() {
		// The reply is recorded before anyone can list the running replies (jobsMu held
		// across Send, and runningReplies waits for pending sends), so that a model being
		// replaced is closed only after it, and shutdown waits for it.
		c.jobsMu.Lock()
		ask := session.Send
		if editing {
			ask = session.Edit
		}
		job, err := ask(text, paths, cb)
		if err == nil {
			c.keepJob(job)
		}
		c.pendingSends--
		c.sendDone.Broadcast()
		c.jobsMu.Unlock()
		c.u.do(func() {
			if err != nil && e != nil { // refused at once: nothing to give back
				c.edits = slices.DeleteFunc(c.edits, func(o *sentEdit) bool { return o == e })
			}
			c.sent(session, job, text, paths, err)
		})
	}()
}

// replyCallbacks show an answer of session as it streams: only the newest state, at most
// frameRate times a second, as tokens can come faster than the window draws. ended, when
// not nil, runs on the UI goroutine once the answer has ended and is shown, while session
// is still the one on screen.
func (c *chatView) replyCallbacks(session *app.ChatSession, ended func(i int, m app.ChatMessage)) app.ChatCallbacks {
	latest := &latestMessage{}
	return app.ChatCallbacks{
		OnText: func(i int, m app.ChatMessage) {
			schedule, wait := latest.set(i, m)
			if !schedule {
				return
			}
			redraw := func() {
				c.u.do(func() {
					if i, m, ok := latest.take(); ok && c.session == session {
						c.update(i, m)
					}
				})
			}
			if wait > 0 {
				time.AfterFunc(wait, redraw)
			} else {
				redraw()
			}
		},
		OnDone: func(i int, m app.ChatMessage) {
			slog.Info("answer finished", "state", m.State, "tokens", m.Tokens, "tokens_per_second", m.TokensPerSecond)
			latest.end() // a redraw still waiting would show the answer unfinished again
			c.u.do(func() {
				c.finished++
				c.u.workChanged()
				if c.session == session {
					c.update(i, m)
					if ended != nil {
						ended(i, m)
					}
					c.updateButtons()
				}
				c.u.create.showWaiting()
				c.u.sidebar.reloadHistory()
			})
		},
	}
}

// retry answers the chat's last question again (the Try again under its answer), with the
// model and settings chosen now.
func (c *chatView) retry() {
	if !c.ready || c.sending || c.session.Busy() {
		return
	}
	session := c.session
	// With the answer temperature at 0 the same model gives the same answer: a retry that
	// did says why, or it looks as if nothing happened.
	var previous app.ChatMessage
	if msgs := session.Messages(); len(msgs) > 0 {
		previous = msgs[len(msgs)-1]
	}
	if n := len(c.msgs); n > 0 {
		c.msgs[n-1].note = ""
	}
	greedy := session.AnswerOptions().Temperature == 0
	c.jobsMu.Lock()
	job, err := session.Retry(c.replyCallbacks(session, func(i int, m app.ChatMessage) {
		// An answer put back, the retry having written nothing, is the previous message;
		// without an error it was stopped, and its own footer (why it stopped, if it did)
		// is the answer's from before, which must not read as this stop's.
		putBack := m.Time.Equal(previous.Time)
		again := m.Text == previous.Text && !putBack
		switch {
		case i >= len(c.msgs):
		case putBack && m.Error == "":
			c.msgs[i].note, c.msgs[i].noteFor = retryStoppedNote, m.Time
			c.fill(c.msgs[i], m)
		case greedy && m.State == app.StateDone && m.Error == "" && again:
			c.msgs[i].note, c.msgs[i].noteFor = sameAnswerNote, m.Time
			c.fill(c.msgs[i], m)
		}
	}))
	if err == nil {
		c.keepJob(job)
	}
	c.jobsMu.Unlock()
	if err != nil {
		c.setNotice(firstLine(err))
		return
	}
	c.job = job
	c.setNotice("")
	c.sync()
	c.follow = true
	c.scroll.ScrollToBottom()
	c.updateButtons()
	c.u.workChanged()
}

// startEdit puts the last question, text and pictures, into the empty composer to change;
// Send then replaces it and its answer (ChatSession.Edit), Cancel or Esc leaves the chat as
// it is. What is being written in the composer is never overwritten: it must be sent or
// cleared first. Send waits until the pictures are read back.
func (c *chatView) startEdit() {
	if !c.ready || c.sending || c.editing || !c.session.Retryable() {
		return
	}
	if strings.TrimSpace(c.entry.Text) != "" || len(c.attached) > 0 {
		c.setNotice("Send or clear the question you are writing first, then edit")
		return
	}
	msgs := c.session.Messages()
	q := msgs[len(msgs)-2]
	c.editing = true
	c.entry.putText(q.Text)
	var files []attachment
	for _, ref := range q.Images {
		if p := c.session.ImagePath(ref); p != "" {
			files = append(files, attachment{path: p, label: refLabel(ref)})
		}
	}
	if len(files) > 0 {
		c.readEdit(c.session.ID(), files)
	}
	c.setNotice("")
	c.editBar.Show()
	c.updateButtons()
	c.u.win.Canvas().Focus(c.entry)
}

// editRead is an edit's pictures being read back (thumbnails made) for the composer of chat
// id; dropped when the edit was cancelled meanwhile.
type editRead struct {
	id      string
	files   []attachment
	dropped bool
}

// readEdit reads the pictures of the question being edited in chat id back, off the UI
// goroutine, then gives them to that chat's composer, or its draft when another chat is
// shown by then (the chat opened again from the history is the same chat), unless the edit
// was cancelled meanwhile.
func (c *chatView) readEdit(id string, files []attachment) {
	r := &editRead{id: id, files: files}
	c.editReads = append(c.editReads, r)
	go func() {
		good, problems := thumbnails(files)
		c.u.do(func() {
			c.editReads = slices.DeleteFunc(c.editReads, func(o *editRead) bool { return o == r })
			id := id
			if c.deleted[id] {
				id = "" // to the new chat, as the deleted chat's unsent text went
			}
			shown := c.session != nil && c.session.ID() == id
			if r.dropped {
				return
			}
			if shown {
				for _, a := range good {
					c.addChip(a)
				}
				c.addNotice(strings.Join(problems, "\n"))
			} else if len(good) > 0 {
				c.addToDraft(id, good)
			}
			c.updateButtons()
		})
	}()
}

// readingEdit reports whether pictures of an edit of the chat shown are still being read.
func (c *chatView) readingEdit() bool {
	return c.session != nil && slices.ContainsFunc(c.editReads, func(r *editRead) bool { return !r.dropped && r.id == c.session.ID() })
}

// refLabel names a stored picture on its chip as it was attached (its file is named by its
// digest).
func refLabel(ref app.ImageRef) string {
	if ref.Name != "" {
		return ref.Name
	}
	return fmt.Sprintf("Picture, %d×%d", ref.Width, ref.Height)
}

// cancelEdit ends an edit without sending it: the composer is emptied, the chat unchanged.
// Pictures attached during the edit are discarded as a removed chip's are; the question's
// own stay in the store, which its chat mentions.
func (c *chatView) cancelEdit() {
	if !c.editing || c.sending {
		return
	}
	for _, r := range c.editReads {
		if r.id == c.session.ID() {
			r.dropped = true // its pictures were the question's, not the composer's now
		}
	}
	c.endEdit()
	c.entry.SetText("")
	for _, a := range slices.Clone(c.attached) {
		c.discardChip(a.path)
	}
	c.u.win.Canvas().Focus(c.entry)
}

// endEdit leaves editing mode, the composer as it is.
func (c *chatView) endEdit() {
	c.editing = false
	c.editBar.Hide()
	c.updateButtons()
}

// sentEdit is an edit sent: its chat, question and pictures (the composer's, to give back),
// the stored files of the question it replaces, whose pictures the edit may drop, and
// whether the chat put that question back (its answer ended without a word).
type sentEdit struct {
	session  *app.ChatSession
	text     string
	files    []attachment
	replaced []string
	undone   atomic.Bool
	ended    bool // editEnded ran (on the UI goroutine)
}

// newSentEdit notes an edit of session's last question, before it replaces it.
func (c *chatView) newSentEdit(session *app.ChatSession, text string, files []attachment) *sentEdit {
	e := &sentEdit{session: session, text: text, files: files}
	if msgs := session.Messages(); len(msgs) >= 2 {
		for _, ref := range msgs[len(msgs)-2].Images {
			if p := session.ImagePath(ref); p != "" {
				e.replaced = append(e.replaced, p)
			}
		}
	}
	c.edits = append(c.edits, e)
	return e
}

// hook has cb note an undone edit, and call ended when the answer has ended (on the job's
// goroutine; replyCallbacks' ended runs only in the session shown).
func (e *sentEdit) hook(cb *app.ChatCallbacks, ended func(app.ChatMessage)) {
	cb.OnUndone = func() { e.undone.Store(true) }
	done := cb.OnDone
	cb.OnDone = func(i int, m app.ChatMessage) {
		done(i, m)
		ended(m)
	}
}

// editEnded runs once an edit's answer has ended (the first of its callers acts): an edit
// undone is given back (giveEditBack), with why above the composer where it is shown; then
// the pictures the edit dropped go from the store unless a record or a draft still has them.
func (c *chatView) editEnded(e *sentEdit, m app.ChatMessage) {
	if e.ended {
		return
	}
	e.ended = true
	c.edits = slices.DeleteFunc(c.edits, func(o *sentEdit) bool { return o == e })
	if e.undone.Load() {
		switch c.giveEditBack(e) {
		case editInComposer:
			c.setNotice(m.Error) // here, where the edit is, not also under the answer
			// The answer put back as the chat has it (a failed one keeps its own reason).
			if msgs := c.session.Messages(); len(msgs) == len(c.msgs) && len(msgs) > 0 {
				c.fill(c.msgs[len(msgs)-1], msgs[len(msgs)-1])
			}
		case editAfterComposer:
			c.setNotice(strings.TrimSpace(m.Error + " Your edited question is back in the composer."))
		}
	}
	if len(e.replaced) > 0 {
		keep, st, asked := c.attachedPaths(), c.u.store, time.Now()
		c.u.background(func() { st.Release(e.replaced, asked, keep...) })
	}
}

// Where giveEditBack put an edited question.
const (
	editInComposer    = iota // the empty composer of its chat, shown: an edit again
	editAfterComposer        // after what the composer of its chat, shown, holds
	editInDraft              // the draft of its chat (an edit again if the draft was empty)
)

// giveEditBack puts the question of an edit its chat undid back, never lost: into the
// chat's composer, an edit again, when the chat is shown (by id: opened again from the
// history, it is another session) and the composer is empty; after what the composer holds
// otherwise; into the chat's draft when another chat is shown (the new chat's, when the chat
// was deleted, as its unsent text went there).
func (c *chatView) giveEditBack(e *sentEdit) int {
	id := e.session.ID()
	if c.deleted[id] {
		id = ""
	}
	if c.session != nil && c.session.ID() == id {
		if !c.editing && strings.TrimSpace(c.entry.Text) == "" && len(c.attached) == 0 && !c.deleted[e.session.ID()] {
			c.editing = true
			c.entry.putText(e.text)
			for _, a := range e.files {
				c.addChip(a)
			}
			c.editBar.Show()
			c.updateButtons()
			return editInComposer
		}
		c.addDraft(composerDraft{text: e.text, attached: e.files})
		return editAfterComposer
	}
	d := c.drafts[id]
	// Into an empty draft it is an edit again when the chat is opened.
	d.editing = d.editing || strings.TrimSpace(d.text) == "" && len(d.attached) == 0 && id != ""
	d.text = joinTexts(d.text, e.text)
	c.drafts[id] = d
	c.addToDraft(id, e.files) // also saves the drafts and marks the chat
	return editInDraft
}

// undoneEdits settles the edits whose answers' callbacks have not run: at shutdown, once
// every reply has ended, when the window no longer runs them. One its chat undid is given
// back, unless the composer still holds it (the window had not taken its send's outcome);
// the pictures the others dropped are released.
func (c *chatView) undoneEdits() {
	for _, e := range slices.Clone(c.edits) {
		if e.ended {
			continue
		}
		e.ended = true
		switch {
		case !e.undone.Load():
			if len(e.replaced) > 0 {
				keep, st, asked := c.attachedPaths(), c.u.store, time.Now()
				c.u.background(func() { st.Release(e.replaced, asked, keep...) })
			}
		case c.sending && c.session != nil && c.session.ID() == e.session.ID() && strings.TrimSpace(c.entry.Text) == e.text:
			// Still in the composer, an edit.
		default:
			c.giveEditBack(e)
		}
	}
	c.edits = nil
}

// sameAnswerNote is under an answer Try again wrote the same again, with the answer
// temperature at 0.
const sameAnswerNote = "The same answer again: at Answer temperature 0 (Settings) a model always gives its most likely answer"

// stoppingText is Stop's label once pressed, until the model has ended the step it is in.
const stoppingText = "Stopping…"

// retryStoppedNote is under the answer a Try again stopped before its first word put back.
const retryStoppedNote = "Try again was stopped before it wrote anything: this is the answer from before"

// giveBack puts question qi of session, which got no answer at all (refused as too long for
// the model, or the model failing before its first word), back into an empty composer with
// its images, to shorten or send again: the question shown in the chat cannot be edited or
// copied. The chat then takes it back (ChatSession.Withdraw), and the line above the composer
// says why it was refused: in the chat it would be there twice once sent again, and a refused
// first question left a chat of nothing but its refusal in the history.
func (c *chatView) giveBack(session *app.ChatSession, qi int, m app.ChatMessage, text string, files []attachment) {
	if m.State != app.StateError || m.Text != "" || strings.TrimSpace(c.entry.Text) != "" || len(c.attached) > 0 {
		return
	}
	c.entry.putText(text)
	if len(files) > 0 {
		c.attachFiles(files)
	}
	keep := c.attachedPaths()
	for _, f := range files { // still being read back into the composer
		keep = append(keep, f.path)
	}
	why := m.Error
	// Until the chat has taken the question back, its failed answer offers no Try again: a
	// retry then would answer the question the composer holds.
	c.withdrawing = true
	c.showRetry()
	go func() {
		err := session.Withdraw(qi, keep...)
		c.u.do(func() {
			c.withdrawing = false
			if c.session == session {
				c.render()
				if err != nil {
					why += " (" + firstLine(err) + ")"
				}
				c.setNotice(why)
			}
			c.showRetry()
			c.u.sidebar.reloadHistory()
		})
	}()
}

// afterSending runs f once no send is being checked (at once when none is): a send's outcome
// changes drafts f may change too.
func (c *chatView) afterSending(f func()) {
	if c.sending {
		c.whenSent = append(c.whenSent, f)
		return
	}
	f()
}

// sent shows the outcome of a send on the UI goroutine: the question, or why it was refused.
func (c *chatView) sent(session *app.ChatSession, job *app.Job, text string, paths []string, err error) {
	c.sending = false
	defer func() {
		for len(c.whenSent) > 0 && !c.sending {
			f := c.whenSent[0]
			c.whenSent = c.whenSent[1:]
			f()
		}
	}()
	c.u.workChanged()
	after := c.afterSent
	c.afterSent = nil
	if err != nil {
		c.updateButtons()
		if c.session == session {
			c.setNotice(firstLine(err))
		}
		return
	}
	if c.session != session { // the window moved on while the question was checked
		c.forgetDraft(session, text, paths)
		c.updateButtons()
		return
	}
	c.job = job
	if c.editing {
		c.endEdit()
	}
	if strings.TrimSpace(c.entry.Text) == text {
		c.entry.SetText("")
	}
	// Only the images sent leave the composer: one attached meanwhile stays.
	for _, p := range paths {
		c.removeChip(p)
	}
	c.setNotice("")
	c.sync()
	c.follow = true
	c.scroll.ScrollToBottom()
	c.updateButtons()
	if len(session.Messages()) <= 2 {
		c.u.sidebar.reloadHistory() // a new chat is in the history from its first question
	}
	if after != nil {
		after()
	}
}

// keepJob records a reply that started among the running ones, dropping those that ended;
// jobsMu is held.
func (c *chatView) keepJob(j *app.Job) {
	c.jobs = slices.DeleteFunc(c.jobs, func(j *app.Job) bool { return ended(j.Done()) })
	c.jobs = append(c.jobs, j)
	// The open chat's answer is drawn again every second while it has no word yet: its
	// "Reading the question…" counts the time, which a long prompt on a slow machine makes
	// long enough to look like a hang.
	c.u.everySecond(j.Done(), func() {
		msgs := c.session.Messages()
		i := len(msgs) - 1
		if i >= 0 && i < len(c.msgs) && msgs[i].Assistant && msgs[i].State == app.StateStreaming && msgs[i].Text == "" {
			c.fill(c.msgs[i], msgs[i])
		}
	})
}

// waitedLine is what, and how long it has been since since once that is waitedShown or more:
// "Reading the question… 12 s".
func waitedLine(what string, since time.Time) string {
	d := time.Since(since)
	if since.IsZero() || d < waitedShown {
		return what
	}
	return what + " " + roundDuration(d.Truncate(time.Second))
}

// waitedShown is how long a wait with nothing to show goes before its line counts the time.
const waitedShown = 3 * time.Second

// runningReplies are the replies not yet known to be finished, including those whose Send
// is under way (it waits for those Sends to return): from any goroutine.
func (c *chatView) runningReplies() []*app.Job {
	c.jobsMu.Lock()
	defer c.jobsMu.Unlock()
	for c.pendingSends > 0 {
		c.sendDone.Wait()
	}
	return slices.Clone(c.jobs)
}

// render rebuilds the message list from the session.
func (c *chatView) render() {
	c.opening.Hide()
	c.list.RemoveAll()
	c.msgs = nil
	c.sync()
	c.follow = true
	c.scroll.ScrollToBottom()
}

// showOpening says a chat from the history is being read (a long one takes seconds), in
// place of what was shown, and returns the number the read's result must find in opened to
// be shown; anything shown since (a new chat, another chat) ends it.
func (c *chatView) showOpening(title string) int {
	c.opened++
	c.scroll.Hide()
	c.empty.Hide()
	c.opening.SetText("Opening “" + shorten(title, 60) + "”…")
	c.opening.Show()
	c.body.Refresh()
	return c.opened
}

// notOpening puts back the chat that was shown when opening another failed.
func (c *chatView) notOpening() {
	c.opening.Hide()
	c.sync()
}

// sync adds views for messages the session has and the screen does not yet.
func (c *chatView) sync() {
	msgs := c.session.Messages()
	for i := len(c.msgs); i < len(msgs); i++ {
		v := c.newMessageView(i, msgs[i])
		c.msgs = append(c.msgs, v)
		c.list.Add(v.obj)
	}
	for i := range c.msgs {
		c.fill(c.msgs[i], msgs[i])
	}
	if len(c.msgs) == 0 {
		c.scroll.Hide()
	} else {
		c.scroll.Show()
	}
	if len(c.msgs) > 0 {
		c.empty.Hide()
	} else {
		c.empty.Show()
	}
	c.showRetry()
	c.body.Refresh()
}

// keepEnd stacks the conversation and the views in its place (Fyne's stack layout) and keeps
// the conversation at its end when its room shrinks while the reader is there: pictures
// attached, a notice or the composer's growth took the room from below, and the last lines
// went under them.
type keepEnd struct {
	c      *chatView
	height float32
}

func (l *keepEnd) MinSize(objs []fyne.CanvasObject) fyne.Size {
	return layout.NewStackLayout().MinSize(objs)
}

func (l *keepEnd) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	layout.NewStackLayout().Layout(objs, size)
	if size.Height < l.height && l.c.follow {
		l.c.scroll.ScrollToBottom()
	}
	l.height = size.Height
}

// atBottom reports whether the conversation is scrolled to (near) its end.
func (c *chatView) atBottom() bool {
	content := c.scroll.Content.MinSize().Height
	return c.scroll.Offset.Y >= content-c.scroll.Size().Height-4*theme.Padding()
}

// scrolled follows the reader: scrolled to the end, a growing answer keeps the view there;
// scrolled up to read, it is not pulled down.
func (c *chatView) scrolled(fyne.Position) { c.follow = c.atBottom() }

// page scrolls the conversation a page up or down from the keyboard (Page Up and Down in
// the composer), keeping a line of the page before in sight.
func (c *chatView) page(up bool) {
	step := max(c.scroll.Size().Height-2*theme.TextSize(), theme.TextSize())
	if up {
		step = -step
	}
	c.scroll.ScrollToOffset(fyne.NewPos(0, c.scroll.Offset.Y+step))
	c.scrolled(c.scroll.Offset)
}

// update shows the new state of message i (an answer growing token by token).
func (c *chatView) update(i int, m app.ChatMessage) {
	c.updates++
	if i >= len(c.msgs) || m.Text == "" || m.State != app.StateStreaming {
		c.sync()
	}
	if i < len(c.msgs) {
		c.fill(c.msgs[i], m)
	}
	// A failed answer is shown wherever the reader was: it says what to do about the
	// question just asked (a long question had pushed it out of sight).
	if c.follow || m.State == app.StateError && i == len(c.msgs)-1 {
		c.scroll.ScrollToBottom()
	}
}

func (c *chatView) newMessageView(i int, m app.ChatMessage) *messageView {
	v := &messageView{index: i}
	if !m.Assistant {
		v.text = widget.NewLabel("")
		v.text.Wrapping = fyne.TextWrapWord
		// Several pictures wrap in rows within the bubble, each at its own shape (a row of
		// them ran past the bubble and the window).
		v.images = container.New(&flowRows{gap: theme.Padding()})
		bg := newThemedRect(colorNameBubble, 14)
		inner := container.NewVBox(v.images, v.text)
		card := container.NewStack(bg, container.NewPadded(inner))
		// The text shown now: an edit replaces the question in place.
		natural := func() float32 {
			w := float32(0)
			for _, line := range strings.Split(v.text.Text, "\n") {
				w = max(w, fyne.MeasureText(line, theme.TextSize(), fyne.TextStyle{}).Width)
			}
			// The pictures in one row, when the width allows, inside the card's padding.
			row := float32(0)
			for i, o := range v.images.Objects {
				if i > 0 {
					row += theme.Padding()
				}
				row += o.MinSize().Width
			}
			return max(w+6*theme.Padding(), row+2*theme.Padding())
		}
		v.editB = c.u.newButton("Edit", theme.DocumentCreateIcon(), c.startEdit)
		v.editB.Importance = widget.LowImportance
		v.editRow = container.NewHBox(layout.NewSpacer(), v.editB)
		v.editRow.Hide()
		v.obj = container.NewPadded(container.NewVBox(container.New(bubbleRow{natural: natural, maxFrac: 0.8}, card), v.editRow))
		if i > 0 {
			// A turn stands apart from the one before: a question as near its previous
			// answer as to its own ran the exchanges together.
			v.obj = container.New(layout.NewCustomPaddedLayout(3*theme.Padding(), 0, 0, 0), v.obj)
		}
		v.obj = newHoverArea(v.obj, func(on bool) { c.hover(v, on) }, func() { c.moved(v) })
		return v
	}
	v.answer = newParagraphs()
	v.footer = widget.NewLabel("")
	v.footer.Importance = widget.LowImportance
	v.footer.SizeName = theme.SizeNameCaptionText
	var copied *time.Timer
	v.copyB = c.u.newButton("Copy", theme.ContentCopyIcon(), func() {
		c.setNotice("")
		c.u.copy(c.session.AnswerText(v.index), &copied, func() {
			v.copyB.SetText("Copied")
			v.copyB.SetIcon(theme.ConfirmIcon())
		}, func() {
			v.copyB.SetText("Copy")
			v.copyB.SetIcon(theme.ContentCopyIcon())
		})
	})
	v.copyB.Importance = widget.LowImportance
	v.copyB.Hide()
	v.retryB = c.u.newButton("Try again", theme.ViewRefreshIcon(), c.retry)
	v.retryB.Importance = widget.LowImportance
	v.retryB.Hide()
	foot := container.NewBorder(nil, nil, nil,
		container.NewHBox(v.retryB, container.New(fixedWidth{c.copyW}, v.copyB)), v.footer)
	v.obj = newHoverArea(container.NewPadded(container.NewVBox(v.answer.box, foot)), func(on bool) { c.hover(v, on) }, func() { c.moved(v) })
	return v
}

// hover makes a message's text selectable while the pointer is over the message (on), and
// a text that holds the keyboard (a selection to copy) after it leaves, until the keyboard
// goes elsewhere. Fyne makes a selectable label a Tab stop that shows no mark: one for every
// question and every paragraph of every answer, crossed unseen between the buttons by Tab
// and Shift+Tab. A text clicked and left without a selection gives the keyboard back to the
// composer: it kept every key, Esc too.
func (c *chatView) hover(v *messageView, on bool) {
	focused := c.focusedText()
	if on {
		// The texts another message kept for a selection the keyboard has left since.
		for _, o := range c.msgs {
			if o != v {
				o.setSelectable(false, focused)
			}
		}
	} else if focused != nil && v.holds(focused) && focused.f.SelectedText() == "" {
		c.u.focusCurrent()
		focused = nil
	}
	v.setSelectable(on, focused)
}

// moved gives the keyboard back to the composer when the pointer moves over v, no button
// held, after a click on v's text that selected nothing: that text kept every key, so Esc
// did not stop the answer.
func (c *chatView) moved(v *messageView) {
	if f := c.focusedText(); f != nil && f.f.SelectedText() == "" && v.holds(f) {
		c.u.focusCurrent()
	}
}

// selectableText is the part of a selectable label that takes the keyboard (Fyne's own type).
type selectableText interface {
	fyne.Focusable
	fyne.CanvasObject
	SelectedText() string
}

// heldText is a message text that has the keyboard, and where it is in the window.
type heldText struct {
	f  selectableText
	at fyne.Position
}

// focusedText is the message text that has the keyboard, or nil.
func (c *chatView) focusedText() *heldText {
	f, ok := c.u.win.Canvas().Focused().(selectableText)
	// An Entry (the composer) has SelectedText too. Asked at every move of the pointer over
	// a message: reflect's name of a type is not built anew, as fmt's would be.
	if !ok || reflect.TypeOf(f).String() != "*widget.focusSelectable" {
		return nil
	}
	return &heldText{f: f, at: fyne.CurrentApp().Driver().AbsolutePositionForObject(f)}
}

// labels are the message's labels of text.
func (v *messageView) labels() []*widget.Label {
	if v.text != nil {
		return []*widget.Label{v.text}
	}
	return v.answer.labels
}

// holds reports whether h is one of v's texts.
func (v *messageView) holds(h *heldText) bool {
	return slices.ContainsFunc(v.labels(), h.isTextOf)
}

// isTextOf reports whether h is l's selectable text, which covers l: Fyne gives no way to
// ask the label.
func (h *heldText) isTextOf(l *widget.Label) bool {
	return h != nil && l.Selectable && h.f.Size() == l.Size() && h.at == fyne.CurrentApp().Driver().AbsolutePositionForObject(l)
}

// setSelectable makes v's text selectable when on, else only the text that has the keyboard
// (focused, or nil).
func (v *messageView) setSelectable(on bool, focused *heldText) {
	if v.answer != nil {
		v.answer.selectable = on
	}
	for _, l := range v.labels() {
		if !on && !l.Selectable {
			continue // nothing to take away, nor to ask where it is
		}
		if want := on || focused.isTextOf(l); l.Selectable != want {
			l.Selectable = want
			l.Refresh()
		}
	}
}

// hoverArea tells over whether the pointer is over its content (the deepest object under
// the pointer that follows it, so the buttons in the content take it from the area), and
// moved when it moves there with no button held.
type hoverArea struct {
	widget.BaseWidget
	content fyne.CanvasObject
	over    func(bool)
	moved   func()
}

func newHoverArea(content fyne.CanvasObject, over func(bool), moved func()) *hoverArea {
	h := &hoverArea{content: content, over: over, moved: moved}
	h.ExtendBaseWidget(h)
	return h
}

func (h *hoverArea) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(h.content) }

func (h *hoverArea) MouseIn(*desktop.MouseEvent) { h.over(true) }

func (h *hoverArea) MouseMoved(e *desktop.MouseEvent) {
	if e.Button == 0 {
		h.moved()
	}
}

func (h *hoverArea) MouseOut() { h.over(false) }

// paragraphs shows a text one label a paragraph: a streaming answer changes its last
// paragraph only, so each redraw lays out that one again, not the whole answer (which made
// long answers slow the window to a crawl). A paragraph longer than chunkBytes (a list, code:
// lines with no blank line between them) is cut at its newlines into labels of about that
// size, drawn with no gap between them, so that it too is laid out a piece at a time.
type paragraphs struct {
	box    *fyne.Container
	labels []*widget.Label
	// joined[i] is set when label i goes on the paragraph of label i-1, after a newline.
	joined []bool
	text   string
	// selectable is whether new labels may be selected (chatView.hover).
	selectable bool
}

// chunkBytes is about the most text a label of an answer holds.
const chunkBytes = 1000

func newParagraphs() *paragraphs {
	p := &paragraphs{}
	p.box = container.New(&paragraphLayout{p: p})
	return p
}

// set shows text, relabelling only the pieces that changed.
func (p *paragraphs) set(text string) {
	if text == p.text {
		return
	}
	p.text = text
	pieces, joined := chunks(text)
	rejoined := false // a piece that joins where it stood apart, or the other way: relaid
	for i, piece := range pieces {
		if i == len(p.labels) {
			l := widget.NewLabel("")
			l.Wrapping = fyne.TextWrapWord
			l.Selectable = p.selectable
			p.labels = append(p.labels, l)
			p.joined = append(p.joined, false)
			p.box.Add(l)
		}
		rejoined = rejoined || p.joined[i] != joined[i]
		p.joined[i] = joined[i]
		if p.labels[i].Text != piece {
			p.labels[i].SetText(piece)
		}
	}
	for len(p.labels) > len(pieces) {
		last := p.labels[len(p.labels)-1]
		p.box.Remove(last)
		p.labels, p.joined = p.labels[:len(p.labels)-1], p.joined[:len(p.joined)-1]
	}
	if rejoined {
		p.box.Refresh()
	}
}

// chunks cuts text into its paragraphs (at blank lines), and those longer than chunkBytes at
// newlines into pieces of about that size; joined marks the pieces that go on a paragraph.
// A piece is cut only where the lines before it end, so the pieces before the last stay the
// same as text grows.
func chunks(text string) (pieces []string, joined []bool) {
	for _, para := range strings.Split(text, "\n\n") {
		if len(para) <= chunkBytes {
			pieces, joined = append(pieces, para), append(joined, false)
			continue
		}
		start, cont := 0, false
		for start < len(para) {
			end := len(para)
			if end-start > chunkBytes {
				// The last newline within chunkBytes, else the first after (a long line).
				if i := strings.LastIndexByte(para[start:start+chunkBytes], '\n'); i > 0 {
					end = start + i
				} else if i := strings.IndexByte(para[start+chunkBytes:], '\n'); i >= 0 {
					end = start + chunkBytes + i
				}
			}
			pieces, joined = append(pieces, para[start:end]), append(joined, cont)
			start, cont = end+1, true
		}
	}
	return pieces, joined
}

// paragraphLayout stacks an answer's labels as a VBox does, except that a label joined to
// the one before overlaps it by the labels' inner padding, so that its lines follow the ones
// before as in one label.
type paragraphLayout struct {
	p        *paragraphs
	lapse    float32 // overlap's result for the text size lapseFor
	lapseFor float32
}

// overlap is how much a joined label goes up: the height of two one-line labels less that
// of one two-line label (measured again when the theme's text size changes).
func (l *paragraphLayout) overlap() float32 {
	if size := theme.TextSize(); size != l.lapseFor {
		one := widget.NewLabel("x").MinSize().Height
		two := widget.NewLabel("x\nx").MinSize().Height
		l.lapse, l.lapseFor = max(0, 2*one-two), size
	}
	return l.lapse
}

func (l *paragraphLayout) place(objs []fyne.CanvasObject, f func(o fyne.CanvasObject, y float32)) float32 {
	var y float32
	overlap := l.overlap()
	for i, o := range objs {
		if i > 0 {
			if i < len(l.p.joined) && l.p.joined[i] {
				y -= overlap
			} else {
				y += theme.Padding()
			}
		}
		if f != nil {
			f(o, y)
		}
		y += o.MinSize().Height
	}
	return y
}

func (l *paragraphLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var w float32
	for _, o := range objs {
		w = max(w, o.MinSize().Width)
	}
	return fyne.NewSize(w, l.place(objs, nil))
}

func (l *paragraphLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	l.place(objs, func(o fyne.CanvasObject, y float32) {
		o.Move(fyne.NewPos(0, y))
		o.Resize(fyne.NewSize(size.Width, o.MinSize().Height))
	})
}

// fill shows m in v.
func (c *chatView) fill(v *messageView, m app.ChatMessage) {
	text := m.Text
	if m.Assistant && text == "" && m.State == app.StateStreaming {
		text = "…"
	}
	if m.Assistant {
		v.answer.set(text)
	} else if v.text.Text != text {
		v.text.SetText(text)
	}
	if !m.Assistant {
		// Send stored the images before it listed the question, so their refs name stored
		// files from the first fill.
		var digests []string
		for _, ref := range m.Images {
			digests = append(digests, ref.SHA256)
		}
		if !slices.Equal(digests, v.digests) {
			v.digests = digests
			v.images.RemoveAll()
			for _, ref := range m.Images {
				v.images.Add(c.thumbnail(ref))
			}
		}
		v.images.Hidden = len(m.Images) == 0
		v.text.Hidden = text == "" // a question of pictures alone has no empty line under them
		return
	}
	var foot []string
	switch m.State {
	case app.StateStreaming:
		switch {
		case m.TokensPerSecond > 0:
			foot = append(foot, fmt.Sprintf("%.1f tokens/s", m.TokensPerSecond))
		case m.Text == "" && c.u.create.job != nil:
			// The model makes one thing at a time; the canvas's finish fills this again.
			foot = append(foot, "Waiting for the images in Create to finish…")
		default:
			foot = append(foot, waitedLine("Reading the question…", m.Time))
		}
	case app.StateStopped:
		if m.Stopped != "" {
			foot = append(foot, "Stopped: "+m.Stopped)
		} else {
			foot = append(foot, "Stopped")
		}
	case app.StateInterrupted:
		foot = append(foot, "Interrupted (the app closed before the answer ended)")
	case app.StateDone:
		// An answer cut short says so: the words end mid-thought with no other sign.
		switch m.Finish {
		case model.FinishLength:
			foot = append(foot, "Cut off at the answer length (Settings)")
		case model.FinishContext:
			foot = append(foot, "Cut off: the conversation filled the model's context; start a new chat")
		}
	case app.StateError:
		foot = append(foot, sentenceStart(m.Error))
	}
	if m.State != app.StateStreaming && m.TokensPerSecond > 0 {
		foot = append(foot, fmt.Sprintf("%d tokens · %.1f tokens/s", m.Tokens, m.TokensPerSecond))
	}
	// An answer that ended but could not be saved (a full disk) says so under itself.
	unsaved := m.State != app.StateError && m.Error != ""
	if unsaved {
		foot = append(foot, m.Error)
	}
	if v.note != "" && v.index == len(c.msgs)-1 && v.noteFor.Equal(m.Time) {
		foot = append(foot, v.note)
	}
	v.footer.SetText(strings.Join(foot, " · "))
	if m.State == app.StateError || unsaved {
		v.footer.Importance = widget.DangerImportance
	} else {
		v.footer.Importance = widget.LowImportance
	}
	v.footer.Wrapping = fyne.TextWrapWord
	v.footer.Refresh()
	v.copyB.Hidden = m.State == app.StateStreaming || m.Text == ""
	v.copyB.Refresh()
}

// showRetry shows Try again under the last message when it is an answer that has ended
// (ChatSession.Retryable; not while a refused question is being taken back, nor while the
// question is being edited), and Edit under the question before it; each is enabled when a
// question could be sent now.
func (c *chatView) showRetry() {
	retryable := c.session != nil && c.session.Retryable() && !c.withdrawing && !c.editing
	enable := c.ready && !c.sending
	show := func(o fyne.CanvasObject, b *escButton, shown bool) {
		if o.Visible() != shown {
			if shown {
				o.Show()
			} else {
				o.Hide()
			}
		}
		if shown {
			if enable {
				b.Enable()
			} else {
				b.Disable()
			}
		}
	}
	for i, v := range c.msgs {
		if v.retryB != nil {
			show(v.retryB, v.retryB, retryable && i == len(c.msgs)-1)
		}
		if v.editRow != nil {
			show(v.editRow, v.editB, retryable && i == len(c.msgs)-2)
		}
	}
}

// thumbnail is a 160 px picture of a stored image, made and decoded off the UI goroutine;
// a tap opens the image large. One that cannot be shown says so in its place, which would
// otherwise stay blank.
func (c *chatView) thumbnail(ref app.ImageRef) fyne.CanvasObject {
	img := canvas.NewImageFromImage(nil)
	img.FillMode = canvas.ImageFillCover
	img.ScaleMode = canvas.ImageScaleSmooth
	w, h := thumbSize(ref.Width, ref.Height)
	img.SetMinSize(fyne.NewSize(w, h))
	store := c.u.store
	if ref.SHA256 == "" {
		return img // not a stored image (a hand-edited record): nothing to show
	}
	pic := container.NewStack(img)
	session := c.session
	c.u.background(func() {
		th, err := storedThumbnail(store, ref, app.ThumbnailSize)
		if p := session.ImagePath(ref); err != nil && p != store.ImagePath(ref) {
			// Not stored yet (an edited question's new picture): from where it was attached.
			th, err = app.Thumbnail(p, app.ThumbnailSize)
		}
		if err != nil {
			slog.Warn("chat thumbnail", "image", ref.Name, "err", err)
			c.u.do(func() { pic.Add(thumbnailProblem(err)) })
			return
		}
		c.u.do(func() {
			img.Image = th
			img.Refresh()
		})
	})
	return newTapTarget(pic, func() { c.u.showImage(session.ImagePath(ref), ref.Name, "") })
}

// thumbnailProblem is the short line a thumbnail shows instead of its picture.
func thumbnailProblem(err error) fyne.CanvasObject {
	text := "Image cannot be shown"
	if errors.Is(err, fs.ErrNotExist) {
		text = "Image missing"
	}
	l := widget.NewLabel(text)
	l.Alignment = fyne.TextAlignCenter
	l.Wrapping = fyne.TextWrapWord
	l.SizeName = theme.SizeNameCaptionText
	l.Importance = widget.LowImportance
	return container.NewVBox(layout.NewSpacer(), l, layout.NewSpacer())
}

// thumbSize fits w×h into ThumbnailSize on its long side (square when unknown).
func thumbSize(w, h int) (float32, float32) {
	s := float32(app.ThumbnailSize)
	if w <= 0 || h <= 0 {
		return s, s
	}
	// A panorama or a tall scan keeps at least minThumbSide of the long side across (the
	// picture is cropped to fit, whole in the large view): at its own shape it would be a
	// sliver a few pixels wide.
	if w >= h {
		return s, s * max(float32(h)/float32(w), minThumbSide)
	}
	return s * max(float32(w)/float32(h), minThumbSide), s
}

// minThumbSide is the shortest side of a thumbnail, as a share of its longest.
const minThumbSide = 0.4

// attach checks image files and, for each good one, shows a chip in the composer. The
// header checks and thumbnails run off the UI goroutine; a file that cannot be used gets the
// one-line message and changes nothing.
func (c *chatView) attach(paths []string) {
	files := make([]attachment, len(paths))
	for i, p := range paths {
		// A path of the command line is relative to the folder the app started in: kept in
		// a draft, it would name another file, or none, at the next start.
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		files[i] = attachment{path: p, label: filepath.Base(p)}
	}
	c.attachFiles(files)
}

// attachFiles checks and thumbnails files (path and label set) off the UI goroutine, then
// adds those that are images to the composer of the chat they were attached to, wherever
// the window is by then, and says why the others are not.
func (c *chatView) attachFiles(files []attachment) {
	session := c.session
	c.readImages(files, "attached", func() (string, bool) { return session.ID(), c.holdsDraftOf(session) }, nil)
}

// holdsDraftOf reports whether the composer holds the draft of session's chat: it is the
// chat in front, or both are new chats (not begun, their draft is the one New chat shows:
// one sent to that draft while a new chat was in front was lost at the next New chat).
func (c *chatView) holdsDraftOf(session *app.ChatSession) bool {
	return c.session == session || session.ID() == "" && c.session != nil && c.session.ID() == ""
}

// attachAsked attaches a picture asked about from Create to session, the new chat opened
// for it. A question already started there (the new chat's draft) is kept, nothing the user
// wrote is dropped, and the notice says the picture joined it: its text or other pictures
// may be about something else. A chat left while the picture was being stored gets it in
// its draft, as an attachment does, rather than the chat the user went to, and the notice
// says where it waits.
func (c *chatView) attachAsked(session *app.ChatSession, a attachment) {
	open := c.holdsDraftOf(session)
	started := open && (strings.TrimSpace(c.entry.Text) != "" || len(c.attached) > 0)
	c.readImages([]attachment{a}, "attached", func() (string, bool) { return session.ID(), c.holdsDraftOf(session) }, nil)
	switch {
	case started:
		c.setNotice("The picture joins the question you had started in the new chat: remove what is not about it")
	case !open:
		c.setNotice("The picture you asked about waits in a new chat: New chat shows it")
	}
}

// pastePicture attaches the picture on the clipboard to the chat it was pasted into. It is
// kept in the store first, as a picture asked about from Create is: the clipboard may hold
// something else by the time the question is sent, or the app is quit with it unsent.
func (c *chatView) pastePicture() {
	session := c.session
	store := c.u.store
	c.u.readPicture(func(data []byte, err error) {
		switch {
		case err != nil:
			c.setNotice("Cannot paste the picture: " + firstLine(err))
			return
		case data == nil:
			return // no picture either: a paste of nothing
		case len(data) > app.MaxAttachmentBytes:
			c.setNotice(fmt.Sprintf("The picture on the clipboard is too large to attach (%s; at most %s).",
				app.FormatBytes(int64(len(data))), app.FormatBytes(app.MaxAttachmentBytes)))
			return
		}
		go func() {
			ref, err := store.PutImage(data)
			c.u.do(func() {
				if err != nil {
					c.setNotice("Cannot paste the picture: " + firstLine(err))
					return
				}
				files := []attachment{{path: store.ImagePath(ref), label: "Pasted image"}}
				c.readImages(files, "pasted", func() (string, bool) { return session.ID(), c.holdsDraftOf(session) }, nil)
			})
		}()
	})
}

// restoreImages gives the images attached to a chat's unsent message at the last quit back
// to it (by its id, "" for a new chat's): read again, as they may have changed or gone since.
// Until they are, they are in restoring, so that a quit or a save meanwhile keeps them.
func (c *chatView) restoreImages(id string, files []attachment) {
	c.restoring[id] = append(c.restoring[id], files...)
	store := c.u.store
	c.readImages(files, "unsent images put back", func() (string, bool) {
		delete(c.restoring, id)
		return id, c.session != nil && c.session.ID() == id
	}, func() string {
		// Said under whatever chat is open: it names the chat whose message lost them.
		name := "the new chat"
		if id != "" {
			name = "a chat"
			if rec, err := store.LoadChat(id); err == nil {
				name = "“" + rec.Title + "”"
			}
		}
		return "Not put back into the unsent message of " + name + ": "
	})
}

// readImages thumbnails files off the UI goroutine; then, on it, gives the images to the
// chat where names (to its composer when it is open, else to its draft) and says why the
// others cannot be used: their lines name their files, after what why says (asked off the
// UI goroutine; nil says nothing more).
func (c *chatView) readImages(files []attachment, what string, where func() (id string, open bool), why func() string) {
	go func() {
		good, problems := thumbnails(files)
		slog.Info(what, "files", len(good), "refused", len(problems))
		for _, p := range problems {
			slog.Warn(what+": not taken", "problem", p)
		}
		before := ""
		if why != nil && len(problems) > 0 {
			before = why()
		}
		c.u.do(func() {
			id, open := where()
			var lines []string
			if len(problems) > 0 {
				lines = strings.Split(before+strings.Join(fewLines(problems), "\n"), "\n")
			}
			if !open {
				if len(good) > 0 {
					c.addToDraft(id, good)
				}
				c.addNotice(strings.Join(lines, "\n"))
				return
			}
			for _, a := range good {
				c.addChip(a)
			}
			if len(good) > 0 {
				// Files refused before are old news once one is taken.
				c.dropNotice(c.refused)
				c.refused = nil
				c.u.win.Canvas().Focus(c.entry)
			}
			// Beside the notices shown (where a long draft went, say), not over them; in place
			// of the files refused before, which piled up a line a file over a few drops.
			if len(lines) > 0 {
				c.dropNotice(c.refused)
				c.refused = lines
			}
			c.addNotice(strings.Join(lines, "\n"))
		})
	}()
}

// maxRefusedLines is how many lines a drop's refused files take under the composer at most:
// a folder of documents dropped by mistake gave a line each.
const maxRefusedLines = 4

// fewLines is problems, a line a file, in at most maxRefusedLines lines: the last says how
// many more there are (the log names them).
func fewLines(problems []string) []string {
	if len(problems) <= maxRefusedLines {
		return problems
	}
	shown := problems[:maxRefusedLines-1]
	return append(slices.Clone(shown), fmt.Sprintf("…and %d more files that cannot be used either", len(problems)-len(shown)))
}

// thumbnails reads the images of files; those that are no longer images, or too large, are
// told in problems, one line each.
func thumbnails(files []attachment) (good []attachment, problems []string) {
	for _, a := range files {
		// Thumbnail checks the file as CheckImageFile does (kind, size, pixels) first.
		th, err := app.Thumbnail(a.path, app.ThumbnailSize)
		if err != nil {
			problems = append(problems, firstLine(err))
			continue
		}
		a.thumb = th
		good = append(good, a)
	}
	return good, problems
}

// addToDraft adds images to the draft of a chat the window is not showing (by its id).
func (c *chatView) addToDraft(id string, images []attachment) {
	d := c.drafts[id]
	for _, a := range images {
		if !holds(d.attached, a.path) {
			d.attached = append(d.attached, a)
		}
	}
	c.drafts[id] = d
	c.u.draftChanged()
	c.u.sidebar.list.Refresh() // its mark
}

// holds reports whether list has the image at path.
func holds(list []attachment, path string) bool {
	return slices.ContainsFunc(list, func(a attachment) bool { return a.path == path })
}

// addChip shows a in the composer with a remove button.
func (c *chatView) addChip(a attachment) {
	if holds(c.attached, a.path) {
		return
	}
	if a.chip == nil { // a draft's chips come back as they were
		img := canvas.NewImageFromImage(a.thumb)
		img.FillMode = canvas.ImageFillCover // a square crop: a tall scan is not a sliver
		img.SetMinSize(fyne.NewSize(44, 44))
		rm := c.u.newTipButton(theme.CancelIcon(), "Remove", func() { c.discardChip(a.path) })
		rm.Importance = widget.LowImportance
		name := widget.NewLabel(shorten(a.label, 22))
		bg := newThemedRect(colorNameBubble, 10)
		a.chip = container.NewStack(bg, container.NewPadded(container.NewHBox(img, container.NewCenter(name), container.NewCenter(rm))))
	}
	c.attached = append(c.attached, a)
	c.chips.Add(a.chip)
	c.updateButtons()
	c.u.draftChanged()
}

// removeChip takes the image at path out of the composer.
func (c *chatView) removeChip(path string) {
	for i, have := range c.attached {
		if have.path == path {
			c.attached = slices.Delete(c.attached, i, i+1)
			c.u.keepFocus(have.chip, c.entry)
			c.chips.Remove(have.chip)
			c.updateButtons()
			c.u.draftChanged()
			return
		}
	}
}

// discardChip removes a picture taken back from the composer, and its copy in the store where
// the store holds it for this draft alone (a pasted picture: no file of the user's holds it).
// A record saved with it keeps it (and a send writes its pictures with its record).
func (c *chatView) discardChip(path string) {
	c.removeChip(path)
	keep, st, asked := c.attachedPaths(), c.u.store, time.Now()
	c.u.background(func() { st.Release([]string{path}, asked, keep...) })
}

// shorten cuts s to n runes with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// openFileDialog is the attach button: a file dialog for images.
func (c *chatView) openFileDialog() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		r.Close()
		c.u.OnDropped(fyne.Position{}, []fyne.URI{r.URI()})
	}, c.u.win)
	d.SetFilter(storage.NewExtensionFileFilter(app.ImageExtensions))
	d.Resize(fyne.NewSize(760, 520))
	c.u.show(d)
}

// storedThumbnail reads the thumbnail of a stored image (making it on first use), at most
// size pixels on its long side.
func storedThumbnail(store *app.Store, ref app.ImageRef, size int) (image.Image, error) {
	p, err := store.ThumbnailPath(ref)
	if err != nil {
		return nil, err
	}
	return app.Thumbnail(p, size)
}

// latestMessage holds the newest state of a streaming answer between the reply job, which
// sets it at every token, and the UI goroutine, which shows it: updates that come faster
// than the window draws are merged instead of queued.
type latestMessage struct {
	mu      sync.Mutex
	pending bool
	ended   bool
	last    time.Time // of the last take
	i       int
	m       app.ChatMessage
}

// frameRate caps the redraws of a streaming answer a second: each lays the whole answer
// out again, and redrawn for every token of a fast model it took the cores the model needs.
const frameRate = 30

// set records the state and reports whether an update must be scheduled (none is pending),
// and how long to wait before it runs.
func (l *latestMessage) set(i int, m app.ChatMessage) (schedule bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.i, l.m = i, m
	was := l.pending
	l.pending = true
	return !was, max(0, time.Second/frameRate-time.Since(l.last))
}

// take returns the newest state and lets the next set schedule an update again; ok is false
// once the answer has ended (its final state is shown by the end's own update).
func (l *latestMessage) take() (i int, m app.ChatMessage, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = false
	l.last = time.Now()
	return l.i, l.m, !l.ended
}

// end makes every later take report the answer over.
func (l *latestMessage) end() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ended = true
}
