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
	// Precision is the numerics of the many-row matrix products (prefill, vision, the
	// generation prompt pass, convolutions): PrecisionExact ("" too) keeps them in float32;
	// PrecisionBF16 lets a backend that has a faster BF16 path round the activations to
	// BF16 there (the CPU's, on AVX512_BF16 machines); others stay exact.
	Precision string
}

// The values of Options.Precision.
const (
	// PrecisionExact keeps every product in float32, as the goldens expect.
	PrecisionExact = "exact"
	// PrecisionBF16 multiplies BF16-rounded activations by BF16 weights in the many-row
	// products, summing in float32, the way the official code runs in bfloat16.
	PrecisionBF16 = "bf16"
)

// Precisions lists the values Options.Precision takes (besides "", which is PrecisionExact).
func Precisions() []string { return []string{PrecisionExact, PrecisionBF16} }

// CheckPrecision returns an error naming p when it is not one of Precisions (or "").
func CheckPrecision(p string) error {
	if p == "" || slices.Contains(Precisions(), p) {
		return nil
	}
	return fmt.Errorf("precision %q: want one of %s", p, strings.Join(Precisions(), ", "))
}

// TestOnly is the priority of a backend that exists for tests and debugging (the simulated
// Metal device): Open opens it by name, but "auto" never picks it and Names does not list it.
const TestOnly = -1

// ErrUnavailable is wrapped by an open function's error when its backend cannot run on this
// machine (no device, wrong operating system), as opposed to failing while it starts.
var ErrUnavailable = errors.New("not available on this machine")

// ErrOtherPlatform is wrapped instead of ErrUnavailable when the backend does not target this
// operating system at all (Metal on Linux): "auto" passes over it without a word. It reads as
// ErrUnavailable and errors.Is(err, ErrUnavailable) holds for it.
var ErrOtherPlatform error = otherPlatform{}

type otherPlatform struct{}

func (otherPlatform) Error() string        { return ErrUnavailable.Error() }
func (otherPlatform) Is(target error) bool { return target == ErrUnavailable }

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
// a backend failed, at info level when one that targets this system is unavailable (Metal on
// a Mac without a Metal device), at debug level when the ones passed over do not target this
// system (ErrOtherPlatform). Names are case insensitive.
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
	// The most a passed-over backend matters: one for another system is no news for every
	// run, one that should have run here is (a Mac user expects the GPU), one that failed
	// to start is a fault.
	level := slog.LevelDebug
	for _, r := range regs {
		if r.priority < 0 {
			continue
		}
		b, err := r.open(opts)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%s: %v", r.name, err))
			switch {
			case !errors.Is(err, ErrUnavailable):
				level = slog.LevelWarn
			case !errors.Is(err, ErrOtherPlatform):
				level = max(level, slog.LevelInfo)
			}
			continue
		}
		if len(skipped) > 0 {
			logger := opts.Logger
			if logger == nil {
				logger = slog.Default()
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
