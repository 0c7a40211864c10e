//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly) || checkpoint_nommap

package checkpoint

import (
	"fmt"
	"io"
	"os"
)

// weightFile reads a weight file through ReaderAt on platforms without the unix mmap call
// (and with the build tag checkpoint_nommap, which tests this path on unix); Slice then
// returns a fresh copy of the requested bytes.
type weightFile struct {
	f    *os.File
	size int64
}

func openWeightFile(path string) (*weightFile, error) {
	f, size, err := openSized(path)
	if err != nil {
		return nil, err
	}
	return &weightFile{f: f, size: size}, nil
}

// Size is the file's length in bytes.
func (w *weightFile) Size() int64 { return w.size }

// ReadAt reads from the file.
func (w *weightFile) ReadAt(p []byte, off int64) (int, error) { return w.f.ReadAt(p, off) }

// Slice reads n bytes at off into a new slice.
func (w *weightFile) Slice(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > w.size || n > w.size-off {
		return nil, fmt.Errorf("range [%d, %d) is outside the file (%d bytes)", off, off+n, w.size)
	}
	if int64(int(n)) != n {
		return nil, fmt.Errorf("range of %d bytes is too large for this platform", n)
	}
	buf := make([]byte, n)
	if k, err := w.f.ReadAt(buf, off); k < len(buf) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// Close closes the file.
func (w *weightFile) Close() error { return w.f.Close() }
