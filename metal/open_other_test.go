//go:build !darwin

package metal

import (
	"errors"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

// TestUnavailableOffMacOS: "metal" is registered everywhere but opens only on macOS, with
// an error that lets "auto" fall back and tells a user why --backend metal failed.
func TestUnavailableOffMacOS(t *testing.T) {
	_, err := compute.Open("metal", compute.Options{})
	if !errors.Is(err, compute.ErrUnavailable) || !errors.Is(err, compute.ErrOtherPlatform) {
		t.Fatalf("Open(metal) = %v, want an error wrapping compute.ErrOtherPlatform and ErrUnavailable", err)
	}
	for _, n := range compute.Names() {
		if n == "metal-sim" {
			t.Fatal("the simulated device is offered to users")
		}
	}
}
