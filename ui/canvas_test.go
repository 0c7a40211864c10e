package ui

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/internal/pngfile"
	"github.com/janus-desktop/janus/model"
)

// generateTwo fills the canvas with a prompt, 2 images and seed 42, presses Ctrl+Enter and
// waits for the results.
func generateTwo(t *testing.T, h *harness) {
	t.Helper()
	c := h.u.create
	h.u.ShowCreate()
	test.Type(c.prompt, "a red lighthouse")
	c.count.SetSelected("2")
	c.seed.SetText("42")
	c.prompt.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierControl})
	if c.job == nil {
		t.Fatalf("Ctrl+Enter did not generate (notice %q)", c.notice.Text)
	}
	if !c.progRow.Visible() || len(c.grid.Objects) != 2 {
		t.Fatalf("while generating: progress shown %v, %d tiles", c.progRow.Visible(), len(c.grid.Objects))
	}
	h.pump("the images", func() bool { return c.job == nil })
	if c.notice.Visible() {
		t.Fatalf("notice after generating: %q", c.notice.Text)
	}
}

// Two images on a real model: the grid shows both, previews arrived while generating, and
// the pictures are the engine's for that prompt and seed.
func TestCanvasGeneratesTwoImages(t *testing.T) {
	eng := tinyA(t)
	h := newHarness(t, eng)
	c := h.u.create
	generateTwo(t, h)

	if c.previews == 0 {
		t.Error("no preview was shown while generating")
	}
	if len(c.tiles) != 2 || c.gridL.cols != 2 {
		t.Fatalf("%d tiles in %d columns", len(c.tiles), c.gridL.cols)
	}
	opts := model.DefaultImageOptions()
	opts.N, opts.Seed = 2, 42
	want, err := eng.GenerateImages(context.Background(), "a red lighthouse", opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, tl := range c.tiles {
		if tl.result == nil || !tl.bar.Visible() {
			t.Fatalf("tile %d not finished", i)
		}
		if tl.result.Seed != 42+uint64(i) {
			t.Errorf("tile %d seed %d", i, tl.result.Seed)
		}
		got, ok := tl.pic.Image.(*image.NRGBA)
		if !ok || !bytes.Equal(got.Pix, want.Images[i].Pix) {
			t.Errorf("tile %d shows another picture than the engine makes for seed %d", i, 42+i)
		}
		if tl.dim.Visible() {
			t.Errorf("tile %d still dimmed", i)
		}
	}
	if c.progRow.Visible() {
		t.Error("progress still shown")
	}
	h.pump("the history", func() bool { return len(h.u.sidebar.entries) == 1 })
	if e := h.u.sidebar.entries[0]; e.Kind != app.KindImageSet {
		t.Errorf("history entry %+v", e)
	}
}

// Reset ignores a click just as a run ends: the settings come back where Stop was, and a
// click meant for Stop set four images back to one.
func TestCanvasResetIgnoresLateStop(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.create
	generateTwo(t, h)
	if c.settingsBack.IsZero() {
		t.Fatal("the run's end did not mark when the settings came back")
	}
	c.settingsBack = time.Now() // the click comes at once (not left to this machine's speed)
	test.Tap(c.reset)
	if c.count.Selected != "2" || c.seed.Text != "42" {
		t.Errorf("a click on Reset as the run ended reset the settings: %s images, seed %q", c.count.Selected, c.seed.Text)
	}
	c.settingsBack = time.Now().Add(-resetGuard)
	test.Tap(c.reset)
	if c.count.Selected == "2" || c.seed.Text != "" {
		t.Errorf("Reset later did not reset: %s images, seed %q", c.count.Selected, c.seed.Text)
	}
}

// Save writes a PNG with the settings in its text chunks, as `janus generate` does.
func TestCanvasSaveWritesPNGWithSettings(t *testing.T) {
	h := newHarness(t, tinyA(t))
	generateTwo(t, h)
	path := filepath.Join(t.TempDir(), "saved.png")
	var saveErr error
	saved := false
	h.u.create.save(h.u.create.tiles[1].result, path, nil, func(err error) { saveErr, saved = err, true })
	h.pump("the save", func() bool { return saved })
	if saveErr != nil {
		t.Fatal(saveErr)
	}
	if n := h.u.create.news.label; !h.u.create.news.box.Visible() || n.Text != "Saved saved.png in "+filepath.Dir(path) || h.u.create.notice.Visible() {
		t.Errorf("after saving the canvas says %q (visible %v), notice shown %v", n.Text, h.u.create.news.box.Visible(), h.u.create.notice.Visible())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("saved file is not a PNG: %v", err)
	}
	if !bytes.Equal(nrgbaPix(img), h.u.create.tiles[1].result.Image.Pix) {
		t.Error("saved pixels differ from the tile's")
	}
	fields, err := pngfile.ReadText(data)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range fields {
		got[f.Key] = f.Value
	}
	for k, v := range map[string]string{
		"prompt": "a red lighthouse", "seed": "43", "model": "tiny-a",
		"cfg": strconv.FormatFloat(model.DefaultCFG, 'g', -1, 64), "temperature": strconv.FormatFloat(model.DefaultTemperature, 'g', -1, 64),
	} {
		if got[k] != v {
			t.Errorf("text chunk %s = %q, want %q", k, got[k], v)
		}
	}
}

// "Ask about this image" opens a new chat with the image attached.
func TestCanvasAskAboutImage(t *testing.T) {
	h := newHarness(t, tinyA(t))
	generateTwo(t, h)
	ref := h.u.create.tiles[0].result.Ref
	h.u.create.askAbout(0)
	c := h.u.chat
	h.pump("the attachment", func() bool { return len(c.attached) == 1 })
	if h.u.tabs.SelectedIndex() != 0 {
		t.Error("the chat view is not shown")
	}
	if len(c.session.Messages()) != 0 {
		t.Error("not a new chat")
	}
	if ref.SHA256 != "" && c.attached[0].path != h.u.store.ImagePath(ref) {
		t.Errorf("attached %s, want the stored image %s", c.attached[0].path, h.u.store.ImagePath(ref))
	}
	if chip := strings.Join(textsIn(c.chips), " "); !strings.Contains(chip, "a red light") {
		t.Errorf("the chip reads %q, not the image's prompt", chip)
	}
	test.Type(c.entry, "What is this?")
	c.send()
	h.waitAnswers(1)
	if m := c.session.Messages(); len(m[0].Images) != 1 || m[1].State != app.StateDone {
		t.Errorf("chat about the image: %+v", m)
	}
}

// "Ask about this image" into a new chat whose question was already started keeps it, text
// and pictures, and says the picture joined it (it may be about something else); into an
// empty new chat it says nothing.
func TestCanvasAskKeepsStartedQuestion(t *testing.T) {
	h := newHarness(t, tinyA(t))
	generateTwo(t, h)
	c := h.u.chat
	h.u.create.askAbout(0)
	h.pump("the first picture", func() bool { return len(c.attached) == 1 })
	if c.notice.Visible() {
		t.Errorf("asked about into an empty new chat, the notice says %q", c.notice.Text)
	}
	test.Type(c.entry, "Compare these")
	h.u.ShowCreate()
	h.u.create.askAbout(1)
	h.pump("the second picture", func() bool { return len(c.attached) == 2 })
	if c.entry.Text != "Compare these" {
		t.Errorf("the question started became %q", c.entry.Text)
	}
	if !c.notice.Visible() || !strings.Contains(c.notice.Text, "joins the question you had started") {
		t.Errorf("the notice reads %q (shown %v), want it to say the picture joined the question started", c.notice.Text, c.notice.Visible())
	}
}

// findImage returns the first canvas.Image in o's tree.
func findImage(o fyne.CanvasObject) *canvas.Image {
	for _, obj := range test.LaidOutObjects(o) {
		if img, ok := obj.(*canvas.Image); ok {
			return img
		}
	}
	return nil
}

// nrgbaPix returns img's pixels as non-premultiplied RGBA bytes.
func nrgbaPix(img image.Image) []byte {
	out := image.NewNRGBA(img.Bounds())
	draw.Draw(out, out.Bounds(), img, img.Bounds().Min, draw.Src)
	return out.Pix
}

// Variations generates again with the same settings and new seeds, leaving the seed field as
// it was (a random seed stays random: TestCanvasVariationsKeepRandomSeed); Esc stops a run and
// keeps its previews, and a run stopped before its first preview leaves no empty tiles.
func TestCanvasVariationsAndStop(t *testing.T) {
	eng := apptest.NewFakeEngine(time.Millisecond)
	h := newHarness(t, eng)
	c := h.u.create
	generateTwo(t, h)
	first := []uint64{c.tiles[0].result.Seed, c.tiles[1].result.Seed}
	test.Tap(findButton(t, c.tiles[0].bar, "Variations"))
	if c.job == nil {
		t.Fatalf("Variations did not start (notice %q)", c.notice.Text)
	}
	h.pump("the variations", func() bool { return c.job == nil })
	if len(c.tiles) != 2 || c.tiles[0].result == nil {
		t.Fatalf("%d tiles after Variations", len(c.tiles))
	}
	if s := c.tiles[0].result.Seed; s == first[0] || c.tiles[1].result.Seed != s+1 {
		t.Errorf("variation seeds %d, %d after %v", s, c.tiles[1].result.Seed, first)
	}
	if c.seed.Text != "42" {
		t.Errorf("after Variations the seed field reads %q, want the 42 typed before", c.seed.Text)
	}
	if m := c.tiles[0].result.Meta; m.Prompt != "a red lighthouse" || m.CFG != model.DefaultCFG {
		t.Errorf("variation settings %+v", m)
	}

	eng.Delay = 200 * time.Millisecond
	c.generate()
	h.pump("a preview", func() bool { return c.previews > 0 && c.tiles[0].pic.Image != nil })
	c.prompt.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	h.pump("the stop", func() bool { return c.job == nil })
	if !strings.Contains(c.news.label.Text, "Stopped") || len(c.tiles) != 2 || c.tiles[0].pic.Image == nil {
		t.Errorf("after Esc: news %q, %d tiles", c.news.label.Text, len(c.tiles))
	}
	if c.tiles[0].bar.Visible() {
		t.Error("a stopped tile offers Save")
	}
	if !c.notice.Visible() || !strings.Contains(c.notice.Text, "unfinished") || c.notice.Importance == widget.DangerImportance {
		t.Errorf("after Esc the line under the settings says %q (shown %v), want a plain note that the pictures are unfinished", c.notice.Text, c.notice.Visible())
	}

	// Stopped before any preview: no grey tiles are left; what was there comes back.
	stopped := c.tiles
	c.generate()
	c.stop()
	h.pump("the second stop", func() bool { return c.job == nil })
	if !slices.Equal(c.tiles, stopped) || !c.grid.Visible() || c.empty.Visible() || len(c.grid.Objects) != 2 {
		t.Errorf("stopped before a preview: %d tiles (the earlier ones: %v), grid shown %v",
			len(c.tiles), slices.Equal(c.tiles, stopped), c.grid.Visible())
	}
	// On an empty canvas the empty state comes back.
	c.clear()
	c.prompt.SetText("a red lighthouse")
	c.generate()
	c.stop()
	h.pump("the third stop", func() bool { return c.job == nil })
	if len(c.tiles) != 0 || c.grid.Visible() || !c.empty.Visible() {
		t.Errorf("stopped before a preview on an empty canvas: %d tiles, grid shown %v", len(c.tiles), c.grid.Visible())
	}
}

// The images keep their place as the run goes from its progress bar to its end and to the
// line a Save writes, and no empty row is kept above them for a progress bar when no run
// goes on.
func TestCanvasGridStaysPut(t *testing.T) {
	eng := apptest.NewFakeEngine(20 * time.Millisecond)
	h := newHarness(t, eng)
	c := h.u.create
	h.u.ShowCreate()
	top := func() float32 {
		// The test window lays out only when resized: as the desktop driver does for every
		// frame, lay it out again.
		h.u.win.Resize(defaultWindowSize.AddWidthHeight(0, 1))
		h.u.win.Resize(defaultWindowSize)
		return fyne.CurrentApp().Driver().AbsolutePositionForObject(c.body).Y
	}
	empty := top()
	c.prompt.SetText("a red lighthouse")
	c.count.SetSelected("4")
	c.generate()
	if !c.progRow.Visible() {
		t.Fatal("no progress bar while generating")
	}
	running := top()
	h.pump("the images", func() bool { return c.job == nil })
	done := top()
	saved := false
	c.save(c.tiles[0].result, filepath.Join(t.TempDir(), "a.png"), nil, func(error) { saved = true })
	h.pump("the save", func() bool { return saved })
	if !c.news.box.Visible() || !c.settings.Visible() {
		t.Fatalf("after Save: news shown %v, settings shown %v (the news hid them)", c.news.box.Visible(), c.settings.Visible())
	}
	if after := top(); running != empty || done != empty || after != empty {
		t.Errorf("the images' top moves: %v empty, %v running, %v done, %v after Save", empty, running, done, after)
	}
	slot := fyne.CurrentApp().Driver().AbsolutePositionForObject(c.slot).Y + c.slot.Size().Height
	if gap := done - slot; gap > 4*theme.Padding() {
		t.Errorf("%v between the settings and the images", gap)
	}
}

// Deleting the image set on the canvas takes its images off it (Save on them would write
// a deleted image); the prompt stays.
func TestCanvasForgetsDeletedSet(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.create
	generateTwo(t, h)
	h.pump("the history", func() bool { return len(h.u.sidebar.entries) == 1 && c.setID != "" })
	h.u.sidebar.doDelete(h.u.sidebar.entries[0])
	h.pump("the deletion", func() bool { return len(h.u.sidebar.entries) == 0 })
	if len(c.tiles) != 0 || c.grid.Visible() || !c.empty.Visible() || c.setID != "" {
		t.Errorf("after deleting its set the canvas shows %d tiles (grid %v, set %q)", len(c.tiles), c.grid.Visible(), c.setID)
	}
	if c.prompt.Text != "a red lighthouse" {
		t.Errorf("the prompt became %q", c.prompt.Text)
	}
}

// findButton returns the button labelled text in o's tree.
func findButton(t *testing.T, o fyne.CanvasObject, text string) *widget.Button {
	t.Helper()
	for _, obj := range test.LaidOutObjects(o) {
		if b, ok := asButton(obj); ok && b.Text == text {
			return b
		}
	}
	t.Fatalf("no %q button", text)
	return nil
}

// askAboutUnstored makes one picture, "one square", takes it as a picture the store does not
// hold (askAbout then stores it first, off the UI goroutine), and asks about it; it returns
// the picture.
func askAboutUnstored(h *harness) app.GeneratedImage {
	c := h.u.create
	h.u.ShowCreate()
	test.Type(c.prompt, "one square")
	c.generate()
	h.pump("the image", func() bool { return c.job == nil })
	r := *c.tiles[0].result
	r.Ref = app.ImageRef{}
	c.tiles[0].result = &r
	c.askAbout(0)
	return r
}

// "Ask about this image" on a picture the store does not hold yet puts a copy into the store
// and attaches that: no temporary file is left behind.
func TestCanvasAskAboutUnstoredImage(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	h := newHarness(t, apptest.NewFakeEngine(0))
	r := askAboutUnstored(h)
	chat := h.u.chat
	h.pump("the attachment", func() bool { return len(chat.attached) == 1 || chat.notice.Visible() })
	if len(chat.attached) != 1 {
		t.Fatalf("not attached: %q", chat.notice.Text)
	}
	p := chat.attached[0].path
	if rel, err := filepath.Rel(h.u.store.Root(), p); err != nil || strings.HasPrefix(rel, "..") {
		t.Errorf("attached %s, want a copy in the store %s", p, h.u.store.Root())
	}
	if img, err := app.DecodeImageFile(p); err != nil || !bytes.Equal(img.Pix, nrgbaPix(r.Image)) {
		t.Errorf("the stored copy is not the picture (%v)", err)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "janus-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// "Ask about this image" on a picture being stored when the user opens another chat: the
// picture waits in the new chat's draft, which New chat brings back, and not in the chat
// the user went to (it joined that one); the notice says where it is.
func TestCanvasAskAboutThenLeave(t *testing.T) {
	dir := t.TempDir()
	store, err := app.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := &app.ChatRecord{Title: "elsewhere", Messages: []app.ChatMessage{
		{Text: "hello", State: app.StateDone}, {Assistant: true, Text: "hi", State: app.StateDone}}}
	if err := store.SaveChat(rec); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	askAboutUnstored(h)
	chat := h.u.chat
	chat.openSession(mustOpen(t, h.u, rec.ID)) // before the stored copy is attached
	h.pump("the picture to arrive", func() bool { return len(chat.drafts[""].attached) == 1 || len(chat.attached) > 0 })
	if len(chat.attached) != 0 {
		t.Errorf("the picture joined the chat the user went to: %v", chat.attached)
	}
	if !chat.notice.Visible() || !strings.Contains(chat.notice.Text, "waits in a new chat") {
		t.Errorf("the notice reads %q (shown %v), want it to say where the picture is", chat.notice.Text, chat.notice.Visible())
	}
	h.u.newChat()
	if len(chat.attached) != 1 || !strings.Contains(strings.Join(textsIn(chat.chips), " "), "one square") {
		t.Errorf("New chat shows %d pictures (%q), want the one asked about", len(chat.attached), textsIn(chat.chips))
	}
}

// "Ask about this image", then New chat (Ctrl+N) before the stored copy arrives: any chat
// not begun is the new chat, and the picture joins the one in front (it went to the new
// chat's draft, which the next New chat dropped).
func TestCanvasAskAboutThenNewChat(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	askAboutUnstored(h)
	chat := h.u.chat
	h.u.newChat()
	h.pump("the picture to arrive", func() bool { return len(chat.drafts[""].attached) == 1 || len(chat.attached) > 0 })
	if len(chat.attached) != 1 || !strings.Contains(strings.Join(textsIn(chat.chips), " "), "one square") {
		t.Errorf("%d pictures in the new chat in front (%q), want the one asked about", len(chat.attached), textsIn(chat.chips))
	}
	h.u.newChat()
	if len(chat.attached) != 1 {
		t.Errorf("after another New chat: %d pictures, drafts %v", len(chat.attached), chat.drafts)
	}
	// A file dropped on a new chat, then New chat before it is read, as well.
	chat.discardChip(chat.attached[0].path)
	chat.attach([]string{landscape(t)})
	h.u.newChat()
	h.pump("the file to arrive", func() bool { return len(chat.drafts[""].attached) == 1 || len(chat.attached) > 0 })
	if len(chat.attached) != 1 {
		t.Errorf("a file dropped then New chat: %d pictures in the new chat in front, drafts %v", len(chat.attached), chat.drafts)
	}
}

// A history image that cannot be decoded says so on its tile, and the others still show.
func TestCanvasBrokenHistoryImage(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.create
	h.u.ShowCreate()
	test.Type(c.prompt, "two squares")
	c.count.SetSelected("2")
	c.generate()
	h.pump("the images", func() bool { return c.job == nil })
	h.pump("the history", func() bool { return len(h.u.sidebar.entries) == 1 })
	set, err := h.u.store.LoadSet(h.u.sidebar.entries[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.u.store.ImagePath(set.Images[0].Image), []byte("\x89PNG\r\n\x1a\n broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.u.newImage()
	c.showSet(set)
	h.pump("the tiles", func() bool { return c.tiles[0].problem != nil && c.tiles[1].result != nil })
	if txt := c.tiles[0].problem.Text; !strings.Contains(txt, "cannot be shown") || !strings.Contains(txt, set.Images[0].Image.SHA256[:8]) {
		t.Errorf("broken tile says %q", txt)
	}
	if c.tiles[0].result != nil || c.tiles[1].problem != nil || !c.tiles[0].problem.Visible() {
		t.Errorf("tile 0: result %v, problem shown %v; tile 1 has a problem %v", c.tiles[0].result, c.tiles[0].problem.Visible(), c.tiles[1].problem != nil)
	}
}

// The model does one thing at a time: images asked for while an answer is being written say
// that they wait for it, and start once it ends.
func TestCanvasSaysItWaitsForChat(t *testing.T) {
	eng := apptest.NewFakeEngine(100 * time.Millisecond) // an answer of half a second: still running when Generate is pressed, under -race on a busy machine too
	h := newHarness(t, eng)
	u := h.u
	test.Type(u.chat.entry, "a question")
	u.chat.send()
	h.pump("the answer to start", func() bool { return u.chat.session.Busy() })
	u.ShowCreate()
	test.Type(u.create.prompt, "a lighthouse")
	u.create.generate()
	if got := u.create.progText.Text; !strings.Contains(got, "Waiting for the answer in Chat") {
		t.Errorf("while the answer is written the canvas says %q", got)
	}
	h.waitAnswers(1)
	if got := u.create.progText.Text; strings.Contains(got, "Waiting") {
		t.Errorf("after the answer the canvas still says %q", got)
	}
	h.pump("the images", func() bool { return u.create.job == nil })
}

// A prompt too long for the model's context says so and what to do; editing the prompt
// clears the line.
func TestCanvasPromptTooLong(t *testing.T) {
	// tiny-a with its context cut to 64 positions: less than the 36 image tokens and a
	// prompt of a hundred words.
	eng, err := app.LoadEngine(context.Background(), fixtures.Path(t, "models", "tiny-a"),
		app.LoadOptions{Name: "tiny-a", Threads: 1, ContextLimit: 64}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, eng)
	c := h.u.create
	h.u.ShowCreate()
	c.prompt.SetText(strings.Repeat("a red fox in the snow ", 20))
	c.generate()
	h.pump("the refusal", func() bool { return c.job == nil })
	if !c.notice.Visible() || !strings.Contains(c.notice.Text, "too long") || !strings.Contains(c.notice.Text, "Shorten the prompt") {
		t.Fatalf("a prompt over the context: notice %q (shown %v)", c.notice.Text, c.notice.Visible())
	}
	test.Type(c.prompt, "x")
	if c.notice.Visible() {
		t.Errorf("the line stayed after the prompt changed: %q", c.notice.Text)
	}
}

// Images the history cannot keep (a full disk, a read-only folder) stay on the canvas with
// a line saying so, and Save still writes them.
func TestCanvasKeepsImagesTheHistoryCannot(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.create
	sets := filepath.Join(h.u.store.Root(), "sets")
	if err := os.RemoveAll(sets); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sets, nil, 0o600); err != nil { // a file where the folder was
		t.Fatal(err)
	}
	h.u.ShowCreate()
	test.Type(c.prompt, "one square")
	c.generate()
	h.pump("the run to end", func() bool { return c.job == nil })
	if len(c.tiles) != 1 || c.tiles[0].result == nil || c.tiles[0].pic.Image == nil {
		t.Fatalf("the made image is not on the canvas (%d tiles; notice %q)", len(c.tiles), c.notice.Text)
	}
	if !strings.Contains(c.notice.Text, "not in the history") {
		t.Errorf("notice %q, want it to say the images are not in the history", c.notice.Text)
	}
	path := filepath.Join(t.TempDir(), "kept.png")
	var saveErr error
	saved := false
	c.save(c.tiles[0].result, path, nil, func(err error) { saveErr, saved = err, true })
	h.pump("the save", func() bool { return saved })
	if saveErr != nil {
		t.Fatalf("Save of an image the history could not keep: %v", saveErr)
	}
}

// Images the history cannot keep come back to the canvas when it had moved on before the
// run ended (they exist nowhere else), and the chat says where they are.
func TestCanvasBringsBackUnstoredImages(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(20*time.Millisecond))
	c := h.u.create
	sets := filepath.Join(h.u.store.Root(), "sets")
	os.RemoveAll(sets)
	if err := os.WriteFile(sets, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h.u.ShowCreate()
	test.Type(c.prompt, "one square")
	c.generate()
	h.pump("the run", func() bool { return c.job != nil })
	job := c.job
	h.u.newImage() // the canvas moves on while the run goes on
	h.u.ShowChat()
	h.pump("the run to end", func() bool { return c.job == nil })
	if c.shown != job || len(c.tiles) != 1 || c.tiles[0].result == nil {
		t.Fatalf("the run's images are not back on the canvas (%d tiles)", len(c.tiles))
	}
	if !strings.Contains(h.u.chat.notice.Text, "could not be saved to the history") {
		t.Errorf("chat notice %q", h.u.chat.notice.Text)
	}
}

// Variations after a run with a random seed leave the seed field empty: the next Generate
// draws new seeds, where it made the variations again when Variations filled the field.
func TestCanvasVariationsKeepRandomSeed(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(time.Millisecond))
	c := h.u.create
	h.u.ShowCreate()
	test.Type(c.prompt, "a red lighthouse")
	c.generate()
	h.pump("the image", func() bool { return c.job == nil })
	test.Tap(findButton(t, c.tiles[0].bar, "Variations"))
	h.pump("the variation", func() bool { return c.job == nil })
	variation := c.tiles[0].result.Seed
	if c.seed.Text != "" {
		t.Fatalf("after Variations the seed field reads %q, want it empty (random)", c.seed.Text)
	}
	c.generate()
	h.pump("the next image", func() bool { return c.job == nil })
	if c.tiles[0].result.Seed == variation {
		t.Errorf("Generate after Variations made seed %d again", variation)
	}
}

// Saving Settings changes on the canvas only the defaults that changed: the image count and
// guidance set on the canvas survive a Save of other settings (or of none).
func TestSettingsSaveKeepsCanvasControls(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.create
	c.count.SetSelected("4")
	c.cfg.SetValue(1.5)
	h.u.applySettings(h.u.settings)
	if c.count.Selected != "4" || c.cfg.Value != 1.5 {
		t.Errorf("after saving unchanged settings: %s images, guidance %v; want the canvas's 4 and 1.5", c.count.Selected, c.cfg.Value)
	}
	ns := h.u.settings
	ns.Generation.Temperature = 0.5
	h.u.applySettings(ns)
	if c.count.Selected != "4" || c.cfg.Value != 1.5 || c.temp.Value != 0.5 {
		t.Errorf("after a new default temperature: %s images, guidance %v, temperature %v; want 4, 1.5 and the new 0.5",
			c.count.Selected, c.cfg.Value, c.temp.Value)
	}
}

// A tile's actions take the form its width allows: named buttons, icons, or one "…" button
// when even the icons are wider than the tile (eight tiles in a small window, where the
// icons of neighbouring tiles ran together).
func TestTileActionsFitTheTile(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	bar := h.u.create.newTile(0).bar
	bar.Show()
	named, icons, more := bar.Objects[0], bar.Objects[1], bar.Objects[2]
	for _, tc := range []struct {
		width float32
		shown fyne.CanvasObject
		name  string
	}{
		{named.MinSize().Width + 10, named, "the named buttons"},
		{icons.MinSize().Width + 2, icons, "the icons"},
		{icons.MinSize().Width - 10, more, "the … button"},
	} {
		bar.Resize(fyne.NewSize(tc.width, tileBar))
		for _, o := range bar.Objects {
			if o.Visible() != (o == tc.shown) {
				t.Errorf("at %v wide the bar does not show %s alone", tc.width, tc.name)
				break
			}
		}
	}
	if w := more.MinSize().Width; w > 60 {
		t.Errorf("the … button takes %v", w)
	}
}

// The large view turns to the next and previous image with Right and Left and its arrows,
// the first after the last; Save leaves it open under the file dialog.
func TestLargeViewTurns(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.create
	generateTwo(t, h)
	c.openLarge(0)
	// A generated image shows the model's pixels, not a blur.
	if pics := picturesIn(h.u.win.Canvas().Overlays().Top()); len(pics) != 1 || pics[0].ScaleMode != canvas.ImageScaleFastest {
		t.Errorf("the large view's pictures %v, want one of the model's pixels", pics)
	}
	key := func(name fyne.KeyName) { h.u.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: name}) }
	title := func() string {
		for _, s := range textsIn(h.u.win.Canvas().Overlays().Top()) {
			if strings.HasPrefix(s, "Image ") {
				return s
			}
		}
		return ""
	}
	for _, step := range []struct {
		turn func()
		want string
	}{
		{func() { key(fyne.KeyRight) }, "Image 2 of 2"},
		{func() { key(fyne.KeyRight) }, "Image 1 of 2"},
		{func() { key(fyne.KeyLeft) }, "Image 2 of 2"},
		{func() { test.Tap(tipButtonIn(t, h.u.win.Canvas().Overlays().Top(), "Previous image (Left)")) }, "Image 1 of 2"},
	} {
		step.turn()
		if got := title(); got != step.want || len(h.u.dialogs) != 1 {
			t.Fatalf("turned to %q with %d dialogs open, want %q alone", got, len(h.u.dialogs), step.want)
		}
	}
	// A run of fewer images started under the view (Ctrl+Enter reaches the window): a turn
	// closes the view, which showed the tiles of before (it indexed past the new ones).
	c.count.SetSelected("1")
	c.generate()
	h.pump("the run", func() bool { return c.job == nil })
	key(fyne.KeyRight)
	if len(h.u.dialogs) != 0 {
		t.Fatalf("after a run under the view, Right leaves %d dialogs", len(h.u.dialogs))
	}
	c.count.SetSelected("2")
	c.generate()
	h.pump("the run", func() bool { return c.job == nil })
	c.openLarge(0)
	test.Tap(buttonsIn(h.u.win.Canvas().Overlays().Top())["Save"].b)
	if len(h.u.dialogs) != 2 || title() != "" {
		t.Fatalf("after Save: %d dialogs, want the view and the file dialog on top (title %q)", len(h.u.dialogs), title())
	}
	// The keys are the file dialog's: Right does not turn the view under it, Esc closes it.
	key(fyne.KeyRight)
	key(fyne.KeyEscape)
	if len(h.u.dialogs) != 1 || title() != "Image 1 of 2" {
		t.Errorf("after Right and Esc on the file dialog: %d dialogs, the view says %q", len(h.u.dialogs), title())
	}
}

// tipButtonIn is the icon button in o whose tip is tip.
func tipButtonIn(t *testing.T, o fyne.CanvasObject, tip string) *tipButton {
	t.Helper()
	var found *tipButton
	visit(o, fyne.Position{}, func(obj fyne.CanvasObject, _ fyne.Position) {
		if b, ok := obj.(*tipButton); ok && b.tip == tip {
			found = b
		}
	})
	if found == nil {
		t.Fatalf("no %q button", tip)
	}
	return found
}

// The large view: its actions and Close in one row (Close at the right), named as on the
// tile with Variations among them and an icon each; the prompt is said once.
func TestLargeViewActions(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.create
	generateTwo(t, h)
	c.openLarge(1)
	top := h.u.win.Canvas().Overlays().Top()
	bs := oneRowCloseRight(t, "the large view", top, "Use these settings", "Save", "Ask", "Variations")
	for _, n := range []string{"Use these settings", "Save", "Ask", "Variations"} {
		if b, ok := bs[n]; ok && b.b.Icon == nil {
			t.Errorf("%q has no icon", n)
		}
	}
	for _, a := range c.tileActions(1) {
		if _, ok := bs[a.name]; !ok {
			t.Errorf("the tile's %q is not in the large view", a.name)
		}
	}
	n := 0
	for _, s := range textsIn(top) {
		n += strings.Count(s, "a red lighthouse")
	}
	if n != 1 {
		t.Errorf("the large view says the prompt %d times: %q", n, textsIn(top))
	}
	test.Tap(bs["Variations"].b)
	if c.job == nil || len(h.u.dialogs) != 0 {
		t.Errorf("Variations in the large view: job %v, %d dialogs open", c.job != nil, len(h.u.dialogs))
	}
	h.pump("the variations", func() bool { return c.job == nil })
}

// A Save that ends while a run goes on says so at once, beside the run's progress.
func TestCanvasSaveDuringRunSaysSo(t *testing.T) {
	eng := apptest.NewFakeEngine(time.Millisecond)
	h := newHarness(t, eng)
	c := h.u.create
	generateTwo(t, h)
	first := c.tiles[0].result
	eng.Delay = 100 * time.Millisecond
	c.generate()
	path := filepath.Join(t.TempDir(), "fox.png")
	saved := false
	c.save(first, path, nil, func(error) { saved = true })
	h.pump("the save", func() bool { return saved })
	if c.job == nil {
		t.Fatal("the run ended before the save: the test is too slow to tell")
	}
	if !c.news.box.Visible() || !c.progRow.Visible() || c.news.label.Text != savedLine(path) {
		t.Errorf("during the run the canvas says %q (shown %v, the progress shown %v), want the save", c.news.label.Text, c.news.box.Visible(), c.progRow.Visible())
	}
	h.pump("the run", func() bool { return c.job == nil })
}

// Generate waits for a prompt, as Send waits for a question.
func TestGenerateWaitsForAPrompt(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.create
	h.u.ShowCreate()
	if !c.genB.Disabled() {
		t.Error("Generate enabled with an empty prompt")
	}
	test.Type(c.prompt, "a red fox")
	if c.genB.Disabled() {
		t.Error("Generate disabled with a prompt")
	}
	c.prompt.SetText("   ")
	if !c.genB.Disabled() {
		t.Error("Generate enabled with a blank prompt")
	}
}

// A prompt typed and not run is kept by New image, and put aside, not lost, when a set is
// opened from the history over it: the next New image brings it back. A prompt that was run
// goes with New image, as before.
func TestCanvasKeepsAnUnsentPrompt(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	c := u.create
	generateTwo(t, h) // "a red lighthouse", in the history
	h.pump("the set in the history", func() bool { return len(u.sidebar.entries) == 1 })
	u.newImage()
	if c.prompt.Text != "" {
		t.Errorf("New image after a run keeps the prompt run: %q", c.prompt.Text)
	}
	test.Type(c.prompt, "a fox, not run")
	u.newImage()
	if c.prompt.Text != "a fox, not run" {
		t.Errorf("New image dropped the prompt not run: %q", c.prompt.Text)
	}
	c.count.SetSelected("5") // set up for the fox
	c.seed.SetText("7")
	u.sidebar.list.Select(0) // the lighthouse over it
	h.pump("the set", func() bool { return c.setID != "" && c.prompt.Text == "a red lighthouse" })
	if d := u.drafts(); d.Prompt != "a fox, not run" || d.Canvas == nil || d.Canvas.N != 5 || d.Canvas.Seed != 7 {
		t.Errorf("kept for the next start: prompt %q, settings %+v", d.Prompt, d.Canvas)
	}
	u.newImage()
	if c.prompt.Text != "a fox, not run" || c.count.Selected != "5" || c.seed.Text != "7" {
		t.Errorf("New image after opening a set: %q, %s images, seed %q; want the prompt and its settings put aside",
			c.prompt.Text, c.count.Selected, c.seed.Text)
	}
}

// Save from the large view says Saved on its button once the file is written: the canvas's
// news is under the view, where it was not seen.
func TestLargeViewSaveSaysSaved(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home) // where the file dialog opens, and saves
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.copiedFor = time.Hour })
	c := h.u.create
	generateTwo(t, h)
	c.openLarge(0)
	view := h.u.win.Canvas().Overlays().Top()
	test.Tap(buttonsIn(view)["Save"].b)
	fileDialog := h.u.win.Canvas().Overlays().Top()
	var confirm *widget.Button
	visit(fileDialog, fyne.Position{}, func(o fyne.CanvasObject, _ fyne.Position) {
		if b, ok := asButton(o); ok && b.Text == "Save" {
			confirm = b
		}
	})
	if confirm == nil {
		t.Fatal("no Save button in the file dialog")
	}
	test.Tap(confirm)
	h.pump("the file", func() bool {
		files, _ := filepath.Glob(filepath.Join(home, "*.png"))
		return len(files) == 1 && buttonsIn(view)["Saved"].b != nil
	})
}

// Deleting the set whose picture is attached to a question not sent yet keeps the picture:
// the question can still be sent with it (it was deleted with the set, and sending failed).
func TestCanvasAskAboutDeletedSet(t *testing.T) {
	h := newHarness(t, tinyA(t))
	generateTwo(t, h)
	u := h.u
	u.create.askAbout(0)
	c := u.chat
	h.pump("the attachment", func() bool { return len(c.attached) == 1 })
	var set app.HistoryEntry
	for _, e := range u.sidebar.entries {
		if e.Kind == app.KindImageSet {
			set = e
		}
	}
	if set.ID == "" {
		t.Fatal("the set is not in the history")
	}
	u.sidebar.doDelete(set)
	h.pump("the deletion", func() bool {
		for _, e := range u.sidebar.entries {
			if e.ID == set.ID {
				return false
			}
		}
		return true
	})
	test.Type(c.entry, "What is this?")
	c.send()
	h.waitAnswers(1)
	if m := c.session.Messages(); len(m) != 2 || len(m[0].Images) != 1 || m[1].State != app.StateDone {
		t.Errorf("the question about a picture of the deleted set: %+v (notice %q)", m, c.notice.Text)
	}
}

// A file the save dialog opened (and so emptied) in a folder that takes no new file is
// written in place: the atomic write's temporary file cannot be made there, and the file was
// left empty. Only a user the folder's permissions stop can see it (not root).
func TestCanvasSaveIntoReadOnlyFolder(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("the folder's permissions do not stop root")
	}
	h := newHarness(t, tinyA(t))
	generateTwo(t, h)
	dir := t.TempDir()
	path := filepath.Join(dir, "existing.png")
	if err := os.WriteFile(path, []byte("an older picture"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	opened, err := os.Create(path) // as the dialog opens it: emptied
	if err != nil {
		t.Fatal(err)
	}
	var saveErr error
	saved := false
	h.u.create.save(h.u.create.tiles[0].result, path, opened, func(err error) { saveErr, saved = err, true })
	h.pump("the save", func() bool { return saved })
	data, err := os.ReadFile(path)
	if saveErr != nil || err != nil || !bytes.HasPrefix(data, []byte("\x89PNG")) {
		t.Errorf("save into a read-only folder: %v; the file holds %d bytes (%v)", saveErr, len(data), err)
	}

	// Written through the dialog's file, a failure its Close reports (a full disk, a
	// network folder) is said, not taken for a save.
	opened, err = os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	saved = false
	h.u.create.save(h.u.create.tiles[0].result, path, failingClose{opened}, func(err error) { saveErr, saved = err, true })
	h.pump("the save", func() bool { return saved })
	if saveErr == nil || !strings.Contains(saveErr.Error(), "no space left") || !strings.Contains(saveErr.Error(), "may be left empty") {
		t.Errorf("a save whose close failed: %v", saveErr)
	}
}

// failingClose is a file whose Close fails as on a full disk.
type failingClose struct{ *os.File }

func (f failingClose) Close() error {
	f.File.Close()
	return errors.New("write existing.png: no space left on device")
}

// The seed field's problems say what is wrong (below 0, too large, not a number), and go
// once the field is edited.
func TestCanvasSeedProblems(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.create
	test.Type(c.prompt, "a lighthouse")
	for _, tc := range []struct{ seed, want string }{
		{"-5", "The seed -5 is below 0"},
		{"99999999999999999999999", "The seed 99999999999999999999999 is too large: at most 18446744073709551615"},
		{"abc", `The seed "abc" is not a whole number`},
	} {
		c.seed.SetText(tc.seed)
		c.generate()
		if !strings.HasPrefix(c.notice.Text, tc.want) || c.job != nil {
			t.Errorf("seed %q: notice %q, run started %v", tc.seed, c.notice.Text, c.job != nil)
		}
	}
	c.seed.SetText("12")
	if c.notice.Visible() && c.notice.Text != "" {
		t.Errorf("after the seed was edited the notice still reads %q", c.notice.Text)
	}
}

// A picture's caption cuts a long prompt: in full, it filled the large view.
func TestCaptionCutsLongPrompt(t *testing.T) {
	long := strings.Repeat("a very long prompt ", 300)
	got := caption(app.ImageMeta{Prompt: long, Seed: 7, CFG: 5, Temperature: 1, Model: "tiny-a"})
	first, rest, _ := strings.Cut(got, "\n\n")
	if n := len([]rune(first)); n > captionRunes || !strings.HasSuffix(first, "…") || !strings.HasPrefix(rest, "Seed 7") {
		t.Errorf("caption of a %d-character prompt: %d characters, then %q", len(long), n, rest)
	}
}

// A run stopped by loading another model says so (a bare "Stopped." read as a fault).
func TestCanvasStoppedByLoad(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(50*time.Millisecond))
	u, c := h.u, h.u.create
	startRun(h, "a slow lighthouse")
	h.load(fixtures.Path(t, "models", "tiny-a"), "tiny-a")
	h.pump("the run to stop", func() bool { return c.job == nil })
	if c.news.label.Text != "Stopped: tiny-a was loaded." {
		t.Errorf("the canvas says %q", c.news.label.Text)
	}
	h.pump("the model", func() bool { return u.engine != nil && u.loading == nil })
}

// A new run takes the history's highlight off the set shown before it: that set is no longer
// the one in front.
func TestCanvasRunUnmarksThePreviousSet(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(20*time.Millisecond))
	u, c := h.u, h.u.create
	startRun(h, "a lighthouse")
	h.pump("the first set in the history", func() bool { return c.job == nil && c.setID != "" && u.sidebar.selected >= 0 })
	c.generate()
	h.pump("the run", func() bool { return c.job != nil })
	if u.sidebar.selected != -1 {
		t.Errorf("during a new run the history highlights entry %d", u.sidebar.selected)
	}
	h.pump("the run to end", func() bool { return c.job == nil })
}

// startRun types prompt on the canvas and starts a run, returning once it runs.
func startRun(h *harness, prompt string) {
	h.t.Helper()
	c := h.u.create
	h.u.ShowCreate()
	test.Type(c.prompt, prompt)
	c.generate()
	h.pump("the run", func() bool { return c.job != nil })
}

// A run left for New image names its prompt on the progress line (the bar and Stop were for
// a run out of sight), and says when its images are in the history.
func TestCanvasRunOutOfSight(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(30*time.Millisecond))
	c := h.u.create
	startRun(h, "a slow lighthouse")
	h.u.newImage()
	h.pump("a progress line naming the run", func() bool { return strings.HasPrefix(c.progText.Text, "“a slow lighthouse”") })
	h.pump("the run to end", func() bool { return c.job == nil })
	if c.news.label.Text != "The images for “a slow lighthouse” are in the history." || !c.news.box.Visible() {
		t.Errorf("after the run out of sight the canvas says %q (shown %v)", c.news.label.Text, c.news.box.Visible())
	}
}

// A finished picture is reached with Tab and opened large with Space or Enter, as with a click:
// "Use these settings" and the arrows were the mouse's alone.
func TestTileOpensFromKeyboard(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.create
	generateTwo(t, h)
	var target *keyTarget
	visit(c.tiles[1].obj, fyne.Position{}, func(o fyne.CanvasObject, _ fyne.Position) {
		if k, ok := o.(*keyTarget); ok {
			target = k
		}
	})
	if target == nil {
		t.Fatal("the tile has nothing the keyboard can focus")
	}
	h.u.win.Canvas().Focus(target)
	if !target.ring.Visible() {
		t.Error("the focused picture shows no ring")
	}
	target.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	top := h.u.win.Canvas().Overlays().Top()
	if top == nil || !slices.Contains(textsIn(top), "Image 2 of 2") {
		t.Fatalf("Enter on the second picture opened %v", textsIn(top))
	}
}

// Esc stops a run whichever of Create's controls has the focus (Fyne's drop-down, sliders
// and buttons keep the keys they do not use: Esc on them stopped nothing), Generate and Stop
// included.
func TestEscStopsFromCreateControls(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(time.Minute)) // a run that lasts until stopped
	c := h.u.create
	h.u.ShowCreate()
	for _, focus := range []fyne.Focusable{c.count, c.cfg, c.temp, c.dice, c.genB, c.stopB} {
		c.prompt.SetText("a lighthouse")
		c.generate()
		if c.job == nil {
			t.Fatalf("no run (notice %q)", c.notice.Text)
		}
		h.u.win.Canvas().Focus(focus)
		focus.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
		h.pump("the run stopped", func() bool { return c.job == nil })
	}
}

// A model loading shows over the pictures and moves none of them: a line under the settings
// pushed the grid down while a model loaded, and back when it was done. Why Generate waits
// for longer (no model) is a line under the settings, which wraps.
func TestCanvasStatusMovesNothing(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	c := h.u.create
	generateTwo(t, h)
	h.settle()
	d := fyne.CurrentApp().Driver()
	before := d.AbsolutePositionForObject(c.grid)
	c.showLoading("Loading tiny-a… 8%")
	c.content.Refresh()
	if at := d.AbsolutePositionForObject(c.grid); at != before {
		t.Errorf("the grid moved from %v to %v for the loading line", before, at)
	}
	if !c.loading.box.Visible() || !slices.Contains(textsIn(c.loading.box), "Loading tiny-a… 8%") || c.status.Visible() {
		t.Errorf("the loading line is not shown over the pictures: %q", textsIn(c.loading.box))
	}
	c.setReady(false, "The model could not be loaded")
	if c.loading.box.Visible() || !c.status.Visible() {
		t.Error("a lasting reason is not on the line under the settings")
	}
	c.setReady(true, "")
	if c.loading.box.Visible() || c.status.Visible() {
		t.Error("the reason stays once the model is ready")
	}
}

// The line under the settings takes its own room, the pictures under it, at every width: in
// the default window, where the settings are one row, Stop's line ("unfinished") was drawn
// under the grid. The test window, as the desktop driver in a frame where the pictures change
// too, does not lay the view out again by itself: the canvas must.
func TestCanvasLineUnderSettingsHasRoom(t *testing.T) {
	for _, tc := range []struct {
		name  string
		width float32
		line  func(t *testing.T, h *harness)
		want  string
	}{
		{"stopped, wide", defaultWindowSize.Width, stopEight, "unfinished"},
		{"stopped, narrow", minWindowSize.Width, stopEight, "unfinished"},
		{"seed, wide", defaultWindowSize.Width, badSeed, "not a whole number"},
		{"seed, narrow", minWindowSize.Width, badSeed, "not a whole number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, apptest.NewFakeEngine(300*time.Millisecond)) // a run of 2.4 s: Stop lands before its end on a busy machine
			c := h.u.create
			h.u.ShowCreate()
			// Twice: the settings' rows follow the width they were last given.
			h.u.win.Resize(fyne.NewSize(tc.width, defaultWindowSize.Height+1))
			h.u.win.Resize(fyne.NewSize(tc.width, defaultWindowSize.Height))
			h.settle()
			tc.line(t, h)
			if !c.notice.Visible() || !strings.Contains(c.notice.Text, tc.want) {
				t.Fatalf("the line under the settings says %q (shown %v), want %q", c.notice.Text, c.notice.Visible(), tc.want)
			}
			d := fyne.CurrentApp().Driver()
			slotEnd := d.AbsolutePositionForObject(c.slot).Y + c.slot.Size().Height
			at, size := d.AbsolutePositionForObject(c.notice), c.notice.Size()
			pictures := d.AbsolutePositionForObject(c.body).Y
			if at.Y < slotEnd || size.Height < c.notice.MinSize().Height || size.Width < c.slot.Size().Width ||
				at.Y+size.Height > pictures {
				t.Errorf("the line is at y %v, %v; the settings end at y %v, the pictures start at y %v",
					at.Y, size, slotEnd, pictures)
			}
			if len(c.tiles) > 0 && d.AbsolutePositionForObject(c.grid).Y < at.Y+size.Height {
				t.Errorf("the grid starts at y %v, over the line (y %v to %v)", d.AbsolutePositionForObject(c.grid).Y, at.Y, at.Y+size.Height)
			}
		})
	}
}

// stopEight starts a run of eight images and stops it after its first preview.
func stopEight(t *testing.T, h *harness) {
	t.Helper()
	c := h.u.create
	test.Type(c.prompt, "a lighthouse")
	c.count.SetSelected("8")
	c.generate()
	h.pump("a preview", func() bool { return c.previews > 0 && c.tiles[0].pic.Image != nil })
	c.stop()
	h.pump("the stop", func() bool { return c.job == nil })
}

// badSeed presses Generate with a seed that does not read.
func badSeed(t *testing.T, h *harness) {
	t.Helper()
	c := h.u.create
	test.Type(c.prompt, "a lighthouse")
	c.seed.SetText("abc")
	c.generate()
}

// The example prompts never replace a draft (Fyne's Entry has no undo): they are hidden while
// the prompt holds text, a tap on one that is hidden changes nothing, and they come back once
// the prompt is blank again.
func TestCanvasExamplesKeepADraft(t *testing.T) {
	for _, tc := range []struct {
		name, typed string
		shown       bool
		after       string // the prompt after a tap on the first example
	}{
		{"empty prompt", "", true, canvasExamples[0]},
		{"blank prompt", "   ", true, canvasExamples[0]},
		{"draft", "a fox of my own", false, "a fox of my own"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, apptest.NewFakeEngine(0))
			c := h.u.create
			h.u.ShowCreate()
			test.Type(c.prompt, tc.typed)
			chip := exampleChips(c)[0]
			if got := onScreen(h.u.win.Canvas(), chip); got != tc.shown {
				t.Errorf("with the prompt %q the examples are shown %v, want %v", tc.typed, got, tc.shown)
			}
			test.Tap(chip)
			if c.prompt.Text != tc.after {
				t.Errorf("after a tap on an example the prompt reads %q, want %q", c.prompt.Text, tc.after)
			}
			if onScreen(h.u.win.Canvas(), chip) {
				t.Error("the examples are shown over a prompt with text")
			}
			c.prompt.SetText("")
			if !onScreen(h.u.win.Canvas(), chip) {
				t.Error("the examples did not come back with the prompt emptied")
			}
		})
	}
}

// exampleChips are the empty canvas's example buttons.
func exampleChips(c *canvasView) []*escButton {
	var chips []*escButton
	for _, o := range test.LaidOutObjects(c.examples) {
		if b, ok := o.(*escButton); ok {
			chips = append(chips, b)
		}
	}
	return chips
}

// onScreen reports whether obj is drawn in c: it and all that holds it are visible.
func onScreen(c fyne.Canvas, obj fyne.CanvasObject) bool {
	found := false
	visit(c.Content(), fyne.Position{}, func(o fyne.CanvasObject, _ fyne.Position) { found = found || o == obj })
	return found
}

// Reset brings back what Settings › New images holds, as its caption says ("what its Reset
// brings back"): the original's defaults unless they were changed there.
func TestCanvasResetBringsBackSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*app.GenerationSettings)
	}{
		{"original's defaults", func(*app.GenerationSettings) {}},
		{"changed in Settings", func(g *app.GenerationSettings) { g.N, g.CFG, g.Temperature = 4, 7, 0.5 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, apptest.NewFakeEngine(0))
			c := h.u.create
			ns := h.u.settings
			tc.set(&ns.Generation)
			h.u.applySettings(ns) // Settings' Save
			c.count.SetSelected("8")
			c.seed.SetText("42")
			c.cfg.SetValue(1.5)
			c.temp.SetValue(0.2)
			test.Tap(c.reset)
			want := ns.Generation
			if c.count.Selected != strconv.Itoa(want.N) || c.seed.Text != "" || c.cfg.Value != want.CFG || c.temp.Value != want.Temperature {
				t.Errorf("after Reset: %s images, seed %q, guidance %v, temperature %v; want %d, random, %v, %v",
					c.count.Selected, c.seed.Text, c.cfg.Value, c.temp.Value, want.N, want.CFG, want.Temperature)
			}
		})
	}
}

// Opening a set from the history leaves the seed field as the user had it, a set of
// Variations (whose seed is fixed) too: with the set's seed in it, the next Generate made
// the same pictures again, and the draft kept that seed through a quit. "Use these
// settings" is what puts a picture's seed there.
func TestCanvasOpeningASetKeepsTheSeed(t *testing.T) {
	for _, tc := range []struct{ name, seed string }{
		{"random", ""},
		{"typed", "7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, apptest.NewFakeEngine(time.Millisecond))
			u, c := h.u, h.u.create
			// Not startRun: a run this fast may end before it sees the job.
			u.ShowCreate()
			test.Type(c.prompt, "a red lighthouse")
			c.generate()
			h.pump("the image", func() bool { return c.job == nil && len(c.tiles) == 1 && c.tiles[0].result != nil })
			test.Tap(findButton(t, c.tiles[0].bar, "Variations"))
			h.pump("the variation in the history", func() bool { return c.job == nil && len(u.sidebar.entries) == 2 })
			variation := c.tiles[0].result.Seed
			u.newImage()
			c.seed.SetText(tc.seed)
			u.sidebar.list.Select(0) // the variation: the newest
			h.pump("the set", func() bool {
				return c.setID == u.sidebar.entries[0].ID && len(c.tiles) == 1 && c.tiles[0].result != nil
			})
			if c.prompt.Text != "a red lighthouse" || c.seed.Text != tc.seed {
				t.Errorf("the set opened: prompt %q, seed %q; want its prompt and the seed %q as it was", c.prompt.Text, c.seed.Text, tc.seed)
			}
			if d := u.drafts().Canvas; d != nil && d.FixedSeed && strconv.FormatUint(d.Seed, 10) != tc.seed {
				t.Errorf("the draft keeps the seed %d", d.Seed)
			}
			c.generate()
			h.pump("the next image", func() bool { return c.job == nil })
			if got := c.tiles[0].result.Seed; got == variation || tc.seed != "" && strconv.FormatUint(got, 10) != tc.seed {
				t.Errorf("Generate after opening the set of seed %d made seed %d (seed field %q)", variation, got, tc.seed)
			}

			h.pump("the new run in the history", func() bool { return len(u.sidebar.entries) == 3 })
			u.sidebar.list.Select(1) // the variation, behind the new run
			h.pump("the set again", func() bool { return c.setID != "" && c.tiles[0].result != nil && c.tiles[0].result.Seed == variation })
			c.openLarge(0)
			test.Tap(findButton(t, u.win.Canvas().Overlays().Top(), "Use these settings"))
			if c.seed.Text != strconv.FormatUint(variation, 10) {
				t.Errorf("after Use these settings the seed field reads %q, want the picture's %d", c.seed.Text, variation)
			}
		})
	}
}

// The window cannot be made narrower than the smallest window that works (its content asks
// for the width): at 640×480 Create's sliders had shrunk to their knobs. At that size they
// still have room to be dragged.
func TestSmallestWindow(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	for _, view := range []func(){u.ShowChat, u.ShowCreate} {
		view()
		if m := u.win.Content().MinSize(); m.Width < minWindowSize.Width {
			t.Errorf("the window's content asks for %v, narrower than %v", m, minWindowSize)
		}
	}
	u.win.Resize(minWindowSize)
	for name, s := range map[string]*escSlider{"guidance": u.create.cfg, "temperature": u.create.temp} {
		if w := s.Size().Width; w < 60 {
			t.Errorf("at %v the %s slider is %v wide", minWindowSize, name, w)
		}
	}
}

// Enter, with nothing focused, does the main action of the dialog in front: the large view's
// "Use these settings", and Close of the keyboard shortcuts (it did nothing in either).
func TestEnterInViews(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u, c := h.u, h.u.create
	enter := func() {
		u.win.Canvas().Unfocus()
		h.windowEnter()
	}
	generateTwo(t, h)
	// Enter held on a picture opens its large view; the key's repeats, which come with no
	// key down and reach the window with nothing focused, leave it open.
	c.openLarge(1)
	before := c.seed.Text
	u.win.Canvas().Unfocus()
	for range 3 {
		u.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	}
	if len(u.dialogs) != 1 || c.seed.Text != before {
		t.Fatalf("a held Enter's repeats: %d dialogs open, the seed field %q", len(u.dialogs), c.seed.Text)
	}
	seed := c.tiles[1].result.Seed
	enter()
	if len(u.dialogs) != 0 || c.seed.Text != strconv.FormatUint(seed, 10) {
		t.Errorf("Enter in the large view: %d dialogs open, the seed field %q, want %d", len(u.dialogs), c.seed.Text, seed)
	}
	u.showKeys()
	enter()
	if len(u.dialogs) != 0 {
		t.Error("Enter left the keyboard shortcuts open")
	}
}

// Create's prompt grows with the lines typed, up to promptMaxRows, and shrinks back: it stood
// at two lines, the third cut in half.
func TestPromptGrows(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	p := h.u.create.prompt
	short := p.MinSize().Height
	p.SetText("one\ntwo\nthree")
	if p.rows != 3 || p.MinSize().Height <= short {
		t.Errorf("three lines: %d rows, height %v (short %v)", p.rows, p.MinSize().Height, short)
	}
	p.SetText(strings.Repeat("line\n", 30))
	if p.rows != promptMaxRows {
		t.Errorf("thirty lines: %d rows, want %d", p.rows, promptMaxRows)
	}
	p.SetText("a fox")
	if p.rows != promptRows || p.MinSize().Height != short {
		t.Errorf("one line again: %d rows, height %v, want %d and %v", p.rows, p.MinSize().Height, promptRows, short)
	}
}
