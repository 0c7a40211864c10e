//go:build linux && amd64

package testbackends

// The simulated Metal device runs the .metal kernels on this CPU through purego, which makes a
// test binary dynamically linked: on linux/amd64 only, so that the arm64 test binaries stay
// static and run under qemu-user without an arm64 C library (make arm64, and the README's
// GOARCH=arm64 command).
import _ "github.com/janus-desktop/janus/metal/metalsim"
