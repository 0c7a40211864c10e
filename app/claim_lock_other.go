//go:build !unix && !windows

package app

import (
	"errors"
	"os"
)

// lockFolder has no portable lock here: ClaimDataFolder falls back to the socket alone.
func lockFolder(string) (*os.File, error) {
	return nil, errors.ErrUnsupported
}
