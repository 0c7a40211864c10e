package cpu

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestKernelsEnvWarning: an unknown JANUS_CPU_KERNELS value is logged as a warning naming
// it and the set used instead; known values and an unset variable log nothing.
func TestKernelsEnvWarning(t *testing.T) {
	var logged bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	defer slog.SetDefault(prev)
	for _, tc := range []struct {
		env  string
		warn bool
	}{
		{"", false}, {"auto", false}, {"generic", false}, {"avx2", false}, {"avx512", false}, {"neon", false},
		{"bogus", true}, {"AVX2", true}, {"avx-512", true},
	} {
		logged.Reset()
		t.Setenv("JANUS_CPU_KERNELS", tc.env)
		be := New(1)
		be.Close()
		out := logged.String()
		if !tc.warn {
			if out != "" {
				t.Errorf("JANUS_CPU_KERNELS=%q logged %q", tc.env, out)
			}
			continue
		}
		for _, want := range []string{"level=WARN", "JANUS_CPU_KERNELS", "value=" + tc.env, "kernels=" + simdBest().String()} {
			if !strings.Contains(out, want) {
				t.Errorf("JANUS_CPU_KERNELS=%q logged %q, want it to hold %q", tc.env, out, want)
			}
		}
	}
}
