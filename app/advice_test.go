package app_test

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/janus-desktop/janus/app"
)

// A failed download is told in words about the network or the disk, naming the host, not
// in Go's chain of dial and lookup errors; other errors keep their first line.
func TestDownloadProblem(t *testing.T) {
	// A port that refuses: listen, note the address, close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String() + "/api/models/x"
	l.Close()
	_, refusedErr := http.Get(refused)
	if refusedErr == nil {
		t.Fatal("a closed port answered")
	}
	dnsErr := fmt.Errorf("download deepseek-ai/Janus-Pro-1B: giving up after 6 tries: %w",
		&url.Error{Op: "Get", URL: "https://huggingface.co/api/models/deepseek-ai/Janus-Pro-1B", Err: &net.OpError{Op: "dial", Net: "tcp",
			Err: &net.DNSError{Err: "no such host", Name: "huggingface.co", IsNotFound: true}}})
	for _, tc := range []struct {
		name string
		err  error
		want []string
		not  string
	}{
		{"no DNS", dnsErr, []string{"Cannot reach huggingface.co", "address was not found", "internet connection"}, "dial tcp"},
		{"refused", fmt.Errorf("list x: %w", refusedErr), []string{"Cannot reach 127.0.0.1", "connection failed"}, "dial tcp"},
		{"named server", fmt.Errorf("list x: %w", &app.ServerError{Server: "the hub at http://h:9 (set by HF_ENDPOINT)", Err: refusedErr}),
			[]string{"Cannot reach the hub at http://h:9 (set by HF_ENDPOINT): the connection failed"}, "dial tcp"},
		{"disk full", fmt.Errorf("write part: %w", &fs.PathError{Op: "write", Path: "/m/x.part", Err: syscall.ENOSPC}), []string{"The disk holding /m is full"}, "/m/x.part"},
		{"damaged file", fmt.Errorf("download a/b: download model.safetensors of a/b: %w: its sha256 is 57e7, the hub says 301a; the download was deleted: pull again", app.ErrChecksum),
			[]string{"arrived damaged", "Retry fetches it again"}, "57e7"},
		// In the progress line's sizes and in words, not "connection lost after 3.62 MB of
		// 9.81 MB: unexpected EOF" beside "4 MB of 10 MB".
		{"connection lost", fmt.Errorf("download a/b: %w", &app.TransferError{File: "model.safetensors", Have: 3_620_000, Size: 9_810_000, Err: io.ErrUnexpectedEOF}),
			[]string{"The connection was lost after 4 MB of 10 MB of model.safetensors"}, "EOF"},
		{"connection reset", fmt.Errorf("download a/b: %w", &app.TransferError{File: "model.safetensors", Have: 3_620_000, Size: 9_810_000, Err: syscall.ECONNRESET}),
			[]string{"The connection was lost after 4 MB of 10 MB"}, "Check the internet"},
		{"connection silent", &app.TransferError{File: "model.safetensors", Have: 2_000_000, Size: 9_810_000, Stalled: time.Minute},
			[]string{"The server sent nothing for 60 s after 2 MB of 10 MB of model.safetensors"}, "download"},
		{"file in the way", fmt.Errorf("download x: lock: %w", &fs.PathError{Op: "mkdir", Path: "/tmp/r/afile", Err: syscall.ENOTDIR}),
			[]string{"Cannot write to the download folder /tmp/r/afile: a file is in the way"}, "not a directory"},
		{"file in the way of a ref", fmt.Errorf("read cache ref: %w", &fs.PathError{Op: "open", Path: "/c/m/refs/main", Err: syscall.ENOTDIR}),
			[]string{"Cannot use the download folder /c/m/refs: a file is in the way"}, "refs/main"},
		{"no permission", fmt.Errorf("cache folder: %w", &fs.PathError{Op: "mkdir", Path: "/ro/hub/models--a--b", Err: syscall.EACCES}),
			[]string{"Cannot write to the download folder /ro/hub: permission denied"}, "models--a--b"},
		{"not permitted", fmt.Errorf("download x: %w", &os.LinkError{Op: "rename", Old: "/c/b/x.incomplete", New: "/c/b/x", Err: syscall.EPERM}),
			[]string{"Cannot write to the download folder /c/b: permission denied"}, "incomplete"},
		{"read-only disk", fmt.Errorf("download x: %w", &fs.PathError{Op: "open", Path: "/media/cd/hub/b/x.incomplete", Err: syscall.EROFS}),
			[]string{"Cannot use the download folder /media/cd/hub/b: the disk is read-only"}, "incomplete"},
		{"unreadable cache", fmt.Errorf("read the cache: %w", &fs.PathError{Op: "readdirent", Path: "/c/b", Err: syscall.EACCES}),
			[]string{"Cannot read the download folder /c/b: permission denied"}, "readdirent"},
		{"too little space", fmt.Errorf("download deepseek-ai/Janus-Pro-1B: %w", &app.NoSpaceError{Dir: "/c/hub", Need: 9_820_000, Free: 3_150_000}),
			[]string{"Not enough disk space in /c/hub: the download needs 7 MB more than the 3 MB free"}, "Janus"},
		{"server error, given up", fmt.Errorf("download deepseek-ai/Janus-Pro-1B: %w", &app.GaveUpError{What: "download model.safetensors", Tries: 6,
			Err: &app.HubError{Status: 500, Message: "internal error", URL: "http://127.0.0.1:18080/deepseek-ai/Janus-Pro-1B/resolve/8adc40/model.safetensors",
				Hub: "the hub at http://127.0.0.1:18080 (set by HF_ENDPOINT)", Repo: "deepseek-ai/Janus-Pro-1B", File: "model.safetensors"}}),
			[]string{"The hub at http://127.0.0.1:18080 (set by HF_ENDPOINT) answered with an error (500) for model.safetensors, six times: try again later"}, "resolve"},
		{"server error on Hugging Face", &app.HubError{Status: 503, URL: "https://cdn-lfs.hf.co/x", Hub: "Hugging Face", Repo: "a/b", File: "model.safetensors"},
			[]string{"Hugging Face answered with an error (503) for model.safetensors"}, "try again"}, // a retry note
		{"server error, given up at once", &app.GaveUpError{Tries: 1, Err: &app.HubError{Status: 500, Hub: "Hugging Face", Repo: "a/b"}},
			[]string{"Hugging Face answered with an error (500) for a/b: try again later"}, "once"},
		{"rate limited", &app.GaveUpError{Tries: 2, Err: &app.HubError{Status: 429, Hub: "Hugging Face", Repo: "a/b"}},
			[]string{"Hugging Face asked to wait (429, too many requests) for a/b, twice: try again later"}, "giving up"},
		{"unnamed hub", &app.HubError{Status: 502, URL: "http://mirror.example:8080/api/models/a/b", Repo: "a/b"},
			[]string{"The hub at mirror.example:8080 answered with an error (502) for a/b"}, "/api/"},
		{"unknown repository", fmt.Errorf("download deepseek-ai/X: %w", &app.HubError{Status: 404, Code: "RepoNotFound", Message: "Repository not found",
			URL: "http://h:1/api/models/deepseek-ai/X/revision/main?blobs=true", Hub: "the hub at http://h:1 (set by HF_ENDPOINT)", Repo: "deepseek-ai/X"}),
			[]string{"deepseek-ai/X was not found on the hub at http://h:1 (set by HF_ENDPOINT): check the name, and that HF_ENDPOINT names a hub that has it"}, "blobs=true"},
		{"unknown or private repository", &app.HubError{Status: 401, Code: "RepoNotFound", Message: "Invalid username or password.", Hub: "Hugging Face", Repo: "a/b"},
			[]string{"a/b was not found on Hugging Face: check the name; a private model needs a token (HF_TOKEN or `huggingface-cli login`)"}, "password"},
		{"unknown revision", &app.HubError{Status: 404, Code: "RevisionNotFound", Hub: "Hugging Face", Repo: "a/b", Revision: "v9"},
			[]string{"Revision v9 of a/b was not found on Hugging Face: check the name"}, "RevisionNotFound"},
		{"file missing", &app.HubError{Status: 404, Code: "EntryNotFound", Hub: "Hugging Face", Repo: "a/b", File: "config.json"},
			[]string{"config.json of a/b is missing on Hugging Face: try again later"}, "EntryNotFound"},
		{"gated, no token", &app.HubError{Status: 401, Code: "GatedRepo", Hub: "Hugging Face", Repo: "a/b", File: "model.safetensors"},
			[]string{"a/b is gated: accept its terms on its page on Hugging Face, then give a token of that account (HF_TOKEN or `huggingface-cli login`)"}, "401"},
		{"gated, token without access", &app.HubError{Status: 403, Code: "GatedRepo", Hub: "Hugging Face", Repo: "a/b", TokenSource: "HF_TOKEN"},
			[]string{"The token from HF_TOKEN has no access to a/b: accept its terms"}, "403"},
		{"private, no token", &app.HubError{Status: 401, Hub: "Hugging Face", Repo: "a/b"},
			[]string{"a/b needs a token: HF_TOKEN or `huggingface-cli login`"}, "401"},
		{"token refused", &app.HubError{Status: 401, Hub: "the hub at http://h:1", Repo: "a/b", TokenSource: "/home/u/.cache/huggingface/token"},
			[]string{"The hub at http://h:1 refused the token from /home/u/.cache/huggingface/token: it may be expired or mistyped"}, "401"},
		{"other refusal", &app.HubError{Status: 400, Hub: "Hugging Face", Repo: "a/b", URL: "https://huggingface.co/x"},
			[]string{"Hugging Face refused the request for a/b (400 Bad Request)"}, "huggingface.co/x"},
		{"other", errors.New("list x: the hub said 404\nmore"), []string{"list x: the hub said 404"}, "more"},
		{"nil", nil, []string{""}, "x"},
	} {
		got := app.DownloadProblem(tc.err)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q does not say %q", tc.name, got, w)
			}
		}
		if strings.Contains(got, tc.not) {
			t.Errorf("%s: %q still says %q", tc.name, got, tc.not)
		}
	}
}
