// Package ui is the Janus Desktop window: a sidebar (new chat, new image, the history, the
// model in use) beside two views, Chat (questions about dropped images, answers streaming in)
// and Create (prompt-to-image with live previews). One file per screen: chat.go, canvas.go,
// sidebar.go, models.go (the picker and the no-model screen), download.go, settings.go (with
// serve.go, "Serve on localhost"); this file assembles them.
//
// The views hold no model logic: sessions, jobs, the history store, settings and model
// discovery are package app's. Every long task runs on a job goroutine, and everything it
// changes in the window goes through fyne.Do (Options.RunOnUI in tests), so the window
// never waits for the model, a file decode or a PNG encode.
package ui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/api"
)

// Options configure the window.
type Options struct {
	// Env describes the machine: where models are searched and where history is kept.
	Env app.Env
	// StoreDir is the history and settings folder ("": Env.DefaultStoreDir()).
	StoreDir string
	// ModelDir, when set, is loaded at start instead of the last model used.
	ModelDir string
	// Engine, when not nil, is the loaded model: nothing is loaded at start (the models on
	// disk and the downloads are still looked for).
	Engine app.Engine
	// Attach are image files attached to the chat at start (`janus-desktop FILE...`, and the
	// smoke test's way to attach without drag and drop).
	Attach []string
	// Version is the app's version, shown in About and written into saved PNGs.
	Version string
	// Downloader fetches models; nil shows "Download…" disabled.
	Downloader app.Downloader
	// Claim, when not nil, is this process's claim on the data folder (app.ClaimDataFolder): a
	// later start of the app arrives through it and brings this window forward with its
	// images attached. The window gives it up when it closes.
	Claim *app.FolderClaim
	// RunOnUI runs f on the UI goroutine; nil means fyne.Do. Tests pass a queue they drain
	// so that widgets are only ever touched from the test's goroutine.
	RunOnUI func(f func())
	// launchWait, draftDelay, copiedFor and quitWait replace app.LaunchWait, draftDelay,
	// copiedFor and quitWait when set (tests).
	launchWait, draftDelay, copiedFor, quitWait time.Duration
	// exit replaces os.Exit for onClosed (tests).
	exit func(code int)
	// pictures and pasteWait replace the system's picture clipboard and pasteWait when set
	// (tests).
	pictures  pictureClipboard
	pasteWait time.Duration
	// inspect replaces app.Inspect for the check of a model folder chosen (tests).
	inspect func(dir string) (app.ModelEntry, error)
}

// UI is the main window and the state behind it. Its methods run on the UI goroutine.
type UI struct {
	opts  Options
	fapp  fyne.App
	win   fyne.Window
	do    func(func())
	store *app.Store
	// settingsW writes the settings: every change goes through it, so that the newest
	// settings are the ones on disk.
	settingsW *app.SettingsWriter

	settings app.Settings
	search   app.ModelSearch
	engine   app.Engine
	loading  *app.LoadJob
	// loaded is where engine came from and the options it was loaded with (empty for
	// Options.Engine); previous, while a load replaces it, is the model it replaces.
	loaded, previous loadedModel
	// clip is the picture clipboard, made at its first use (pictures).
	clip *guardedPictures
	// work counts the thumbnails being made off the UI goroutine (background), which
	// shutdown lets finish writing their files.
	work sync.WaitGroup
	// checks counts the checks of a model folder chosen while another model is in use
	// (load): only the newest may start its load.
	checks int

	sidebar *sidebar
	// side holds the sidebar, which View > Hide sidebar (sidebarItem) hides; body lays it
	// out beside the views.
	side        fyne.CanvasObject
	body        *fyne.Container
	sidebarItem *fyne.MenuItem
	chat        *chatView
	create      *canvasView
	tabs        *container.AppTabs
	noModel     *noModelScreen
	// noModelShown is set once the no-model screen was shown, until a model is in use.
	noModelShown bool
	// downloads is the model download the no-model screen and the Download… dialog show.
	downloads *downloads
	main      *fyne.Container
	tips      *tips

	// serving is "Serve on localhost" running on engine (nil when off or failed, serveErr
	// then says why); serveStatus updates the open settings dialog.
	serving     *api.Serving
	serveErr    error
	serveStatus func()
	// dialogs are the open dialogs shown with show, oldest first: Esc dismisses the last.
	dialogs []shownDialog
	// closed is set as the window closes (before shutdown runs): do then drops what it is
	// given, and a later start is not handed to the window.
	closed atomic.Bool
	// running is set while ShowAndRun runs; shutdownOnce runs shutdown once, from ShowAndRun
	// or from onClosed's wait for a Fyne that did not finish.
	running      atomic.Bool
	shutdownOnce sync.Once
	// quitWatched is set once the wait for Fyne to finish quitting started (watchQuit).
	quitWatched atomic.Bool
	// draftTimer saves the drafts after a pause in typing (draftChanged).
	draftTimer *time.Timer
	// quitNote is the text of the open "Quit while images are being made?" question (nil
	// when none), which runEnded corrects.
	quitNote *widget.Label
	// servePaused is the address the local API keeps while a model loads (pauseServing),
	// until startServing takes it over or closePausedServing lets it go; nil when none is.
	servePaused *keptAddress
	// serveClosing is closed once an address kept, or a server resumed too late, is let go.
	serveClosing chan struct{}
	// serveJobs counts the servers being resumed or stopped off the UI goroutine (offUI);
	// resumed is one resumed and not yet taken by the window (serveMu).
	serveJobs sync.WaitGroup
	serveMu   sync.Mutex
	resumed   *api.Serving
	// switchNote redraws the open switchQuestion's text (nil when none is open).
	switchNote func()
	// settingsErr is why the last save of the settings failed (nil when it worked): the
	// unsent text they keep is then lost at quit, which requestQuit asks about.
	settingsErr error
	// quitDialog is that question.
	quitDialog *askDialog
	// enterDown is set while Enter has gone down with nothing focused and not yet been typed
	// (windowKeyDown).
	enterDown bool
}

// startSize is the size the window opens at: the one it had when it last closed (saved),
// at least the smallest that works, else the default.
func startSize(saved *app.WindowSize) fyne.Size {
	if saved == nil || !(saved.Width > 0 && saved.Height > 0) { // NaN too
		return defaultWindowSize
	}
	return fyne.NewSize(saved.Width, saved.Height).Max(minWindowSize)
}

// Window sizes of the design: the default, and the smallest that still works.
var (
	defaultWindowSize = fyne.NewSize(1200, 800)
	minWindowSize     = fyne.NewSize(800, 560)
)

// New builds the window on a (which main makes with app.NewWithID, tests with
// test.NewTempApp) and starts finding models, and loading one unless opts.Engine is given. It
// fails only when no folder at all can hold the history.
func New(a fyne.App, opts Options) (*UI, error) {
	u := &UI{opts: opts, fapp: a}
	run := opts.RunOnUI
	if run == nil {
		run = fyne.Do
	}
	// Once the window has closed, the jobs that shutdown waits for (a generation ending,
	// a reply saving) have nothing to show: their updates are dropped rather than queued
	// for a UI loop that no longer runs (a quit once hung with Fyne's queue waiting on the
	// main goroutine; this closes the one way this code could feed it).
	u.do = func(f func()) {
		if !u.closed.Load() {
			run(f)
		}
	}
	notices, err := u.openStore()
	if err != nil {
		return nil, err
	}
	a.Settings().SetTheme(Theme())
	u.win = a.NewWindow("Janus Desktop")
	u.tips = newTips()

	u.sidebar = newSidebar(u)
	u.chat = newChatView(u)
	u.create = newCanvasView(u)
	u.downloads = newDownloads(u)
	u.noModel = newNoModelScreen(u)
	u.tabs = container.NewAppTabs(
		container.NewTabItemWithIcon("Chat", chatIcon(), u.chat.content),
		container.NewTabItemWithIcon("Create", theme.MediaPhotoIcon(), u.create.content),
	)
	u.tabs.OnSelected = func(*container.TabItem) {
		u.focusCurrent()
		u.sidebar.markOpen()
	}
	u.main = container.NewStack(u.tabs, u.noModel.content)
	u.noModel.content.Hide()

	sideBg := newThemedRect(colorNameSidebar, 0)
	u.side = container.New(fixedWidth{252}, container.NewStack(sideBg, u.sidebar.content))
	u.body = border(nil, nil, u.side, nil, u.main)
	// No narrower than the design's smallest window, whose width Create's controls need; its
	// height is not held to (a 1080p screen at 200 % has 540 of Fyne's units).
	u.win.SetContent(container.New(floorStack{fyne.NewSize(minWindowSize.Width, 0)}, u.body, u.tips.layer))
	u.win.Resize(startSize(u.settings.Window))
	u.win.SetOnDropped(u.OnDropped)
	u.win.SetCloseIntercept(u.requestQuit)
	u.win.SetOnClosed(u.onClosed)
	menu := u.mainMenu()
	u.win.SetMainMenu(menu)
	u.addShortcuts(menu)
	u.showSidebar(!u.settings.HideSidebar)
	u.win.SetPadded(false)

	if opts.Engine != nil {
		u.setEngine(opts.Engine)
		u.findModels(false) // the models on disk and the downloads, as a start that loads one finds them
	} else {
		u.setNoEngine("Looking for models…")
		u.findModels(true)
	}
	u.sidebar.reloadHistory()
	if len(notices) > 0 {
		u.chat.setNotice(strings.Join(notices, "\n"))
	}
	if len(opts.Attach) > 0 {
		u.chat.attach(opts.Attach)
	}
	// What was typed and not sent when the window last closed.
	u.restoreDraft(u.chat.entry, &u.settings.Drafts.Chat, "chat")
	u.restoreDraft(u.create.prompt, &u.settings.Drafts.Prompt, "prompt")
	if g := u.settings.Drafts.Canvas; g != nil && g.Validate() == nil {
		u.create.applySettings(*g, false)
	}
	u.restoreChatDrafts()
	if u.settings.View == app.ViewCreate && len(opts.Attach) == 0 {
		u.ShowCreate() // where the window was left; images given at start are for a chat
	}
	u.focusCurrent() // the first keys typed go to the composer
	if opts.Claim != nil {
		opts.Claim.Serve(u.takeLaunch)
	}
	return u, nil
}

// takeLaunch is the data folder's Serve handler (another goroutine's): a start is told "ok"
// only once its images are in the window. A closing window says so, and one that cannot take
// them within app.LaunchWait says it is busy; a queued hand-over that comes after that answer
// is dropped, or the start, told otherwise, would see its images come late, or twice.
func (u *UI) takeLaunch(l app.Launch) error {
	if u.closed.Load() {
		return app.ErrClosing
	}
	const pending, taken, abandoned = 0, 1, 2
	var state atomic.Int32
	done := make(chan struct{})
	u.do(func() {
		if u.closed.Load() || !state.CompareAndSwap(pending, taken) {
			return
		}
		u.launched(l)
		close(done)
	})
	select {
	case <-done:
		return nil
	case <-time.After(cmp.Or(u.opts.launchWait, app.LaunchWait)):
	}
	if state.CompareAndSwap(pending, abandoned) {
		if u.closed.Load() {
			return app.ErrClosing
		}
		return app.ErrBusy
	}
	<-done // taken just now: it finishes
	return nil
}

// launched answers a later start of the app on the same data folder: the window comes
// forward and the images that start was given are attached to the chat.
func (u *UI) launched(l app.Launch) {
	slog.Info("started again", "images", len(l.Attach))
	u.win.Show()
	u.win.RequestFocus()
	if len(l.Attach) > 0 {
		u.tabs.SelectIndex(0)
		u.chat.attach(l.Attach)
	}
}

// ShowStartError shows why the app cannot start in a small window of its own and returns when
// it is closed: a start from a launcher has no terminal to read an error in.
func ShowStartError(a fyne.App, err error) {
	a.Settings().SetTheme(Theme())
	w := a.NewWindow("Janus Desktop")
	l := widget.NewLabel(sentenceStart(err.Error()))
	l.Wrapping = fyne.TextWrapWord
	ok := widget.NewButton("OK", w.Close)
	ok.Importance = widget.HighImportance
	w.SetContent(container.NewPadded(container.NewBorder(nil, container.NewHBox(layout.NewSpacer(), ok), nil, nil,
		container.New(fixedWidth{420}, l))))
	w.Canvas().Focus(ok)
	w.ShowAndRun()
}

// ShowAndRun shows the window and runs the app until it is closed.
func (u *UI) ShowAndRun() {
	u.running.Store(true)
	// Fyne quits on these without closing the window (no onClosed): the wait starts here too.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		u.watchQuit()
	}()
	u.win.ShowAndRun()
	u.shutdownOnce.Do(u.shutdown)
}

// quitWait is how long after the window closed the app waits for Fyne to finish before it
// shuts down and exits without it.
const quitWait = 20 * time.Second

// onClosed runs as the window closes. Fyne 2.7 can then hang for good once its loop has
// ended, waiting for its lifecycle queue, which waits on a call it gave the ended loop (seen
// under Xvfb: a SIGTERM's quit, and a quit during a generation), so that ShowAndRun never
// returns: no shutdown (the engine and its memory held, the last drafts unsaved) and no exit.
// quitWait after the window closed, the app shuts down and exits without Fyne.
func (u *UI) onClosed() {
	u.closed.Store(true)
	if u.running.Load() { // not a test's window, which has no ShowAndRun to wait for
		u.watchQuit()
	}
}

// watchQuit starts onClosed's wait, once.
func (u *UI) watchQuit() {
	if !u.quitWatched.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(cmp.Or(u.opts.quitWait, quitWait), func() {
		slog.Warn("the window closed but the toolkit did not finish; shutting down without it")
		u.shutdownOnce.Do(u.shutdown)
		exit := os.Exit
		if u.opts.exit != nil {
			exit = u.opts.exit
		}
		exit(0)
	})
}

// shutdown stops what runs, so that nothing half-written is left behind: a reply is
// stopped (its question and partial answer are saved by the session), a load cancelled.
func (u *UI) shutdown() {
	u.closed.Store(true)
	if u.loading != nil {
		u.loading.Cancel()
	}
	u.downloads.close() // a pause: the next start continues it
	if u.draftTimer != nil {
		u.draftTimer.Stop()
	}
	d, size := u.drafts(), u.win.Canvas().Size()
	sized := size.Width > 0 && size.Height > 0 && (u.settings.Window == nil || *u.settings.Window != app.WindowSize{Width: size.Width, Height: size.Height})
	view := ""
	if u.createShown() {
		view = app.ViewCreate
	}
	hidden := !u.side.Visible()
	if !d.Equal(u.settings.Drafts) || sized || view != u.settings.View || hidden != u.settings.HideSidebar {
		u.settings.Drafts, u.settings.View, u.settings.HideSidebar = d, view, hidden
		if sized {
			u.settings.Window = &app.WindowSize{Width: size.Width, Height: size.Height}
		}
		// Written by the Flush below; a failure can only be logged now (the text typed
		// before the last pause in typing was saved then).
		u.settingsW.Save(u.settings, func(err error) {
			if err != nil {
				slog.Error("unsent text and window size not saved at quit", "err", err)
			}
		})
	}
	u.chat.close()
	// An edit its chat undid (stopped before its first word) joins the drafts, saved again.
	u.chat.undoneEdits()
	if d := u.drafts(); !d.Equal(u.settings.Drafts) {
		u.settings.Drafts = d
		u.settingsW.Save(u.settings, func(err error) {
			if err != nil {
				slog.Error("an edited question not saved at quit", "err", err)
			}
		})
	}
	if job := u.create.job; job != nil {
		job.Cancel()
		<-job.Done() // the model must not be closed under a running generation
	}
	stopServe(u.detachServing()) // before the model it serves is closed
	u.stopServingJobs()
	u.waitBackground(5 * time.Second)
	if u.engine != nil {
		u.engine.Close()
	}
	u.settingsW.Flush() // the last change is kept
	if u.opts.Claim != nil {
		// Last: a start from now on opens a window of its own, on what this one saved.
		u.opts.Claim.Close()
	}
}

// Drafts are saved draftDelay after the typing stops, so that a crash keeps them too; a
// draft longer than maxDraftRunes is not put back into its field at start (Fyne lays a long
// text out again at every change: 20,000 characters took 4 s a layout) but kept in a file.
const draftDelay = 2 * time.Second

const maxDraftRunes = 8000

// drafts is what the prompt and every chat's composer hold: the open chat's composer, the
// drafts of the chats the window left, and the images of the last start's drafts still
// being read again.
func (u *UI) drafts() app.Drafts {
	c := u.chat
	texts := map[string]string{}
	images := map[string][]app.DraftImage{}
	editing := map[string]bool{}
	add := func(id string, d composerDraft) {
		if d.text != "" {
			texts[id] = d.text
		}
		if d.editing && id != "" {
			editing[id] = true
		}
		for _, a := range d.attached {
			images[id] = append(images[id], app.DraftImage{Path: a.path, Label: a.label})
		}
	}
	for id, d := range c.drafts {
		add(id, d)
	}
	if c.session != nil {
		id := c.session.ID()
		delete(texts, id)
		delete(images, id)
		delete(editing, id)
		add(id, composerDraft{text: c.entry.Text, attached: c.attached, editing: c.editing})
	}
	for id, files := range c.restoring {
		add(id, composerDraft{attached: files})
	}
	d := app.Drafts{Chat: texts[""], Prompt: u.create.draftPrompt(), Canvas: u.create.leftSettings()}
	delete(texts, "")
	if len(texts) > 0 {
		d.Chats = texts
	}
	if len(images) > 0 {
		d.Images = images
	}
	for id := range editing {
		if texts[id] != "" || len(images[id]) > 0 {
			d.Editing = append(d.Editing, id)
		}
	}
	slices.Sort(d.Editing)
	return d
}

// draftChanged saves the drafts once the typing has paused for draftDelay.
func (u *UI) draftChanged() {
	if u.draftTimer != nil {
		u.draftTimer.Reset(cmp.Or(u.opts.draftDelay, draftDelay))
		return
	}
	u.draftTimer = time.AfterFunc(cmp.Or(u.opts.draftDelay, draftDelay), func() {
		u.do(func() {
			if d := u.drafts(); !d.Equal(u.settings.Drafts) {
				u.settings.Drafts = d
				u.saveSettings(nil) // a failure is told once (settingsNotSaved)
			}
		})
	})
}

// restoreDraft puts the draft of kind ("chat", "prompt") held at draft back into e, or, when
// it is too long for e to take quickly, into a file of the store, which the notice names; the
// settings then forget it, so that the next start does not keep it again.
func (u *UI) restoreDraft(e *promptEntry, draft *string, kind string) {
	if u.keptAside(kind, "", *draft) {
		*draft = ""
		u.saveSettings(nil)
		return
	}
	e.putText(*draft)
}

// restoreChatDrafts gives the chats their unsent texts and images back, shown when each is
// opened; a text too long to put back quickly goes to a file, as restoreDraft does.
func (u *UI) restoreChatDrafts() {
	for id, text := range u.settings.Drafts.Chats {
		if u.keptAside("chat", id, text) {
			// Its text is in a file now: an edit of the pictures alone would replace the
			// question with them.
			delete(u.settings.Drafts.Chats, id)
			u.settings.Drafts.Editing = slices.DeleteFunc(u.settings.Drafts.Editing, func(e string) bool { return e == id })
			u.saveSettings(nil)
			continue
		}
		u.chat.drafts[id] = composerDraft{text: text, editing: slices.Contains(u.settings.Drafts.Editing, id)}
	}
	for _, id := range u.settings.Drafts.Editing {
		// Pictures alone: they come back as restoreImages reads them (shown asks for them).
		if d, ok := u.chat.drafts[id]; !ok && len(u.settings.Drafts.Images[id]) > 0 {
			d.editing = true
			u.chat.drafts[id] = d
		}
	}
	for id, images := range u.settings.Drafts.Images {
		files := make([]attachment, len(images))
		for i, im := range images {
			files[i] = attachment{path: im.Path, label: cmp.Or(im.Label, filepath.Base(im.Path))} // a label left out of the file
		}
		u.chat.restoreImages(id, files)
	}
}

// keptAside reports whether the draft text of kind is too long to put back into a field
// quickly and was kept in a file of the store instead, which a notice names, with the chat
// (by its id, "" for the new chat's) it was written in. A draft that could not be kept there
// is put back however slowly: nothing is lost.
func (u *UI) keptAside(kind, chat, text string) bool {
	n := utf8.RuneCountInString(text)
	if n <= maxDraftRunes {
		return false
	}
	path, err := u.store.KeepUnsent(kind, text)
	if err != nil {
		slog.Error("keep a long draft", "err", err)
		return false
	}
	slog.Info("long draft kept in a file", "kind", kind, "path", path)
	if kind == "prompt" {
		// Said where the prompt was, in the words of a prompt that may have been run.
		u.create.setNotice(fmt.Sprintf("The prompt left in Create at the last quit (%d characters) is too long to put back quickly; it is kept in %s", n, path))
		return true
	}
	// The chat named: the notice shows under whichever chat is open, and said nothing of
	// which one the text was written in.
	where := "the new chat"
	if chat != "" {
		where = "a chat"
		if rec, err := u.store.LoadChat(chat); err == nil {
			where = "“" + rec.Title + "”"
		}
	}
	u.chat.addNotice(fmt.Sprintf("The text you had not sent in %s (%d characters) is too long to put back quickly; it is kept in %s", where, n, path))
	return true
}

// saveSettings stores the current settings off the UI goroutine (the latest always wins
// over an earlier save still waiting); done, when not nil, runs on the UI goroutine with the
// result, and a failure without done is told under the chat.
func (u *UI) saveSettings(done func(error)) {
	u.settingsW.Save(u.settings, func(err error) {
		u.do(func() {
			u.settingsErr = err
			if done != nil {
				done(err)
			} else if err != nil {
				u.settingsNotSaved(err)
			}
		})
	})
}

// settingsNotSaved tells a failed save beside the other notices, once; a settings file kept
// as it is (SettingsHeldError) was told at start, and is not told again at every save.
func (u *UI) settingsNotSaved(err error) {
	if errors.As(err, new(*app.SettingsHeldError)) {
		slog.Info("settings not saved over a kept settings file", "err", err)
		return
	}
	u.chat.addNotice("Settings not saved: " + firstLine(err))
}

// openStore opens the history folder and reads the settings. When the usual folder cannot
// be written, a temporary one is used; that, and a settings file that had to be set aside,
// are returned as lines for the window to show.
func (u *UI) openStore() (notices []string, err error) {
	dir := u.opts.StoreDir
	if dir == "" {
		dir = u.opts.Env.DefaultStoreDir()
	}
	st, err := app.OpenStore(dir)
	if err != nil {
		slog.Error("open history folder", "dir", dir, "err", err)
		// This user's folder in the temporary one (another user, or a file, may hold the
		// plain name), else a new one.
		name := "janus-desktop" // Windows: the temporary folder is the user's own
		if uid := os.Getuid(); uid >= 0 {
			name = fmt.Sprintf("janus-desktop-%d", uid)
		}
		tmp := filepath.Join(os.TempDir(), name)
		notPrivate := fmt.Errorf("%s is not this user's private folder", tmp)
		terr := notPrivate
		if app.PrivateFolder(tmp) {
			// Checked again once made: another user could have made it in between.
			if st, terr = app.OpenStore(tmp); terr == nil && !app.PrivateFolder(tmp) {
				terr = notPrivate
			}
		}
		if terr != nil {
			if tmp, terr = os.MkdirTemp("", "janus-desktop-"); terr == nil {
				st, terr = app.OpenStore(tmp)
			}
			if terr != nil {
				return nil, fmt.Errorf("open history folder: %w; fallback: %w", err, terr)
			}
		}
		notices = append(notices, fmt.Sprintf("History is kept in %s for now (a temporary folder, which the system may clear): %s", tmp, firstLine(err)))
	}
	if err := st.CheckWritable(); err != nil {
		slog.Error("history folder", "err", err)
		notices = append(notices, "Nothing made now can be kept in the history: "+firstLine(err)+
			". Fix the folder, or choose another with JANUS_DATA.")
	} else if err := st.CheckSettingsWritable(); err != nil {
		// The history's own folders take what is made; the settings and drafts are lost.
		slog.Error("history folder", "err", err)
		notices = append(notices, "Settings and unsent text cannot be saved: "+firstLine(err)+
			". Fix the folder, or choose another with JANUS_DATA.")
	}
	u.store = st
	u.settingsW = app.NewSettingsWriter(st)
	s, problems, err := st.LoadSettings()
	if err != nil {
		slog.Error("load settings", "err", err)
		line := "Settings could not be read, so the defaults are used: " + firstLine(err)
		if errors.As(err, new(*app.SettingsHeldError)) {
			line = firstLine(err) // it says so itself
		}
		notices = append(notices, line)
		s = app.DefaultSettings()
	}
	for _, p := range problems {
		slog.Warn("settings set aside", "problem", p.Error())
		notices = append(notices, p.Error())
	}
	u.settings = s
	return notices, nil
}

// showError shows what happened and what to do in a dialog over the window.
func (u *UI) showError(title string, err error, what string) {
	var parts []string
	if err != nil {
		parts = append(parts, sentenceStart(err.Error()))
	}
	if what != "" {
		parts = append(parts, what)
	}
	text := strings.Join(parts, "\n\n") // the title is the dialog's own
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	u.show(u.infoDialog(title, container.New(fixedWidth{460}, l)))
}

// mainMenu is the File, View and Help menus, with the usual shortcuts (Ctrl on Linux, Cmd
// on macOS): N a new chat, comma the settings, Q quits, 1 and 2 the views.
func (u *UI) mainMenu() *fyne.MainMenu {
	key := func(item *fyne.MenuItem, k fyne.KeyName) *fyne.MenuItem {
		item.Shortcut = &desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierShortcutDefault}
		return item
	}
	quit := key(fyne.NewMenuItem("Quit", u.requestQuit), fyne.KeyQ)
	quit.IsQuit = true
	newImage := fyne.NewMenuItem("New image", u.startImage)
	newImage.Shortcut = &desktop.CustomShortcut{KeyName: fyne.KeyN, Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift}
	file := fyne.NewMenu("File",
		key(fyne.NewMenuItem("New chat", u.startChat), fyne.KeyN),
		newImage,
		fyne.NewMenuItemSeparator(),
		key(fyne.NewMenuItem("Models…", u.showModelPicker), fyne.KeyL), // L for load, as in LM Studio
		key(fyne.NewMenuItem("Settings…", u.showSettings), fyne.KeyComma),
		fyne.NewMenuItemSeparator(),
		quit,
	)
	// Fyne's tabs take no keyboard focus: these keys are the keyboard's way to the views.
	if u.sidebarItem == nil { // one item, whose label showSidebar changes
		u.sidebarItem = key(fyne.NewMenuItem("Hide sidebar", func() { u.showSidebar(!u.side.Visible()) }), fyne.KeyB)
	}
	view := fyne.NewMenu("View",
		key(fyne.NewMenuItem("Chat", u.ShowChat), fyne.Key1),
		key(fyne.NewMenuItem("Create", u.ShowCreate), fyne.Key2),
		fyne.NewMenuItemSeparator(),
		u.sidebarItem,
		key(fyne.NewMenuItem("Search the history", u.sidebar.focusSearch), fyne.KeyF),
	)
	help := fyne.NewMenu("Help", fyne.NewMenuItem("Keyboard shortcuts", u.showKeys), fyne.NewMenuItem("About Janus Desktop", u.showAbout))
	return fyne.NewMainMenu(file, view, help)
}

// addShortcuts binds the window's keys: Ctrl/Cmd+Enter generates, Esc closes the newest
// dialog or stops, and the menu's shortcuts, which Fyne shows in its own menu bar but
// binds only in macOS's native one.
func (u *UI) addShortcuts(menu *fyne.MainMenu) {
	c := u.win.Canvas()
	if runtime.GOOS != "darwin" {
		for _, m := range menu.Items {
			for _, item := range m.Items {
				if item.Shortcut == nil {
					continue
				}
				do := item.Action
				c.AddShortcut(item.Shortcut, func(fyne.Shortcut) { do() })
			}
		}
	}
	for _, mod := range []fyne.KeyModifier{fyne.KeyModifierControl, fyne.KeyModifierSuper} {
		for _, key := range []fyne.KeyName{fyne.KeyReturn, fyne.KeyEnter} {
			c.AddShortcut(&desktop.CustomShortcut{KeyName: key, Modifier: mod}, func(fyne.Shortcut) {
				if u.createShown() {
					u.create.generate()
				}
			})
		}
	}
	if dc, ok := c.(desktop.Canvas); ok {
		dc.SetOnKeyDown(u.windowKeyDown)
	}
	// Fyne gives keys to the window only while no widget has the focus; the fields of
	// dialogs call escape themselves (fieldEntry, fieldSelect, fieldCheck).
	c.SetOnTypedKey(func(k *fyne.KeyEvent) {
		switch k.Name {
		case fyne.KeyEscape:
			u.escape()
		case fyne.KeyReturn, fyne.KeyEnter:
			if !u.enterDown {
				return // a held key's repeat (windowKeyDown)
			}
			u.enterDown = false
			if n := len(u.dialogs); n > 0 && u.dialogs[n-1].enter && u.dialogs[n-1].confirm != nil {
				u.dialogs[n-1].confirm()
			}
		case fyne.KeyLeft, fyne.KeyRight:
			if n := len(u.dialogs); n > 0 && u.dialogs[n-1].turn != nil {
				u.dialogs[n-1].turn(map[fyne.KeyName]int{fyne.KeyLeft: -1, fyne.KeyRight: 1}[k.Name])
			}
		}
	})
}

// windowKeyDown is a key going down with nothing focused. Enter answers the dialog in front
// only when it went down there: Enter held on a picture of Create opens its large view, and
// the key's repeats, which reach the window with nothing focused, took "Use these settings"
// too.
func (u *UI) windowKeyDown(k *fyne.KeyEvent) {
	if k.Name == fyne.KeyReturn || k.Name == fyne.KeyEnter {
		u.enterDown = true
	}
}

// everySecond runs f on the UI goroutine every second until done is closed: a line that
// counts time (a download's silence, a wait's length) is drawn again when nothing else
// would draw it.
func (u *UI) everySecond(done <-chan struct{}, f func()) {
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				u.do(f)
			}
		}
	}()
}

// escape is Esc: it closes the newest dialog, or else stops what the view in front runs.
func (u *UI) escape() {
	if n := len(u.dialogs); n > 0 {
		u.dialogs[n-1].Dismiss()
		return
	}
	u.stop()
}

// shownDialog is an open dialog, and whether Enter answers it (a question's confirming
// button).
type shownDialog struct {
	dialog.Dialog
	enter bool
	// turn, when not nil, is Left and Right (-1, +1) in a dialog that pages: the large view
	// goes to the previous or next image.
	turn func(delta int)
	// confirm, when not nil, is Enter with nothing focused: the dialog's Confirm method (a
	// question's yes, an information's close), or what onEnter set (the large view's "Use
	// these settings").
	confirm func()
}

// onEnter makes Enter, with nothing focused, call confirm while d is the newest open dialog,
// instead of d's own Confirm.
func (u *UI) onEnter(d dialog.Dialog, confirm func()) {
	for i := range u.dialogs {
		if u.dialogs[i].Dialog == d {
			u.dialogs[i].confirm = confirm
		}
	}
}

// onTurn makes Left and Right call turn while d is the newest open dialog.
func (u *UI) onTurn(d dialog.Dialog, turn func(delta int)) {
	for i := range u.dialogs {
		if u.dialogs[i].Dialog == d {
			u.dialogs[i].turn = turn
		}
	}
}

// show shows d, and keeps it where Esc dismisses it (the newest open dialog first) and, for
// a question, where Enter answers it with its confirming button.
func (u *UI) show(d dialog.Dialog) { u.showDialog(d, true) }

// showNoEnter is show for a question Enter must not answer: one whose confirming button
// destroys something (Delete), or one that comes up unasked (a download finished), where an
// Enter meant for the composer would answer it. A click, or Tab and Space, must.
func (u *UI) showNoEnter(d dialog.Dialog) { u.showDialog(d, false) }

func (u *UI) showDialog(d dialog.Dialog, enter bool) {
	shown := shownDialog{Dialog: d, enter: enter}
	if c, ok := d.(interface{ Confirm() }); ok {
		shown.confirm = c.Confirm
	}
	u.dialogs = append(u.dialogs, shown)
	var hints *hintLayer // a hintedDialog's, where its hints go while it is shown
	if h, ok := d.(interface{ hintLayer() *hintLayer }); ok {
		hints = h.hintLayer()
		u.tips.push(hints)
	}
	d.SetOnClosed(func() {
		u.dialogs = slices.DeleteFunc(u.dialogs, func(o shownDialog) bool { return o.Dialog == d })
		if hints != nil {
			u.tips.pop(hints)
		}
		// Keys typed once the last dialog is gone go to the composer (or the prompt), not
		// nowhere: opening a picture large by a click had taken the focus from it.
		// Soon, not now: a dialog closed by Space on its button would have that Space typed
		// into the composer too (focusSoon).
		u.do(func() {
			if len(u.dialogs) == 0 && u.win.Canvas().Focused() == nil {
				u.focusCurrent()
			}
		})
	})
	d.Show()
}

// copiedFor is how long a copy says "Copied" where it was clicked.
const copiedFor = 1500 * time.Millisecond

// copy puts text on the clipboard and says so where it was clicked (flash).
func (u *UI) copy(text string, timer **time.Timer, show, undo func()) {
	u.fapp.Clipboard().SetContent(text)
	u.flash(timer, show, undo)
}

// flash says something was done where it was clicked ("Copied", "Saved"): show now, undo
// copiedFor later on the UI goroutine. timer is the place's own, so that a second click
// meanwhile keeps it up for its full time.
func (u *UI) flash(timer **time.Timer, show, undo func()) {
	show()
	if *timer != nil {
		(*timer).Stop()
	}
	*timer = time.AfterFunc(cmp.Or(u.opts.copiedFor, copiedFor), func() { u.do(undo) })
}

// infoDialog is a dialog with content and a Close under it, as Fyne's NewCustom makes, but
// whose Close gives Esc to the window as the app's other buttons do, and which Enter closes
// too (infoBox).
func (u *UI) infoDialog(title string, content fyne.CanvasObject) infoBox {
	d := dialog.NewCustomWithoutButtons(title, content, u.win)
	d.SetButtons([]fyne.CanvasObject{u.newButton("Close", nil, d.Hide)})
	return infoBox{d}
}

// infoBox is an infoDialog. Its Confirm closes it, so that Enter with nothing focused does
// what its one button does, as Enter answers a question (the window's Enter calls the newest
// dialog's Confirm): it did nothing in the keyboard shortcuts, where only Esc closed them.
type infoBox struct{ *dialog.CustomDialog }

// Confirm closes the dialog.
func (b infoBox) Confirm() { b.Hide() }

// closingDialog is a dialog whose actions sit at the left of one row under content and
// Close at its right (Fyne's custom dialog centres its Close on a row of its own).
func (u *UI) closingDialog(title string, content fyne.CanvasObject, actions ...fyne.CanvasObject) *hintedDialog {
	var d *hintedDialog
	closeB := u.newButton("Close", nil, func() { d.Hide() })
	row := container.NewBorder(nil, nil, container.NewHBox(actions...), closeB)
	d = newHintedDialog(title,
		container.NewBorder(nil, container.NewVBox(widget.NewSeparator(), row), nil, nil, content), u.win)
	return d
}

// question is a yes-or-no dialog whose text wraps at width: confirm, and not dismiss, calls
// yes.
func (u *UI) question(title, text, confirm, dismiss string, width float32, yes func()) *askDialog {
	d, _ := u.questionText(title, text, confirm, dismiss, width, yes)
	return d
}

// questionText is question, also returning the label that holds its text.
func (u *UI) questionText(title, text, confirm, dismiss string, width float32, yes func()) (*askDialog, *widget.Label) {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return u.ask(title, confirm, dismiss, container.New(fixedWidth{width}, l), yes), l
}

// askDialog is a question of the app's: Fyne's confirm dialog, laid out alike (dismiss, then
// confirm, under the content), with buttons that give Esc to the window and take Enter as the
// app's others do (Fyne's kept both once Tab had reached them).
type askDialog struct {
	*dialog.CustomDialog
	yesB *escButton
}

// ask makes a question: confirm calls yes and closes it; dismiss, Esc and Hide only close it.
func (u *UI) ask(title, confirm, dismiss string, content fyne.CanvasObject, yes func()) *askDialog {
	a := &askDialog{CustomDialog: dialog.NewCustomWithoutButtons(title, content, u.win)}
	no := u.newButton(dismiss, theme.CancelIcon(), a.Hide)
	a.yesB = u.newButton(confirm, theme.ConfirmIcon(), func() {
		a.Hide()
		yes()
	})
	a.yesB.Importance = widget.HighImportance
	a.SetButtons([]fyne.CanvasObject{no, a.yesB})
	return a
}

// Confirm answers yes, as the confirm button does (Enter on a question that takes it).
func (a *askDialog) Confirm() { a.yesB.OnTapped() }

// SetConfirmImportance draws the confirm button as imp (a danger for an answer that deletes).
func (a *askDialog) SetConfirmImportance(imp widget.Importance) {
	a.yesB.Importance = imp
	a.yesB.Refresh()
}

// requestQuit closes the window (Quit, Ctrl+Q, the window's close button), asking first while
// images are being made: they would be lost. An answer keeps what was written and a
// download resumes at the next start, so neither asks.
func (u *UI) requestQuit() {
	if u.create.job == nil {
		if d := u.drafts(); u.settingsErr != nil && d.HasUnsent() {
			u.askQuitLosingDrafts()
			return
		}
		u.win.Close()
		return
	}
	note := widget.NewLabel("Images are being made: quitting stops them and they are lost. The prompt is kept.")
	note.Wrapping = fyne.TextWrapWord
	// The title stays true when the run ends under the question (runEnded rewrites the note).
	d := u.ask("Quit Janus Desktop?", "Quit", "Keep working", container.New(fixedWidth{420}, note), u.win.Close)
	// Quit loses the images: not for an Enter out of habit, and not drawn as the button
	// Enter would press.
	d.SetConfirmImportance(widget.DangerImportance)
	u.quitNote, u.quitDialog = note, d
	d.SetOnClosed(func() { u.quitNote, u.quitDialog = nil, nil })
	u.showNoEnter(d)
}

// askQuitLosingDrafts asks before quitting with text or images typed and not sent that the
// settings, which keep them for the next start, could not be saved with.
func (u *UI) askQuitLosingDrafts() {
	d := u.question("Quit Janus Desktop?",
		"What was typed and not sent cannot be kept for the next start: the settings could not be saved ("+
			firstLine(u.settingsErr)+"). Quitting loses it; copy what you want to keep first.",
		"Quit", "Keep working", 420, func() { u.win.Close() })
	d.SetConfirmImportance(widget.DangerImportance)
	u.showNoEnter(d)
}

// ended reports whether done (a job's, a session's) is closed, without waiting.
func ended(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// createShown reports whether the Create view is the one in front.
func (u *UI) createShown() bool { return u.tabs.SelectedIndex() == 1 }

// runEnded tells an open quit question how the run it warned about ended (err is the run's).
func (u *UI) runEnded(err error) {
	if u.quitNote == nil {
		return
	}
	switch {
	case errors.As(err, new(*app.NotStoredError)):
		u.quitNote.SetText("The run has ended, but its images could not be saved to the history: quitting loses them. Save keeps one as a PNG.")
		return
	case err != nil:
		u.quitNote.SetText("The run has ended without images: quitting loses nothing now.")
	default:
		u.quitNote.SetText("The run has ended and its images are in the history: quitting loses nothing now.")
	}
	// Nothing is lost now: Quit is an ordinary answer, which Enter gives.
	u.quitDialog.SetConfirmImportance(widget.HighImportance)
	u.quitDialog.Refresh() // the importance alone left the shown button red
	for i := range u.dialogs {
		if u.dialogs[i].Dialog == u.quitDialog {
			u.dialogs[i].enter = true
		}
	}
}

// stop is Esc: it stops whatever the current view is running.
func (u *UI) stop() {
	if u.createShown() {
		u.create.stop()
		return
	}
	u.chat.stop()
}

func (u *UI) showAbout() {
	msg := u.software() + "\n\nDeepSeek's Janus and Janus-Pro models on your own computer: " +
		"ask about images and make new ones. Nothing leaves this machine.\n\nHistory and settings: " + u.store.Root()
	l := widget.NewLabel(msg)
	l.Wrapping = fyne.TextWrapWord
	u.show(u.infoDialog("About Janus Desktop", container.New(fixedWidth{420}, l)))
}

// showKeys lists the keys the window knows, those of the menus and those it has nowhere
// else to show (Esc, the history's F2 and Delete, the large view's arrows).
func (u *UI) showKeys() {
	mod := "Ctrl"
	if runtime.GOOS == "darwin" {
		mod = "Cmd"
	}
	rows := [][2]string{
		{mod + "+N", "New chat"},
		{mod + "+Shift+N", "New image"},
		{mod + "+1, " + mod + "+2", "Chat, Create"},
		{mod + "+B", "Hide or show the sidebar"},
		{mod + "+F", "Search the history's titles (Esc empties it, Down goes to the list)"},
		{mod + "+L", "Models"},
		{mod + "+,", "Settings"},
		{"Enter, Shift+Enter", "Send the question; a new line"},
		{"Page Up, Page Down", "Scroll the conversation (from a one-line question)"},
		{mod + "+V", "Paste a picture or image files into the question"},
		{mod + "+Enter", "Generate (Create)"},
		{"Esc", "Stop the answer or the images; close the newest dialog"},
		{"F2, Delete", "Rename, delete the history entry focused (Up, Down)"},
		{"Left, Right", "The previous, next image in the large view"},
		{"Tab, Shift+Tab", "Move between controls"},
		{"Space, Enter", "Press the button focused (Space also ticks a box)"},
		{"Enter", "Answer or close the dialog in front (nothing in it focused)"},
		{mod + "+Q", "Quit"},
	}
	grid := container.New(layout.NewFormLayout())
	for _, r := range rows {
		k := widget.NewLabelWithStyle(r[0], fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
		grid.Add(k)
		grid.Add(widget.NewLabel(r[1]))
	}
	// Scrolled in a small window (800×560), where the list is taller than the room.
	d := u.infoDialog("Keyboard shortcuts", container.NewVScroll(grid))
	d.Resize(u.dialogSize(grid.MinSize().Add(fyne.NewSize(4*theme.Padding()*4, 130))))
	u.show(d)
}

// showSidebar shows or hides the sidebar (View > Hide sidebar, Ctrl+B): a small window gives
// its width to the chat or the images. The menu item says what it will do next.
func (u *UI) showSidebar(shown bool) {
	if shown {
		u.side.Show()
		u.sidebarItem.Label = "Hide sidebar"
	} else {
		u.side.Hide()
		u.sidebarItem.Label = "Show sidebar"
		u.focusCurrent() // the history list may have had the focus
	}
	// The sidebar's room goes to the views, or back: a layout of the window's body, whose
	// views lay themselves out again as they are resized (a refresh of the whole window
	// redrew every message of a long chat, a second's work).
	u.body.Layout.Layout(u.body.Objects, u.body.Size())
	if m := u.win.MainMenu(); m != nil {
		m.Refresh()
	}
	u.updateLoadCancel() // it goes with the sidebar's model line, or comes to the views' lines
}

// loadCancelShown reports whether the chat's and the canvas's loading lines have a Cancel:
// while a model loads with the sidebar, whose model line has one, hidden.
func (u *UI) loadCancelShown() bool { return u.loading != nil && !u.side.Visible() }

// updateLoadCancel shows or hides the Cancel of the chat's and the canvas's loading lines
// (loadCancelShown), as a load starts and as the sidebar shows or hides.
func (u *UI) updateLoadCancel() {
	shown := u.loadCancelShown()
	if c := u.chat; c.loadCancelB.Hidden == shown {
		c.loadCancelB.Hidden = !shown
		c.statusRow.Refresh()
	}
	if c := u.create; c.loading.box.Visible() && c.loadCancelB.Hidden == shown {
		c.showLoading(c.loading.label.Text) // its width is the line's and the button's
	}
}

// ShowChat selects the chat view.
func (u *UI) ShowChat() {
	u.showViews()
	u.tabs.SelectIndex(0)
}

// ShowCreate selects the canvas.
func (u *UI) ShowCreate() {
	u.showViews()
	u.tabs.SelectIndex(1)
}

// showViews puts the chat and the canvas in front of the no-model screen: the history
// stays readable without a model (sending and generating wait for one).
func (u *UI) showViews() {
	if !u.tabs.Visible() {
		u.noModel.content.Hide()
		u.tabs.Show()
	}
}

// focusCurrent gives the focus to the view in front: Create's prompt, the chat's composer,
// or, with no model, the no-model screen's first control (Fyne refuses the composer hidden
// under it, and nothing had the focus).
func (u *UI) focusCurrent() {
	if u.noModel.content.Visible() {
		u.noModel.focusFirst()
		return
	}
	if u.createShown() {
		u.win.Canvas().Focus(u.create.prompt)
	} else {
		u.win.Canvas().Focus(u.chat.entry)
	}
}

// background runs f, which makes a thumbnail, off the UI goroutine, counted in work.
func (u *UI) background(f func()) {
	u.work.Add(1)
	go func() {
		defer u.work.Done()
		f()
	}()
}

// waitBackground waits up to most for the work background started: a thumbnail is a
// moment's work, and a quit should not cut one short, leaving its temporary file (nor a
// test's folder go away under it).
func (u *UI) waitBackground(most time.Duration) {
	done := make(chan struct{})
	go func() {
		u.work.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(most):
		slog.Warn("thumbnails still being made at quit")
	}
}

// focusSoon focuses obj once the event being handled is over. A button pressed with Space
// that moves the focus to a text field at once has that Space typed there as well: the key's
// character comes after the key, to whatever is focused by then.
func (u *UI) focusSoon(obj fyne.Focusable) {
	u.do(func() { u.win.Canvas().Focus(obj) })
}

// keepFocus moves the focus to to when the focused widget is in gone, which is being hidden
// or removed (a run's settings row, Stop once the run ends, a removed image's ✕): Fyne leaves
// the focus on it, where typed keys went nowhere and Esc did not reach the window.
func (u *UI) keepFocus(gone fyne.CanvasObject, to fyne.Focusable) {
	if f, ok := u.win.Canvas().Focused().(fyne.CanvasObject); ok && within(gone, f) {
		u.focusSoon(to)
	}
}

// showExamplesFor shows a view's example chips while text, its entry's, is blank, and hides
// them while it holds a draft, handing a chip's focus to entry: a chip puts its text in the
// entry, and Fyne's Entry has no undo to get the draft it replaced back.
func (u *UI) showExamplesFor(examples *fyne.Container, text string, entry fyne.Focusable) {
	blank := strings.TrimSpace(text) == ""
	if blank == examples.Visible() {
		return
	}
	if blank {
		examples.Show()
	} else {
		u.keepFocus(examples, entry)
		examples.Hide()
	}
	examples.Refresh()
}

// within reports whether obj is root or inside it, through containers, theme overrides and
// scrolls (not inside other widgets: the focusable ones are what it looks for).
func within(root, obj fyne.CanvasObject) bool {
	switch r := root.(type) {
	case nil:
		return false
	case *fyne.Container:
		for _, o := range r.Objects {
			if within(o, obj) {
				return true
			}
		}
	case *container.ThemeOverride:
		return r == obj || within(r.Content, obj)
	case *container.Scroll:
		return r == obj || within(r.Content, obj)
	}
	return root == obj
}

// newChat starts an empty chat.
func (u *UI) newChat() {
	u.chat.newSession()
	u.ShowChat()
	u.sidebar.markOpen()
	u.focusCurrent() // also from the history list, where a space would open its chat
}

// newImage clears the canvas for a new prompt.
func (u *UI) newImage() {
	u.create.clear()
	u.ShowCreate()
	u.sidebar.markOpen()
	u.focusCurrent()
}

// startChat and startImage are New chat and New image as the user asks for them (the
// sidebar's buttons, the menu, the shortcuts): newChat and newImage, with the no-model screen
// back in front where there is no model to use (noModelAgain).
func (u *UI) startChat()  { u.newChat(); u.noModelAgain() }
func (u *UI) startImage() { u.newImage(); u.noModelAgain() }

// noModelAgain puts the no-model screen back in front where no model is loaded or loading,
// once the screen was shown: a new chat or image said to download one but offered no way
// to. The history, and a picture asked about from a set, still open in the views.
func (u *UI) noModelAgain() {
	if !u.noModelShown || u.engine != nil || u.loading != nil {
		return
	}
	u.tabs.Hide()
	u.noModel.update(u.search)
	u.noModel.content.Show()
	u.noModel.focusFirst()
}

// OnDropped attaches dropped image files to the chat: the window's drop handler, a named
// method so that tests can call it (the test window ignores SetOnDropped). Files that
// cannot be used get a one-line message under the composer and change nothing.
func (u *UI) OnDropped(_ fyne.Position, uris []fyne.URI) {
	var paths []string
	for _, uri := range uris {
		if uri.Scheme() != "file" {
			u.chat.setNotice(fmt.Sprintf("%s is not a file on this computer", uri.Name()))
			continue
		}
		paths = append(paths, uri.Path())
	}
	if len(paths) == 0 {
		return
	}
	u.ShowChat()
	u.chat.attach(paths)
}

// setNoEngine disables chat and canvas with a line saying why.
func (u *UI) setNoEngine(why string) {
	u.chat.setReady(false, why)
	u.create.setReady(false, why)
	u.sidebar.showModel(nil, why)
	u.showServeStatus()
}

// setLoading is setNoEngine while a model loads: Create says it over its pictures.
func (u *UI) setLoading(why string) {
	u.setNoEngine(why)
	u.create.showLoading(why)
}

// setEngine makes e the model every view uses.
func (u *UI) setEngine(e app.Engine) {
	old := u.engine
	u.engine = e
	info := e.Info()
	slog.Info("model ready", "name", info.Name, "backend", info.Backend)
	u.noModel.content.Hide()
	u.noModelShown = false
	u.tabs.Show()
	u.chat.setEngine(e)
	if info.CanGenerate {
		u.create.setReady(true, "")
	} else {
		u.create.setReady(false, info.Name+" was loaded without its image generation networks: pick another model to create images.")
	}
	u.sidebar.showModel(e, "")
	u.downloads.render() // an open download dialog offers Load on the model now in use
	if old != nil && old != e {
		v := u.detachServing()
		u.offUI(func() {
			stopServe(v)
			old.Close()
		})
	}
	u.startServing()
}

// modelName is the loaded model's name for PNG chunks and the history ("" without one).
func (u *UI) modelName() string {
	if u.engine == nil {
		return ""
	}
	return u.engine.Info().Name
}

// software is what saved PNGs name as their maker.
func (u *UI) software() string { return app.Software(u.opts.Version) }

// firstLine makes err one line for an inline message: its first line (its summary, where an
// error spans lines), and a full disk named by its folder.
func firstLine(err error) string {
	if errors.Is(err, syscall.ENOSPC) {
		return app.WriteProblem(err) // the disk by its folder, not by a temporary file
	}
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// sentenceStart capitalises a line that starts with a plain lowercase word, as Go's errors
// do ("read settings: …"), and leaves one that starts with a name as it is: a repository id,
// a file name, a flag, or any one word before a colon ("holiday: the file does not exist").
// It is for where a line starts (a notice, a dialog's text), not for an error in a sentence.
func sentenceStart(s string) string {
	word, _, _ := strings.Cut(s, " ")
	if strings.HasSuffix(word, ":") {
		return s
	}
	for _, r := range word {
		if !unicode.IsLower(r) && r != ',' {
			return s
		}
	}
	if word == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// isCancel reports whether err is a stop the user asked for.
func isCancel(err error) bool { return errors.Is(err, context.Canceled) }
