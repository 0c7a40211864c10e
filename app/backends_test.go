package app_test

// The tests load real models: link the backends a program would (see cmd/janus/backends.go).
import (
	_ "github.com/janus-desktop/janus/compute/cpu"
	_ "github.com/janus-desktop/janus/metal"
)
