//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package checkpoint

import (
	"bytes"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// weightFile is a read-only memory map of a whole weight file. The file descriptor is
// closed right after mapping; the mapping keeps the data reachable.
type weightFile struct {
	data []byte
	rd   *bytes.Reader
}

func openWeightFile(path string) (*weightFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size == 0 {
		return &weightFile{rd: bytes.NewReader(nil)}, nil
	}
	if int64(int(size)) != size {
		return nil, fmt.Errorf("file of %d bytes is too large to map on this platform", size)
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	return &weightFile{data: data, rd: bytes.NewReader(data)}, nil
}

// Size is the file's length in bytes.
func (w *weightFile) Size() int64 { return int64(len(w.data)) }

// ReadAt copies from the mapping.
func (w *weightFile) ReadAt(p []byte, off int64) (int, error) { return w.rd.ReadAt(p, off) }

// Slice returns a view of n bytes at off, capped so that appends cannot reach past it.
func (w *weightFile) Slice(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > int64(len(w.data)) || n > int64(len(w.data))-off {
		return nil, fmt.Errorf("range [%d, %d) is outside the file (%d bytes)", off, off+n, len(w.data))
	}
	return w.data[off : off+n : off+n], nil
}

// Close unmaps the file.
func (w *weightFile) Close() error {
	if w.data == nil {
		return nil
	}
	err := unix.Munmap(w.data)
	w.data = nil
	w.rd = bytes.NewReader(nil)
	return err
}
