package ui

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model"
)

// speeds are the measured numbers a view shows; goldens hold "N" instead, and no size for
// the text that holds them (its width follows the number: a slower run, under -race, shows
// more digits).
var speeds = regexp.MustCompile(`[0-9]+(\.[0-9]+)? (tokens/s|images/s|tokens ·)`)

// textSize is a text element's size in the markup.
var textSize = regexp.MustCompile(` size="[0-9]+x[0-9]+"`)

// withoutSpeeds is markup with the measured speeds replaced by "N", and the sizes of the
// texts that show them left out.
func withoutSpeeds(markup string) string {
	lines := strings.Split(markup, "\n")
	for i, l := range lines {
		if speeds.MatchString(l) {
			lines[i] = textSize.ReplaceAllString(speeds.ReplaceAllString(l, "N $2"), ` size="measured"`)
		}
	}
	return strings.Join(lines, "\n")
}

// assertMarkup compares the window's object tree (positions, sizes, texts, theme colours)
// with testdata/NAME, after replacing measured speeds (withoutSpeeds). With -update it rewrites the golden;
// on a mismatch it names the first differing line and writes the tree to the test's artifact
// folder (kept with go test -artifacts), never into the source tree.
func assertMarkup(t *testing.T, name string, c fyne.Canvas) {
	t.Helper()
	got := withoutSpeeds(test.RenderToMarkup(c))
	golden := filepath.Join("testdata", name)
	want := fixtures.Golden(t, golden, []byte(got))
	if got == string(want) {
		return
	}
	failed := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(failed, []byte(got), 0o644); err != nil {
		t.Errorf("write %s: %v", failed, err)
	}
	line, g, w := firstDifference(got, string(want))
	t.Errorf("%s differs from the golden at line %d:\n got  %s\n want %s\nthe whole tree: %s (kept with -artifacts; promote with -update if the change is meant)",
		name, line, g, w, failed)
}

// firstDifference returns the first line (from 1) where got and want differ, and both lines.
func firstDifference(got, want string) (int, string, string) {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return i + 1, strings.TrimSpace(gl), strings.TrimSpace(wl)
		}
	}
	return 0, "", ""
}

// settle runs UI updates until none come for a while (thumbnails, the history list).
func (h *harness) settle() {
	h.t.Helper()
	quiet := time.Now()
	h.pump("the window to settle", func() bool {
		h.mu.Lock()
		n := len(h.q)
		h.mu.Unlock()
		if n > 0 {
			quiet = time.Now()
		}
		return time.Since(quiet) > 300*time.Millisecond
	})
}

func TestMarkupChatEmpty(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	h.settle()
	assertMarkup(t, "chat_empty.xml", h.u.win.Canvas())
}

func TestMarkupChatWithAnswer(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(time.Millisecond))
	c := h.u.chat
	h.u.OnDropped(fyne.Position{}, []fyne.URI{fileURI(t, landscape(t))})
	h.pump("the attachment", func() bool { return len(c.attached) == 1 })
	test.Type(c.entry, "What is in this picture?")
	c.send()
	h.waitAnswers(1)
	h.pump("the thumbnail", func() bool { return thumbLoaded(c.msgs[0]) })
	h.settle()
	assertMarkup(t, "chat_answer.xml", h.u.win.Canvas())
}

func TestMarkupCanvasResults(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(time.Millisecond))
	c := h.u.create
	h.u.ShowCreate()
	test.Type(c.prompt, "four coloured squares")
	c.count.SetSelected("4")
	c.seed.SetText("7")
	c.generate()
	h.pump("the images", func() bool { return c.job == nil })
	h.settle()
	assertMarkup(t, "canvas_results.xml", h.u.win.Canvas())
}

func TestMarkupCanvasEmpty(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	h.u.ShowCreate()
	h.settle()
	assertMarkup(t, "canvas_empty.xml", h.u.win.Canvas())
}

// With no model anywhere the window says where it looked and how to get one.
func TestMarkupNoModel(t *testing.T) {
	env := app.Env{GOOS: "linux", Home: "/home/test", Getenv: func(k string) string {
		if k == "JANUS_MODELS" {
			return "/nonexistent/models"
		}
		return ""
	}}
	h := newHarness(t, nil, func(o *Options) { o.Env = env })
	h.pump("the no-model screen", func() bool { return h.u.noModel.content.Visible() })
	h.settle()
	if h.u.tabs.Visible() || !strings.Contains(h.u.noModel.text.Text, "/nonexistent/models") {
		t.Errorf("no-model screen: tabs shown %v, text %q", h.u.tabs.Visible(), h.u.noModel.text.Text)
	}
	if h.u.chat.ready || h.u.create.ready {
		t.Error("send or generate enabled without a model")
	}
	assertMarkup(t, "no_model.xml", h.u.win.Canvas())
}

// fakeDownloader offers three models whose memory needs fit any machine or none, and
// downloads by reporting one fixed progress and waiting to be paused: the download
// screen's look, the same on every machine.
type fakeDownloader struct{}

func (fakeDownloader) Offers() ([]app.DownloadOffer, error) {
	return []app.DownloadOffer{
		{Repo: "deepseek-ai/Janus-Pro-1B", Summary: "Janus-Pro 1B: understanding and generation; the default", Default: true,
			DownloadBytes: 4_185_000_000, Footprint: storedFootprint(1 << 20)},
		{Repo: "deepseek-ai/Janus-Pro-7B", Summary: "Janus-Pro 7B: the best answers and images; needs a large machine",
			DownloadBytes: 14_847_000_000, Footprint: storedFootprint(2e15)},
		{Repo: "deepseek-ai/Janus-1.3B", Summary: "Janus 1.3B: the first release",
			DownloadBytes: 4_185_000_000, Footprint: storedFootprint(1 << 20), CachedBytes: 1_500_000_000, Partial: true},
	}, nil
}

// storedFootprint is a model whose weights take n bytes as stored, with no working memory.
func storedFootprint(n int64) app.Footprint {
	return app.Footprint{Weights: map[string]int64{model.WeightsStored: n}}
}

func (fakeDownloader) Discard(string) error { return nil }

func (fakeDownloader) Download(ctx context.Context, repo string, progress func(app.Progress)) (string, error) {
	progress(app.Progress{Done: 1_300_000_000, Total: 4_185_000_000, Rate: 26_000_000, Remaining: 111 * time.Second})
	<-ctx.Done()
	return "", ctx.Err()
}

// firstRun opens a window on a machine with no model and fakeDownloader's offers, and
// waits for the offers on the no-model screen.
func firstRun(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, nil, func(o *Options) { o.Env = envWithModels("/nonexistent/models"); o.Downloader = fakeDownloader{} })
	h.pump("the offers", func() bool { return h.u.noModel.content.Visible() && len(h.u.downloads.offers) == 3 })
	return h
}

// With a downloader the no-model screen offers the released models first: sizes, memory
// needs, whether they fit, a partial download to resume; then the download's progress.
func TestMarkupNoModelDownload(t *testing.T) {
	h := firstRun(t)
	h.settle()
	assertMarkup(t, "no_model_offers.xml", h.u.win.Canvas())

	h.u.downloads.start("deepseek-ai/Janus-Pro-1B")
	h.pump("the progress", func() bool { return h.u.downloads.progress.Rate > 0 })
	h.settle()
	if line := h.u.noModel.downloads.line.Text; line != "1.3 GB of 4.2 GB · 26 MB/s · 2 min left" {
		t.Errorf("progress line %q", line)
	}
	assertMarkup(t, "no_model_downloading.xml", h.u.win.Canvas())
}
