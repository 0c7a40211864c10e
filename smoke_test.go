package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	janus "github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/hub"
	"github.com/janus-desktop/janus/app/hub/hubtest"
	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/internal/fixtures"
)

// The smoke test starts the real binary under Xvfb with the tiny-a model, drops an image on
// it (dragged by xdotool from a small GTK window, testdata/dragsource.py; without Python's
// GTK bindings the image is given on the command line instead), asks a question, generates
// images, and screenshots both views in the dark and the light theme with ImageMagick's
// import, checking that the window is not blank. JANUS_SMOKE=1 runs it (make uitest does);
// JANUS_UPDATE_SCREENSHOTS=1 also writes the screenshots to assets/screenshots/.
// Its first-run-download part does the same for the first-run download screen.

const (
	smokeWidth, smokeHeight = 1200, 800 // the window's default size, which fills the screen
	// Positions in the window (no window manager, so it sits at 0,0), at FYNE_SCALE=1.
	composerX, composerY   = 700, 765
	createTabX, createTabY = 378, 46
	promptX, promptY       = 660, 100
	copyX, copyY           = 573, 462 // the first of four tiles' Copy icon
	resumeX, resumeY       = 868, 417 // on the first-run screen with a paused download
)

func TestSmokeUnderXvfb(t *testing.T) {
	skipWithoutSmoke(t)
	models := fixtures.Path(t, "models")
	photo := fixtures.Path(t, "inputs", "synthetic_landscape_150x100.png")
	dir := t.TempDir()
	bin := buildApp(t, dir)

	for _, variant := range []string{"dark", "light"} {
		t.Run(variant, func(t *testing.T) {
			display := startXvfb(t)
			drag := canDrag()
			var args []string
			if !drag {
				t.Log("no GTK for Python (apt-get install python3-gi gir1.2-gtk-3.0): the image is given on the command line instead of dropped")
				args = append(args, photo)
			}
			app := startApp(t, bin, display, variant, models, nil, args...)
			app.waitLog(t, "model ready", 60*time.Second)
			waitWindow(t, display, "Janus Desktop")
			if drag {
				dropFile(t, display, photo)
			}
			app.waitLog(t, "attached files=1", 30*time.Second)
			xdotool(t, display, "mousemove", composerX, composerY, "click", 1)
			xdotool(t, display, "type", "--delay", 15, "What is in this picture?")
			xdotool(t, display, "key", "Return")
			app.waitLog(t, "answer finished", 120*time.Second)
			time.Sleep(500 * time.Millisecond) // the last frame
			chat := screenshot(t, display, filepath.Join(dir, "chat-"+variant+".png"))

			xdotool(t, display, "mousemove", createTabX, createTabY, "click", 1)
			time.Sleep(300 * time.Millisecond)
			xdotool(t, display, "mousemove", promptX, promptY, "click", 1)
			xdotool(t, display, "type", "--delay", 15, "A lighthouse on a rocky coast at sunset")
			// Ctrl+Enter generates (four images: the default the settings file gives).
			xdotool(t, display, "key", "ctrl+Return")
			app.waitLog(t, "generation finished", 120*time.Second)
			time.Sleep(500 * time.Millisecond)
			create := screenshot(t, display, filepath.Join(dir, "create-"+variant+".png"))

			for name, img := range map[string]image.Image{"chat": chat, "create": create} {
				if sd := stddev(img); sd < 10 {
					t.Errorf("%s screenshot is nearly blank (pixel standard deviation %.1f)", name, sd)
				}
			}
			if _, err := exec.LookPath("xclip"); err == nil {
				smokeClipboard(t, app, display, photo)
			} else {
				t.Log("no xclip (apt-get install xclip): the picture clipboard is not checked")
			}
			if differ(chat, create) < 0.05 {
				t.Error("the chat and create screenshots are nearly the same: the view did not change")
			}
			if strings.Contains(app.logs(), "answer finished state=error") {
				t.Errorf("the answer failed:\n%s", app.logs())
			}
			if os.Getenv("JANUS_UPDATE_SCREENSHOTS") == "1" {
				for _, name := range []string{"chat-" + variant + ".png", "create-" + variant + ".png"} {
					copyFile(t, filepath.Join(dir, name), filepath.Join("assets", "screenshots", name))
				}
			}
		})
	}
	t.Run("first-run-download", func(t *testing.T) { smokeFirstRunDownload(t, bin, dir) })
}

// skipWithoutSmoke skips t unless JANUS_SMOKE=1 and the tools the smoke tests drive are here.
func skipWithoutSmoke(t *testing.T) {
	t.Helper()
	if os.Getenv("JANUS_SMOKE") != "1" {
		t.Skip("set JANUS_SMOKE=1 to run the real app under Xvfb (make uitest does)")
	}
	for _, tool := range []string{"Xvfb", "xdotool", "import", "gcc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("smoke test needs %s (apt-get install xvfb xdotool imagemagick gcc libgl1-mesa-dev xorg-dev): %v", tool, err)
		}
	}
}

// buildApp builds the app with cgo into dir.
func buildApp(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "janus-desktop")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the app with cgo: %v\n%s", err, out)
	}
	return bin
}

// smokeFirstRunDownload is the first run without a model, in both themes: the app finds none, offers the downloads
// from a hub-like server (tiny-a served as Janus-Pro-1B) and shows the download an earlier
// run paused, ready to resume (screenshotted as download-VARIANT.png); Resume finishes it
// and the model loads.
func smokeFirstRunDownload(t *testing.T, bin, dir string) {
	s := hubtest.New(t)
	s.AddTinyA(t, janus.DefaultRepo)

	for _, variant := range []string{"dark", "light"} {
		t.Run(variant, func(t *testing.T) {
			// An earlier run downloaded 3 MB and was closed: the cache holds the partial file.
			cache := filepath.Join(t.TempDir(), "hub")
			stalled := make(chan struct{})
			s.SetFault("model.safetensors", &hubtest.Fault{StallAfter: 3_000_000, Stalled: stalled})
			c := &hub.Client{Endpoint: s.URL, Cache: cache, Backoff: time.Millisecond}
			job := janus.StartDownload(context.Background(), hub.NewDownloader(c), janus.DefaultRepo, nil)
			<-stalled
			// What was sent reaches the partial file before the "app" closes.
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				names, _ := filepath.Glob(filepath.Join(cache, hub.RepoFolder(janus.DefaultRepo), "blobs", "*.incomplete"))
				if len(names) > 0 {
					if fi, err := os.Stat(names[0]); err == nil && fi.Size() >= 3_000_000 {
						break
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("no 3 MB partial file in %s: %v", cache, names)
				}
			}
			job.Cancel()
			job.Wait()

			display := startXvfb(t)
			env := []string{"HF_ENDPOINT=" + s.URL, "HF_HUB_CACHE=" + cache}
			app := startApp(t, bin, display, variant, t.TempDir(), env)
			app.waitLog(t, "download offers", 60*time.Second)
			waitWindow(t, display, "Janus Desktop")
			if !strings.Contains(app.logs(), "paused="+janus.DefaultRepo) {
				t.Errorf("the partial download is not shown paused:\n%s", app.logs())
			}
			name := "download-" + variant + ".png"
			img := screenshot(t, display, filepath.Join(dir, name))
			if sd := stddev(img); sd < 10 {
				t.Errorf("%s is nearly blank (pixel standard deviation %.1f)", name, sd)
			}
			if os.Getenv("JANUS_UPDATE_SCREENSHOTS") == "1" {
				copyFile(t, filepath.Join(dir, name), filepath.Join("assets", "screenshots", name))
			}

			// Resume: the rest arrives and the model loads.
			xdotool(t, display, "mousemove", resumeX, resumeY, "click", 1)
			app.waitLog(t, "model ready", 120*time.Second)
		})
	}
}

// startXvfb starts an X server on a free display and returns its name (":N").
func startXvfb(t *testing.T) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", smokeWidth, smokeHeight), "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case n := <-line:
		if n == "" {
			t.Fatal("Xvfb did not say which display it took")
		}
		return ":" + n
	case <-time.After(30 * time.Second):
		t.Fatal("Xvfb did not start within 30 s")
	}
	return ""
}

// runningApp is the app under test with its log.
type runningApp struct {
	mu  sync.Mutex
	log bytes.Buffer
}

func (a *runningApp) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.log.Write(p)
}

func (a *runningApp) logs() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.log.String()
}

// waitLog waits for a line of the app's log containing s.
func (a *runningApp) waitLog(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(a.logs(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("the app did not log %q within %v; its log:\n%s", s, timeout, a.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func startApp(t *testing.T, bin, display, variant, models string, env []string, args ...string) *runningApp {
	t.Helper()
	a := &runningApp{}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	// The canvas makes four images by default, set as a user would in Settings, with the
	// faster arithmetic, so that the CPU's BF16 kernels (AMX where the machine has it, which
	// asks Linux for the tile state) run inside the cgo process of the real app too.
	data := t.TempDir()
	store, err := janus.OpenStore(data)
	if err != nil {
		t.Fatal(err)
	}
	settings := janus.DefaultSettings()
	settings.Generation.N = 4
	settings.Precision = compute.PrecisionBF16
	if err := store.SaveSettings(settings); err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "FYNE_THEME="+variant, "FYNE_SCALE=1",
		"LANG=en_US.UTF-8", "JANUS_MODELS="+models, "JANUS_DATA="+data, "HOME="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = a, a
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the app: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("app log:\n%s", a.logs())
		}
	})
	return a
}

// waitWindow waits until a window called name is mapped, and a moment more for its first frame.
func waitWindow(t *testing.T, display, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		cmd := exec.Command("xdotool", "search", "--onlyvisible", "--name", name)
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		if out, err := cmd.Output(); err == nil && len(bytes.TrimSpace(out)) > 0 {
			time.Sleep(time.Second)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no window %q appeared within 30 s", name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// canDrag reports whether the GTK drag source can run.
func canDrag() bool {
	cmd := exec.Command("/usr/bin/python3", "-c", "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk")
	return cmd.Run() == nil
}

// dropFile drags path from the GTK drag source onto the middle of the app's window, as a
// person drags a file from a file manager.
func dropFile(t *testing.T, display, path string) {
	t.Helper()
	const srcX, srcY = 1000, 650 // the source window's corner; the button fills it
	cmd := exec.Command("/usr/bin/python3", filepath.Join("testdata", "dragsource.py"), path, fmt.Sprint(srcX), fmt.Sprint(srcY))
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the drag source: %v", err)
	}
	defer cmd.Process.Kill() // a no-op once it has quit by itself
	ready := make(chan bool, 1)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			if s.Text() == "ready" {
				ready <- true
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("the drag source did not start")
	}
	x, y := srcX+60, srcY+30
	xdotool(t, display, "mousemove", x, y, "mousedown", 1)
	// Past GTK's drag threshold in small steps, then glide onto the app and let go.
	for i := 1; i <= 5; i++ {
		xdotool(t, display, "mousemove", x-4*i, y)
		time.Sleep(40 * time.Millisecond)
	}
	for i := 1; i <= 10; i++ {
		xdotool(t, display, "mousemove", x-20-(x-20-600)*i/10, y-(y-400)*i/10)
		time.Sleep(40 * time.Millisecond)
	}
	xdotool(t, display, "mouseup", 1)
	// The app asks the source for the files after the release: let it answer and quit.
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Log("the drag source did not quit after the drop")
	}
}

func xdotool(t *testing.T, display string, args ...any) {
	t.Helper()
	var s []string
	for _, a := range args {
		s = append(s, fmt.Sprint(a))
	}
	cmd := exec.Command("xdotool", s...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xdotool %v: %v\n%s", s, err, out)
	}
}

// smokeClipboard copies the first of four finished images in Create and reads the clipboard
// as another app would (xclip), then puts a picture there as another app would and pastes
// it into the chat's composer, where it is attached.
func smokeClipboard(t *testing.T, app *runningApp, display, photo string) {
	t.Helper()
	xclip := func(args ...string) *exec.Cmd {
		cmd := exec.Command("xclip", append([]string{"-selection", "clipboard"}, args...)...)
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		return cmd
	}
	xdotool(t, display, "mousemove", copyX, copyY, "click", 1)
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := xclip("-t", "image/png", "-o").Output()
		if err == nil {
			if img, derr := png.Decode(bytes.NewReader(out)); derr == nil && img.Bounds().Dx() > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the clipboard holds no PNG after Copy (%d bytes, %v)", len(out), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// xclip serves the picture from a child in the background until another owner takes it:
	// its output is not captured, or the wait would last as long.
	if err := xclip("-t", "image/png", "-i", photo).Run(); err != nil {
		t.Fatalf("xclip -i: %v", err)
	}
	xdotool(t, display, "mousemove", createTabX-110, createTabY, "click", 1) // the Chat tab
	time.Sleep(300 * time.Millisecond)
	xdotool(t, display, "mousemove", composerX, composerY, "click", 1)
	xdotool(t, display, "key", "ctrl+v")
	app.waitLog(t, "pasted files=1 refused=0", 30*time.Second)

	// A picture too large for one X11 request (a screenshot): handed over in pieces, which
	// the app reads through xclip.
	big := filepath.Join(t.TempDir(), "big.png")
	noise := image.NewNRGBA(image.Rect(0, 0, 900, 900))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(rng.Uint32())
	}
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, noise); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := xclip("-t", "image/png", "-i", big).Run(); err != nil {
		t.Fatalf("xclip -i: %v", err)
	}
	xdotool(t, display, "key", "ctrl+v")
	deadline = time.Now().Add(30 * time.Second)
	for strings.Count(app.logs(), "pasted files=1 refused=0") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("a %d-byte picture was not pasted; the app's log:\n%s", fileSize(t, big), app.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fileSize is the size of the file at path.
func fileSize(t *testing.T, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// screenshot saves the screen with ImageMagick's import and decodes it.
func screenshot(t *testing.T, display, path string) image.Image {
	t.Helper()
	cmd := exec.Command("import", "-window", "root", path)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	return img
}

// stddev is the standard deviation of the grey levels: about 0 for a blank window.
func stddev(img image.Image) float64 {
	var sum, sq, n float64
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			v := float64(r+g+bl) / 3 / 257
			sum += v
			sq += v * v
			n++
		}
	}
	mean := sum / n
	return math.Sqrt(max(0, sq/n-mean*mean))
}

// differ is the share of sampled pixels that differ between a and b.
func differ(a, b image.Image) float64 {
	var d, n float64
	bb := a.Bounds().Intersect(b.Bounds())
	for y := bb.Min.Y; y < bb.Max.Y; y += 4 {
		for x := bb.Min.X; x < bb.Max.X; x += 4 {
			if a.At(x, y) != b.At(x, y) {
				d++
			}
			n++
		}
	}
	return d / n
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
