//go:build linux && amd64 && !purego

package cpu

import (
	"syscall"

	"golang.org/x/sys/cpu"
)

// hasAMX reports whether the AMX BF16 tiles may run (tilesGranted).
func hasAMX() bool {
	return cpu.X86.HasAMXBF16 && hasBF16() && tilesGranted()
}

// hasAMXInt8 reports whether the AMX int8 tiles may run (tilesGranted).
func hasAMXInt8() bool {
	return cpu.X86.HasAMXInt8 && tilesGranted()
}

// tilesGranted reports whether the CPU has the AMX tiles and Linux grants the process their
// 8 KB of register state, which it must ask for (arch_prctl ARCH_REQ_XCOMP_PERM) before the
// first tile instruction. The grant is per process and asking again is harmless, so each
// Backend asks when it is made.
func tilesGranted() bool {
	if !cpu.X86.HasAMXTile {
		return false
	}
	const archReqXcompPerm, xfeatureXTileData = 0x1023, 18
	_, _, errno := syscall.RawSyscall(syscall.SYS_ARCH_PRCTL, archReqXcompPerm, xfeatureXTileData, 0)
	return errno == 0
}
