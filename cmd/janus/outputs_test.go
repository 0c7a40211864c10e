package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
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
		{"generate folder", func(a []string, o, e *bytes.Buffer) error { return runGenerate(context.Background(), a, o, e) },
			[]string{"--model", missingModel, "--prompt", "a cat", "--out", dir + "/"}},
		{"generate file --json", func(a []string, o, e *bytes.Buffer) error { return runGenerate(context.Background(), a, o, e) },
			[]string{"--model", missingModel, "--prompt", "a cat", "--out", filepath.Join(dir, "cat.png"), "--json"}},
		{"generate several", func(a []string, o, e *bytes.Buffer) error { return runGenerate(context.Background(), a, o, e) },
			[]string{"--model", missingModel, "--prompt", "a cat", "--n", "2", "--out", filepath.Join(dir, "cat-%d.png")}},
		{"decode-tokens", func(a []string, o, e *bytes.Buffer) error { return runDecodeTokens(context.Background(), a, o, e) },
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
