package api

import "golang.org/x/sys/windows"

// errAddressInUse is the error bind returns for an address another socket holds: Winsock's
// own number, which syscall.EADDRINUSE (an errno Go invents on Windows) is not.
var errAddressInUse error = windows.WSAEADDRINUSE
