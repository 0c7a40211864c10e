//go:build linux && metalsim

package main

// With -tags metalsim, --backend metal-sim runs the Metal backend on the simulated device (a
// debugging aid; it needs clang and makes the binary dynamically linked, so release builds
// leave it out).
import _ "github.com/janus-desktop/janus/metal/metalsim"
