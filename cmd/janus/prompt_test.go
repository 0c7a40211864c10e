package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/internal/pngfile"
)

func TestPromptFlags(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, content)
		return p
	}
	question := file("q.txt", "What is in the picture?\n")
	crlf := file("crlf.txt", "two\nlines\r\n\r\n")
	empty := file("empty.txt", "")
	blank := file("blank.txt", " \n\t\n")
	latin1 := file("latin1.txt", "caf\xe9")
	tests := []struct {
		name    string
		p       promptFlags
		stdin   string
		want    string
		wantErr string
	}{
		{"text", promptFlags{text: "a cat"}, "", "a cat", ""},
		{"file, trailing newline dropped", promptFlags{file: question}, "", "What is in the picture?", ""},
		{"inner newlines kept", promptFlags{file: crlf}, "", "two\nlines", ""},
		{"stdin", promptFlags{file: "-"}, "from stdin\n", "from stdin", ""},
		{"both", promptFlags{text: "a", file: question}, "", "", "not both"},
		{"neither", promptFlags{}, "", "", "missing --prompt TEXT (or --prompt-file FILE)"},
		{"blank text", promptFlags{text: "  "}, "", "", "missing --prompt"},
		{"empty file", promptFlags{file: empty}, "", "", "--prompt-file " + empty + " is empty"},
		{"blank file", promptFlags{file: blank}, "", "", "is empty"},
		{"empty stdin", promptFlags{file: "-"}, "", "", "--prompt-file stdin is empty"},
		{"missing file", promptFlags{file: filepath.Join(dir, "nope.txt")}, "", "", "nope.txt: no such file"},
		{"a folder", promptFlags{file: dir}, "", "", "--prompt-file: read " + dir},
		{"not UTF-8", promptFlags{file: latin1}, "", "", "is not UTF-8 text"},
		{"too large", promptFlags{file: "-"}, strings.Repeat("a", maxPromptFileBytes+1), "", "larger than 16 MiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.p.read(strings.NewReader(tc.stdin))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("read = %q, %v; want an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("read = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// withPromptFile replaces --prompt TEXT in args by --prompt-file FILE.
func withPromptFile(args []string, file string) []string {
	out := slices.Clone(args)
	i := slices.Index(out, "--prompt")
	out[i], out[i+1] = "--prompt-file", file
	return out
}

// TestUnderstandPromptFile: a question read from a file or stdin gives the same answer as
// on the command line, and one longer than the context window is refused with advice for
// a one-shot question.
func TestUnderstandPromptFile(t *testing.T) {
	args, g := tinyAArgs(t)
	args = append(args, "--json")
	q := filepath.Join(t.TempDir(), "q.txt")
	writeFile(t, q, "Describe this image.\n")
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
	}{
		{"file", withPromptFile(args, q), ""},
		{"stdin", withPromptFile(args, "-"), "Describe this image."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := runUnderstand(context.Background(), tc.args, strings.NewReader(tc.stdin), &out, &errOut); err != nil {
				t.Fatalf("understand: %v\n%s", err, errOut.String())
			}
			var res understandResult
			if err := json.Unmarshal(out.Bytes(), &res); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Tokens, g.Understanding.GreedyTokens) {
				t.Errorf("tokens %v, want the golden %v", res.Tokens, g.Understanding.GreedyTokens)
			}
		})
	}

	// tiny-a's byte vocabulary makes a 20,000-character question 20,000 tokens, beyond its
	// 16,384 positions.
	long := filepath.Join(t.TempDir(), "long.txt")
	writeFile(t, long, strings.Repeat("why? ", 4000))
	var out, errOut bytes.Buffer
	err := runUnderstand(context.Background(), withPromptFile(args, long), nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "context window holds 16384") || !strings.Contains(err.Error(), "shorten the question") ||
		strings.Contains(err.Error(), "chat") {
		t.Errorf("a question beyond the window: %v", err)
	}
}

// TestUnderstandSeed: sampling without --seed draws a random seed, prints it on stderr and
// in --json, and that seed reproduces the answer; greedy answers have no seed.
func TestUnderstandSeed(t *testing.T) {
	args, _ := tinyAArgs(t)
	run := func(extra ...string) (understandResult, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := runUnderstand(context.Background(), append(slices.Clone(args), append(extra, "--json")...), nil, &out, &errOut); err != nil {
			t.Fatalf("understand %v: %v (stderr %q)", extra, err, errOut.String())
		}
		var res understandResult
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		return res, errOut.String()
	}
	seedLine := regexp.MustCompile(`(?m)^seed (\d+)$`)
	var seeds []uint64
	for range 2 {
		res, stderr := run("--temperature", "1")
		m := seedLine.FindStringSubmatch(stderr)
		if m == nil || res.Seed == nil || m[1] != strconv.FormatUint(*res.Seed, 10) {
			t.Fatalf("seed on stderr %q, in JSON %v: want the same seed in both", stderr, res.Seed)
		}
		seeds = append(seeds, *res.Seed)
		again, stderr := run("--temperature", "1", "--seed", m[1])
		if !slices.Equal(again.Tokens, res.Tokens) || again.Seed == nil || *again.Seed != *res.Seed {
			t.Errorf("--seed %s gave %v, the drawn seed gave %v", m[1], again.Tokens, res.Tokens)
		}
		if seedLine.MatchString(stderr) {
			t.Errorf("a given seed was printed: %q", stderr)
		}
	}
	if seeds[0] == seeds[1] {
		t.Errorf("two runs drew the same seed %d", seeds[0])
	}
	res, stderr := run("--temperature", "0")
	if res.Seed != nil || seedLine.MatchString(stderr) {
		t.Errorf("greedy answer reports seed %v, stderr %q", res.Seed, stderr)
	}
}

// TestGeneratePromptFile: generate reads its prompt from a file or stdin and stores it in the
// PNG as given (without the file's final newline).
func TestGeneratePromptFile(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	prompt := "A red fox\nin the snow"
	file := filepath.Join(t.TempDir(), "p.txt")
	writeFile(t, file, prompt+"\n")
	for _, tc := range []struct {
		name, arg, stdin string
	}{{"file", file, ""}, {"stdin", "-", prompt}} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "fox.png")
			var stdout, stderr bytes.Buffer
			err := runGenerate(context.Background(), []string{"--model", dir, "--prompt-file", tc.arg, "--seed", "3", "--out", out},
				strings.NewReader(tc.stdin), &stdout, &stderr)
			if err != nil {
				t.Fatalf("generate: %v\n%s", err, stderr.String())
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			text, err := pngfile.ReadText(data)
			if err != nil {
				t.Fatal(err)
			}
			if i := slices.IndexFunc(text, func(f pngfile.TextField) bool { return f.Key == "prompt" }); i < 0 || text[i].Value != prompt {
				t.Errorf("text chunks %v, want prompt %q", text, prompt)
			}
		})
	}
	var stdout, stderr bytes.Buffer
	err := runGenerate(context.Background(), []string{"--model", dir, "--prompt", "x", "--prompt-file", file}, nil, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("--prompt with --prompt-file: %v", err)
	}
}
