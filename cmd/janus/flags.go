package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/janus-desktop/janus/model/sample"
)

// newFlagSet returns the flag set of a subcommand. -h prints to help (stdout: help asked
// for is the command's output, to page or grep) usage (the command line), the lines of about
// (what the command does), then the flags; parse errors are parseFlags' one line on stderr.
func newFlagSet(name string, help, stderr io.Writer, usage string, about ...string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(help, "usage: "+usage)
		for _, line := range about {
			fmt.Fprintln(help, line)
		}
		fs.SetOutput(help)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	return fs
}

// parseFlags parses args into fs up to the first positional argument. -h prints fs.Usage; a
// bad flag is one line that says how to list the flags, not the whole usage (which would
// bury the error).
func parseFlags(fs *flag.FlagSet, args []string) error {
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(out)
	if errors.Is(err, flag.ErrHelp) {
		fs.Usage()
		return err
	}
	if err != nil {
		return usageError{fmt.Errorf("%w (janus %s -h lists the flags)", err, fs.Name())}
	}
	return nil
}

// parseArgs is parseFlags refusing positional arguments: every subcommand takes its input as
// flags, so a stray word is a mistake (often an unquoted prompt). hint, when not empty, says
// where such a value belongs.
func parseArgs(fs *flag.FlagSet, args []string, hint string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return nil
	}
	if hint != "" {
		return usageError{fmt.Errorf("unexpected argument %q (%s)", fs.Arg(0), hint)}
	}
	return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
}

// usageError is a command line the command cannot parse: run exits with 2 for it, as the
// flag package and most tools do, where a command that ran and failed exits with 1.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// flagSet reports whether the flag called name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// writeJSON writes v as the --json output of a command: one JSON value and a newline, with
// <, > and & as they are (prompts and answers are text, not HTML), indented when indent.
func writeJSON(w io.Writer, v any, indent bool) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}

// maxPromptFileBytes bounds --prompt-file: far more text than any model's context holds, but
// a mistaken file (a model checkpoint, a video) is refused instead of read into memory.
const maxPromptFileBytes = 16 << 20

// promptFlags are --prompt and --prompt-file: the text on the command line, or in a file
// (or on stdin) when it is longer than the shell allows or awkward to quote.
type promptFlags struct {
	text, file string
}

// register adds --prompt (described by what) and --prompt-file to fs.
func (p *promptFlags) register(fs *flag.FlagSet, what string) {
	fs.StringVar(&p.text, "prompt", "", what)
	fs.StringVar(&p.file, "prompt-file", "", "read the prompt from this UTF-8 text file instead (- for stdin; trailing newlines are dropped)")
}

// read returns the prompt: the --prompt text, or the content of --prompt-file.
func (p *promptFlags) read(stdin io.Reader) (string, error) {
	switch {
	case p.text != "" && p.file != "":
		return "", errors.New("give the prompt with --prompt or --prompt-file, not both")
	case p.file == "":
		if strings.TrimSpace(p.text) == "" {
			return "", errors.New("missing --prompt TEXT (or --prompt-file FILE)")
		}
		return p.text, nil
	}
	name, r := p.file, stdin
	if p.file == "-" {
		name = "stdin"
	} else {
		f, err := os.Open(p.file)
		if err != nil {
			return "", fmt.Errorf("--prompt-file: %w", err)
		}
		defer f.Close()
		r = f
	}
	if r == nil {
		return "", fmt.Errorf("--prompt-file %s: no input", name)
	}
	raw, err := io.ReadAll(io.LimitReader(r, maxPromptFileBytes+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("--prompt-file: read %s: %w", name, err)
	case len(raw) > maxPromptFileBytes:
		return "", fmt.Errorf("--prompt-file %s is larger than %d MiB; a prompt is text", name, maxPromptFileBytes>>20)
	case !utf8.Valid(raw):
		return "", fmt.Errorf("--prompt-file %s is not UTF-8 text", name)
	}
	text := strings.TrimRight(string(raw), "\r\n")
	if strings.TrimSpace(text) == "" {
		return "", fmt.Errorf("--prompt-file %s is empty", name)
	}
	return text, nil
}

// optionFlagError words an error of model option validation as one about the flag the user
// typed ("--temperature -1: must be …"): flags maps the model's parameter names
// (sample.ParamError.Param) to the command's flag names. Other errors are returned as they are.
func optionFlagError(err error, flags map[string]string) error {
	var pe *sample.ParamError
	if errors.As(err, &pe) {
		if name, ok := flags[pe.Param]; ok {
			return fmt.Errorf("--%s %s: %s", name, pe.Value, pe.Problem)
		}
	}
	return err
}
