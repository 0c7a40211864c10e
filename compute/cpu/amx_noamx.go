//go:build !linux || !amd64 || purego

package cpu

// hasAMX is false: the AMX kernels need Linux's permission on amd64 (other systems either
// have no AMX CPUs or are not asked here).
func hasAMX() bool { return false }

// hasAMXInt8 is false, as hasAMX.
func hasAMXInt8() bool { return false }
