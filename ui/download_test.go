package ui

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
	"github.com/janus-desktop/janus/app/hub"
	"github.com/janus-desktop/janus/app/hub/hubtest"
)

// hubEnv is a machine with no models whose Hugging Face hub is s and whose hub cache is
// cache: what the app's downloader (hub.FromEnv) reads, as the real app does.
func hubEnv(s *hubtest.Server, cache string) app.Env {
	vars := map[string]string{
		"JANUS_MODELS": "", "HF_ENDPOINT": s.URL, "HF_HUB_CACHE": cache, "HF_HOME": filepath.Dir(cache),
	}
	return app.Env{GOOS: "linux", Home: "/home/test", Getenv: func(k string) string { return vars[k] }}
}

// hubWindow opens a window on env with the app's downloader.
func hubWindow(t *testing.T, env app.Env, engine app.Engine) *harness {
	return newHarness(t, engine, func(o *Options) {
		o.Env = env
		o.Downloader = hub.NewEnvDownloader(env)
	})
}

// stallingHub is a fake hub serving tiny-a as the default release, whose weights' download
// stalls after `after` bytes (stalled closes then), and an empty hub cache for it.
func stallingHub(t *testing.T, after int64) (s *hubtest.Server, stalled chan struct{}, cache string) {
	s = hubtest.New(t)
	s.AddTinyA(t, app.DefaultRepo)
	stalled = make(chan struct{})
	s.SetFault("model.safetensors", &hubtest.Fault{StallAfter: after, Stalled: stalled})
	return s, stalled, filepath.Join(t.TempDir(), "hf", "hub")
}

// waitJobEnd runs UI updates until job (a download's, a load's) has ended and the window
// has taken its end.
func (h *harness) waitJobEnd(what string, job interface{ Done() <-chan struct{} }) {
	h.t.Helper()
	// Until the window has let go of it too: it learns of the end on a goroutine of its own,
	// which had at times not handed the end over yet when the job's Done was seen.
	h.pump(what, func() bool {
		select {
		case <-job.Done():
			return any(h.u.downloads.job) != any(job) && any(h.u.loading) != any(job)
		default:
			return false
		}
	})
}

// waitPartial waits until the default model's partial weights in cache hold size bytes:
// what the hub sent has reached the disk.
func waitPartial(t *testing.T, cache string, size int64) {
	t.Helper()
	blobs := filepath.Join(cache, hub.RepoFolder(app.DefaultRepo), "blobs")
	deadline := time.Now().Add(60 * time.Second)
	for {
		names, _ := filepath.Glob(filepath.Join(blobs, "*.incomplete"))
		for _, n := range names {
			if fi, err := os.Stat(n); err == nil && fi.Size() >= size {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no partial file of %d bytes in %s: %v", size, blobs, names)
		}
		time.Sleep(time.Millisecond)
	}
}

// The first run: with no model the window offers the three released models with their
// sizes, memory needs and whether they fit; the default one downloads from the hub with
// progress, pauses, is shown paused after the app restarts, resumes with a Range request
// where it stopped, and the finished model loads.
func TestFirstRunDownload(t *testing.T) {
	s, stalled, cache := stallingHub(t, 3_000_000)
	env := hubEnv(s, cache)

	h := hubWindow(t, env, nil)
	u := h.u
	h.pump("the offers", func() bool { return u.noModel.content.Visible() && len(u.downloads.offers) == 3 })
	view := u.noModel.downloads
	texts := strings.Join(textsIn(view.content), "\n")
	for _, want := range []string{"Janus-Pro-1B", "Janus-Pro-7B", "Janus-1.3B", "GB download · needs", "GB of memory"} {
		if !strings.Contains(texts, want) {
			t.Errorf("the offers do not say %q:\n%s", want, texts)
		}
	}
	if !strings.Contains(texts, "Fits this computer") && !strings.Contains(texts, "Needs more memory") {
		t.Errorf("the offers do not say whether the models fit:\n%s", texts)
	}
	// The first thing to do has the focus: Enter or Space starts the recommended download.
	h.pump("the focus on Janus-Pro-1B's Download", func() bool {
		return view.primary != nil && u.win.Canvas().Focused() == view.primary
	})

	test.Tap(findButton(t, view.offers, "Download"))
	job := u.downloads.job
	if job == nil || job.Repo() != app.DefaultRepo {
		t.Fatalf("Download started %v, want %s", job, app.DefaultRepo)
	}
	<-stalled
	waitPartial(t, cache, 3_000_000)
	h.pump("progress", func() bool { return u.downloads.progress.Done > 0 })
	if !view.active.Visible() || view.title.Text != "Downloading Janus-Pro-1B" ||
		!strings.Contains(view.line.Text, " of ") || view.pauseB.Text != "Pause" {
		t.Errorf("while downloading: title %q, line %q, button %q", view.title.Text, view.line.Text, view.pauseB.Text)
	}
	// The other offers stay where they were, their buttons off: one download at a time, and
	// Pause does not move when Resume takes its place.
	if b := findButton(t, view.offers, "Download"); !b.Disabled() {
		t.Error("another download can be started during one")
	}
	if view.discardB.Visible() {
		t.Error("a running download offers Discard…")
	}
	before := fyne.CurrentApp().Driver().AbsolutePositionForObject(view.pauseB)
	test.Tap(view.pauseB)
	h.waitJobEnd("the pause", job)
	h.pump("the offers drawn again", func() bool { return view.pauseB.Text == "Resume" })
	if !view.discardB.Visible() {
		t.Error("a paused download offers no Discard…")
	}
	if after := fyne.CurrentApp().Driver().AbsolutePositionForObject(view.pauseB); after != before {
		t.Errorf("Pause was at %v, Resume is at %v: the button moved under the pointer", before, after)
	}
	if err := job.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("paused job: %v", err)
	}
	if view.title.Text != "Paused: Janus-Pro-1B" || view.pauseB.Text != "Resume" || !strings.Contains(view.line.Text, "downloaded") {
		t.Errorf("paused: title %q, line %q, button %q", view.title.Text, view.line.Text, view.pauseB.Text)
	}

	// The app starts again: the screen shows the partial download, ready to resume.
	h2 := hubWindow(t, env, nil)
	u2 := h2.u
	view2 := u2.noModel.downloads
	h2.pump("the paused download", func() bool { return u2.downloads.repo == app.DefaultRepo && view2.active.Visible() })
	if view2.title.Text != "Paused: Janus-Pro-1B" || view2.pauseB.Text != "Resume" || u2.downloads.progress.Done < 3_000_000 {
		t.Errorf("after the restart: title %q, line %q, button %q", view2.title.Text, view2.line.Text, view2.pauseB.Text)
	}
	// Its total is the offer's estimate until the download lists the repository's files.
	if !strings.Contains(view2.line.Text, " of about ") || strings.Contains(view.line.Text, "about") {
		t.Errorf("paused in this run the line reads %q, after the restart %q: only the estimate is about", view.line.Text, view2.line.Text)
	}
	test.Tap(view2.pauseB)
	h2.pump("the downloaded model to load", func() bool { return u2.engine != nil })
	if u2.sidebar.modelName.Text != "Janus-Pro-1B" || u2.noModel.content.Visible() || !u2.chat.ready {
		t.Errorf("after the download: sidebar %q, no-model screen shown %v", u2.sidebar.modelName.Text, u2.noModel.content.Visible())
	}
	ranged := slices.ContainsFunc(s.Requests(), func(r hubtest.Request) bool {
		return r.Method == "GET" && strings.HasPrefix(r.Range, "bytes=") && !strings.HasPrefix(r.Range, "bytes=0-")
	})
	if !ranged {
		t.Errorf("the resumed download sent no Range request: %+v", s.Requests())
	}
}

// The model picker's Download… opens the same downloads; Cancel stops the download and
// offers the model again with what was fetched kept; a failed download says why in words
// (a repository the hub does not have: check the name), with Retry.
func TestDownloadDialog(t *testing.T) {
	s, stalled, cache := stallingHub(t, 2_000_000)
	env := hubEnv(s, cache)
	h := hubWindow(t, env, apptest.NewFakeEngine(0))
	u := h.u

	u.showModelPicker()
	test.Tap(findButton(t, u.win.Canvas().Overlays().Top(), "Download…"))
	if len(u.downloads.views) != 2 {
		t.Fatalf("%d download views after Download…, want the no-model screen's and the dialog's", len(u.downloads.views))
	}
	view := u.downloads.views[1]
	h.pump("the offers", func() bool { return len(u.downloads.offers) == 3 })
	test.Tap(findButton(t, view.offers, "Download"))
	job := u.downloads.job
	<-stalled
	waitPartial(t, cache, 2_000_000)
	h.pump("the progress", func() bool { return u.downloads.progress.Done > 0 })
	// A stalled connection: the line says so instead of the speed it had (the client waits
	// a minute before it retries). The seconds are set, not waited for.
	u.downloads.lastData = time.Now().Add(-12 * time.Second)
	u.downloads.renderProgress()
	if !strings.Contains(view.line.Text, "no data for 12 s") {
		t.Errorf("a stalled download says %q", view.line.Text)
	}
	// Cancel asks whether to delete what was fetched (it kept it without a word, as Pause
	// does, where a browser's Cancel deletes it); Keep keeps it.
	test.Tap(view.cancelB)
	h.waitJobEnd("the cancel", job)
	ask := u.win.Canvas().Overlays().Top()
	if texts := strings.Join(textsIn(ask), "\n"); !strings.Contains(texts, "Discard the download?") || !strings.Contains(texts, "downloaded so far") {
		t.Fatalf("after Cancel the window shows:\n%s", texts)
	}
	test.Tap(findButton(t, ask, "Keep"))
	h.pump("the offers again", func() bool { return view.offers.Visible() && u.downloads.offers[0].Partial })
	texts := strings.Join(textsIn(view.content), "\n")
	if !strings.Contains(texts, "downloaded already") {
		t.Errorf("after Cancel the offer does not say what is kept:\n%s", texts)
	}
	findButton(t, view.offers, "Resume")

	// Discard… gives the disk back, once asked (Cancel keeps what was fetched).
	test.Tap(findButton(t, view.offers, "Discard…"))
	test.Tap(findButton(t, u.win.Canvas().Overlays().Top(), "Discard"))
	h.pump("the offers without the partial download", func() bool {
		return len(u.downloads.offers) == 3 && !u.downloads.offers[0].Partial && u.downloads.offers[0].CachedBytes == 0
	})
	findButton(t, view.offers, "Download")
	if _, err := os.Stat(filepath.Join(cache, hub.RepoFolder(app.DefaultRepo))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Discard the download's folder is still there: %v", err)
	}

	// A repository the hub does not have fails with its error and a Retry button.
	u.downloads.start("deepseek-ai/Janus-1.3B")
	h.waitJobEnd("the failure", u.downloads.job)
	// The job is done before its end reaches the window: wait for the button to change.
	h.pump("the failure on screen", func() bool { return view.pauseB.Text == "Retry" })
	want := "deepseek-ai/Janus-1.3B was not found on the hub at " + s.URL + " (set by HF_ENDPOINT): check the name, and that HF_ENDPOINT names a hub that has it"
	if view.pauseB.Text != "Retry" || !view.problem.Visible() || view.problem.Text != want {
		t.Errorf("failed download: button %q, problem %q, want %q", view.pauseB.Text, view.problem.Text, want)
	}
	if u.engine == nil || u.sidebar.modelName.Text == "Janus-1.3B" {
		t.Error("a failed download replaced the model in use")
	}
}

// A download started beside a model in use stays in sight in the sidebar once its dialog
// is closed, and when it finishes the model in use stays until the user says Load.
func TestDownloadBesideModel(t *testing.T) {
	s, stalled, cache := stallingHub(t, 1_000_000)
	env := hubEnv(s, cache)
	h := hubWindow(t, env, apptest.NewFakeEngine(0))
	u := h.u
	if u.sidebar.download.Visible() {
		t.Error("the sidebar shows a download before one started")
	}

	u.downloads.start(app.DefaultRepo)
	<-stalled
	h.pump("the download in the sidebar", func() bool {
		return u.sidebar.download.Visible() && strings.HasPrefix(u.sidebar.downloadL.Text, "Downloading Janus-Pro-1B · ")
	})
	job := u.downloads.job
	u.downloads.pause()
	h.waitJobEnd("the pause", job)
	if !u.sidebar.download.Visible() || !strings.HasPrefix(u.sidebar.downloadL.Text, "Paused: Janus-Pro-1B") {
		t.Errorf("paused: the sidebar says %q (shown %v)", u.sidebar.downloadL.Text, u.sidebar.download.Visible())
	}

	s.SetFault("model.safetensors", nil)
	u.downloads.start(app.DefaultRepo)
	h.waitJobEnd("the download", u.downloads.job)
	h.pump("the offer to load it", func() bool { return len(u.dialogs) == 1 })
	if name := u.engine.Info().Name; name != "fake" {
		t.Errorf("the finished download replaced the model in use: %q", name)
	}
	if u.sidebar.download.Visible() {
		t.Errorf("the sidebar still shows %q after the download", u.sidebar.downloadL.Text)
	}
	// It came up unasked: an Enter meant for the composer does not answer it.
	h.windowEnter()
	if len(u.dialogs) != 1 || u.engine.Info().Name != "fake" {
		t.Fatalf("Enter answered the unasked question: %d dialogs, model %q", len(u.dialogs), u.engine.Info().Name)
	}
	test.Tap(findButton(t, u.win.Canvas().Overlays().Top(), "Load"))
	h.pump("the downloaded model to load", func() bool { return u.loading == nil && u.sidebar.modelName.Text == "Janus-Pro-1B" })
	// The downloads offer no Load on the model in use: it reloaded it, stopping its work.
	u.showDownloads(nil)
	view := u.downloads.views[len(u.downloads.views)-1]
	h.pump("the offers", func() bool { return len(textsIn(view.offers)) > 0 })
	if b := buttonsIn(view.offers); b["Load"].b != nil || b["In use"].b == nil || !b["In use"].b.Disabled() {
		t.Errorf("the downloads offer %v for the model in use, want a disabled In use", slices.Collect(maps.Keys(b)))
	}
}

// A download an earlier run left half done is in the sidebar from the next start, paused,
// while a model is in use (it showed only once the downloads were opened), and a tap on it
// opens them with Resume.
func TestPausedDownloadShownAtStart(t *testing.T) {
	s, stalled, cache := stallingHub(t, 1_000_000)
	env := hubEnv(s, cache)
	first := hubWindow(t, env, apptest.NewFakeEngine(0))
	first.u.downloads.start(app.DefaultRepo)
	job := first.u.downloads.job
	<-stalled
	waitPartial(t, cache, 1_000_000)
	first.u.downloads.pause()
	first.waitJobEnd("the pause", job)

	h := hubWindow(t, env, apptest.NewFakeEngine(0)) // the next start, a model in use
	u := h.u
	h.pump("the paused download in the sidebar", func() bool {
		return u.sidebar.download.Visible() && strings.HasPrefix(u.sidebar.downloadL.Text, "Paused: Janus-Pro-1B")
	})
	u.showDownloads(nil)
	view := u.downloads.views[len(u.downloads.views)-1]
	h.pump("the offers", func() bool { return len(textsIn(view.content)) > 0 && buttonsIn(view.content)["Resume"].b != nil })
}

// A paused download that another one replaces keeps its place in the offers: Resume, with
// what it fetched.
func TestDownloadReplacedKeepsPaused(t *testing.T) {
	s, stalled, cache := stallingHub(t, 1_000_000)
	h := hubWindow(t, hubEnv(s, cache), apptest.NewFakeEngine(0))
	u := h.u
	u.showDownloads(nil)
	view := u.downloads.views[len(u.downloads.views)-1]
	h.pump("the offers", func() bool { return len(u.downloads.offers) == 3 })
	u.downloads.start(app.DefaultRepo)
	job := u.downloads.job
	<-stalled
	waitPartial(t, cache, 1_000_000)
	u.downloads.pause()
	h.waitJobEnd("the pause", job)

	u.downloads.start("deepseek-ai/Janus-1.3B") // not on this hub: it fails
	h.waitJobEnd("the other download", u.downloads.job)
	h.pump("the paused one offered again", func() bool {
		return view.offers.Visible() && slices.ContainsFunc(u.downloads.offers, func(o app.DownloadOffer) bool {
			return o.Repo == app.DefaultRepo && o.Partial && o.CachedBytes > 0
		})
	})
	findButton(t, view.offers, "Resume")
	if texts := strings.Join(textsIn(view.content), "\n"); !strings.Contains(texts, "downloaded already") {
		t.Errorf("the paused download's offer does not say what it fetched:\n%s", texts)
	}
}

// A cache folder with a file where the downloads go says so, naming the folder, in the
// offers' warning and in the failed download's line, not in Go's mkdir words.
func TestDownloadFolderInTheWay(t *testing.T) {
	s := hubtest.New(t)
	s.AddTinyA(t, app.DefaultRepo)
	cache := filepath.Join(t.TempDir(), "hf", "hub")
	refs := filepath.Join(cache, hub.RepoFolder(app.DefaultRepo), "refs")
	if err := os.MkdirAll(filepath.Dir(refs), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(refs, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h := hubWindow(t, hubEnv(s, cache), nil)
	u := h.u
	h.pump("the offers", func() bool { return len(u.downloads.offers) == 3 })
	view := u.noModel.downloads
	texts := strings.Join(textsIn(view.content), "\n")
	if want := "Cannot use the download folder " + refs + ": a file is in the way"; !strings.Contains(texts, want) {
		t.Errorf("the offers do not say %q:\n%s", want, texts)
	}
	u.downloads.start(app.DefaultRepo)
	h.waitJobEnd("the failure", u.downloads.job)
	h.pump("the failure on screen", func() bool { return view.pauseB.Text == "Retry" })
	if want := "Cannot write to the download folder " + refs + ": a file is in the way"; view.problem.Text != want {
		t.Errorf("failed download says %q, want %q", view.problem.Text, want)
	}
}

// The download's line: bytes, speed and time left while data comes; what it waits for when
// none has come for a while; the bytes alone when paused.
func TestProgressLine(t *testing.T) {
	p := app.Progress{Done: 1_200_000_000, Total: 4_200_000_000, Rate: 25_000_000, Remaining: 2 * time.Minute}
	for _, c := range []struct {
		p                  app.Progress
		estimated, running bool
		quiet              time.Duration
		want               string
	}{
		{p, false, true, time.Second, "1.2 GB of 4.2 GB · 25 MB/s · 2 min left"},
		{p, false, true, 7*time.Second + 400*time.Millisecond, "1.2 GB of 4.2 GB · no data for 7 s: waiting for the server"},
		{p, false, false, time.Hour, "1.2 GB of 4.2 GB downloaded"},
		{p, true, false, time.Hour, "1.2 GB of about 4.2 GB downloaded"},
		{app.Progress{Done: 5, Total: 10, Status: "retrying in 4s"}, false, true, time.Minute, "5 bytes of 10 bytes · retrying in 4s"},
	} {
		if got := progressLine(c.p, c.estimated, c.running, c.quiet); got != c.want {
			t.Errorf("progressLine(%+v, %v, %v, %v) = %q, want %q", c.p, c.estimated, c.running, c.quiet, got, c.want)
		}
	}
}

// Download… in the Models dialog opens over it, and closing the downloads comes back to it
// (the Models dialog was closed first, and Close left the window).
func TestDownloadOverModels(t *testing.T) {
	s := hubtest.New(t)
	s.AddTinyA(t, app.DefaultRepo)
	h := hubWindow(t, hubEnv(s, filepath.Join(t.TempDir(), "hf", "hub")), apptest.NewFakeEngine(0))
	u := h.u
	u.showModelPicker()
	test.Tap(findButton(t, u.win.Canvas().Overlays().Top(), "Download…"))
	if len(u.dialogs) != 2 {
		t.Fatalf("%d dialogs open after Download…, want Models and the downloads", len(u.dialogs))
	}
	u.escape()
	if len(u.dialogs) != 1 || !slices.Contains(textsIn(u.win.Canvas().Overlays().Top()), "Models") {
		t.Errorf("after the downloads closed: %d dialogs, in front %q", len(u.dialogs), textsIn(u.win.Canvas().Overlays().Top()))
	}
}

// knownDownloader offers the released models with app.KnownModels' sizes, as the hub's
// Downloader does with an empty cache; it downloads nothing.
type knownDownloader struct{}

func (knownDownloader) Offers() ([]app.DownloadOffer, error) {
	var offers []app.DownloadOffer
	for _, m := range app.KnownModels() {
		offers = append(offers, app.DownloadOffer{Repo: m.Repo, Summary: m.Summary, Default: m.Repo == app.DefaultRepo,
			DownloadBytes: m.DownloadBytes, Footprint: m.Footprint})
	}
	return offers, nil
}

func (knownDownloader) Download(context.Context, string, func(app.Progress)) (string, error) {
	return "", errors.New("no downloads here")
}

func (knownDownloader) Discard(string) error { return nil }

// needsMemory is the memory a row says a model needs ("needs 5.1 GB of memory", "needs
// 2.6 GB" as the Models picker said it).
var needsMemory = regexp.MustCompile(`needs [0-9.]+ [kMG]?B( of memory)?( with \S+ weights)?`)

// A release the model search found on this computer (a Janus-Pro-1B folder under
// JANUS_MODELS): Download… says so and loads it instead of downloading it, and the memory it
// needs is the Models picker's figure for that folder, whatever the weights setting.
func TestDownloadOffersCopyOnDisk(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "Janus-Pro-1B")
	apptest.TinyA(t, dir)
	for _, weights := range []string{"auto", "stored", "q8"} {
		t.Run("weights="+weights, func(t *testing.T) {
			h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) {
				o.Env = envWithModels(root)
				o.Downloader = knownDownloader{}
			})
			u := h.u
			u.settings.Weights = weights
			u.showModelPicker()
			picker := u.win.Canvas().Overlays().Top()
			var pickerNeed string
			h.pump("the picker's row", func() bool {
				for _, s := range textsIn(picker) {
					if strings.Contains(s, dir) {
						pickerNeed = needsMemory.FindString(s)
					}
				}
				return pickerNeed != ""
			})
			u.showDownloads(nil)
			top := u.win.Canvas().Overlays().Top()
			var row string
			h.pump("the offers", func() bool {
				for _, s := range textsIn(top) {
					if strings.HasPrefix(s, "Janus-Pro 1B:") {
						row = s
					}
				}
				return row != ""
			})
			if got := needsMemory.FindString(row); got != pickerNeed {
				t.Errorf("Download… says %q, Models says %q for the same folder", got, pickerNeed)
			}
			if !strings.Contains(row, "Already on this computer: "+dir) {
				t.Errorf("Download… does not say the copy is there:\n%s", row)
			}
			load := findButton(t, top, "Load")
			if load.Disabled() {
				t.Fatal("the copy's Load is disabled")
			}
			test.Tap(load)
			h.pump("the copy to load", func() bool { return u.loading != nil })
		})
	}
}

// blockingDownloader is knownDownloader whose downloads run until they are paused.
type blockingDownloader struct{ knownDownloader }

func (blockingDownloader) Download(ctx context.Context, _ string, _ func(app.Progress)) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}

// While another model downloads, a copy on this computer still loads (its Load was disabled
// with the downloads' buttons, "one download at a time"); and a download that fetched
// nothing (the hub had no such model) offers no Discard… of "0 bytes".
func TestDownloadLoadBesideDownload(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "Janus-Pro-1B")
	apptest.TinyA(t, dir)
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) {
		o.Env = envWithModels(root)
		o.Downloader = blockingDownloader{}
	})
	u := h.u
	h.pump("the search", func() bool { _, ok := u.search.Copy(app.DefaultRepo); return ok })
	u.downloads.start("deepseek-ai/Janus-1.3B")
	u.showDownloads(nil)
	top := u.win.Canvas().Overlays().Top()
	h.pump("the offers", func() bool { return buttonsIn(top)["Load"].b != nil })
	if load := findButton(t, top, "Load"); load.Disabled() {
		t.Error("the copy's Load is disabled while another model downloads")
	} else {
		test.Tap(load)
		h.pump("the copy to load", func() bool { return u.loading != nil })
	}
	job := u.downloads.job
	u.downloads.pause()
	h.waitJobEnd("the pause", job)

	u.opts.Downloader = knownDownloader{} // its downloads fail at once, having fetched nothing
	u.downloads.start("deepseek-ai/Janus-1.3B")
	h.waitJobEnd("the failed download", u.downloads.job)
	view := u.downloads.views[len(u.downloads.views)-1]
	if !view.problem.Visible() || view.discardB.Visible() {
		t.Errorf("a download that fetched nothing: problem shown %v, Discard… shown %v", view.problem.Visible(), view.discardB.Visible())
	}
}

// partialDownloader is knownDownloader with an unfinished download of each repo in partial
// left in the hub cache.
type partialDownloader struct {
	knownDownloader
	partial []string
}

func (p partialDownloader) Offers() ([]app.DownloadOffer, error) {
	offers, err := p.knownDownloader.Offers()
	for i := range offers {
		if slices.Contains(p.partial, offers[i].Repo) {
			offers[i].Partial, offers[i].CachedBytes = true, 1<<30
		}
	}
	return offers, err
}

// A release on this computer whose download into the hub cache was left unfinished: the
// screen offers its copy's Load, not a paused download to resume, and still Discard… for
// the gigabytes the download left, which nothing else gives back.
func TestDownloadCopyOnDiskBeatsPausedDownload(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "Janus-Pro-1B")
	apptest.TinyA(t, dir)
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) {
		o.Env = envWithModels(root)
		o.Downloader = partialDownloader{partial: []string{app.DefaultRepo, "deepseek-ai/Janus-Pro-7B"}}
	})
	u := h.u
	u.findModels(false)
	h.pump("the search", func() bool { _, ok := u.search.Copy(app.DefaultRepo); return ok })
	u.downloads.looked = false // the offers read again, now that the search has found the copy
	u.downloads.reload()
	h.pump("the offers", func() bool { return u.downloads.looked && len(u.downloads.offers) > 0 })
	if got := u.downloads.repo; got == app.DefaultRepo {
		t.Errorf("the download shown paused is %s, which is on this computer", got)
	}
	u.showDownloads(nil)
	top := u.win.Canvas().Overlays().Top()
	h.settle()
	buttons := buttonsIn(top)
	if _, ok := buttons["Load"]; !ok {
		t.Errorf("no Load for the copy on this computer (buttons %v)", slices.Collect(maps.Keys(buttons)))
	}
	discards := 0
	visit(top, fyne.Position{}, func(o fyne.CanvasObject, _ fyne.Position) {
		if b, ok := asButton(o); ok && b.Text == "Discard…" {
			discards++
		}
	})
	// Pro-7B's is the paused download's, shown above the offers with its own Discard…;
	// Pro-1B's row keeps one for what its download left.
	if discards < 2 {
		t.Errorf("%d Discard… buttons, want one for each unfinished download", discards)
	}
}

// With no model, the focus the window hands back (at the start, when a dialog closes, when
// a tab is chosen) goes to the no-model screen's Download, not to the composer hidden under
// it: Fyne refused that ("Failed to focus object which is not part of the canvas' content",
// logged at every first start), and after a dialog closed nothing had the focus.
func TestNoModelFocusGoesToDownload(t *testing.T) {
	s, _, cache := stallingHub(t, 3_000_000)
	h := hubWindow(t, hubEnv(s, cache), nil)
	u := h.u
	h.pump("the offers", func() bool { return u.noModel.content.Visible() && len(u.downloads.offers) == 3 })
	u.win.Canvas().Unfocus()
	u.focusCurrent() // as a closed dialog, a chosen tab or the start does
	h.pump("the focus on Janus-Pro-1B's Download", func() bool {
		return u.noModel.downloads.primary != nil && u.win.Canvas().Focused() == u.noModel.downloads.primary
	})
}

// lateDownloader is a Downloader whose first download, once cancelled, waits for late to
// close and then reports once more before it returns, as a pull closing its files does
// (reported closes then); later downloads report a little and wait to be cancelled.
type lateDownloader struct {
	calls    atomic.Int32
	late     chan struct{}
	reported chan struct{}
}

func (l *lateDownloader) Offers() ([]app.DownloadOffer, error) {
	return []app.DownloadOffer{{Repo: app.DefaultRepo, Default: true, DownloadBytes: 100}, {Repo: "deepseek-ai/Janus-1.3B", DownloadBytes: 1000}}, nil
}

func (l *lateDownloader) Discard(string) error { return nil }

func (l *lateDownloader) Download(ctx context.Context, repo string, progress func(app.Progress)) (string, error) {
	if l.calls.Add(1) == 1 {
		progress(app.Progress{Done: 1, Total: 100})
		<-ctx.Done()
		<-l.late
		progress(app.Progress{Done: 99, Total: 100})
		close(l.reported)
		return "", ctx.Err()
	}
	progress(app.Progress{Done: 5, Total: 1000})
	<-ctx.Done()
	return "", ctx.Err()
}

// A report a paused download sends as it closes, after another download has started, is
// not shown as the new one's progress.
func TestDownloadLateReportOfPaused(t *testing.T) {
	l := &lateDownloader{late: make(chan struct{}), reported: make(chan struct{})}
	h := newHarness(t, nil, func(o *Options) { o.Downloader = l })
	d := h.u.downloads
	d.start(app.DefaultRepo)
	h.pump("the first download's progress", func() bool { return d.progress.Done == 1 })
	d.pause()
	d.start("deepseek-ai/Janus-1.3B")
	h.pump("the second download's progress", func() bool { return d.progress.Done == 5 })
	close(l.late)
	<-l.reported
	h.settle()
	if d.progress.Done != 5 || d.progress.Total != 1000 {
		t.Errorf("the second download shows %d of %d, the paused one's late report", d.progress.Done, d.progress.Total)
	}
	d.pause()
}
