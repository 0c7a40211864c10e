//go:build !linux && !darwin

package model

// PhysicalMemory is the memory of this machine in bytes, unknown on this system (0):
// generation then has no default memory limit.
func PhysicalMemory() int64 { return 0 }
