package ui

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/model"
)

// settingsForm is the settings dialog's fields: backend, threads, generation and answer
// defaults, extra model folders. Light and dark follow the system, so there is no choice
// for them.
type settingsForm struct {
	u *UI
	// backends are the choices the backend list shows: app.BackendChoices, what compute
	// has linked into this program (Automatic, CPU, Metal on a Mac).
	backends []app.BackendChoice
	backend  *fieldSelect
	// weightChoices are the values the weights list offers, in its order.
	weightChoices []string
	weights       *fieldSelect
	precision     *fieldSelect
	serve         *serveForm
	threads       *fieldSelect
	n             *fieldSelect
	cfg           *fieldEntry
	temp          *fieldEntry
	answerTemp    *fieldEntry
	maxTokens     *fieldEntry
	folders       []string
	folderList    *fyne.Container
	addFolder     *escButton
	// follow brings the controls given into sight when they gain the focus (followFocus),
	// once the dialog's scroll is made; nil until then.
	follow func(controls ...fyne.CanvasObject)
	// saveB and problem are the dialog's Save button and the line saying why it did not save.
	saveB   *escButton
	problem *widget.Label
}

func newSettingsForm(u *UI) *settingsForm {
	s := u.settings
	f := &settingsForm{u: u, backends: app.BackendChoices(), folders: slices.Clone(s.ModelFolders),
		folderList: container.NewVBox(), serve: newServeForm(u)}
	var labels []string
	for _, b := range f.backends {
		labels = append(labels, b.Label)
	}
	f.backend = newFieldSelect(labels, u.escape)
	f.backend.SetSelectedIndex(0)
	for i, b := range f.backends {
		if strings.EqualFold(b.Value, s.Backend) {
			f.backend.SetSelectedIndex(i)
		}
	}
	f.weightChoices = []string{model.WeightsAuto, model.WeightsStored, model.WeightsQ8, model.WeightsQ4M, model.WeightsQ4}
	current := strings.ToLower(s.Weights)
	if current == "" {
		current = model.WeightsStored
	}
	if !slices.Contains(f.weightChoices, current) {
		// "f32" or "bf16", set in settings.json by hand: kept, and offered by its name.
		f.weightChoices = append(f.weightChoices, current)
	}
	var weightLabels []string
	for _, w := range f.weightChoices {
		weightLabels = append(weightLabels, weightsLabel(w))
	}
	f.weights = newFieldSelect(weightLabels, u.escape)
	f.weights.SetSelectedIndex(slices.Index(f.weightChoices, current))
	f.precision = newFieldSelect([]string{"Exact (float32)", "Faster (BF16 products)"}, u.escape)
	f.precision.SetSelectedIndex(0)
	if s.Precision == app.PrecisionBF16 {
		f.precision.SetSelectedIndex(1)
	}
	// Every core is "All cores" alone: the same number beside it loaded the model again for
	// nothing.
	cores := runtime.NumCPU()
	threadChoices := []string{fmt.Sprintf("All cores (%d)", cores)}
	for i := 1; i < cores; i++ {
		threadChoices = append(threadChoices, strconv.Itoa(i))
	}
	f.threads = newFieldSelect(threadChoices, u.escape)
	if s.Threads > 0 && s.Threads < cores {
		f.threads.SetSelectedIndex(s.Threads)
	} else {
		f.threads.SetSelectedIndex(0)
	}
	f.n = newFieldSelect([]string{"1", "2", "3", "4", "5", "6", "7", "8"}, u.escape)
	f.n.SetSelected(strconv.Itoa(min(max(s.Generation.N, 1), 8)))
	f.cfg = numberEntry(s.Generation.CFG, app.MaxCanvasCFG, u.escape)
	f.temp = numberEntry(s.Generation.Temperature, app.MaxTemperature, u.escape)
	f.answerTemp = numberEntry(s.Answer.Temperature, app.MaxTemperature, u.escape)
	f.maxTokens = newFieldEntry(u.escape)
	f.maxTokens.Validator = func(text string) error {
		_, err := parseAnswerLength(text)
		return err
	}
	mt := s.Answer.MaxNewTokens
	if mt == 0 {
		mt = model.DefaultMaxNewTokens
	}
	f.maxTokens.SetText(strconv.Itoa(mt))
	f.showFolders()
	return f
}

func (f *settingsForm) showFolders() {
	f.folderList.RemoveAll()
	if len(f.folders) == 0 {
		l := widget.NewLabel(searchedLine(f.u.opts.Env))
		l.Importance = widget.LowImportance
		l.SizeName = theme.SizeNameCaptionText // a hint, as the others
		l.Wrapping = fyne.TextWrapWord
		f.folderList.Add(l)
	}
	for i, dir := range f.folders {
		rm := f.u.newTipButton(theme.DeleteIcon(), "Remove folder", func() {
			f.folders = slices.Delete(f.folders, i, i+1)
			f.showFolders()
		})
		rm.Importance = widget.LowImportance
		if f.follow != nil {
			f.follow(rm)
		}
		l := widget.NewLabel(dir)
		l.Truncation = fyne.TextTruncateEllipsis
		f.folderList.Add(container.NewBorder(nil, nil, nil, rm, l))
	}
}

// searchedLine says where models are found besides the folders added: the folders themselves,
// as JANUS_MODELS replaces the usual ones.
func searchedLine(env app.Env) string {
	roots := app.DefaultRoots(env)
	if len(roots) == 0 {
		return "None added."
	}
	line := "None added. Models are found in " + strings.Join(roots, ", ")
	if env.Getenv != nil && env.Getenv("JANUS_MODELS") != "" {
		line += " (set by JANUS_MODELS)"
	}
	return line + "."
}

func (f *settingsForm) items() []*widget.FormItem {
	u := f.u
	f.addFolder = u.newButton("Add folder…", theme.FolderOpenIcon(), func() {
		u.pickFolder(func(dir string) {
			if !slices.Contains(f.folders, dir) {
				f.folders = append(f.folders, dir)
				f.showFolders()
			}
		})
	})
	note := widget.NewLabel("Light and dark follow the system. Settings are kept in " + u.store.Root() + ".")
	note.Wrapping = fyne.TextWrapWord
	note.Importance = widget.LowImportance
	note.SizeName = theme.SizeNameCaptionText
	hint := func(item *widget.FormItem, text string) *widget.FormItem {
		item.HintText = text
		return item
	}
	weightsHint := wrappedHint(f.weightsHint())
	f.weights.OnChanged = func(string) {
		weightsHint.Segments[0].(*widget.TextSegment).Text = f.weightsHint()
		weightsHint.Refresh()
	}
	return []*widget.FormItem{
		section("Running models", "Applies the next time a model is loaded.", true),
		widget.NewFormItem("Backend", softFocus(f.backend)),
		widget.NewFormItem("Threads", softFocus(f.threads)),
		widget.NewFormItem("Weights", container.NewVBox(softFocus(f.weights), weightsHint)),
		widget.NewFormItem("Arithmetic", container.NewVBox(softFocus(f.precision), wrappedHint(f.precisionHint()))),
		section("New images", "What Create starts with, and what its Reset brings back.", false),
		widget.NewFormItem("Images per run", softFocus(f.n)),
		hint(widget.NewFormItem("Guidance", f.cfg), "How closely images follow the prompt. The original uses 5."),
		hint(widget.NewFormItem("Temperature", f.temp), "How much the images vary. The original uses 1."),
		section("Answers", "", false),
		hint(widget.NewFormItem("Answer temperature", f.answerTemp), "0 gives the most likely answer, as the original does."),
		// A hint where any other field has one: the form writes a field's problem in its
		// hint's place, and without one the problem's line pushed the fields below down as
		// it came and went with the typing.
		hint(widget.NewFormItem("Answer length (tokens)", f.maxTokens), fmt.Sprintf("The longest an answer may be. The original stops at %d.", model.DefaultMaxNewTokens)),
		section("Models and the API", "", false),
		widget.NewFormItem("Model folders", container.NewVBox(f.folderList, f.addFolder)),
		widget.NewFormItem("API server", container.NewVBox(f.serve.content(),
			wrappedHint("Takes effect at once. Only programs on this computer can connect; the key is saved where only you can read it."))),
		widget.NewFormItem("", note),
	}
}

// section is a heading row of the settings form, in the fields' column, with what applies to
// the fields under it: the form's one label column keeps every field aligned, which separate
// forms a section would not.
func section(title, about string, first bool) *widget.FormItem {
	head := widget.NewRichText(&widget.TextSegment{Text: title, Style: widget.RichTextStyle{
		SizeName: theme.SizeNameSubHeadingText, TextStyle: fyne.TextStyle{Bold: true}}})
	rows := []fyne.CanvasObject{head}
	if !first {
		rows = []fyne.CanvasObject{widget.NewSeparator(), head}
	}
	if about != "" {
		rows = append(rows, wrappedHint(about))
	}
	return widget.NewFormItem("", container.NewVBox(rows...))
}

// weightsLabel names a weight format (model.WeightFormats) for the weights list.
func weightsLabel(w string) string {
	switch w {
	case model.WeightsAuto:
		return "Automatic"
	case model.WeightsStored:
		return "Stored (BF16)"
	case model.WeightsQ8:
		return "Q8 (faster, smaller)"
	case model.WeightsQ4M:
		return "Q4M (4-bit, more accurate)"
	case model.WeightsQ4:
		return "Q4 (smallest)"
	}
	return strings.ToUpper(w)
}

// weightsHint says what the chosen weight format does: for Automatic, with a model loaded,
// what it chose for it and the engine's reason (the memory rule of model.ChooseWeights). When
// it applies, the section says. Whole sentences: it is read, not parsed.
func (f *settingsForm) weightsHint() string {
	switch w := f.weightChoices[max(f.weights.SelectedIndex(), 0)]; w {
	case model.WeightsAuto:
		if e := f.u.engine; e != nil {
			if info := e.Info(); info.AutoWeights != "" {
				return fmt.Sprintf("For %s, Automatic chose %s: %s.", info.Name, weightsLabel(info.AutoWeights), info.AutoWeightsReason)
			}
		}
		return "Automatic keeps the stored weights unless memory is short."
	case model.WeightsStored:
		return "The released weights as they are: exact results, and the most memory."
	case model.WeightsQ8:
		return "8-bit: about half the memory and faster answers and images, with results very close to the released weights'."
	case model.WeightsQ4M:
		return "4-bit with an offset per block: about a third of the memory; results drift more than with Q8."
	case model.WeightsQ4:
		return "4-bit: the least memory; results drift the most."
	}
	return ""
}

// precisionHint says what the faster arithmetic does and, with a model loaded, what it runs
// on here.
func (f *settingsForm) precisionHint() string {
	const what = "Faster does the large steps (reading a prompt, making images, decoding pictures) in BF16, " +
		"as the original model does: they take less time, and results may differ slightly."
	if e := f.u.engine; e != nil {
		switch fast := e.Info().FastArithmetic; fast {
		case "AMX":
			return what + " This computer does it on AMX, several times faster."
		case "":
		default:
			return what + " This computer does it with " + fast + "."
		}
	}
	return what + " It needs a CPU with AVX-512 BF16; elsewhere the arithmetic stays exact."
}

// settings reads the fields; the first unreadable or invalid one is the error.
func (f *settingsForm) settings() (app.Settings, error) {
	ns := f.u.settings
	ns.Backend = f.backends[max(f.backend.SelectedIndex(), 0)].Value
	ns.Threads = max(f.threads.SelectedIndex(), 0)
	ns.Weights = f.weightChoices[max(f.weights.SelectedIndex(), 0)]
	ns.Precision = app.PrecisionExact
	if f.precision.SelectedIndex() == 1 {
		ns.Precision = app.PrecisionBF16
	}
	ns.Generation.N, _ = strconv.Atoi(f.n.Selected)
	var err error
	for _, field := range []struct {
		name  string
		entry *fieldEntry
		dst   *float64
		most  float64
	}{
		{"Guidance", f.cfg, &ns.Generation.CFG, app.MaxCanvasCFG},
		{"Temperature", f.temp, &ns.Generation.Temperature, app.MaxTemperature},
		{"Answer temperature", f.answerTemp, &ns.Answer.Temperature, app.MaxTemperature},
	} {
		if *field.dst, err = parseSetting(field.entry.Text, field.most); err != nil {
			return ns, fmt.Errorf("%s: %w", field.name, err)
		}
	}
	if ns.Answer.MaxNewTokens, err = parseAnswerLength(f.maxTokens.Text); err != nil {
		return ns, fmt.Errorf("Answer length: %w", err)
	}
	ns.ModelFolders = slices.Clone(f.folders)
	// The port and key: for the server's next start, or, when they changed while it runs,
	// for the restart applySettings makes.
	if ns.Serve.Port, err = parsePort(f.serve.port.Text); err != nil {
		return ns, fmt.Errorf("API server %w", err)
	}
	// Spaces around a pasted key are not part of it: kept, no client matched it.
	ns.Serve.APIKey = strings.TrimSpace(f.serve.key.Text)
	return ns, ns.Validate()
}

// showSettings opens the settings dialog; Save applies and stores them.
func (u *UI) showSettings() { u.openSettings() }

// openSettings opens the settings dialog and returns its form. Save keeps the dialog open,
// with every edit, while a field is invalid, and says which; Cancel drops the edits.
func (u *UI) openSettings() *settingsForm {
	f := newSettingsForm(u)
	u.serveStatus = f.serve.show
	// A scrolling form: the settings are taller than the smallest window.
	form := widget.NewForm(f.items()...)
	f.problem = widget.NewLabel("")
	f.problem.Importance = widget.DangerImportance
	f.problem.Wrapping = fyne.TextWrapWord
	f.problem.Hide()
	var d *hintedDialog
	cancel := u.newButton("Cancel", theme.CancelIcon(), func() { d.Hide() })
	f.saveB = u.newButton("Save", theme.ConfirmIcon(), func() {
		ns, err := f.settings()
		if err != nil {
			f.problem.SetText("Not saved: " + err.Error())
			f.problem.Show()
			return
		}
		d.Hide()
		u.applySettings(ns)
	})
	f.saveB.Importance = widget.HighImportance
	// After a refused Save the line follows the edits: the field it named put right, it names
	// the next one still wrong (it kept naming the first), and goes once none is.
	recheck := func() {
		if !f.problem.Visible() {
			return
		}
		if _, err := f.settings(); err != nil {
			f.problem.SetText("Not saved: " + err.Error())
		} else {
			f.problem.Hide()
		}
	}
	// Enter in a field saves, as in the system's dialogs.
	for _, e := range []*widget.Entry{&f.cfg.Entry, &f.temp.Entry, &f.answerTemp.Entry, &f.maxTokens.Entry, &f.serve.port.Entry, &f.serve.key.Entry} {
		e.OnSubmitted = func(string) { f.saveB.OnTapped() }
		changed := e.OnChanged
		e.OnChanged = func(text string) {
			if changed != nil {
				changed(text)
			}
			recheck()
		}
	}
	scroll := gutteredVScroll(container.NewThemeOverride(container.NewPadded(form), quietFields{}))
	f.follow = func(controls ...fyne.CanvasObject) { followFocus(scroll, controls...) }
	for _, e := range []*fieldEntry{f.cfg, f.temp, f.answerTemp, f.maxTokens, f.serve.port, f.serve.key} {
		e.passWheel(scroll)
	}
	f.follow(f.backend, f.threads, f.weights, f.precision, f.n, f.cfg, f.temp, f.answerTemp, f.maxTokens, f.addFolder)
	followFocusTo(scroll, f.serve.block, f.serve.on, f.serve.port, f.serve.key)
	f.showFolders() // again, its buttons followed too
	d = newHintedDialog("Settings", container.NewBorder(nil, f.problem, nil, nil, scroll), u.win)
	d.SetButtons([]fyne.CanvasObject{cancel, f.saveB})
	d.SetOnClosed(func() { u.serveStatus = nil })
	d.Resize(u.dialogSize(fyne.NewSize(640, 900))) // all of it in a tall window, scrolled in a small one
	u.show(d)
	return f
}

// dialogSize is want, or less in a window too small for it.
func (u *UI) dialogSize(want fyne.Size) fyne.Size {
	win := u.win.Canvas().Size()
	if win.Width <= 0 || win.Height <= 0 {
		return want
	}
	margin := 2 * theme.Padding() * 4
	return fyne.NewSize(min(want.Width, win.Width-margin), min(want.Height, win.Height-margin))
}

// applySettings makes ns current and saves it off the UI goroutine; a changed folder list
// searches the models again once the file is written.
func (u *UI) applySettings(ns app.Settings) {
	foldersChanged := !slices.Equal(ns.ModelFolders, u.settings.ModelFolders)
	reloadBefore := u.needsReload()
	portChanged := ns.Serve.Port != u.settings.Serve.Port
	serveChanged := portChanged || ns.Serve.APIKey != u.settings.Serve.APIKey
	oldGeneration := u.settings.Generation
	// A new port or key restarts the server; a new port starts it when it failed (the old
	// port was taken; a failed switch went off then): the user turned it on, and Save tries
	// again, as it does with the same port when the server failed to start with the window
	// (the port may be free now). The setting stays on if that fails too: the dialog is
	// closed, and the sidebar's red line is where the failure shows.
	if u.serving != nil && serveChanged || u.serveErr != nil && (portChanged || u.settings.Serve.Enabled) {
		ns.Serve.Enabled = true
		u.settings = ns
		u.restartServing()
	}
	u.settings = ns
	if !reloadBefore && u.needsReload() {
		u.offerReload()
	}
	u.chat.session.SetAnswerOptions(ns.Answer.Options())
	u.create.applyChanged(oldGeneration, ns.Generation)
	u.saveSettings(func(err error) {
		if err != nil {
			u.showError("Settings not saved", err, "")
		}
		if foldersChanged {
			u.findModels(u.engine == nil && u.loading == nil)
		}
	})
}

// numberEntry is an entry holding v, marked while its text is not a number from 0 to most;
// Esc is escape.
func numberEntry(v, most float64, escape func()) *fieldEntry {
	e := newFieldEntry(escape)
	e.Validator = func(text string) error {
		_, err := parseSetting(text, most)
		return err
	}
	e.SetText(strconv.FormatFloat(v, 'g', -1, 64))
	return e
}

// parseSetting reads a guidance or temperature field: a number from 0 to most (the canvas's
// sliders show no other).
func parseSetting(text string, most float64) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is not a number", text)
	}
	if v < 0 || v > most {
		return 0, fmt.Errorf("%s: must be from 0 to %v", strings.TrimSpace(text), most)
	}
	return v, nil
}

// parseAnswerLength reads the answer length field: a whole number of tokens, 1 to the
// context of the released models (an answer also stops where a model's context ends).
func parseAnswerLength(text string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(text))
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", text)
	}
	if n < 1 || n > model.MaxAnswerTokens {
		return 0, fmt.Errorf("%d tokens: the answer length must be from 1 to %d", n, model.MaxAnswerTokens)
	}
	return n, nil
}

// wrappedHint is a form hint that wraps: a form item's own HintText is one line, which a hint
// naming the model and the memory rule outgrows.
func wrappedHint(text string) *widget.RichText {
	rt := widget.NewRichText(&widget.TextSegment{Text: text, Style: widget.RichTextStyle{
		SizeName: theme.SizeNameCaptionText, ColorName: theme.ColorNamePlaceHolder, Inline: true}})
	rt.Wrapping = fyne.TextWrapWord
	return rt
}
