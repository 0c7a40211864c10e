package ui

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/janus-desktop/janus/app"
)

// Backend choices as the settings show them.
var backendChoices = []struct{ label, value string }{
	{"Automatic", "auto"},
	{"CPU", "cpu"},
}

// showSettings is the settings dialog: backend, threads, generation and answer defaults,
// extra model folders. Light and dark follow the system, so there is no choice for them.
func (u *UI) showSettings() {
	s := u.settings
	var labels []string
	for _, b := range backendChoices {
		labels = append(labels, b.label)
	}
	backend := widget.NewSelect(labels, nil)
	backend.SetSelectedIndex(0)
	for i, b := range backendChoices {
		if b.value == s.Backend {
			backend.SetSelectedIndex(i)
		}
	}
	threadChoices := []string{"All cores"}
	for i := 1; i <= runtime.NumCPU(); i++ {
		threadChoices = append(threadChoices, strconv.Itoa(i))
	}
	threads := widget.NewSelect(threadChoices, nil)
	threads.SetSelectedIndex(min(s.Threads, runtime.NumCPU()))

	counts := []string{"1", "2", "3", "4", "5", "6", "7", "8"}
	n := widget.NewSelect(counts, nil)
	n.SetSelected(strconv.Itoa(min(max(s.Generation.N, 1), 8)))
	cfg := newNumberEntry(s.Generation.CFG)
	temp := newNumberEntry(s.Generation.Temperature)
	answerTemp := newNumberEntry(s.Answer.Temperature)
	maxTokens := widget.NewEntry()
	maxTokens.SetText(strconv.Itoa(s.Answer.MaxNewTokens))

	folders := slices.Clone(s.ModelFolders)
	folderList := container.NewVBox()
	var showFolders func()
	showFolders = func() {
		folderList.RemoveAll()
		if len(folders) == 0 {
			l := widget.NewLabel("None: models are found in the usual places.")
			l.Importance = widget.LowImportance
			folderList.Add(l)
		}
		for i, f := range folders {
			rm := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() {
				folders = slices.Delete(folders, i, i+1)
				showFolders()
			})
			rm.Importance = widget.LowImportance
			l := widget.NewLabel(f)
			l.Truncation = fyne.TextTruncateEllipsis
			folderList.Add(container.NewBorder(nil, nil, nil, rm, l))
		}
	}
	showFolders()
	addFolder := widget.NewButtonWithIcon("Add folder…", theme.FolderOpenIcon(), func() {
		dialog.ShowFolderOpen(func(l fyne.ListableURI, err error) {
			if err == nil && l != nil && !slices.Contains(folders, l.Path()) {
				folders = append(folders, l.Path())
				showFolders()
			}
		}, u.win)
	})
	note := widget.NewLabel("Backend and threads apply the next time a model is loaded. " +
		"Light and dark follow the system. Settings are kept in " + u.store.Root() + ".")
	note.Wrapping = fyne.TextWrapWord
	note.Importance = widget.LowImportance

	items := []*widget.FormItem{
		widget.NewFormItem("Backend", backend),
		widget.NewFormItem("Threads", threads),
		widget.NewFormItem("Images per run", n),
		widget.NewFormItem("Guidance", cfg),
		widget.NewFormItem("Temperature", temp),
		widget.NewFormItem("Answer temperature", answerTemp),
		widget.NewFormItem("Answer length (tokens)", maxTokens),
		widget.NewFormItem("Model folders", container.NewVBox(folderList, addFolder)),
		widget.NewFormItem("", note),
	}
	d := dialog.NewForm("Settings", "Save", "Cancel", items, func(ok bool) {
		if !ok {
			return
		}
		ns := u.settings
		ns.Backend = backendChoices[max(backend.SelectedIndex(), 0)].value
		ns.Threads = max(threads.SelectedIndex(), 0)
		ns.Generation.N, _ = strconv.Atoi(n.Selected)
		var errs []error
		ns.Generation.CFG, errs = cfg.value("Guidance", errs)
		ns.Generation.Temperature, errs = temp.value("Temperature", errs)
		ns.Answer.Temperature, errs = answerTemp.value("Answer temperature", errs)
		mt, err := strconv.Atoi(maxTokens.Text)
		if err != nil {
			errs = append(errs, fmt.Errorf("answer length %q is not a whole number", maxTokens.Text))
		}
		ns.Answer.MaxNewTokens = mt
		ns.ModelFolders = folders
		if len(errs) == 0 {
			if err := ns.Validate(); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			u.showError("Settings not saved", errs[0], "Open Settings again and correct it.")
			return
		}
		u.applySettings(ns)
	}, u.win)
	d.Resize(fyne.NewSize(620, 600))
	d.Show()
}

// applySettings makes ns current and saves it off the UI goroutine.
func (u *UI) applySettings(ns app.Settings) {
	foldersChanged := !slices.Equal(ns.ModelFolders, u.settings.ModelFolders)
	u.settings = ns
	u.chat.session.SetAnswerOptions(ns.Answer.Options())
	u.create.applySettings(ns.Generation, false)
	store := u.store
	go func() {
		err := store.SaveSettings(ns)
		u.do(func() {
			if err != nil {
				u.showError("Settings not saved", err, "")
			}
			if foldersChanged {
				u.findModels(u.engine == nil && u.loading == nil)
			}
		})
	}()
}

// numberEntry is an entry for a decimal setting.
type numberEntry struct{ *widget.Entry }

func newNumberEntry(v float64) numberEntry {
	e := widget.NewEntry()
	e.SetText(strconv.FormatFloat(v, 'g', -1, 64))
	return numberEntry{e}
}

// value parses the entry; a bad number is added to errs, naming the setting.
func (n numberEntry) value(name string, errs []error) (float64, []error) {
	v, err := strconv.ParseFloat(n.Text, 64)
	if err != nil {
		return 0, append(errs, fmt.Errorf("%s %q is not a number", name, n.Text))
	}
	return v, errs
}
