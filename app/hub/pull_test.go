package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/hub/hubtest"
)

const testRepo = "deepseek-ai/Janus-Pro-1B"

// newTestClient is a client of s with its own empty cache, fast retries and plenty of
// disk space.
func newTestClient(t *testing.T, s *hubtest.Server) *Client {
	return &Client{Endpoint: s.URL, Cache: filepath.Join(t.TempDir(), "hub"), Backoff: time.Millisecond,
		FreeSpace: func(string) (int64, error) { return 1 << 40, nil }}
}

// contentGets lists the GET requests for the bytes of file name (on the hub's
// resolve-cache or the CDN, where the redirects lead).
func contentGets(s *hubtest.Server, name string, files map[string][]byte) []hubtest.Request {
	var out []hubtest.Request
	for _, r := range s.Requests() {
		if r.Method != "GET" {
			continue
		}
		if !hubtest.IsLFS(name) && strings.HasPrefix(r.Path, "/api/resolve-cache/") && strings.HasSuffix(r.Path, "/"+name) ||
			hubtest.IsLFS(name) && strings.HasPrefix(r.Path, "/cdn/") && cdnName(r.Path, files) == name {
			out = append(out, r)
		}
	}
	return out
}

func cdnName(path string, files map[string][]byte) string {
	sum := strings.TrimPrefix(path, "/cdn/")
	for n, d := range files {
		if hubtest.IsLFS(n) && sha256Hex(d) == sum {
			return n
		}
	}
	return ""
}

// checkCache asserts the layout every hub client expects after a complete pull of files
// at commit: only .locks and the repository folder at the root; blobs named by id with
// no partial files; relative snapshot symlinks with the right content; refs/main holding
// the bare commit.
func checkCache(t *testing.T, cache, commit string, files map[string][]byte) {
	t.Helper()
	root, err := os.ReadDir(cache)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range root {
		names = append(names, e.Name())
	}
	if want := []string{".locks", RepoFolder(testRepo)}; !slices.Equal(names, want) {
		t.Errorf("cache root holds %v, want %v", names, want)
	}
	repoDir := filepath.Join(cache, RepoFolder(testRepo))
	ref, err := os.ReadFile(filepath.Join(repoDir, "refs", "main"))
	if err != nil || string(ref) != commit {
		t.Errorf("refs/main = %q (%v), want the bare commit %q", ref, err, commit)
	}
	blobs, _ := os.ReadDir(filepath.Join(repoDir, "blobs"))
	if len(blobs) != len(files) {
		t.Errorf("%d blobs, want %d", len(blobs), len(files))
	}
	for _, b := range blobs {
		if strings.HasSuffix(b.Name(), ".incomplete") {
			t.Errorf("partial blob %s left after a complete pull", b.Name())
		}
	}
	for name, data := range files {
		id := hubtest.GitBlobID(data)
		if hubtest.IsLFS(name) {
			id = sha256Hex(data)
		}
		link := filepath.Join(repoDir, "snapshots", commit, name)
		target, err := os.Readlink(link)
		if err != nil || target != filepath.Join("..", "..", "blobs", id) {
			t.Errorf("%s: link to %q (%v), want ../../blobs/%s", name, target, err, id)
			continue
		}
		got, err := os.ReadFile(link)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: content differs from the hub's (%v)", name, err)
		}
	}
}

func TestPullFull(t *testing.T) {
	s := hubtest.New(t)
	commit := s.AddTinyA(t, testRepo)
	files := hubtest.TinyAFiles(t)
	c := newTestClient(t, s)
	var reports []Progress
	snap, err := c.Pull(context.Background(), testRepo, PullOptions{Progress: func(p Progress) { reports = append(reports, p) }})
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, d := range files {
		total += int64(len(d))
	}
	if snap.Commit != commit || snap.Files != len(files) || snap.Bytes != total || snap.Downloaded != total ||
		snap.Path != filepath.Join(c.Cache, RepoFolder(testRepo), "snapshots", commit) || snap.FromCache {
		t.Errorf("snapshot %+v, want commit %s, %d files, %d bytes all downloaded", snap, commit, len(files), total)
	}
	checkCache(t, c.Cache, commit, files)

	last := reports[len(reports)-1]
	if !last.Done || last.BytesDone != total || last.Bytes != total || last.FilesDone != len(files) || last.Remaining != 0 {
		t.Errorf("last report %+v, want done with %d bytes", last, total)
	}
	for i := 1; i < len(reports); i++ {
		if reports[i].BytesDone < reports[i-1].BytesDone {
			t.Errorf("progress went back: %d then %d", reports[i-1].BytesDone, reports[i].BytesDone)
		}
	}
	// A weight file is fetched through the hub's redirect to the CDN.
	if got := contentGets(s, "model.safetensors", files); len(got) != 1 || got[0].Range != "" {
		t.Errorf("weights fetched by %v, want one plain GET on the CDN", got)
	}

	// Discovery finds the pulled model by its repository id.
	entries, err := app.Discover([]string{c.Cache})
	if err != nil {
		t.Fatal(err)
	}
	e, err := app.Find(entries, "deepseek-ai/janus-pro-1b")
	if err != nil || e.Path != snap.Path || !e.Complete || e.Repo != testRepo {
		t.Errorf("Find by repo id: %+v, %v", e, err)
	}

	// A second pull asks only for the file list.
	before := len(s.Requests())
	snap2, err := c.Pull(context.Background(), testRepo, PullOptions{})
	if err != nil || snap2.Downloaded != 0 || snap2.Path != snap.Path {
		t.Errorf("second pull: %+v, %v; want nothing downloaded", snap2, err)
	}
	if n := len(s.Requests()) - before; n != 1 {
		t.Errorf("second pull made %d requests, want 1 (the file list)", n)
	}
}

func TestPullRevision(t *testing.T) {
	s := hubtest.New(t)
	commit := s.AddTinyA(t, testRepo)
	c := newTestClient(t, s)
	snap, err := c.Pull(context.Background(), testRepo, PullOptions{Revision: commit})
	if err != nil || snap.Commit != commit {
		t.Fatalf("pull by commit: %+v, %v", snap, err)
	}
	// Asking for a commit writes no ref: there is no name to record.
	if refs, _ := os.ReadDir(filepath.Join(c.Cache, RepoFolder(testRepo), "refs")); len(refs) != 0 {
		t.Errorf("refs/ holds %d entries after a pull by commit, want none", len(refs))
	}
	// Discovery takes the snapshot even without refs/main.
	entries, _ := app.Discover([]string{c.Cache})
	if e, err := app.Find(entries, testRepo); err != nil || e.Path != snap.Path {
		t.Errorf("Find: %+v, %v", e, err)
	}
}

func TestPullErrors(t *testing.T) {
	s := hubtest.New(t)
	s.AddTinyA(t, testRepo)
	tests := []struct {
		name, repo, rev string
		is              error
		want            []string
	}{
		{"unknown repo", "deepseek-ai/Janus-Pro-2B", "", ErrNotFound, []string{"repository deepseek-ai/Janus-Pro-2B not found", "RepoNotFound", "Repository not found"}},
		{"unknown revision", testRepo, "v9", ErrNotFound, []string{`revision "v9"`, "RevisionNotFound", "Invalid rev id: v9"}},
		{"bad repo id", "Janus-Pro-1B", "", nil, []string{"want ORG/NAME"}},
		{"repo id with a path", "deepseek-ai/../x", "", nil, []string{"want ORG/NAME"}},
		{"revision leaving refs", testRepo, "../../x", nil, []string{"want a branch"}},
		{"bad endpoint", testRepo, "", nil, []string{`hub endpoint "huggingface.co" is not a URL`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, s)
			if tt.name == "bad endpoint" {
				c.Endpoint = "huggingface.co"
			}
			_, err := c.Pull(context.Background(), tt.repo, PullOptions{Revision: tt.rev})
			if err == nil || tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("error %v, want %v", err, tt.is)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if _, err := os.Stat(filepath.Join(c.Cache, RepoFolder(tt.repo), "blobs")); err == nil {
				t.Errorf("a failed pull made a cache folder")
			}
		})
	}
}

func TestPullToken(t *testing.T) {
	s := hubtest.New(t)
	s.AddTinyA(t, testRepo)
	s.RequireToken("hf_right")
	tests := []struct {
		name, token string
		want        string
	}{
		{"no token", "", "needs a token"},
		{"wrong token", "hf_wrong", "refused the token from HF_TOKEN"},
		{"right token", "hf_right", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, s)
			c.Token, c.TokenSource = tt.token, "HF_TOKEN"
			_, err := c.Pull(context.Background(), testRepo, PullOptions{})
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "401") {
				t.Errorf("error %v, want ErrAuth saying %q", err, tt.want)
			}
		})
	}
	// The token goes to the hub only, never to the CDN the weights are redirected to.
	s.SeparateCDN(t)
	c := newTestClient(t, s)
	c.Token = "hf_right"
	before := len(s.Requests())
	if _, err := c.Pull(context.Background(), testRepo, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	cdnGets := 0
	for _, r := range s.Requests()[before:] {
		if strings.HasPrefix(r.Path, "/cdn/") {
			cdnGets++
			if r.Auth != "" || r.Host == strings.TrimPrefix(s.URL, "http://") {
				t.Errorf("CDN request %+v: want another host and no token", r)
			}
		}
	}
	if cdnGets == 0 {
		t.Errorf("no request reached the separate CDN")
	}

	// The token file `huggingface-cli login` writes is read through FromEnv.
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, "token"), []byte("hf_right\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HF_HOME": home, "HF_ENDPOINT": s.URL + "/"}
	c = FromEnv(app.Env{GOOS: "linux", Getenv: func(k string) string { return env[k] }})
	c.Backoff = time.Millisecond
	if _, err := c.Pull(context.Background(), testRepo, PullOptions{}); err != nil {
		t.Errorf("pull with the token file: %v", err)
	}
	if c.Cache != filepath.Join(home, "hub") {
		t.Errorf("cache %s, want HF_HOME/hub", c.Cache)
	}
}

func TestFromEnv(t *testing.T) {
	tokenHome := t.TempDir()
	os.WriteFile(filepath.Join(tokenHome, "token"), []byte(" hf_file \n"), 0o600)
	tests := []struct {
		name                   string
		env                    map[string]string
		endpoint, token, cache string
		offline                bool
	}{
		{"defaults", nil, DefaultEndpoint, "", "/home/u/.cache/huggingface/hub", false},
		{"endpoint", map[string]string{"HF_ENDPOINT": "https://hf-mirror.com/"}, "https://hf-mirror.com", "", "/home/u/.cache/huggingface/hub", false},
		{"empty endpoint", map[string]string{"HF_ENDPOINT": ""}, DefaultEndpoint, "", "/home/u/.cache/huggingface/hub", false},
		{"HF_TOKEN wins over the file", map[string]string{"HF_TOKEN": "hf_env", "HF_HOME": tokenHome}, DefaultEndpoint, "hf_env", filepath.Join(tokenHome, "hub"), false},
		{"old token variable", map[string]string{"HUGGING_FACE_HUB_TOKEN": "hf_old"}, DefaultEndpoint, "hf_old", "/home/u/.cache/huggingface/hub", false},
		{"token file", map[string]string{"HF_HOME": tokenHome}, DefaultEndpoint, "hf_file", filepath.Join(tokenHome, "hub"), false},
		{"token path", map[string]string{"HF_TOKEN_PATH": filepath.Join(tokenHome, "token")}, DefaultEndpoint, "hf_file", "/home/u/.cache/huggingface/hub", false},
		{"hub cache", map[string]string{"HF_HUB_CACHE": "/data/hub", "HF_HOME": "/x"}, DefaultEndpoint, "", "/data/hub", false},
		{"offline 1", map[string]string{"HF_HUB_OFFLINE": "1"}, DefaultEndpoint, "", "/home/u/.cache/huggingface/hub", true},
		{"offline true", map[string]string{"HF_HUB_OFFLINE": "True"}, DefaultEndpoint, "", "/home/u/.cache/huggingface/hub", true},
		{"offline 0", map[string]string{"HF_HUB_OFFLINE": "0"}, DefaultEndpoint, "", "/home/u/.cache/huggingface/hub", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := FromEnv(app.Env{GOOS: "linux", Home: "/home/u", Getenv: func(k string) string { return tt.env[k] }})
			if c.Endpoint != tt.endpoint || c.Token != tt.token || c.Cache != tt.cache || c.Offline != tt.offline {
				t.Errorf("got endpoint %q token %q cache %q offline %v", c.Endpoint, c.Token, c.Cache, c.Offline)
			}
			if fromEnv := tt.env["HF_ENDPOINT"] != ""; fromEnv != (c.EndpointSource == "HF_ENDPOINT") {
				t.Errorf("endpoint source %q, want HF_ENDPOINT only when it is set", c.EndpointSource)
			}
		})
	}
}

func TestPullOffline(t *testing.T) {
	s := hubtest.New(t)
	s.AddTinyA(t, testRepo)
	c := newTestClient(t, s)
	c.Offline = true
	_, err := c.Pull(context.Background(), testRepo, PullOptions{})
	if !errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") || !strings.Contains(err.Error(), c.Cache) {
		t.Errorf("offline without a copy: %v, want ErrOffline naming HF_HUB_OFFLINE and the cache", err)
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("offline pull made %d requests", n)
	}

	c.Offline = false
	online, err := c.Pull(context.Background(), testRepo, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.Offline = true
	before := len(s.Requests())
	snap, err := c.Pull(context.Background(), testRepo, PullOptions{})
	if err != nil || snap.Path != online.Path || !snap.FromCache || snap.Commit != online.Commit || snap.Unreachable != nil {
		t.Errorf("offline with a copy: %+v, %v; want the cached snapshot", snap, err)
	}
	if n := len(s.Requests()) - before; n != 0 {
		t.Errorf("offline pull made %d requests", n)
	}

	// A hub that cannot be reached is like offline when a copy is cached.
	c.Offline = false
	c.Endpoint = "http://127.0.0.1:1"
	c.Attempts = 2
	snap, err = c.Pull(context.Background(), testRepo, PullOptions{})
	if err != nil || !snap.FromCache || snap.Path != online.Path || snap.Unreachable == nil {
		t.Errorf("unreachable hub with a copy: %+v, %v", snap, err)
	}
}

func TestPullChecksum(t *testing.T) {
	s := hubtest.New(t)
	commit := s.AddTinyA(t, testRepo)
	files := hubtest.TinyAFiles(t)
	c := newTestClient(t, s)
	s.SetFault("model.safetensors", &hubtest.Fault{Corrupt: true})
	var last Progress
	_, err := c.Pull(context.Background(), testRepo, PullOptions{Progress: func(p Progress) { last = p }, ProgressEvery: time.Nanosecond})
	// The bytes of the file deleted are taken back from the progress: a full bar stood
	// beside "the download was deleted".
	if bad := int64(len(files["model.safetensors"])); last.BytesDone > last.Bytes-bad {
		t.Errorf("the last progress says %d of %d bytes after %d bytes were deleted", last.BytesDone, last.Bytes, bad)
	}
	if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "model.safetensors") || !strings.Contains(err.Error(), sha256Hex(files["model.safetensors"])) {
		t.Fatalf("error %v, want ErrChecksum naming the file and the hub's sha256", err)
	}
	checkValid(t, c.Cache)
	repoDir := filepath.Join(c.Cache, RepoFolder(testRepo))
	blobs, _ := os.ReadDir(filepath.Join(repoDir, "blobs"))
	for _, b := range blobs {
		if b.Name() == sha256Hex(files["model.safetensors"]) || strings.HasSuffix(b.Name(), ".incomplete") {
			t.Errorf("blobs/ holds %s after a checksum failure", b.Name())
		}
	}
	if _, err := os.Lstat(filepath.Join(repoDir, "snapshots", commit, "model.safetensors")); err == nil {
		t.Errorf("the corrupt file was linked into the snapshot")
	}
	if _, err := os.Stat(filepath.Join(repoDir, "refs", "main")); err == nil {
		t.Errorf("refs/main written for an incomplete snapshot")
	}
	// Discovery finds nothing to load: the snapshot's files are linked once all are verified.
	if entries, _ := app.Discover([]string{c.Cache}); len(entries) != 0 {
		t.Errorf("discovery after a failed pull: %+v, want nothing", entries)
	}

	s.SetFault("model.safetensors", nil)
	if _, err := c.Pull(context.Background(), testRepo, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	checkCache(t, c.Cache, commit, files)
}

func TestPullRetries(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		fault     hubtest.Fault
		wantGets  int
		wantRange string
		wantNote  string // the retry's note, in the window's words
	}{
		{"5xx on the CDN", "model.safetensors", hubtest.Fault{Status5xx: 2}, 3, "", "answered with an error (503) for model.safetensors"},
		{"5xx on the hub", "config.json", hubtest.Fault{Status5xx: 1}, 2, "", "answered with an error (503) for config.json"},
		{"dropped connection", "model.safetensors", hubtest.Fault{DropAfter: 3_000_000}, 2, "bytes=3000000-", "The connection was lost after 3 MB of 10 MB of model.safetensors"},
		{"stalled connection", "model.safetensors", hubtest.Fault{StallAfter: 2_000_000}, 2, "bytes=2000000-", "The server sent nothing for 1 s after 2 MB of 10 MB of model.safetensors"},
		{"dropped connection, no Range support", "model.safetensors", hubtest.Fault{DropAfter: 3_000_000, IgnoreRange: true}, 2, "bytes=3000000-", "The connection was lost after 3 MB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := hubtest.New(t)
			commit := s.AddTinyA(t, testRepo)
			files := hubtest.TinyAFiles(t)
			f := tt.fault
			s.SetFault(tt.file, &f)
			c := newTestClient(t, s)
			c.StallTimeout = time.Second
			var statuses []string
			var stale []string // notes still standing when bytes came after them
			var noteAt int64 = -1
			_, err := c.Pull(context.Background(), testRepo, PullOptions{ProgressEvery: time.Nanosecond, Progress: func(p Progress) {
				switch {
				case p.Status != "" && noteAt >= 0 && p.BytesDone > noteAt:
					stale = append(stale, p.Status)
				case p.Status != "":
					statuses = append(statuses, p.Status)
					noteAt = p.BytesDone
				default:
					noteAt = -1
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			checkCache(t, c.Cache, commit, files)
			gets := contentGets(s, tt.file, files)
			if len(gets) != tt.wantGets || gets[len(gets)-1].Range != tt.wantRange {
				t.Errorf("GETs of %s: %+v, want %d, the last with Range %q", tt.file, gets, tt.wantGets, tt.wantRange)
			}
			if len(statuses) == 0 || !strings.Contains(statuses[0], "retrying") || !strings.Contains(statuses[0], tt.wantNote) {
				t.Errorf("statuses %q, want a retry reported: %q", statuses, tt.wantNote)
			}
			// Once bytes come again the note goes: it stood for the rest of the file.
			if len(stale) > 0 {
				t.Errorf("notes still shown as bytes came again: %q", stale[:1])
			}
		})
	}
	t.Run("gives up", func(t *testing.T) {
		s := hubtest.New(t)
		s.AddTinyA(t, testRepo)
		s.SetFault("config.json", &hubtest.Fault{Status5xx: 100})
		c := newTestClient(t, s)
		c.Attempts = 3
		_, err := c.Pull(context.Background(), testRepo, PullOptions{})
		if err == nil || !strings.Contains(err.Error(), "giving up after 3 tries") || !strings.Contains(err.Error(), "503") {
			t.Errorf("error %v, want giving up after 3 tries of 503", err)
		}
	})
}

// TestPullUnreachable: a hub that cannot be reached ends the pull with the words of the
// retry notes, naming HF_ENDPOINT when the address came from it, not Go's dial errors.
func TestPullUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close()
	tests := []struct {
		name, source, want string
	}{
		{"set by HF_ENDPOINT", "HF_ENDPOINT", "Cannot reach the hub at " + endpoint + " (set by HF_ENDPOINT): the connection failed"},
		{"set in code", "", "Cannot reach 127.0.0.1: the connection failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Client{Endpoint: endpoint, EndpointSource: tt.source, Cache: filepath.Join(t.TempDir(), "hub"),
				Backoff: time.Millisecond, Attempts: 2}
			var notes []string
			_, err := c.Pull(context.Background(), testRepo, PullOptions{Progress: func(p Progress) {
				if p.Status != "" {
					notes = append(notes, p.Status)
				}
			}})
			if err == nil {
				t.Fatal("pull from a closed port succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || !strings.Contains(msg, "giving up after 2 tries") || strings.Contains(msg, "dial tcp") {
				t.Errorf("error %q, want %q after 2 tries, without Go's dial error", msg, tt.want)
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("error %v does not wrap ECONNREFUSED", err)
			}
			if len(notes) == 0 || !strings.Contains(notes[0], tt.want) {
				t.Errorf("retry notes %q, want %q", notes, tt.want)
			}
		})
	}
}

func TestPullNoSpace(t *testing.T) {
	s := hubtest.New(t)
	s.AddTinyA(t, testRepo)
	files := hubtest.TinyAFiles(t)
	var total int64
	for _, d := range files {
		total += int64(len(d))
	}
	c := newTestClient(t, s)
	c.FreeSpace = func(string) (int64, error) { return 1_500_000, nil }
	_, err := c.Pull(context.Background(), testRepo, PullOptions{})
	var space *app.NoSpaceError
	if !errors.Is(err, ErrNoSpace) || !errors.As(err, &space) || space.Need != total || space.Free != 1_500_000 || space.Dir != c.Cache {
		t.Fatalf("error %v, want an app.NoSpaceError of %d bytes needed, 1500000 free in %s", err, total, c.Cache)
	}
	// The line the download view shows names the folder once and the repository not at all.
	d := NewDownloader(c)
	_, err = d.Download(context.Background(), testRepo, nil)
	want := fmt.Sprintf("Not enough disk space in %s: the download needs %s more than the 2 MB free", c.Cache, app.FormatBytes(total-1_500_000))
	if got := app.DownloadProblem(err); got != want {
		t.Errorf("problem %q, want %q", got, want)
	}
	for _, r := range s.Requests() {
		if strings.Contains(r.Path, "/resolve") || strings.HasPrefix(r.Path, "/cdn/") {
			t.Errorf("a file was requested although the disk is full: %+v", r)
		}
	}
	// The real free-space query answers for a folder that does not exist yet.
	if n, err := freeSpace(filepath.Join(t.TempDir(), "a", "b")); err != nil || n <= 0 {
		t.Errorf("freeSpace: %d, %v", n, err)
	}
}

// TestPullConcurrent: a second pull of the same repository waits for the first's lock;
// when the first is cancelled mid-file, the second resumes its partial file.
func TestPullConcurrent(t *testing.T) {
	s := hubtest.New(t)
	commit := s.AddTinyA(t, testRepo)
	files := hubtest.TinyAFiles(t)
	stalled := make(chan struct{})
	s.SetFault("model.safetensors", &hubtest.Fault{StallAfter: 4_000_000, Stalled: stalled})
	c1 := newTestClient(t, s)
	c2 := *c1

	ctx1, cancel1 := context.WithCancel(context.Background())
	defer cancel1()
	err1 := make(chan error, 1)
	go func() {
		_, err := c1.Pull(ctx1, testRepo, PullOptions{})
		err1 <- err
	}()
	<-stalled
	waitForSize(t, filepath.Join(c1.Cache, RepoFolder(testRepo), "blobs", sha256Hex(files["model.safetensors"])+".incomplete"), 4_000_000)

	waiting := make(chan struct{})
	var once sync.Once
	err2 := make(chan error, 1)
	go func() {
		_, err := c2.Pull(context.Background(), testRepo, PullOptions{Progress: func(p Progress) {
			if strings.Contains(p.Status, "waiting for another download") {
				once.Do(func() { close(waiting) })
			}
		}})
		err2 <- err
	}()
	<-waiting
	cancel1()
	if err := <-err1; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled pull: %v, want context.Canceled", err)
	}
	if err := <-err2; err != nil {
		t.Fatal(err)
	}
	checkCache(t, c1.Cache, commit, files)
	gets := contentGets(s, "model.safetensors", files)
	if len(gets) != 2 || gets[1].Range != "bytes=4000000-" {
		t.Errorf("weights GETs %+v, want the second to resume at 4000000", gets)
	}
}

// TestPullKilled kills pulls (SIGKILL, in a child process) at several points: in the
// first small file, at the first byte of the weights, in the middle of them, and in a small
// file after them. Each time the cache must be valid for every reader as it is, and the
// next pull must resume the partial file with a Range request.
func TestPullKilled(t *testing.T) {
	if os.Getenv("JANUS_HUB_CHILD") != "" {
		c := &Client{Endpoint: os.Getenv("JANUS_HUB_ENDPOINT"), Cache: os.Getenv("JANUS_HUB_CACHE"),
			FreeSpace: func(string) (int64, error) { return 1 << 40, nil }}
		_, err := c.Pull(context.Background(), testRepo, PullOptions{})
		t.Fatalf("the pull should have been killed, it returned %v", err)
	}
	files := hubtest.TinyAFiles(t)
	tests := []struct {
		file string
		cut  int64
	}{
		{"config.json", 1000},
		{"model.safetensors", 1},
		{"model.safetensors", 5_000_000},
		{"tokenizer.json", 4000},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s at %d", tt.file, tt.cut), func(t *testing.T) {
			s := hubtest.New(t)
			commit := s.AddTinyA(t, testRepo)
			stalled := make(chan struct{})
			s.SetFault(tt.file, &hubtest.Fault{StallAfter: tt.cut, Stalled: stalled})
			cache := filepath.Join(t.TempDir(), "hub")

			cmd := exec.Command(os.Args[0], "-test.run=^TestPullKilled$", "-test.count=1")
			cmd.Env = append(os.Environ(), "JANUS_HUB_CHILD=1", "JANUS_HUB_ENDPOINT="+s.URL, "JANUS_HUB_CACHE="+cache)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case <-stalled:
			case err := <-exited:
				t.Fatalf("child exited before the kill: %v\n%s", err, out.String())
			}
			id := hubtest.GitBlobID(files[tt.file])
			if hubtest.IsLFS(tt.file) {
				id = sha256Hex(files[tt.file])
			}
			part := filepath.Join(cache, RepoFolder(testRepo), "blobs", id+".incomplete")
			waitForSize(t, part, tt.cut)
			cmd.Process.Signal(syscall.SIGKILL)
			if err := <-exited; err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("child: %v, want killed\n%s", err, out.String())
			}
			checkValid(t, cache)
			if _, err := os.Stat(filepath.Join(cache, RepoFolder(testRepo), "refs", "main")); err == nil {
				t.Errorf("refs/main written before the snapshot was complete")
			}
			// Discovery sees an unfinished download, or nothing yet; never a model to load.
			entries, _ := app.Discover([]string{cache})
			if len(entries) > 1 || len(entries) == 1 && (entries[0].Complete || !strings.Contains(entries[0].Problem, "unfinished")) {
				t.Errorf("discovery of the killed pull: %+v", entries)
			}

			c := &Client{Endpoint: s.URL, Cache: cache, FreeSpace: func(string) (int64, error) { return 1 << 40, nil }}
			var first Progress
			snap, err := c.Pull(context.Background(), testRepo, PullOptions{Progress: func(p Progress) {
				if first.Repo == "" {
					first = p
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			checkCache(t, cache, commit, files)
			if snap.Downloaded != first.Bytes-first.BytesDone || first.BytesDone < tt.cut {
				t.Errorf("resumed pull started at %d of %d bytes and downloaded %d; want it to start after the %d of the partial file and fetch the rest",
					first.BytesDone, first.Bytes, snap.Downloaded, tt.cut)
			}
			gets := contentGets(s, tt.file, files)
			if len(gets) != 2 || gets[1].Range != fmt.Sprintf("bytes=%d-", tt.cut) {
				t.Errorf("GETs of %s: %+v, want a resume with Range bytes=%d-", tt.file, gets, tt.cut)
			}
		})
	}
}

// checkValid asserts that a cache is valid as other clients read it, whatever state a
// pull left: only .locks and repository folders at the root; every blob (partial ones
// aside) holds the content its name is the hash of; every snapshot entry is a relative
// link to such a blob; every ref names an existing snapshot.
func checkValid(t *testing.T, cache string) {
	t.Helper()
	root, _ := os.ReadDir(cache)
	for _, e := range root {
		if e.Name() != ".locks" && !strings.HasPrefix(e.Name(), "models--") {
			t.Errorf("cache root holds %s", e.Name())
		}
		if !strings.HasPrefix(e.Name(), "models--") {
			continue
		}
		repoDir := filepath.Join(cache, e.Name())
		blobs, _ := os.ReadDir(filepath.Join(repoDir, "blobs"))
		for _, b := range blobs {
			if strings.HasSuffix(b.Name(), ".incomplete") {
				continue
			}
			data, err := os.ReadFile(filepath.Join(repoDir, "blobs", b.Name()))
			if err != nil || sha256Hex(data) != b.Name() && hubtest.GitBlobID(data) != b.Name() {
				t.Errorf("blob %s does not hold its content (%v)", b.Name(), err)
			}
		}
		snaps, _ := os.ReadDir(filepath.Join(repoDir, "snapshots"))
		for _, sn := range snaps {
			entries, _ := os.ReadDir(filepath.Join(repoDir, "snapshots", sn.Name()))
			for _, f := range entries {
				target, err := os.Readlink(filepath.Join(repoDir, "snapshots", sn.Name(), f.Name()))
				if err != nil || !strings.HasPrefix(target, "../../blobs/") || strings.HasSuffix(target, ".incomplete") {
					t.Errorf("snapshot entry %s/%s: link %q (%v)", sn.Name(), f.Name(), target, err)
					continue
				}
				if _, err := os.Stat(filepath.Join(repoDir, "blobs", filepath.Base(target))); err != nil {
					t.Errorf("snapshot entry %s/%s links to a missing blob", sn.Name(), f.Name())
				}
			}
		}
		refs, _ := os.ReadDir(filepath.Join(repoDir, "refs"))
		for _, r := range refs {
			commit, _ := os.ReadFile(filepath.Join(repoDir, "refs", r.Name()))
			if _, err := os.Stat(filepath.Join(repoDir, "snapshots", string(commit))); err != nil || !commitRE.Match(commit) {
				t.Errorf("ref %s holds %q, not an existing snapshot", r.Name(), commit)
			}
		}
	}
}

// waitForSize waits until the pull has written all the stalled answer sent (the server
// closes Stalled once the bytes are on the wire, not yet read).
func waitForSize(t *testing.T, path string, size int64) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if st, err := os.Stat(path); err == nil && st.Size() == size {
			return
		}
	}
	t.Fatalf("%s never reached %d bytes", path, size)
}

func TestChecks(t *testing.T) {
	tests := []struct {
		name string
		err  error
		ok   bool
	}{
		{"repo", checkRepo("deepseek-ai/Janus-Pro-1B"), true},
		{"repo without org", checkRepo("Janus-Pro-1B"), false},
		{"repo with --", checkRepo("a--b/c"), false},
		{"repo with three parts", checkRepo("a/b/c"), false},
		{"branch", checkRevision("main"), true},
		{"pr ref", checkRevision("refs/pr/1"), true},
		{"dotdot revision", checkRevision("a/../../b"), false},
		{"absolute revision", checkRevision("/etc"), false},
		{"file", checkFileName("sub/model.safetensors"), true},
		{"file leaving", checkFileName("../x"), false},
		{"absolute file", checkFileName("/x"), false},
		{"empty part", checkFileName("a//b"), false},
	}
	for _, tt := range tests {
		if (tt.err == nil) != tt.ok {
			t.Errorf("%s: error %v, want ok=%v", tt.name, tt.err, tt.ok)
		}
	}
}

func TestMeter(t *testing.T) {
	var m meter
	t0 := time.Unix(0, 0)
	m.start(t0)
	if r := m.rate(t0); r != 0 {
		t.Errorf("rate before data %v, want 0", r)
	}
	for i := 1; i <= 20; i++ { // 1 MB every second for 20 s
		m.add(t0.Add(time.Duration(i)*time.Second), 1_000_000)
	}
	if r := m.rate(t0.Add(20 * time.Second)); r < 0.99e6 || r > 1.01e6 {
		t.Errorf("rate %v, want 1e6 bytes/s", r)
	}
	if len(m.samples) > 7 {
		t.Errorf("meter keeps %d samples, want only the last %s", len(m.samples), meterWindow)
	}
}

func TestPullGated(t *testing.T) {
	s := hubtest.New(t)
	s.AddTinyA(t, testRepo)
	s.Gate("hf_granted")
	tests := []struct {
		name, token string
		want        []string
	}{
		{"no token", "", []string{"is gated: accept its terms on " + s.URL + "/" + testRepo, "HF_TOKEN", "401", "GatedRepo"}},
		{"token without access", "hf_other", []string{"the token from HF_TOKEN has no access", "403", "GatedRepo"}},
		{"token with access", "hf_granted", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, s)
			c.Token, c.TokenSource = tt.token, "HF_TOKEN"
			_, err := c.Pull(context.Background(), testRepo, PullOptions{})
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrAuth) {
				t.Fatalf("error %v, want ErrAuth", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestPullBareList: when the file list lacks blob ids and sizes, each file's headers
// give them.
func TestPullBareList(t *testing.T) {
	s := hubtest.New(t)
	commit := s.AddTinyA(t, testRepo)
	files := hubtest.TinyAFiles(t)
	s.ListBare(true)
	c := newTestClient(t, s)
	if _, err := c.Pull(context.Background(), testRepo, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	checkCache(t, c.Cache, commit, files)
	heads := 0
	for _, r := range s.Requests() {
		if r.Method == "HEAD" && strings.Contains(r.Path, "/resolve/") {
			heads++
		}
	}
	if heads != len(files) {
		t.Errorf("%d HEAD requests to the hub, want one per file (%d)", heads, len(files))
	}
}

func TestCacheState(t *testing.T) {
	s := hubtest.New(t)
	s.AddTinyA(t, testRepo)
	files := hubtest.TinyAFiles(t)
	c := newTestClient(t, s)
	st, err := c.CacheState(testRepo, "")
	if err != nil || st.Snapshot != nil || st.Bytes != 0 || st.Partial {
		t.Errorf("empty cache: %+v, %v", st, err)
	}

	stalled := make(chan struct{})
	s.SetFault("model.safetensors", &hubtest.Fault{StallAfter: 3_000_000, Stalled: stalled})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Pull(ctx, testRepo, PullOptions{})
		done <- err
	}()
	<-stalled
	waitForSize(t, filepath.Join(c.Cache, RepoFolder(testRepo), "blobs", sha256Hex(files["model.safetensors"])+".incomplete"), 3_000_000)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("pull: %v", err)
	}
	st, err = c.CacheState(testRepo, "main")
	if err != nil || st.Snapshot != nil || !st.Partial || st.Bytes != 3_000_000+int64(len(files["config.json"])) {
		t.Errorf("interrupted pull: %+v, %v; want partial with the weights' 3 MB and config.json", st, err)
	}

	snap, err := c.Pull(context.Background(), testRepo, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err = c.CacheState(testRepo, "main")
	if err != nil || st.Snapshot == nil || st.Snapshot.Path != snap.Path || st.Partial || st.Bytes != snap.Bytes {
		t.Errorf("complete pull: %+v, %v", st, err)
	}
}

// TestPullReportsBurstBeforeStall: bytes that arrive within the reporting interval and are
// followed by silence are reported when the interval ends, not after the stall (the
// window's Cancel question said "2 kB" of a download with 102 kB on disk); no report comes
// after Pull returns; and a callback that panics on that report, sent from a timer's
// goroutine, does not end the program.
func TestPullReportsBurstBeforeStall(t *testing.T) {
	for _, panics := range []bool{false, true} {
		t.Run(fmt.Sprintf("panics=%v", panics), func(t *testing.T) {
			s := hubtest.New(t)
			s.AddTinyA(t, testRepo)
			files := hubtest.TinyAFiles(t)
			c := newTestClient(t, s)
			stalled := make(chan struct{})
			s.SetFault("model.safetensors", &hubtest.Fault{StallAfter: 3_000_000, Stalled: stalled})
			want := int64(len(files["config.json"])) + 3_000_000
			var returned atomic.Bool
			counted := make(chan struct{})
			var once sync.Once
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := c.Pull(ctx, testRepo, PullOptions{ProgressEvery: 300 * time.Millisecond, Progress: func(p Progress) {
					if returned.Load() {
						t.Errorf("a report after Pull returned: %+v", p)
					}
					if p.BytesDone == want {
						once.Do(func() { close(counted) })
						if panics {
							panic("a progress callback's bug")
						}
					}
				}})
				returned.Store(true)
				done <- err
			}()
			<-stalled
			select {
			case <-counted:
			case <-time.After(10 * time.Second):
				t.Errorf("the %d bytes had before the stall were never reported during it", want)
			}
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("pull: %v", err)
			}
			time.Sleep(400 * time.Millisecond) // a timer left running would report now
		})
	}
}

// TestPullDamagedBlob: a cached file whose size differs from the hub's (cut short by a
// damaged disk or a bad copy of the cache, or grown) is fetched again by the next pull,
// resuming a shorter one with a Range request, and the snapshot is whole again; offline,
// or with the hub unreachable, the size cannot be known and the cache is used as it is.
func TestPullDamagedBlob(t *testing.T) {
	files := hubtest.TinyAFiles(t)
	weights := int64(len(files["model.safetensors"]))
	config := int64(len(files["config.json"]))
	tests := []struct {
		name      string
		file      string
		size      int64 // the damaged blob's size
		fault     *hubtest.Fault
		offline   bool
		wantRange string // of the one GET the second pull makes ("-" for none)
		wantBytes int64  // what the second pull downloads
	}{
		{"weights cut short", "model.safetensors", weights / 2, nil, false, fmt.Sprintf("bytes=%d-", weights/2), weights - weights/2},
		{"weights empty", "model.safetensors", 0, nil, false, "", weights},
		{"cut short, no Range support", "model.safetensors", weights / 2, &hubtest.Fault{IgnoreRange: true}, false, fmt.Sprintf("bytes=%d-", weights/2), weights},
		{"weights grown", "model.safetensors", weights + 10, nil, false, "", weights},
		{"small file cut short", "config.json", config - 5, nil, false, fmt.Sprintf("bytes=%d-", config-5), 5},
		{"offline", "model.safetensors", weights / 2, nil, true, "-", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := hubtest.New(t)
			commit := s.AddTinyA(t, testRepo)
			c := newTestClient(t, s)
			snap, err := c.Pull(context.Background(), testRepo, PullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			id := hubtest.GitBlobID(files[tt.file])
			if hubtest.IsLFS(tt.file) {
				id = sha256Hex(files[tt.file])
			}
			blob := filepath.Join(c.Cache, RepoFolder(testRepo), "blobs", id)
			damage(t, blob, tt.size)
			if tt.file == "model.safetensors" && tt.size < weights {
				if e, err := app.Inspect(snap.Path); err == nil && e.Complete {
					t.Fatalf("the snapshot with its weights cut short inspects as complete")
				}
			}
			if tt.fault != nil {
				s.SetFault(tt.file, tt.fault)
			}
			c.Offline = tt.offline
			var log bytes.Buffer
			c.Log = slog.New(slog.NewTextHandler(&log, nil))
			before := len(contentGets(s, tt.file, files))
			snap, err = c.Pull(context.Background(), testRepo, PullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			gets := contentGets(s, tt.file, files)[before:]
			if tt.offline {
				if !snap.FromCache || len(gets) != 0 {
					t.Errorf("offline pull: from cache %v, %d GETs; want the cache as it is", snap.FromCache, len(gets))
				}
				if st, err := os.Stat(blob); err != nil || st.Size() != tt.size {
					t.Errorf("offline pull changed the blob: %v, %v", st, err)
				}
				return
			}
			if len(gets) != 1 || gets[0].Range != tt.wantRange {
				t.Errorf("GETs of %s: %+v, want one with Range %q", tt.file, gets, tt.wantRange)
			}
			if snap.Downloaded != tt.wantBytes {
				t.Errorf("downloaded %d bytes, want %d", snap.Downloaded, tt.wantBytes)
			}
			if warned := strings.Contains(log.String(), "does not resume downloads"); warned != (tt.fault != nil && tt.fault.IgnoreRange) {
				t.Errorf("log said the server does not resume: %v, want %v; log:\n%s", warned, !warned, log.String())
			}
			checkCache(t, c.Cache, commit, files)
			if e, err := app.Inspect(snap.Path); err != nil || !e.Complete {
				t.Errorf("the repaired snapshot: %+v, %v; want complete", e, err)
			}
		})
	}
	t.Run("hub unreachable", func(t *testing.T) {
		s := hubtest.New(t)
		s.AddTinyA(t, testRepo)
		c := newTestClient(t, s)
		if _, err := c.Pull(context.Background(), testRepo, PullOptions{}); err != nil {
			t.Fatal(err)
		}
		blob := filepath.Join(c.Cache, RepoFolder(testRepo), "blobs", sha256Hex(files["model.safetensors"]))
		damage(t, blob, weights/2)
		s.Close()
		c.Attempts = 1
		snap, err := c.Pull(context.Background(), testRepo, PullOptions{})
		if err != nil || !snap.FromCache {
			t.Fatalf("pull with the hub gone: %+v, %v; want the cached copy", snap, err)
		}
		if st, err := os.Stat(blob); err != nil || st.Size() != weights/2 {
			t.Errorf("the blob changed without the hub: %v, %v", st, err)
		}
	})
}

// damage makes the file at path size bytes long: cut short, or grown with zeros.
func damage(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

// TestPullNameNotFound: a hub whose name does not resolve (offline, a mistyped HF_ENDPOINT)
// is asked twice, not six times over half a minute, and the error says so in words.
func TestPullNameNotFound(t *testing.T) {
	tries := 0
	c := &Client{Endpoint: "https://huggingface.co", Cache: filepath.Join(t.TempDir(), "hub"), Backoff: time.Millisecond,
		HTTP: &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
			tries++
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "huggingface.co", IsNotFound: true}}
		})}}
	_, err := c.Pull(context.Background(), testRepo, PullOptions{})
	if err == nil || tries != 2 || !strings.Contains(err.Error(), "its address was not found") || !strings.Contains(err.Error(), "giving up after 2 tries") {
		t.Errorf("%d tries, error %v; want 2 and the address not found", tries, err)
	}
}

// roundTripFunc is a function as an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A server that ignores Range and drops the connection at the same point every time never
// lets the file complete: each try throws away what the last one had and gets as far
// again, which is no progress, so the pull gives up after Attempts tries (it retried for
// as long as it was let, thousands of times).
func TestPullGivesUpWithoutGrowth(t *testing.T) {
	data := bytes.Repeat([]byte("janus "), 200_000)
	var gets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/models/") {
			fmt.Fprintf(w, `{"id":%q,"sha":%q,"siblings":[{"rfilename":"config.json","blobId":%q,"size":%d}]}`,
				testRepo, strings.Repeat("a", 40), hubtest.GitBlobID(data), len(data))
			return
		}
		gets.Add(1)
		w.Header().Set("Content-Length", strconv.Itoa(len(data))) // Range ignored: all of it
		w.WriteHeader(http.StatusOK)
		w.Write(data[:len(data)/2])
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // dropped halfway, every time
	}))
	defer srv.Close()
	c := &Client{Endpoint: srv.URL, Cache: t.TempDir(), Backoff: time.Millisecond, Attempts: 3,
		FreeSpace: func(string) (int64, error) { return 1 << 40, nil }}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := c.Pull(ctx, testRepo, PullOptions{})
	if err == nil || !strings.Contains(err.Error(), "giving up after 3 tries") || gets.Load() != 3 {
		t.Errorf("after %d GETs: %v; want giving up after 3 tries", gets.Load(), err)
	}
}

// The file server a download is redirected to (the CDN) refusing it, 403 or 404 (a signed
// address expired, an object not there yet), is not the hub saying that the repository does
// not exist or that a token is wanted: it is tried again, and told as the file server's.
func TestPullFileServerRefusal(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusNotFound} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			var cdnGets atomic.Int64
			cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				cdnGets.Add(1)
				http.Error(w, "<Error><Code>AccessDenied</Code></Error>", status)
			}))
			defer cdn.Close()
			sum := strings.Repeat("b", 64)
			hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/api/models/") {
					fmt.Fprintf(w, `{"id":%q,"sha":%q,"siblings":[{"rfilename":"model.safetensors","lfs":{"sha256":%q,"size":10}}]}`,
						testRepo, strings.Repeat("a", 40), sum)
					return
				}
				w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
				http.Redirect(w, r, cdn.URL+"/obj/"+sum, http.StatusFound)
			}))
			defer hub.Close()
			c := &Client{Endpoint: hub.URL, Cache: t.TempDir(), Backoff: time.Millisecond, Attempts: 2,
				FreeSpace: func(string) (int64, error) { return 1 << 40, nil }}
			_, err := c.Pull(context.Background(), testRepo, PullOptions{})
			problem := app.DownloadProblem(err)
			if errors.Is(err, ErrAuth) || errors.Is(err, ErrNotFound) || cdnGets.Load() != 2 {
				t.Errorf("%v after %d tries of the file server; want neither ErrAuth nor ErrNotFound, 2 tries", err, cdnGets.Load())
			}
			host := strings.TrimPrefix(cdn.URL, "http://")
			for _, bad := range []string{"not found", "token"} {
				if strings.Contains(err.Error(), bad) || strings.Contains(problem, bad) {
					t.Errorf("told as %q: %v / %s", bad, err, problem)
				}
			}
			if want := fmt.Sprintf("The file server %s refused model.safetensors (%d ", host, status); !strings.HasPrefix(problem, want) {
				t.Errorf("the window says %q, want it to start %q", problem, want)
			}
		})
	}
}

// A 429 with Retry-After is asked again no sooner than it says (sooner only prolongs the
// rate limit).
func TestPullRetryAfter(t *testing.T) {
	var mu sync.Mutex
	var times []time.Time
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		n := len(times)
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "rate limited", http.StatusTooManyRequests)
			return
		}
		http.Error(w, "gone", http.StatusNotFound)
	}))
	defer hub.Close()
	c := &Client{Endpoint: hub.URL, Cache: t.TempDir(), Backoff: 10 * time.Millisecond,
		FreeSpace: func(string) (int64, error) { return 1 << 40, nil }}
	c.Pull(context.Background(), testRepo, PullOptions{})
	mu.Lock()
	defer mu.Unlock()
	if len(times) < 2 {
		t.Fatalf("%d requests, want a second after the 429", len(times))
	}
	if gap := times[1].Sub(times[0]); gap < time.Second {
		t.Errorf("asked again %v after a 429 with Retry-After: 1", gap.Round(time.Millisecond))
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"2", 2 * time.Second},
		{" 30 ", 30 * time.Second},
		{"-5", 0},
		{"soon", 0},
		{"86400", maxRetryAfter}, // a day: waited at most five minutes
		{now.Add(45 * time.Second).Format(http.TimeFormat), 45 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	} {
		if got := retryAfter(tc.header, now); got != tc.want {
			t.Errorf("Retry-After %q: %v, want %v", tc.header, got, tc.want)
		}
	}
}

// A first pull that stops before its last file leaves no snapshot that discovery takes for
// a model ready to load: the last file in the hub's order, tokenizer_config.json, is one a
// model loads without, so a folder linked file by file looked complete.
func TestPullInterruptedLeavesNoModel(t *testing.T) {
	s := hubtest.New(t)
	s.AddTinyA(t, testRepo)
	s.SetFault("tokenizer_config.json", &hubtest.Fault{Status5xx: 100})
	c := newTestClient(t, s)
	c.Attempts = 1
	if _, err := c.Pull(context.Background(), testRepo, PullOptions{}); err == nil {
		t.Fatal("the pull succeeded through the fault")
	}
	entries, _ := app.Discover([]string{c.Cache})
	for _, e := range entries {
		if e.Complete {
			t.Errorf("after a failed pull, discovery lists %s as a model to load", e.Path)
		}
	}
	s.SetFault("tokenizer_config.json", nil)
	if _, err := c.Pull(context.Background(), testRepo, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if entries, _ := app.Discover([]string{c.Cache}); len(entries) != 1 || !entries[0].Complete {
		t.Errorf("after the pull was finished: %+v, want one model to load", entries)
	}
}
