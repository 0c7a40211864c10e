package app_test

import (
	"strings"
	"testing"

	"github.com/janus-desktop/janus/app"
)

// A version set at build time is shown as it is; without one, "dev" and the commit, when Go
// recorded one (test binaries have none).
func TestVersion(t *testing.T) {
	if got := app.Version("1.2.0"); got != "1.2.0" {
		t.Errorf("Version(1.2.0) = %q", got)
	}
	if got := app.Version(""); got != "dev" && !strings.HasPrefix(got, "dev (") {
		t.Errorf("Version(\"\") = %q, want dev and perhaps its commit", got)
	}
}
