package hub

// The download test loads the pulled model: link the CPU backend as a program would.
import _ "github.com/janus-desktop/janus/compute/cpu"
