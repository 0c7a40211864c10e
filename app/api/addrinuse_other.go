//go:build !windows

package api

import "syscall"

// errAddressInUse is the error bind returns for an address another socket holds.
var errAddressInUse error = syscall.EADDRINUSE
