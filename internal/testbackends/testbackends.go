// Package testbackends links every compute backend into a test binary. A network test
// imports it for its side effect and runs on each backend with computetest.Each; a backend
// package added here (the Metal backend, which also registers its simulated device
// "metal-sim") is then tested by every such test without touching them.
package testbackends

import (
	// The backends register themselves with compute from their init functions.
	_ "github.com/janus-desktop/janus/compute/cpu"
	_ "github.com/janus-desktop/janus/metal"
)
