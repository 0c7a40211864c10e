package compute

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

// fakeBackend is a Backend that only has a name; the registry never calls its ops.
type fakeBackend struct {
	Backend
	name    string
	threads int
}

func (f *fakeBackend) Name() string { return f.name }

// register adds a fake backend that opens, or fails with err.
func register(name string, priority int, err error) {
	Register(name, priority, func(o Options) (Backend, error) {
		if err != nil {
			return nil, err
		}
		return &fakeBackend{name: name, threads: o.Threads}, nil
	})
}

// TestRegistry fills an emptied registry with fake backends and checks how Open and the
// name lists treat them.
func TestRegistry(t *testing.T) {
	saved := registered()
	defer func() { registry.regs = saved }()
	registry.regs = nil
	if _, err := Open("auto", Options{}); err == nil || !strings.Contains(err.Error(), "no compute backend") {
		t.Fatalf("Open(auto) with an empty registry = %v, want an error saying none is linked", err)
	}
	register("slow", 0, nil)
	register("gpu", 10, fmt.Errorf("needs another system: %w", ErrOtherPlatform))
	register("sim", TestOnly, nil)
	register("mid", 5, nil)

	if got, want := Names(), []string{"gpu", "mid", "slow"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	if got, want := AllNames(), []string{"gpu", "mid", "slow", "sim"}; !slices.Equal(got, want) {
		t.Errorf("AllNames() = %v, want %v", got, want)
	}

	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tests := []struct {
		name     string
		want     string // backend name, or "" for an error
		errHas   string
		logHas   string
		threadOK bool
	}{
		{"auto", "mid", "", "level=DEBUG msg=\"compute: using the mid backend\" skipped=\"gpu: needs another system: not available on this machine\"", true},
		{"", "mid", "", "using the mid backend", true},
		{" SLOW ", "slow", "", "", true},
		{"sim", "sim", "", "", true},
		{"gpu", "", "open the gpu backend: needs another system", "", false},
		{"tpu", "", `unknown backend "tpu" (want auto or one of gpu, mid, slow)`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log.Reset()
			be, err := Open(tt.name, Options{Threads: 7, Logger: logger})
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("Open(%q) = %v, %v; want an error containing %q", tt.name, be, err, tt.errHas)
				}
				if tt.name == "gpu" && !errors.Is(err, ErrUnavailable) {
					t.Errorf("Open(gpu) error %v does not wrap ErrUnavailable", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", tt.name, err)
			}
			if f := be.(*fakeBackend); f.name != tt.want || f.threads != 7 {
				t.Errorf("Open(%q) = %s with %d threads, want %s with 7", tt.name, f.name, f.threads, tt.want)
			}
			if tt.logHas == "" && log.Len() > 0 {
				t.Errorf("Open(%q) logged %q", tt.name, log.String())
			}
			if tt.logHas != "" && (!strings.Contains(log.String(), tt.logHas) || strings.Count(log.String(), "\n") != 1) {
				t.Errorf("Open(%q) logged %q, want one line with %q", tt.name, log.String(), tt.logHas)
			}
		})
	}

	for _, bad := range []string{"", "auto", "Mid", "mid"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", bad)
				}
			}()
			register(bad, 1, nil)
		}()
	}
}

// TestOpenWarns: a backend that fails for another reason than being unavailable makes auto
// warn.
func TestOpenWarns(t *testing.T) {
	saved := registered()
	defer func() { registry.regs = saved }()
	registry.regs = nil
	register("gpu", 2, errors.New("pipeline attention did not compile"))
	register("cpu", 0, nil)
	var log bytes.Buffer
	if _, err := Open("auto", Options{Logger: slog.New(slog.NewTextHandler(&log, nil))}); err != nil {
		t.Fatal(err)
	}
	if want := `level=WARN msg="compute: using the cpu backend" skipped="gpu: pipeline attention did not compile"`; !strings.Contains(log.String(), want) {
		t.Errorf("logged %q, want %q", log.String(), want)
	}
}

// TestOpenLogLevels: auto's line about the backends it passed over is a debug line when they
// target other systems, an info line when one targets this system but cannot run (Metal on a
// Mac without a device), a warning when one failed to start.
func TestOpenLogLevels(t *testing.T) {
	saved := registered()
	defer func() { registry.regs = saved }()
	otherOS := fmt.Errorf("metal: Metal needs macOS: %w", ErrOtherPlatform)
	noDevice := fmt.Errorf("metal: no Metal device: %w", ErrUnavailable)
	broken := errors.New("pipeline attention did not compile")
	for _, tc := range []struct {
		name    string
		skipped []error // the errors of the backends auto passes over, best first
		want    string
	}{
		{"another system's backend", []error{otherOS}, `level=DEBUG msg="compute: using the cpu backend" skipped="gpu0: metal: Metal needs macOS: not available on this machine"`},
		{"no device on its own system", []error{noDevice}, `level=INFO msg="compute: using the cpu backend" skipped="gpu0: metal: no Metal device: not available on this machine"`},
		{"another system's and no device", []error{otherOS, noDevice}, "level=INFO"},
		{"no device, then another system's", []error{noDevice, otherOS}, "level=INFO"},
		{"a failure beats the rest", []error{noDevice, broken, otherOS}, "level=WARN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			registry.regs = nil
			for i, err := range tc.skipped {
				register(fmt.Sprintf("gpu%d", i), 10-i, err)
			}
			register("cpu", 0, nil)
			var log bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
			be, err := Open("auto", Options{Logger: logger})
			if err != nil || be.Name() != "cpu" {
				t.Fatalf("Open(auto) = %v, %v; want cpu", be, err)
			}
			if !strings.Contains(log.String(), tc.want) || strings.Count(log.String(), "\n") != 1 {
				t.Errorf("logged %q, want one line with %q", log.String(), tc.want)
			}
			if !errors.Is(otherOS, ErrUnavailable) || otherOS.Error() != "metal: Metal needs macOS: not available on this machine" {
				t.Errorf("ErrOtherPlatform does not read as ErrUnavailable: %v", otherOS)
			}
		})
	}
}

// TestOpenAllFail: when every backend fails, auto says why for each.
func TestOpenAllFail(t *testing.T) {
	saved := registered()
	defer func() { registry.regs = saved }()
	registry.regs = nil
	register("a", 1, errors.New("broken a"))
	register("b", 0, errors.New("broken b"))
	_, err := Open("auto", Options{})
	if err == nil || !strings.Contains(err.Error(), "a: broken a; b: broken b") {
		t.Fatalf("Open(auto) = %v, want both failures", err)
	}
}
