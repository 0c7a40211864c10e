// Package atomicfile writes files so that a crash at any moment leaves either the old file or
// the new one, complete: the data goes to a temporary file in the same folder (or one on the
// same disk), which is synced, moved into place, and the folder is synced so that the move
// itself survives. It is the one writer behind the history store, the PNG writer and the model
// cache, so that the steps and their error reports stay the same everywhere.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrExists is wrapped by Write when Options.NoOverwrite is set and the target exists.
var ErrExists = errors.New("file already exists")

// Options adjust Write. The zero value overwrites, with mode 0644, through a temporary file
// beside the target.
type Options struct {
	// Perm is the file's mode (0644 when zero).
	Perm fs.FileMode
	// TempDir is where the temporary file is made ("" for the target's folder); it must be
	// on the target's filesystem for the final rename.
	TempDir string
	// NoOverwrite leaves an existing target alone: the error then wraps ErrExists. The
	// temporary file is hard-linked into place, which fails if the target appeared meanwhile
	// (a rename would replace it); where links are not supported, it checks and renames.
	NoOverwrite bool
}

// TempPattern is the os.CreateTemp pattern of the temporary file for path: hidden, named
// after the target, so that a cleaner can recognise the leftovers of a killed process.
func TempPattern(path string) string { return "." + filepath.Base(path) + ".*.tmp" }

// Write writes data to path atomically (see the package doc). Each step's failure is
// reported with the file it concerns, and the temporary file is removed.
func Write(path string, data []byte, opt Options) (err error) {
	perm := opt.Perm
	if perm == 0 {
		perm = 0o644
	}
	tmpDir := opt.TempDir
	if tmpDir == "" {
		tmpDir = filepath.Dir(path)
	}
	if opt.NoOverwrite {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("write %s: %w", path, ErrExists)
		}
	}
	tmp, err := os.CreateTemp(tmpDir, TempPattern(path))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				tmp.Close()
			}
			os.Remove(name)
		}
	}()
	// The temporary file's failures name the file being written: its hidden temporary name
	// said nothing to the person whose disk was full.
	if _, err = tmp.Write(data); err != nil {
		return bare(err, path)
	}
	if err = tmp.Chmod(perm); err != nil {
		return bare(err, path)
	}
	if err = tmp.Sync(); err != nil {
		return bare(err, path)
	}
	closed = true
	if err = tmp.Close(); err != nil {
		return bare(err, path)
	}
	if err = place(name, path, opt.NoOverwrite); err != nil {
		return err
	}
	if tmpDir != filepath.Dir(path) {
		if err := SyncDir(tmpDir); err != nil {
			return err
		}
	}
	return SyncDir(filepath.Dir(path))
}

// bare is err of the temporary file as the failure to write path: a *fs.PathError naming
// path (which advice on a full disk reads the folder from), with err's cause.
func bare(err error, path string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &fs.PathError{Op: "write", Path: path, Err: err}
}

// place moves the finished temporary file name to path.
func place(name, path string, noOverwrite bool) error {
	if !noOverwrite {
		if err := os.Rename(name, path); err != nil {
			return fmt.Errorf("move %s into place: %w", path, err)
		}
		return nil
	}
	err := os.Link(name, path)
	switch {
	case err == nil:
		if err := os.Remove(name); err != nil {
			return fmt.Errorf("remove %s: %w", name, err)
		}
		return nil
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("write %s: %w", path, ErrExists)
	}
	// Filesystems without hard links (FAT, some network shares): check, then rename.
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("write %s: %w", path, ErrExists)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("move %s into place: %w", path, err)
	}
	return nil
}

// SyncDir makes a folder's entries (a rename, a new file or link) durable. Systems that
// cannot sync a folder (Windows) report an error that is not one.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !ignorableSyncError(err) {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}
