package ui

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
	"github.com/janus-desktop/janus/internal/fixtures"
)

// freePort is a port on 127.0.0.1 nothing listens on (at the moment of asking).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// get requests url with key as the bearer token ("" for none) and returns the status and
// body.
func get(t *testing.T, url, key string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// "Serve on localhost" in the settings: turned on it serves the loaded model at the URL it
// shows, with the API key asked for; off it stops; a port another program holds is said
// inline and leaves it off; the choice is stored.
func TestServeFromSettings(t *testing.T) {
	h := newHarness(t, tinyA(t))
	u := h.u
	u.showSettings()
	f := newSettingsForm(u)
	u.serveStatus = f.serve.show
	sf := f.serve
	if sf.on.Checked || !strings.HasPrefix(sf.status.Text, "Off.") {
		t.Errorf("serving at first: %v, %q", sf.on.Checked, sf.status.Text)
	}

	port := freePort(t)
	sf.port.SetText(strconv.Itoa(port))
	sf.key.SetText("secret")
	sf.on.SetChecked(true)
	base := "http://127.0.0.1:" + strconv.Itoa(port) + "/v1"
	if want := "Serving at " + base; !strings.HasPrefix(sf.status.Text, want) || u.serving == nil {
		t.Fatalf("after turning it on: %q (err %v), want %q", sf.status.Text, u.serveErr, want)
	}
	if !u.sidebar.serving.Visible() || !strings.Contains(u.sidebar.serving.Text, "127.0.0.1:"+strconv.Itoa(port)) {
		t.Errorf("the sidebar does not say where the API is: %q", u.sidebar.serving.Text)
	}
	if code, _ := get(t, base+"/models", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /v1/models without the key: %d, want 401", code)
	}
	if code, body := get(t, base+"/models", "secret"); code != http.StatusOK || !strings.Contains(body, "tiny-a") {
		t.Errorf("GET /v1/models: %d %s", code, body)
	}
	h.pump("the setting to be stored", func() bool {
		s, _, err := u.store.LoadSettings()
		return err == nil && s.Serve.Enabled && s.Serve.Port == port && s.Serve.APIKey == "secret"
	})

	// A new key typed while it serves: the line says Save applies it, and Save restarts the
	// server with it.
	sf.key.SetText("other")
	if !strings.Contains(sf.status.Text, "Save to restart") {
		t.Errorf("after editing the key while serving: %q", sf.status.Text)
	}
	ns, err := f.settings()
	if err != nil {
		t.Fatal(err)
	}
	u.applySettings(ns)
	h.pump("the server with the new key", func() bool {
		if u.serving == nil {
			return false
		}
		code, _ := get(t, base+"/models", "other")
		return code == http.StatusOK
	})
	if code, _ := get(t, base+"/models", "secret"); code != http.StatusUnauthorized {
		t.Errorf("the old key after the restart: %d, want 401", code)
	}

	sf.on.SetChecked(false)
	h.pump("the server to stop", func() bool {
		c := http.Client{}
		_, err := c.Get(base + "/models")
		return err != nil
	})
	if u.serving != nil || !strings.HasPrefix(sf.status.Text, "Off.") || u.sidebar.serving.Visible() {
		t.Errorf("after turning it off: serving %v, %q", u.serving, sf.status.Text)
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	sf.port.SetText(strconv.Itoa(busyPort))
	sf.on.SetChecked(true)
	want := "Port " + strconv.Itoa(busyPort) + " is in use by another program (perhaps a janus serve)"
	if !strings.HasPrefix(sf.status.Text, want) || sf.on.Checked || u.serving != nil || u.settings.Serve.Enabled {
		t.Errorf("on a busy port: checked %v, %q, want %q", sf.on.Checked, sf.status.Text, want)
	}
	h.pump("the setting to be stored", func() bool {
		s, _, err := u.store.LoadSettings()
		return err == nil && !s.Serve.Enabled && s.Serve.Port == busyPort
	})
	// The sidebar keeps the failure in sight once the dialog is closed (it said nothing).
	if l := u.sidebar.serving; !l.Visible() || l.Text != busyLine(busyPort) || l.Importance != widget.DangerImportance {
		t.Errorf("with the switch off after the failure, the sidebar says %q (shown %v)", l.Text, l.Visible())
	}
	// A new key alone does not turn it on again (the port is still taken).
	sf.key.SetText("another key")
	if ns, err = f.settings(); err != nil {
		t.Fatal(err)
	}
	u.applySettings(ns)
	h.pump("a moment", func() bool { return true })
	if u.serving != nil || u.settings.Serve.Enabled {
		t.Errorf("a new key after the failure: serving %v, the setting on %v", u.serving != nil, u.settings.Serve.Enabled)
	}
	// A port typed since: the line still names the port that failed; Save serves on the new one.
	free := freePort(t)
	sf.port.SetText(strconv.Itoa(free))
	if !strings.HasPrefix(sf.status.Text, want) {
		t.Errorf("after typing port %d the line says %q, want %q", free, sf.status.Text, want)
	}
	if ns, err = f.settings(); err != nil {
		t.Fatal(err)
	}
	u.applySettings(ns)
	h.pump("the server on the new port", func() bool { return u.serving != nil })
	if code, _ := get(t, "http://127.0.0.1:"+strconv.Itoa(free)+"/health", ""); code != http.StatusOK || !u.settings.Serve.Enabled {
		t.Errorf("after Save with port %d: GET /health %d, the setting on %v", free, code, u.settings.Serve.Enabled)
	}

	sf.port.SetText("http")
	// Said as typed: the field's own mark comes once the focus leaves it, and says nothing.
	if !strings.Contains(sf.status.Text, `"http": it must be a whole number from 1 to 65535`) || sf.status.Importance != widget.DangerImportance {
		t.Errorf("a port of \"http\" typed: the line says %q", sf.status.Text)
	}
	sf.on.SetChecked(true)
	if sf.on.Checked || !strings.Contains(sf.status.Text, "must be a whole number") {
		t.Errorf("a port of \"http\": checked %v, %q", sf.on.Checked, sf.status.Text)
	}
}

// A window started with serving on serves the model once it is loaded, and a fake model
// that cannot be shared gets a line saying why, in the sidebar.
func TestServeAtStart(t *testing.T) {
	port := freePort(t)
	store := t.TempDir()
	st, err := app.OpenStore(store)
	if err != nil {
		t.Fatal(err)
	}
	s := app.DefaultSettings()
	s.Serve = app.ServeSettings{Enabled: true, Port: port, APIKey: "kept"}
	if err := st.SaveSettings(s); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, tinyA(t), func(o *Options) { o.StoreDir = store })
	if h.u.serving == nil {
		t.Fatalf("not serving at start: %v", h.u.serveErr)
	}
	if code, _ := get(t, "http://127.0.0.1:"+strconv.Itoa(port)+"/health", ""); code != http.StatusOK {
		t.Errorf("GET /health: %d", code)
	}
	// The key stored with the settings guards the server of the next run.
	models := "http://127.0.0.1:" + strconv.Itoa(port) + "/v1/models"
	if code, _ := get(t, models, ""); code != http.StatusUnauthorized {
		t.Errorf("GET /v1/models without the stored key: %d, want 401", code)
	}
	if code, _ := get(t, models, "kept"); code != http.StatusOK {
		t.Errorf("GET /v1/models with the stored key: %d", code)
	}

	h2 := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = store })
	if l := h2.u.sidebar.serving; h2.u.serving != nil || !l.Visible() || !strings.HasPrefix(l.Text, "API off: ") || l.Importance != widget.DangerImportance {
		t.Errorf("fake engine: serving %v, the sidebar says %q", h2.u.serving, l.Text)
	}
}

// Serving on at start on a port another program holds: the sidebar's API line says so; a
// new port saved in the settings starts the server (it is still on), and the line says
// where it serves.
func TestServeRetriesOnNewPort(t *testing.T) {
	store, s := servingOnBusyPort(t)
	h := newHarness(t, tinyA(t), func(o *Options) { o.StoreDir = store })
	u := h.u
	if want := busyLine(s.Serve.Port); u.serving != nil || u.sidebar.serving.Text != want {
		t.Fatalf("on a busy port at start: serving %v, the sidebar says %q, want %q", u.serving, u.sidebar.serving.Text, want)
	}
	ns := u.settings
	ns.Serve.Port = freePort(t)
	u.applySettings(ns)
	h.pump("the server on the new port", func() bool { return u.serving != nil })
	if code, _ := get(t, "http://127.0.0.1:"+strconv.Itoa(ns.Serve.Port)+"/health", ""); code != http.StatusOK {
		t.Errorf("GET /health on the new port: %d", code)
	}
	if l := u.sidebar.serving; !strings.HasPrefix(l.Text, "API: 127.0.0.1:") || l.Importance != widget.SuccessImportance {
		t.Errorf("serving, the sidebar says %q", l.Text)
	}
}

// The backend list is what compute offers, Automatic first, and the sidebar shows the
// backend the loaded model runs on, as the engine reports it.
func TestBackendChoicesAndLabel(t *testing.T) {
	eng := apptest.NewFakeEngine(0)
	h := newHarness(t, eng)
	f := newSettingsForm(h.u)
	var want []string
	for _, c := range app.BackendChoices() {
		want = append(want, c.Label)
	}
	if strings.Join(f.backend.Options, ",") != strings.Join(want, ",") || f.backend.Options[0] != "Automatic" ||
		!strings.Contains(strings.Join(want, ","), "CPU") {
		t.Errorf("backend list %v, want %v", f.backend.Options, want)
	}
	if got := h.u.sidebar.modelDetail.Text; !strings.Contains(got, eng.Info().Backend) {
		t.Errorf("sidebar %q does not name the backend %q", got, eng.Info().Backend)
	}
}

// A click on the sidebar's API line copies the address and says "Copied" for a moment; on
// a line saying why the server is off, it opens Settings.
func TestAPILineClick(t *testing.T) {
	store, _ := servingOnBusyPort(t)
	h := newHarness(t, tinyA(t), func(o *Options) { o.StoreDir = store; o.copiedFor = 50 * time.Millisecond })
	u := h.u
	click(t, u.win.Canvas(), u.sidebar.serving)
	if len(u.dialogs) != 1 || u.serveStatus == nil {
		t.Fatalf("a click on %q: %d dialogs, Settings open %v: %q", u.sidebar.serving.Text, len(u.dialogs), u.serveStatus != nil, textsIn(u.win.Canvas().Overlays().Top()))
	}
	u.dialogs[0].Dismiss()

	ns := u.settings
	ns.Serve.Port = freePort(t)
	u.applySettings(ns)
	h.pump("the server on the new port", func() bool { return u.serving != nil })
	line := u.sidebar.serving.Text
	click(t, u.win.Canvas(), u.sidebar.serving)
	if got := u.fapp.Clipboard().Content(); got != u.serving.URL() || len(u.dialogs) != 0 {
		t.Errorf("a click on %q: the clipboard holds %q (want %q), %d dialogs", line, got, u.serving.URL(), len(u.dialogs))
	}
	if l := u.sidebar.serving.Text; !strings.HasPrefix(l, "Copied ") {
		t.Errorf("after the click the line says %q", l)
	}
	h.pump("the line back", func() bool { return u.sidebar.serving.Text == line })

	// The server stopping while the line says "Copied" shows at once, in its colour.
	click(t, u.win.Canvas(), u.sidebar.serving)
	u.sidebar.showServing("API off: port 1 is in use", widget.DangerImportance)
	if l := u.sidebar.serving.Text; l != "API off: port 1 is in use" {
		t.Errorf("the server stopped while the line said Copied: it says %q", l)
	}
}

// busyLine is the sidebar's API line when port is taken.
func busyLine(port int) string {
	return fmt.Sprintf("API off: port %d is in use\nChoose another port in Settings", port)
}

// On a port another program holds, the sidebar's API line says what to do, and says it
// whole (no ellipsis) in the sidebar of the default window and of the smallest one.
func TestServeBusyPortSaysWhatToDo(t *testing.T) {
	for _, tc := range []struct {
		name string
		size fyne.Size
	}{
		{"default window", defaultWindowSize},
		{"smallest window", minWindowSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, s := servingOnBusyPort(t)
			h := newHarness(t, tinyA(t), func(o *Options) { o.StoreDir = store })
			u := h.u
			u.win.Resize(tc.size)
			h.settle()
			l := u.sidebar.serving
			if !l.Visible() || !strings.Contains(l.Text, fmt.Sprintf("port %d is in use", s.Serve.Port)) ||
				!strings.Contains(l.Text, "Choose another port in Settings") {
				t.Fatalf("the sidebar says %q (shown %v), want the port and what to do", l.Text, l.Visible())
			}
			room := l.Size().Width - 2*theme.InnerPadding()
			for _, line := range strings.Split(l.Text, "\n") {
				// The widest port there is, in case digits differ in width.
				line = strings.ReplaceAll(line, strconv.Itoa(s.Serve.Port), "65535")
				if w := fyne.MeasureText(line, theme.CaptionTextSize(), l.TextStyle).Width; w > room {
					t.Errorf("%q is %v wide, the sidebar's line has %v: it is cut short", line, w, room)
				}
			}
		})
	}
}

// servingOnBusyPort makes a history folder whose settings serve the API on a port another
// listener holds until the test ends, and returns it with those settings.
func servingOnBusyPort(t *testing.T) (string, app.Settings) {
	t.Helper()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	port := busy.Addr().(*net.TCPAddr).Port
	s := app.DefaultSettings()
	s.Serve = app.ServeSettings{Enabled: true, Port: port}
	return storeServing(t, port), s
}

// Serving on at start on a port another program held: once the port is free, Save with the
// same port starts the server (only a new port did; the switch had to be turned off and on).
func TestServeRetriesSamePortOnSave(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := busy.Addr().(*net.TCPAddr).Port
	store := storeServing(t, port)
	h := newHarness(t, tinyA(t), func(o *Options) { o.StoreDir = store })
	u := h.u
	if u.serving != nil || u.serveErr == nil {
		t.Fatalf("on a busy port at start: serving %v, error %v", u.serving != nil, u.serveErr)
	}
	busy.Close()
	u.applySettings(u.settings)
	h.pump("the server on the freed port", func() bool { return u.serving != nil })
	if code, _ := get(t, "http://127.0.0.1:"+strconv.Itoa(port)+"/health", ""); code != http.StatusOK {
		t.Errorf("GET /health on the freed port: %d", code)
	}
}

// Loading another model keeps the local API's address: meanwhile requests get 503
// model_loading naming it (they found no server), and the next model is served there.
func TestServeKeepsAddressDuringLoad(t *testing.T) {
	port := freePort(t)
	store := storeServing(t, port)
	h := newHarness(t, tinyA(t), func(o *Options) { o.StoreDir = store })
	u := h.u
	health := "http://127.0.0.1:" + strconv.Itoa(port) + "/health"
	if u.serving == nil {
		t.Fatalf("not serving: %v", u.serveErr)
	}
	h.load(fixtures.Path(t, "models", "tiny-a"), "tiny-a again")
	// The next model's server starts on the UI goroutine, which the test holds: until it
	// pumps, the address answers for the model loading.
	// New connections each time: one kept alive from before is closed by the old server as
	// it stops (an EOF a client retries), which is not what is checked here.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := fresh.Get(health)
		if err != nil {
			t.Fatalf("while the next model loads: %v", err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		code, body := resp.StatusCode, string(raw)
		if code == http.StatusServiceUnavailable && strings.Contains(body, "model_loading") && strings.Contains(body, "tiny-a again") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("while the next model loads GET /health: %d %s", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.pump("the next model served", func() bool { return u.engine != nil && u.loading == nil && u.serving != nil })
	if code, body := get(t, health, ""); code != http.StatusOK {
		t.Errorf("GET /health once the next model is served: %d %s", code, body)
	}
}

// With serving on and no model (none found, or a load that failed), the sidebar says the API
// waits for one: it said nothing, as if the setting were off.
func TestServeWaitsForAModel(t *testing.T) {
	store := storeServing(t, freePort(t))
	h := newHarness(t, nil, func(o *Options) { o.StoreDir = store; o.Env = envWithModels(t.TempDir()) })
	u := h.u
	h.pump("the no-model screen", func() bool { return u.noModel.content.Visible() })
	if l := u.sidebar.serving; !l.Visible() || l.Text != "API: waiting for a model" {
		t.Errorf("serving on without a model, the sidebar says %q (shown %v)", l.Text, l.Visible())
	}
}

// A switch cancelled midway brings the old model back on the address kept for the switch:
// clients are told to retry throughout, never refused (the address was let go at the cancel).
func TestServeKeepsAddressWhenSwitchCancelled(t *testing.T) {
	tinyDir := fixtures.Path(t, "models", "tiny-a")
	port := freePort(t)
	store := storeServing(t, port)
	h := newHarness(t, nil, func(o *Options) { o.StoreDir = store; o.Env = envWithModels(filepath.Dir(tinyDir)) })
	u := h.u
	h.pump("the model served", func() bool { return u.engine != nil && u.serving != nil })
	health := "http://127.0.0.1:" + strconv.Itoa(port) + "/health"
	stop := make(chan struct{})
	refused := make(chan error, 1)
	go func() {
		fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		for {
			select {
			case <-stop:
				close(refused)
				return
			default:
			}
			resp, err := fresh.Get(health)
			if errors.Is(err, syscall.ECONNREFUSED) {
				refused <- err
				return
			}
			// A connection the old server accepted as it handed the address over may
			// be closed unanswered (an EOF, which clients retry); a refused one means
			// nothing held the address.
			if err == nil {
				resp.Body.Close()
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	h.load(tinyDir, "other")
	u.cancelLoad()
	h.pump("the old model served again", func() bool { return u.engine != nil && u.loading == nil && u.serving != nil })
	close(stop)
	if err := <-refused; err != nil {
		t.Errorf("during the cancelled switch a client was refused: %v", err)
	}
	if code, body := get(t, health, ""); code != http.StatusOK {
		t.Errorf("GET /health after the cancelled switch: %d %s", code, body)
	}
}

// storeServing makes a history folder whose settings have "Serve on localhost" on at port.
func storeServing(t *testing.T, port int) string {
	t.Helper()
	store := t.TempDir()
	st, err := app.OpenStore(store)
	if err != nil {
		t.Fatal(err)
	}
	s := app.DefaultSettings()
	s.Serve = app.ServeSettings{Enabled: true, Port: port}
	if err := st.SaveSettings(s); err != nil {
		t.Fatal(err)
	}
	return store
}

// A sidebar hidden when the window last closed is shown when the API cannot start: its line
// says why, and would be out of sight.
func TestServeFailureShowsSidebar(t *testing.T) {
	store, _ := servingOnBusyPort(t)
	st, err := app.OpenStore(store)
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := st.LoadSettings()
	if err != nil {
		t.Fatal(err)
	}
	s.HideSidebar = true
	if err := st.SaveSettings(s); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.StoreDir = store })
	if u := h.u; u.serveErr == nil || !u.side.Visible() || u.sidebarItem.Label != "Hide sidebar" {
		t.Errorf("API off at start: error %v, sidebar shown %v, menu %q", u.serveErr, u.side.Visible(), u.sidebarItem.Label)
	}
}
