package model

import "golang.org/x/sys/unix"

// PhysicalMemory is the memory of this machine in bytes: the hw.memsize sysctl; 0 when it
// cannot be read.
func PhysicalMemory() int64 {
	n, err := unix.SysctlUint64("hw.memsize")
	if err != nil {
		return 0
	}
	return int64(n)
}
