// Command janus runs DeepSeek's Janus and Janus-Pro models from the command line: it
// describes a model folder, tokenizes text, answers questions about images and generates
// images. It shares its engine with the Janus Desktop app and needs no cgo.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/janus-desktop/janus/app"
)

// command is one subcommand of the CLI.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// version is set at link time (-ldflags "-X main.version=..."); without it the CLI says
// "dev" and its commit (app.Version).
var version string

func commands() []command {
	return []command{
		{"version", "print the version", func(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
			return runVersion(args, stdout, stderr)
		}},
		{"models", "list the Janus models found on this machine", func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
			return runModels(ctx, args, stdout, stderr)
		}},
		{"pull", "download a model from Hugging Face into its cache (resumable)", pullCommand},
		{"info", "describe a model folder: parts, parameters, files, tokens, memory", func(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
			return runInfo(args, stdout, stderr)
		}},
		{"tokenize", "encode JSON-string lines to token ids, or decode id arrays with --decode", func(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
			return runTokenize(args, stdin, stdout, stderr)
		}},
		{"understand", "answer a question about one or more images", func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
			return runUnderstand(ctx, args, stdin, stdout, stderr)
		}},
		{"generate", "generate images from a prompt", func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
			return runGenerate(ctx, args, stdin, stdout, stderr)
		}},
		{"bench", "time the engine stage by stage (to compare with the PyTorch peer benchmark)", func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
			return runBench(ctx, args, stdout, stderr)
		}},
		{"serve", "serve the model over a local OpenAI-compatible API", runServe},
		{"decode-tokens", "decode a grid of image token ids to PNG with the VQ decoder", runDecodeTokens},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: janus <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'janus <command> -h' for the flags of a command.")
}

// runVersion implements the version subcommand, which takes no flags but -h.
func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", stdout, stderr, "janus version", "Print the version of janus.")
	if err := parseArgs(fs, args, ""); err != nil {
		return err
	}
	_, err := fmt.Fprintf(stdout, "janus %s\n", app.Version(version))
	return err
}

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) >= 2 && args[0] == "help" {
		// "janus help CMD" is "janus CMD -h".
		if len(args) > 2 {
			fmt.Fprintf(stderr, "janus help: want one command, got %q\n", args[1:])
			return 2
		}
		args = []string{args[1], "-h"}
	}
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version" || args[0] == "-v") {
		args = append([]string{"version"}, args[1:]...)
	}
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout) // asked for: output, to page or grep
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdin, stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, new(usageError)):
			fmt.Fprintf(stderr, "janus %s: %v\n", c.name, err)
			return 2
		case errors.As(err, new(stopSaid)):
			return cancelledCode(ctx)
		case errors.Is(err, context.Canceled):
			fmt.Fprintln(stderr, "janus: cancelled")
			return cancelledCode(ctx)
		default:
			fmt.Fprintf(stderr, "janus %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "janus: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// stopSaid is a cancellation (Ctrl-C) its command has explained on stderr already, with what
// to do next: run adds no "cancelled" line of its own.
type stopSaid struct{ err error }

func (e stopSaid) Error() string { return e.err.Error() }
func (e stopSaid) Unwrap() error { return e.err }

// signalled is the cause of the context main cancels on a signal.
type signalled struct{ sig os.Signal }

func (s signalled) Error() string { return "stopped by " + s.sig.String() }

// cancelledCode is the exit code of a command ctx's cancellation ended: 128 plus the signal's
// number, as a shell gives a process the signal ended (130 for Ctrl-C, 143 for SIGTERM).
func cancelledCode(ctx context.Context) int {
	var s signalled
	if errors.As(context.Cause(ctx), &s) {
		if n, ok := s.sig.(syscall.Signal); ok {
			return 128 + int(n)
		}
	}
	return 130
}

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		// The first signal stops the command, which ends as soon as it can (a model load
		// within a tensor); a second one ends the process at once, as without janus's
		// handling.
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		cancel(signalled{s})
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
