package ui

import (
	"cmp"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io/fs"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/janus-desktop/janus/app"
)

// historyThumb is the history list's picture size.
const historyThumb = 36

// sidebar is the left column: new chat / new image, the history, the model in use.
type sidebar struct {
	u *UI
	// all is the history as the store lists it; entries are those the search keeps (all of
	// them while it is empty), in the list's order: the list's ids index entries.
	all     []app.HistoryEntry
	entries []app.HistoryEntry
	search  *searchEntry
	// listErr says why the history cannot be read ("" when it can).
	listErr string
	thumbs  map[string]image.Image // by image digest; nil value: being made
	// told are the history's problems the notice has said, by their words.
	told map[string]bool
	list *historyList
	// chatIcon marks the chats' rows: made once, not at every row's update.
	chatIcon fyne.Resource
	emptyL   *widget.Label
	// marking is set while markOpen selects the entry on screen, which opens nothing.
	marking bool
	// selected is the highlighted entry (-1: none).
	selected widget.ListItemID
	// titles are the lines of entries whose titles repeat (rowTitles).
	titles map[string]string

	modelName   *widget.Label
	modelDetail *widget.Label
	modelBar    *thinBar // Fyne's bar, tall and filled, outweighed the model's name
	cancelB     *escButton
	// serving says where "Serve on localhost" answers, or why it does not while it is on,
	// hidden while it is off. A click on it copies the address (servingT), or opens
	// Settings where the server's problem is put right; servingLine is what it says when
	// it does not say "Copied".
	serving      *widget.Label
	servingT     *tapTarget
	servingLine  string
	servingTimer *time.Timer
	copying      bool
	// download is the model download running, paused or failed (hidden when there is
	// none); a tap opens the downloads.
	download  fyne.CanvasObject
	downloadL *widget.Label
	// bottom holds the model and the download: laid out again when a line comes or goes.
	bottom *fyne.Container

	content fyne.CanvasObject
}

// historyList is the history's list, where Enter opens the focused entry as Space does
// (Fyne's List takes Space alone, and Enter is what a keyboard user tries first), and F2
// and Delete rename and delete the focused row (the one Up and Down moved to), the
// keyboard's way to a row's "…" menu.
type historyList struct {
	widget.List
	rename, delete func(id widget.ListItemID)
	// escape is the window's Esc, which the List would keep.
	escape func()
	// focus follows the List's focused row, which it keeps to itself: Up and Down move it
	// as they move the List's, within the list. (A click on a row does not move the List's:
	// the row takes the tap before the List's item does.)
	focus widget.ListItemID
}

// Disabled is true while the list has no rows (no history yet, or none the search finds),
// and Enable and Disable do nothing: with them the list is a fyne.Disableable, which Tab
// passes by when disabled. Empty, it was a stop that showed nothing.
func (l *historyList) Disabled() bool { return l.Length == nil || l.Length() == 0 }

// Enable does nothing: the list is enabled by having rows (Disabled).
func (l *historyList) Enable() {}

// Disable does nothing: the list is disabled by having none (Disabled).
func (l *historyList) Disable() {}

func newHistoryList(length func() int, create func() fyne.CanvasObject, update func(widget.ListItemID, fyne.CanvasObject)) *historyList {
	l := &historyList{}
	l.Length, l.CreateItem, l.UpdateItem = length, create, update
	l.ExtendBaseWidget(l)
	return l
}

// firstRow moves the keyboard's row to the first, the List's as well (it has no setter).
func (l *historyList) firstRow() {
	for l.focus > 0 {
		l.TypedKey(&fyne.KeyEvent{Name: fyne.KeyUp})
	}
}

// TypedKey passes keys to the List, Enter as Space, but F2 and Delete.
func (l *historyList) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		ev = &fyne.KeyEvent{Name: fyne.KeySpace}
	case fyne.KeyDown:
		if l.Length != nil && l.focus < l.Length()-1 {
			l.focus++
		}
	case fyne.KeyUp:
		if l.focus > 0 {
			l.focus--
		}
	case fyne.KeyF2:
		l.rename(l.focus)
		return
	case fyne.KeyDelete:
		l.delete(l.focus)
		return
	case fyne.KeyEscape:
		if l.escape != nil {
			l.escape()
		}
		return
	}
	l.List.TypedKey(ev)
}

func newSidebar(u *UI) *sidebar {
	s := &sidebar{u: u, thumbs: map[string]image.Image{}, told: map[string]bool{}, selected: -1, chatIcon: chatIcon()}
	newChat := u.newButton("New chat", chatIcon(), u.startChat)
	newImage := u.newButton("New image", theme.MediaPhotoIcon(), u.startImage)
	newChat.Alignment, newImage.Alignment = widget.ButtonAlignLeading, widget.ButtonAlignLeading
	newChat.Importance, newImage.Importance = widget.LowImportance, widget.LowImportance

	s.list = newHistoryList(func() int { return len(s.entries) }, s.newItem, s.updateItem)
	s.list.rename = func(id widget.ListItemID) { s.onRow(id, s.rename) }
	s.list.delete = func(id widget.ListItemID) { s.onRow(id, s.delete) }
	s.list.escape = u.escape
	s.list.OnSelected = func(id widget.ListItemID) {
		s.selected = id
		if !s.marking {
			s.open(id)
		}
	}
	s.list.OnUnselected = func(widget.ListItemID) { s.selected = -1 }
	s.emptyL = widget.NewLabel("Your chats and images will appear here.")
	s.emptyL.Wrapping = fyne.TextWrapWord
	s.emptyL.Importance = widget.LowImportance
	historyL := widget.NewLabelWithStyle("History", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	historyL.SizeName = theme.SizeNameCaptionText

	s.modelName = widget.NewLabelWithStyle("No model", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	s.modelName.Truncation = fyne.TextTruncateEllipsis
	s.modelDetail = widget.NewLabel("")
	s.modelDetail.Importance = widget.LowImportance
	s.modelDetail.SizeName = theme.SizeNameCaptionText
	s.modelDetail.Wrapping = fyne.TextWrapWord
	s.modelBar = newThinBar()
	s.modelBar.Hide()
	s.cancelB = u.newLoadCancel()
	s.serving = widget.NewLabel("")
	s.serving.SizeName = theme.SizeNameCaptionText
	s.serving.Importance = widget.SuccessImportance
	s.serving.Truncation = fyne.TextTruncateEllipsis
	s.serving.Hide()
	s.servingT = newTapTarget(s.serving, s.servingTapped)
	s.servingT.Hide()
	modelBox := container.NewVBox(newTapTarget(container.NewVBox(
		container.NewBorder(nil, nil, widget.NewIcon(theme.ComputerIcon()), nil, s.modelName),
		s.modelDetail, s.modelBar), u.showModelPicker), s.servingT)
	s.downloadL = widget.NewLabel("")
	s.downloadL.SizeName = theme.SizeNameCaptionText
	s.downloadL.Truncation = fyne.TextTruncateEllipsis
	s.download = newTapTarget(container.NewBorder(nil, nil, widget.NewIcon(theme.DownloadIcon()), nil, s.downloadL),
		func() { u.showDownloads(nil) })
	s.download.Hide()
	settingsB := u.newButton("Settings", theme.SettingsIcon(), u.showSettings)
	modelsB := u.newButton("Models", theme.StorageIcon(), u.showModelPicker)
	settingsB.Importance, modelsB.Importance = widget.LowImportance, widget.LowImportance

	s.search = newSearchEntry(s)
	s.search.Hide() // until there is a history to search
	top := container.NewVBox(newChat, newImage, widget.NewSeparator(), historyL, s.search)
	s.bottom = container.NewVBox(s.download, widget.NewSeparator(), modelBox, s.cancelB,
		container.NewHBox(modelsB, layout.NewSpacer(), settingsB))
	s.content = container.NewPadded(border(top, s.bottom, nil, nil,
		container.NewStack(s.list, container.NewVBox(s.emptyL))))
	return s
}

func (s *sidebar) newItem() fyne.CanvasObject {
	img := canvas.NewImageFromImage(nil)
	img.FillMode = canvas.ImageFillContain
	img.SetMinSize(fyne.NewSize(historyThumb, historyThumb))
	icon := widget.NewIcon(s.chatIcon)
	title := widget.NewLabel("")
	title.Truncation = fyne.TextTruncateEllipsis
	more := s.u.newPointerButton(theme.MoreHorizontalIcon(), "Rename or delete")
	// The picture's place is as wide with an icon as with a thumbnail: the titles line up.
	// The icon keeps its own size in the middle of that place.
	pic := container.New(fixedWidth{historyThumb}, container.NewStack(container.NewCenter(icon), img))
	draft := widget.NewIcon(theme.NewColoredResource(theme.DocumentCreateIcon(), theme.ColorNamePlaceHolder))
	draft.Hide()
	return newHistoryRow(container.NewBorder(nil, nil, pic, container.NewHBox(draft, more), title), s.u.tips)
}

// historyRow is one line of the history: a click opens the entry, a right click its
// rename/delete menu. The row takes both: the desktop driver gives a click to the topmost
// object that takes any pointer event, so a row that took only right clicks kept the left
// ones from the list's own item beneath it.
type historyRow struct {
	widget.BaseWidget
	row         *fyne.Container
	onTap       func()
	onSecondary func(pos fyne.Position)
	tips        *tips
	// tipShown is set while the hint over the row shows its whole title.
	tipShown bool
}

func newHistoryRow(row *fyne.Container, tips *tips) *historyRow {
	r := &historyRow{row: row, tips: tips}
	r.ExtendBaseWidget(r)
	return r
}

// MouseIn shows the whole title where the row cuts it.
func (r *historyRow) MouseIn(*desktop.MouseEvent) {
	title := r.row.Objects[0].(*widget.Label)
	if widget.NewLabel(title.Text).MinSize().Width <= title.Size().Width {
		return
	}
	r.tips.showOver(title.Text, r, title.Position().X)
	r.tipShown = true
}

// hideTip hides the row's hint, if it shows one.
func (r *historyRow) hideTip() {
	if r.tipShown {
		r.tipShown = false
		r.tips.hide()
	}
}

// MouseMoved does nothing: MouseIn and MouseOut say all.
func (r *historyRow) MouseMoved(*desktop.MouseEvent) {}

// MouseOut hides the title.
func (r *historyRow) MouseOut() { r.hideTip() }

func (r *historyRow) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(r.row) }

// Tapped opens the entry.
func (r *historyRow) Tapped(*fyne.PointEvent) {
	r.hideTip()
	if r.onTap != nil {
		r.onTap()
	}
}

// TappedSecondary opens the entry's menu where the pointer is.
func (r *historyRow) TappedSecondary(e *fyne.PointEvent) {
	r.hideTip() // the whole title was shown over the row, where the menu opens
	if r.onSecondary != nil {
		r.onSecondary(e.AbsolutePosition)
	}
}

func (s *sidebar) updateItem(id widget.ListItemID, o fyne.CanvasObject) {
	if id >= len(s.entries) {
		return
	}
	e := s.entries[id]
	hr := o.(*historyRow)
	// The list gives a row another entry as it scrolls, under a pointer that did not move:
	// the hint said the title of the entry that was there.
	hr.hideTip()
	row := hr.row
	title := row.Objects[0].(*widget.Label)
	pics := row.Objects[1].(*fyne.Container).Objects[0].(*fyne.Container)
	right := row.Objects[2].(*fyne.Container)
	draft, more := right.Objects[0].(*widget.Icon), right.Objects[1].(*pointerButton)
	title.SetText(s.rowTitle(e))
	// A pencil where a chat not open holds text or pictures not sent yet: switching chats
	// keeps them, and nothing else said where they were.
	draft.Hidden = !s.u.chat.holdsDraft(e.ID)
	iconBox, img := pics.Objects[0].(*fyne.Container), pics.Objects[1].(*canvas.Image)
	icon := iconBox.Objects[0].(*widget.Icon)
	if e.Kind == app.KindImageSet {
		icon.SetResource(theme.MediaPhotoIcon())
	} else {
		icon.SetResource(s.chatIcon)
	}
	th := s.thumb(e.Image)
	img.Image = th
	img.Hidden = th == nil
	iconBox.Hidden = th != nil
	img.Refresh()
	more.onTapped = func() {
		at := fyne.CurrentApp().Driver().AbsolutePositionForObject(more)
		s.showMenu(e, at.Add(fyne.NewPos(0, more.Size().Height)))
	}
	hr.onSecondary = func(pos fyne.Position) { s.showMenu(e, pos) }
	// Selecting shows which entry is open; the list opens only what it newly selects, so a
	// click on the entry already selected opens it again (after a new chat, say).
	hr.onTap = func() {
		s.list.UnselectAll()
		s.list.Select(id)
	}
}

// rowTitle is e's line in the list: its title, or for entries of one title (the same
// prompt run twice) when each was made before it, so that it shows however the title is cut.
func (s *sidebar) rowTitle(e app.HistoryEntry) string {
	if t, ok := s.titles[e.ID]; ok {
		return t
	}
	return e.Title
}

// rowTitles are the lines of entries whose titles repeat, by entry ID: when each was made
// (to the second where the minute is shared), then the title; entries that still read
// the same are numbered from the oldest.
func rowTitles(entries []app.HistoryEntry, now time.Time) map[string]string {
	byTitle := map[string][]app.HistoryEntry{}
	for _, e := range entries {
		byTitle[e.Title] = append(byTitle[e.Title], e)
	}
	lines := map[string]string{}
	for title, group := range byTitle {
		if len(group) < 2 {
			continue
		}
		slices.SortFunc(group, func(a, b app.HistoryEntry) int {
			// By ID among equal times: the numbers stay where they are between reloads.
			return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID))
		})
		minutes := map[string]int{}
		for _, e := range group {
			minutes[whenLabel(e.Created.Local(), now, false)]++
		}
		seen := map[string]int{}
		for _, e := range group {
			when := whenLabel(e.Created.Local(), now, false)
			if minutes[when] > 1 {
				when = whenLabel(e.Created.Local(), now, true)
			}
			seen[when]++
			if n := seen[when]; n > 1 {
				when += fmt.Sprintf(" (%d)", n)
			}
			lines[e.ID] = when + " · " + title
		}
	}
	return lines
}

// whenLabel says when t was, as briefly as now allows: "14:05" today, "3 Dec 14:05" this
// year, "3 Dec 2025" before; with seconds, "14:05:31" and "3 Dec 14:05:31".
func whenLabel(t, now time.Time, seconds bool) string {
	clock := "15:04"
	if seconds {
		clock = "15:04:05"
	}
	switch {
	case t.YearDay() == now.YearDay() && t.Year() == now.Year():
		return t.Format(clock)
	case t.Year() == now.Year():
		return t.Format("2 Jan " + clock)
	}
	return t.Format("2 Jan 2006")
}

// thumb returns the history picture of ref, starting to make it when it is not there yet.
func (s *sidebar) thumb(ref app.ImageRef) image.Image {
	if ref.SHA256 == "" {
		return nil
	}
	if th, ok := s.thumbs[ref.SHA256]; ok {
		return th
	}
	s.thumbs[ref.SHA256] = nil
	store := s.u.store
	s.u.background(func() {
		th, err := storedThumbnail(store, ref, 2*historyThumb)
		if err != nil {
			slog.Warn("history thumbnail", "err", err)
			return
		}
		s.u.do(func() {
			s.thumbs[ref.SHA256] = th
			s.list.Refresh()
		})
	})
	return nil
}

// problemLines words the history's problems for the notice: each on its line when there are
// few, else a count with the first (the log has each).
func problemLines(problems []app.Problem) string {
	const most = 3
	for _, p := range problems {
		slog.Warn("history file", "problem", p.Error())
	}
	if len(problems) <= most {
		lines := make([]string, len(problems))
		for i, p := range problems {
			lines[i] = p.Error()
		}
		return strings.Join(lines, "\n")
	}
	return fmt.Sprintf("%d history files could not be used, among them %v", len(problems), problems[0])
}

// reloadHistory reads the history list off the UI goroutine.
func (s *sidebar) reloadHistory() {
	store := s.u.store
	go func() {
		entries, problems, err := store.List()
		s.u.do(func() {
			s.listErr = ""
			if err != nil {
				s.listErr = "The history cannot be read: " + firstLine(err)
			}
			// Each problem is told once: the list is read again after every answer, and a
			// notice cleared since came back each time.
			problems = slices.DeleteFunc(problems, func(p app.Problem) bool { return s.told[p.Error()] })
			for _, p := range problems {
				s.told[p.Error()] = true
			}
			if len(problems) > 0 {
				s.u.chat.addNotice(problemLines(problems))
			}
			s.all = entries
			// Of the whole history: a search keeps each row's line as it was.
			s.titles = rowTitles(entries, time.Now())
			s.filter()
		})
	}()
}

// filter puts in entries those of the history the search's words are all in the titles
// of (as the rows show them, without case), and says when none is.
func (s *sidebar) filter() {
	words := strings.Fields(strings.ToLower(s.search.Text))
	s.entries = s.all
	if len(words) > 0 {
		s.entries = nil
		for _, e := range s.all {
			title := strings.ToLower(s.rowTitle(e))
			if !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(title, w) }) {
				s.entries = append(s.entries, e)
			}
		}
	}
	switch {
	case s.listErr != "":
		s.emptyL.SetText(s.listErr)
	case len(s.all) == 0:
		s.emptyL.SetText("Your chats and images will appear here.")
	default:
		s.emptyL.SetText("Nothing in the history has “" + strings.TrimSpace(s.search.Text) + "” in its title.")
	}
	s.emptyL.Hidden = len(s.entries) > 0
	s.emptyL.Refresh()
	if hide := len(s.all) == 0 && s.search.Text == ""; hide != s.search.Hidden {
		s.search.Hidden = hide
		s.content.Refresh()
	}
	s.markOpen() // the list selects by position, and the rows moved
	// The list passes for disabled once empty (historyList.Disabled), and Fyne neither takes
	// the focus from a widget that becomes disabled nor finds the next stop from one: Tab
	// went back to the window's first control. The search holds the keyboard instead, or,
	// with nothing to search, the view in front.
	if len(s.entries) == 0 && s.u.win.Canvas().Focused() == s.list {
		if s.search.Visible() {
			s.u.win.Canvas().Focus(s.search)
		} else {
			s.u.win.Canvas().Unfocus()
			s.u.focusCurrent()
		}
	}
}

// focusSearch shows the sidebar, if hidden, and puts the keyboard in the search (Ctrl+F).
func (s *sidebar) focusSearch() {
	if !s.u.side.Visible() {
		s.u.showSidebar(true)
	}
	if len(s.all) == 0 {
		return // nothing to search: the field is hidden
	}
	s.u.win.Canvas().Focus(s.search)
}

// searchEntry is the history's search field: Esc empties it, and with nothing in it is the
// window's Esc; Down goes on to the list, as a search box's results are reached.
type searchEntry struct {
	widget.Entry
	s *sidebar
}

func newSearchEntry(s *sidebar) *searchEntry {
	e := &searchEntry{s: s}
	e.ExtendBaseWidget(e)
	e.SetPlaceHolder("Search the history")
	e.ActionItem = widget.NewIcon(theme.SearchIcon())
	e.OnChanged = func(string) {
		// The keyboard's row is a position: kept, it pointed past the results, or at
		// another one than Down from here reaches (F2 and Delete acted on it).
		s.list.firstRow()
		s.filter()
	}
	return e
}

// TypedKey empties the field on Esc, moves to the list on Down, and types the rest.
func (e *searchEntry) TypedKey(k *fyne.KeyEvent) {
	switch k.Name {
	case fyne.KeyEscape:
		if e.Text != "" {
			e.SetText("")
			return
		}
		e.s.u.escape()
		return
	case fyne.KeyDown:
		if len(e.s.entries) > 0 {
			e.s.u.win.Canvas().Focus(e.s.list)
		}
		return
	}
	e.Entry.TypedKey(k)
}

// markOpen highlights the entry the view in front shows (the chat, or the image set on the
// canvas), or none for a new one. The list selects by position, and entries move as new
// ones arrive at the top, so this follows every change of the list and of the view.
func (s *sidebar) markOpen() {
	s.list.Refresh() // the drafts' marks: the chat left holds one now, the one opened none
	id := s.u.chat.session.ID()
	if s.u.createShown() {
		id = s.u.create.setID
	}
	s.marking = true
	defer func() { s.marking = false }()
	for i, e := range s.entries {
		if id != "" && e.ID == id {
			s.list.Select(i)
			return
		}
	}
	s.list.UnselectAll()
}

// open reopens history entry id: a chat in the chat view, an image set on the canvas.
func (s *sidebar) open(id widget.ListItemID) {
	if id >= len(s.entries) {
		return
	}
	e := s.entries[id]
	u := s.u
	var opening int
	var left *app.ChatSession
	if e.Kind == app.KindChat {
		u.ShowChat()
		if u.chat.session.ID() == e.ID {
			// The chat the view holds, clicked while another was being read: it is shown
			// as it is (read from its file it would lack the answer it is writing).
			u.chat.opened++
			u.chat.notOpening()
			s.markOpen()
			return
		}
		opening = u.chat.showOpening(e.Title)
		left = u.chat.left[e.ID]
	}
	eng, answer := u.engine, u.settings.Answer.Options() // read here: they change on the UI goroutine
	go func() {
		if left != nil {
			<-left.Idle() // its stopped answer is saved: the file holds all of it
		}
		if e.Kind == app.KindImageSet {
			set, err := u.store.LoadSet(e.ID)
			u.do(func() {
				if err != nil {
					u.showError("Cannot open these images", err, openFailure(err))
					s.reloadHistory()
					return
				}
				u.create.showSet(set)
				u.ShowCreate()
			})
			return
		}
		sess, err := app.OpenChatSession(u.store, e.ID, eng, answer)
		u.do(func() {
			if u.chat.opened != opening {
				// The user moved on while it was read (a new chat, another entry).
				if sess != nil {
					go sess.Close()
				}
				return
			}
			if err != nil {
				u.chat.notOpening()
				u.showError("Cannot open this chat", err, openFailure(err))
				s.reloadHistory()
				return
			}
			if u.engine != eng {
				sess.SetEngine(u.engine) // the model changed while it was read
			}
			if now := u.settings.Answer.Options(); now != answer {
				sess.SetAnswerOptions(now) // the settings were saved while it was read
			}
			u.chat.openSession(sess)
			u.ShowChat()
			// Selecting Chat before the chat was read marked the one open then.
			s.markOpen()
		})
	}()
}

// openFailure says what became of the file of an entry that could not be opened with err:
// set aside only when the store says it moved it.
func openFailure(err error) string {
	var p *app.Problem
	switch {
	case errors.As(err, new(*app.NewerVersionError)):
		return "It was left as it is, for the newer version to open."
	case errors.As(err, &p) && p.MovedTo != "":
		return "The file was set aside; the rest of the history is safe."
	case errors.As(err, &p) && p.InPlace:
		return "Once it can be read (its permissions, say), it opens again."
	case errors.As(err, &p):
		return "The rest of the history is safe."
	case errors.Is(err, fs.ErrNotExist):
		return "The file is no longer in the history folder: it was deleted or moved."
	}
	return ""
}

// onRow runs do on entry i, if there is one (the list may have shrunk since i was focused).
func (s *sidebar) onRow(i widget.ListItemID, do func(app.HistoryEntry)) {
	if i >= 0 && i < len(s.entries) {
		do(s.entries[i])
	}
}

// showMenu is the menu of an entry (its "…" button, a right click): rename or delete.
func (s *sidebar) showMenu(e app.HistoryEntry, pos fyne.Position) {
	menu := fyne.NewMenu("",
		fyne.NewMenuItem("Rename…", func() { s.rename(e) }),
		fyne.NewMenuItem("Delete", func() { s.delete(e) }),
	)
	widget.ShowPopUpMenuAtPosition(menu, s.u.win.Canvas(), pos)
}

// rename asks for e's new title: the entry has the focus with the old title selected, so
// typing replaces it, and Enter renames. A blank title is not taken: Rename is disabled
// (the entry has no validator, whose green tick on every good title said nothing).
func (s *sidebar) rename(e app.HistoryEntry) {
	entry := newFieldEntry(s.u.escape)
	entry.SetText(e.Title)
	var d *dialog.CustomDialog
	ok := func() bool { return strings.TrimSpace(entry.Text) != "" }
	cancel := s.u.newButton("Cancel", theme.CancelIcon(), func() { d.Hide() })
	renameB := s.u.newButton("Rename", theme.ConfirmIcon(), func() {
		if ok() {
			d.Hide()
			s.doRename(e, entry.Text)
		}
	})
	renameB.Importance = widget.HighImportance
	entry.OnChanged = func(string) {
		if ok() {
			renameB.Enable()
		} else {
			renameB.Disable()
		}
	}
	entry.OnSubmitted = func(string) { renameB.OnTapped() }
	// A gap under the field: the buttons sat flush against it.
	gap := canvas.NewRectangle(color.Transparent)
	gap.SetMinSize(fyne.NewSize(0, 2*theme.Padding()))
	form := widget.NewForm(widget.NewFormItem("Title", entry))
	d = dialog.NewCustomWithoutButtons("Rename", container.NewVBox(form, gap), s.u.win)
	d.SetButtons([]fyne.CanvasObject{cancel, renameB})
	d.Resize(s.u.dialogSize(fyne.NewSize(480, 0)))
	s.u.show(d)
	s.u.win.Canvas().Focus(entry)
	entry.TypedShortcut(&fyne.ShortcutSelectAll{})
}

// doRename gives e a new title, off the UI goroutine.
func (s *sidebar) doRename(e app.HistoryEntry, title string) {
	go func() {
		err := s.u.store.Rename(e.ID, title)
		s.u.do(func() {
			if err != nil {
				s.u.showError("Cannot rename", err, "")
			}
			s.reloadHistory()
		})
	}()
}

func (s *sidebar) delete(e app.HistoryEntry) {
	what := "chat"
	if e.Kind == app.KindImageSet {
		what = "image set"
	}
	// A question of our own: Fyne's plain confirm draws a large question mark behind the
	// text, and its custom confirm a ✓ on its confirming button, which is no sign for a
	// button that destroys. The row's line: of entries with one title, it says which goes.
	l := widget.NewLabel(fmt.Sprintf("“%s” will be deleted from this computer.", s.rowTitle(e)))
	l.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustomWithoutButtons("Delete "+what+"?", container.New(fixedWidth{360}, l), s.u.win)
	cancel := s.u.newButton("Cancel", theme.CancelIcon(), func() { d.Hide() })
	del := s.u.newButton("Delete", theme.DeleteIcon(), func() {
		d.Hide()
		s.doDelete(e)
	})
	del.Importance = widget.DangerImportance
	d.SetButtons([]fyne.CanvasObject{cancel, del})
	s.u.showNoEnter(d)
}

// doDelete removes e from the history, off the UI goroutine; an open chat it was becomes a
// new one, and the images it was leave the canvas.
func (s *sidebar) doDelete(e app.HistoryEntry) {
	attached := s.u.chat.attachedPaths()
	go func() {
		err := s.u.store.Delete(e.ID, attached...)
		s.u.do(func() {
			if err != nil {
				s.u.showError("Cannot delete", err, "")
			}
			if c := s.u.chat; c.session.ID() == e.ID {
				s.u.newChat()
				// What was typed in it and not sent was not the chat's to lose: it comes to
				// the new chat, after what that one holds.
				if d, ok := c.drafts[e.ID]; ok && err == nil {
					c.addDraft(d)
					if strings.TrimSpace(d.text) != "" || len(d.attached) > 0 {
						// Said, or it reads as the new chat's own, come from nowhere.
						c.addNotice("What you had not sent in “" + s.rowTitle(e) + "” is kept here, in the new chat")
					}
				}
			}
			if err == nil {
				s.u.chat.deleted[e.ID] = true
				var gone []string
				for _, a := range s.u.chat.drafts[e.ID].attached {
					gone = append(gone, a.path)
				}
				delete(s.u.chat.drafts, e.ID)
				s.u.draftChanged()
				// Its pasted pictures, unless they went to the new chat with its draft.
				keep, st, asked := s.u.chat.attachedPaths(), s.u.store, time.Now()
				s.u.background(func() { st.Release(gone, asked, keep...) })
			}
			if c := s.u.create; err == nil {
				if c.setID == e.ID {
					c.forget()
				}
				if c.before != nil && c.before.setID == e.ID {
					c.before = nil
				}
			}
			s.reloadHistory()
		})
	}()
}

// showModel shows the model in use, or why there is none.
func (s *sidebar) showModel(e app.Engine, why string) {
	if e != nil {
		info := e.Info()
		s.modelName.SetText(info.Name)
		// The backend gets a line of its own ("CPU · 8 threads · AVX-512", "Metal · Apple
		// M2"): split across lines with the family and memory, it wrapped mid-fact.
		var facts []string
		if info.Family != "" {
			facts = append(facts, info.Family)
		}
		// The size said as what it is, the weights in memory: "11 MB" alone read as the
		// folder's size, which Models gives as another number.
		switch {
		case info.Weights != "" && info.MemoryBytes > 0:
			facts = append(facts, info.Weights+" weights, "+app.FormatBytes(info.MemoryBytes))
		case info.Weights != "":
			facts = append(facts, info.Weights+" weights")
		case info.MemoryBytes > 0:
			facts = append(facts, app.FormatBytes(info.MemoryBytes)+" of weights")
		}
		detail := strings.Join(facts, " · ")
		if info.Backend != "" {
			if detail != "" {
				detail += "\n"
			}
			detail += info.Backend
		}
		s.modelDetail.SetText(detail)
		s.modelBar.Hide()
		s.cancelB.Hide()
		return
	}
	s.modelName.SetText("No model")
	s.modelDetail.SetText(why)
	s.modelBar.Hide()
	s.cancelB.Hide()
}

// showLoading shows the model being loaded: its name, and the load's progress in the bar
// (the one number here; the chat and the canvas say it in words); back, that it is the
// model in use before a load meant to replace it was cancelled or failed.
func (s *sidebar) showLoading(name string, back bool, frac float64) {
	s.modelName.SetText(name)
	detail := "Loading…"
	if back {
		detail = "Going back to it…" // the name above; the line is a narrow column's
	}
	if pct := percent(frac); pct > 0 {
		detail += fmt.Sprintf(" %d%%", pct)
	}
	s.modelDetail.SetText(detail)
	s.modelBar.SetValue(frac)
	s.modelBar.Show()
	s.cancelB.Show()
}

// percent is the fraction frac of a load or a download as a whole percentage, for every line
// that says one: the sidebar and the chat said 46 % and 47 % of one load, rounding it two
// ways. It rounds down, so that 100 % is only said once it is done, past the float error of
// a fraction of whole percents (29/100 is 28.999… percent).
func percent(frac float64) int { return int(math.Floor(frac*100 + 1e-9)) }

// showDownload shows the model download's state ("" hides it).
func (s *sidebar) showDownload(text string) {
	if text == "" {
		if s.download.Visible() {
			s.download.Hide()
			s.bottom.Refresh()
		}
		return
	}
	s.downloadL.SetText(text)
	if !s.download.Visible() {
		s.download.Show()
		s.bottom.Refresh()
	}
}

// showServing shows the API's line in imp's colour ("" hides it).
func (s *sidebar) showServing(line string, imp widget.Importance) {
	s.servingLine = line
	if line == "" {
		s.serving.Hide()
		if s.servingT.Visible() {
			s.servingT.Hide()
			s.bottom.Refresh()
		}
		return
	}
	s.serving.Importance = imp
	if s.copying && imp != widget.SuccessImportance {
		// The server changed (it stopped, say) while the line said "Copied": the news wins.
		if s.servingTimer != nil {
			s.servingTimer.Stop()
		}
		s.copying = false
	}
	if !s.copying {
		s.serving.SetText(line)
	}
	s.serving.Show()
	if !s.servingT.Visible() {
		s.servingT.Show()
		s.bottom.Refresh()
	}
	s.serving.Refresh()
}

// servingTapped is a click on the API's line: the address goes to the clipboard (what a
// client asks for, and the line is where it is read), and the line says "Copied" for a
// moment; a line saying why the server is off opens Settings, where that is put right.
func (s *sidebar) servingTapped() {
	u := s.u
	if u.serving == nil {
		u.showSettings()
		return
	}
	url := u.serving.URL()
	u.copy(url, &s.servingTimer, func() {
		s.copying = true
		s.serving.SetText("Copied " + url)
	}, func() {
		s.copying = false
		s.serving.SetText(s.servingLine)
	})
}
