package ui

// The tests load tiny-a: link the backends a program would (see the root backends.go).
import (
	_ "github.com/janus-desktop/janus/compute/cpu"
	_ "github.com/janus-desktop/janus/metal"
)
