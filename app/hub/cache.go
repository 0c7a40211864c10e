package hub

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/janus-desktop/janus/internal/atomicfile"
)

// commitRE matches a full git commit id, the only thing refs/REV files hold.
var commitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// repoRE is what the hub accepts as a model repository id: ORG/NAME.
var repoRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)

// checkRepo rejects repository ids the hub would not have, and any that could leave the
// cache folder once turned into a path.
func checkRepo(repo string) error {
	if !repoRE.MatchString(repo) || strings.Contains(repo, "--") || strings.Contains(repo, "..") {
		return fmt.Errorf("repository %q: want ORG/NAME, as on the hub (deepseek-ai/Janus-Pro-1B)", repo)
	}
	return nil
}

// checkRevision rejects revisions that could leave refs/ (branches may contain slashes,
// as refs/pr/1 does).
func checkRevision(rev string) error {
	if rev == "" || strings.HasPrefix(rev, "/") || strings.ContainsAny(rev, `\`+"\x00") ||
		strings.Contains("/"+rev+"/", "/../") || strings.Contains("/"+rev+"/", "/./") {
		return fmt.Errorf("revision %q: want a branch, tag or commit id", rev)
	}
	return nil
}

// checkFileName rejects repository file names that could leave the snapshot folder.
func checkFileName(name string) error {
	if name == "" || filepath.IsAbs(name) || strings.HasPrefix(name, "/") || strings.ContainsAny(name, `\`+"\x00") {
		return fmt.Errorf("file name %q from the hub is not a relative path", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("file name %q from the hub is not a clean relative path", name)
		}
	}
	return nil
}

// pathSet holds a repository's file names and their folders by case-folded path, to find
// names that would land on the same file on a case-insensitive disk (macOS's and Windows'
// defaults): one download would overwrite the other's link.
type pathSet map[string]pathEntry

type pathEntry struct {
	name string // as the hub spells it
	dir  bool
}

// add records the file name and its folders, or says which earlier name it collides with:
// the same path in another case, the same name twice, or a file where a folder is.
func (ps pathSet) add(name string) error {
	parts := strings.Split(name, "/")
	for i := range parts {
		path := strings.Join(parts[:i+1], "/")
		e := pathEntry{name: path, dir: i < len(parts)-1}
		key := strings.ToLower(strings.ToUpper(path))
		old, ok := ps[key]
		switch {
		case !ok:
			ps[key] = e
		case old.name != e.name:
			return fmt.Errorf("file names %q and %q from the hub differ only in case: they would be one file on a case-insensitive disk", old.name, e.name)
		case !old.dir || !e.dir:
			return fmt.Errorf("the hub lists %q twice, or as both a file and a folder", e.name)
		}
	}
	return nil
}

// RepoFolder is the cache folder name of a model repository: models--ORG--NAME.
func RepoFolder(repo string) string {
	return "models--" + strings.ReplaceAll(repo, "/", "--")
}

// repoCache is one repository's folder in a hub cache.
type repoCache struct {
	dir string // HUB_CACHE/models--ORG--NAME
}

func (r repoCache) blob(id string) string { return filepath.Join(r.dir, "blobs", id) }

func (r repoCache) snapshot(commit string) string { return filepath.Join(r.dir, "snapshots", commit) }

func (r repoCache) ref(rev string) string {
	return filepath.Join(r.dir, "refs", filepath.FromSlash(rev))
}

// readRef returns the commit refs/REV names, or "" when there is none. A revision that is
// already a commit id names itself.
func (r repoCache) readRef(rev string) (string, error) {
	raw, err := os.ReadFile(r.ref(rev))
	if errors.Is(err, fs.ErrNotExist) {
		if commitRE.MatchString(rev) {
			return rev, nil
		}
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read cache ref: %w", err)
	}
	commit := strings.TrimSpace(string(raw))
	if !commitRE.MatchString(commit) {
		return "", fmt.Errorf("cache ref %s holds %q, not a commit id", r.ref(rev), commit)
	}
	return commit, nil
}

// writeRef records that rev is commit: the bare 40-hex id with no newline, as
// huggingface_hub writes it, replaced atomically. The temporary file is made in the
// repository's lock folder, which every client's scan skips (in refs/ it would read as a
// ref if a kill left it).
func (r repoCache) writeRef(rev, commit string) error {
	return writeFileAtomic(r.ref(rev), r.lockDir(), []byte(commit))
}

// lockDir is the repository's folder under HUB_CACHE/.locks.
func (r repoCache) lockDir() string {
	return filepath.Join(filepath.Dir(r.dir), ".locks", filepath.Base(r.dir))
}

// link points snapshots/COMMIT/NAME at blobs/ID with a relative symlink. No temporary
// file is made beside it (other clients' cache scans would list it): a kill between
// removing a wrong link and making the right one leaves the file missing, which the next
// pull repairs.
func (r repoCache) link(commit, name, id string) error {
	dst := filepath.Join(r.snapshot(commit), filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("snapshot folder: %w", err)
	}
	target, err := filepath.Rel(filepath.Dir(dst), r.blob(id))
	if err != nil {
		return fmt.Errorf("link %s: %w", name, err)
	}
	if cur, err := os.Readlink(dst); err == nil && cur == target {
		return nil
	}
	if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("link %s: %w", name, err)
	}
	if err := os.Symlink(target, dst); err != nil {
		return fmt.Errorf("link %s: %w", name, err)
	}
	return syncDir(filepath.Dir(dst))
}

// writeFileAtomic writes data to path through a temporary file in tmpDir (on the same
// disk): atomicfile.Write's fsync, rename, fsync of the folders, so a reader sees the old
// content or the new, never a part.
func writeFileAtomic(path, tmpDir string, data []byte) error {
	for _, d := range []string{filepath.Dir(path), tmpDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return atomicfile.Write(path, data, atomicfile.Options{TempDir: tmpDir})
}

// syncDir makes a rename or link in dir durable.
func syncDir(dir string) error { return atomicfile.SyncDir(dir) }
