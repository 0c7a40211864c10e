package cpu

import (
	"fmt"

	"github.com/janus-desktop/janus/compute"
)

// Priority is the CPU backend's rank in compute.Open("auto"): the lowest of the real
// backends, so any GPU backend that opens is preferred and the CPU is the fallback.
const Priority = 0

// init registers the backend as "cpu"; a program links it in with a blank import of this
// package. compute.Options.Threads becomes New's threads and Precision WithPrecision; the
// kernel set follows JANUS_CPU_KERNELS as in New.
func init() {
	compute.Register("cpu", Priority, func(o compute.Options) (compute.Backend, error) {
		if err := compute.CheckPrecision(o.Precision); err != nil {
			return nil, fmt.Errorf("cpu: %w", err)
		}
		p := PrecisionExact
		if o.Precision == compute.PrecisionBF16 {
			p = PrecisionBF16
		}
		return New(o.Threads, WithPrecision(p)), nil
	})
}
