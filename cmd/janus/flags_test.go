package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		hint    string
		wantErr string // "" for success
		help    bool
	}{
		{"flags only", []string{"--n", "2"}, "", "", false},
		{"stray word with a hint", []string{"--n", "2", "cat"}, "the prompt goes after --prompt", `unexpected argument "cat" (the prompt goes after --prompt)`, false},
		{"stray word", []string{"cat"}, "", `unexpected argument "cat"`, false},
		{"unknown flag", []string{"--nope"}, "", "flag provided but not defined: -nope (janus demo -h lists the flags)", false},
		{"bad value", []string{"--n", "-x"}, "", `invalid value "-x" for flag -n: parse error (janus demo -h lists the flags)`, false},
		{"help", []string{"-h"}, "", flag.ErrHelp.Error(), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			fs := newFlagSet("demo", &stdout, &stderr, "janus demo [flags]", "Show the flag helpers.", "Second line.")
			n := fs.Int("n", 1, "how many")
			err := parseArgs(fs, tc.args, tc.hint)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			case tc.wantErr == "" && *n != 2:
				t.Errorf("--n parsed as %d", *n)
			}
			if tc.help {
				if !errors.Is(err, flag.ErrHelp) {
					t.Errorf("-h gave %v, want flag.ErrHelp", err)
				}
				// Help asked for is output, for a pager or grep.
				want := "usage: janus demo [flags]\nShow the flag helpers.\nSecond line.\n  -n int\n"
				if !strings.HasPrefix(stdout.String(), want) {
					t.Errorf("usage printed %q on stdout, want it to start with %q", stdout.String(), want)
				}
				if stderr.Len() > 0 {
					t.Errorf("-h printed %q on stderr", stderr.String())
				}
			} else if stderr.Len() > 0 || stdout.Len() > 0 {
				// A mistake is reported once, by the caller, not with the whole usage.
				t.Errorf("printed %q on stderr, %q on stdout", stderr.String(), stdout.String())
			}
		})
	}
}

func TestFlagSetAndWriteJSON(t *testing.T) {
	fs := newFlagSet("demo", &bytes.Buffer{}, &bytes.Buffer{}, "janus demo")
	fs.Int("n", 1, "")
	fs.Int("m", 1, "")
	if err := parseArgs(fs, []string{"--m", "1"}, ""); err != nil {
		t.Fatal(err)
	}
	if flagSet(fs, "n") || !flagSet(fs, "m") {
		t.Errorf("flagSet: n %v (default), m %v (given with its default value)", flagSet(fs, "n"), flagSet(fs, "m"))
	}
	v := map[string]any{"text": "a<b & c>d", "ids": []int{1, 2}}
	for _, tc := range []struct {
		indent bool
		want   string
	}{
		{false, `{"ids":[1,2],"text":"a<b & c>d"}` + "\n"},
		{true, "{\n  \"ids\": [\n    1,\n    2\n  ],\n  \"text\": \"a<b & c>d\"\n}\n"},
	} {
		var out bytes.Buffer
		if err := writeJSON(&out, v, tc.indent); err != nil {
			t.Fatal(err)
		}
		if out.String() != tc.want {
			t.Errorf("indent %v: %q, want %q", tc.indent, out.String(), tc.want)
		}
	}
}

// TestLoadProgress: the loading line is redrawn only when its percentage changes and ended
// once, and nothing is written where stderr is not a terminal (a log or a test's buffer).
func TestLoadProgress(t *testing.T) {
	var buf bytes.Buffer
	p := newLoadProgress(&buf, "tiny-a")
	p.update(1, 3)
	p.end()
	if buf.Len() != 0 {
		t.Errorf("wrote %q to a buffer, want nothing where stderr is not a terminal", buf.String())
	}
	p = &loadProgress{w: &buf, name: "tiny-a", pct: -1}
	for done := range 5 {
		p.update(done, 400)
	}
	p.update(400, 400)
	p.end()
	if want := "\rloading tiny-a: 0%\rloading tiny-a: 1%\rloading tiny-a: 100%\n"; buf.String() != want {
		t.Errorf("wrote %q, want %q", buf.String(), want)
	}
}
