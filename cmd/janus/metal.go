package main

// The Metal backend: it opens on macOS with a Metal device and reports that it is not
// available elsewhere, so --backend auto falls back to the CPU.
import _ "github.com/janus-desktop/janus/metal"
