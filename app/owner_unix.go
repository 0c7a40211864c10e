//go:build unix

package app

import (
	"io/fs"
	"os"
	"syscall"
)

// privateToMe reports whether this process's user owns the file fi describes and nobody
// else may write it.
func privateToMe(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return (!ok || int(st.Uid) == os.Getuid()) && fi.Mode().Perm()&0o022 == 0
}
