package app

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A history folder whose permissions this user may not change (another user's, left by a run
// under sudo) is still opened, with what it holds: it used to be given up for a temporary one.
func TestOpenStoreCannotChmod(t *testing.T) {
	root := filepath.Join(t.TempDir(), "history")
	s, err := OpenStore(root)
	if err != nil {
		t.Fatal(err)
	}
	rec := &ChatRecord{Title: "kept"}
	if err := s.SaveChat(rec); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, setsDir), 0o755); err != nil { // as an earlier version left it
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, SettingsFile), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	refused := func(string, fs.FileMode) error { return syscall.EPERM }
	s2, err := openStore(root, refused)
	if err != nil {
		t.Fatalf("open a history whose permissions cannot be changed: %v", err)
	}
	if got, err := s2.LoadChat(rec.ID); err != nil || got.Title != "kept" {
		t.Errorf("the chat in it: %+v, %v", got, err)
	}
}
