package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/hub/hubtest"
	"github.com/janus-desktop/janus/model"
)

// TestEnvDownloaderReadsNewToken: a gated model refused for want of a token downloads on the
// next try once `huggingface-cli login` has written the token file: the app's Retry sent no
// token until a restart.
func TestEnvDownloaderReadsNewToken(t *testing.T) {
	s := hubtest.New(t)
	s.AddTinyA(t, testRepo)
	s.Gate("hf_secret")
	home := t.TempDir()
	vars := map[string]string{"HF_ENDPOINT": s.URL, "HF_HOME": home, "HF_HUB_CACHE": filepath.Join(home, "hub")}
	d := NewEnvDownloader(app.Env{GOOS: "linux", Home: t.TempDir(), Getenv: func(k string) string { return vars[k] }})
	if _, err := d.Download(context.Background(), testRepo, nil); !errors.Is(err, ErrAuth) {
		t.Fatalf("without a token: %v, want ErrAuth", err)
	}
	offers, err := d.Offers()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range offers {
		if o.Repo == testRepo && o.Partial {
			t.Errorf("a download refused before its first byte is offered as one to resume: %+v", o)
		}
	}
	if err := os.WriteFile(filepath.Join(home, "token"), []byte("hf_secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Download(context.Background(), testRepo, nil); err != nil {
		t.Fatalf("with the token written since: %v", err)
	}
}

// TestOffersOffline: with HF_HUB_OFFLINE set, the offers say downloads are off, which no
// Retry gets past (the window offered Download buttons that could only fail).
func TestOffersOffline(t *testing.T) {
	home := t.TempDir()
	vars := map[string]string{"HF_HOME": home, "HF_HUB_OFFLINE": "1"}
	d := NewEnvDownloader(app.Env{GOOS: "linux", Home: t.TempDir(), Getenv: func(k string) string { return vars[k] }})
	offers, err := d.Offers()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range offers {
		if !strings.Contains(o.Unavailable, "HF_HUB_OFFLINE") {
			t.Errorf("offline, %s is offered with %q", o.Repo, o.Unavailable)
		}
	}
	vars["HF_HUB_OFFLINE"] = ""
	if offers, _ := d.Offers(); offers[0].Unavailable != "" {
		t.Errorf("online, %s is unavailable: %q", offers[0].Repo, offers[0].Unavailable)
	}
}

// TestDiscard: a paused download's files are deleted on request (Cancel keeps them), not
// while a download of the repository runs; a complete model in the cache stays, only the
// partial files beside it go.
func TestDiscard(t *testing.T) {
	s := hubtest.New(t)
	s.AddTinyA(t, testRepo)
	stalled := make(chan struct{})
	s.SetFault("model.safetensors", &hubtest.Fault{StallAfter: 1_000_000, Stalled: stalled})
	c := newTestClient(t, s)
	d := NewDownloader(c)
	ctx, pause := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := d.Download(ctx, testRepo, nil); done <- err }()
	<-stalled
	if err := d.Discard(testRepo); err == nil || !strings.Contains(err.Error(), "running") {
		t.Errorf("Discard during the download: %v, want it refused", err)
	}
	pause()
	<-done
	repoDir := filepath.Join(c.Cache, RepoFolder(testRepo))
	if st, _ := c.CacheState(testRepo, ""); !st.Partial {
		t.Fatalf("no partial download to discard: %+v", st)
	}
	if err := d.Discard(testRepo); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(repoDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Discard the repository folder is still there: %v", err)
	}
	if offers, _ := d.Offers(); offers[0].Repo != testRepo || offers[0].Partial || offers[0].CachedBytes != 0 {
		t.Errorf("after Discard: %+v", offers[0])
	}

	// A complete copy with a partial file beside it: the copy stays.
	s.SetFault("model.safetensors", nil)
	dir, err := d.Download(context.Background(), testRepo, nil)
	if err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(repoDir, "blobs", "0123abcd.incomplete")
	if err := os.WriteFile(stray, []byte("part"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.Discard(testRepo); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stray); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the partial file beside a complete copy stayed: %v", err)
	}
	if e, err := app.Inspect(dir); err != nil || !e.Complete {
		t.Errorf("the complete copy did not stay: %+v, %v", e, err)
	}
}

// TestDownloaderPauseResume is the app's first-run download: the offers, a download paused
// mid-way (the partial blob stays), resumed with a Range request, either by the same
// Downloader or by a fresh one on the same cache (the app restarted), completed, and the
// model it returns loaded and answering.
func TestDownloaderPauseResume(t *testing.T) {
	const cut = 3_000_000 // bytes of model.safetensors sent before the pause
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			s := hubtest.New(t)
			commit := s.AddTinyA(t, testRepo)
			files := hubtest.TinyAFiles(t)
			var total int64
			for _, data := range files {
				total += int64(len(data))
			}
			stalled := make(chan struct{})
			s.SetFault("model.safetensors", &hubtest.Fault{StallAfter: cut, Stalled: stalled})
			c := newTestClient(t, s)
			d := NewDownloader(c)

			offers, err := d.Offers()
			if err != nil {
				t.Fatal(err)
			}
			if len(offers) != 3 || offers[0].Repo != app.DefaultRepo || !offers[0].Default || offers[1].Default ||
				offers[0].DownloadBytes <= 0 || offers[0].Footprint.Need(model.WeightsStored) <= 0 || offers[0].CachedBytes != 0 || offers[0].Partial || offers[0].Dir != "" {
				t.Fatalf("offers before any download: %+v", offers)
			}
			sized := func(n int64) app.DownloadOffer {
				return app.DownloadOffer{Footprint: app.Footprint{Weights: map[string]int64{model.WeightsStored: n}}}
			}
			if sized(1<<62).Fits(model.WeightsStored) || !sized(1<<20).Fits(model.WeightsStored) {
				t.Errorf("Fits: 4 EiB fits, or 1 MiB does not fit in this machine's %d bytes", model.PhysicalMemory())
			}

			var mu sync.Mutex
			var seen []app.Progress
			record := func(p app.Progress) {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, p)
			}
			j := app.StartDownload(context.Background(), d, testRepo, record)
			<-stalled
			waitForSize(t, filepath.Join(c.Cache, RepoFolder(testRepo), "blobs", sha256Hex(files["model.safetensors"])+".incomplete"), cut)
			j.Cancel() // pause
			if err := j.Wait(); !errors.Is(err, context.Canceled) {
				t.Fatalf("paused download: %v, want context.Canceled", err)
			}
			if j.Dir() != "" {
				t.Errorf("a paused download gave the folder %q", j.Dir())
			}
			mu.Lock()
			if len(seen) == 0 || seen[0].Total != int(total) {
				t.Errorf("progress before the pause: %+v, want totals of %d bytes", seen, total)
			}
			seen = nil
			mu.Unlock()

			if restart {
				// A new run of the app: a new client and downloader on the same cache.
				c = &Client{Endpoint: s.URL, Cache: c.Cache, Backoff: c.Backoff, FreeSpace: c.FreeSpace}
				d = NewDownloader(c)
			}
			offers, err = d.Offers()
			if err != nil {
				t.Fatal(err)
			}
			if o := offers[0]; !o.Partial || o.CachedBytes < cut || o.CachedBytes >= total || o.Dir != "" {
				t.Errorf("offer after the pause: %+v, want a partial download of at least %d bytes", o, cut)
			}

			j = app.StartDownload(context.Background(), d, testRepo, record)
			if err := j.Wait(); err != nil {
				t.Fatal(err)
			}
			dir := j.Dir()
			if want := filepath.Join(c.Cache, RepoFolder(testRepo), "snapshots", commit); dir != want {
				t.Errorf("Dir = %q, want the snapshot %q", dir, want)
			}
			checkCache(t, c.Cache, commit, files)
			gets := contentGets(s, "model.safetensors", files)
			if len(gets) != 2 || gets[1].Range != fmt.Sprintf("bytes=%d-", cut) {
				t.Errorf("GETs of the weights: %+v, want 2, the second with Range bytes=%d-", gets, cut)
			}
			mu.Lock()
			if len(seen) < 2 || seen[0].Done < cut || seen[len(seen)-1].Done != int(total) || seen[len(seen)-1].Total != int(total) {
				t.Errorf("progress of the resumed download: first %+v, last %+v; want it to start at %d bytes and end at %d",
					seen[0], seen[len(seen)-1], cut, total)
			}
			mu.Unlock()

			offers, err = d.Offers()
			if err != nil {
				t.Fatal(err)
			}
			if o := offers[0]; o.Partial || o.Dir != dir || o.CachedBytes != total {
				t.Errorf("offer after the download: %+v, want the complete copy in %s", o, dir)
			}

			e, err := app.LoadEngine(context.Background(), dir, app.LoadOptions{Threads: 1}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			conv, err := e.NewConversation(nil)
			if err != nil {
				t.Fatal(err)
			}
			defer conv.Close()
			res, err := conv.Reply(context.Background(), "Hello", nil, model.AnswerOptions{MaxNewTokens: 4}, nil)
			if err != nil || len(res.Tokens) == 0 {
				t.Errorf("the downloaded model answered %+v, %v", res, err)
			}
		})
	}
}

// TestDownloaderErrors: an unknown repository, no downloader, and, offline, a snapshot
// that lacks a file (another client's unfinished download) refused with a message rather
// than handed to the loader.
func TestDownloaderErrors(t *testing.T) {
	s := hubtest.New(t)
	s.AddTinyA(t, testRepo)
	c := newTestClient(t, s)
	d := NewDownloader(c)
	if _, err := d.Download(context.Background(), "nobody/missing", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("downloading an unknown repository: %v, want ErrNotFound", err)
	}
	j := app.StartDownload(context.Background(), nil, testRepo, nil)
	if err := j.Wait(); err == nil || j.Dir() != "" {
		t.Errorf("a download without a downloader: %v, %q", err, j.Dir())
	}

	dir, err := d.Download(context.Background(), testRepo, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	c.Offline = true
	if _, err := d.Download(context.Background(), testRepo, nil); err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Errorf("offline download of an incomplete copy: %v, want it called incomplete", err)
	}
	offers, err := d.Offers()
	if err != nil || offers[0].Dir != "" {
		t.Errorf("offer of an incomplete copy: %+v, %v; want no folder to load", offers[0], err)
	}

	// Without a cache folder (no home, no HF_HOME) everything is offered, nothing cached,
	// and a download says why it cannot start.
	nowhere := NewDownloader(&Client{Endpoint: s.URL})
	offers, err = nowhere.Offers()
	if err != nil || len(offers) != 3 || offers[0].CachedBytes != 0 || offers[0].Partial {
		t.Errorf("offers without a cache folder: %+v, %v", offers, err)
	}
	if _, err := nowhere.Download(context.Background(), testRepo, nil); err == nil || !strings.Contains(err.Error(), "HF_HOME") {
		t.Errorf("download without a cache folder: %v, want it to name HF_HOME", err)
	}
}

// TestDownloaderFolderProblems: a cache folder the download cannot write to (a file where
// a folder should be, a folder without write permission) is told as that, naming the
// folder, in the line the download view shows, and so is a cache the offers cannot read.
func TestDownloaderFolderProblems(t *testing.T) {
	s := hubtest.New(t)
	s.AddTinyA(t, testRepo)
	afile := filepath.Join(t.TempDir(), "afile")
	if err := os.WriteFile(afile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	readOnly := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(readOnly, 0o555); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, cache, want string
	}{
		{"a file in the way", filepath.Join(afile, "hub"), "Cannot write to the download folder " + afile + ": a file is in the way"},
		{"no permission", filepath.Join(readOnly, "hub"), "Cannot write to the download folder " + readOnly + ": permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "no permission" && os.Geteuid() == 0 {
				t.Skip("root writes to any folder")
			}
			c := newTestClient(t, s)
			c.Cache = tt.cache
			_, err := NewDownloader(c).Download(context.Background(), testRepo, nil)
			if got := app.DownloadProblem(err); got != tt.want {
				t.Errorf("problem %q (error %v), want %q", got, err, tt.want)
			}
		})
	}
	t.Run("offers", func(t *testing.T) {
		c := newTestClient(t, s)
		refs := filepath.Join(c.Cache, RepoFolder(testRepo), "refs")
		if err := os.MkdirAll(filepath.Dir(refs), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(refs, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := NewDownloader(c).Offers()
		if got, want := app.DownloadProblem(err), "Cannot use the download folder "+refs+": a file is in the way"; got != want {
			t.Errorf("offers' problem %q (error %v), want %q", got, err, want)
		}
	})
}

// TestDownloaderHubProblems: the hub's refusals reach the download view's line as what
// they mean, naming the hub as the user set it and the repository or file, without URLs.
func TestDownloaderHubProblems(t *testing.T) {
	tests := []struct {
		name, repo, token string
		setup             func(s *hubtest.Server)
		want              string // %s is the hub's URL
	}{
		{"server errors", testRepo, "", func(s *hubtest.Server) { s.SetFault("model.safetensors", &hubtest.Fault{Status5xx: 100}) },
			"The hub at %s (set by HF_ENDPOINT) answered with an error (503) for model.safetensors, three times: try again later"},
		{"unknown repository", "deepseek-ai/Janus-Pro-3B", "", nil,
			"deepseek-ai/Janus-Pro-3B was not found on the hub at %s (set by HF_ENDPOINT): check the name, and that HF_ENDPOINT names a hub that has it"},
		{"private, no token", testRepo, "", func(s *hubtest.Server) { s.RequireToken("hf_mine") },
			testRepo + " was not found on the hub at %s (set by HF_ENDPOINT): check the name, and that HF_ENDPOINT names a hub that has it; a private model needs a token (HF_TOKEN or `huggingface-cli login`)"},
		{"token refused", testRepo, "hf_old", func(s *hubtest.Server) { s.RequireToken("hf_mine") },
			"The hub at %s (set by HF_ENDPOINT) refused the token from HF_TOKEN: it may be expired or mistyped"},
		{"gated, no token", testRepo, "", func(s *hubtest.Server) { s.Gate("hf_granted") },
			testRepo + " is gated: accept its terms on its page on the hub at %s (set by HF_ENDPOINT), then give a token of that account (HF_TOKEN or `huggingface-cli login`)"},
		{"gated, token without access", testRepo, "hf_other", func(s *hubtest.Server) { s.Gate("hf_granted") },
			"The token from HF_TOKEN has no access to " + testRepo + ": accept its terms on its page on the hub at %s (set by HF_ENDPOINT) with the token's account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := hubtest.New(t)
			s.AddTinyA(t, testRepo)
			if tt.setup != nil {
				tt.setup(s)
			}
			c := newTestClient(t, s)
			c.EndpointSource, c.Attempts = "HF_ENDPOINT", 3
			if tt.token != "" {
				c.Token, c.TokenSource = tt.token, "HF_TOKEN"
			}
			var notes []string
			_, err := NewDownloader(c).Download(context.Background(), tt.repo, func(p app.Progress) {
				if p.Status != "" {
					notes = append(notes, p.Status)
				}
			})
			if got, want := app.DownloadProblem(err), fmt.Sprintf(tt.want, s.URL); got != want {
				t.Errorf("problem %q\nwant    %q\n(error %v)", got, want, err)
			}
			if tt.name == "server errors" {
				// The notes while it retries name the file and do not say to try later.
				want := "The hub at " + s.URL + " (set by HF_ENDPOINT) answered with an error (503) for model.safetensors — retrying in 0s"
				if len(notes) == 0 || notes[0] != want {
					t.Errorf("retry notes %q, want first %q", notes, want)
				}
			}
		})
	}
}
