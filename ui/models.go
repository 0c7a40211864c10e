package ui

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/model"
)

// findModels searches the model folders off the UI goroutine; with autoload it then loads
// the model ModelSearch.StartModel chooses (the one asked for, the last one used, or the one
// preferred), and shows the "no model" screen when there is none.
func (u *UI) findModels(autoload bool) {
	env, extra, lastUsed := u.opts.Env, slices.Clone(u.settings.ModelFolders), u.settings.LastModel
	go func() {
		search := app.SearchModels(env, extra)
		start := search.StartModel(u.opts.ModelDir, lastUsed)
		u.do(func() {
			u.search = search
			if !u.downloads.looked {
				// A download an earlier run left half done is in the sidebar from the start
				// (paused, a tap away from Resume), not only once the downloads are opened.
				u.downloads.reload()
			}
			if !autoload || u.engine != nil || u.loading != nil {
				return
			}
			if start.Path == "" {
				u.showNoModel(start.LastProblem)
				return
			}
			u.loadModel(start.Path, start.Name)
			if start.LastProblem != "" {
				u.chat.addNotice(start.LastProblem + ". " + start.Name + " is loaded instead (Models chooses another).")
			}
		})
	}()
}

// showNoModel replaces the views with the screen that says where models are looked for, and
// problem (why the model used last cannot be loaded) when not "".
func (u *UI) showNoModel(problem string) {
	u.setNoEngine("No model yet: download one or add a folder in Models.")
	u.noModel.problem.SetText(problem)
	u.noModel.problem.Hidden = problem == ""
	u.noModel.update(u.search)
	u.tabs.Hide()
	u.noModel.content.Show()
	u.noModelShown = true
	u.noModel.focusFirst()
}

// loadModel loads the model folder dir on a job; the sidebar shows its progress and a
// cancel button, and the views say what they are waiting for.
func (u *UI) loadModel(dir, name string) { u.load(dir, u.loadOptions(name), false) }

// restorePrevious loads again the model a cancelled or failed load was to replace, as it was
// loaded (settings that made the new load fail do not make it fail too), saying so.
func (u *UI) restorePrevious() {
	if p := u.previous; p.dir != "" {
		u.previous = loadedModel{}
		u.load(p.dir, p.opts, true)
	}
}

// load is loadModel with opts; back says it brings back the model in use before (a load
// meant to replace it was cancelled or failed), which the sidebar and the views say.
func (u *UI) load(dir string, opts app.LoadOptions, back bool) {
	if u.engine == nil {
		u.startLoad(dir, opts, back)
		return
	}
	// The model in use goes only for one that can come: a folder gone or broken since it was
	// listed (or since the model in use was loaded from it, for a reload) is said, and the
	// model in use stays, with the local API it serves. Inspect reads the weights' headers
	// and the tokenizer (about 0.1 s for the released models here, more from a slow disk):
	// off the UI goroutine, and only the newest click counts.
	u.checks++
	check, engine := u.checks, u.engine
	inspect := app.Inspect
	if u.opts.inspect != nil {
		inspect = u.opts.inspect
	}
	go func() {
		e, err := inspect(dir)
		_, serr := os.Stat(dir)
		u.do(func() {
			if check != u.checks || u.engine != engine {
				return // another model was chosen meanwhile, or this one went
			}
			if err == nil && e.Complete {
				u.startLoad(dir, opts, back)
				return
			}
			why := app.LoadAdvice(err)
			if err == nil {
				err = errors.New(e.Problem)
				why = strings.TrimSuffix(sentenceStart(e.Summary), ".") + ". " + app.LoadAdvice(err)
			}
			if errors.Is(serr, fs.ErrNotExist) {
				err, why = fmt.Errorf("%s is gone: moved or deleted", dir), ""
			}
			stays := u.engine.Info().Name + " stays loaded."
			if why = strings.TrimSuffix(sentenceStart(why), "."); why != "" {
				stays = why + ". " + stays
			}
			u.showError("Cannot load "+opts.Name, err, stays)
		})
	}()
}

// startLoad is load once the folder is known to hold a model that can load.
func (u *UI) startLoad(dir string, opts app.LoadOptions, back bool) {
	name := opts.Name
	u.checks++ // a check still running for an earlier click is over
	u.stopLoad()
	if old := u.engine; old != nil {
		// Kept to load again if this load is cancelled, so that a change of mind leaves
		// the model that was there, not none.
		u.previous = u.loaded
		// The model being replaced is closed once its replies and generation have stopped.
		// The chat lets go of it first, so that no send starts a reply on it once the
		// replies are listed.
		gen := u.create.job
		// The local API keeps its address while the next model loads, telling clients to
		// retry (it refused their connections); the next model's server takes it over.
		pause := u.pauseServing(name)
		u.chat.setEngine(nil)
		u.create.stopFor(name + " was loaded")
		go func() {
			pause()
			for _, j := range u.chat.runningReplies() {
				<-j.Done()
			}
			if gen != nil {
				<-gen.Done()
			}
			old.Close()
		}()
	}
	verb := "Loading"
	if back {
		verb = "Going back to"
	}
	why := func(f float64) string { return loadingText(verb, name, f) }
	u.engine = nil
	u.setLoading(why(0))
	u.sidebar.showLoading(name, back, 0)
	var job *app.LoadJob
	job = app.StartLoad(context.Background(), dir, opts, func(p app.Progress) {
		u.do(func() {
			if u.loading != job {
				return
			}
			f := p.Fraction()
			u.chat.setReady(false, why(f))
			u.create.showLoading(why(f))
			u.sidebar.showLoading(name, back, f)
		})
	})
	u.loading = job
	u.updateLoadCancel() // the lines above were drawn before there was a load to cancel
	go func() {
		err := job.Wait()
		eng := job.Engine()
		u.do(func() {
			if u.loading != job {
				if eng != nil {
					go eng.Close()
				}
				return
			}
			u.loading = nil
			switch {
			case err == nil:
				u.setEngine(eng)
				u.loaded, u.previous = loadedModel{dir: dir, opts: opts}, loadedModel{}
				u.rememberModel(dir)
			case isCancel(err):
				u.setNoEngine("Loading cancelled: pick a model")
				u.closePausedServing() // no load follows this one
			default:
				u.setNoEngine("The model could not be loaded")
				u.showError("Cannot load "+name, err, app.LoadAdvice(err))
				if u.previous == (loadedModel{dir: dir, opts: opts}) {
					u.previous = loadedModel{} // the same load would fail the same way
				}
				u.restorePrevious() // the model this one was to replace comes back
				if u.loading == nil {
					u.closePausedServing() // no model to serve: the address is let go
				}
			}
		})
	}()
}

// loadingText is what the chat and the canvas say while a load is at frac: "Loading
// Janus-Pro-1B… 46%", verb "Going back to" for the model in use before.
func loadingText(verb, name string, frac float64) string {
	return fmt.Sprintf("%s %s… %d%%", verb, name, percent(frac))
}

// loadedModel is the folder the model in use was loaded from and how.
type loadedModel struct {
	dir  string
	opts app.LoadOptions
}

// loadOptions are the settings' options for loading the model called name
// (Settings.LoadOptions).
func (u *UI) loadOptions(name string) app.LoadOptions { return u.settings.LoadOptions(name) }

// needsReload reports whether the model in use was loaded with other settings than the
// current ones (backend, threads, weights, arithmetic), which only a load applies. A model
// the window was given (Options.Engine) has no folder to load again.
func (u *UI) needsReload() bool {
	l := u.loaded
	return u.engine != nil && l.dir != "" && l.opts != u.loadOptions(l.opts.Name)
}

// reload loads the model in use again with the current settings.
func (u *UI) reload() { u.loadModel(u.loaded.dir, u.loaded.opts.Name) }

// offerReload asks whether to load the model in use again now that the settings it was
// loaded with changed; what is running stops first, so the question says so.
func (u *UI) offerReload() {
	name := u.loaded.opts.Name
	text := "Backend, threads, weights and arithmetic apply when a model loads. Load " + name + " again with the new settings now?"
	u.show(u.switchQuestion("Reload "+name+"?", text, "Reload", func() {
		if u.needsReload() {
			u.reload()
		}
	}))
}

// switchQuestion is a question that offers to load a model (confirm) or not now (Later): its
// text ends with switchCosts, which workChanged redraws while it is open, so that an answer
// or a run that ends under it is no longer said to stop.
func (u *UI) switchQuestion(title, text, confirm string, yes func()) *askDialog {
	d, l := u.questionText(title, text+u.switchCosts(), confirm, "Later", 420, yes)
	u.switchNote = func() { l.SetText(text + u.switchCosts()) }
	d.SetOnClosed(func() { u.switchNote = nil })
	return d
}

// workChanged redraws what depends on the work in progress (an answer, a run of images, the
// local API) once some of it starts or ends.
func (u *UI) workChanged() {
	if u.switchNote != nil {
		u.switchNote()
	}
}

// switchCosts says what loading a model in place of the one in use stops ("" for nothing):
// the questions that offer a switch end with it.
func (u *UI) switchCosts() string {
	var s string
	if u.chat.session.Busy() || u.chat.sending || u.create.job != nil {
		s += "\n\nThe answer or images in progress will stop."
	}
	if u.serving != nil {
		s += "\n\nThe local API pauses while the model loads: requests being answered get a few seconds to finish, and new ones are told to retry until it is loaded."
	}
	return s
}

// offerDownloaded asks whether to switch to the model a download just finished, since
// one is in use (or loading); Later leaves it in the model picker.
func (u *UI) offerDownloaded(dir, name string) {
	text := name + " is downloaded and ready."
	if u.engine != nil {
		text += " Load it now in place of " + u.engine.Info().Name + "?"
	} else {
		text += " Load it now?"
	}
	// It comes up unasked, maybe as Enter sends a question: Enter does not answer it.
	u.showNoEnter(u.switchQuestion(name+" is downloaded", text, "Load", func() { u.loadModel(dir, name) }))
}

// cancelLoad is the sidebar's Cancel: it stops a running load and, when that load was to
// replace a model, loads that one again.
func (u *UI) cancelLoad() {
	if u.loading == nil {
		return
	}
	u.stopLoad()
	u.restorePrevious()
	if u.loading == nil {
		u.closePausedServing() // no model comes back to serve
	}
}

// newLoadCancel is a Cancel of the model's load, hidden until a load shows it: the sidebar's
// model line has one, and the chat's and the canvas's loading lines while it is hidden.
func (u *UI) newLoadCancel() *escButton {
	b := u.newButton("Cancel", theme.CancelIcon(), u.cancelLoad)
	b.Importance = widget.LowImportance
	b.Hide()
	return b
}

// stopLoad stops a running load.
func (u *UI) stopLoad() {
	if u.loading != nil {
		u.loading.Cancel()
		u.loading = nil
		u.setNoEngine("Loading cancelled: pick a model")
	}
}

// rememberModel saves dir as the model to load at the next start.
func (u *UI) rememberModel(dir string) {
	// By its whole path: one found through a relative JANUS_MODELS names another folder, or
	// none, from where the next start runs.
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if u.settings.LastModel == dir {
		return
	}
	u.settings.LastModel = dir
	u.saveSettings(nil)
}

// showModelPicker lists the models found, with Load, Add folder… and Download….
func (u *UI) showModelPicker() {
	var d dialog.Dialog
	list := container.NewVBox()
	fill := func(search app.ModelSearch) {
		list.RemoveAll()
		if len(search.Models) == 0 {
			l := newBulleted()
			l.SetText(search.NoModelText())
			list.Add(l.box)
		}
		// The one in use first, then those that load, then the broken ones.
		models := slices.Clone(search.Models)
		rank := func(m app.ModelChoice) int {
			switch {
			case u.inUse(m):
				return 0
			case m.Complete:
				return 1
			}
			return 2
		}
		slices.SortStableFunc(models, func(a, b app.ModelChoice) int { return rank(a) - rank(b) })
		for i, m := range models {
			// One main action: with no model in use, loading the first that loads.
			primary := i == 0 && u.engine == nil && m.Complete
			list.Add(u.modelRow(m, primary, func() {
				d.Hide()
				u.loadModel(m.Path, m.Name)
				// Typing goes on in the composer, and is sent once it is loaded.
				if u.createShown() {
					u.focusSoon(u.create.prompt)
				} else {
					u.focusSoon(u.chat.entry)
				}
			}))
			list.Add(widget.NewSeparator())
		}
		if search.Err != nil {
			l := widget.NewLabel("Some folders could not be read: " + firstLine(search.Err))
			l.Importance = widget.WarningImportance
			l.Wrapping = fyne.TextWrapWord
			list.Add(l)
		}
	}
	fill(u.search)
	refresh := func() {
		env, extra := u.opts.Env, slices.Clone(u.settings.ModelFolders)
		var inUse app.EngineInfo
		if u.engine != nil {
			inUse = u.engine.Info()
		}
		go func() {
			search := withModel(app.SearchModels(env, extra), inUse)
			u.do(func() {
				u.search = search
				fill(search)
			})
		}()
	}
	refresh()
	add := u.newButton("Add folder…", theme.FolderOpenIcon(), func() { u.addModelFolder(refresh) })
	again := u.newButton("Look again", theme.ViewRefreshIcon(), refresh)
	download := u.downloadButton(refresh)
	d = u.closingDialog("Models", container.New(fixedWidth{640}, gutteredVScroll(list)), add, again, download)
	d.Resize(u.dialogSize(fyne.NewSize(700, 640))) // four models in sight, where the window has room
	u.show(d)
}

// modelRow is one model in the picker: name, family, sizes, where it lives, status; its Load
// is the dialog's main action where primary is set.
func (u *UI) modelRow(m app.ModelChoice, primary bool, load func()) fyne.CanvasObject {
	name := widget.NewLabelWithStyle(m.Name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	facts := []string{m.Family}
	if m.Family == app.FamilyUnknown {
		facts[0] = "Family unknown" // no tokenizer to tell it by; a row's line starts with a capital
	}
	if m.WeightBytes > 0 {
		facts = append(facts, app.FormatBytes(m.WeightBytes)+" on disk")
	}
	if need := u.memoryNeed(m.Footprint); need != "" {
		facts = append(facts, need)
	}
	if m.Location != "" { // the model in use, found in no folder searched
		facts = append(facts, string(m.Location))
	}
	info := widget.NewLabel(strings.Join(facts, " · ") + "\n" + m.Path)
	info.Importance = widget.LowImportance
	info.Wrapping = fyne.TextWrapWord
	// Green is for the model in use alone: "Ready" in green on every row read as loaded.
	status := widget.NewLabel("Complete: ready to load")
	status.Importance = widget.LowImportance
	status.Wrapping = fyne.TextWrapWord
	rows := container.NewVBox(name, info, status)
	// A folder that cannot load has no Load at all: disabled, it still read as a button that
	// did nothing (the theme's disabled text is dark enough to read); its status says why.
	var loadB *escButton
	if m.Complete || u.inUse(m) {
		loadB = u.newButton("Load", nil, load)
	}
	if primary && loadB != nil {
		loadB.Importance = widget.HighImportance
	}
	if !m.Complete {
		// In plain words; the readers' own (tensor names, byte offsets) on request.
		status.SetText("Cannot be loaded: " + m.Summary)
		status.Importance = widget.WarningImportance
		details := u.newButton("Details", theme.InfoIcon(), func() { u.showProblem(m) })
		details.Importance = widget.LowImportance
		rows.Add(container.NewHBox(details))
	}
	if u.inUse(m) {
		status.SetText("Chats and images run on it") // the button beside it says In use
		status.Importance = widget.SuccessImportance
		if !m.Complete {
			// It runs from memory; a load of its folder would fail and leave none.
			status.Importance = widget.WarningImportance // before SetText, which draws it
			status.SetText("In use, but cannot be loaded again: " + m.Summary)
		}
		loadB.SetText("In use")
		loadB.Disable()
		if u.needsReload() && u.loaded.dir == m.Path && m.Complete {
			// Loaded with settings changed since: loading it again applies them.
			loadB.SetText("Reload")
			loadB.Enable()
		}
	}
	if loadB == nil {
		return container.NewBorder(nil, nil, nil, nil, rows)
	}
	return container.NewBorder(nil, nil, nil, container.NewVBox(loadB), rows)
}

// memoryNeed says what a model of footprint fp needs to run with the weights the settings
// choose ("" when unknown): the Models picker and the download screen say it in these words,
// from one estimate (app.Footprint), so that they agree.
func (u *UI) memoryNeed(fp app.Footprint) string {
	need := fp.Need(u.settings.Weights)
	if need <= 0 {
		return ""
	}
	s := "needs " + app.FormatBytes(need) + " of memory"
	// The figure falls with quantized weights: said, or it reads as less than the download.
	switch f := fp.Format(u.settings.Weights); f {
	case model.WeightsStored, model.WeightsBF16:
	default:
		s += " with " + strings.ToUpper(f) + " weights"
	}
	return s
}

// withModel adds the model in use (inUse) to search when the search did not
// find it: loaded from a folder the search does not look in (the one used last, downloaded
// into the hub cache while JANUS_MODELS names other folders), which the picker said it could
// not find, or from a folder gone since (moved or deleted), which it still runs on. It reads
// the folder: not on the UI goroutine.
func withModel(search app.ModelSearch, inUse app.EngineInfo) app.ModelSearch {
	dir := inUse.Dir
	if dir == "" || slices.ContainsFunc(search.Models, func(m app.ModelChoice) bool { return m.Path == dir }) {
		return search
	}
	e, err := app.Inspect(dir)
	if err != nil {
		e = app.ModelEntry{Name: inUse.Name, Path: dir, Family: inUse.Family,
			Problem: err.Error(), Summary: "its folder is gone or cannot be read (moved or deleted?)"}
	}
	var loc app.Location
	if e.Repo != "" {
		loc = app.LocationHFCache
	}
	search.Models = append(slices.Clone(search.Models), app.ModelChoice{ModelEntry: e, Location: loc})
	return search
}

// inUse reports whether m is the model loaded.
func (u *UI) inUse(m app.ModelChoice) bool { return u.engine != nil && u.engine.Info().Dir == m.Path }

// showProblem shows what is wrong with model m: its row's line, then each problem as the
// readers found it, and what to do about it, with the folder it is in. The readers' words
// alone said less than the row, and nothing of what to do; those that only name a file the
// row's line names ("missing tokenizer.json" under "It has no tokenizer.json") are left out.
func (u *UI) showProblem(m app.ModelChoice) {
	parts := []string{strings.TrimSuffix(sentenceStart(m.Summary), ".") + "."}
	for _, p := range strings.Split(m.Problem, "; ") {
		if file, ok := strings.CutPrefix(p, "missing "); p == "" || ok && strings.Contains(m.Summary, file) {
			continue
		}
		parts = append(parts, p)
	}
	parts = append(parts, "Download the model again (Download… for a released one), or copy the "+
		"missing or damaged files from its page into its folder: "+m.Path)
	l := widget.NewLabel(strings.Join(parts, "\n\n"))
	l.Wrapping = fyne.TextWrapWord
	u.show(u.infoDialog("What is wrong with "+m.Name, container.New(fixedWidth{520}, l)))
}

// downloadButton opens the downloads dialog over what it sits in, and calls closed when that
// dialog closes (the Models dialog then looks again: closing Download had left the window,
// not Models, with Models gone); without a Downloader it is disabled.
func (u *UI) downloadButton(closed func()) *escButton {
	b := u.newButton("Download…", theme.DownloadIcon(), func() { u.showDownloads(closed) })
	if u.opts.Downloader == nil {
		b.Disable()
	}
	return b
}

// addModelFolder asks for a folder, adds it to the settings and searches again.
func (u *UI) addModelFolder(then func()) {
	u.pickFolder(func(dir string) {
		if slices.Contains(u.settings.ModelFolders, dir) {
			then()
			return
		}
		u.settings.ModelFolders = append(u.settings.ModelFolders, dir)
		u.saveSettings(func(err error) {
			if err != nil {
				u.showError("Cannot save the settings", err, "")
			}
			then()
		})
	})
}

// pickFolder asks for a folder in a picker the size of the file dialogs, shown as every
// dialog is (Esc closes it alone, not the Settings under it), and calls pick with its path.
func (u *UI) pickFolder(pick func(dir string)) {
	d := dialog.NewFolderOpen(func(l fyne.ListableURI, err error) {
		if err != nil {
			u.showError("Cannot open the folder", err, "")
			return
		}
		if l != nil {
			pick(l.Path())
		}
	}, u.win)
	d.Resize(u.dialogSize(fyne.NewSize(760, 520)))
	u.show(d)
}

// noModelScreen is what the window shows when no model was found: the models to download
// (with a Downloader), where models are looked for, and how to add a folder.
type noModelScreen struct {
	u *UI
	// problem says why the model used last is not loaded, when that is why there is none.
	problem   *widget.Label
	text      *bulleted
	downloads *downloadView
	content   fyne.CanvasObject
}

func newNoModelScreen(u *UI) *noModelScreen {
	s := &noModelScreen{u: u}
	title := widget.NewLabelWithStyle("No model found", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	title.SizeName = theme.SizeNameHeadingText
	s.text = newBulleted()
	add := u.newButton("Add folder…", theme.FolderOpenIcon(), func() {
		u.addModelFolder(func() { u.findModels(true) })
	})
	add.Importance = widget.HighImportance
	again := u.newButton("Look again", theme.ViewRefreshIcon(), func() { u.findModels(true) })
	s.problem = widget.NewLabel("")
	s.problem.Wrapping = fyne.TextWrapWord
	s.problem.Importance = widget.DangerImportance
	s.problem.Hide()
	box := container.NewVBox(
		container.NewCenter(container.NewGridWrap(fyne.NewSize(64, 64), widget.NewIcon(theme.ComputerIcon()))),
		title,
		s.problem,
	)
	if u.opts.Downloader != nil {
		// The download is the way most people get a model: it comes first, folders after.
		add.Importance = widget.MediumImportance
		s.downloads = u.downloads.newView()
		intro := widget.NewLabel("Download one to start. Janus-Pro-1B suits most computers; it is fetched from Hugging Face " +
			"into its usual cache, so other tools can use it too, and a stopped download continues where it stopped.")
		intro.Wrapping = fyne.TextWrapWord
		box.Add(intro)
		box.Add(s.downloads.content)
		box.Add(widget.NewSeparator())
	}
	if u.opts.Downloader != nil {
		// Where the window looked matters less once a download is offered: folded away.
		box.Add(widget.NewAccordion(widget.NewAccordionItem("Where Janus Desktop looked for models", s.text.box)))
	} else {
		box.Add(s.text.box)
	}
	buttons := container.NewHBox(layout.NewSpacer(), add, again)
	if u.opts.Downloader == nil {
		buttons.Add(u.downloadButton(nil))
	}
	buttons.Add(layout.NewSpacer())
	box.Add(buttons)
	// A column 560 wide, narrower in a narrow window (its text wraps), in the middle of
	// the screen when it is shorter than the screen; at the sides it keeps clear of the
	// scroll bar (the Download buttons ran under it).
	side := 2*theme.Padding() + theme.Size(theme.SizeNameScrollBar)
	scroll := container.NewVScroll(container.New(layout.NewCustomPaddedLayout(theme.Padding(), theme.Padding(), side, side),
		container.New(centeredColumn{560}, container.NewVBox(layout.NewSpacer(), box, layout.NewSpacer()))))
	s.content = scroll
	if s.downloads != nil {
		s.downloads.relayout = func() {
			box.Refresh()
			scroll.Refresh()
			s.focusFirst()
		}
	}
	return s
}

// focusFirst gives the first thing to do, the recommended model's Download, the focus when
// the screen is shown and no control on it has it (the window's start had focused the
// composer, hidden under this screen): Enter or Space starts it, Tab goes on from it. It
// looks soon, not now, and takes the Download there is then: the offers are drawn again when
// the hub answers, and a Download replaced in between was no longer in the window (Fyne
// logged "Failed to focus object which is not part of the canvas' content" at a first start).
func (s *noModelScreen) focusFirst() {
	s.u.do(func() {
		if s.downloads == nil || s.downloads.primary == nil || !s.content.Visible() {
			return
		}
		if f, ok := s.u.win.Canvas().Focused().(fyne.CanvasObject); ok && f.Visible() && within(s.content, f) {
			return
		}
		s.u.win.Canvas().Focus(s.downloads.primary)
	})
}

func (s *noModelScreen) update(search app.ModelSearch) {
	s.text.SetText(search.NoModelText())
	if s.downloads != nil {
		s.u.downloads.reload()
	}
}

// bulleted shows a text whose "  • " lines are a list: a bullet line that wraps goes on
// to the right of its bullet, not under it.
type bulleted struct {
	box  *fyne.Container
	Text string
}

func newBulleted() *bulleted { return &bulleted{box: container.NewVBox()} }

// SetText lays out t: its other lines as wrapped paragraphs, a blank line between groups.
// Within a group the lines stand as close as the lines of one label.
func (b *bulleted) SetText(t string) {
	b.Text = t
	b.box.RemoveAll()
	group := container.New(tightColumn{})
	var plain []string
	flush := func() {
		if len(plain) > 0 {
			l := widget.NewLabel(strings.Join(plain, "\n"))
			l.Wrapping = fyne.TextWrapWord
			group.Add(l)
			plain = nil
		}
	}
	end := func() {
		flush()
		if len(group.Objects) > 0 {
			b.box.Add(group)
			group = container.New(tightColumn{})
		}
	}
	for _, line := range strings.Split(strings.TrimRight(t, "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			end()
			continue
		}
		if rest, ok := strings.CutPrefix(strings.TrimLeft(line, " "), "• "); ok {
			flush()
			l := widget.NewLabel(rest)
			l.Wrapping = fyne.TextWrapWord
			group.Add(container.NewBorder(nil, nil, widget.NewLabel("  •"), nil, l))
			continue
		}
		plain = append(plain, line)
	}
	end()
}

// tightColumn stacks labels as the lines of one: each one's padding above overlaps the one
// before's below.
type tightColumn struct{}

func (tightColumn) overlap() float32 { return 2*theme.InnerPadding() - theme.Padding() }

func (l tightColumn) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for i, o := range objs {
		m := o.MinSize()
		s.Width = max(s.Width, m.Width)
		s.Height += m.Height
		if i > 0 {
			s.Height -= l.overlap()
		}
	}
	return s
}

func (l tightColumn) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	var y float32
	for _, o := range objs {
		h := o.MinSize().Height
		o.Move(fyne.NewPos(0, y))
		o.Resize(fyne.NewSize(size.Width, h))
		y += h - l.overlap()
	}
}
