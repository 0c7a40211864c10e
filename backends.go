package main

// The backends the app can run on: each registers itself with compute from init, and the
// backend setting (compute.Open) chooses among them. Metal opens on macOS with a Metal device
// and reports that it is not available elsewhere, so "auto" falls back to the CPU.
import (
	_ "github.com/janus-desktop/janus/compute/cpu"
	_ "github.com/janus-desktop/janus/metal"
)
