package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model"
	"github.com/janus-desktop/janus/model/weights"
)

// LoadAdvice says what to do about an error of LoadEngine or StartLoad, for the dialog that
// shows it under the error itself; "" for a cancelled load, which needs no advice.
func LoadAdvice(err error) string {
	var bind *weights.BindError
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return ""
	case errors.Is(err, model.ErrNotEnoughMemory):
		return "Choose smaller weights in Settings (Q8 takes about half the memory of BF16, Q4M less), close other programs to free memory, or choose a smaller model: Janus-Pro-1B needs the least."
	case errors.Is(err, compute.ErrUnavailable):
		return "Choose the CPU backend (or Automatic) in Settings."
	case errors.As(err, &bind):
		return "The weights do not fit the folder's config.json: the folder may mix files of two models, or a download was cut short. Download the model again."
	case errors.Is(err, fs.ErrNotExist):
		return "A file of the model is missing: download the model again, or choose a complete model folder."
	}
	return "Check that the folder holds a complete Janus or Janus-Pro model (config.json, the weights and the tokenizer files), or download it again."
}

// ServerError names the server a request failed to reach as its user knows it ("the hub
// at http://127.0.0.1:9 (set by HF_ENDPOINT)"): DownloadProblem says that name instead of
// the URL's host, so that a server the user configured is named with where it was set.
type ServerError struct {
	// Server is the name, put after "Cannot reach".
	Server string
	// Err is the request's error.
	Err error
}

// Error is the server's error as it came.
func (e *ServerError) Error() string { return e.Err.Error() }

// Unwrap keeps the network error visible to errors.Is and errors.As.
func (e *ServerError) Unwrap() error { return e.Err }

// ErrNoSpace is what a NoSpaceError unwraps to, for errors.Is (hub.ErrNoSpace is it).
var ErrNoSpace = errors.New("not enough disk space")

// ErrChecksum is a downloaded file that does not match the hub's checksum (hub.ErrChecksum is
// it): DownloadProblem words it for the window.
var ErrChecksum = errors.New("checksum mismatch")

// NoSpaceError is a download refused before it started because the disk holding Dir has
// less room than the download needs: DownloadProblem says how much is missing.
type NoSpaceError struct {
	// Dir is the download folder (the hub cache).
	Dir string
	// Need is what the download will write, Free what the disk has for it, in bytes.
	Need, Free int64
}

// Error is the one-line message a user reads.
func (e *NoSpaceError) Error() string {
	return fmt.Sprintf("%s in %s: the download needs %d bytes (%s), the disk has %d (%s) free",
		ErrNoSpace, e.Dir, e.Need, FormatBytes(e.Need), e.Free, FormatBytes(e.Free))
}

// Unwrap makes errors.Is(err, ErrNoSpace) hold.
func (e *NoSpaceError) Unwrap() error { return ErrNoSpace }

// HubError is an error answer of a Hugging Face hub (app/hub makes them), with what
// DownloadProblem needs to tell it to people: which hub, repository and file, whether a
// token was sent, and the hub's X-Error-Code, which tells a gated model from a missing one.
type HubError struct {
	// Status is the HTTP status.
	Status int
	// Code and Message are the hub's X-Error-Code ("RepoNotFound", "RevisionNotFound",
	// "EntryNotFound", "GatedRepo") and X-Error-Message (or the body's text).
	Code, Message string
	// URL is the address that answered.
	URL string
	// Hub names the hub for people: "Hugging Face", "the hub at URL (set by HF_ENDPOINT)".
	Hub string
	// Repo, Revision and File say what was asked for (File is "" for the file list).
	Repo, Revision, File string
	// TokenSource says where the token sent with the request came from ("HF_TOKEN", a
	// file); "" when none was sent.
	TokenSource string
	// Kind is what errors.Is sees through it (hub.ErrNotFound, hub.ErrAuth), or nil.
	Kind error
	// FileServer is the host that answered when it was not the hub but the file server a
	// download was redirected to (its CDN); "" for the hub's own answers.
	FileServer string
}

// Error is the one-line message a user reads.
func (e *HubError) Error() string {
	s := fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s + " (" + e.URL + ")"
}

// Unwrap lets errors.Is tell a missing repository from a refused token.
func (e *HubError) Unwrap() error { return e.Kind }

// TransferError is a file whose transfer broke off part way, its connection lost or silent
// for Stalled: DownloadProblem says it in words (a retry resumes it from Have).
type TransferError struct {
	// File is the file's name in the repository; Have of Size bytes had arrived.
	File       string
	Have, Size int64
	// Stalled is how long the connection sent nothing before it was given up (0: it was
	// lost); Err is the read's error.
	Stalled time.Duration
	Err     error
}

// Error is the line a log or the CLI prints.
func (e *TransferError) Error() string {
	how := "connection lost"
	if e.Stalled > 0 {
		how = fmt.Sprintf("no data for %.0f s", e.Stalled.Seconds())
	}
	s := fmt.Sprintf("download %s: %s after %s of %s", e.File, how, PreciseBytes(e.Have), PreciseBytes(e.Size))
	if e.Err != nil && e.Stalled == 0 {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap gives the read's error, for errors.Is.
func (e *TransferError) Unwrap() error { return e.Err }

// GaveUpError is a request that failed Tries times in a row. It says the last failure in
// DownloadProblem's words, and wraps it for errors.Is and errors.As.
type GaveUpError struct {
	// What is the request ("download model.safetensors").
	What string
	// Tries is how many times it was sent, Err its last failure.
	Tries int
	Err   error
}

// Error is the one-line message a user reads.
func (e *GaveUpError) Error() string {
	return fmt.Sprintf("%s: giving up after %d tries: %s", e.What, e.Tries, DownloadProblem(e.Err))
}

// Unwrap gives the cause, for errors.Is and errors.As.
func (e *GaveUpError) Unwrap() error { return e.Err }

// DownloadProblem says in one line, for people, why a download failed with err: a network
// that does not answer is named as such ("cannot reach huggingface.co: …") instead of Go's
// dial and lookup chain, a full disk as a full disk (and one too small for the download
// with how much more it needs), the hub's refusals by what they mean (not found, a token
// needed, a server error to wait out), a cache folder the download cannot
// write to by its path and the reason. Other errors are their first line.
func DownloadProblem(err error) string {
	var (
		dns  *net.DNSError
		op   *net.OpError
		uerr *url.Error
		cert *tls.CertificateVerificationError
		name *ServerError
	)
	host := "the server"
	if errors.As(err, &uerr) {
		if u, perr := url.Parse(uerr.URL); perr == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
	}
	if errors.As(err, &name) && name.Server != "" {
		host = name.Server
	}
	folder := folderProblem(err)
	var (
		space    *NoSpaceError
		herr     *HubError
		transfer *TransferError
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &space):
		return fmt.Sprintf("Not enough disk space in %s: the download needs %s more than the %s free",
			space.Dir, FormatBytes(space.Need-space.Free), FormatBytes(space.Free))
	case errors.Is(err, syscall.ENOSPC):
		return sentence(fullDisk(err)) + ": free some space, then retry"
	case errors.Is(err, ErrChecksum):
		return "A downloaded file arrived damaged (it does not match the hub's checksum) and was deleted: Retry fetches it again"
	case folder != "":
		return folder
	case errors.As(err, &transfer):
		// In the progress line's sizes: "4 MB of 10 MB" beside "3.62 MB of 9.81 MB" read as
		// two downloads.
		where := fmt.Sprintf("after %s of %s of %s", FormatBytes(transfer.Have), FormatBytes(transfer.Size), transfer.File)
		if transfer.Stalled > 0 {
			return fmt.Sprintf("The server sent nothing for %.0f s %s", transfer.Stalled.Seconds(), where)
		}
		return "The connection was lost " + where
	case errors.As(err, &dns):
		if host == "the server" && dns.Name != "" {
			host = dns.Name
		}
		return "Cannot reach " + host + ": its address was not found. Check the internet connection"
	case errors.As(err, &cert):
		return "Cannot reach " + host + " securely: its certificate was not accepted (" + cert.Err.Error() + ")"
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.EHOSTUNREACH), errors.As(err, &op) && op.Op == "dial":
		return "Cannot reach " + host + ": the connection failed. Check the internet connection or proxy"
	case uerr != nil && uerr.Timeout():
		return host + " did not answer in time. Check the internet connection"
	case errors.As(err, &herr):
		var gave *GaveUpError
		tries := 0
		if errors.As(err, &gave) {
			tries = gave.Tries
		}
		return hubProblem(herr, tries)
	}
	line := err.Error()
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	return line
}

// WriteProblem words an error writing what the user made (a chat, an image set, settings)
// for the middle of a sentence: a full disk by its folder, not by the temporary file being
// written; any other error as it is.
func WriteProblem(err error) string {
	if errors.Is(err, syscall.ENOSPC) {
		return fullDisk(err)
	}
	return joinLines(err)
}

// fullDisk says that the disk err (an ENOSPC) ran out on is full, naming the folder written
// to when err has it.
func fullDisk(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path != "" {
		return "the disk holding " + filepath.Dir(pe.Path) + " is full"
	}
	return "the disk is full"
}

// folderProblem words a file system refusal in err that the user can fix in a folder (a
// file where a folder should be, no permission, a read-only disk), naming the folder: ""
// for other errors. The download folder is the hub cache, so every path in a download's
// error is in it.
func folderProblem(err error) string {
	var why string
	switch {
	case errors.Is(err, syscall.ENOTDIR):
		why = "a file is in the way"
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		why = "permission denied"
	case errors.Is(err, syscall.EROFS):
		why = "the disk is read-only"
	default:
		return ""
	}
	var (
		perr *fs.PathError
		lerr *os.LinkError
		op   string
		dir  string
	)
	switch {
	case errors.As(err, &perr):
		op, dir = perr.Op, filepath.Dir(perr.Path)
		switch {
		case op == "mkdir" && errors.Is(perr.Err, syscall.ENOTDIR):
			dir = perr.Path // MkdirAll names the file that is in the way
		case op == "readdirent", op == "readdir":
			dir = perr.Path // the folder being listed
		}
	case errors.As(err, &lerr):
		op, dir = lerr.Op, filepath.Dir(lerr.New)
	default:
		return ""
	}
	verb := "write to"
	switch op {
	case "open": // reading and creating alike
		verb = "use"
	case "read", "readdirent", "readdir", "readlink", "stat", "lstat":
		verb = "read"
	}
	return "Cannot " + verb + " the download folder " + dir + ": " + why
}

// hubProblem words an error answer of the hub that came tries times in a row before the
// download gave up (0: it has not given up, as in a retry note).
func hubProblem(e *HubError, tries int) string {
	hub := e.Hub
	if hub == "" {
		hub = "the hub"
		if u, err := url.Parse(e.URL); err == nil && u.Host != "" {
			hub = "the hub at " + u.Host
		}
	}
	what := e.File
	if what == "" {
		what = e.Repo
	}
	if what == "" {
		what = "the request"
	}
	repo := e.Repo
	if repo == "" {
		repo = "the model"
	}
	const login = "HF_TOKEN or `huggingface-cli login`"
	check := "check the name"
	if strings.Contains(hub, "HF_ENDPOINT") {
		// The app asks for the released names: a mirror that lacks one is the likelier cause.
		check = "check the name, and that HF_ENDPOINT names a hub that has it"
	}
	if e.FileServer != "" {
		// Not the hub's word on the repository or the token: the server it sent the
		// download to, whose answers are all worth another try.
		hub = "the file server " + e.FileServer
	}
	switch {
	case e.Status >= 500, e.Status == http.StatusTooManyRequests, e.FileServer != "":
		said := fmt.Sprintf("answered with an error (%d) for %s", e.Status, what)
		switch {
		case e.Status == http.StatusTooManyRequests:
			said = "asked to wait (429, too many requests) for " + what
		case e.Status < 500:
			said = fmt.Sprintf("refused %s (%d %s)", what, e.Status, http.StatusText(e.Status))
		}
		s := sentence(hub) + " " + said
		if tries == 0 {
			return s // a retry note: the retrying is said beside it
		}
		if tries > 1 {
			s += ", " + timesWord(tries)
		}
		return s + ": try again later"
	case e.Code == "GatedRepo" && e.TokenSource == "":
		return sentence(repo) + " is gated: accept its terms on its page on " + hub + ", then give a token of that account (" + login + ")"
	case e.Code == "GatedRepo", e.Status == http.StatusForbidden && e.TokenSource != "":
		return "The token from " + e.TokenSource + " has no access to " + repo + ": accept its terms on its page on " + hub + " with the token's account"
	case e.Status == http.StatusNotFound && e.Code == "RevisionNotFound":
		return "Revision " + e.Revision + " of " + repo + " was not found on " + hub + ": " + check
	case e.Status == http.StatusNotFound && e.Code == "EntryNotFound":
		return what + " of " + repo + " is missing on " + hub + ": try again later"
	case e.Status == http.StatusNotFound:
		return repo + " was not found on " + hub + ": " + check
	case e.Status == http.StatusUnauthorized && e.TokenSource == "" && e.Code == "RepoNotFound":
		// The hub answers so for a repository that does not exist, and for a private one.
		return repo + " was not found on " + hub + ": " + check + "; a private model needs a token (" + login + ")"
	case e.Status == http.StatusUnauthorized && e.TokenSource == "", e.Status == http.StatusForbidden:
		return sentence(repo) + " needs a token: " + login
	case e.Status == http.StatusUnauthorized:
		return sentence(hub) + " refused the token from " + e.TokenSource + ": it may be expired or mistyped"
	}
	return fmt.Sprintf("%s refused the request for %s (%d %s)", sentence(hub), what, e.Status, http.StatusText(e.Status))
}

// timesWord is "twice", "six times".
func timesWord(n int) string {
	words := []string{"", "once", "twice", "three times", "four times", "five times", "six times",
		"seven times", "eight times", "nine times", "ten times"}
	if n >= 0 && n < len(words) {
		return words[n]
	}
	return fmt.Sprintf("%d times", n)
}

// sentence capitalises a name that starts a sentence when it is words ("the hub at …"),
// not an id (deepseek-ai/Janus-Pro-1B).
func sentence(name string) string {
	if rest, ok := strings.CutPrefix(name, "the "); ok {
		return "The " + rest
	}
	return name
}
