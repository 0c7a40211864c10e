package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/janus-desktop/janus/internal/pngfile"
)

// unwritableDir returns a folder this process cannot create files in: a read-only temporary
// folder, or /sys for root on Linux (which permissions do not stop).
func unwritableDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() == 0 {
		if runtime.GOOS != "linux" {
			t.Skip("running as root, and no folder root cannot write to is known on " + runtime.GOOS)
		}
		return "/sys"
	}
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	return dir
}

// TestOutputFolderNotWritable: generate and decode-tokens refuse an output folder they
// cannot write to before the model is loaded (the model here does not exist, so an error
// about it would mean the check came too late), with --json too.
func TestOutputFolderNotWritable(t *testing.T) {
	dir := unwritableDir(t)
	grid := filepath.Join(t.TempDir(), "grid.json")
	writeFile(t, grid, "[1,2,3,4]")
	missingModel := filepath.Join(t.TempDir(), "no-model")
	for _, tc := range []struct {
		name string
		run  func(args []string, stdout, stderr *bytes.Buffer) error
		args []string
	}{
		{"generate folder", func(a []string, o, e *bytes.Buffer) error { return runGenerate(context.Background(), a, nil, o, e) },
			[]string{"--model", missingModel, "--prompt", "a cat", "--out", dir + "/"}},
		{"generate file --json", func(a []string, o, e *bytes.Buffer) error { return runGenerate(context.Background(), a, nil, o, e) },
			[]string{"--model", missingModel, "--prompt", "a cat", "--out", filepath.Join(dir, "cat.png"), "--json"}},
		{"generate several", func(a []string, o, e *bytes.Buffer) error { return runGenerate(context.Background(), a, nil, o, e) },
			[]string{"--model", missingModel, "--prompt", "a cat", "--n", "2", "--out", filepath.Join(dir, "cat-%d.png")}},
		{"decode-tokens", func(a []string, o, e *bytes.Buffer) error { return runDecodeTokens(context.Background(), a, nil, o, e) },
			[]string{"--model", missingModel, "--tokens", grid, "--out", filepath.Join(dir, "d.png")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := tc.run(tc.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), "not writable") || !strings.Contains(err.Error(), dir) {
				t.Fatalf("error %v, want one saying %s is not writable", err, dir)
			}
			if strings.Contains(err.Error(), "no-model") {
				t.Errorf("error %v mentions the model: the output was checked after loading it", err)
			}
		})
	}
}

// TestStaleTempsRemoved: the next run in a folder removes the hidden temporary files a
// killed run left there (older than pngfile.StaleTempAge), and only those; it names the
// younger ones it keeps.
func TestStaleTempsRemoved(t *testing.T) {
	for _, cmd := range []string{"generate", "decode-tokens"} {
		t.Run(cmd, func(t *testing.T) {
			dir := t.TempDir()
			stale := filepath.Join(dir, ".janus-1.png.2960427301.tmp")
			fresh := filepath.Join(dir, ".janus-2.png.123.tmp")
			mine := filepath.Join(dir, ".notes.tmp")
			for _, p := range []string{stale, fresh, mine} {
				writeFile(t, p, "half a PNG")
			}
			old := time.Now().Add(-2 * pngfile.StaleTempAge)
			for _, p := range []string{stale, mine} {
				if err := os.Chtimes(p, old, old); err != nil {
					t.Fatal(err)
				}
			}
			grid := filepath.Join(t.TempDir(), "grid.json")
			writeFile(t, grid, "[1,2,3,4]")
			missingModel := filepath.Join(t.TempDir(), "no-model")
			var stdout, stderr bytes.Buffer
			var err error
			if cmd == "generate" {
				err = runGenerate(context.Background(), []string{"--model", missingModel, "--prompt", "a cat", "--out", dir}, nil, &stdout, &stderr)
			} else {
				err = runDecodeTokens(context.Background(), []string{"--model", missingModel, "--tokens", grid, "--out", dir}, nil, &stdout, &stderr)
			}
			if err == nil {
				t.Fatal("ran without a model")
			}
			if _, err := os.Lstat(stale); err == nil {
				t.Errorf("stale %s is still there", stale)
			}
			for _, p := range []string{fresh, mine} {
				if _, err := os.Lstat(p); err != nil {
					t.Errorf("%s was removed: %v", p, err)
				}
			}
			if !strings.Contains(stderr.String(), "removed "+stale) {
				t.Errorf("stderr does not say what was removed:\n%s", stderr.String())
			}
			if !strings.Contains(stderr.String(), "kept "+fresh) || strings.Contains(stderr.String(), mine) {
				t.Errorf("stderr does not name the young temporary file kept (and only it):\n%s", stderr.String())
			}
		})
	}
}
