package app

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/janus-desktop/janus/internal/atomicfile"
)

// The store holds the user's chats, pictures and settings: private to the user.
const (
	storeFilePerm = 0o600
	storeDirPerm  = 0o700
)

// writeFileAtomic replaces path with data (atomicfile.Write: a crash leaves the old file or the
// new one, complete), readable by the user only.
func writeFileAtomic(path string, data []byte) error {
	return atomicfile.Write(path, data, atomicfile.Options{Perm: storeFilePerm})
}

// writeFileMkdir is writeFileAtomic, making the folder first when someone removed it while
// the app runs (clearing the history by hand).
func writeFileMkdir(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), storeDirPerm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return writeFileAtomic(path, data)
}

// syncDir makes a folder's entries (a rename, a removal) durable.
func syncDir(dir string) error { return atomicfile.SyncDir(dir) }
