package app

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// One window per data folder: a second window on the same history would load a second copy
// of the model (a 7B model twice does not fit most machines) and write the same settings and
// chats. So the first start locks window.lock in the data folder and listens on a Unix
// socket beside it, and a later start hands it its command line through the socket and
// exits. The lock decides who holds the folder (the system drops it when a process dies, so
// a crash leaves nothing to clear, and two starts at once cannot both win); the socket is
// how a later start reaches the running window, to bring it forward and attach its images.

// ErrAlreadyRunning is returned by ClaimDataFolder when a Janus Desktop already runs on the data
// folder: that one has been handed the start's images and brings its window forward.
var ErrAlreadyRunning = errors.New("Janus Desktop is already running on this data folder; its window was brought forward (set JANUS_DATA to run another on a different folder)")

// Launch is what a start of the app asks of the window: the image files named on its command
// line, as absolute paths.
type Launch struct {
	Attach []string `json:"attach,omitempty"`
	// Sent is when the start asked: a window that reads it only after the start gave up
	// (it was stopped, or swapping) drops it, since that start has told its user otherwise.
	Sent time.Time `json:"sent,omitzero"`
}

// FolderClaim is this process's claim on a data folder (see ClaimDataFolder): its window is
// the folder's only one.
type FolderClaim struct {
	ln    net.Listener // nil when the socket could not be made
	lock  *os.File     // nil without a lock
	path  string
	times claimTimes
	wg    sync.WaitGroup
}

const (
	claimSocket = "window.sock"
	claimLock   = "window.lock"
	// maxSocketPath is the longest socket path every OS takes (macOS's sun_path is 104
	// bytes with its terminating NUL).
	maxSocketPath = 100
	// maxLaunchBytes bounds one request: a command line's worth of paths.
	maxLaunchBytes = 1 << 20
)

// claimTimes are a claim's patience: HandOver bounds how long a start waits for the
// running window to answer, Closing how long it waits for a closing window to let go of the
// folder (it stops a generation and saves first).
type claimTimes struct{ handOver, closing time.Duration }

var defaultClaimTimes = claimTimes{handOver: 5 * time.Second, closing: 30 * time.Second}

// BusyError is ClaimDataFolder's error when another process holds the data folder but does not
// answer (busy, or hung): a second window must not start on the same history.
type BusyError struct{ Err error }

// Error is the one-line message a user reads.
func (e *BusyError) Error() string {
	return "Janus Desktop is already running on this data folder but did not answer: close it, or set JANUS_DATA to run another on a different folder"
}

// Unwrap gives the cause, for errors.Is and errors.As.
func (e *BusyError) Unwrap() error { return e.Err }

// ClaimDataFolder makes this process the window of the data folder dir, or, when another process
// already is, hands it l and returns ErrAlreadyRunning (*BusyError when that process does
// not answer). Any other error means that the claim could not be made (a folder that
// cannot hold a socket): the caller may start anyway, as the app did before it had this check.
//
// A lock on window.lock in dir says who holds the folder, so that two starts at once, or a
// start beside a socket a crash left, cannot both win; where the file system has no locks
// (some network folders) the socket alone decides.
func ClaimDataFolder(dir string, l Launch) (*FolderClaim, error) {
	return claimDataFolder(dir, l, defaultClaimTimes)
}

func claimDataFolder(dir string, l Launch, times claimTimes) (*FolderClaim, error) {
	if err := os.MkdirAll(dir, storeDirPerm); err != nil {
		return nil, fmt.Errorf("claim data folder: %w", err)
	}
	// The running window has another working folder.
	l.Attach = slices.Clone(l.Attach)
	for i, p := range l.Attach {
		if abs, err := filepath.Abs(p); err == nil {
			l.Attach[i] = abs
		}
	}
	path := claimSocketPath(dir)
	lockPath := filepath.Join(dir, claimLock)
	lock, err := lockFolder(lockPath)
	if err != nil && !errors.Is(err, errLocked) {
		slog.Info("no lock on the data folder; the socket alone keeps one window", "err", err)
		return claimBySocket(dir, path, l, times)
	}
	// While another process holds the lock: it may be a start that has the lock and not yet
	// its socket (dial errors are tried again), or a window that is closing and saving (it
	// answers so, and the lock is tried again until it lets go).
	deadline := time.Now().Add(times.handOver)
	closing := false
	for errors.Is(err, errLocked) {
		herr := handOver(path, l, times.handOver)
		switch {
		case herr == nil:
			return nil, ErrAlreadyRunning
		case errors.Is(herr, ErrClosing) && !closing:
			closing, deadline = true, time.Now().Add(times.closing)
		case errors.Is(herr, ErrClosing), isRetryable(herr):
		default:
			return nil, &BusyError{herr}
		}
		if time.Now().After(deadline) {
			return nil, &BusyError{herr}
		}
		time.Sleep(20 * time.Millisecond)
		lock, err = lockFolder(lockPath)
	}
	if err != nil {
		return nil, fmt.Errorf("claim data folder %s: %w", dir, err)
	}
	// The folder is ours: a socket left there is stale.
	os.Remove(path)
	ln, err := listen(path)
	if err != nil {
		// Held without a socket: later starts cannot reach this window, but the lock still
		// keeps them from opening a second one.
		slog.Warn("window socket", "err", err)
	}
	return &FolderClaim{ln: ln, lock: lock, path: path, times: times}, nil
}

// claimBySocket is ClaimDataFolder without a lock: whoever listens on the socket holds the folder.
func claimBySocket(dir, path string, l Launch, times claimTimes) (*FolderClaim, error) {
	ln, err := listen(path)
	if err == nil {
		return &FolderClaim{ln: ln, path: path, times: times}, nil
	}
	// Someone holds the name: a running window, or a socket a crash left behind.
	herr := handOver(path, l, times.handOver)
	if herr == nil {
		return nil, ErrAlreadyRunning
	}
	if _, serr := os.Lstat(path); serr != nil || !isRefused(herr) {
		return nil, fmt.Errorf("claim data folder %s: %w (and %w)", dir, err, herr)
	}
	slog.Info("removing a stale window socket", "path", path)
	if err := os.Remove(path); err != nil {
		return nil, fmt.Errorf("claim data folder: remove stale socket: %w", err)
	}
	if ln, err = listen(path); err != nil {
		return nil, fmt.Errorf("claim data folder %s: %w", dir, err)
	}
	return &FolderClaim{ln: ln, path: path, times: times}, nil
}

// listen opens the socket for this user alone (it may be in the shared temporary folder).
func listen(path string) (net.Listener, error) {
	ln, err := net.Listen("unix", path)
	if err == nil {
		os.Chmod(path, storeFilePerm) // best effort: Windows has no modes
	}
	return ln, err
}

// claimSocketPath is the socket's path for dir: in dir itself, or, where that path is too
// long for a socket, under a name made from dir in a folder of this user's (the runtime
// folder, else the cache folder), and in the shared temporary folder only when neither
// takes it.
func claimSocketPath(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real // two names of one folder share its socket as they share its lock
	}
	p := filepath.Join(dir, claimSocket)
	if len(p) <= maxSocketPath {
		return p
	}
	sum := sha256.Sum256([]byte(dir))
	name := "janus-desktop-" + hex.EncodeToString(sum[:8]) + ".sock"
	var places []string
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		places = append(places, d)
	}
	if d, err := os.UserCacheDir(); err == nil {
		places = append(places, filepath.Join(d, "janus-desktop"))
	}
	for _, d := range places {
		if p := filepath.Join(d, name); len(p) <= maxSocketPath && os.MkdirAll(d, storeDirPerm) == nil {
			return p
		}
	}
	return filepath.Join(os.TempDir(), name)
}

// isRefused tells a socket nobody listens on (a stale one) from a window that is slow to answer.
func isRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" && !op.Timeout()
}

// isRetryable is a hand-over failure worth trying again while the folder is locked: nobody
// listens yet or any more, the window is busy, or it closed the connection unanswered (its
// listener closed under a connection waiting to be taken).
func isRetryable(err error) bool {
	return isRefused(err) || errors.Is(err, ErrBusy) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF)
}

// handOver sends l to the window listening on path and waits for its answer, at most timeout.
func handOver(path string, l Launch, timeout time.Duration) error {
	conn, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	l.Sent = time.Now()
	req, _ := json.Marshal(l) // strings and a time always marshal
	if _, err := conn.Write(append(req, '\n')); err != nil {
		return fmt.Errorf("hand over to the running window: %w", err)
	}
	answer, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("the running window did not answer: %w", err)
	}
	switch answer = strings.TrimSpace(answer); answer {
	case "ok":
		return nil
	case "closing":
		return ErrClosing
	case "busy":
		return ErrBusy
	}
	return fmt.Errorf("the running window answered %q", answer)
}

// errLocked is lockFolder's error when another process holds the lock.
var errLocked = errors.New("the data folder is locked by another process")

// ErrClosing and ErrBusy are what a window's Serve handler returns instead of taking a start's
// Launch: it is closing (it saves what it has and lets go of the folder, which the start
// then takes), or it could not take it within LaunchWait (the start asks again until its
// own time is up).
var (
	ErrClosing = errors.New("the running window is closing")
	ErrBusy    = errors.New("the running window is busy")
)

// LaunchWait is the longest a Serve handler may take: the start waits 5 s for an answer,
// and a request older than half of that is answered "late" without the handler.
const LaunchWait = 2 * time.Second

// Serve passes every later start's Launch to handle, on a goroutine of its own, until Close.
// handle returns within LaunchWait: nil once the window has the start's images, ErrClosing
// or ErrBusy when it does not take them.
func (c *FolderClaim) Serve(handle func(Launch) error) {
	if c.ln == nil {
		return
	}
	ln := c.ln
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					slog.Warn("window socket", "err", err)
				}
				return
			}
			c.answer(conn, handle)
		}
	}()
}

// answer reads one Launch from conn, hands it to handle and says "ok", "closing" or "busy".
func (c *FolderClaim) answer(conn net.Conn, handle func(Launch) error) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(c.times.handOver))
	line, err := bufio.NewReader(io.LimitReader(conn, maxLaunchBytes)).ReadBytes('\n')
	var l Launch
	if err == nil {
		err = json.Unmarshal(line, &l)
	}
	if err != nil {
		slog.Warn("window socket: unreadable request", "err", err)
		fmt.Fprintf(conn, "error: %v\n", err)
		return
	}
	// Half the start's patience: the other half is for handle.
	if !l.Sent.IsZero() && time.Since(l.Sent) > c.times.handOver/2 {
		slog.Info("window socket: a start that gave up", "sent", l.Sent)
		io.WriteString(conn, "late\n")
		return
	}
	switch err := handle(l); {
	case err == nil:
		io.WriteString(conn, "ok\n")
	case errors.Is(err, ErrClosing):
		io.WriteString(conn, "closing\n")
	default:
		io.WriteString(conn, "busy\n")
	}
}

// Close gives up the claim: the socket is removed, Serve's goroutine ends and the lock is
// released (its file stays: removing it would let two starts lock two different files).
func (c *FolderClaim) Close() error {
	var err error
	if c.ln != nil {
		err = c.ln.Close() // removes the socket file
	}
	c.wg.Wait()
	if c.lock != nil {
		c.lock.Close() // closing the descriptor releases its lock
		c.lock = nil
	}
	return err
}
