package main

// The backends this program can run on: each registers itself with compute from init, and
// --backend (compute.Open) chooses among them.
import _ "github.com/janus-desktop/janus/compute/cpu"
