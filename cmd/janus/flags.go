package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
)

// newFlagSet returns the flag set of a subcommand. Parse errors go to stderr, and -h prints
// usage (the command line), the lines of about (what the command does), then the flags.
func newFlagSet(name string, stderr io.Writer, usage string, about ...string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: "+usage)
		for _, line := range about {
			fmt.Fprintln(stderr, line)
		}
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses args into fs and refuses positional arguments: every subcommand takes its
// input as flags, so a stray word is a mistake (often an unquoted prompt). hint, when not
// empty, says where such a value belongs. -h prints fs.Usage; a bad flag is one line that
// says how to list the flags, not the whole usage (which would bury the error).
func parseArgs(fs *flag.FlagSet, args []string, hint string) error {
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
		return fmt.Errorf("%w (janus %s -h lists the flags)", err, fs.Name())
	}
	if fs.NArg() == 0 {
		return nil
	}
	if hint != "" {
		return fmt.Errorf("unexpected argument %q (%s)", fs.Arg(0), hint)
	}
	return fmt.Errorf("unexpected argument %q", fs.Arg(0))
}

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
