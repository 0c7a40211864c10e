//go:build linux && amd64 && !purego

package cpu

import (
	"syscall"

	"golang.org/x/sys/cpu"
)

// hasAMX reports whether the AMX BF16 tiles may run: the CPU has them and Linux grants the
// process their 8 KB of register state, which it must ask for (arch_prctl
// ARCH_REQ_XCOMP_PERM) before the first tile instruction. The grant is per process and
// asking again is harmless, so each Backend asks when it is made.
func hasAMX() bool {
	if !cpu.X86.HasAMXTile || !cpu.X86.HasAMXBF16 || !hasBF16() {
		return false
	}
	const archReqXcompPerm, xfeatureXTileData = 0x1023, 18
	_, _, errno := syscall.RawSyscall(syscall.SYS_ARCH_PRCTL, archReqXcompPerm, xfeatureXTileData, 0)
	return errno == 0
}
