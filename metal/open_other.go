//go:build !darwin

package metal

import (
	"fmt"

	"github.com/janus-desktop/janus/compute"
)

// Open returns an error wrapping compute.ErrOtherPlatform (a compute.ErrUnavailable): Metal
// exists only on macOS.
func Open() (*Backend, error) {
	return nil, fmt.Errorf("metal: Metal needs macOS: %w", compute.ErrOtherPlatform)
}
