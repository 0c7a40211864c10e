package pngfile

import (
	"image"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/janus-desktop/janus/internal/atomicfile"
)

// TestRemoveStaleTemps: only old files named like Write's temporary files go; a real
// temporary file of Write matches the pattern.
func TestRemoveStaleTemps(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	tests := []struct {
		name   string
		dir    bool // make a folder instead of a file
		link   bool // make a symlink to a file
		mtime  time.Time
		remove bool
		keep   bool // reported as kept: too young
	}{
		{name: ".cat.png.123456.tmp", mtime: old, remove: true},
		{name: ".janus-7-0.PNG.42.tmp", mtime: old, remove: true},
		{name: ".fresh.png.99.tmp", mtime: time.Now(), keep: true}, // may be another run's
		{name: "cat.png.123.tmp", mtime: old},                      // not hidden: not ours
		{name: ".notes.txt.123.tmp", mtime: old},
		{name: ".cat.png.12x.tmp", mtime: old},
		{name: ".cat.png.tmp", mtime: old},
		{name: ".cat.png", mtime: old},
		{name: "cat.png", mtime: old},
		{name: ".dir.png.1.tmp", dir: true, mtime: old},
		{name: ".link.png.1.tmp", link: true, mtime: old},
	}
	target := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(target, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var want, wantKept []string
	for _, tc := range tests {
		p := filepath.Join(dir, tc.name)
		var err error
		switch {
		case tc.dir:
			err = os.Mkdir(p, 0o755)
		case tc.link:
			err = os.Symlink(target, p)
		default:
			err = os.WriteFile(p, []byte("x"), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		if !tc.link {
			if err := os.Chtimes(p, tc.mtime, tc.mtime); err != nil {
				t.Fatal(err)
			}
		}
		if tc.remove {
			want = append(want, p)
		}
		if tc.keep {
			wantKept = append(wantKept, p)
		}
	}
	got, kept, err := RemoveStaleTemps(dir, StaleTempAge)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("removed %v, want %v", got, want)
	}
	if !slices.Equal(kept, wantKept) {
		t.Errorf("kept %v, want %v", kept, wantKept)
	}
	for _, tc := range tests {
		_, err := os.Lstat(filepath.Join(dir, tc.name))
		if exists := err == nil; exists == tc.remove {
			t.Errorf("%s: exists %v after the sweep, want %v", tc.name, exists, !tc.remove)
		}
	}

	// The pattern is the one Write uses: a temporary file it makes is recognised.
	f, err := os.CreateTemp(dir, atomicfile.TempPattern(filepath.Join(dir, "image.png")))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if !tempName.MatchString(filepath.Base(f.Name())) {
		t.Errorf("Write's temporary name %s does not match %v", f.Name(), tempName)
	}
	if err := Write(filepath.Join(dir, "image.png"), image.NewNRGBA(image.Rect(0, 0, 2, 2)), nil, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := RemoveStaleTemps(filepath.Join(dir, "missing"), 0); err == nil {
		t.Error("no error for a missing folder")
	}
}
