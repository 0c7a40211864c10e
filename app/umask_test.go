//go:build !windows

package app_test

import "syscall"

// setUmask sets the process's umask and returns the old one, so that a test sees the modes the
// code asks for rather than what the machine's umask leaves of them.
func setUmask(mask int) int { return syscall.Umask(mask) }
