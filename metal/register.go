package metal

import "github.com/janus-desktop/janus/compute"

// Priority is the Metal backend's rank in compute.Open("auto"): above the CPU's, so a Mac
// with a working Metal device runs on its GPU.
const Priority = 10

// init registers "metal"; a program links it with a blank import of this package.
func init() {
	compute.Register("metal", Priority, func(compute.Options) (compute.Backend, error) {
		return Open()
	})
}
