package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model"
)

// The settings dialog opens, and what is entered in it is applied and stored; a value that
// is not a number is refused with a message naming it.
func TestSettingsDialog(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	u.showSettings()
	if u.win.Canvas().Overlays().Top() == nil {
		t.Fatal("no settings dialog")
	}

	f := newSettingsForm(u)
	f.n.SetSelected("3")
	f.cfg.SetText("7.5")
	f.temp.SetText("0.9")
	f.maxTokens.SetText("200")
	f.folders = append(f.folders, "/data/models")
	ns, err := f.settings()
	if err != nil {
		t.Fatal(err)
	}
	u.applySettings(ns)
	h.pump("the settings to be saved", func() bool {
		s, _, err := u.store.LoadSettings()
		return err == nil && s.Generation.CFG == 7.5
	})
	s, _, _ := u.store.LoadSettings()
	if s.Generation.N != 3 || s.Generation.Temperature != 0.9 || s.Answer.MaxNewTokens != 200 ||
		!slices.Equal(s.ModelFolders, []string{"/data/models"}) {
		t.Errorf("stored settings %+v", s)
	}
	if u.create.count.Selected != "3" || u.create.cfg.Value != 7.5 {
		t.Errorf("canvas shows %s images, guidance %v", u.create.count.Selected, u.create.cfg.Value)
	}

	f = newSettingsForm(u)
	f.cfg.SetText("lots")
	if _, err := f.settings(); err == nil {
		t.Error("a guidance of \"lots\" was accepted")
	}
}

// Save with an invalid field keeps the dialog open with every edit and says which field;
// corrected, it saves and closes.
func TestSettingsInvalidKeepsEdits(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	overlays := u.win.Canvas().Overlays()
	for _, tc := range []struct {
		field func(*settingsForm) *fieldEntry
		text  string
		names string
	}{
		{func(f *settingsForm) *fieldEntry { return f.cfg }, "abc", "Guidance"},
		{func(f *settingsForm) *fieldEntry { return f.temp }, "-1", "Temperature"},
		// Beyond what the canvas's slider holds: it ran at 2 and said 3.
		{func(f *settingsForm) *fieldEntry { return f.temp }, "3", "Temperature"},
		{func(f *settingsForm) *fieldEntry { return f.cfg }, "20", "Guidance"},
		{func(f *settingsForm) *fieldEntry { return f.maxTokens }, "100000", "Answer length"},
		// Marked as it is typed too (only Save said so).
		{func(f *settingsForm) *fieldEntry { return f.serve.port }, "70000", "API server port"},
	} {
		f := u.openSettings()
		f.answerTemp.SetText("0.25") // an edit that must survive the refusal
		tc.field(f).SetText(tc.text)
		if tc.field(f).Validate() == nil {
			t.Errorf("%s %q: the field is not marked", tc.names, tc.text)
		}
		test.Tap(f.saveB)
		if overlays.Top() == nil || !f.problem.Visible() || !strings.Contains(f.problem.Text, tc.names) {
			t.Fatalf("%s %q: dialog open %v, problem %q", tc.names, tc.text, overlays.Top() != nil, f.problem.Text)
		}
		if f.answerTemp.Text != "0.25" {
			t.Errorf("the refused save lost an edit: answer temperature %q", f.answerTemp.Text)
		}
		switch tc.names {
		case "Answer length":
			tc.field(f).SetText("600")
		case "API server port":
			tc.field(f).SetText("8766")
		default:
			tc.field(f).SetText("1.5")
		}
		test.Tap(f.saveB)
		if overlays.Top() != nil {
			t.Fatalf("%s corrected: the dialog stayed open (%q)", tc.names, f.problem.Text)
		}
		h.pump("the settings to be saved", func() bool {
			s, _, err := u.store.LoadSettings()
			return err == nil && s.Answer.Temperature == 0.25
		})
	}
}

// After a refused Save with two fields wrong, the line names the one still wrong once the
// first is put right (it kept naming the first), and goes once both are.
func TestSettingsProblemFollowsEdits(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	f := h.u.openSettings()
	f.cfg.SetText("abc")
	f.temp.SetText("-1")
	test.Tap(f.saveB)
	if !f.problem.Visible() || !strings.Contains(f.problem.Text, "Guidance") {
		t.Fatalf("after Save the line says %q (shown %v), want Guidance named", f.problem.Text, f.problem.Visible())
	}
	f.cfg.SetText("5")
	if !f.problem.Visible() || strings.Contains(f.problem.Text, "Guidance") || !strings.Contains(f.problem.Text, "Temperature") {
		t.Errorf("guidance put right, the line says %q (shown %v), want Temperature named", f.problem.Text, f.problem.Visible())
	}
	f.temp.SetText("1")
	if f.problem.Visible() {
		t.Errorf("both put right, the line still says %q", f.problem.Text)
	}
}

// Every dialog opens without trouble: models, settings, about, the large image view, the
// file dialogs, rename and delete.
func TestDialogsOpen(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	u.ShowCreate()
	u.create.prompt.SetText("one square")
	u.create.generate()
	h.pump("the image", func() bool { return u.create.job == nil })
	h.pump("the history", func() bool { return len(u.sidebar.entries) == 1 })
	for _, d := range []struct {
		name string
		open func()
	}{
		{"models", u.showModelPicker},
		{"settings", u.showSettings},
		{"about", u.showAbout},
		{"large image", func() { u.create.openLarge(0) }},
		{"save", func() { u.create.saveDialog(0, nil) }},
		{"attach", u.chat.openFileDialog},
		{"rename", func() { u.sidebar.rename(u.sidebar.entries[0]) }},
		{"delete", func() { u.sidebar.delete(u.sidebar.entries[0]) }},
		{"history menu (right click)", func() {
			for _, o := range test.LaidOutObjects(u.sidebar.list) {
				if r, ok := o.(*historyRow); ok && r.Visible() {
					test.TapSecondary(r)
					return
				}
			}
			t.Error("no history row on screen")
		}},
	} {
		t.Run(d.name, func(t *testing.T) {
			c := u.win.Canvas()
			before := len(c.Overlays().List())
			d.open()
			h.pump("the dialog", func() bool { return true })
			if len(c.Overlays().List()) <= before {
				t.Errorf("%s: no dialog", d.name)
			}
			for len(c.Overlays().List()) > 0 {
				c.Overlays().Remove(c.Overlays().Top())
			}
		})
	}
}

// The three places that store settings (a model loaded, the settings dialog's Save, the
// serve switch) change them in quick succession; the file ends with the latest settings,
// whatever order the writes would have finished in.
func TestSettingsSavesLandInOrder(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	for i := range 30 {
		u.rememberModel(fmt.Sprintf("/models/m%d", i))
		f := newSettingsForm(u)
		f.cfg.SetText(fmt.Sprint(1 + i%9))
		f.serve.key.SetText(fmt.Sprintf("key-%d", i))
		ns, err := f.settings()
		if err != nil {
			t.Fatal(err)
		}
		u.applySettings(ns)
		f.serve.toggle(false) // the switch, turned off: saved at once
	}
	u.settingsW.Flush()
	h.pump("the saves' callbacks", func() bool { return true })
	s, _, err := u.store.LoadSettings()
	if err != nil {
		t.Fatal(err)
	}
	if s.LastModel != "/models/m29" || s.Generation.CFG != 3 || s.Serve.APIKey != "key-29" {
		t.Errorf("stored: last model %q, guidance %v, key %q; want the last change of each", s.LastModel, s.Generation.CFG, s.Serve.APIKey)
	}
	if s.LastModel != u.settings.LastModel || s.Generation != u.settings.Generation || s.Serve != u.settings.Serve {
		t.Errorf("stored %+v, window has %+v", s, u.settings)
	}
}

// The weights list: the stored choice is selected, a new one is applied and stored (and
// given to the next load), the hint gives Automatic's choice for the loaded model and why,
// and a value set by hand that the list does not offer is kept.
func TestSettingsWeights(t *testing.T) {
	eng := apptest.NewFakeEngine(0)
	eng.AutoWeights, eng.AutoWeightsReason = model.WeightsQ8, "weights as stored exceed 60% of memory"
	h := newHarness(t, eng)
	u := h.u
	f := newSettingsForm(u)
	if f.weights.Selected != "Automatic" {
		t.Errorf("weights list shows %q at first, want Automatic", f.weights.Selected)
	}
	if want := []string{"Automatic", "Stored (BF16)", "Q8 (faster, smaller)", "Q4M (4-bit, more accurate)", "Q4 (smallest)"}; !slices.Equal(f.weights.Options, want) {
		t.Errorf("weights choices %q, want %q", f.weights.Options, want)
	}
	if hint := f.weightsHint(); !strings.Contains(hint, "Automatic chose Q8 (faster, smaller): weights as stored exceed 60% of memory.") {
		t.Errorf("weights hint %q, want Automatic's choice with its reason", hint)
	}
	f.weights.SetSelected("Q4 (smallest)")
	if hint := f.weightsHint(); !strings.Contains(hint, "4-bit") || strings.Contains(hint, "Automatic") {
		t.Errorf("with Q4 chosen the hint says %q", hint)
	}
	ns, err := f.settings()
	if err != nil {
		t.Fatal(err)
	}
	u.applySettings(ns)
	h.pump("the settings to be saved", func() bool {
		s, _, err := u.store.LoadSettings()
		return err == nil && s.Weights == model.WeightsQ4
	})
	if f := newSettingsForm(u); f.weights.Selected != "Q4 (smallest)" {
		t.Errorf("reopened, the weights list shows %q", f.weights.Selected)
	}

	u.settings.Weights = model.WeightsF32
	f = newSettingsForm(u)
	if f.weights.Selected != "F32" {
		t.Errorf("weights f32 shown as %q", f.weights.Selected)
	}
	if ns, err := f.settings(); err != nil || ns.Weights != model.WeightsF32 {
		t.Errorf("settings with weights f32 read back as %q, %v", ns.Weights, err)
	}

	// Without a model, the hint says what Automatic does in general.
	u.engine, u.settings.Weights = nil, model.WeightsAuto
	if hint := newSettingsForm(u).weightsHint(); !strings.Contains(hint, "unless memory is short") {
		t.Errorf("weights hint without a model %q", hint)
	}
}

// The settings stand in sections, each headed by what applies to its fields (the engine's
// settings the next time a model loads; the image settings as Create's defaults).
func TestSettingsSections(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	var got []string
	for _, item := range newSettingsForm(h.u).items() {
		if item.Text != "" {
			got = append(got, item.Text)
			continue
		}
		if box, ok := item.Widget.(*fyne.Container); ok {
			var texts []string
			for _, o := range box.Objects {
				if rt, ok := o.(*widget.RichText); ok {
					texts = append(texts, rt.String())
				}
			}
			if len(texts) > 0 {
				got = append(got, "# "+strings.Join(texts, ": "))
			}
		}
	}
	want := []string{
		"# Running models: Applies the next time a model is loaded.", "Backend", "Threads", "Weights", "Arithmetic",
		"# New images: What Create starts with, and what its Reset brings back.", "Images per run", "Guidance", "Temperature",
		"# Answers", "Answer temperature", "Answer length (tokens)",
		"# Models and the API", "Model folders", "API server",
	}
	if !slices.Equal(got, want) {
		t.Errorf("settings rows\n%q\nwant\n%q", got, want)
	}
}

// The arithmetic list: exact by default, the faster BF16 choice saved and shown again.
func TestSettingsPrecision(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	f := newSettingsForm(u)
	if f.precision.Selected != "Exact (float32)" {
		t.Errorf("arithmetic shows %q at first, want Exact (float32)", f.precision.Selected)
	}
	if ns, err := f.settings(); err != nil || ns.Precision != compute.PrecisionExact {
		t.Errorf("default arithmetic read back as %q, %v", ns.Precision, err)
	}
	f.precision.SetSelected("Faster (BF16 products)")
	ns, err := f.settings()
	if err != nil {
		t.Fatal(err)
	}
	u.applySettings(ns)
	h.pump("the settings to be saved", func() bool {
		s, _, err := u.store.LoadSettings()
		return err == nil && s.Precision == compute.PrecisionBF16
	})
	if f := newSettingsForm(u); f.precision.Selected != "Faster (BF16 products)" {
		t.Errorf("reopened, the arithmetic list shows %q", f.precision.Selected)
	}
	// The hint says what the faster arithmetic runs on here, once a model's backend tells.
	if hint := newSettingsForm(u).precisionHint(); !strings.Contains(hint, "needs a CPU with AVX-512 BF16") {
		t.Errorf("hint without the machine's kernels %q", hint)
	}
	eng := apptest.NewFakeEngine(0)
	eng.FastArithmetic = "AMX"
	u.engine = eng
	if hint := newSettingsForm(u).precisionHint(); !strings.Contains(hint, "does it on AMX") {
		t.Errorf("hint with AMX %q", hint)
	}
}

// A settings file that cannot be read is kept as it is: the window says so beside the
// history's own problems (one notice does not hide the other), and saving settings, which
// a model load does, leaves the file alone.
func TestSettingsHeldAtStart(t *testing.T) {
	dir := t.TempDir()
	if _, err := app.OpenStore(dir); err != nil {
		t.Fatal(err)
	}
	settings := filepath.Join(dir, app.SettingsFile)
	newer := `{"version": 99, "api_key": "kept"}`
	if err := os.WriteFile(settings, []byte(newer), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "chats", app.NewID(app.KindChat)+".json")
	if err := os.WriteFile(bad, []byte(`{"version": 1, "messages": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir })
	notice := func() string { return h.u.chat.notice.Text }
	h.pump("both notices", func() bool {
		return strings.Contains(notice(), "newer Janus Desktop") && strings.Contains(notice(), filepath.Base(bad))
	})
	h.u.saveSettings(nil)
	h.u.settingsW.Flush()
	if got, _ := os.ReadFile(settings); string(got) != newer {
		t.Errorf("settings.json was written over: %s", got)
	}
}

// Settings' fields show no tick for a valid value (a column of ticks beside every field was
// noise); an invalid one still shows its mark.
func TestSettingsFieldsHaveNoTicks(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	f := h.u.openSettings()
	f.cfg.SetText("4.5")
	f.cfg.Validate()
	// The ticks are themed check icons in the foreground colour; Save's is on the primary
	// colour.
	ticks := 0
	visit(h.u.win.Canvas().Overlays().Top(), fyne.Position{}, func(o fyne.CanvasObject, _ fyne.Position) {
		if img, ok := o.(*canvas.Image); ok && img.Resource != nil && img.Resource.Name() == "foreground_check.svg" {
			ticks++
		}
	})
	if ticks != 0 {
		t.Errorf("%d ticks in Settings", ticks)
	}
}

// With no folder added, Settings names where models are found: the usual folders, or those
// of JANUS_MODELS, which replace them.
func TestSearchedLine(t *testing.T) {
	usual := app.Env{GOOS: "linux", Home: "/home/ada"}
	if got := searchedLine(usual); !strings.Contains(got, "/home/ada/.cache/huggingface/hub") || strings.Contains(got, "JANUS_MODELS") {
		t.Errorf("the usual folders: %q", got)
	}
	set := app.Env{GOOS: "linux", Home: "/home/ada", Getenv: func(k string) string {
		return map[string]string{"JANUS_MODELS": "/models:/more"}[k]
	}}
	if got := searchedLine(set); got != "None added. Models are found in /models, /more (set by JANUS_MODELS)." {
		t.Errorf("with JANUS_MODELS: %q", got)
	}
}

// With settings that cannot be saved, quitting with text typed and not sent asks first: the
// text, which the settings keep for the next start, would be lost (it was, with a log line).
func TestQuitAsksWhenDraftsCannotBeKept(t *testing.T) {
	dir := t.TempDir()
	if _, err := app.OpenStore(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, app.SettingsFile), []byte(`{"version": 99}`), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = dir; o.draftDelay = 5 * time.Millisecond })
	u := h.u
	test.Type(u.chat.entry, "a long thought")
	h.pump("the draft's save to fail", func() bool { return u.settingsErr != nil })
	u.requestQuit()
	if u.closed.Load() || len(u.dialogs) != 1 {
		t.Fatalf("quit with a draft the settings cannot keep: closed %v, %d dialogs", u.closed.Load(), len(u.dialogs))
	}
	if texts := strings.Join(textsIn(u.win.Canvas().Overlays().Top()), " "); !strings.Contains(texts, "cannot be kept") {
		t.Errorf("the question reads %q", texts)
	}
	// Enter does not answer it; Quit does.
	h.windowEnter()
	if u.closed.Load() {
		t.Fatal("Enter quit")
	}
	test.Tap(buttonsIn(u.win.Canvas().Overlays().Top())["Quit"].b)
	if !u.closed.Load() {
		t.Error("Quit did not quit")
	}
}

// The answer length field takes whole numbers of tokens from 1 to the models' context, and
// says the range in words otherwise.
func TestParseAnswerLength(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
		err  string
	}{
		{"512", 512, ""},
		{" 16384 ", model.MaxAnswerTokens, ""},
		{"100000", 0, fmt.Sprintf("100000 tokens: the answer length must be from 1 to %d", model.MaxAnswerTokens)},
		{"0", 0, "must be from 1"},
		{"12.5", 0, "is not a whole number"},
	} {
		n, err := parseAnswerLength(c.in)
		if c.err == "" && (err != nil || n != c.want) || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("parseAnswerLength(%q) = %d, %v; want %d, %q", c.in, n, err, c.want, c.err)
		}
	}
}

// Threads offers every core once, as "All cores" (the same number beside it loaded the
// model again for nothing), and an API key is saved without the spaces around it (kept, no
// client's key matched it).
func TestSettingsThreadsAndKey(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	f := u.openSettings()
	if n := len(f.threads.Options); n != runtime.NumCPU() || !strings.HasPrefix(f.threads.Options[0], "All cores") {
		t.Errorf("threads offers %q", f.threads.Options)
	}
	f.serve.key.SetText("  a-key-of-mine \n")
	test.Tap(f.saveB)
	if u.settings.Serve.APIKey != "a-key-of-mine" {
		t.Errorf("the key is saved as %q", u.settings.Serve.APIKey)
	}
	// The switch keeps it so too, and the key as typed is not an edit still to save.
	f = u.openSettings()
	f.serve.key.SetText(" a-key-of-mine ")
	f.serve.port.SetText(strconv.Itoa(freePort(t)))
	f.serve.on.SetChecked(true)
	if u.settings.Serve.APIKey != "a-key-of-mine" || f.serve.edited() {
		t.Errorf("turned on with spaces around the key: saved %q, edited %v", u.settings.Serve.APIKey, f.serve.edited())
	}
	f.serve.on.SetChecked(false)
	// A settings file that names every core by number loads as "All cores": no reload.
	u.settings.Threads = runtime.NumCPU()
	all := u.loadOptions("x")
	u.settings.Threads = 0
	if zero := u.loadOptions("x"); all != zero {
		t.Errorf("every core by number loads as %+v, as 0 %+v", all, zero)
	}
}

// Enter in a field of Settings saves, as Save does: kept open with the problem said when a
// field is wrong, closed and applied when all are right.
func TestSettingsEnterSaves(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	overlays := u.win.Canvas().Overlays()
	enter := func(e *widget.Entry) { e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) }
	f := u.openSettings()
	f.cfg.SetText("abc")
	enter(&f.cfg.Entry)
	if overlays.Top() == nil || !f.problem.Visible() {
		t.Fatalf("Enter with a wrong field: dialog open %v, problem %q", overlays.Top() != nil, f.problem.Text)
	}
	f.cfg.SetText("7")
	for _, e := range []*widget.Entry{&f.temp.Entry, &f.serve.port.Entry, &f.serve.key.Entry} {
		if e.OnSubmitted == nil {
			t.Errorf("Enter in %T %q does nothing", e, e.Text)
		}
	}
	enter(&f.serve.key.Entry)
	if overlays.Top() != nil {
		t.Fatalf("Enter in the key field left the dialog open (%q)", f.problem.Text)
	}
	if u.settings.Generation.CFG != 7 {
		t.Errorf("guidance %v after Enter, want 7", u.settings.Generation.CFG)
	}
}

// The dialog's hints are all caption-sized: the folders' line, the server's line while it is
// off, the closing note (they were at the size of the fields' text).
func TestSettingsHintsOneSize(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	h.u.openSettings()
	defer h.u.dialogs[0].Dismiss()
	caption := func(text string) {
		t.Helper()
		found := false
		visit(h.u.win.Canvas().Overlays().Top(), fyne.Position{}, func(o fyne.CanvasObject, _ fyne.Position) {
			if l, ok := o.(*widget.Label); ok && strings.HasPrefix(l.Text, text) {
				found = true
				if l.SizeName != theme.SizeNameCaptionText {
					t.Errorf("%q is in size %q, not the hints' caption size", text, l.SizeName)
				}
			}
		})
		if !found {
			t.Errorf("no %q in Settings", text)
		}
	}
	caption("None added.")
	caption("Off. When on")
	caption("Light and dark follow the system")
}

// Tab through Settings in a window too small for the dialog brings each control it reaches
// into sight, forwards to the last and back to the first (the dialog did not scroll, and Tab
// went on to fields below its fold).
func TestSettingsTabScrollsToTheField(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	u.win.Resize(fyne.NewSize(800, 480))
	f := u.openSettings()
	defer u.dialogs[0].Dismiss()
	f.folders = []string{"/models/one", "/models/two"}
	f.showFolders()
	scroll := dialogScroll(t, u)
	d := fyne.CurrentApp().Driver()
	inView := func(how string) fyne.Focusable {
		t.Helper()
		o := u.win.Canvas().Focused()
		c, ok := o.(fyne.CanvasObject)
		if !ok {
			t.Fatalf("%s: nothing focused", how)
		}
		top := d.AbsolutePositionForObject(c).Y - d.AbsolutePositionForObject(scroll).Y
		if top < 0 || top+c.Size().Height > scroll.Size().Height {
			t.Errorf("%s: the focused %T is at %v..%v of a view %v high (scrolled %v)", how, o,
				top, top+c.Size().Height, scroll.Size().Height, scroll.Offset.Y)
		}
		return o
	}
	u.win.Canvas().Focus(f.backend)
	first := inView("the first field")
	seen := map[fyne.Focusable]bool{first: true}
	var last fyne.Focusable
	for i := 0; i < 40; i++ {
		u.win.Canvas().FocusNext()
		o := u.win.Canvas().Focused()
		if seen[o] {
			break
		}
		seen[o] = true
		if c, ok := o.(fyne.CanvasObject); ok && isDescendant(scroll.Content, c) {
			inView(fmt.Sprintf("Tab %d", i+1))
			last = o
		}
		// The server's line under its fields, which says what is wrong with the port as it
		// is typed, comes into sight with them.
		if top := d.AbsolutePositionForObject(f.serve.status).Y - d.AbsolutePositionForObject(scroll).Y; o == f.serve.port &&
			top+f.serve.status.Size().Height > scroll.Size().Height {
			t.Errorf("with the port focused, the server's line is at %v..%v of a view %v high", top, top+f.serve.status.Size().Height, scroll.Size().Height)
		}
	}
	if last != f.serve.key {
		t.Errorf("Tab's last control in the scroll is %T, want the API key field", last)
	}
	if scroll.Offset.Y == 0 {
		t.Errorf("the dialog never scrolled")
	}
	u.win.Canvas().Focus(f.backend)
	inView("back to the first field")
}

// The wheel scrolls the Settings form with the pointer over any of its text fields: a field's
// own sideways scroller kept the wheel, and the form stopped wherever the pointer crossed one
// (seen in the real app under Xvfb).
func TestSettingsWheelOverFields(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	u := h.u
	u.win.Resize(fyne.NewSize(800, 480))
	f := u.openSettings()
	defer u.dialogs[0].Dismiss()
	h.settle()
	scroll := dialogScroll(t, u)
	d := fyne.CurrentApp().Driver()
	view := d.AbsolutePositionForObject(scroll)
	for _, field := range []*fieldEntry{f.cfg, f.temp, f.answerTemp, f.maxTokens, f.serve.port, f.serve.key} {
		// Bring the field into the middle of the view, then turn the wheel over it.
		scroll.Offset.Y = 0
		scroll.Refresh()
		top := d.AbsolutePositionForObject(field).Y - view.Y
		scroll.Offset.Y = max(0, min(top-scroll.Size().Height/2, scroll.Content.MinSize().Height-scroll.Size().Height))
		scroll.Refresh()
		before := scroll.Offset.Y
		at := d.AbsolutePositionForObject(field).Add(fyne.NewPos(field.Size().Width/2, field.Size().Height/2))
		test.Scroll(u.win.Canvas(), at, 0, -40)
		if scroll.Offset.Y <= before {
			t.Errorf("the wheel over %q's field left the form at %v (from %v)", field.Text, scroll.Offset.Y, before)
		}
	}
}

// dialogScroll returns the scroll of the dialog in front, failing t unless its content is
// taller than it.
func dialogScroll(t *testing.T, u *UI) *container.Scroll {
	t.Helper()
	var scroll *container.Scroll
	visit(u.win.Canvas().Overlays().Top(), fyne.Position{}, func(o fyne.CanvasObject, _ fyne.Position) {
		if s, ok := o.(*container.Scroll); ok && scroll == nil {
			scroll = s
		}
	})
	if scroll == nil || scroll.Content.MinSize().Height <= scroll.Size().Height {
		t.Fatalf("the dialog does not scroll in a %v window", u.win.Canvas().Size())
	}
	return scroll
}

// isDescendant reports whether o is in the tree under root.
func isDescendant(root, o fyne.CanvasObject) bool {
	found := false
	visit(root, fyne.Position{}, func(c fyne.CanvasObject, _ fyne.Position) {
		found = found || c == o
	})
	return found
}

// Every text field of the form has a hint, in whose place the form writes its problem: the
// answer length had none, and its problem's line pushed the fields below down as it came
// and went with the typing.
func TestSettingsFieldsHaveHints(t *testing.T) {
	h := newHarness(t, apptest.NewFakeEngine(0))
	f := newSettingsForm(h.u)
	n := 0
	for _, item := range f.items() {
		if _, ok := item.Widget.(*fieldEntry); ok {
			n++
			if item.HintText == "" {
				t.Errorf("%q has no hint", item.Text)
			}
		}
	}
	if n < 4 {
		t.Errorf("%d text fields in the form, want the four numbers", n)
	}
}
