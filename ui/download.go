package ui

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/janus-desktop/janus/app"
)

// downloads is the window's one model download: the models the Downloader offers, the
// download running or paused with its last progress, and the views showing them (the
// no-model screen's and the Download… dialog's). Its methods run on the UI goroutine.
type downloads struct {
	u         *UI
	offers    []app.DownloadOffer
	offersErr error
	// looked is set once the first offers are in: only then is a partial download taken up
	// as paused (after Cancel the offers stay, each saying what is kept).
	looked bool

	// repo is the download shown with its progress ("" when none): running while job is
	// not nil, else paused, or stopped by err.
	repo     string
	job      *app.DownloadJob
	progress app.Progress
	// estimated is set while progress's total is the offer's estimate, until the hub's list
	// of the repository's files gives the real one (a download paused in an earlier run).
	estimated bool
	err       error
	// lastData is when the running download last received bytes: the hub client waits a
	// minute on a silent connection, and its last rate and time left stood meanwhile.
	lastData time.Time
	// stopped are paused or cancelled jobs that may still be closing their files; the
	// window waits for them when it closes.
	stopped []*app.DownloadJob

	// latest holds the newest progress of the job until the UI goroutine takes it, so that
	// a fast download sends one update per frame, not one per network read; latestOf counts
	// the job it is of among those started (started, UI goroutine only): a job paused or
	// cancelled can still report as it closes, after the next has started.
	mu       sync.Mutex
	latest   *app.Progress
	latestOf int
	pending  bool
	started  int

	views []*downloadView
}

func newDownloads(u *UI) *downloads { return &downloads{u: u} }

// reload asks the Downloader what it offers (the cache is read, so off the UI goroutine).
// A download an earlier run left half done is shown paused, ready to resume.
func (d *downloads) reload() {
	dl := d.u.opts.Downloader
	if dl == nil {
		return
	}
	go func() {
		offers, err := dl.Offers()
		d.u.do(func() {
			d.offers, d.offersErr = offers, err
			if d.repo == "" && !d.looked {
				for _, o := range offers {
					if _, ok := d.u.search.Copy(o.Repo); ok {
						continue // a copy on disk loads: its row offers Load, not Resume
					}
					if o.Partial && o.Dir == "" {
						d.repo = o.Repo
						d.progress = app.Progress{Done: int(o.CachedBytes), Total: int(o.DownloadBytes)}
						d.estimated = true
						break
					}
				}
			}
			d.looked = true
			slog.Info("download offers", "n", len(offers), "paused", d.repo, "err", err)
			d.render()
		})
	}()
}

// offer is the offer for repo (the zero offer when unknown).
func (d *downloads) offer(repo string) app.DownloadOffer {
	for _, o := range d.offers {
		if o.Repo == repo {
			return o
		}
	}
	return app.DownloadOffer{Repo: repo}
}

// start downloads repo, or resumes it where the last download stopped.
func (d *downloads) start(repo string) {
	if d.job != nil {
		return
	}
	if d.repo != repo {
		// Another model than the paused one: that one's files stay in the cache, and its
		// offer, read again, says so.
		o := d.offer(repo)
		d.progress = app.Progress{Done: int(o.CachedBytes), Total: int(o.DownloadBytes)}
		d.estimated = true
		if d.repo != "" {
			defer d.reload()
		}
	}
	d.repo, d.err = repo, nil
	d.started++
	nth := d.started
	job := app.StartDownload(context.Background(), d.u.opts.Downloader, repo, func(p app.Progress) { d.onProgress(nth, p) })
	d.job, d.lastData = job, time.Now()
	go func() {
		err := job.Wait()
		d.u.do(func() { d.finish(job, err) })
	}()
	// The line is drawn again every second, so that it says when no data comes.
	d.u.everySecond(job.Done(), func() {
		if d.job == job {
			d.renderProgress()
		}
	})
	d.render()
}

// onProgress is the progress of the nth job started; it runs off the UI goroutine
// (StartDownload).
func (d *downloads) onProgress(nth int, p app.Progress) {
	d.mu.Lock()
	if nth < d.latestOf { // an earlier job's, which must not take the place of this one's
		d.mu.Unlock()
		return
	}
	d.latest, d.latestOf = &p, nth
	schedule := !d.pending
	d.pending = true
	d.mu.Unlock()
	if !schedule {
		return
	}
	d.u.do(func() {
		d.mu.Lock()
		p, nth := d.latest, d.latestOf
		d.pending = false
		d.mu.Unlock()
		if p != nil && d.job != nil && nth == d.started {
			if p.Done != d.progress.Done {
				d.lastData = time.Now()
			}
			d.progress, d.estimated = *p, false
			d.renderProgress()
		}
	})
}

// pause stops the download; what it fetched stays for resume, in this run or the next.
func (d *downloads) pause() {
	d.stop()
	d.render()
}

// stop cancels the running job, if any.
func (d *downloads) stop() {
	if d.job != nil {
		d.job.Cancel()
		d.stopped = append(d.stopped, d.job)
		d.job = nil
	}
	d.stopped = slices.DeleteFunc(d.stopped, func(j *app.DownloadJob) bool { return ended(j.Done()) })
}

// close stops the download and waits until every job has closed its files (the window
// is closing).
func (d *downloads) close() {
	d.stop()
	for _, j := range d.stopped {
		<-j.Done()
	}
	d.stopped = nil
}

// cancelAsking is Cancel: it cancels, then asks whether to delete what was downloaded, which
// Esc or Keep keeps. Cancel kept it without a word, as Pause does, where a browser's Cancel
// deletes it.
func (d *downloads) cancelAsking() {
	repo, have := d.repo, int64(d.progress.Done)
	d.cancel()
	if have > 0 {
		d.discard(repo, have)
	}
}

// cancel stops the download and puts the offers back; the partial files stay in the cache
// (the offer then says how much is there) so nothing fetched is thrown away.
func (d *downloads) cancel() {
	d.stop()
	d.repo, d.err = "", nil
	d.render()
	d.reload()
}

// discard asks, then deletes what the unfinished download of repo left (bytes of it), off
// the UI goroutine, and shows the offers again.
func (d *downloads) discard(repo string, bytes int64) {
	name := path.Base(repo)
	q := d.u.question("Discard the download?",
		fmt.Sprintf("Delete the %s of %s downloaded so far? Its download then starts from the beginning.", app.FormatBytes(bytes), name),
		"Discard", "Keep", 420, func() {
			stopped := slices.Clone(d.stopped)
			go func() {
				// A download just stopped may still be closing its files, and Discard fails
				// while one of repo runs.
				for _, j := range stopped {
					<-j.Done()
				}
				err := d.u.opts.Downloader.Discard(repo)
				d.u.do(func() {
					if err != nil {
						d.u.showError("Cannot discard the download", err, "")
					} else if d.repo == repo && d.job == nil {
						d.repo, d.err = "", nil // no longer paused: nothing is left to resume
					}
					d.reload()
				})
			}()
		})
	q.SetConfirmImportance(widget.DangerImportance) // it deletes: not drawn as the default
	d.u.showNoEnter(q)
}

// finish takes job's end: a finished model is loaded, a failure is shown with Retry.
func (d *downloads) finish(job *app.DownloadJob, err error) {
	if d.job != job {
		return // paused or cancelled: already shown
	}
	d.job = nil
	switch {
	case err == nil:
		d.repo = ""
		d.reload()
		name := path.Base(job.Repo())
		d.u.findModels(false)
		if d.u.engine == nil && d.u.loading == nil {
			d.u.loadModel(job.Dir(), name)
		} else {
			// A model is in use, perhaps mid-answer or mid-image: the user says when to
			// switch.
			d.u.offerDownloaded(job.Dir(), name)
		}
	case isCancel(err):
	default:
		d.err = err
		d.reload() // what the failed download fetched shows in its offer
	}
	d.render()
}

func (d *downloads) render() {
	for _, v := range d.views {
		v.render()
	}
	d.renderSidebar()
}

func (d *downloads) renderProgress() {
	for _, v := range d.views {
		v.renderProgress()
	}
	d.renderSidebar()
}

// renderSidebar keeps the download in sight once its dialog is closed.
func (d *downloads) renderSidebar() {
	if d.u.sidebar == nil {
		return
	}
	if d.repo == "" {
		d.u.sidebar.showDownload("")
		return
	}
	name, pct := path.Base(d.repo), percent(d.progress.Fraction())
	switch {
	case d.job != nil && d.progress.Status != "":
		d.u.sidebar.showDownload(name + ": " + d.progress.Status) // retrying: not silently stuck
	case d.job != nil:
		d.u.sidebar.showDownload(fmt.Sprintf("Downloading %s · %d%%", name, pct))
	case d.err != nil:
		d.u.sidebar.showDownload(name + ": the download stopped")
	default:
		d.u.sidebar.showDownload(fmt.Sprintf("Paused: %s · %d%%", name, pct))
	}
}

// newView makes a view of the downloads; remove it with drop when its window part closes.
func (d *downloads) newView() *downloadView {
	v := newDownloadView(d)
	d.views = append(d.views, v)
	v.render()
	return v
}

func (d *downloads) drop(v *downloadView) {
	for i, w := range d.views {
		if w == v {
			d.views = append(d.views[:i], d.views[i+1:]...)
			return
		}
	}
}

// downloadView shows the offers (name, download size, memory need and whether this machine
// has it) and the current download with its progress and Pause/Resume/Cancel.
type downloadView struct {
	d       *downloads
	offers  *fyne.Container
	active  *fyne.Container
	title   *widget.Label
	bar     *thinBar // Fyne's bar tints its whole track: at 0 % it read as full
	line    *widget.Label
	problem *widget.Label
	pauseB  *escButton
	cancelB *escButton
	// discardB deletes what a paused or failed download fetched (Cancel keeps it).
	discardB *escButton
	content  fyne.CanvasObject
	// relayout, when set, lays out what holds the view again after rows came or went
	// (wrapped labels know their height only once they have a width).
	relayout func()
	// primary is the button of the offer made first (Janus-Pro-1B's Download), nil when it
	// cannot be pressed: the first-start screen gives it the focus.
	primary *escButton
}

func newDownloadView(d *downloads) *downloadView {
	v := &downloadView{d: d, offers: container.NewVBox()}
	v.title = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	v.bar = newThinBar()
	v.line = widget.NewLabel("")
	v.line.Importance = widget.LowImportance
	v.line.Wrapping = fyne.TextWrapWord // a retry's status can be long
	v.problem = widget.NewLabel("")
	v.problem.Importance = widget.DangerImportance
	v.problem.Wrapping = fyne.TextWrapWord
	v.pauseB = d.u.newButton("Pause", theme.MediaPauseIcon(), func() {
		if d.job != nil {
			d.pause()
		} else {
			d.start(d.repo)
		}
	})
	v.cancelB = d.u.newButton("Cancel", theme.CancelIcon(), d.cancelAsking)
	v.discardB = d.u.newButton("Discard…", nil, func() { d.discard(d.repo, int64(d.progress.Done)) })
	v.discardB.Importance = widget.LowImportance
	// One width for Pause, Resume and Retry: the button stays under the pointer.
	pauseW := steadyWidth(widget.NewButtonWithIcon("Pause", theme.MediaPauseIcon(), nil),
		widget.NewButtonWithIcon("Resume", theme.MediaPlayIcon(), nil), widget.NewButtonWithIcon("Retry", theme.ViewRefreshIcon(), nil))
	v.active = container.NewVBox(v.title, v.bar, v.line, v.problem,
		container.NewHBox(v.discardB, layout.NewSpacer(), container.New(fixedWidth{pauseW}, v.pauseB), v.cancelB), widget.NewSeparator())
	v.content = container.NewVBox(v.active, v.offers)
	return v
}

// render shows the whole state: the current download (running, paused or failed) and,
// unless one runs, the other models to download.
func (v *downloadView) render() {
	v.fill()
	if v.relayout != nil {
		v.relayout()
	}
}

func (v *downloadView) fill() {
	d := v.d
	v.offers.RemoveAll()
	v.primary = nil
	if d.repo != "" {
		v.active.Show()
		v.renderProgress()
	} else {
		v.active.Hide()
	}
	// The other offers stay in sight while one downloads (their buttons off: one download at
	// a time): hidden, the screen's centred column moved, and Pause and Resume with it.
	if d.offers == nil && d.offersErr == nil {
		v.offers.Add(widget.NewLabel("Looking at what can be downloaded…"))
		return
	}
	for _, o := range d.offers {
		if o.Repo != d.repo {
			if len(v.offers.Objects) > 0 {
				v.offers.Add(widget.NewSeparator())
			}
			v.offers.Add(v.offerRow(o))
		}
	}
	if d.offersErr != nil {
		l := widget.NewLabel("The download cache could not be read fully. " + app.DownloadProblem(d.offersErr))
		l.Importance = widget.WarningImportance
		l.Wrapping = fyne.TextWrapWord
		v.offers.Add(l)
	}
}

// renderProgress shows the current download's progress and buttons.
func (v *downloadView) renderProgress() {
	d := v.d
	if d.repo == "" {
		return
	}
	name := path.Base(d.repo)
	p := d.progress
	switch {
	case d.job != nil:
		v.title.SetText("Downloading " + name)
		v.pauseB.SetText("Pause")
		v.pauseB.SetIcon(theme.MediaPauseIcon())
		v.pauseB.Importance = widget.MediumImportance
	case d.err != nil:
		v.title.SetText(name + ": the download stopped")
		v.pauseB.SetText("Retry")
		v.pauseB.SetIcon(theme.ViewRefreshIcon())
		v.pauseB.Importance = widget.HighImportance
	default:
		v.title.SetText("Paused: " + name)
		v.pauseB.SetText("Resume")
		v.pauseB.SetIcon(theme.MediaPlayIcon())
		v.pauseB.Importance = widget.HighImportance
	}
	v.pauseB.Refresh()
	// At the row's other end: not where Pause was. Not after a download that fetched nothing
	// (the hub did not have the model): it asked to delete "0 bytes".
	v.discardB.Hidden = d.job != nil || d.progress.Done == 0
	v.discardB.Refresh()
	v.bar.SetValue(p.Fraction())
	v.line.SetText(progressLine(p, d.estimated, d.job != nil, time.Since(d.lastData)))
	if d.err != nil {
		v.problem.SetText(app.DownloadProblem(d.err))
		v.problem.Show()
	} else {
		v.problem.Hide()
	}
}

// progressLine is "1.2 GB of 4.2 GB · 25 MB/s · 2 min left" (bytes alone while paused; "of
// about 4.2 GB" while the total is an estimate), the download's status when it waits or
// retries, or how long no data has come (quiet) once that is stallShown or more.
func progressLine(p app.Progress, estimated, running bool, quiet time.Duration) string {
	s := app.FormatBytes(int64(p.Done))
	switch {
	case p.Total > 0 && estimated:
		s += " of about " + app.FormatBytes(int64(p.Total))
	case p.Total > 0:
		s += " of " + app.FormatBytes(int64(p.Total))
	}
	if !running {
		return s + " downloaded"
	}
	if p.Status != "" {
		return s + " · " + p.Status
	}
	if quiet >= stallShown {
		return s + " · no data for " + formatDuration(quiet.Truncate(time.Second)) + ": waiting for the server"
	}
	if p.Rate > 0 {
		s += " · " + app.FormatBytes(int64(p.Rate)) + "/s"
	}
	if p.Remaining > 0 {
		s += " · " + formatDuration(p.Remaining) + " left"
	}
	return s
}

// stallShown is how long a download may receive nothing before its line says so instead of
// the speed and time left it had.
const stallShown = 5 * time.Second

// formatDuration writes d for people: "45 s", "3 min", "1 h 20 min".
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()+0.5))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()+0.5))
	}
	h := int(d.Hours())
	return fmt.Sprintf("%d h %d min", h, int(d.Minutes())-60*h)
}

// offerRow is one model that can be downloaded, with its sizes and the button that fetches,
// continues or loads it.
func (v *downloadView) offerRow(o app.DownloadOffer) fyne.CanvasObject {
	d := v.d
	name := widget.NewLabelWithStyle(path.Base(o.Repo), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	// What an unfinished download left in the hub cache, which only Discard… gives back,
	// also when a copy elsewhere offers Load below.
	partial := o.Partial && o.Dir == "" && o.CachedBytes > 0
	// A copy the model search found outside the hub cache (under JANUS_MODELS, in a folder
	// added in Models) loads as well as a downloaded one: no second download.
	if m, ok := d.u.search.Copy(o.Repo); ok && (o.Dir == "" || o.Dir == m.Path) {
		o.Dir, o.Unavailable = m.Path, ""
		if len(m.Footprint.Weights) > 0 {
			o.Footprint = m.Footprint // the copy's own sizes, as the Models picker shows them
		}
	}
	facts := app.FormatBytes(o.DownloadBytes) + " download"
	if need := d.u.memoryNeed(o.Footprint); need != "" {
		facts += " · " + need
	}
	if o.Partial && o.CachedBytes > 0 && o.Dir == "" {
		facts += " · " + app.FormatBytes(o.CachedBytes) + " downloaded already"
	}
	if o.Dir != "" {
		facts += "\nAlready on this computer: " + o.Dir
	}
	info := widget.NewLabel(o.Summary + "\n" + facts)
	info.Wrapping = fyne.TextWrapWord
	info.Importance = widget.LowImportance
	fit := widget.NewLabel("Fits this computer")
	fit.Importance = widget.SuccessImportance
	if !o.Fits(d.u.settings.Weights) {
		fit.SetText("Needs more memory than this computer has")
		fit.Importance = widget.WarningImportance
	}
	var b *escButton
	switch {
	case o.Dir != "" && d.u.engine != nil && d.u.engine.Info().Dir == o.Dir:
		// As in the Models dialog: Load here reloaded the model in use, stopping its work.
		b = d.u.newButton("In use", nil, nil)
		b.Disable()
	case o.Dir != "":
		b = d.u.newButton("Load", nil, func() { d.u.loadModel(o.Dir, path.Base(o.Repo)) })
	case o.Partial:
		b = d.u.newButton("Resume", theme.DownloadIcon(), func() { d.start(o.Repo) })
	default:
		b = d.u.newButton("Download", theme.DownloadIcon(), func() { d.start(o.Repo) })
	}
	if o.Dir == "" && (d.job != nil || o.Unavailable != "") {
		b.Disable() // one download at a time, and none that cannot start; a copy on disk loads
	}
	if o.Unavailable != "" {
		info.SetText(info.Text + "\n" + o.Unavailable)
	}
	if o.Default && !b.Disabled() {
		b.Importance = widget.HighImportance
		v.primary = b
	}
	buttons := container.NewVBox(b)
	if partial && d.job == nil {
		// Cancel keeps what was fetched, for later: gigabytes, which only this gives back.
		discard := d.u.newButton("Discard…", nil, func() { d.discard(o.Repo, o.CachedBytes) })
		discard.Importance = widget.LowImportance
		buttons.Add(discard)
	}
	// The fit wraps beside the name: the row is no wider than a narrow window's column.
	fit.Wrapping = fyne.TextWrapWord
	return container.NewBorder(nil, nil, nil, buttons,
		container.NewVBox(container.NewBorder(nil, nil, name, nil, fit), info))
}

// showDownloads opens the downloads in a dialog (the picker's Download… button); closed, when
// not nil, runs once it closes.
func (u *UI) showDownloads(closed func()) {
	v := u.downloads.newView()
	body := container.NewVScroll(container.New(centeredColumn{560}, v.content))
	v.relayout = body.Refresh
	u.downloads.reload()
	d := u.infoDialog("Download a model", body)
	d.SetOnClosed(func() {
		u.downloads.drop(v)
		if closed != nil {
			closed()
		}
	})
	// Sized for the three offers up front: the rows arrive after the dialog opens.
	d.Resize(u.dialogSize(fyne.NewSize(620, 640)))
	u.show(d)
}
