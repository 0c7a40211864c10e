package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing string // "" for no file before
		opt      Options
		wantData string
		wantErr  error
		wantPerm fs.FileMode
	}{
		{"new file", "", Options{}, "new", nil, 0o644},
		{"overwrite", "old", Options{}, "new", nil, 0o644},
		{"private", "", Options{Perm: 0o600}, "new", nil, 0o600},
		{"no overwrite, new", "", Options{NoOverwrite: true}, "new", nil, 0o644},
		{"no overwrite, existing", "old", Options{NoOverwrite: true}, "old", ErrExists, 0o644},
		{"temp folder elsewhere", "old", Options{TempDir: "tmp"}, "new", nil, 0o644},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f.json")
			if tc.existing != "" {
				if err := os.WriteFile(path, []byte(tc.existing), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			opt := tc.opt
			if opt.TempDir != "" {
				opt.TempDir = filepath.Join(dir, opt.TempDir)
				if err := os.Mkdir(opt.TempDir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			err := Write(path, []byte("new"), opt)
			if !errors.Is(err, tc.wantErr) || (err != nil) != (tc.wantErr != nil) {
				t.Fatalf("Write: %v, want %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != tc.wantData {
				t.Fatalf("file holds %q (%v), want %q", got, err, tc.wantData)
			}
			if st, err := os.Stat(path); err == nil && runtime.GOOS != "windows" && st.Mode().Perm() != tc.wantPerm {
				t.Errorf("mode %v, want %v", st.Mode().Perm(), tc.wantPerm)
			}
			for _, d := range []string{dir, opt.TempDir} {
				if d == "" {
					continue
				}
				if tmps, _ := filepath.Glob(filepath.Join(d, ".*.tmp")); len(tmps) > 0 {
					t.Errorf("temporary files left: %v", tmps)
				}
			}
		})
	}
}

// TestWriteReportsEachStep: a failure names the step and the file, and leaves no temporary
// file behind.
func TestWriteReportsEachStep(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, path, want string
		opt              Options
	}{
		{"missing folder", filepath.Join(dir, "none", "f"), "write " + filepath.Join(dir, "none", "f"), Options{}},
		{"target is a folder", dir, "move " + dir + " into place", Options{TempDir: t.TempDir()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Write(tc.path, []byte("x"), tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Write: %v, want an error containing %q", err, tc.want)
			}
			if tc.opt.TempDir != "" {
				if tmps, _ := filepath.Glob(filepath.Join(tc.opt.TempDir, ".*.tmp")); len(tmps) > 0 {
					t.Errorf("temporary files left: %v", tmps)
				}
			}
		})
	}
	if err := SyncDir(filepath.Join(dir, "none")); err == nil || !strings.Contains(err.Error(), "sync folder") {
		t.Errorf("SyncDir of a missing folder: %v", err)
	}
}

// A failure of the temporary file is told without its hidden name: the cause alone, which
// errors.Is still finds, goes after the path being written.
func TestBare(t *testing.T) {
	err := &fs.PathError{Op: "write", Path: "/x/.a.png.123.tmp", Err: syscall.ENOSPC}
	got := bare(err, "/x/a.png")
	var pe *fs.PathError
	if got.Error() != "write /x/a.png: no space left on device" || !errors.Is(got, syscall.ENOSPC) ||
		!errors.As(got, &pe) || pe.Path != "/x/a.png" {
		t.Errorf("%q (ENOSPC %v)", got, errors.Is(got, syscall.ENOSPC))
	}
	if got := bare(errors.New("other"), "/x/a.png"); got.Error() != "write /x/a.png: other" {
		t.Errorf("an error that is no path error: %q", got)
	}
}
