package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/janus-desktop/janus/app"
)

// Snapshot is a revision of a repository as it sits in the cache.
type Snapshot struct {
	Repo     string
	Revision string // as asked ("main")
	Commit   string // the 40-hex commit it resolved to
	// Path is the snapshot folder, which model.Load and app.Inspect take.
	Path string
	// Files and Bytes count the repository's files at that commit (0 when FromCache: the
	// cache does not record the list).
	Files int
	Bytes int64
	// Downloaded is what this pull fetched (0 when everything was cached already).
	Downloaded int64
	// FromCache is true when the hub was not asked (offline) or could not be reached and
	// the cached copy was used instead. Without the hub's file list, such a copy is
	// complete only as far as the cache can tell: one another client's interrupted pull
	// left may lack files (app.Inspect says).
	FromCache bool
	// Unreachable is why the hub could not be asked, when FromCache is true for that reason
	// (nil offline).
	Unreachable error
}

// Progress is what a pull reports while it runs: to a CLI progress bar and to the GUI.
type Progress struct {
	Repo   string
	Commit string // "" until the revision is resolved
	// File is the file being fetched ("" between files).
	File string
	// Files and FilesDone count the repository's files and those in the cache.
	Files, FilesDone int
	// Bytes is the repository's size; BytesDone what is in the cache, partial files
	// included (so a resumed pull starts where the last stopped).
	Bytes, BytesDone int64
	// Rate is the download speed in bytes per second over the last few seconds (0 before
	// it is known); Remaining the time left at that rate (-1 when unknown).
	Rate      float64
	Remaining time.Duration
	// Status, when not "", says why nothing moves: waiting for another pull's lock, or
	// retrying after an error.
	Status string
	// Done is true in the last report of a successful pull.
	Done bool
}

// PullOptions tune one pull.
type PullOptions struct {
	// Revision is the branch, tag or commit to fetch; "" means "main".
	Revision string
	// Progress, when not nil, receives reports at most every ProgressEvery and at every
	// file's start and end. A report the interval held back comes when it ends, so the
	// bytes of a burst just before the connection stalls are counted during the stall.
	// Calls never overlap and none comes after Pull returns, but they may come from a
	// timer's goroutine as well as Pull's (a GUI hands them to its UI thread).
	Progress func(Progress)
	// ProgressEvery is the reporting interval; 0 means 200 ms.
	ProgressEvery time.Duration
}

// repoInfo is the answer of /api/models/REPO/revision/REV?blobs=true.
type repoInfo struct {
	ID       string `json:"id"`
	SHA      string `json:"sha"`
	Siblings []struct {
		RFilename string `json:"rfilename"`
		BlobID    string `json:"blobId"`
		Size      *int64 `json:"size"`
		LFS       *struct {
			SHA256 string `json:"sha256"`
			Size   int64  `json:"size"`
		} `json:"lfs"`
	} `json:"siblings"`
}

// remoteFile is one file to have in the snapshot.
type remoteFile struct {
	name string
	id   string // blob name: the LFS sha256, or the git blob id
	size int64
	lfs  bool
}

// newHash returns the hash whose hex digest must equal f.id: sha256 of the content for
// LFS files, the git blob id (sha1 of "blob SIZE\x00" and the content) for the others.
func (f remoteFile) newHash() hash.Hash {
	if f.lfs {
		return sha256.New()
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", f.size)
	return h
}

// Pull makes revision opts.Revision of the model repository repo ("deepseek-ai/Janus-Pro-1B")
// complete in the cache and returns its snapshot. Files already in the cache with the
// hub's size are not fetched again; partial ones, and cached ones cut short, are resumed;
// longer ones are replaced once the new copy is verified. Cancelling ctx stops the pull promptly and
// leaves the cache valid; pulling again continues. Offline, it returns the cached copy or
// an error wrapping ErrOffline.
func (c *Client) Pull(ctx context.Context, repo string, opts PullOptions) (*Snapshot, error) {
	rev := opts.Revision
	if rev == "" {
		rev = "main"
	}
	if err := checkRepo(repo); err != nil {
		return nil, err
	}
	if err := checkRevision(rev); err != nil {
		return nil, err
	}
	if c.Cache == "" {
		return nil, errors.New("no Hugging Face cache folder: set HF_HUB_CACHE or HF_HOME")
	}
	if u, err := url.Parse(c.Endpoint); !c.Offline && (err != nil || u.Scheme == "" || u.Host == "") {
		return nil, fmt.Errorf("hub endpoint %q is not a URL (HF_ENDPOINT)", c.Endpoint)
	}
	p := &puller{c: c, ctx: ctx, repo: repo, rev: rev, opts: opts,
		rc: repoCache{dir: filepath.Join(c.Cache, RepoFolder(repo))}}
	p.prog = Progress{Repo: repo, Remaining: -1}
	defer p.stopReports()
	if c.Offline {
		snap, err := p.cached()
		if err != nil {
			return nil, err
		}
		if snap == nil {
			// A pull that stopped leaves its files in blobs/ and links none (run): "no copy"
			// beside gigabytes of them would mislead.
			if blobs, _ := os.ReadDir(filepath.Join(p.rc.dir, "blobs")); len(blobs) > 0 {
				return nil, fmt.Errorf("%s at %s: %w (HF_HUB_OFFLINE is set; the cache %s holds an unfinished download of it: unset it to continue the download)", repo, rev, ErrOffline, c.Cache)
			}
			return nil, fmt.Errorf("%s at %s: %w (HF_HUB_OFFLINE is set; the cache %s has no copy: unset it to download)", repo, rev, ErrOffline, c.Cache)
		}
		return snap, nil
	}
	release, err := lockFile(ctx, filepath.Join(p.rc.lockDir(), "pull.lock"), func() {
		p.status("waiting for another download of " + repo + " to finish")
	})
	if err != nil {
		return nil, err
	}
	defer release()
	p.status("")
	p.hc = c.newHTTP()
	defer p.hc.CloseIdleConnections()
	return p.run()
}

// puller is the state of one Pull.
type puller struct {
	c    *Client
	ctx  context.Context
	repo string
	rev  string
	opts PullOptions
	rc   repoCache
	hc   *http.Client

	prog       Progress
	meter      meter
	downloaded int64

	// reports serializes the Progress callback between the pulling goroutine and the
	// timer that sends a report held back by the interval.
	reports struct {
		sync.Mutex
		last    time.Time
		pending *Progress // held back; the timer sends it unless a newer report goes first
		timer   *time.Timer
		armed   bool
		stopped bool // Pull returned: no more calls
	}
}

func (p *puller) run() (*Snapshot, error) {
	info, err := p.info()
	if err != nil {
		var herr *HubError
		if p.ctx.Err() == nil && !errors.As(err, &herr) {
			// The hub is unreachable: huggingface_hub falls back to the cache, and so do we.
			if snap, cerr := p.cached(); cerr == nil && snap != nil {
				p.c.log().Warn("hub unreachable; using the cached copy", "repo", p.repo, "err", err)
				snap.Unreachable = err
				return snap, nil
			}
		}
		return nil, err
	}
	commit := info.SHA
	p.prog.Commit = commit
	files, err := p.plan(info)
	if err != nil {
		return nil, err
	}
	need := int64(0)
	for _, f := range files {
		p.prog.Files++
		p.prog.Bytes += f.size
		whole, partial := p.cachedPart(f)
		if whole {
			p.prog.FilesDone++
			p.prog.BytesDone += f.size
			continue
		}
		p.prog.BytesDone += partial
		need += f.size - partial
	}
	if err := p.checkSpace(need); err != nil {
		return nil, err
	}
	// refs/ exists from the start: other clients' cache scans expect the folder. The
	// snapshot's files are linked once every file is verified: a snapshot folder a pull
	// left halfway, lacking only files a model can load without (tokenizer_config.json,
	// last in the hub's order), was found as a model ready to load.
	for _, d := range []string{filepath.Join(p.rc.dir, "blobs"), filepath.Join(p.rc.dir, "refs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("cache folder: %w", err)
		}
	}
	p.meter.start(time.Now())
	p.report(true)
	for _, f := range files {
		if err := p.ctx.Err(); err != nil {
			return nil, err
		}
		if whole, _ := p.cachedPart(f); !whole {
			p.prog.File = f.name
			p.report(true)
			if err := p.fetch(f); err != nil {
				return nil, p.explain(err, f.name)
			}
			p.prog.FilesDone++
		}
	}
	for _, f := range files {
		if err := p.rc.link(commit, f.name, f.id); err != nil {
			return nil, err
		}
	}
	if p.rev != commit {
		if err := p.rc.writeRef(p.rev, commit); err != nil {
			return nil, err
		}
	}
	p.prog.File, p.prog.Done, p.prog.Remaining = "", true, 0
	p.report(true)
	return &Snapshot{Repo: p.repo, Revision: p.rev, Commit: commit, Path: p.rc.snapshot(commit),
		Files: p.prog.Files, Bytes: p.prog.Bytes, Downloaded: p.downloaded}, nil
}

// cached returns the snapshot of p.rev (the one refs/REV names, or the commit p.rev is)
// when its folder exists, or nil. Our pulls write refs/REV last, so such a snapshot is
// complete; but other clients write it first, and a snapshot asked for by commit id may
// be one an interrupted pull left, so callers that need every file check (app.Inspect).
func (p *puller) cached() (*Snapshot, error) {
	commit, err := p.rc.readRef(p.rev)
	if err != nil || commit == "" {
		return nil, err
	}
	dir := p.rc.snapshot(commit)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, nil
	}
	return &Snapshot{Repo: p.repo, Revision: p.rev, Commit: commit, Path: dir, FromCache: true}, nil
}

// CacheState is what the cache holds of a repository, read without asking the hub: what
// a download screen shows before it starts or continues a pull.
type CacheState struct {
	// Snapshot is the revision's snapshot, nil when there is none (see Snapshot.FromCache
	// for when it may lack files).
	Snapshot *Snapshot
	// Bytes is the size of the repository's blobs, partial downloads included: what a
	// pull of the same revision would not fetch again.
	Bytes int64
	// Partial is true when an interrupted download can be continued.
	Partial bool
}

// CacheState reports what the cache holds of revision ("" for main) of repo.
func (c *Client) CacheState(repo, revision string) (CacheState, error) {
	if revision == "" {
		revision = "main"
	}
	if err := checkRepo(repo); err != nil {
		return CacheState{}, err
	}
	if err := checkRevision(revision); err != nil {
		return CacheState{}, err
	}
	if c.Cache == "" {
		return CacheState{}, nil // no cache folder (no home, no HF_HOME): nothing is cached
	}
	p := &puller{c: c, repo: repo, rev: revision, rc: repoCache{dir: filepath.Join(c.Cache, RepoFolder(repo))}}
	var st CacheState
	snap, err := p.cached()
	if err != nil {
		return st, err
	}
	st.Snapshot = snap
	blobs, err := os.ReadDir(filepath.Join(p.rc.dir, "blobs"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return st, fmt.Errorf("read the cache of %s: %w", repo, err)
	}
	for _, b := range blobs {
		info, err := b.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		st.Bytes += info.Size()
		if strings.HasSuffix(b.Name(), ".incomplete") {
			st.Partial = true
		}
	}
	return st, nil
}

func (p *puller) apiURL() string {
	return p.c.Endpoint + "/api/models/" + p.repo + "/revision/" + url.PathEscape(p.rev) + "?blobs=true"
}

func (p *puller) fileURL(commit, name string) string {
	parts := strings.Split(name, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return p.c.Endpoint + "/" + p.repo + "/resolve/" + commit + "/" + strings.Join(parts, "/")
}

// info resolves the revision to a commit and lists the files through the hub's API.
func (p *puller) info() (*repoInfo, error) {
	var info repoInfo
	err := p.c.retry(p.ctx, "list "+p.repo, p.status, func() (bool, error) {
		resp, err := p.c.do(p.ctx, p.hc, http.MethodGet, p.apiURL(), http.Header{"Accept": {"application/json"}})
		if err != nil {
			return false, p.describe(err, "")
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("list %s: unexpected answer %s", p.repo, resp.Status)
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&info); err != nil {
			return false, retryable{err: fmt.Errorf("list %s: read the hub's answer: %w", p.repo, err)}
		}
		return false, nil
	})
	if err != nil {
		return nil, p.explain(err, "")
	}
	if !commitRE.MatchString(info.SHA) {
		return nil, fmt.Errorf("list %s at %s: the hub's answer has no commit id (sha %q)", p.repo, p.rev, info.SHA)
	}
	p.status("")
	return &info, nil
}

// explain words the hub's refusals for the person who asked for the repository.
func (p *puller) explain(err error, file string) error {
	var herr *HubError
	if !errors.As(p.describe(err, file), &herr) || herr.FileServer != "" {
		return err
	}
	switch {
	case herr.Status == http.StatusNotFound && herr.Code == "EntryNotFound":
		return fmt.Errorf("a file the hub lists for %s at %s is missing on it; try again later: %w", p.repo, p.rev, err)
	case herr.Code == "GatedRepo" && p.c.Token == "":
		return fmt.Errorf("%s is gated: accept its terms on %s/%s, then set HF_TOKEN to a token of that account: %w",
			p.repo, p.c.Endpoint, p.repo, err)
	case herr.Status == http.StatusNotFound && herr.Code == "RevisionNotFound":
		return fmt.Errorf("revision %q of %s not found on %s: %w", p.rev, p.repo, p.c.Endpoint, err)
	case herr.Status == http.StatusNotFound:
		return fmt.Errorf("repository %s not found on %s (check the name; a private one needs a token): %w", p.repo, p.c.Endpoint, err)
	case herr.Status == http.StatusUnauthorized && p.c.Token == "":
		return fmt.Errorf("%s needs a token (it is private or gated, or does not exist): set HF_TOKEN or run `huggingface-cli login`: %w", p.repo, err)
	case herr.Status == http.StatusUnauthorized:
		return fmt.Errorf("the hub refused the token from %s for %s (expired or wrong?): %w", p.c.TokenSource, p.repo, err)
	case herr.Status == http.StatusForbidden:
		return fmt.Errorf("the token from %s has no access to %s (a gated model: accept its terms on %s/%s with the token's account): %w",
			p.c.TokenSource, p.repo, p.c.Endpoint, p.repo, err)
	}
	return err
}

// describe records in err's HubError, if it has one, what was asked for: the repository,
// revision and file ("" for the file list), which app.DownloadProblem names.
func (p *puller) describe(err error, file string) error {
	var herr *HubError
	if errors.As(err, &herr) && herr.Repo == "" {
		herr.Repo, herr.Revision, herr.File = p.repo, p.rev, file
	}
	return err
}

// plan turns the API's file list into blob names and sizes, asking the hub for the
// headers of any file the list does not describe.
func (p *puller) plan(info *repoInfo) ([]remoteFile, error) {
	var files []remoteFile
	paths := pathSet{}
	for _, s := range info.Siblings {
		if err := checkFileName(s.RFilename); err != nil {
			return nil, err
		}
		if err := paths.add(s.RFilename); err != nil {
			return nil, fmt.Errorf("%s: %w", p.repo, err)
		}
		f := remoteFile{name: s.RFilename}
		switch {
		case s.LFS != nil:
			f.id, f.size, f.lfs = s.LFS.SHA256, s.LFS.Size, true
		case s.BlobID != "" && s.Size != nil:
			f.id, f.size = s.BlobID, *s.Size
		default:
			var err error
			if f, err = p.head(info.SHA, s.RFilename); err != nil {
				return nil, err
			}
		}
		if f.lfs && !regexpSHA256(f.id) || !f.lfs && !commitRE.MatchString(f.id) || f.size < 0 {
			return nil, fmt.Errorf("%s: the hub describes %s with id %q and size %d", p.repo, f.name, f.id, f.size)
		}
		files = append(files, f)
	}
	return files, nil
}

func regexpSHA256(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == sha256.Size && strings.ToLower(s) == s
}

// head reads a file's blob id and size from the hub's headers.
func (p *puller) head(commit, name string) (remoteFile, error) {
	f := remoteFile{name: name}
	err := p.c.retry(p.ctx, "describe "+name, p.status, func() (bool, error) {
		resp, err := p.c.do(p.ctx, p.hc, http.MethodHead, p.fileURL(commit, name), nil)
		if err != nil {
			return false, p.describe(err, name)
		}
		resp.Body.Close()
		h := resp.first
		if id := etag(h.Get("X-Linked-Etag")); id != "" {
			f.id, f.lfs = id, true
			f.size, err = strconv.ParseInt(h.Get("X-Linked-Size"), 10, 64)
		} else {
			f.id = etag(h.Get("ETag"))
			f.size, err = strconv.ParseInt(h.Get("Content-Length"), 10, 64)
		}
		if err != nil {
			return false, fmt.Errorf("describe %s: no size in the hub's headers", name)
		}
		return false, nil
	})
	return f, p.explain(err, name)
}

// etag strips the quotes and weak marker of an ETag header.
func etag(v string) string {
	return strings.Trim(strings.TrimPrefix(strings.TrimSpace(v), "W/"), `"`)
}

// cachedPart says whether blobs/ID holds f whole, as far as its size tells (hashing
// gigabytes on every pull would be too slow), and otherwise how many bytes a fetch
// resumes from: the partial file's, else a blob cut short's (fetch makes it the partial
// file), else none.
func (p *puller) cachedPart(f remoteFile) (whole bool, partial int64) {
	blob := p.rc.blob(f.id)
	st, blobErr := os.Stat(blob)
	if blobErr == nil && st.Size() == f.size {
		return true, 0
	}
	if pst, err := os.Stat(blob + ".incomplete"); err == nil {
		if pst.Size() <= f.size {
			return false, pst.Size()
		}
		return false, 0
	}
	if blobErr == nil && st.Size() < f.size {
		return false, st.Size()
	}
	return false, 0
}

// checkSpace refuses to start a download the disk cannot hold.
func (p *puller) checkSpace(need int64) error {
	if need == 0 {
		return nil
	}
	free := p.c.FreeSpace
	if free == nil {
		free = freeSpace
	}
	have, err := free(p.c.Cache)
	if err != nil {
		p.c.log().Warn("cannot tell the free disk space; downloading anyway", "err", err)
		return nil
	}
	if have < need {
		return &app.NoSpaceError{Dir: p.c.Cache, Need: need, Free: have}
	}
	return nil
}

// fetch downloads f into blobs/ID.incomplete, resuming what is there, verifies it and
// renames it to blobs/ID.
func (p *puller) fetch(f remoteFile) error {
	// huggingface_hub locks each blob it writes with flock on .locks/REPO/ID.lock; holding
	// the same lock keeps a Python download of the same file from writing beside ours.
	release, err := lockFile(p.ctx, filepath.Join(p.rc.lockDir(), f.id+".lock"), func() {
		p.status("waiting for another program downloading " + f.name)
	})
	if err != nil {
		return err
	}
	defer release()
	p.status("")
	blob := p.rc.blob(f.id)
	part := blob + ".incomplete"
	if st, err := os.Stat(blob); err == nil {
		if st.Size() == f.size {
			return nil // the other program finished it
		}
		// A blob cut short (a damaged disk, a bad copy of the cache) or grown: fetch it
		// again. A shorter one becomes the partial file, resumed and then verified whole;
		// a longer one stays until the new one replaces it by rename.
		p.c.log().Warn("a cached file has the wrong size; fetching it again", "repo", p.repo, "file", f.name,
			"blob", blob, "size", st.Size(), "want", f.size)
		if _, err := os.Stat(part); errors.Is(err, fs.ErrNotExist) && st.Size() < f.size {
			if err := os.Rename(blob, part); err != nil {
				return fmt.Errorf("download %s: %w", f.name, err)
			}
		}
	}
	file, err := os.OpenFile(part, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("download %s: %w", f.name, err)
	}
	defer file.Close()
	b := &partialBlob{f: f, file: file, hash: f.newHash()}
	if b.have, err = io.Copy(b.hash, file); err != nil { // what an earlier pull left
		return fmt.Errorf("download %s: read partial file: %w", f.name, err)
	}
	if b.have > f.size {
		p.prog.BytesDone += b.have // counted as 0 in the plan
		if err := p.restart(b); err != nil {
			return err
		}
	}
	// Progress is the partial file growing past the most it has held: bytes that a restart
	// then threw away (a server that ignores Range and drops the connection at the same
	// point every time) are no progress, or the tries would never run out.
	most := b.have
	err = p.c.retry(p.ctx, "download "+f.name, p.status, func() (bool, error) {
		if b.have == f.size {
			return false, nil
		}
		err := p.get(b)
		grew := b.have > most
		most = max(most, b.have)
		return grew, p.describe(err, f.name)
	})
	if err != nil {
		return err
	}
	if err := file.Sync(); err != nil {
		return fmt.Errorf("download %s: %w", f.name, err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("download %s: %w", f.name, err)
	}
	if got := hex.EncodeToString(b.hash.Sum(nil)); got != f.id {
		os.Remove(part)
		p.prog.BytesDone -= b.have
		p.report(true) // the bar goes back by what was deleted
		kind := "git blob id"
		if f.lfs {
			kind = "sha256"
		}
		return fmt.Errorf("download %s of %s: %w: its %s is %s, the hub says %s; the download was deleted: pull again",
			f.name, p.repo, ErrChecksum, kind, got, f.id)
	}
	if err := os.Rename(part, blob); err != nil {
		return fmt.Errorf("download %s: %w", f.name, err)
	}
	return syncDir(filepath.Dir(blob))
}

// errStalled cancels a file's request that received nothing for the stall timeout.
var errStalled = errors.New("the connection went silent")

// partialBlob is a blob being downloaded: its .incomplete file, how much that holds, and
// the running hash of it.
type partialBlob struct {
	f    remoteFile
	file *os.File
	have int64
	hash hash.Hash
}

// restart empties b, when the server sends the whole file or a part other than the one
// asked for.
func (p *puller) restart(b *partialBlob) error {
	p.prog.BytesDone -= b.have
	b.have, b.hash = 0, b.f.newHash()
	if err := b.file.Truncate(0); err != nil {
		return fmt.Errorf("download %s: %w", b.f.name, err)
	}
	if _, err := b.file.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("download %s: %w", b.f.name, err)
	}
	return nil
}

// get makes one request for the rest of b's file and appends what arrives to b.
func (p *puller) get(b *partialBlob) error {
	f := b.f
	ctx, cancel := context.WithCancelCause(p.ctx)
	defer cancel(nil)
	// identity: a transparently decompressed answer would not match the sizes, offsets
	// and checksums, which are of the stored bytes.
	header := http.Header{"Accept-Encoding": {"identity"}}
	if b.have > 0 {
		header.Set("Range", fmt.Sprintf("bytes=%d-", b.have))
	}
	commit := p.prog.Commit
	resp, err := p.c.do(ctx, p.hc, http.MethodGet, p.fileURL(commit, f.name), header)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := checkHeaders(f, commit, resp.first); err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != b.have {
			// Not the part asked for: start over rather than guess.
			if err := p.restart(b); err != nil {
				return err
			}
			return retryable{err: fmt.Errorf("download %s: the server sent %q, not bytes from %d", f.name, resp.Header.Get("Content-Range"), b.have)}
		}
	case http.StatusOK:
		if b.have > 0 { // the server ignored the Range: take the whole file
			// The bar goes back by what was had; the log says why.
			p.c.log().Warn("the server does not resume downloads; fetching the file again from its start",
				"repo", p.repo, "file", f.name, "had", b.have)
			if err := p.restart(b); err != nil {
				return err
			}
		}
	case http.StatusRequestedRangeNotSatisfiable:
		// The server's file is not longer than our partial one, which is shorter than the
		// hub's size: something is stale, so start over.
		if err := p.restart(b); err != nil {
			return err
		}
		return retryable{err: fmt.Errorf("download %s: the server refused the range from %d (%s)", f.name, b.have, resp.Header.Get("Content-Range"))}
	default:
		return fmt.Errorf("download %s: unexpected answer %s", f.name, resp.Status)
	}
	// A connection that stops sending is cancelled, and retried from where it stopped.
	stall := p.c.stallTimeout()
	timer := time.AfterFunc(stall, func() { cancel(errStalled) })
	defer timer.Stop()
	buf := make([]byte, 256<<10)
	for {
		m, rerr := resp.Body.Read(buf)
		timer.Reset(stall)
		if m > 0 {
			if b.have+int64(m) > f.size {
				if err := p.restart(b); err != nil {
					return err
				}
				return fmt.Errorf("download %s: the server sent more than the %d bytes the hub lists", f.name, f.size)
			}
			if _, err := b.file.Write(buf[:m]); err != nil {
				return fmt.Errorf("download %s: %w", f.name, err)
			}
			b.hash.Write(buf[:m])
			b.have += int64(m)
			p.downloaded += int64(m)
			p.prog.BytesDone += int64(m)
			p.meter.add(time.Now(), int64(m))
			// It moves again: a retry's note ("retrying in 4s: …") stood for the rest of the
			// file where the speed and the time left go.
			p.status("")
			p.report(false)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if p.ctx.Err() != nil {
				return p.ctx.Err()
			}
			lost := &app.TransferError{File: f.name, Have: b.have, Size: f.size, Err: rerr}
			if errors.Is(context.Cause(ctx), errStalled) {
				lost.Stalled, lost.Err = stall, nil
			}
			return retryable{err: lost}
		}
	}
	if b.have < f.size {
		return retryable{err: &app.TransferError{File: f.name, Have: b.have, Size: f.size, Err: errors.New("the server closed it early")}}
	}
	return nil
}

// checkHeaders compares the hub's description of a file (X-Linked-Etag, ETag,
// X-Linked-Size, X-Repo-Commit) with the file list's: they differ only if the repository
// changed under the pull, and then the blob would be named wrongly.
func checkHeaders(f remoteFile, commit string, h http.Header) error {
	if c := h.Get("X-Repo-Commit"); c != "" && c != commit {
		return fmt.Errorf("download %s: the hub answered for commit %s, not %s", f.name, c, commit)
	}
	id := etag(h.Get("X-Linked-Etag"))
	if id == "" && !f.lfs {
		id = etag(h.Get("ETag"))
	}
	if id != "" && id != f.id {
		return fmt.Errorf("download %s: the hub names it %s but listed it as %s; pull again", f.name, id, f.id)
	}
	if s := h.Get("X-Linked-Size"); s != "" && s != strconv.FormatInt(f.size, 10) {
		return fmt.Errorf("download %s: the hub gives its size as %s but listed %d bytes; pull again", f.name, s, f.size)
	}
	return nil
}

// rangeStart reads the first byte position of a Content-Range header "bytes A-B/N".
func rangeStart(v string) (int64, bool) {
	rest, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, false
	}
	a, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(a, 10, 64)
	return n, err == nil
}

// status reports why the pull is not moving ("" once it moves again).
func (p *puller) status(s string) {
	if p.prog.Status == s {
		return
	}
	p.prog.Status = s
	p.report(true)
}

// report sends the progress to the callback, at most every ProgressEvery unless forced;
// one held back is sent by a timer when the interval ends.
func (p *puller) report(force bool) {
	if p.opts.Progress == nil {
		return
	}
	now := time.Now()
	p.prog.Rate = p.meter.rate(now)
	if !p.prog.Done {
		p.prog.Remaining = -1
		if p.prog.Rate > 0 {
			p.prog.Remaining = time.Duration(float64(p.prog.Bytes-p.prog.BytesDone) / p.prog.Rate * float64(time.Second))
		}
	}
	r := &p.reports
	r.Lock()
	defer r.Unlock()
	if wait := r.last.Add(p.every()).Sub(now); !force && wait > 0 {
		held := p.prog
		r.pending = &held
		if !r.armed {
			r.armed = true
			if r.timer == nil {
				r.timer = time.AfterFunc(wait, p.sendPending)
			} else {
				r.timer.Reset(wait)
			}
		}
		return
	}
	r.pending = nil
	r.last = now
	p.opts.Progress(p.prog)
}

// every is the reporting interval.
func (p *puller) every() time.Duration {
	if p.opts.ProgressEvery <= 0 {
		return 200 * time.Millisecond
	}
	return p.opts.ProgressEvery
}

// sendPending is the timer's: it sends the report held back, if no newer one went first,
// once the interval since the last report has passed (a forced one may have gone since the
// timer was set). A panic in the callback is logged: on the timer's goroutine no caller
// would recover it, and it would end the program.
func (p *puller) sendPending() {
	r := &p.reports
	r.Lock()
	defer r.Unlock()
	if r.pending == nil || r.stopped {
		r.armed = false
		return
	}
	now := time.Now()
	if wait := r.last.Add(p.every()).Sub(now); wait > 0 {
		r.timer.Reset(wait)
		return
	}
	r.armed = false
	r.last = now
	held := *r.pending
	r.pending = nil
	defer func() {
		if e := recover(); e != nil {
			p.c.log().Error("download progress callback panicked", "repo", p.repo, "panic", e)
		}
	}()
	p.opts.Progress(held)
}

// stopReports sends a report still held back, when Pull returns, and stops the timer.
func (p *puller) stopReports() {
	r := &p.reports
	r.Lock()
	defer r.Unlock()
	if r.timer != nil {
		r.timer.Stop()
	}
	if r.pending != nil && !r.stopped {
		p.opts.Progress(*r.pending)
		r.pending = nil
	}
	r.stopped = true
}

// Discard deletes what unfinished downloads of repo left in the cache, to give the disk
// back: the whole repository folder when none of its snapshots holds a complete model, else
// only its partial files. A download of repo running meanwhile (in this program or another
// that locks as Pull does) makes it fail, deleting nothing.
func (c *Client) Discard(repo string) error {
	if err := checkRepo(repo); err != nil {
		return err
	}
	if c.Cache == "" {
		return nil
	}
	rc := repoCache{dir: filepath.Join(c.Cache, RepoFolder(repo))}
	// A download just paused may hold the lock while it closes its files: a moment's wait.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	release, err := lockFile(ctx, filepath.Join(rc.lockDir(), "pull.lock"), func() {})
	if ctx.Err() != nil {
		return fmt.Errorf("discard the download of %s: a download of it is running", repo)
	}
	if err != nil {
		return fmt.Errorf("discard the download of %s: %w", repo, err)
	}
	defer release()
	snaps, err := os.ReadDir(filepath.Join(rc.dir, "snapshots"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("discard the download of %s: %w", repo, err)
	}
	for _, s := range snaps {
		if e, err := app.Inspect(filepath.Join(rc.dir, "snapshots", s.Name())); err == nil && e.Complete {
			// A complete model stays: only the partial files go.
			partial, _ := filepath.Glob(filepath.Join(rc.dir, "blobs", "*.incomplete"))
			for _, p := range partial {
				if err := os.Remove(p); err != nil {
					return fmt.Errorf("discard the download of %s: %w", repo, err)
				}
			}
			return nil
		}
	}
	if err := os.RemoveAll(rc.dir); err != nil {
		return fmt.Errorf("discard the download of %s: %w", repo, err)
	}
	return nil
}
