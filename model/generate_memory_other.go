//go:build !linux && !darwin

package model

// physicalMemory is unknown on this system (0): generation then has no default memory
// limit.
func physicalMemory() int64 { return 0 }
