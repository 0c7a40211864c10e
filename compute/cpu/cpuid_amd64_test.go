//go:build amd64 && !purego

package cpu

import "testing"

// TestCPUFamily decodes the CPUID signatures of the CPUs the kernel choices were measured on.
func TestCPUFamily(t *testing.T) {
	for _, tt := range []struct {
		name string
		eax  uint32
		want uint32
	}{
		{"Zen 4 EPYC (Genoa)", 0x00A10F11, 0x19},
		{"Zen 5 EPYC (Turin)", 0x00B00F21, 0x1A},
		{"Zen 3 EPYC (Milan)", 0x00A00F11, 0x19},
		{"Sapphire Rapids Xeon", 0x000806F8, 6},
		{"Pentium 4 (base family 0xF, no extension)", 0x00000F29, 0xF},
	} {
		if got := cpuFamily(tt.eax); got != tt.want {
			t.Errorf("%s: cpuFamily(%#08x) = %#x, want %#x", tt.name, tt.eax, got, tt.want)
		}
	}
}
