package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/hub/hubtest"
	"github.com/janus-desktop/janus/internal/fixtures"
)

// The commands of the README and of docs/*.md are run here, so that none can rot. A shell
// block (```sh) is split into commands by readmeLex, and each command is checked by what
// it starts with:
//
//   - janus: run through run(), in README order, in one temporary working folder, with a
//     hub-like server (app/hub/hubtest) serving tiny-a under the three released names, so
//     `janus pull` and every --model name work as written. The one substitution: the README's
//     example files and values become the test's (readmeSubst: photo.jpg and photo.png are
//     tiny-a's test image, COMMIT its commit, --preset NAME tiny-a's config, since the
//     released shapes need gigabytes; paths under testdata/ are the repository's). `janus
//     serve` starts in the background on a free port.
//   - curl: run by bash against that server (needs bash, curl, jq and base64).
//   - make: each target must be one of the Makefile's; JANUS_MODELS=DIR before it must name
//     the repository's folder of test models.
//   - go test (also in the text's inline code): the packages, and the tests or benchmarks
//     that -run and -bench select, must exist; of inline go build, run, generate and vet,
//     the packages.
//   - cd ../shared/bench && python3 torch_peer.py: the script must take every flag given.
//
// Inline `janus CMD ...` code in the text is run with -h added: the command and its flags
// must exist.

// readmeCommand is one command of a README shell block.
type readmeCommand struct {
	section string       // the ## heading it is under
	raw     string       // its text, comment removed, as bash would read it
	words   []readmeWord // its words, quotes removed
}

// readmeWord is a shell word; op marks an unquoted | or >, which readmeRun interprets.
type readmeWord struct {
	text string
	op   bool
}

// readmeLex splits a shell block into commands: words separated by blanks, '...' and "..."
// quoting (no expansion inside: the janus examples need none, and curl lines go to bash as
// raw text), backslash-newline continuations, # comments, and newlines outside quotes
// ending a command.
func readmeLex(block string) ([]readmeCommand, error) {
	var (
		cmds    []readmeCommand
		raw     strings.Builder
		words   []readmeWord
		word    strings.Builder
		inWord  bool
		quoted  bool
		quote   rune
		rs      = []rune(block)
		endWord func()
		endCmd  func()
	)
	endWord = func() {
		if inWord {
			w := word.String()
			words = append(words, readmeWord{text: w, op: !quoted && (w == "|" || w == ">")})
		}
		word.Reset()
		inWord, quoted = false, false
	}
	endCmd = func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, readmeCommand{raw: strings.TrimSpace(raw.String()), words: words})
		}
		raw.Reset()
		words = nil
	}
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case quote != 0:
			raw.WriteRune(c)
			if c == quote {
				quote = 0
			} else {
				word.WriteRune(c)
			}
		case c == '\'' || c == '"':
			raw.WriteRune(c)
			quote, inWord, quoted = c, true, true
		case c == '\\' && i+1 < len(rs) && rs[i+1] == '\n':
			raw.WriteString("\\\n")
			i++
			endWord()
		case c == '#' && !inWord:
			for i+1 < len(rs) && rs[i+1] != '\n' {
				i++
			}
		case c == '\n':
			endCmd()
		case c == ' ' || c == '\t':
			raw.WriteRune(c)
			endWord()
		default:
			raw.WriteRune(c)
			word.WriteRune(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, raw.String())
	}
	endCmd()
	return cmds, nil
}

// readmeParse returns the shell-block commands of the README and then of docs/*.md, with
// their sections ("docs/NAME.md: heading" for the docs), and the inline code spans of
// their text.
func readmeParse(t *testing.T) (cmds []readmeCommand, inline []string) {
	t.Helper()
	root := repoRoot(t)
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("no docs/*.md in %s (%v)", root, err)
	}
	for _, path := range append([]string{filepath.Join(root, "README.md")}, docs...) {
		prefix := ""
		if rel, _ := filepath.Rel(root, path); rel != "README.md" {
			prefix = filepath.ToSlash(rel) + ": "
		}
		c, in := readmeParseFile(t, path, prefix)
		cmds, inline = append(cmds, c...), append(inline, in...)
	}
	return cmds, inline
}

// readmeParseFile is readmeParse for one Markdown file, its sections named with prefix.
func readmeParseFile(t *testing.T, path, prefix string) (cmds []readmeCommand, inline []string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	section := prefix
	lines := strings.Split(string(raw), "\n")
	span := regexp.MustCompile("`([^`]+)`")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.HasPrefix(line, "## ") {
			section = prefix + strings.TrimPrefix(line, "## ")
		}
		if !strings.HasPrefix(line, "```") {
			for _, m := range span.FindAllStringSubmatch(line, -1) {
				inline = append(inline, m[1])
			}
			continue
		}
		lang := strings.TrimPrefix(line, "```")
		var block []string
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			block = append(block, lines[i])
		}
		if lang != "sh" {
			continue // diagrams
		}
		cs, err := readmeLex(strings.Join(block, "\n"))
		if err != nil {
			t.Fatalf("README section %q: %v", section, err)
		}
		for _, c := range cs {
			c.section = section
			cmds = append(cmds, c)
		}
	}
	return cmds, inline
}

// TestReadmeCommands runs or checks every command of the README's shell blocks (see the
// comment at the top of this file).
func TestReadmeCommands(t *testing.T) {
	cmds, _ := readmeParse(t)
	s := hubtest.New(t)
	var commit string
	for _, repo := range []string{"deepseek-ai/Janus-Pro-1B", "deepseek-ai/Janus-Pro-7B", "deepseek-ai/Janus-1.3B"} {
		c := s.AddTinyA(t, repo)
		if repo == pullRepo {
			commit = c
		}
	}
	pullEnv(t, s)
	args, _ := tinyAArgs(t)
	root := repoRoot(t)
	subst := readmeSubst{
		image:  args[3],
		commit: commit,
		config: fixtures.Path(t, "models", "tiny-a", "config.json"),
		root:   root,
	}
	t.Chdir(t.TempDir()) // the examples' output files land here
	kinds := map[string]int{}
	for _, c := range cmds {
		w := c.words
		name := w[0].text
		switch {
		case name == "janus" || (name == "echo" && len(w) > 3 && w[2].op && w[3].text == "janus"):
			subst.runJanus(t, c)
		case name == "curl":
			subst.runCurl(t, c)
		case name == "make":
			checkMakeTargets(t, root, c.raw, w[1:])
		case strings.HasPrefix(name, "JANUS_MODEL=") && len(w) > 1 && w[1].text == "make":
			// The folder must be the repository's, and be a model.
			dir := filepath.Join(root, strings.TrimPrefix(name, "JANUS_MODEL="))
			if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
				t.Errorf("README %q: %v", c.raw, err)
			}
			checkMakeTargets(t, root, c.raw, w[2:])
		case name == "tar" && c.raw == "tar -xJf dist/janus-desktop-linux-amd64.tar.xz",
			name == "sudo" && c.raw == "sudo make -C janus-desktop install":
			// The Linux package and its install: .ci/run makes it (make dist) and installs
			// it as written here, which a test cannot do without the fyne tool and minutes.
			ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
			if err != nil || !strings.Contains(string(ci), `pkg="dist/janus-desktop-linux-$(go env GOARCH).tar.xz"`) ||
				!strings.Contains(string(ci), `make -s -C "$inst/janus-desktop" install`) {
				t.Errorf("README %q: .ci/run does not build and install the package so (%v)", c.raw, err)
			}
		case name == "export" && c.raw == "export PATH=$PWD/bin:$PATH":
			// What make build writes must be there.
			mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
			if err != nil || !strings.Contains(string(mk), "-o bin/janus ./cmd/janus") {
				t.Errorf("README %q: the Makefile does not build bin/janus (%v)", c.raw, err)
			}
		case name == "cd" && len(w) > 2 && w[1].text == "../shared/bench":
			checkPeerBench(t, root, c)
		case name == "go" || strings.HasPrefix(name, "GOARCH="):
			checkGoTest(t, root, c.raw)
		default:
			t.Errorf("README section %q: no test knows the command %q; add one to readme_test.go", c.section, c.raw)
			continue
		}
		kinds[name]++
		t.Logf("checked (%s): %s", c.section, c.raw)
	}
	if kinds["janus"] < 10 || kinds["make"] < 2 || kinds["curl"] < 2 {
		t.Errorf("checked %v README commands, want the examples (is the README parsed right?)", kinds)
	}
}

// readmeSubst turns the README's example files and values into the test's (see the top).
type readmeSubst struct {
	image, commit, config string
	serveURL              string // the janus serve the curl lines reach
	// root is the repository's folder, which paths under testdata/ are relative to (the
	// commands run in a temporary folder).
	root string
}

func (r *readmeSubst) words(ws []readmeWord) []string {
	var out []string
	for i := 0; i < len(ws); i++ {
		w := ws[i].text
		switch {
		case w == "photo.jpg" || w == "photo.png":
			w = r.image
		case w == "COMMIT":
			w = r.commit
		case strings.HasPrefix(w, "testdata/"):
			w = filepath.Join(r.root, w)
		case w == "--preset" && i+1 < len(ws):
			out = append(out, "--config", r.config)
			i++
			continue
		}
		out = append(out, w)
	}
	return out
}

// runJanus runs `[echo TEXT |] janus ARGS [> FILE]` through run().
func (r *readmeSubst) runJanus(t *testing.T, c readmeCommand) {
	t.Helper()
	ws := c.words
	var stdin *strings.Reader
	if ws[0].text == "echo" {
		stdin = strings.NewReader(ws[1].text + "\n")
		ws = ws[3:]
	}
	var outFile string
	if n := len(ws); n > 2 && ws[n-2].op && ws[n-2].text == ">" {
		outFile, ws = ws[n-1].text, ws[:n-2]
	}
	for _, w := range ws {
		if w.op {
			t.Fatalf("README %q: only `echo X | janus ... > FILE` is understood here", c.raw)
		}
	}
	args := r.words(ws[1:])
	if args[0] == "serve" {
		// In the background on a free port, as startServe does; the curl lines use it.
		url, _ := startServeIn(t, app.DefaultRoots(app.EnvFromOS()), args[1:]...)
		r.serveURL = url
		return
	}
	var out, errOut bytes.Buffer
	var code int
	if stdin != nil {
		code = run(context.Background(), args, stdin, &out, &errOut)
	} else {
		code = run(context.Background(), args, nil, &out, &errOut)
	}
	if code != 0 {
		t.Errorf("README section %q: %s: exit %d\n%s%s", c.section, c.raw, code, out.String(), errOut.String())
		return
	}
	if outFile != "" {
		if err := os.WriteFile(outFile, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out.Len() == 0 && outFile == "" && args[0] != "pull" {
		// Every example prints something: an answer, a table, ids, timings, paths.
		if args[0] != "generate" && args[0] != "decode-tokens" {
			t.Errorf("README %q printed nothing", c.raw)
		}
	}
}

// runCurl runs a curl example with bash against the janus serve an earlier line started.
func (r *readmeSubst) runCurl(t *testing.T, c readmeCommand) {
	t.Helper()
	for _, tool := range []string{"bash", "curl", "jq", "base64"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("JANUS_REQUIRE_README_TOOLS") != "" {
				t.Fatalf("README %q needs %s (.ci/run installs it)", c.raw, tool)
			}
			t.Logf("README %q not run: %s is not installed", c.raw, tool)
			return
		}
	}
	if r.serveURL == "" {
		t.Fatalf("README %q: no `janus serve` line before it", c.raw)
	}
	// photo.png is a file in the working folder for bash, as the README has it.
	img, err := os.ReadFile(r.image)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("photo.png", img, 0o644); err != nil {
		t.Fatal(err)
	}
	script := strings.ReplaceAll(c.raw, "http://127.0.0.1:8765", r.serveURL)
	cmd := exec.Command("bash", "-o", "pipefail", "-c", script)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Errorf("README section %q: %s: %v\n%s%s", c.section, c.raw, err, out.String(), errOut.String())
		return
	}
	// curl exits 0 on an HTTP error too: check what came back.
	if i := strings.LastIndex(c.raw, "> "); i >= 0 {
		f := strings.TrimSpace(c.raw[i+2:])
		raw, err := os.ReadFile(f)
		if err == nil {
			_, err = png.Decode(bytes.NewReader(raw))
		}
		if err != nil {
			t.Errorf("README %q: %s is not a PNG: %v", c.raw, f, err)
		}
		return
	}
	var res struct {
		Choices []struct {
			Message struct{ Content string }
		}
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res.Choices) != 1 {
		t.Errorf("README %q answered %q (%v), want a chat completion", c.raw, out.String(), err)
	}
}

// makeTarget matches a target's rule line in the Makefile.
var makeTarget = regexp.MustCompile(`(?m)^([A-Za-z0-9_-]+):`)

func checkMakeTargets(t *testing.T, root, line string, targets []readmeWord) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, m := range makeTarget.FindAllStringSubmatch(string(raw), -1) {
		have[m[1]] = true
	}
	n := 0
	for _, w := range targets {
		if strings.Contains(w.text, "=") || strings.HasPrefix(w.text, "-") {
			continue // variables and make's own flags
		}
		n++
		if !have[w.text] {
			t.Errorf("README %q: the Makefile has no target %q", line, w.text)
		}
	}
	if n == 0 {
		t.Errorf("README %q names no target", line)
	}
}

// checkGoTest checks a `go test` line: its packages exist, and -run and -bench select
// tests or benchmarks that exist in them (^$ selects none, on purpose). Of go build, run,
// generate and vet lines it checks the packages.
func checkGoTest(t *testing.T, root, line string) {
	t.Helper()
	ws := strings.Fields(line)
	for len(ws) > 0 && strings.Contains(ws[0], "=") {
		ws = ws[1:] // GOARCH=arm64 and the like
	}
	if len(ws) < 3 || ws[0] != "go" || !slices.Contains([]string{"test", "build", "run", "generate", "vet"}, ws[1]) {
		t.Errorf("README %q: only go test, build, run, generate and vet lines are checked here", line)
		return
	}
	var pkgs []string // folders; a trailing /... takes the folders below too
	var run, bench string
	for i := 2; i < len(ws); i++ {
		w := strings.Trim(ws[i], "'\"")
		switch {
		case w == "." || strings.HasPrefix(w, "./"):
			rel, all := strings.CutSuffix(w, "/...")
			dir := filepath.Join(root, filepath.FromSlash(rel))
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				t.Errorf("README %q: no package folder %s", line, w)
			}
			if all {
				dir += string(filepath.Separator) + "..."
			}
			pkgs = append(pkgs, dir)
		case w == "-run" || w == "-bench":
			if i+1 < len(ws) {
				v := strings.Trim(ws[i+1], "'\"")
				if w == "-run" {
					run = v
				} else {
					bench = v
				}
				i++
			}
		case w == "-exec" || w == "-benchtime" || w == "-count" || w == "-tags":
			i++
		}
	}
	if len(pkgs) == 0 {
		t.Errorf("README %q names no package", line)
	}
	for _, sel := range []struct{ kind, re string }{{"Test", run}, {"Benchmark", bench}} {
		if sel.re == "" || sel.re == "^$" {
			continue
		}
		re, err := regexp.Compile(sel.re)
		if err != nil {
			t.Errorf("README %q: %v", line, err)
			continue
		}
		if !testFuncExists(t, pkgs, sel.kind, re) {
			t.Errorf("README %q: no %s function in %v matches %q", line, sel.kind, pkgs, sel.re)
		}
	}
}

var testFunc = regexp.MustCompile(`(?m)^func ((?:Test|Benchmark)\w*)\(`)

// testFuncExists reports whether a Test or Benchmark function of the packages (folders, or
// DIR/... for a tree) matches re, as go test's selection does.
func testFuncExists(t *testing.T, pkgs []string, kind string, re *regexp.Regexp) bool {
	found := false
	for _, pkg := range pkgs {
		dir, tree := strings.CutSuffix(pkg, string(filepath.Separator)+"...")
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || found {
				return filepath.SkipAll
			}
			if d.IsDir() {
				if p != dir && (!tree || d.Name() == "testdata") {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(p, "_test.go") {
				return nil
			}
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range testFunc.FindAllStringSubmatch(string(raw), -1) {
				if strings.HasPrefix(m[1], kind) && re.MatchString(m[1]) {
					found = true
				}
			}
			return nil
		})
	}
	return found
}

// repoRoot is the repository's folder (the test runs in cmd/janus).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// checkPeerBench checks the PyTorch peer benchmark line: torch_peer.py (beside the
// repository, in ../shared/bench) takes every flag the README gives it.
func checkPeerBench(t *testing.T, root string, c readmeCommand) {
	t.Helper()
	script := filepath.Join(filepath.Dir(root), "shared", "bench", "torch_peer.py")
	src, err := os.ReadFile(script)
	if err != nil {
		t.Logf("README %q not checked: %v (the peer benchmark lives beside the repository)", c.raw, err)
		return
	}
	n := 0
	for _, w := range c.words {
		if strings.HasPrefix(w.text, "--") {
			n++
			if !bytes.Contains(src, []byte(`"`+w.text+`"`)) {
				t.Errorf("README %q: torch_peer.py takes no %s", c.raw, w.text)
			}
		}
	}
	if n == 0 {
		t.Errorf("README %q: no flags found", c.raw)
	}
}

// TestReadmeInlineCommands checks the commands the README's text names in inline code:
// `janus CMD ...` runs with -h (the command and its flags must exist), `make T` must be a
// target, `go test ...` must select tests that exist.
func TestReadmeInlineCommands(t *testing.T) {
	_, inline := readmeParse(t)
	root := repoRoot(t)
	n := 0
	for _, span := range inline {
		cs, err := readmeLex(span)
		if err != nil || len(cs) != 1 {
			continue // not a command: a path, a name, a fragment of JSON
		}
		w := cs[0].words
		for len(w) > 1 && strings.Contains(w[0].text, "=") {
			w = w[1:] // JANUS_SMOKE=1 and the like
		}
		switch {
		case w[0].text == "janus" && len(w) > 1 && w[1].text != "help":
			var args []string
			for _, x := range w[1:] {
				if x.op {
					break
				}
				args = append(args, x.text)
			}
			var out, errOut bytes.Buffer
			if code := run(context.Background(), append(args, "-h"), nil, &out, &errOut); code != 0 {
				t.Errorf("README's `%s`: janus %s -h: exit %d\n%s", span, strings.Join(args, " "), code, errOut.String())
			}
		case w[0].text == "make" && len(w) > 1:
			checkMakeTargets(t, root, span, w[1:])
		case w[0].text == "go" && len(w) > 2 && slices.Contains([]string{"test", "build", "run", "generate", "vet"}, w[1].text):
			checkGoTest(t, root, span)
		default:
			continue
		}
		n++
		t.Logf("checked: %s", span)
	}
	if n < 10 {
		t.Errorf("checked %d inline commands, want the README's (is it parsed right?)", n)
	}
}

// TestReadmeLex: the splitting the README tests rely on.
func TestReadmeLex(t *testing.T) {
	tests := []struct {
		block string
		want  [][]string
	}{
		{"janus pull   # the default\njanus models", [][]string{{"janus", "pull"}, {"janus", "models"}}},
		{`janus generate --prompt "A red fox" --out fox-%d.png`, [][]string{{"janus", "generate", "--prompt", "A red fox", "--out", "fox-%d.png"}}},
		{"janus bench --a 1 \\\n    --b 2", [][]string{{"janus", "bench", "--a", "1", "--b", "2"}}},
		{"echo '\"Hi #1\"' | janus tokenize", [][]string{{"echo", `"Hi #1"`, "|", "janus", "tokenize"}}},
		{"curl -d '{\n  \"a\": 1\n}'", [][]string{{"curl", "-d", "{\n  \"a\": 1\n}"}}},
		{"a '\"'\"$(b)\"'\"'", [][]string{{"a", `"$(b)"`}}},
	}
	for _, tt := range tests {
		cs, err := readmeLex(tt.block)
		if err != nil {
			t.Errorf("%q: %v", tt.block, err)
			continue
		}
		var got [][]string
		for _, c := range cs {
			var ws []string
			for _, w := range c.words {
				ws = append(ws, w.text)
			}
			got = append(got, ws)
		}
		if !equalWords(got, tt.want) {
			t.Errorf("%q: got %q, want %q", tt.block, got, tt.want)
		}
	}
	if _, err := readmeLex("echo 'open"); err == nil {
		t.Error("an unterminated quote was accepted")
	}
}

func equalWords(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.Join(a[i], "\x00") != strings.Join(b[i], "\x00") || len(a[i]) != len(b[i]) {
			return false
		}
	}
	return true
}
