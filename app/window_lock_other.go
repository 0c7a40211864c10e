//go:build !unix

package app

import (
	"errors"
	"os"
)

// errLocked is lockFolder's error when another process holds the lock.
var errLocked = errors.New("the data folder is locked by another process")

// lockFolder has no portable lock here: ClaimWindow falls back to the socket alone.
func lockFolder(string) (*os.File, error) {
	return nil, errors.ErrUnsupported
}
