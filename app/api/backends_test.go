package api

// The tests load tiny-a: link the backends a program would (see cmd/janus/backends.go).
import (
	_ "github.com/janus-desktop/janus/compute/cpu"
	_ "github.com/janus-desktop/janus/metal"
)
