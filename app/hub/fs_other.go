//go:build !(linux || darwin)

package hub

import (
	"context"
	"errors"
)

// freeSpace is unknown on this system; Pull then skips the check.
func freeSpace(string) (int64, error) { return -1, errors.ErrUnsupported }

// lockFile does not lock on this system: the app and the CLI are released for Linux and
// macOS only, where lockFile uses flock.
func lockFile(context.Context, string, func()) (func(), error) { return func() {}, nil }
