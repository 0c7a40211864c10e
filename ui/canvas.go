package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/model"
)

// canvasExamples are the empty canvas's example prompts.
var canvasExamples = []string{
	"A lighthouse on a rocky coast at sunset, oil painting",
	"A red fox in fresh snow, soft morning light",
	"A cosy reading nook with plants, watercolour",
}

// canvasView is the Create screen: a prompt, the generation settings, and the results.
type canvasView struct {
	u *UI
	// stoppedWhy is why the run was stopped, when not by Stop (stopFor).
	stoppedWhy string
	// seedProblem is set while the notice says what is wrong with the seed field.
	seedProblem bool

	prompt   *promptEntry
	genB     *escButton
	count    *fieldSelect
	seed     *fieldEntry
	dice     *tipButton
	cfg      *escSlider
	cfgL     *widget.Label
	temp     *escSlider
	tempL    *widget.Label
	progress *thinBar
	progText *widget.Label
	stopB    *escButton
	progRow  *fyne.Container
	// settings is the row of the settings, which the progress row takes the place of while
	// a run goes on.
	settings *fyne.Container
	// progress and settings share slot, as tall as the taller of them: the grid under it
	// stays put as a run starts and ends.
	slot *fyne.Container
	// news (Saved …, Stopped.) shows over the top of the images for infoFor, loading while
	// a model loads, where they move nothing and cover no control; notice, under the
	// settings, a failure, until it is put right.
	news, loading *bubble
	loadCancelB   *escButton
	infoTimer     *time.Timer
	notice        *widget.Label
	// frame puts head over the pictures; head pads column, which centres lines: the prompt,
	// the settings and the lines under them (relayout).
	frame, head, column, lines *fyne.Container
	// waiting is set from Generate until the run's first step, which started says.
	waiting bool
	started time.Time
	// reset puts Settings' values for new images in the controls; settingsBack is when the
	// settings last came back in the progress row's place.
	reset        *escButton
	settingsBack time.Time
	// unsent is a prompt not run, with the controls as they were set for it, that a set
	// opened from the history replaced: New image puts them back.
	unsent *app.GenerationSettings
	// setID is the history entry of the images on the canvas ("" for none yet).
	setID  string
	status *widget.Label

	grid  *fyne.Container
	gridL *fitGrid
	tiles []*tile
	// before is what the canvas showed when the run on it started, shown again when the
	// run ends with nothing to show (stopped before its first preview, or failed).
	before *shownTiles
	empty  fyne.CanvasObject
	// examples are the empty canvas's example prompts, shown while the prompt is blank.
	examples *fyne.Container
	body     *fyne.Container
	ready    bool
	job      *app.GenerationJob
	// shown is the run whose tiles the canvas shows (nil for a set from the history).
	shown  *app.GenerationJob
	cancel context.CancelFunc
	last   app.GenerationSettings
	// previews counts the previews shown (tests check that they arrive).
	previews int

	content fyne.CanvasObject
}

// tile is one image of the results: the picture (a preview while generating, with the
// undecided rows dimmed) and, when done, its actions.
type tile struct {
	pic    *canvas.Image
	dim    *themedRect
	frac   float32 // share of rows decided
	bar    *fyne.Container
	result *app.GeneratedImage
	// picture stacks the background, the image and the dim layer; problem, added to it
	// when needed, says why a stored image could not be shown.
	picture *fyne.Container
	problem *widget.Label
	obj     fyne.CanvasObject
}

// showProblem says on the tile why its picture is missing.
func (t *tile) showProblem(text string) {
	if t.problem == nil {
		t.problem = widget.NewLabel("")
		t.problem.Wrapping = fyne.TextWrapWord
		t.problem.Alignment = fyne.TextAlignCenter
		t.problem.Importance = widget.DangerImportance
		t.picture.Add(container.NewVBox(layout.NewSpacer(), t.problem, layout.NewSpacer()))
	}
	t.problem.SetText(text)
	t.obj.Refresh()
}

// The prompt shows promptRows lines when it is short, growing with what is typed to
// promptMaxRows, after which it scrolls (it stood at two lines, the third cut in half); fewer
// than the composer's, as the pictures take the room below it.
const promptRows, promptMaxRows = 2, 5

func newCanvasView(u *UI) *canvasView {
	c := &canvasView{u: u}
	c.prompt = newPromptEntry("Describe the image you want — Ctrl+Enter generates", false)
	c.prompt.fitRows(promptRows, promptMaxRows)
	c.prompt.onCommandEnter = c.generate
	c.prompt.onEscape = c.stop
	c.prompt.onRefused = c.setNotice
	// A failure's line is about the prompt that was run: an edit starts afresh.
	c.prompt.OnChanged = func(string) {
		if c.prompt.fitRows(promptRows, promptMaxRows) && c.content != nil {
			c.content.Refresh() // the prompt's height is the layout's to change
		}
		if c.job == nil && c.notice.Visible() && c.notice.Importance == widget.DangerImportance {
			c.setNotice("")
		}
		c.updateButtons()
		c.showExamples()
		u.draftChanged()
	}
	c.genB = c.u.newButton("Generate", theme.MediaPlayIcon(), c.generate)
	c.genB.Importance = widget.HighImportance

	counts := make([]string, 8)
	for i := range counts {
		counts[i] = strconv.Itoa(i + 1)
	}
	// The controls are part of the drafts: a restart keeps them (leftSettings).
	// Esc on these controls is the window's (it stops a run), as in the prompt.
	c.count = newFieldSelect(counts, u.escape)
	c.count.OnChanged = func(string) { u.draftChanged() }
	c.seed = newFieldEntry(u.escape)
	c.seed.OnChanged = func(string) {
		u.draftChanged()
		if c.seedProblem {
			c.seedProblem = false
			c.setNotice("") // about the seed as it was: an edit makes it stale
		}
	}
	c.seed.onCommandEnter = c.generate
	c.seed.SetPlaceHolder("random")
	c.dice = u.newTipButton(diceIcon(), "New random seed", c.rollSeed)
	// From 0 (no guidance), as Settings takes it; a tenth a step, so that a value typed in
	// Settings is what runs (a coarser step rounded it, and the label said otherwise).
	c.cfg = newEscSlider(0, app.MaxCanvasCFG, u.escape)
	c.cfg.Step = 0.1
	c.cfgL = widget.NewLabel("")
	c.cfg.OnChanged = func(v float64) { c.cfgL.SetText(fmt.Sprintf("%.1f", v)); u.draftChanged() }
	c.temp = newEscSlider(0, app.MaxTemperature, u.escape)
	c.temp.Step = 0.01
	c.tempL = widget.NewLabel("")
	c.temp.OnChanged = func(v float64) { c.tempL.SetText(fmt.Sprintf("%.2f", v)); u.draftChanged() }
	c.reset = c.u.newButton("Reset", nil, func() {
		// A click meant for Stop as the run ends lands on Reset, which the settings bring
		// back to that place: it must not wipe them.
		if time.Since(c.settingsBack) < resetGuard {
			return
		}
		// Settings' values for new images, as at the start: what its New images section
		// says Reset brings back (the original's defaults unless changed there).
		c.applySettings(c.u.settings.Generation, false)
	})
	c.reset.Importance = widget.LowImportance
	c.applySettings(u.settings.Generation, false)

	caption := func(s string) *widget.Label {
		l := widget.NewLabel(s)
		l.Importance = widget.LowImportance
		return l
	}
	labelled := func(name string, obj, value fyne.CanvasObject) fyne.CanvasObject {
		return container.NewBorder(nil, nil, caption(name), value, obj)
	}
	left := container.NewHBox(caption("Images"), container.New(fixedWidth{76}, softFocus(c.count)), // one digit
		caption("Seed"), container.New(fixedWidth{152}, c.seed), c.dice) // 16 digits: seeds < 2^53
	sliders := container.NewGridWithColumns(2,
		labelled("Guidance", c.cfg, container.New(fixedWidth{36}, c.cfgL)),
		labelled("Temperature", c.temp, container.New(fixedWidth{40}, c.tempL)))
	c.settings = container.New(&twoRows{wide: 470, gap: theme.Padding()}, left,
		container.NewBorder(nil, nil, nil, c.reset, sliders))
	top := container.NewBorder(nil, nil, nil, container.NewVBox(c.genB), c.prompt)

	c.progress = newThinBar()
	c.progText = widget.NewLabel("")
	c.progText.Importance = widget.LowImportance
	c.stopB = c.u.newButton("Stop", theme.MediaStopIcon(), c.stop)
	c.stopB.Importance = widget.MediumImportance // quiet beside the bar: one accent colour, Generate's
	c.progRow = container.NewBorder(nil, nil, nil, container.NewHBox(c.progText, c.stopB),
		c.progress)
	c.progRow.Hide()
	c.notice = widget.NewLabel("")
	c.notice.Importance = widget.DangerImportance
	c.notice.Wrapping = fyne.TextWrapWord
	c.notice.Hide()
	c.status = widget.NewLabel("")
	c.status.Wrapping = fyne.TextWrapWord
	c.status.Hide()

	c.gridL = &fitGrid{cols: 2, gap: 2 * theme.Padding(), max: 512}
	c.grid = container.New(c.gridL)
	c.empty = c.emptyState()
	c.showExamples()
	c.news = newBubble(nil)
	// A model loading shows over the pictures, as news does: a line under the settings moved
	// the pictures down while a model loaded, and back after. Why Generate waits for longer
	// (no model, one that failed) is a line under the settings.
	// Its Cancel is there while the sidebar, whose model line has one, is hidden.
	c.loadCancelB = c.u.newLoadCancel()
	c.loading = newBubble(c.loadCancelB)
	c.body = container.NewStack(c.grid, c.empty, c.loading.box, c.news.box)
	c.grid.Hide()

	// While a run goes on its progress takes the settings' place (they are for the next
	// run): the grid has the height the settings leave it whether a run goes on or not, and
	// no empty row is kept for the progress when none does. A failure's line takes room
	// under the settings, only while there is one.
	c.slot = container.New(steadyStack{}, c.settings, container.New(middleRow{}, c.progRow))
	// The prompt and its settings in a column as wide as a row of four tiles at most, centred
	// over the grid as the chat's column is: in a wide window they ran edge to edge, the
	// sliders half a metre long, over a grid in the middle.
	c.lines = container.NewVBox(top, c.slot, c.notice, c.status)
	c.column = container.New(centeredColumn{createWidth}, c.lines)
	c.head = container.NewPadded(c.column)
	c.frame = border(c.head, nil, nil, nil, container.NewPadded(c.body))
	c.content = container.NewPadded(c.frame)
	return c
}

// relayout lays the view out again from the frame that shares its height between the head
// (prompt, settings, the lines under them) and the pictures down to those lines, once one
// of them came, went or changed. The desktop driver does not do it reliably: its pass after
// a change lays out one container at a time, and a change among the pictures in the same
// frame (Stop's news over them) took the frame's turn, so the pictures did not move down and
// Stop's line was drawn under them.
func (c *canvasView) relayout() {
	for _, o := range []*fyne.Container{c.frame, c.head, c.column, c.lines} {
		o.Layout.Layout(o.Objects, o.Size())
	}
}

// createWidth is the widest the Create view's prompt and settings grow.
const createWidth = 960

func (c *canvasView) emptyState() fyne.CanvasObject {
	title := widget.NewLabelWithStyle("Describe an image and press Generate", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	title.SizeName = theme.SizeNameHeadingText
	sub := widget.NewLabelWithStyle("Or start from one of these:", fyne.TextAlignCenter, fyne.TextStyle{})
	sub.Importance = widget.LowImportance
	c.examples = container.NewVBox(sub)
	for _, ex := range canvasExamples {
		c.examples.Add(container.NewCenter(c.u.exampleChip(ex, func() {
			if strings.TrimSpace(c.prompt.Text) != "" {
				return // a draft is the user's (showExamples)
			}
			c.prompt.putText(ex)
			c.u.focusSoon(c.prompt)
		})))
	}
	// Their room is kept while they are hidden: the heading stays put as the typing starts.
	return container.NewCenter(container.NewVBox(title, container.New(steadyStack{}, c.examples)))
}

// showExamples shows the example prompts while the prompt is blank (showExamplesFor).
func (c *canvasView) showExamples() { c.u.showExamplesFor(c.examples, c.prompt.Text, c.prompt) }

// applySettings puts s in the controls (the prompt too when withPrompt).
func (c *canvasView) applySettings(s app.GenerationSettings, withPrompt bool) {
	if withPrompt {
		c.prompt.putText(s.Prompt)
	}
	// Against settings that differ from s in every field: all of s goes into the controls.
	c.applyChanged(app.GenerationSettings{N: -1, CFG: -1, Temperature: -1, Seed: ^s.Seed}, s)
}

// applyKeepingSeed puts s in the controls, the prompt too, and leaves the seed field as it is.
func (c *canvasView) applyKeepingSeed(s app.GenerationSettings) {
	c.prompt.putText(s.Prompt)
	// Against settings that differ from s in every field but the seed.
	c.applyChanged(app.GenerationSettings{N: -1, CFG: -1, Temperature: -1, FixedSeed: s.FixedSeed, Seed: s.Seed}, s)
}

// applyChanged puts in the controls the settings that differ between was and now, leaving
// the others as the user set them on the canvas: saving Settings with other changes (or
// none) does not undo them.
func (c *canvasView) applyChanged(was, now app.GenerationSettings) {
	if now.N != was.N {
		c.count.SetSelected(strconv.Itoa(min(max(now.N, 1), app.MaxCanvasImages)))
	}
	if now.FixedSeed != was.FixedSeed || now.Seed != was.Seed {
		if now.FixedSeed {
			c.seed.SetText(strconv.FormatUint(now.Seed, 10))
		} else {
			c.seed.SetText("")
		}
	}
	// The labels say the sliders' values: what runs, where a value (an old set's) is out
	// of their range.
	if now.CFG != was.CFG {
		c.cfg.SetValue(now.CFG)
		c.cfgL.SetText(fmt.Sprintf("%.1f", c.cfg.Value))
	}
	if now.Temperature != was.Temperature {
		c.temp.SetValue(now.Temperature)
		c.tempL.SetText(fmt.Sprintf("%.2f", c.temp.Value))
	}
}

// leftSettings is what the controls hold, or those put aside with a prompt not run while
// they show a set from the history, for the next start: nil when that is the Generation
// defaults (or the seed field does not read).
func (c *canvasView) leftSettings() *app.GenerationSettings {
	g, err := c.settingsFromControls()
	if aside := c.putAside(); aside != nil {
		g, err = *aside, nil // the controls show a set from the history
	}
	def := c.u.settings.Generation
	g.Prompt, def.Prompt = "", ""
	if err != nil || g == def {
		return nil
	}
	return &g
}

// settingsFromControls reads the controls; an unreadable seed is an error naming it.
func (c *canvasView) settingsFromControls() (app.GenerationSettings, error) {
	s := app.GenerationSettings{
		Prompt:      strings.TrimSpace(c.prompt.Text),
		CFG:         c.cfg.Value,
		Temperature: c.temp.Value,
	}
	s.N, _ = strconv.Atoi(c.count.Selected)
	if t := strings.TrimSpace(c.seed.Text); t != "" {
		v, err := strconv.ParseUint(t, 10, 64)
		switch {
		case errors.Is(err, strconv.ErrRange):
			return s, fmt.Errorf("the seed %s is too large: at most %d, or empty for a random one", t, uint64(math.MaxUint64))
		case err != nil && strings.HasPrefix(t, "-"):
			return s, fmt.Errorf("the seed %s is below 0: a whole number from 0, or empty for a random one", t)
		case err != nil:
			return s, fmt.Errorf("the seed %q is not a whole number: leave it empty for a random one", t)
		}
		s.Seed, s.FixedSeed = v, true
	}
	return s, nil
}

func (c *canvasView) rollSeed() {
	s, err := app.RandomSeed()
	if err != nil {
		c.setNotice(firstLine(err))
		return
	}
	c.seed.SetText(strconv.FormatUint(s, 10))
}

// resetGuard is how long after a run ends Reset ignores clicks: Stop was in its place.
const resetGuard = 700 * time.Millisecond

// infoFor is how long news stays on the canvas.
const infoFor = 4 * time.Second

// setInfo shows s in the toast for infoFor, also while a run goes on.
func (c *canvasView) setInfo(s string) {
	if c.infoTimer != nil {
		c.infoTimer.Stop()
	}
	c.news.show(s)
	c.infoTimer = time.AfterFunc(infoFor, func() {
		c.u.do(func() {
			if c.news.label.Text == s {
				c.news.box.Hide()
			}
		})
	})
}

// setNote shows s on the notice's line as a plain remark, not a failure; it goes as a
// notice does (a new run, New image, a set opened).
func (c *canvasView) setNote(s string) {
	c.setNotice(s)
	c.notice.Importance = widget.LowImportance
	c.notice.Refresh()
}

func (c *canvasView) setNotice(s string) {
	c.notice.Importance = widget.DangerImportance
	c.notice.SetText(sentenceStart(s))
	c.notice.Hidden = s == ""
	c.notice.Refresh()
	c.relayout()
}

// setReady enables Generate, or disables it with a line saying why.
func (c *canvasView) setReady(ready bool, why string) {
	c.ready = ready
	c.status.SetText(why)
	c.status.Hidden = ready || why == ""
	c.status.Refresh()
	c.relayout()
	c.loading.box.Hide()
	c.loadCancelB.Hide()
	c.updateButtons()
}

// showLoading says why Generate waits while a model loads (progress), over the pictures.
func (c *canvasView) showLoading(why string) {
	c.ready = false
	c.status.Hide()
	c.relayout()
	c.loadCancelB.Hidden = !c.u.loadCancelShown()
	c.loading.show(why)
	c.updateButtons()
}

func (c *canvasView) updateButtons() {
	// Generate waits for a prompt, as Send waits for a question (a click on an empty prompt
	// put a line under the settings, and the images moved down for it).
	if c.ready && c.job == nil && strings.TrimSpace(c.prompt.Text) != "" {
		c.genB.Enable()
	} else {
		c.genB.Disable()
	}
}

// clear empties the canvas for a new image (a running generation goes on to its end and
// stays in the history).
// A prompt typed and not run is the user's: New image keeps it, and a set opened from the
// history over it puts it aside (unsent) for the next New image.
func (c *canvasView) clear() {
	if !c.unsentPrompt() {
		if c.unsent != nil {
			c.applySettings(*c.unsent, true)
		} else {
			c.prompt.putText("")
		}
		c.unsent = nil
	}
	c.forget()
}

// unsentPrompt reports whether the prompt field holds a prompt not run: one the images on
// the canvas were not made from.
func (c *canvasView) unsentPrompt() bool {
	p := strings.TrimSpace(c.prompt.Text)
	return p != "" && p != strings.TrimSpace(c.last.Prompt)
}

// putAside is the prompt not run and its settings that a set opened from the history put
// aside, while the controls show that set (nil otherwise).
func (c *canvasView) putAside() *app.GenerationSettings {
	if c.unsentPrompt() {
		return nil
	}
	return c.unsent
}

// draftPrompt is the prompt to keep for the next start: the one put aside when the field
// holds the prompt of the images shown.
func (c *canvasView) draftPrompt() string {
	if aside := c.putAside(); aside != nil {
		return aside.Prompt
	}
	return c.prompt.Text
}

// forget empties the canvas of the images it shows (their history entry was deleted), and
// keeps the prompt and settings.
func (c *canvasView) forget() {
	c.shown, c.setID, c.before = nil, "", nil
	c.showTiles(nil)
	c.setNotice("")
	c.news.box.Hide()
	c.showRun(c.job != nil)
}

// generate is the Generate button and Ctrl/Cmd+Enter.
func (c *canvasView) generate() {
	if !c.ready || c.job != nil {
		return
	}
	s, err := c.settingsFromControls()
	if err != nil {
		c.setNotice(err.Error()) // the seed's problem: the only one the controls can have
		c.seedProblem = true
		return
	}
	if s.Prompt == "" {
		c.setNotice("Write what the image should show first.")
		c.u.win.Canvas().Focus(c.prompt)
		return
	}
	c.start(s)
}

// start runs a generation with s and shows its tiles at once.
func (c *canvasView) start(s app.GenerationSettings) {
	ctx, cancel := context.WithCancel(context.Background())
	var job *app.GenerationJob
	job, err := app.StartGeneration(ctx, c.u.engine, app.GenerationRequest{
		Settings:  s,
		ModelName: c.u.modelName(),
		Software:  c.u.software(),
		Store:     c.u.store,
	}, app.GenerationCallbacks{
		OnProgress: func(p app.GenerationProgress) { c.u.do(func() { c.showProgress(p) }) },
		OnPreview: func(p app.Preview) {
			c.u.do(func() {
				if c.shown == job {
					c.showPreview(p)
				}
			})
		},
		OnDone: func(imgs []app.GeneratedImage, err error) {
			slog.Info("generation finished", "images", len(imgs), "err", err)
			c.u.do(func() { c.finish(job, imgs, err) })
		},
	})
	if err != nil {
		cancel()
		c.setNotice(firstLine(err))
		return
	}
	c.cancel = cancel
	c.before = nil
	if c.grid.Visible() && len(c.tiles) > 0 {
		c.before = &shownTiles{tiles: c.tiles, cols: c.gridL.cols, setID: c.setID, last: c.last}
	}
	c.job, c.shown, c.stoppedWhy = job, job, ""
	c.u.workChanged()
	c.setID = ""           // in the history once the run ends
	c.u.sidebar.markOpen() // the set shown before is no longer the one in front
	c.last = job.Settings()
	c.setNotice("")
	c.makeTiles(s.N)
	c.progress.SetValue(0)
	c.waiting, c.started = true, time.Now()
	c.showWaiting()
	c.showRun(true)
	c.updateButtons()
	// "Starting…" counts the time until the first step: a long prompt on a slow machine takes
	// long enough to look like a hang.
	c.u.everySecond(job.Done(), func() {
		if c.job == job {
			c.showWaiting()
		}
	})
}

// showRun shows the progress row in the settings' place while a run goes on, the settings
// otherwise.
func (c *canvasView) showRun(running bool) {
	if !running && c.settings.Hidden {
		c.settingsBack = time.Now()
	}
	if running {
		c.u.keepFocus(c.settings, c.prompt)
	} else {
		c.u.keepFocus(c.progRow, c.prompt)
	}
	c.progRow.Hidden = !running
	c.settings.Hidden = running
	c.slot.Refresh()
}

// stop is Esc and the Stop button.
func (c *canvasView) stop() { c.stopFor("") }

// stopFor stops the run for a reason other than Stop, which the canvas says when it has
// stopped ("another model was loaded"): a bare "Stopped." read as a fault.
func (c *canvasView) stopFor(why string) {
	if c.job != nil {
		c.stoppedWhy = why
		c.job.Cancel()
	}
}

func (c *canvasView) makeTiles(n int) {
	c.tiles = make([]*tile, n)
	c.gridL.cols = gridColumns(n)
	c.grid.RemoveAll()
	for i := range c.tiles {
		t := c.newTile(i)
		c.tiles[i] = t
		c.grid.Add(t.obj)
	}
	c.empty.Hide()
	c.grid.Show()
	c.grid.Refresh()
}

// gridColumns is the design's grid: one column for one image, 2 per row for 2-4, 4 for 5-8.
func gridColumns(n int) int {
	switch {
	case n <= 1:
		return 1
	case n <= 4:
		return 2
	}
	return 4
}

// tileBar is the height of a tile's action bar.
const tileBar = 40

// tileAction is one of a finished image's actions, on its tile and in its large view.
type tileAction struct {
	name, tip string
	icon      fyne.Resource
	do        func()
	// inView, when set, is the action in the large view, which stays open under it (Save's
	// file dialog comes over it, and the canvas's news is under it): it calls done once
	// the action succeeded, and the button says doneName for a moment. Actions without it
	// go elsewhere, and close the view.
	inView   func(done func())
	doneName string
}

// tileActions are image i's actions: Save, Copy, Ask, Variations.
func (c *canvasView) tileActions(i int) []tileAction {
	return []tileAction{
		{"Save", "Save as PNG", theme.DocumentSaveIcon(), func() { c.saveDialog(i, nil) },
			func(done func()) { c.saveDialog(i, done) }, "Saved"},
		{"Copy", "Copy the picture", theme.ContentCopyIcon(), func() { c.copyImage(i, nil) },
			func(done func()) { c.copyImage(i, done) }, "Copied"},
		{"Ask", "Ask about this image", chatIcon(), func() { c.askAbout(i) }, nil, ""},
		{"Variations", "Variations: the same prompt, new seeds", theme.ViewRefreshIcon(), func() { c.variations() }, nil, ""},
	}
}

func (c *canvasView) newTile(i int) *tile {
	t := &tile{}
	bg := newThemedRect(colorNameTile, 10)
	t.pic = canvas.NewImageFromImage(nil)
	t.pic.FillMode = canvas.ImageFillContain
	t.pic.ScaleMode = canvas.ImageScaleSmooth
	t.dim = newThemedRect(colorNameDim, 0)
	t.picture = container.New(&dimLayout{t: t}, bg, t.pic, t.dim)
	picture := t.picture
	// The actions with their names where the tile is wide enough, else as icons with tips
	// (eight tiles in a row), else behind one "…" button (eight tiles in a small window,
	// where the icons of neighbouring tiles ran together).
	actions := c.tileActions(i)
	named, icons := container.NewHBox(layout.NewSpacer()), container.NewHBox(layout.NewSpacer())
	for _, a := range actions {
		b := c.u.newButton(a.name, a.icon, a.do)
		b.Importance = widget.LowImportance
		named.Add(b)
		ib := c.u.newTipButton(a.icon, a.tip, a.do)
		ib.Importance = widget.LowImportance
		icons.Add(ib)
	}
	named.Add(layout.NewSpacer())
	icons.Add(layout.NewSpacer())
	var moreB *tipButton
	moreB = c.u.newTipButton(theme.MoreHorizontalIcon(), "Save, Copy, Ask, Variations", func() {
		items := make([]*fyne.MenuItem, len(actions))
		for k, a := range actions {
			items[k] = fyne.NewMenuItemWithIcon(a.tip, a.icon, a.do)
		}
		at := fyne.CurrentApp().Driver().AbsolutePositionForObject(moreB)
		widget.ShowPopUpMenuAtPosition(fyne.NewMenu("", items...), c.u.win.Canvas(), at.Add(fyne.NewPos(0, moreB.Size().Height)))
	})
	moreB.Importance = widget.LowImportance
	more := container.NewHBox(layout.NewSpacer(), moreB, layout.NewSpacer())
	t.bar = container.New(widestFit{}, named, icons, more)
	t.bar.Hide()
	t.obj = container.New(&tileLayout{bar: tileBar}, newKeyTarget(picture, func() { c.openLarge(i) }, c.u.escape), t.bar)
	return t
}

// showWaiting says what the run waits for before its first step: the model answers one
// request at a time, so an answer being written in Chat holds it.
func (c *canvasView) showWaiting() {
	if !c.waiting || c.job == nil {
		return
	}
	if c.u.chat.session.Busy() {
		c.progText.SetText("Waiting for the answer in Chat to finish…")
		c.started = time.Now() // "Starting…" counts from the end of this wait
	} else {
		c.progText.SetText(waitedLine("Starting…", c.started))
	}
}

// showProgress updates the bar and the "images/s · time left" line.
func (c *canvasView) showProgress(p app.GenerationProgress) {
	c.waiting = false
	// The bar follows the time, once it is estimated: by the tokens alone it stood full
	// through the final decode. It never goes back.
	f := c.progress.value
	switch {
	case p.Remaining > 0:
		f = max(f, p.Elapsed.Seconds()/(p.Elapsed+p.Remaining).Seconds())
	case p.Tokens > 0 && p.DecodeStages == 0:
		f = max(f, 0.9*float64(p.Token)/float64(p.Tokens)) // the decode's share left
	}
	c.progress.SetValue(min(f, 1))
	var parts []string
	if p.ImagesPerSecond > 0 {
		parts = append(parts, formatRate(p.ImagesPerSecond, "images/s"))
	}
	if p.Remaining > 0 {
		parts = append(parts, roundDuration(p.Remaining)+" left")
	}
	if len(parts) == 0 {
		parts = append(parts, "Estimating the time left…")
	}
	if c.job != nil && c.shown != c.job {
		// The canvas shows something else (New image, the history): the bar and Stop are
		// for a run out of sight, which the line names.
		parts = append([]string{"“" + shorten(c.job.Settings().Prompt, 32) + "”"}, parts...)
	}
	c.progText.SetText(strings.Join(parts, " · "))
}

// roundDuration writes the time a generation has left: "45 s", "3 min 12 s". It keeps the
// seconds past a minute, where a download's line (formatDuration) rounds to minutes and
// hours: a generation takes minutes, a model's download can take hours.
func roundDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d s", int(d.Seconds()+0.5))
	}
	return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
}

// showPreview puts the partial pictures in the tiles, dimming the rows not yet decided.
func (c *canvasView) showPreview(p app.Preview) {
	c.previews++
	for i, img := range p.Images {
		if i >= len(c.tiles) {
			break
		}
		t := c.tiles[i]
		t.pic.Image = img
		if p.TotalRows > 0 {
			t.frac = float32(p.Rows) / float32(p.TotalRows)
		}
		t.pic.Refresh()
		c.tiles[i].obj.Refresh()
	}
}

// finish ends job: its images go in the tiles (when the canvas still shows its run), or the
// line says why there are none.
func (c *canvasView) finish(job *app.GenerationJob, imgs []app.GeneratedImage, err error) {
	c.job = nil
	c.u.runEnded(err)
	c.u.workChanged()
	c.waiting = false
	if c.u.chat.session.Busy() {
		c.u.chat.sync() // an answer waiting for the model said so until now
	}
	if c.cancel != nil {
		c.cancel()
		c.cancel = nil
	}
	c.showRun(false)
	c.updateButtons()
	c.u.sidebar.reloadHistory()
	before := c.before
	c.before = nil
	var notStored *app.NotStoredError
	kept := errors.As(err, &notStored) && len(imgs) > 0 // made, but only here
	if c.shown != job {
		// The canvas moved on (New image, the history): the run is in the history, unless
		// the history could not keep it; then it comes back, or it would be lost.
		if !kept {
			if err == nil && c.u.createShown() {
				// Made out of sight: said, or they landed in the history unnoticed.
				c.setInfo("The images for “" + shorten(job.Settings().Prompt, 40) + "” are in the history.")
			}
			return
		}
		c.shown, c.last = job, job.Settings()
		c.makeTiles(len(imgs))
		if !c.u.createShown() {
			c.u.chat.addNotice("The images made in Create could not be saved to the history: they are on the canvas, where Save keeps them")
		}
	}
	c.setID = job.SetID()
	switch {
	case isCancel(err):
		if c.stoppedWhy != "" {
			c.setInfo("Stopped: " + c.stoppedWhy + ".")
		} else {
			c.setInfo("Stopped.")
		}
		if len(imgs) == 0 && c.anyPreview() {
			// The dimmed pictures stay: once the news is gone, a line says what they are.
			c.setNote("Stopped: these pictures are unfinished, and not kept in the history.")
		}
	case errors.Is(err, model.ErrPromptTooLong):
		c.setNotice(firstLine(err) + ". Shorten the prompt.")
	case notStored != nil:
		c.setNotice("These images are not in the history: " + firstLine(notStored.Err) + ". Save keeps one as a PNG.")
	case err != nil:
		c.setNotice(firstLine(err))
	}
	c.fill(imgs)
	// A stopped run keeps its previews on screen (without actions); a failed one, and one
	// stopped before its first preview (grey tiles), gives way to what was there before.
	if len(imgs) == 0 && err != nil && (!isCancel(err) || !c.anyPreview()) {
		c.showTiles(before)
	}
}

// fill shows finished images in the tiles.
func (c *canvasView) fill(imgs []app.GeneratedImage) {
	for i := range imgs {
		if i >= len(c.tiles) {
			break
		}
		t := c.tiles[i]
		t.result = &imgs[i]
		t.pic.Image = imgs[i].Image
		t.frac = 1
		t.pic.Refresh()
		t.bar.Show()
		t.obj.Refresh()
	}
}

// shownTiles is a canvas's tiles with the run or history entry they came from.
type shownTiles struct {
	tiles []*tile
	cols  int
	setID string
	last  app.GenerationSettings
}

// showTiles puts back tiles that were on the canvas (nil: the empty canvas).
func (c *canvasView) showTiles(b *shownTiles) {
	if b == nil {
		c.tiles = nil
		c.grid.RemoveAll()
		c.grid.Hide()
		c.empty.Show()
		return
	}
	c.tiles, c.gridL.cols, c.setID, c.last = b.tiles, b.cols, b.setID, b.last
	c.grid.RemoveAll()
	for _, t := range b.tiles {
		c.grid.Add(t.obj)
	}
	c.grid.Show()
	c.empty.Hide()
}

// anyPreview reports whether a tile shows a picture, whole or in part.
func (c *canvasView) anyPreview() bool {
	for _, t := range c.tiles {
		if t.pic.Image != nil {
			return true
		}
	}
	return false
}

// showSet shows a saved image set from the history.
func (c *canvasView) showSet(set *app.ImageSet) {
	if c.unsentPrompt() {
		g, _ := c.settingsFromControls() // a seed that does not read is left out
		g.Prompt = c.prompt.Text
		c.unsent = &g
	}
	c.shown, c.before = nil, nil
	c.setNotice("")
	c.setID = set.ID
	// The set's seed stays out of the seed field, as after Variations: a set is opened to be
	// seen, and with its seed the next Generate (and the next start's draft) made these
	// pictures again. "Use these settings" puts a picture's seed there.
	c.applyKeepingSeed(set.Settings)
	c.last = set.Settings
	c.makeTiles(len(set.Images))
	store := c.u.store
	for i, si := range set.Images {
		t := c.tiles[i]
		meta := app.ImageMeta{Prompt: set.Settings.Prompt, Seed: si.Seed, CFG: set.Settings.CFG,
			Temperature: set.Settings.Temperature, Model: set.Model, Software: c.u.software()}
		path := store.ImagePath(si.Image)
		go func() {
			img, err := decodeStored(path)
			if err != nil {
				slog.Warn("history image", "set", set.ID, "image", si.Image.SHA256, "err", err)
				c.u.do(func() { t.showProblem("This image cannot be shown: " + firstLine(err)) })
				return
			}
			c.u.do(func() {
				t.result = &app.GeneratedImage{Image: img, Seed: si.Seed, Meta: meta, Ref: si.Image}
				t.pic.Image = img
				t.frac = 1
				t.pic.Refresh()
				t.bar.Show()
				t.obj.Refresh()
			})
		}()
	}
}

// decodeStored decodes a history image ("" is a reference the store could not name).
func decodeStored(path string) (*image.NRGBA, error) {
	if path == "" {
		return nil, errors.New("the history names no valid image file")
	}
	return app.DecodeImageFile(path)
}

// caption describes how an image was made.
func caption(m app.ImageMeta) string {
	// A long prompt is cut: in full it filled the large view, picture and all (Use these
	// settings puts all of it in the prompt).
	prompt := shorten(strings.Join(strings.Fields(m.Prompt), " "), captionRunes)
	return fmt.Sprintf("%s\n\nSeed %d · guidance %.1f · temperature %.2f · %s", prompt, m.Seed, m.CFG, m.Temperature, m.Model)
}

// captionRunes is the most of a prompt a picture's caption shows: about four lines.
const captionRunes = 320

// openLarge is a click on a tile: the image large with its settings and "Use these settings".
func (c *canvasView) openLarge(i int) {
	if i >= len(c.tiles) || c.tiles[i].result == nil {
		return
	}
	r := c.tiles[i].result
	var d dialog.Dialog
	use := c.u.newButton("Use these settings", theme.DocumentCreateIcon(), func() {
		s := c.last
		s.Prompt, s.Seed, s.FixedSeed, s.N = r.Meta.Prompt, r.Seed, true, 1
		s.CFG, s.Temperature = r.Meta.CFG, r.Meta.Temperature
		c.applySettings(s, true)
		d.Hide()
	})
	use.Importance = widget.HighImportance // the view's main action

	var buttons []fyne.CanvasObject
	tiles := c.tiles
	n := len(tiles)
	// turn shows the next image made (delta 1) or the previous (-1), the first after the
	// last: Left and Right, and the arrows at the row's start. Under a canvas that has
	// other tiles since (a run started by Ctrl+Enter), it only closes the view.
	turn := func(delta int) {
		if !slices.Equal(tiles, c.tiles) {
			d.Hide()
			return
		}
		for k := 1; k < n; k++ {
			if j := ((i+delta*k)%n + n) % n; c.tiles[j].result != nil {
				d.Hide()
				c.openLarge(j)
				return
			}
		}
	}
	if n > 1 {
		buttons = append(buttons, c.u.newTipButton(theme.NavigateBackIcon(), "Previous image (Left)", func() { turn(-1) }),
			c.u.newTipButton(theme.NavigateNextIcon(), "Next image (Right)", func() { turn(1) }))
	}
	buttons = append(buttons, use)
	for _, a := range c.tileActions(i) {
		if a.inView == nil {
			buttons = append(buttons, c.u.newButton(a.name, a.icon, func() { d.Hide(); a.do() }))
			continue
		}
		buttons = append(buttons, c.u.flashButton(a.name, a.doneName, a.icon, a.inView))
	}
	// The caption holds the prompt whole (it wraps): the title only says which image this is.
	title := "Image"
	if n > 1 {
		title = fmt.Sprintf("Image %d of %d", i+1, n)
	}
	d = c.u.showPicture(r.Image, title, caption(r.Meta), canvas.ImageScaleFastest, buttons...)
	c.u.onEnter(d, use.OnTapped) // the view's main action, marked as such
	if n > 1 {
		c.u.onTurn(d, turn)
	}
}

// saveDialog asks where to save image i; saved, when not nil, is called once it is written.
func (c *canvasView) saveDialog(i int, saved func()) {
	if i >= len(c.tiles) || c.tiles[i].result == nil {
		return
	}
	r := c.tiles[i].result // the picture asked for, whatever the canvas shows once a name is chosen
	c.u.askSavePath(app.ImageFileName(r.Meta.Prompt, r.Seed), ".png", func(path string, opened io.WriteCloser) {
		c.save(r, path, opened, func(err error) {
			switch {
			case saved == nil:
			case err != nil:
				// From the large view: the canvas's line is under it, unseen.
				c.u.showError("Cannot save the image", err, "Choose another folder or name.")
			default:
				saved()
			}
		})
	})
}

// save writes image i as a PNG with its settings in text chunks, off the UI goroutine;
// done, when not nil, is called on the UI goroutine with the result. opened, when not nil,
// is the file as the save dialog opened it (writeChosen).
func (c *canvasView) save(r *app.GeneratedImage, path string, opened io.WriteCloser, done func(error)) {
	go func() {
		err := writeChosen(path, opened, func() error { return app.SaveImage(path, r.Image, r.Meta, true) },
			func() ([]byte, error) { return app.EncodePNG(r.Image, r.Meta) })
		c.u.do(func() {
			if err != nil {
				c.setNotice(firstLine(err))
			} else {
				// The file's name first: where the toast cuts a long line, the folder goes.
				c.setInfo(savedLine(path))
			}
			if done != nil {
				done(err)
			}
		})
	}()
}

// savedLine is the news of a file saved at path.
func savedLine(path string) string {
	return "Saved " + filepath.Base(path) + " in " + filepath.Dir(path)
}

// copyImage puts image i on the clipboard as a PNG with its settings, as Save writes it.
// copied, when not nil (the large view), is called once it is there, and a failure is said
// over the view; else the canvas's news says either.
func (c *canvasView) copyImage(i int, copied func()) {
	if i >= len(c.tiles) || c.tiles[i].result == nil {
		return
	}
	r := c.tiles[i].result
	c.u.copyPicture(r.Image, r.Meta, func(err error) {
		switch {
		case err != nil && copied != nil:
			c.u.showError("Cannot copy the image", err, "Save it as a PNG instead.")
		case err != nil:
			c.setNotice(firstLine(err))
		case copied != nil:
			copied()
		default:
			c.setInfo("Copied the image to the clipboard")
		}
	})
}

// askAbout opens image i in a new chat, attached and ready for a question.
func (c *canvasView) askAbout(i int) {
	if i >= len(c.tiles) || c.tiles[i].result == nil {
		return
	}
	r := c.tiles[i].result
	c.u.newChat()
	// The stored copy is named by its digest; its chip is named by what it shows.
	session := c.u.chat.session
	attach := func(ref app.ImageRef) {
		c.u.chat.attachAsked(session, attachment{path: c.u.store.ImagePath(ref), label: "Image: " + r.Meta.Prompt})
	}
	if r.Ref.SHA256 != "" {
		attach(r.Ref)
		return
	}
	// Without a stored copy the picture is put into the store first (no temporary file is
	// left anywhere); the chat attaches that copy.
	store := c.u.store
	go func() {
		data, err := app.EncodePNG(r.Image, r.Meta)
		var ref app.ImageRef
		if err == nil {
			ref, err = store.PutImage(data)
		}
		if err != nil {
			c.u.do(func() { c.u.chat.setNotice(firstLine(err)) })
			return
		}
		c.u.do(func() { attach(ref) })
	}()
}

// variations generates again with the last settings and new seeds.
func (c *canvasView) variations() {
	if !c.ready || c.job != nil {
		return
	}
	s, err := app.Variations(c.last)
	if err != nil {
		c.setNotice(firstLine(err))
		return
	}
	// The controls show the run's settings but keep the seed field as it was: an empty one
	// (random) stays empty, so that the next Generate does not make these pictures again.
	c.applyKeepingSeed(s)
	c.start(s)
}

// dimLayout stacks a tile's background and picture, and covers the rows not yet decided
// with the dim layer.
type dimLayout struct{ t *tile }

func (d *dimLayout) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(96, 96) }

func (d *dimLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	side := min(size.Width, size.Height)
	pos := fyne.NewPos((size.Width-side)/2, (size.Height-side)/2)
	for _, o := range objs[:2] {
		o.Resize(fyne.NewSize(side, side))
		o.Move(pos)
	}
	dim := objs[2]
	top := side * d.t.frac
	if d.t.frac >= 1 || d.t.pic.Image == nil {
		dim.Hide()
	} else {
		dim.Show()
	}
	dim.Resize(fyne.NewSize(side, side-top))
	dim.Move(fyne.NewPos(pos.X, pos.Y+top))
	for _, o := range objs[3:] { // the problem line, inside the square
		pad := theme.Padding() * 2
		o.Resize(fyne.NewSize(max(0, side-2*pad), max(0, side-2*pad)))
		o.Move(fyne.NewPos(pos.X+pad, pos.Y+pad))
	}
}

// tileLayout puts a tile's picture above its action bar.
// widestFit shows the first of its objects that fits the width it is given, else the last:
// its minimum size is the last's.
type widestFit struct{}

func (widestFit) MinSize(objs []fyne.CanvasObject) fyne.Size { return objs[len(objs)-1].MinSize() }

func (widestFit) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	shown := len(objs) - 1
	for i, o := range objs {
		if o.MinSize().Width <= size.Width {
			shown = i
			break
		}
	}
	for i, o := range objs {
		if i == shown {
			o.Show()
		} else {
			o.Hide()
		}
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

type tileLayout struct{ bar float32 }

func (l *tileLayout) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(96, 96+l.bar) }

func (l *tileLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	side := max(0, size.Height-l.bar)
	objs[0].Resize(fyne.NewSize(size.Width, side))
	objs[0].Move(fyne.NewPos(0, 0))
	objs[1].Resize(fyne.NewSize(size.Width, l.bar))
	objs[1].Move(fyne.NewPos(0, side))
}

// formatRate writes a speed with as many digits as people need: "12 images/s", "2.4 images/s",
// "0.31 images/s".
func formatRate(v float64, unit string) string {
	switch {
	case v >= 10:
		return fmt.Sprintf("%.0f %s", v, unit)
	case v >= 1:
		return fmt.Sprintf("%.1f %s", v, unit)
	}
	return fmt.Sprintf("%.2f %s", v, unit)
}
