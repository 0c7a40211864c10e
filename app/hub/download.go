package hub

import (
	"context"
	"errors"
	"fmt"

	"github.com/janus-desktop/janus/app"
)

// Downloader is the app's download screen on a Client: it implements app.Downloader, so
// the window offers app.KnownModels and fetches them with the same Pull as `janus pull`.
type Downloader struct {
	client func() *Client
}

// NewDownloader returns a Downloader pulling with c.
func NewDownloader(c *Client) *Downloader { return &Downloader{client: func() *Client { return c }} }

// NewEnvDownloader returns a Downloader that configures its client from env (FromEnv) at each
// download and listing, as the app does: a token written since the app started (`huggingface-cli
// login`, which a 401's message asks for) is sent on Retry, not only after a restart.
func NewEnvDownloader(env app.Env) *Downloader {
	return &Downloader{client: func() *Client { return FromEnv(env) }}
}

var _ app.Downloader = (*Downloader)(nil)

// Offers lists app.KnownModels, the default first, with what the cache already holds of each
// (read from the cache alone: the hub is not asked).
func (d *Downloader) Offers() ([]app.DownloadOffer, error) {
	var offers []app.DownloadOffer
	var errs []error
	c := d.client()
	for _, m := range app.KnownModels() {
		o := app.DownloadOffer{Repo: m.Repo, Summary: m.Summary, Default: m.Repo == app.DefaultRepo,
			DownloadBytes: m.DownloadBytes, Footprint: m.Footprint}
		st, err := c.CacheState(m.Repo, "")
		if err != nil {
			errs = append(errs, err)
		}
		// An empty partial file (a download refused at its first file, by a 401 say) is no
		// download to resume: the window showed it paused at 0 bytes.
		o.CachedBytes, o.Partial = st.Bytes, st.Partial && st.Bytes > 0
		if st.Snapshot != nil {
			// Another client's interrupted download may have left a snapshot without every file.
			if e, err := app.Inspect(st.Snapshot.Path); err == nil && e.Complete {
				o.Dir = st.Snapshot.Path
			}
		}
		if c.Offline && o.Dir == "" {
			o.Unavailable = "HF_HUB_OFFLINE is set: downloads are off until it is unset"
		}
		offers = append(offers, o)
	}
	return offers, errors.Join(errs...)
}

// Download pulls repo (its main revision) and returns the snapshot folder. Progress counts
// bytes of the whole repository, those an earlier run left included, so a resumed
// download's bar starts where the last one stopped. Cancelling ctx pauses: Download returns
// ctx's error and the partial files stay in the cache for the next call, in this run of the
// app or the next.
func (d *Downloader) Download(ctx context.Context, repo string, progress func(app.Progress)) (string, error) {
	opts := PullOptions{}
	if progress != nil {
		opts.Progress = func(p Progress) {
			progress(app.Progress{Done: int(p.BytesDone), Total: int(p.Bytes), Rate: p.Rate,
				Remaining: max(0, p.Remaining), Status: p.Status})
		}
	}
	snap, err := d.client().Pull(ctx, repo, opts)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return "", ctxErr
		}
		return "", fmt.Errorf("download %s: %w", repo, err)
	}
	// A copy taken from the cache (offline, or the hub unreachable) may be another client's
	// unfinished download.
	e, err := app.Inspect(snap.Path)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", repo, err)
	}
	if !e.Complete {
		return "", fmt.Errorf("download %s: the copy in %s is incomplete (%s); connect to the internet to finish the download", repo, snap.Path, e.Problem)
	}
	return snap.Path, nil
}

// Discard deletes what unfinished downloads of repo left in the cache (Client.Discard).
func (d *Downloader) Discard(repo string) error { return d.client().Discard(repo) }
