//go:build !unix && !windows

package app

import (
	"errors"
	"os"
)

// lockFolder has no portable lock here: ClaimWindow falls back to the socket alone.
func lockFolder(string) (*os.File, error) {
	return nil, errors.ErrUnsupported
}
