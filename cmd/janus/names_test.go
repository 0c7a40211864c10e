package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/app/apptest"
)

// TestEveryCommandTakesAModelName runs every command that takes a model with the name
// 'janus models' lists instead of a folder (finding 2 of issue 13).
func TestEveryCommandTakesAModelName(t *testing.T) {
	root := t.TempDir()
	apptest.TinyA(t, filepath.Join(root, "Tiny-Pro"))
	t.Setenv("JANUS_MODELS", root)
	out := t.TempDir()
	grid := filepath.Join(out, "grid.json")
	writeFile(t, grid, "["+strings.TrimSuffix(strings.Repeat("1,", 36), ",")+"]")

	type runner func(args []string, stdin io.Reader, stdout, stderr io.Writer) error
	ctx := context.Background()
	tests := []struct {
		name   string
		run    runner
		args   []string
		stdin  string
		stdout string // a substring of stdout
	}{
		{"info", func(a []string, _ io.Reader, o, e io.Writer) error { return runInfo(a, o, e) },
			[]string{"--model", "tiny-pro"}, "", "family"},
		{"info --json", func(a []string, _ io.Reader, o, e io.Writer) error { return runInfo(a, o, e) },
			[]string{"--model", "TINY-PRO", "--json"}, "", `"family": "Janus-Pro"`},
		{"tokenize", func(a []string, in io.Reader, o, e io.Writer) error { return runTokenize(a, in, o, e) },
			[]string{"--tokenizer", "tiny-pro"}, `"hi"`, "[104,105]"},
		{"bench", func(a []string, _ io.Reader, o, e io.Writer) error { return runBench(ctx, a, o, e) },
			[]string{"--model", "tiny-pro", "--stages", "vq_decode", "--repeat", "1", "--bw-mb", "0", "--json"}, "", `"preset":"tiny-pro"`},
		{"understand", func(a []string, in io.Reader, o, e io.Writer) error { return runUnderstand(ctx, a, in, o, e) },
			[]string{"--model", "tiny-pro", "--prompt", "hi", "--max-new-tokens", "1", "--json"}, "", `"finish_reason"`},
		{"generate", func(a []string, in io.Reader, o, e io.Writer) error { return runGenerate(ctx, a, in, o, e) },
			[]string{"--model", "tiny-pro", "--prompt", "hi", "--seed", "1", "--out", filepath.Join(out, "g.png")}, "", "g.png"},
		{"decode-tokens", func(a []string, _ io.Reader, o, e io.Writer) error { return runDecodeTokens(ctx, a, nil, o, e) },
			[]string{"--model", "tiny-pro", "--tokens", grid, "--out", filepath.Join(out, "d.png")}, "", "d.png"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if err := tc.run(tc.args, strings.NewReader(tc.stdin), &stdout, &stderr); err != nil {
				t.Fatalf("%s %q: %v\nstderr:\n%s", tc.name, tc.args, err, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout does not hold %q:\n%s", tc.stdout, stdout.String())
			}
		})
	}

	// A name no model has is an error naming the known ones, for every command.
	for _, tc := range tests {
		args := append([]string{}, tc.args...)
		for i, a := range args {
			if a == "tiny-pro" || a == "TINY-PRO" {
				args[i] = "no-such-model"
			}
		}
		if tc.name == "generate" || tc.name == "decode-tokens" {
			args = append(args, "--force") // the files of the first pass exist
		}
		err := tc.run(args, strings.NewReader(tc.stdin), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), `"no-such-model"`) || !strings.Contains(err.Error(), "Tiny-Pro") {
			t.Errorf("%s with an unknown name: %v, want an error naming it and the known models", tc.name, err)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
