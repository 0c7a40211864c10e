package app

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestClaimDataFolder(t *testing.T) {
	dir := t.TempDir()
	first, err := ClaimDataFolder(dir, Launch{})
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	got := make(chan Launch, 1)
	first.Serve(func(l Launch) error { got <- l; return nil })

	// A second start hands over its images, as absolute paths, and is told to exit.
	t.Chdir(dir)
	if _, err := ClaimDataFolder(dir, Launch{Attach: []string{"cat.png", "/x/dog.jpg"}}); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second start: %v, want ErrAlreadyRunning", err)
	}
	select {
	case l := <-got:
		if want := []string{filepath.Join(dir, "cat.png"), "/x/dog.jpg"}; !slices.Equal(l.Attach, want) {
			t.Errorf("handed over %q, want %q", l.Attach, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the running window was handed nothing")
	}

	// Closing gives the folder up.
	if err := first.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := os.Lstat(claimSocketPath(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after Close: %v", err)
	}
	again, err := ClaimDataFolder(dir, Launch{})
	if err != nil {
		t.Fatalf("start after close: %v", err)
	}
	again.Close()
}

// A socket left by a crash is taken over.
func TestClaimDataFolderStale(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: claimSocketPath(dir), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Lstat(claimSocketPath(dir)); err != nil {
		t.Fatalf("the stale socket was not left: %v", err)
	}
	w, err := ClaimDataFolder(dir, Launch{})
	if err != nil {
		t.Fatalf("claim over a stale socket: %v", err)
	}
	w.Close()
}

// A window that holds the folder but does not answer is neither taken over nor told it was,
// and the start is refused (BusyError) rather than opening a second window on the history.
func TestClaimDataFolderNoAnswer(t *testing.T) {
	dir := t.TempDir()
	lock, err := lockFolder(filepath.Join(dir, claimLock))
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip("no folder lock on this system")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	silentListener(t, claimSocketPath(dir))
	_, err = claimDataFolder(dir, Launch{}, claimTimes{handOver: 200 * time.Millisecond, closing: time.Second})
	var busy *BusyError
	if !errors.As(err, &busy) || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("claim with a silent window: %v, want a BusyError", err)
	}
	if _, serr := os.Lstat(claimSocketPath(dir)); serr != nil {
		t.Errorf("the silent window's socket was removed: %v", serr)
	}
}

// Starts racing over a socket a crash left behind: exactly one gets the folder, and every
// other one hands over to it.
func TestClaimDataFolderRace(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: claimSocketPath(dir), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close() // stale
	const starts = 8
	var (
		mu      sync.Mutex
		winners []*FolderClaim
		others  []error
		wg      sync.WaitGroup
	)
	for range starts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := ClaimDataFolder(dir, Launch{})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				w.Serve(func(Launch) error { return nil })
				winners = append(winners, w)
				return
			}
			others = append(others, err)
		}()
	}
	wg.Wait()
	for _, w := range winners {
		defer w.Close()
	}
	if len(winners) != 1 {
		t.Fatalf("%d starts got the folder, want 1 (others: %v)", len(winners), others)
	}
	for _, err := range others {
		if !errors.Is(err, ErrAlreadyRunning) {
			t.Errorf("a start that lost: %v, want ErrAlreadyRunning", err)
		}
	}
}

// Without a folder lock (Windows, file systems without locks) the socket alone decides: a
// silent socket is not taken over.
func TestClaimBySocketNoAnswer(t *testing.T) {
	dir := t.TempDir()
	path := claimSocketPath(dir)
	silentListener(t, path)
	if _, err := claimBySocket(dir, path, Launch{}, claimTimes{handOver: 200 * time.Millisecond}); err == nil || errors.Is(err, ErrAlreadyRunning) || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("claim with a silent window: %v", err)
	}
	if _, serr := os.Lstat(path); serr != nil {
		t.Errorf("the silent window's socket was removed: %v", serr)
	}
}

// A data folder whose socket path would be too long uses one in the temporary folder.
func TestClaimDataFolderLongPath(t *testing.T) {
	runtime := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", runtime)
	dir := filepath.Join(t.TempDir(), strings.Repeat("long-folder-name-", 8))
	p := claimSocketPath(dir)
	if len(p) > maxSocketPath || filepath.Dir(p) != runtime {
		t.Fatalf("socket path %q for a long folder, want one in the runtime folder %s", p, runtime)
	}
	if other := claimSocketPath(dir + "2"); other == p {
		t.Fatalf("two folders share the socket %q", p)
	}
	w, err := ClaimDataFolder(dir, Launch{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Serve(func(Launch) error { return nil })
	if _, err := ClaimDataFolder(dir, Launch{}); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second start: %v", err)
	}
}

// A start while the window closes waits for it to let go of the folder and takes it over
// (the window answers "closing" until then).
func TestClaimDataFolderWhileClosing(t *testing.T) {
	dir := t.TempDir()
	first, err := ClaimDataFolder(dir, Launch{})
	if err != nil {
		t.Fatal(err)
	}
	if first.lock == nil {
		t.Skip("no folder lock on this system")
	}
	first.Serve(func(Launch) error { return ErrClosing })
	go func() {
		time.Sleep(300 * time.Millisecond) // saving
		first.Close()
	}()
	second, err := ClaimDataFolder(dir, Launch{Attach: []string{"/x/cat.png"}})
	if err != nil {
		t.Fatalf("a start while the window closes: %v, want the folder", err)
	}
	second.Close()
}

// silentListener listens on path as a hung window would: it takes connections and never
// answers, until the test ends.
func silentListener(t *testing.T, path string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
}

// Requests that must not reach the window get an answer saying why: one that is not a
// Launch, and one the window reads only after its start gave up (the window was stopped,
// or swapping; that start has told its user the window did not answer).
func TestWindowRefusedRequests(t *testing.T) {
	late, _ := json.Marshal(Launch{Attach: []string{"/x/late.png"}, Sent: time.Now().Add(-time.Minute)})
	for _, tc := range []struct {
		name, request, answer string
	}{
		{"not a launch", "{not json", "error:"},
		{"late", string(late), "late"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := ClaimDataFolder(dir, Launch{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			called := make(chan Launch, 1)
			w.Serve(func(l Launch) error { called <- l; return nil })
			c, err := net.Dial("unix", claimSocketPath(dir))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte(tc.request + "\n"))
			buf := make([]byte, 200)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, _ := c.Read(buf)
			if !strings.HasPrefix(string(buf[:n]), tc.answer) {
				t.Errorf("answer %q, want %q", buf[:n], tc.answer)
			}
			select {
			case l := <-called:
				t.Errorf("the request reached the window: %+v", l)
			default:
			}
		})
	}
}
