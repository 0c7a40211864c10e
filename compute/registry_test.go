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
	register("gpu", 10, fmt.Errorf("no device: %w", ErrUnavailable))
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
		{"auto", "mid", "", "level=DEBUG msg=\"compute: using the mid backend\" skipped=\"gpu: no device: not available on this machine\"", true},
		{"", "mid", "", "using the mid backend", true},
		{" SLOW ", "slow", "", "", true},
		{"sim", "sim", "", "", true},
		{"gpu", "", "open the gpu backend: no device", "", false},
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
