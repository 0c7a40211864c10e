package app

import (
	"context"
	"fmt"

	"github.com/janus-desktop/janus/model"
)

// DownloadOffer is one model the first-run screen offers to download, with what this
// machine already holds of it.
type DownloadOffer struct {
	// Repo is the Hugging Face repository ("deepseek-ai/Janus-Pro-1B").
	Repo string
	// Summary is one line for the screen.
	Summary string
	// Default marks the model offered first (Janus-Pro-1B).
	Default bool
	// DownloadBytes is the size of the download, an estimate for the screen.
	DownloadBytes int64
	// Footprint sizes the memory the model needs to run (Footprint.Need), as the Models
	// picker sizes a copy on disk.
	Footprint Footprint
	// CachedBytes is what earlier downloads left, partial files included: what a download
	// will not fetch again.
	CachedBytes int64
	// Partial is true when an interrupted download can be continued.
	Partial bool
	// Dir is the model folder when a complete copy is there already ("" otherwise): load it
	// instead of downloading.
	Dir string
	// Unavailable says why it cannot be downloaded now ("" when it can): HF_HUB_OFFLINE is
	// set, say, which no Retry gets past; never set with Dir, whose copy loads anyway.
	Unavailable string
}

// Fits reports whether this machine has the memory the model needs loaded with weight
// format f (Settings.Weights; true when the machine's memory is unknown), so the screen can
// warn before a long download.
func (o DownloadOffer) Fits(f string) bool {
	total := model.PhysicalMemory()
	return total <= 0 || o.Footprint.Need(f) <= total
}

// Downloader fetches released models from the Hugging Face hub into its cache, where
// SearchModels finds them (app/hub implements it; a nil Downloader shows the window's
// "Download…" button disabled).
type Downloader interface {
	// Offers lists the models that may be downloaded, the default first.
	Offers() ([]DownloadOffer, error)
	// Download fetches repo, continuing whatever an earlier download (in this run of the
	// app or an earlier one) left, and returns the model folder to load. progress receives
	// bytes (Done of Total), the rate in bytes per second and the time left, one call at a
	// time and none after Download returns, on Download's goroutine or a timer's (bytes
	// that came just before the connection went silent are reported while it is silent).
	// Cancelling ctx pauses it: what was fetched stays for the next Download.
	Download(ctx context.Context, repo string, progress func(Progress)) (dir string, err error)
	// Discard deletes what unfinished downloads of repo left, to give the disk back (a
	// paused download is otherwise kept for later); it fails while one of repo runs.
	Discard(repo string) error
}

// DownloadJob is a download running on its own goroutine. Cancel pauses it (Err is then
// context.Canceled); StartDownload of the same repository resumes it.
type DownloadJob struct {
	*Job
	repo string
	dir  string
}

// StartDownload runs d.Download(repo) as a Job; onProgress, when not nil, sees its progress
// off the caller's goroutine, as Download reports it.
func StartDownload(ctx context.Context, d Downloader, repo string, onProgress func(Progress)) *DownloadJob {
	j := &DownloadJob{Job: newJob(ctx), repo: repo}
	var dir string
	go j.run(func(ctx context.Context, report func(Progress)) error {
		if d == nil {
			return fmt.Errorf("download %s: no downloader in this build", repo)
		}
		var err error
		dir, err = d.Download(ctx, repo, report)
		return err
	}, onProgress, func(err error) {
		j.mu.Lock()
		if err == nil {
			j.dir = dir
		}
		j.mu.Unlock()
	})
	return j
}

// Repo is the repository being downloaded.
func (j *DownloadJob) Repo() string { return j.repo }

// Dir is the downloaded model's folder once Done is closed and Err is nil ("" otherwise).
func (j *DownloadJob) Dir() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.dir
}
