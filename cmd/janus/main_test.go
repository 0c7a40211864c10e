package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestRun checks the dispatcher: help asked for on stdout (help for a mistake on stderr),
// version's flags, and that a bad flag value is reported on one line rather than with the
// whole usage.
func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string   // exact, when not ""
		stdoutHas  []string // substrings of stdout
		stderrHas  []string // substrings of stderr
		stderrMaxN int      // most stderr lines (0: no limit, -1: none at all)
	}{
		{name: "no command", args: nil, code: 2, stderrHas: []string{"usage: janus <command>", "generate"}},
		{name: "help", args: []string{"help"}, code: 0, stdoutHas: []string{"usage: janus <command>"}, stderrMaxN: -1},
		{name: "--help", args: []string{"--help"}, code: 0, stdoutHas: []string{"usage: janus <command>"}, stderrMaxN: -1},
		{name: "help for a command", args: []string{"help", "generate"}, code: 0,
			stdoutHas: []string{"usage: janus generate", "-prompt", "-n int", "(1 to 16)"}, stderrMaxN: -1},
		{name: "help for understand", args: []string{"help", "understand"}, code: 0,
			stdoutHas: []string{"usage: janus understand --model DIR|NAME [--image FILE ...] --prompt TEXT|--prompt-file FILE"}, stderrMaxN: -1},
		{name: "generate --help", args: []string{"generate", "--help"}, code: 0, stdoutHas: []string{"usage: janus generate"}, stderrMaxN: -1},
		{name: "bench -h", args: []string{"bench", "-h"}, code: 0, stdoutHas: []string{"usage: janus bench", "-kv-cache"}, stderrMaxN: -1},
		{name: "models -h", args: []string{"models", "-h"}, code: 0, stdoutHas: []string{"usage: janus models", "-dir"}, stderrMaxN: -1},
		{name: "pull -h", args: []string{"pull", "-h"}, code: 0, stdoutHas: []string{"usage: janus pull"}, stderrMaxN: -1},
		{name: "serve -h", args: []string{"serve", "-h"}, code: 0, stdoutHas: []string{"usage: janus serve", "-api-key"}, stderrMaxN: -1},
		{name: "unknown pull flag", args: []string{"pull", "--nope"}, code: 2,
			stderrHas: []string{"janus pull: flag provided but not defined: -nope (janus pull -h lists the flags)"}, stderrMaxN: 1},
		{name: "help for an unknown command", args: []string{"help", "paint"}, code: 2, stderrHas: []string{`unknown command "paint"`}},
		{name: "help for two commands", args: []string{"help", "info", "bench"}, code: 2, stderrHas: []string{"want one command"}},
		{name: "version", args: []string{"version"}, code: 0, stdout: "janus dev\n"},
		{name: "--version", args: []string{"--version"}, code: 0, stdout: "janus dev\n"},
		{name: "-v", args: []string{"-v"}, code: 0, stdout: "janus dev\n"},
		{name: "a model that fails to run", args: []string{"info", "--model", "./no-such-model"}, code: 1,
			stderrHas: []string{"janus info: model folder ./no-such-model does not exist"}, stderrMaxN: 1},
		{name: "version with a flag", args: []string{"version", "--json"}, code: 2,
			stderrHas: []string{"janus version: flag provided but not defined: -json"}, stderrMaxN: 1},
		{name: "version with a word", args: []string{"version", "now"}, code: 2, stderrHas: []string{`unexpected argument "now"`}},
		{name: "version -h", args: []string{"version", "-h"}, code: 0, stdoutHas: []string{"usage: janus version"}, stderrMaxN: -1},
		{name: "negative seed", args: []string{"generate", "--seed", "-1", "--prompt", "x", "--model", "m"}, code: 2,
			stderrHas: []string{`janus generate: invalid value "-1" for flag -seed`, "janus generate -h lists the flags"}, stderrMaxN: 1},
		{name: "unknown bench flag", args: []string{"bench", "--nope"}, code: 2,
			stderrHas: []string{"janus bench: flag provided but not defined: -nope"}, stderrMaxN: 1},
		{name: "unknown models flag", args: []string{"models", "--nope"}, code: 2,
			stderrHas: []string{"janus models: flag provided but not defined: -nope"}, stderrMaxN: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, strings.NewReader(""), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if tc.stdout != "" && stdout.String() != tc.stdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tc.stdout)
			}
			for _, s := range tc.stderrHas {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr does not mention %q:\n%s", s, stderr.String())
				}
			}
			for _, s := range tc.stdoutHas {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout does not mention %q:\n%s", s, stdout.String())
				}
			}
			if n := strings.Count(stderr.String(), "\n"); tc.stderrMaxN > 0 && n > tc.stderrMaxN {
				t.Errorf("stderr has %d lines, want at most %d:\n%s", n, tc.stderrMaxN, stderr.String())
			}
			if tc.stderrMaxN < 0 && stderr.Len() > 0 {
				t.Errorf("help asked for wrote to stderr:\n%s", stderr.String())
			}
		})
	}
}

// A command a signal stopped exits as a shell reports a process the signal ended: 128 plus
// its number (130 for Ctrl-C, 143 for SIGTERM), 130 for a cancellation without one.
func TestCancelledCode(t *testing.T) {
	for _, tc := range []struct {
		cause error
		want  int
	}{
		{signalled{os.Interrupt}, 130},
		{signalled{syscall.SIGTERM}, 143},
		{nil, 130},
	} {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(tc.cause)
		if got := cancelledCode(ctx); got != tc.want {
			t.Errorf("cancelled by %v: exit code %d, want %d", tc.cause, got, tc.want)
		}
	}
}
