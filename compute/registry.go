package compute

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
)

// Options are what Open passes to a backend's open function. The zero value asks for the
// defaults of every backend.
type Options struct {
	// Threads caps the goroutines a CPU backend runs per op (0: one per CPU the Go
	// scheduler may use). GPU backends ignore it.
	Threads int
	// Logger receives Open's one line about falling back in "auto" (nil: slog.Default()).
	Logger *slog.Logger
}

// TestOnly is the priority of a backend that exists for tests and debugging (the simulated
// Metal device): Open opens it by name, but "auto" never picks it and Names does not list it.
const TestOnly = -1

// ErrUnavailable is wrapped by an open function's error when its backend cannot run on this
// machine (no device, wrong operating system), as opposed to failing while it starts.
var ErrUnavailable = errors.New("not available on this machine")

// registration is one backend Register added.
type registration struct {
	name     string
	priority int
	open     func(Options) (Backend, error)
}

// registry holds the backends linked into the program. It is the one piece of package
// state in compute, filled from the backends' init functions in the manner of database/sql
// drivers, so that the program's main (a blank import of compute/cpu, metal) decides which
// backends exist and the model code never names one.
var registry struct {
	mu   sync.Mutex
	regs []registration
}

// Register makes a backend available to Open under name (lower case, not "auto"). open
// builds a new backend each time it is called; it returns an error wrapping ErrUnavailable
// when the backend cannot run here. "auto" tries backends from the highest priority down;
// TestOnly (or any negative priority) keeps a backend out of "auto" and Names. Register
// panics on an empty, "auto" or duplicate name, as database/sql does for drivers.
func Register(name string, priority int, open func(Options) (Backend, error)) {
	if name == "" || name == "auto" || name != strings.ToLower(name) || open == nil {
		panic(fmt.Sprintf("compute: Register(%q): want a lower-case name other than auto and an open function", name))
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	for _, r := range registry.regs {
		if r.name == name {
			panic(fmt.Sprintf("compute: Register(%q): registered twice", name))
		}
	}
	registry.regs = append(registry.regs, registration{name, priority, open})
	// Highest priority first; equal priorities by name so the order never depends on init order.
	slices.SortStableFunc(registry.regs, func(a, b registration) int {
		return cmp.Or(cmp.Compare(b.priority, a.priority), strings.Compare(a.name, b.name))
	})
}

// registered returns a copy of the registrations, best first.
func registered() []registration {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	return slices.Clone(registry.regs)
}

// Names lists the backends a user may choose, best first, without test-only ones.
func Names() []string {
	var names []string
	for _, r := range registered() {
		if r.priority >= 0 {
			names = append(names, r.name)
		}
	}
	return names
}

// AllNames lists every registered backend, test-only ones included (last), for tests that
// run on every backend.
func AllNames() []string {
	var names []string
	for _, r := range registered() {
		names = append(names, r.name)
	}
	return names
}

// Open returns a new backend: the one registered as name, or for "auto" (or "") the one of
// highest priority that opens, skipping test-only backends. When auto passes over a backend
// that failed to open, it logs one line naming the backend it chose and why: a warning when
// a backend failed, at debug level when the ones passed over only wrap ErrUnavailable.
// Names are case insensitive.
func Open(name string, opts Options) (Backend, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	regs := registered()
	if name != "" && name != "auto" {
		for _, r := range regs {
			if r.name == name {
				b, err := r.open(opts)
				if err != nil {
					return nil, fmt.Errorf("open the %s backend: %w", name, err)
				}
				return b, nil
			}
		}
		if len(regs) == 0 {
			return nil, fmt.Errorf("unknown backend %q: no backend is linked into this program", name)
		}
		// The user-facing list: test-only backends open by name but are not offered.
		return nil, fmt.Errorf("unknown backend %q (want auto or one of %s)", name, strings.Join(Names(), ", "))
	}
	var skipped []string
	failed := false // a backend that exists here failed to open, beyond being unavailable
	for _, r := range regs {
		if r.priority < 0 {
			continue
		}
		b, err := r.open(opts)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%s: %v", r.name, err))
			failed = failed || !errors.Is(err, ErrUnavailable)
			continue
		}
		if len(skipped) > 0 {
			logger := opts.Logger
			if logger == nil {
				logger = slog.Default()
			}
			// A backend that cannot exist here (Metal on Linux) is no news for every run;
			// one that should have worked is.
			level := slog.LevelDebug
			if failed {
				level = slog.LevelWarn
			}
			logger.Log(context.Background(), level, "compute: using the "+r.name+" backend", "skipped", strings.Join(skipped, "; "))
		}
		return b, nil
	}
	if len(skipped) == 0 {
		return nil, errors.New("no compute backend is linked into this program (import compute/cpu)")
	}
	return nil, fmt.Errorf("no compute backend could open: %s", strings.Join(skipped, "; "))
}
