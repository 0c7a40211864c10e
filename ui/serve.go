package ui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/api"
)

// serveStopWait is how long requests in flight may finish when the server stops (the
// model is replaced, the setting turned off, the window closed) before they are cancelled.
const serveStopWait = 3 * time.Second

// startServing starts "Serve on localhost" on the loaded model when the setting is on and
// it is not running yet; a failure (the port in use) is kept in serveErr for the settings
// and the sidebar to show.
func (u *UI) startServing() {
	if !u.settings.Serve.Enabled || u.engine == nil || u.serving != nil {
		u.showServeStatus()
		return
	}
	if c := u.serveClosing; c != nil {
		select {
		case <-c:
			u.serveClosing = nil
		default:
			// An address kept while a load ran is being let go: listening on it now would
			// find it taken by ourselves.
			go func() {
				<-c
				u.do(u.startServing)
			}()
			return
		}
	}
	if k := u.servePaused; k != nil {
		// The address kept while this model loaded: served again once the old server has
		// handed it over, off the UI goroutine (the handover may wait for slow clients).
		u.servePaused = nil
		eng, opts := u.engine, u.serveOptions()
		u.serveJobs.Add(1)
		go func() {
			defer u.serveJobs.Done()
			l := k.claim()
			if l == nil { // the address could not be kept: a new server listens
				u.do(u.startServing)
				return
			}
			v, err := api.ResumeServing(context.Background(), eng, l, opts)
			if err != nil {
				l.Close()
			}
			u.serveMu.Lock()
			u.resumed = v // taken by adoptServing, or stopped by shutdown if the window has closed
			u.serveMu.Unlock()
			u.do(func() { u.adoptServing(eng, err) })
		}()
		return
	}
	v, err := api.StartServing(context.Background(), u.engine, u.settings.Serve.Addr(), u.serveOptions())
	u.serving, u.serveErr = v, nil
	if err != nil {
		slog.Error("serve on localhost", "addr", u.settings.Serve.Addr(), "err", err)
		u.serveErr = &serveFailure{port: u.settings.Serve.Port, err: err}
	}
	u.showServeStatus()
}

// keptAddress is the local API's address kept while the next model loads (pauseServing):
// the old server hands it over once its requests have ended, and one claim takes it, to
// serve the next model there or to let it go.
type keptAddress struct {
	ready chan struct{} // closed once l is set
	l     *api.Loading  // nil when the address could not be kept
	once  sync.Once
}

// claim waits for the address and returns it to the first caller; the others get nil.
func (k *keptAddress) claim() *api.Loading {
	<-k.ready
	var l *api.Loading
	k.once.Do(func() { l = k.l })
	return l
}

// pauseServing takes the running server off the window and returns what, run off the UI
// goroutine, stops it while keeping its address, answering "model_loading" (naming next)
// until the next model's server takes it over (startServing) or closePausedServing lets it
// go. Without a server it returns a no-op.
func (u *UI) pauseServing(next string) func() {
	v := u.detachServing()
	if v == nil {
		return func() {}
	}
	k := &keptAddress{ready: make(chan struct{})}
	u.servePaused = k
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), serveStopWait)
		defer cancel()
		l, err := v.Pause(ctx, next)
		if err != nil {
			slog.Warn("pause serving", "addr", v.Addr(), "err", err)
		}
		k.l = l
		close(k.ready)
	}
}

// adoptServing takes the server startServing resumed for eng, unless the window has moved on
// meanwhile (another model, serving turned off), when that server stops and the window's
// state decides anew; err is why it could not be resumed.
func (u *UI) adoptServing(eng app.Engine, err error) {
	u.serveMu.Lock()
	v := u.resumed
	u.resumed = nil
	u.serveMu.Unlock()
	if err != nil {
		slog.Error("serve on localhost", "addr", u.settings.Serve.Addr(), "err", err)
		u.serveErr = &serveFailure{port: u.settings.Serve.Port, err: err}
		u.showServeStatus()
		return
	}
	if u.engine != eng || !u.settings.Serve.Enabled || u.serving != nil {
		done := make(chan struct{})
		u.serveClosing = done
		go func() {
			stopServe(v)
			close(done)
		}()
		u.startServing()
		return
	}
	u.serving, u.serveErr = v, nil
	u.showServeStatus()
}

// closePausedServing lets go of an address kept while a model loaded: no model comes (the
// load failed or was cancelled with none to go back to), or serving was turned off. A later
// startServing waits until it is let go.
func (u *UI) closePausedServing() {
	k := u.servePaused
	if k == nil {
		return
	}
	u.servePaused = nil
	done := make(chan struct{})
	u.serveClosing = done
	go func() {
		if l := k.claim(); l != nil {
			l.Close()
		}
		close(done)
	}()
}

// stopServingJobs waits for the servers being resumed and stops one resumed after the window
// closed (shutdown).
func (u *UI) stopServingJobs() {
	u.closePausedServing()
	u.serveJobs.Wait()
	u.serveMu.Lock()
	v := u.resumed
	u.resumed = nil
	u.serveMu.Unlock()
	stopServe(v)
	if c := u.serveClosing; c != nil {
		<-c
	}
}

// serveFailure is why serving on port failed: the port the message names is the one that
// failed, not one typed since.
type serveFailure struct {
	port int
	err  error
}

func (e *serveFailure) Error() string { return fmt.Sprintf("serve on port %d: %v", e.port, e.err) }
func (e *serveFailure) Unwrap() error { return e.err }

// serveOptions are the local API's options from the settings.
func (u *UI) serveOptions() api.Options {
	return api.Options{APIKey: u.settings.Serve.APIKey, Software: u.software(), Desktop: true}
}

// detachServing takes the running server off the window; the caller stops it (stopServe)
// before the model it serves is closed.
func (u *UI) detachServing() *api.Serving {
	v := u.serving
	u.serving = nil
	u.showServeStatus()
	return v
}

// stopServe stops v (nil: nothing), letting requests in flight finish for a moment. It
// blocks: call it off the UI goroutine, except at shutdown.
func stopServe(v *api.Serving) {
	if v == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), serveStopWait)
	defer cancel()
	if err := v.Stop(ctx); err != nil {
		slog.Warn("stop serving", "addr", v.Addr(), "err", err)
	}
}

// showServeStatus tells the sidebar and the open settings dialog what the server does: the
// sidebar's line, where it stays in sight, says the address, or that the server is off
// against the setting and why.
func (u *UI) showServeStatus() {
	switch {
	case u.serving != nil:
		u.sidebar.showServing("API: "+strings.TrimPrefix(u.serving.URL(), "http://"), widget.SuccessImportance)
	case u.serveErr != nil:
		// Also after the switch went back off for it: the failure stays in sight until
		// the switch is turned off or the server starts.
		short, _ := serveProblem(u.serveErr)
		u.sidebar.showServing("API off: "+short, widget.DangerImportance)
		if u.side != nil && !u.side.Visible() {
			u.showSidebar(true) // the line is the sidebar's: a hidden one would keep it out of sight
		}
	case u.settings.Serve.Enabled && u.engine == nil:
		// A model loading, or none come (a load failed or was cancelled): the setting is
		// on, and nothing answers with a model.
		u.sidebar.showServing("API: waiting for a model", widget.WarningImportance)
	default:
		u.sidebar.showServing("", widget.LowImportance)
	}
	if u.serveStatus != nil {
		u.serveStatus()
	}
}

// serveLine says what "Serve on localhost" does now, and how important that is.
func (u *UI) serveLine() (string, widget.Importance) {
	s := u.settings.Serve
	switch {
	case !s.Enabled:
		return "Off. When on, programs on this computer (editors, scripts, chat apps) can use the loaded model " +
			"through the OpenAI API.", widget.LowImportance
	case u.serving != nil:
		line := "Serving at " + u.serving.URL()
		if u.settings.Serve.APIKey != "" {
			line += " · requests need the API key"
		}
		return line, widget.SuccessImportance
	case u.serveErr != nil:
		_, long := serveProblem(u.serveErr)
		return long, widget.DangerImportance
	}
	return "Starts when a model is loaded.", widget.MediumImportance
}

// serveProblem says why serving failed: short for the sidebar, and long for the settings,
// each with what to do where there is something. The sidebar's advice is a line of its own:
// on one line with the port it was cut short at the sidebar's width.
func serveProblem(err error) (short, long string) {
	var f *serveFailure
	if errors.As(err, &f) && api.AddressInUse(err) {
		return fmt.Sprintf("port %d is in use\nChoose another port in Settings", f.port),
			fmt.Sprintf("Port %d is in use by another program (perhaps a janus serve): choose another port.", f.port)
	}
	if f != nil {
		err = f.err
	}
	return firstLine(err), "Not serving: " + firstLine(err)
}

// serveForm is the settings' "Serve on localhost" part. It applies at once, not on Save:
// turning it on starts the server (or says why it cannot), turning it off stops it.
type serveForm struct {
	u      *UI
	on     *fieldCheck
	port   *fieldEntry
	key    *fieldEntry
	status *widget.Label
	// block holds the switch, the port and key, and the status line under them (content).
	block *fyne.Container
	// quiet is set while the check is changed from code, not by the user.
	quiet bool
}

func newServeForm(u *UI) *serveForm {
	f := &serveForm{u: u}
	f.port = newFieldEntry(u.escape)
	// Marked as it is typed, as the other numbers are (Save alone said so).
	f.port.Validator = func(text string) error {
		_, err := parsePort(text)
		return err
	}
	f.port.SetText(strconv.Itoa(u.settings.Serve.Port))
	f.key = newFieldEntry(u.escape)
	f.key.Password = true // the entry then shows the button that reveals it
	f.key.SetPlaceHolder("API key (optional)")
	f.key.SetText(u.settings.Serve.APIKey)
	f.status = widget.NewLabel("")
	f.status.Wrapping = fyne.TextWrapWord
	f.on = newFieldCheck("Serve on localhost", f.toggle, u.escape)
	// While it serves, an edit of the port or key is applied by Save (the line says so).
	f.port.OnChanged = func(string) { f.show() }
	f.key.OnChanged = func(string) { f.show() }
	f.quiet = true
	f.on.SetChecked(u.settings.Serve.Enabled)
	f.quiet = false
	f.show()
	return f
}

// content is the form item's widget: the switch, port and key, and the status line; it is
// kept in block.
func (f *serveForm) content() fyne.CanvasObject {
	port := container.NewHBox(widget.NewLabel("Port"), container.New(fixedWidth{96}, f.port))
	// The port before the key, as Tab goes in the order of the objects: NewBorder puts its
	// centre first, and Tab went from the switch to the key, then back to the port.
	row := container.New(layout.NewBorderLayout(nil, nil, port, nil), port, f.key)
	f.block = container.NewVBox(f.on, row, f.status)
	return f.block
}

// toggle starts or stops the server as the user turned the switch.
func (f *serveForm) toggle(on bool) {
	if f.quiet {
		return
	}
	u := f.u
	if on {
		port, err := parsePort(f.port.Text)
		if err != nil {
			f.setChecked(false)
			f.status.SetText(sentenceStart(err.Error()) + ".")
			f.status.Importance = widget.DangerImportance
			f.status.Refresh()
			return
		}
		u.settings.Serve.Port, u.settings.Serve.Enabled = port, true
		u.settings.Serve.APIKey = strings.TrimSpace(f.key.Text) // as Save keeps it
		u.serveErr = nil
		u.startServing()
		if u.serveErr != nil {
			// The port is taken (or similar): off, so that the next start does not fail
			// the same way; the line says what to do.
			u.settings.Serve.Enabled = false
			f.setChecked(false)
		}
	} else {
		u.settings.Serve.Enabled = false
		u.serveErr = nil
		v := u.detachServing()
		u.offUI(func() { stopServe(v) })
		u.closePausedServing()
	}
	f.show()
	u.showServeStatus() // the sidebar's line follows the switch
	u.saveSettings(nil)
}

func (f *serveForm) setChecked(on bool) {
	f.quiet = true
	f.on.SetChecked(on)
	f.quiet = false
}

// show updates the status line, keeping a failure visible after the switch went off.
func (f *serveForm) show() {
	u := f.u
	text, imp := u.serveLine()
	if u.serveErr != nil && !u.settings.Serve.Enabled {
		_, text = serveProblem(u.serveErr)
		imp = widget.DangerImportance
	}
	if u.serving != nil && f.edited() {
		text += ". Save to restart it with the new port or key"
	}
	// A port that cannot be is said as it is typed: the field's red mark comes only once the
	// focus leaves it, and says nothing, where the form says what is wrong under its fields.
	if _, err := parsePort(f.port.Text); err != nil {
		text, imp = sentenceStart(err.Error()), widget.DangerImportance
	}
	f.status.SetText(text)
	f.status.Importance = imp
	// Off, the line is a hint as the dialog's others are; the address or a failure is news.
	f.status.SizeName = ""
	if imp == widget.LowImportance {
		f.status.SizeName = theme.SizeNameCaptionText
	}
	f.status.Refresh()
}

// edited reports whether the port or key fields differ from the settings in use.
func (f *serveForm) edited() bool {
	s := f.u.settings.Serve
	return strings.TrimSpace(f.port.Text) != strconv.Itoa(s.Port) || strings.TrimSpace(f.key.Text) != s.APIKey
}

// restartServing serves again with the port and key of the settings in use: the server
// running with the previous ones stops first (it may hold the same port).
func (u *UI) restartServing() {
	u.closePausedServing() // a new port or key: a new server, when a model is there
	v := u.detachServing()
	u.offUI(func() {
		stopServe(v)
		u.do(func() {
			u.serveErr = nil
			u.startServing()
		})
	})
}

// offUI runs f, which stops a server, off the UI goroutine, counted in serveJobs: shutdown
// waits for it before closing the model, whose requests it lets finish.
func (u *UI) offUI(f func()) {
	u.serveJobs.Add(1)
	go func() {
		defer u.serveJobs.Done()
		f()
	}()
}

// parsePort reads the API server's port field: a number from 1 to 65535.
func parsePort(text string) (int, error) {
	port, err := strconv.Atoi(strings.TrimSpace(text))
	if err != nil || port < 1 || port > 65535 {
		return 0, fmt.Errorf("port %q: it must be a whole number from 1 to 65535", strings.TrimSpace(text))
	}
	return port, nil
}
