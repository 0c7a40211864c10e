package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// promptEntry is a multi-line entry with the chat apps' keys: Enter calls onSubmit and
// Shift+Enter starts a new line (the plain Entry does the opposite), Esc calls onEscape, and
// Ctrl/Cmd+Enter calls onCommandEnter (the canvas's Generate).
type promptEntry struct {
	widget.Entry
	onSubmit       func()
	onEscape       func()
	onCommandEnter func()
	// submitOnEnter is false for the canvas prompt, where Enter is a new line.
	submitOnEnter bool
	shift         bool
}

func newPromptEntry(placeholder string, submitOnEnter bool) *promptEntry {
	e := &promptEntry{submitOnEnter: submitOnEnter}
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapWord
	e.SetPlaceHolder(placeholder)
	e.ExtendBaseWidget(e)
	return e
}

// AcceptsTab is false: Tab moves the focus on (to Send, Generate, the settings), as in the
// chat apps, where a multi-line Entry would type a tab character.
func (e *promptEntry) AcceptsTab() bool { return false }

// KeyDown tracks Shift, which TypedKey does not report.
func (e *promptEntry) KeyDown(k *fyne.KeyEvent) {
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
	switch k.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		if e.submitOnEnter && !e.shift && e.onSubmit != nil {
			e.onSubmit()
			return
		}
	case fyne.KeyEscape:
		if e.onEscape != nil {
			e.onEscape()
			return
		}
	}
	e.Entry.TypedKey(k)
}

// TypedShortcut runs Ctrl/Cmd+Enter; other shortcuts (copy, paste, undo) are the Entry's.
func (e *promptEntry) TypedShortcut(s fyne.Shortcut) {
	if isCommandEnter(s) && e.onCommandEnter != nil {
		e.onCommandEnter()
		return
	}
	e.Entry.TypedShortcut(s)
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
