package ui

import (
	"fmt"
	"image/color"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/janus-desktop/janus/app"
)

// promptEntry is a multi-line entry with the chat apps' keys: Enter calls onSubmit and
// Shift+Enter starts a new line (the plain Entry does the opposite), Esc calls onEscape, and
// Ctrl/Cmd+Enter calls onCommandEnter (the canvas's Generate).
type promptEntry struct {
	widget.Entry
	onSubmit       func()
	onEscape       escaper
	onCommandEnter func()
	// onPasteFiles, when set, takes a paste that is files (pastedFiles) instead
	// of the text.
	onPasteFiles func(paths []string)
	// onPastePicture, when set, takes a paste of no text: the clipboard may hold a picture
	// (a screenshot, an image copied in a browser), which Fyne's text clipboard cannot see.
	onPastePicture func()
	// onRefused, when set, says why a paste was refused (a line too long: maxPastedLine).
	onRefused func(why string)
	// onPage, when set, takes Page Up and Page Down (up true for Page Up) while the text
	// is one line, where they have nothing to move: the chat scrolls its conversation.
	onPage func(up bool)
	// submitOnEnter is false for the canvas prompt, where Enter is a new line.
	submitOnEnter bool
	// rows is the entry's height in lines (fitRows), 0 until set.
	rows  int
	shift bool
	// fresh is set when the entry gains the focus and cleared by its first key or
	// character: a Space character arriving while it is set belongs to a button pressed
	// with Space that moved the focus here (a dialog's, an example's), whose key came
	// before its character. Fyne gives the focus back to the composer as a dialog closes.
	fresh bool
}

func newPromptEntry(placeholder string, submitOnEnter bool) *promptEntry {
	e := &promptEntry{submitOnEnter: submitOnEnter}
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapWord
	e.SetPlaceHolder(placeholder)
	e.ExtendBaseWidget(e)
	return e
}

// putText sets the text with the cursor after it, where the next keys go on: a draft put
// back is continued, not typed in front of.
func (e *promptEntry) putText(text string) {
	e.SetText(text)
	e.Entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyPageDown}) // to the end of the last row
}

// fitRows makes the entry as tall as the lines its text takes (long lines counted as they
// wrap), from least to most lines, past which it scrolls; it reports whether the height
// changed, which the layout holding the entry must then be refreshed for.
func (e *promptEntry) fitRows(least, most int) bool {
	rows := textRows(e.Text, e.Size().Width-4*theme.InnerPadding())
	rows = min(max(rows, least), most)
	if rows == e.rows {
		return false
	}
	e.rows = rows
	e.SetMinRowsVisible(rows)
	return true
}

// maxPastedLine is the longest line, in characters, that a paste may bring. Fyne wraps a
// paragraph again whole at every change, in a time that grows faster than its length (a
// pasted line of 20,000 characters froze the window for seconds at every key), and cannot
// draw it unwrapped either (a line wider than a texture shows as a black bar); as many
// characters in lines of a few hundred are quick.
const maxPastedLine = 3000

// longestLine is the length in characters of text's longest line.
func longestLine(text string) int {
	most := 0
	for line := range strings.SplitSeq(text, "\n") {
		most = max(most, utf8.RuneCountInString(line))
	}
	return most
}

// AcceptsTab is false: Tab moves the focus on (to Send, Generate, the settings), as in the
// chat apps, where a multi-line Entry would type a tab character.
func (e *promptEntry) AcceptsTab() bool { return false }

// FocusGained marks the entry fresh.
func (e *promptEntry) FocusGained() {
	e.fresh = true
	e.Entry.FocusGained()
}

// FocusLost forgets Shift: its release goes to the widget focused then (Shift+Tab out, or
// Ctrl+Shift+N to Create), and Enter went on typing new lines here.
func (e *promptEntry) FocusLost() {
	e.shift = false
	e.Entry.FocusLost()
}

// shiftDown reports whether Shift is held: as the desktop driver knows it, where it says,
// else as the entry's own key events told.
func (e *promptEntry) shiftDown() bool {
	if d, ok := fyne.CurrentApp().Driver().(desktop.Driver); ok {
		return d.CurrentKeyModifiers()&fyne.KeyModifierShift != 0
	}
	return e.shift
}

// TypedRune drops the Space of a button that handed the focus over (fresh).
func (e *promptEntry) TypedRune(r rune) {
	if e.fresh {
		e.fresh = false
		if r == ' ' {
			return
		}
	}
	e.Entry.TypedRune(r)
}

// KeyDown tracks Shift, which TypedKey does not report.
func (e *promptEntry) KeyDown(k *fyne.KeyEvent) {
	e.fresh = false
	if k.Name == desktop.KeyShiftLeft || k.Name == desktop.KeyShiftRight {
		e.shift = true
	}
	e.Entry.KeyDown(k)
}

// KeyUp tracks Shift.
func (e *promptEntry) KeyUp(k *fyne.KeyEvent) {
	if k.Name == desktop.KeyShiftLeft || k.Name == desktop.KeyShiftRight {
		e.shift = false
	}
	e.Entry.KeyUp(k)
}

// TypedKey sends on Enter and stops on Esc; everything else is the Entry's.
func (e *promptEntry) TypedKey(k *fyne.KeyEvent) {
	e.fresh = false
	switch k.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		if e.submitOnEnter && !e.shiftDown() && e.onSubmit != nil {
			e.onSubmit()
			return
		}
	case fyne.KeyEscape:
		if e.onEscape != nil {
			e.onEscape()
			return
		}
	case fyne.KeyPageUp, fyne.KeyPageDown:
		if e.onPage != nil && !strings.Contains(e.Text, "\n") {
			e.onPage(k.Name == fyne.KeyPageUp)
			return
		}
	}
	e.Entry.TypedKey(k)
}

// TypedShortcut runs Ctrl/Cmd+Enter; other shortcuts (copy, paste, undo) are the Entry's.
func (e *promptEntry) TypedShortcut(s fyne.Shortcut) {
	e.fresh = false
	if isCommandEnter(s) && e.onCommandEnter != nil {
		e.onCommandEnter()
		return
	}
	if p, ok := s.(*fyne.ShortcutPaste); ok && p.Clipboard != nil {
		text := p.Clipboard.Content()
		if paths := pastedFiles(text); len(paths) > 0 && e.onPasteFiles != nil {
			e.onPasteFiles(paths)
			return
		}
		// No text, or "text" that is none (a picture's bytes: some owners of an X11 clipboard
		// hand a large picture over for any type asked, and Fyne took it as text).
		if e.onPastePicture != nil && (text == "" || strings.HasPrefix(text, "\x89PNG") || !utf8.ValidString(text)) {
			e.onPastePicture()
			return
		}
		if n := longestLine(text); n > maxPastedLine && e.onRefused != nil {
			e.onRefused(fmt.Sprintf("Not pasted: the text has a line of %s characters, longer than the %s this box can show; "+
				"break it into paragraphs (in a text editor), then paste it again", thousands(n), thousands(maxPastedLine)))
			return
		}
	}
	e.Entry.TypedShortcut(s)
}

// thousands writes n with commas between its thousands: 21,600.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// pastedFiles are the files a pasted text names, when it names nothing else. What a file
// manager's Copy gives (file:// URIs, after GNOME's "x-special/nautilus-clipboard" lines)
// names files whatever they hold: they are attached, and those that are not pictures get
// the one-line message a drop gets, where their URIs were pasted as text. Absolute paths,
// one a line, are attached when each is an existing file with an image's extension: any
// other path is text someone may mean to send. Any other text is nil: it is pasted as text.
func pastedFiles(text string) []string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	var paths []string
	copied := false // a file manager's list, not typed paths
	for i, line := range lines {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			continue
		case i == 0 && line == "x-special/nautilus-clipboard":
			copied = true
			continue
		case i <= 1 && (line == "copy" || line == "cut"):
			continue // GNOME's verb; a list only when a header or file:// lines say so
		case strings.HasPrefix(line, "file://"):
			u, err := url.Parse(line)
			if err != nil || (u.Host != "" && u.Host != "localhost") {
				return nil
			}
			copied = true
			paths = append(paths, filepath.FromSlash(u.Path))
		case filepath.IsAbs(line):
			paths = append(paths, line)
		default:
			return nil
		}
	}
	if copied {
		return paths
	}
	for _, p := range paths {
		if !slices.Contains(app.ImageExtensions, strings.ToLower(filepath.Ext(p))) {
			return nil
		}
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			return nil
		}
	}
	return paths
}

// isCommandEnter reports whether s is Ctrl+Enter or Cmd+Enter.
func isCommandEnter(s fyne.Shortcut) bool {
	cs, ok := s.(*desktop.CustomShortcut)
	if !ok {
		return false
	}
	enter := cs.KeyName == fyne.KeyReturn || cs.KeyName == fyne.KeyEnter
	return enter && (cs.Modifier == fyne.KeyModifierControl || cs.Modifier == fyne.KeyModifierSuper)
}

// fieldEntry is a one-line entry for dialogs and forms: Esc calls onEscape (the window's
// Esc: close the dialog in front), which a focused plain Entry swallows, and Ctrl/Cmd+Enter
// calls onCommandEnter when set (the canvas's Generate from its seed field).
type fieldEntry struct {
	widget.Entry
	onEscape       escaper
	onCommandEnter func()
	focusCall
	// wheelTo, when set, takes the wheel over the entry (passWheel).
	wheelTo fyne.Scrollable
}

func newFieldEntry(onEscape func()) *fieldEntry {
	e := &fieldEntry{onEscape: onEscape}
	e.ExtendBaseWidget(e)
	return e
}

// TypedKey runs Esc; everything else is the Entry's.
func (e *fieldEntry) TypedKey(k *fyne.KeyEvent) {
	if e.onEscape.take(k) {
		return
	}
	e.Entry.TypedKey(k)
}

// TypedShortcut runs Ctrl/Cmd+Enter; other shortcuts are the Entry's.
func (e *fieldEntry) TypedShortcut(s fyne.Shortcut) {
	if isCommandEnter(s) && e.onCommandEnter != nil {
		e.onCommandEnter()
		return
	}
	e.Entry.TypedShortcut(s)
}

// FocusGained also runs the focus call.
func (e *fieldEntry) FocusGained() {
	e.Entry.FocusGained()
	e.gained()
}

// passWheel gives the wheel over the entry to to, the scrolled form it sits in: Fyne gives a
// wheel to the innermost scrollable under the pointer, and a one-line entry's own sideways
// scroller kept it, so the Settings form stopped scrolling wherever the pointer crossed a
// field. The entry's text then no longer scrolls sideways by the wheel (the keys still move
// through it).
func (e *fieldEntry) passWheel(to fyne.Scrollable) { e.wheelTo = to }

// CreateRenderer is the Entry's, with a layer over it that takes the wheel for wheelTo once
// that is set: over the Entry's own scroller, it is the innermost scrollable under the
// pointer, and it takes nothing else (taps and the pointer reach the Entry).
func (e *fieldEntry) CreateRenderer() fyne.WidgetRenderer {
	over := &wheelLayer{e: e}
	over.ExtendBaseWidget(over)
	return &wheelRenderer{WidgetRenderer: e.Entry.CreateRenderer(), e: e, over: over}
}

type wheelRenderer struct {
	fyne.WidgetRenderer
	e    *fieldEntry
	over *wheelLayer
	objs []fyne.CanvasObject // the Entry's objects and over, kept: Objects is asked every frame
}

func (r *wheelRenderer) Layout(size fyne.Size) {
	r.WidgetRenderer.Layout(size)
	r.over.Resize(size)
	r.over.Move(fyne.Position{})
}

// Objects are the Entry's, and the wheel's layer last (on top) once it has somewhere to go.
func (r *wheelRenderer) Objects() []fyne.CanvasObject {
	objs := r.WidgetRenderer.Objects()
	if r.e.wheelTo == nil {
		return objs
	}
	if len(r.objs) != len(objs)+1 || !slices.Equal(r.objs[:len(objs)], objs) {
		r.objs = append(slices.Clip(objs), r.over) // a new slice: one handed out stays as it was
	}
	return r.objs
}

// wheelLayer is an empty object that passes the wheel to its entry's wheelTo.
type wheelLayer struct {
	widget.BaseWidget
	e *fieldEntry
}

func (w *wheelLayer) Scrolled(ev *fyne.ScrollEvent) { w.e.wheelTo.Scrolled(ev) }

func (w *wheelLayer) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(canvas.NewRectangle(color.Transparent))
}

// fieldSelect is a Select on which Esc calls onEscape, as on fieldEntry.
type fieldSelect struct {
	widget.Select
	onEscape escaper
	focusCall
}

func newFieldSelect(options []string, onEscape func()) *fieldSelect {
	s := &fieldSelect{onEscape: onEscape}
	s.Options = options
	s.PlaceHolder = "(Select one)" // widget.NewSelect's
	s.ExtendBaseWidget(s)
	return s
}

// TypedKey runs Esc; everything else is the Select's.
func (s *fieldSelect) TypedKey(k *fyne.KeyEvent) {
	if s.onEscape.take(k) {
		return
	}
	s.Select.TypedKey(k)
}

// FocusGained also runs the focus call.
func (s *fieldSelect) FocusGained() {
	s.Select.FocusGained()
	s.gained()
}

// escSlider is a Slider on which Esc calls onEscape, as on fieldEntry: Fyne's Slider keeps
// the keys it does not use, and Esc on a focused slider stopped nothing.
type escSlider struct {
	widget.Slider
	onEscape escaper
}

func newEscSlider(lo, hi float64, onEscape func()) *escSlider {
	s := &escSlider{onEscape: onEscape}
	s.Min, s.Max, s.Step = lo, hi, 1 // widget.NewSlider's step
	s.Orientation = widget.Horizontal
	s.ExtendBaseWidget(s)
	return s
}

// TypedKey runs Esc; everything else is the Slider's.
func (s *escSlider) TypedKey(k *fyne.KeyEvent) {
	if s.onEscape.take(k) {
		return
	}
	s.Slider.TypedKey(k)
}

// fieldCheck is a Check on which Esc calls onEscape, as on fieldEntry.
type fieldCheck struct {
	widget.Check
	onEscape escaper
	focusCall
}

func newFieldCheck(label string, changed func(bool), onEscape func()) *fieldCheck {
	c := &fieldCheck{onEscape: onEscape}
	c.Text = label
	c.OnChanged = changed
	c.ExtendBaseWidget(c)
	return c
}

// TypedKey runs Esc; everything else is the Check's.
func (c *fieldCheck) TypedKey(k *fyne.KeyEvent) {
	if c.onEscape.take(k) {
		return
	}
	c.Check.TypedKey(k)
}

// FocusGained also runs the focus call.
func (c *fieldCheck) FocusGained() {
	c.Check.FocusGained()
	c.gained()
}

// escButton is a Button on which Esc is the window's (escape) and Enter presses it: Fyne's
// Button keeps the keys of its focus, and Esc with Send, Generate or a dialog's button focused
// stopped or closed nothing.
type escButton struct {
	widget.Button
	escape escaper
	focusCall
	spaceKey
}

// newButton makes a button with a label, an icon where icon is not nil, and Esc the window's.
func (u *UI) newButton(label string, icon fyne.Resource, tapped func()) *escButton {
	b := &escButton{escape: u.escape}
	b.Text, b.Icon, b.OnTapped = label, icon, tapped
	b.press = func() { b.Button.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace}) }
	b.ExtendBaseWidget(b)
	return b
}

// TypedKey is buttonKey's.
func (b *escButton) TypedKey(k *fyne.KeyEvent) { buttonKey(&b.Button, b.escape, k) }

// FocusGained also runs the focus call, and forgets a Space held elsewhere (spaceKey).
func (b *escButton) FocusGained() {
	b.held = false
	b.Button.FocusGained()
	b.gained()
}

// FocusLost forgets a Space held (spaceKey).
func (b *escButton) FocusLost() {
	b.held = false
	b.Button.FocusLost()
}

// buttonKey is a key typed on a focused button of the app's: Esc is the window's, Enter
// presses the button (as on GTK and Windows: Fyne's Button took Space alone, and Enter on a
// focused button did nothing), Space does nothing until it comes up (spaceKey), the rest is
// the Button's.
func buttonKey(b *widget.Button, escape escaper, k *fyne.KeyEvent) {
	switch {
	case escape.take(k):
	case k.Name == fyne.KeyReturn || k.Name == fyne.KeyEnter:
		b.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace, Physical: k.Physical})
	case k.Name == fyne.KeySpace:
	default:
		b.TypedKey(k)
	}
}

// spaceKey presses a focused control when Space comes up, as the system's buttons do, not
// when it goes down as Fyne's: the key's character comes after the key, and a button pressed
// on the way down had opened a dialog (Save's) whose focused name field then took the space,
// and the picture was saved as " name.png". Embedded, it gives the control KeyDown and KeyUp;
// the control clears held as it gains or loses the focus.
type spaceKey struct {
	held bool
	// press is what the control does when pressed.
	press func()
}

// KeyDown notes Space going down on the control.
func (s *spaceKey) KeyDown(k *fyne.KeyEvent) {
	if k.Name == fyne.KeySpace {
		s.held = true
	}
}

// KeyUp presses the control when Space, held since it went down on it, comes up.
func (s *spaceKey) KeyUp(k *fyne.KeyEvent) {
	if k.Name == fyne.KeySpace && s.held {
		s.held = false
		s.press()
	}
}

// escaper is the window's Esc for a widget that would keep the key (Fyne's give the window
// only the keys nothing focused takes).
type escaper func()

// take runs it on Esc and reports whether it did.
func (e escaper) take(k *fyne.KeyEvent) bool {
	if k.Name != fyne.KeyEscape || e == nil {
		return false
	}
	e()
	return true
}
