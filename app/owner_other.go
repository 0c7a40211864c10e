//go:build !unix

package app

import "io/fs"

// privateToMe is true where files have no owner and modes to compare: Windows keeps each
// user's temporary folder apart (and reports every folder as mode 0777).
func privateToMe(fs.FileInfo) bool { return true }
